"""cowopt: allocate a coalition reassurance force to sites in Ukraine with a mixed-integer program.

The API mirrors the CLI:

    import cowopt
    data = cowopt.load("inputs/example.xlsx")
    result = cowopt.solve(data)            # PlanResult: status, score (tables), outcome
    cowopt.write_plan(result, "outputs/run")
    frontier = cowopt.sweep(data, budgets=[4000, 8000, 12000])
"""

__version__ = "0.1.0"

from .data import InputData, from_tables, load  # noqa: E402
from .errors import CowoptError, InputError  # noqa: E402
from .api import PlanResult, evaluate, solve  # noqa: E402
from .solve import Status  # noqa: E402


def write_plan(result, out_dir, map_png=None):
    """Write OUT_DIR/plan.xlsx for a PlanResult (see report.write_plan)."""
    from pathlib import Path

    from .report import write_plan as _write_plan

    return _write_plan(result, Path(out_dir), map_png)


def sweep(*args, **kwargs):
    """Run budget and scenario variants; returns the frontier as a DataFrame (see sensitivity.run_sweep)."""
    from .sensitivity import run_sweep

    return run_sweep(*args, **kwargs)


__all__ = ["InputData", "PlanResult", "Status", "CowoptError", "InputError", "load", "from_tables",
           "solve", "evaluate", "write_plan", "sweep", "__version__"]
