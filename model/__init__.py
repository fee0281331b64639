"""cowopt: allocate a coalition reassurance force to sites in Ukraine with a mixed-integer program.

The API mirrors the CLI:

    import cowopt
    data = cowopt.load("inputs/example.xlsx")
    result = cowopt.solve(data)            # PlanResult: status, score (tables), outcome
    cowopt.write_plan(result, "outputs/run")
    frontier = cowopt.sweep(data, budgets=[4000, 8000, 12000])
"""

__version__ = "0.1.0"

from cowopt.api import PlanResult, evaluate, solve
from cowopt.workbook.data import InputData, from_tables, load
from cowopt.errors import CowoptError, InputError
from cowopt.optimise.solve import Status


def write_plan(result, out_dir, map_png=None):
    """Write OUT_DIR/plan.xlsx for a PlanResult (see report.write_plan)."""
    from pathlib import Path

    from cowopt.report.plan import write_plan as _write_plan

    return _write_plan(result, Path(out_dir), map_png)


def sweep(*args, **kwargs):
    """Run budget and scenario variants; returns the frontier as a DataFrame (see sensitivity.run_sweep)."""
    from cowopt.optimise.sensitivity import run_sweep

    return run_sweep(*args, **kwargs)


def accepted_risk(result):
    """What a plan leaves undefended, ranked, with the cheapest single fix (see risk.accepted_risk)."""
    from cowopt.scoring.risk import accepted_risk as _accepted_risk

    return _accepted_risk(result)


def stress(data, plan, **kwargs):
    """The plan's coverage after each single loss (and pairs); see stress.stress."""
    from pathlib import Path

    from cowopt.workbook.data import load as _load
    from cowopt.workbook.planfile import read_plan
    from cowopt.scoring.stress import stress as _stress

    data = data if isinstance(data, InputData) else _load(data)
    if isinstance(plan, (str, Path)):
        plan = read_plan(Path(plan))
    return _stress(data, plan, **kwargs)


def levers(data, **kwargs):
    """The price of each demand, by re-solving; see levers.price_levers."""
    from cowopt.workbook.data import load as _load
    from cowopt.decisions.levers import price_levers

    return price_levers(data if isinstance(data, InputData) else _load(data), **kwargs)


def alternatives(data, count=3, within=0.05, **kwargs):
    """`count` plans within `within` (a fraction) of the optimum, each as different as possible."""
    from cowopt.decisions.alternatives import find_alternatives
    from cowopt.workbook.data import load as _load

    return find_alternatives(data if isinstance(data, InputData) else _load(data), count, within, **kwargs)


def solve_robust(data, against, **kwargs):
    """The max-min plan over single losses of one kind (site, state, entry) beside the ordinary
    optimum; see robust.solve_robust. (Not `cowopt.robust`: that name is the module.)"""
    from cowopt.workbook.data import load as _load
    from cowopt.decisions.robust import solve_robust as _solve_robust

    return _solve_robust(data if isinstance(data, InputData) else _load(data), against, **kwargs)


__all__ = [
    "CowoptError",
    "InputData",
    "InputError",
    "PlanResult",
    "Status",
    "__version__",
    "accepted_risk",
    "alternatives",
    "evaluate",
    "from_tables",
    "levers",
    "load",
    "solve",
    "solve_robust",
    "stress",
    "sweep",
    "write_plan",
]
