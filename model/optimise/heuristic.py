"""A plan-improving heuristic for large models, in HiGHS sub-solves on a copy of the model.

1. the LP relaxation;
2. the MIP restricted to the LP's support (integer columns the LP leaves at 0 are fixed at 0);
3. fix-and-optimise per item: every integer column of the other items fixed at the incumbent,
   the item's own placements and contributions free; then the pairs of the items whose LP
   values were the most fractional, solved jointly (long-range systems and air policing cover
   the union of many discs fractionally in the LP: that is where plans differ).

It works on HiGHS's own copy of the model (`Highs.getLp()`), so every plan it returns is a
solution of the model HiGHS holds: it is handed to the branch and bound as a MIP start, and
the plan the solver finally reports is re-scored apart from the model like any other
(api.self_check). The copy is minimised (solve.Solver._as_minimum), so lower is better here.

Measured on 200 sites x 3,000 assets (issue 17): LP -> restricted MIP gives a plan in ~10 s,
fix-and-optimise improves it within ~15 s more, and the tree started from it finishes far
sooner than from the greedy plan (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

# Sub-MIP limits (seconds): the restricted MIP gets the largest share; one item's re-solve is
# small (most columns fixed, presolve removes them) and stopped early when it stalls.
RESTRICTED_SHARE = 0.45
ITEM_LIMIT_S = 4.0
PAIRS = 3  # re-solve jointly the pairs among the this many most fractional items
# Above this many nonzeros the restricted MIP solves its LPs by interior point, like the main
# search (solve.IPM_ABOVE_NONZEROS): on 400 sites x 10,000 assets (512k) its root LP took 8 s
# against 13 s by dual simplex, and its plan (1,483,982, 0.85 % below the LP bound) came within
# 35 s where dual simplex needed 60 s for a plan of the same quality.
SUB_MIP_IPM_ABOVE_NONZEROS = 300_000


@dataclass
class HeuristicResult:
    columns: np.ndarray | None  # the best plan's column values, HiGHS's column order; None: none found
    objective: float | None  # in the sense HiGHS holds (minimised)
    seconds: float
    steps: list = field(default_factory=list)  # (step, seconds since the start, objective after it)
    # the LP relaxation's optimum (same sense): no plan can do better, so it bounds the gap of
    # any plan (solve.py stops the search when the best plan is within the gap of it)
    bound: float | None = None

    def as_start(self) -> np.ndarray | None:
        return self.columns


def improve(lp, item_columns: dict, budget_s: float, start: np.ndarray | None = None,
            mip_gap: float = 1e-4, on_plan=None, stop=None, on_bound=None) -> HeuristicResult:
    """The best plan found within `budget_s` seconds. `lp` is a HighsLp (minimised), with
    integrality; `item_columns` maps an item to the indices of its integer columns (w, y);
    `start` is a feasible plan to improve on (the greedy one), or None. `on_plan(columns,
    objective)` hears of every better plan as it is found, `on_bound(value)` of the LP
    relaxation's optimum; `stop()` true ends the search."""
    import highspy

    began = time.perf_counter()
    deadline = began + max(budget_s, 0.0)
    steps: list = []
    # read once: every access of lp.integrality_ copies the whole list out of HiGHS (indexing it
    # once per integer column cost 60 s on 400 sites x 10,000 assets before the LP even began)
    integrality = np.asarray([int(t) for t in lp.integrality_], dtype=np.uint8)
    integer = np.flatnonzero(integrality > 0)
    lower0, upper0 = np.asarray(lp.col_lower_, dtype=float), np.asarray(lp.col_upper_, dtype=float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    best, best_objective = None, np.inf
    if start is not None and _feasible(lp, start):
        best, best_objective = np.asarray(start, dtype=float), _objective(lp, start)
        steps.append(("start", 0.0, best_objective))

    def left() -> float:
        return 0.0 if stop is not None and stop() else deadline - time.perf_counter()

    def accept(step: str, x, objective) -> None:
        nonlocal best, best_objective
        if x is not None and objective < best_objective - 1e-9 * max(1.0, abs(best_objective)):
            best, best_objective = x, objective
            if on_plan is not None:
                on_plan(x, objective)
        steps.append((step, time.perf_counter() - began, best_objective))

    # 1. LP relaxation
    kinds = integrality[integer]
    h.changeColsIntegrality(len(integer), integer.astype(np.int32), np.zeros(len(integer), dtype=np.uint8))
    # interior point, then crossover to a vertex (its support is what step 2 keeps): on 200 x
    # 3,000 (seed 1) 1.5 CPU s against 3.3 s for dual simplex (12.3k iterations), same optimum
    _set(h, time_limit=max(left(), 0.1), solver="ipm", run_crossover="on")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return HeuristicResult(best, best_objective if best is not None else None, time.perf_counter() - began, steps)
    x_lp = np.asarray(h.getSolution().col_value, dtype=float)
    lp_bound = float(h.getInfo().objective_function_value)
    steps.append(("LP relaxation", time.perf_counter() - began, lp_bound))
    if on_bound is not None:
        on_bound(lp_bound)
    h.changeColsIntegrality(len(integer), integer.astype(np.int32), kinds)
    _set(h, solver="choose")

    # 2. the MIP restricted to the LP's support
    off = integer[x_lp[integer] <= 1e-6]
    upper = upper0.copy()
    upper[off] = np.minimum(upper[off], 0.0)
    _bounds(h, integer, lower0[integer], upper[integer])
    large = h.getNumNz() > SUB_MIP_IPM_ABOVE_NONZEROS
    if large:
        _set(h, mip_lp_solver="ipm")
    x, objective = _sub_mip(h, min(left(), RESTRICTED_SHARE * budget_s), mip_gap,
                            best if best is not None and np.all(best[off] <= 1e-9) else None)
    if large:  # one item's re-solve is small: HiGHS's own choice again
        _set(h, mip_lp_solver="choose")
    accept("MIP on the LP's support", x, objective)
    if best is None:  # nothing to improve on
        return HeuristicResult(None, None, time.perf_counter() - began, steps, lp_bound)

    # 3. fix-and-optimise: items in order of the LP's fractionality, then the top pairs
    fraction = {k: float(np.abs(x_lp[c] - np.round(x_lp[c])).sum()) for k, c in item_columns.items() if len(c)}
    order = sorted(fraction, key=lambda k: -fraction[k])
    groups = [(k,) for k in order]
    top = order[:PAIRS]
    groups += [(a, b) for i, a in enumerate(top) for b in top[i + 1:]]
    improved = True
    while improved and left() > 0.5 and not _within(best_objective, lp_bound, mip_gap):
        improved = False
        for group in groups:
            if left() <= 0.5:
                break
            free = np.concatenate([item_columns[k] for k in group])
            lower, upper = np.round(best[integer]), np.round(best[integer])
            position = np.searchsorted(integer, free)
            lower[position], upper[position] = lower0[free], upper0[free]
            _bounds(h, integer, lower, upper)
            before = best_objective
            x, objective = _sub_mip(h, min(left(), ITEM_LIMIT_S * len(group)), mip_gap, best)
            accept("fix-and-optimise " + " + ".join(group), x, objective)
            improved = improved or best_objective < before
    logger.info("heuristic: %s", "; ".join(f"{s} {t:.1f} s {o:,.3f}" for s, t, o in steps))
    return HeuristicResult(best, best_objective, time.perf_counter() - began, steps, lp_bound)


def relative_gap(objective: float, bound: float) -> float:
    """(objective - bound) / |objective| of a minimised plan against a lower bound, as HiGHS
    states its mip_gap (0 when both are 0; inf when the objective is 0 and the bound below)."""
    difference = max(objective - bound, 0.0)
    if difference == 0.0:
        return 0.0
    return difference / abs(objective) if objective != 0 else float("inf")


def _within(objective: float, bound: float | None, mip_gap: float) -> bool:
    """The plan is proven within the gap by the LP bound: nothing left to improve for."""
    return bound is not None and np.isfinite(objective) and relative_gap(objective, bound) <= mip_gap


def _set(h, **options) -> None:
    for key, value in options.items():
        h.setOptionValue(key, value)


def _bounds(h, columns: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    h.changeColsBounds(len(columns), columns.astype(np.int32), np.asarray(lower, dtype=float),
                       np.asarray(upper, dtype=float))


def _sub_mip(h, limit_s: float, mip_gap: float, start: np.ndarray | None):
    """Solve the copy as it is bounded now; (columns, objective) of its plan, or (None, inf)."""
    import highspy

    if limit_s <= 0.05:
        return None, np.inf
    h.clearSolver()
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        h.setSolution(solution)
    _set(h, time_limit=float(limit_s), mip_rel_gap=mip_gap)
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return None, np.inf
    return np.asarray(h.getSolution().col_value, dtype=float), float(info.objective_function_value)


def _objective(lp, x) -> float:
    return float(np.dot(np.asarray(lp.col_cost_, dtype=float), x) + lp.offset_)


def _feasible(lp, x, tolerance: float = 1e-6) -> bool:
    """x meets the copy's bounds and rows (a start that does not is not kept as the incumbent)."""
    x = np.asarray(x, dtype=float)
    if len(x) != lp.num_col_:
        return False
    lower, upper = np.asarray(lp.col_lower_, dtype=float), np.asarray(lp.col_upper_, dtype=float)
    if np.any(x < lower - tolerance) or np.any(x > upper + tolerance):
        return False
    matrix = lp.a_matrix_
    starts, indices = np.asarray(matrix.start_), np.asarray(matrix.index_)
    values = np.asarray(matrix.value_, dtype=float)
    nonzeros = int(starts[-1]) if len(starts) else 0
    owners = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    import highspy

    rowwise = matrix.format_ == highspy.MatrixFormat.kRowwise
    rows, cols = (owners, indices[:nonzeros]) if rowwise else (indices[:nonzeros], owners)
    activity = np.bincount(rows, weights=values[:nonzeros] * x[cols], minlength=lp.num_row_)
    row_lower, row_upper = np.asarray(lp.row_lower_, dtype=float), np.asarray(lp.row_upper_, dtype=float)
    slack = tolerance * np.maximum(1.0, np.abs(activity))
    return bool(np.all(activity >= row_lower - slack) and np.all(activity <= row_upper + slack))


# --------------------------------------------------------------------------- the helper process

def lp_arrays(lp) -> dict:
    """A HighsLp as plain arrays (picklable: HighsLp itself is not sent between processes)."""
    matrix = lp.a_matrix_
    return {"col_cost": np.asarray(lp.col_cost_, dtype=float), "col_lower": np.asarray(lp.col_lower_, dtype=float),
            "col_upper": np.asarray(lp.col_upper_, dtype=float), "row_lower": np.asarray(lp.row_lower_, dtype=float),
            "row_upper": np.asarray(lp.row_upper_, dtype=float), "offset": float(lp.offset_),
            "rowwise": bool(matrix.format_ == _rowwise()), "start": np.asarray(matrix.start_, dtype=np.int32),
            "index": np.asarray(matrix.index_, dtype=np.int32), "value": np.asarray(matrix.value_, dtype=float),
            "integrality": np.asarray([int(t) for t in lp.integrality_], dtype=np.uint8)}


def lp_from(arrays: dict):
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(arrays["col_cost"]), len(arrays["row_lower"])
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = arrays["col_cost"], arrays["col_lower"], arrays["col_upper"]
    lp.row_lower_, lp.row_upper_, lp.offset_ = arrays["row_lower"], arrays["row_upper"], arrays["offset"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise if arrays["rowwise"] else highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = arrays["start"], arrays["index"], arrays["value"]
    lp.integrality_ = [highspy.HighsVarType(int(t)) for t in arrays["integrality"]]
    return lp


def helper_main() -> None:
    """The second process (issue 17): the heuristic beside HiGHS's branch and bound. It reads
    its task as one pickle on stdin and writes each better plan as a pickle ("plan", objective,
    columns) and the LP relaxation's optimum as ("bound", value, None) on stdout; stdin closing (the search ended) stops it. A plain interpreter
    (`python -c`), not multiprocessing: spawn re-imports the caller's main script, which in
    a script without a __main__ guard would start another solve."""
    import pickle
    import sys
    import threading

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        arrays, item_columns, budget_s, start, mip_gap = pickle.load(stdin)
    except (EOFError, pickle.UnpicklingError):  # no task: nothing to do
        return
    ended = threading.Event()

    def watch() -> None:
        stdin.read()  # returns at EOF: the parent closed the pipe
        ended.set()

    threading.Thread(target=watch, daemon=True).start()

    def send(x, objective) -> None:
        pickle.dump(("plan", objective, x), stdout)
        stdout.flush()

    def send_bound(value) -> None:
        pickle.dump(("bound", value, None), stdout)
        stdout.flush()

    try:
        improve(lp_from(arrays), item_columns, budget_s, None if start is None else np.asarray(start), mip_gap,
                on_plan=send, stop=ended.is_set, on_bound=send_bound)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


def _rowwise():
    import highspy

    return highspy.MatrixFormat.kRowwise
