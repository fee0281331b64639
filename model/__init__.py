"""cowopt: allocate a coalition reassurance force to sites in Ukraine with a mixed-integer program.

The API mirrors the CLI:

    import cowopt
    data = cowopt.load("inputs/example.xlsx")
    result = cowopt.solve(data)            # PlanResult: status, score (tables), outcome
    cowopt.write_plan(result, "outputs/run")
    frontier = cowopt.sweep(data, budgets=[4000, 8000, 12000])
"""

__version__ = "0.1.0"

from .api import PlanResult, evaluate, solve
from .data import InputData, from_tables, load
from .errors import CowoptError, InputError
from .solve import Status


def write_plan(result, out_dir, map_png=None):
    """Write OUT_DIR/plan.xlsx for a PlanResult (see report.write_plan)."""
    from pathlib import Path

    from .report import write_plan as _write_plan

    return _write_plan(result, Path(out_dir), map_png)


def sweep(*args, **kwargs):
    """Run budget and scenario variants; returns the frontier as a DataFrame (see sensitivity.run_sweep)."""
    from .sensitivity import run_sweep

    return run_sweep(*args, **kwargs)


__all__ = [
    "CowoptError",
    "InputData",
    "InputError",
    "PlanResult",
    "Status",
    "__version__",
    "evaluate",
    "from_tables",
    "load",
    "solve",
    "sweep",
    "write_plan",
]
