"""HiGHS through Pyomo's maintained in-memory interface; the outcome in cowopt's own words.

HiGHS's statuses are mapped once onto `Status`; nothing downstream touches solver objects.
The gap reported is HiGHS's own `mip_gap`, never a wrapper's word for it.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from enum import Enum

import pyomo.environ as pyo

from cowopt.optimise.heuristic import relative_gap

logger = logging.getLogger(__name__)


class Status(str, Enum):
    OPTIMAL = "optimal"  # proven within mip_gap
    FEASIBLE = "feasible"  # a plan, but stopped (time limit, interrupt) before the gap was proven
    INFEASIBLE = "infeasible"  # no plan meets the hard constraints
    NO_PLAN_IN_TIME = "no_plan_in_time"  # limit reached without any feasible plan
    ERROR = "error"  # solver failure (numerical trouble, internal error)

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass
class SolverOutcome:
    status: Status
    detail: str  # HiGHS's own model status text
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    nodes: int | None
    solver: str
    solver_version: str
    values: dict = field(default_factory=dict)  # variable name -> {index: value}
    # What the solution check found wrong with the numbers HiGHS handed back (empty: they are
    # a solution of the model HiGHS holds, and its objective is the one HiGHS reported).
    solution_problems: list = field(default_factory=list)
    # The first run's problems when the solution shown is a second run's (on a fresh HiGHS model).
    resolved_after: list = field(default_factory=list)
    # How HiGHS was started: "compact" (the model alone), "greedy start" (the greedy plan as a
    # MIP start), "heuristic start" (the LP-guided heuristic's plan, heuristic.py, as the start)
    path: str = "compact"
    heuristic_steps: list = field(default_factory=list)  # (step, seconds, objective) of the heuristic


# HiGHS options chosen by measurement on the shipped example and its scenarios (time to
# gap 1e-4, 2 cores, HiGHS 1.15; default -> these): budget 2000: 17.9 -> 7.3 s, 3000: 34.5 ->
# 29.9 s, 5000: 12.9 -> 7.2 s, 6000: 8.3 -> 6.5 s, 8000: 1.9 -> 2.1 s, wider_coalition:
# 17.6 -> 26.7 s, buffer_150: 3.2 -> 3.4 s; geometric mean 17 % faster. Recorded in
# docs/performance.md; re-measure before changing.
TUNED_OPTIONS = {"mip_heuristic_effort": 0.3, "mip_pool_soft_limit": 100}
# Above this many nonzeros the root LP goes to the interior-point solver: on 400 sites x
# 10,000 assets (507k) dual simplex had not finished the root after 90 s (gap 64 %), IPM had
# (gap 12 %). On small models IPM is slower (example at budget 5,000: 11.6 s -> 31.1 s).
IPM_ABOVE_NONZEROS = 300_000
# Below this many nonzeros the root sub-MIP heuristics (RINS, RENS) are off: on the example
# they took 1.6 of 1.9 s and the search finds the optimum without them (time to gap 1e-4,
# with -> without: budget 8,000 2.3 -> 1.1 s, 5,000 14.2 -> 7.3 s, 2,000 5.0 -> 4.0 s,
# wider_coalition 20.1 -> 7.4 s, buffer_150 3.4 -> 1.7 s, 40x120 synthetic 4.9 -> 3.6 s).
# On 200 x 3,000 (98k) they find the better incumbent (gap at 60 s 2.9e-3 with, 6.1e-3 without).
NO_SUBMIP_BELOW_NONZEROS = 50_000
# Above this many nonzeros, with the helper beside it, the search runs without the heuristics
# that solve sub-MIPs (RINS, RENS, root reduced cost): a sub-MIP calls no callback, and on 400 x
# 10,000 (512k) one held HiGHS from 55 s to its 120 s limit, so the race could not stop it when
# the helper's plan closed the gap at 74 s. Without them HiGHS checks in at least every 24 s (the
# root LP), and the helper's restricted MIP is the better sub-MIP there (docs/performance.md).
HELPER_NO_SUBMIP_ABOVE_NONZEROS = 300_000
# MIP starts are given to models of at least this size. Below it HiGHS finds the optimum early
# on its own and a start changed its search for the worse (example at budget 4,000: 7.3 s
# without a start, 15.3 s with the greedy one, 15.7 s with the previous budget's optimum);
# above it the start is what gives a useful incumbent (400 x 10,000: -200 -> 1,067,483).
START_ABOVE_NONZEROS = 50_000
# From this many nonzeros the LP-guided heuristic (heuristic.py) improves the start before the
# branch and bound, within HEURISTIC_SHARE of the time limit (at most HEURISTIC_MAX_S).
HEURISTIC_ABOVE_NONZEROS = 50_000
HEURISTIC_SHARE = 0.4
HEURISTIC_MAX_S = 30.0
# What each solve path means (Summary sheet, --json "solve_path")
PATH_NOTES = {
    "compact": "HiGHS on the model alone (small models: it finds the optimum early on its own)",
    "greedy start": "HiGHS started from the greedy plan",
    "heuristic start": "HiGHS started from the LP-guided heuristic's plan (LP, MIP on its support, fix-and-optimise)",
    "with helper": "HiGHS started from the greedy plan, the LP-guided heuristic beside it in a second process",
}
# HiGHS options when the heuristic supplied the start (none adopted yet: see docs/performance.md)
HEURISTIC_START_OPTIONS: dict = {}

# HiGHS keeps one thread scheduler per process, sized by the first run. A later run that asks
# for another explicit `threads` fails with "Not Set" (seen with 1.15.1: a run with default
# threads on a 4-core machine, then threads=1). So cowopt never sets `threads` unless the user
# asks, and then resizes the scheduler first; the lock keeps that from racing another run.
_scheduler_lock = threading.Lock()
_scheduler_threads: int | None = None


def highs_version() -> str:
    import highspy

    h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def _bulk_highs():
    """Pyomo's persistent HiGHS interface, adding all variables in one call before the
    constraints: it otherwise adds them constraint by constraint, one HiGHS call each
    (loading 200 sites x 3,000 assets: 4.8 s -> 2.9 s)."""
    from pyomo.contrib.solver.solvers.highs import Highs

    class BulkHighs(Highs):
        def add_block(self, block):
            self.add_variables(list(block.component_data_objects(pyo.Var, descend_into=True)))
            super().add_block(block)

    return BulkHighs()


class Solver:
    """A persistent HiGHS instance for one model: solve, change a Param, solve again."""

    always_start = False  # a subclass that sets its own start at any size (the staged solve)

    def __init__(self, model: pyo.ConcreteModel, time_limit_s: float, mip_gap: float, threads: int | None = None,
                 heuristic: bool = True):
        self.model = model
        self.time_limit_s = float(time_limit_s)
        self.mip_gap = float(mip_gap)
        self.threads = threads
        self.heuristic = heuristic  # run heuristic.improve before the B&B on models large enough
        self._highs = _bulk_highs()
        self._loaded = False
        self._start: dict | None = None
        self._sign = 1  # -1 while HiGHS holds the model as minimise -objective (_as_minimum)

    def load(self) -> None:
        if not self._loaded:
            self._highs.set_instance(self.model)
            self._loaded = True

    def wants_start(self) -> bool:
        """Whether a MIP start would be used (large models only, see START_ABOVE_NONZEROS);
        callers skip computing one otherwise."""
        self.load()
        return self._highs._solver_model.getNumNz() >= START_ABOVE_NONZEROS

    def set_start(self, values: dict) -> None:
        """A whole MIP start for the next solve: {(variable name, index): value}, every
        variable not named is 0. A whole plan is checked and taken at once; HiGHS's completion
        of a partial one gave up on the largest benchmark."""
        self._start = values

    def _start_columns(self) -> list:
        """The start as HiGHS's column values (variables not named are 0)."""
        var_map = self._highs._pyomo_var_to_solver_var_map
        column_values = [0.0] * self._highs._solver_model.getNumCol()
        for (name, key), value in self._start.items():
            component = getattr(self.model, name, None)
            if component is not None and key in component:
                column_values[var_map[id(component[key])]] = float(value)
        return column_values

    def _item_columns(self) -> dict:
        """item -> HiGHS columns of its integer variables (w[n,k], y[k,s,g]): what the
        heuristic's fix-and-optimise frees one item (or pair) at a time.

        Every w and y of the model, in blocks too: the staged model (stages.build_staged) holds
        one per stage block (model.stage[t].w), so an item's columns are those of all stages,
        freed together (a unit's presence is tied across stages by ineq_stay_w/_y)."""
        import numpy as np

        var_map = self._highs._pyomo_var_to_solver_var_map
        columns: dict = {}
        for component in self.model.component_objects(pyo.Var, descend_into=True):
            item_at = {"w": 1, "y": 0}.get(component.local_name)
            for key in component if item_at is not None else ():
                column = var_map.get(id(component[key]))
                if column is not None:
                    columns.setdefault(key[item_at], []).append(column)
        return {k: np.asarray(sorted(c), dtype=np.int64) for k, c in columns.items()}

    def _set_columns(self, h, column_values) -> None:
        import highspy

        solution = highspy.HighsSolution()
        solution.col_value = list(column_values)
        solution.value_valid = True
        h.setSolution(solution)

    def solve(self, into_model: bool = False) -> SolverOutcome:
        """Run HiGHS on the model as it is now (Params changed since the last solve included).
        `into_model` also sets the Pyomo variables' values (the diagnosis reads its slacks);
        everything else reads the plain numbers in the outcome.

        Pyomo's persistent interface keeps the HiGHS model in step with the Pyomo model
        (`update`); HiGHS itself is then run directly, because Pyomo's solve() drops a MIP
        start set beforehand (seen with HiGHS 1.15 / Pyomo 6.10: no "MIP start" in the log).

        The numbers HiGHS hands back are checked against the model it holds
        (`solution_problems`). If they fail, the HiGHS model is built afresh from the Pyomo
        model and solved once more; if they fail again, the outcome is an error, never a plan.
        """
        start = self._start
        outcome = self._solve_once(into_model)
        if not outcome.solution_problems:
            return outcome
        first = outcome.solution_problems
        logger.warning("HiGHS's solution failed its check (%s); solving again on a fresh HiGHS model", "; ".join(first))
        self._highs = _bulk_highs()
        self._loaded = False
        self._start = start
        retry = self._solve_once(into_model)
        retry.seconds += outcome.seconds
        retry.resolved_after = first
        if retry.solution_problems:
            return SolverOutcome(Status.ERROR, "HiGHS's solution failed the check twice: " + "; ".join(
                retry.solution_problems), None, None, None, retry.seconds, retry.nodes, retry.solver,
                retry.solver_version, solution_problems=retry.solution_problems, resolved_after=first)
        return retry

    def _solve_once(self, into_model: bool) -> SolverOutcome:
        self.load()
        started = time.perf_counter()
        h = self._highs._solver_model
        try:
            self._highs.update()
            # Forget the previous run's solution. HiGHS 1.16 keeps it and uses it as a MIP start
            # on the modified model; when presolve then solves that model, HiGHS reports the new
            # optimum's objective but hands back the old columns (seen on a budget chain: budget
            # 400 reported 167.5 with the plan of budget 200, worth 67.5). A start of our own is
            # set after this, so it is kept.
            h.clearSolver()
            self._sign = self._as_minimum(h)
            nonzeros = h.getNumNz()
            path, steps, time_limit = "compact", [], self.time_limit_s
            wanted = self._start is not None and (nonzeros >= START_ABOVE_NONZEROS or self.always_start)
            start = self._start_columns() if wanted else None
            self._start = None  # a start is for one solve only
            if start is not None:
                path = "greedy start"
            # the heuristic's plans and LP bound race HiGHS's (_Race), beside the search or before it
            helper = race = outcome = None
            if self.heuristic and nonzeros >= HEURISTIC_ABOVE_NONZEROS and h.getNumCol() and _helper_wanted():
                # the heuristic in a second process beside the branch and bound, which starts at
                # once from the greedy plan; its plans come in through the user-solution callback
                helper = _Helper(h.getLp(), self._item_columns(), self.time_limit_s, start, self.mip_gap)
                race, path = _Race(helper, self.mip_gap), "with helper"
            elif self.heuristic and nonzeros >= HEURISTIC_ABOVE_NONZEROS and h.getNumCol():
                from cowopt.optimise.heuristic import improve

                found = improve(h.getLp(), self._item_columns(),
                                min(HEURISTIC_SHARE * self.time_limit_s, HEURISTIC_MAX_S), start,
                                self.mip_gap)
                steps = found.steps
                time_limit = max(self.time_limit_s - (time.perf_counter() - started), 1.0)
                if found.columns is not None:
                    start, path = found.columns, "heuristic start"
                    race = _Race(_Finished(found), self.mip_gap)
            if start is not None:
                self._set_columns(h, start)
            options = {**TUNED_OPTIONS, "mip_rel_gap": self.mip_gap, "time_limit": time_limit,
                       "output_flag": False, **_thread_options(self.threads)}
            if nonzeros > IPM_ABOVE_NONZEROS:
                options["mip_lp_solver"] = "ipm"
            if nonzeros < NO_SUBMIP_BELOW_NONZEROS:
                options.update(mip_heuristic_run_rins=False, mip_heuristic_run_rens=False)
            if helper is not None and nonzeros > HELPER_NO_SUBMIP_ABOVE_NONZEROS:
                options.update(mip_heuristic_run_rins=False, mip_heuristic_run_rens=False,
                               mip_heuristic_run_root_reduced_cost=False)
            if path == "heuristic start":
                options.update(HEURISTIC_START_OPTIONS)
            for key, value in options.items():
                h.setOptionValue(key, value)
            if race is not None and race.proven_before_search():
                # the heuristic's plan is already within the gap of the LP bound: no search
                if helper is not None:
                    steps = helper.close()
                outcome = self._race_outcome(h, race, time.perf_counter() - started, into_model)
            else:
                try:
                    pressed = self._run(h, helper, race)
                finally:
                    if helper is not None:
                        steps = helper.close()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # solver-internal failure: report, do not crash
            logger.debug("HiGHS failed", exc_info=True)
            return SolverOutcome(Status.ERROR, f"solver error: {exc}", None, None, None,
                                 time.perf_counter() - started, None, "HiGHS", highs_version())
        if outcome is None:
            outcome = self._outcome(h, time.perf_counter() - started, pressed, into_model, race)
        # the heuristic's objectives in the model's sense, like every reported figure
        outcome.path, outcome.heuristic_steps = path, [(step, t, self._sign * v) for step, t, v in steps]
        return outcome

    @staticmethod
    def _run(h, helper, race) -> bool:
        """HiGHS's run with the callbacks of this solve subscribed for it alone: the helper's
        hand-in, the interrupt reset, the race; True if Ctrl-C was pressed (_run_stoppable)."""
        if helper is not None:
            h.cbMipUserSolution.subscribe(helper.offer)
        reset = _InterruptReset(h)  # first of the interrupt callbacks: see its docstring
        if race is not None:
            race.subscribe(h)
        try:
            return _run_stoppable(h)
        finally:
            if race is not None:
                race.unsubscribe(h)
            reset.close()
            if helper is not None:
                h.cbMipUserSolution.unsubscribe(helper.offer)

    def _as_minimum(self, h) -> int:
        """State a maximising model to HiGHS as minimise -objective; the sign that turns HiGHS's
        objective and bound back into the model's (-1 flipped, +1 a minimising model as it is).

        HiGHS's user-solution callback drops plans handed in on a maximisation model once it has
        an incumbent: it compares the original-sense objective with its internal minimisation
        bound (highspy 1.15.1, issue 17). Stated as a minimisation, handed-in plans are accepted.
        Pyomo's persistent interface writes sense and costs together when the objective changes
        (HiGHS then says maximise again: flip it all); between such changes it rewrites only the
        offset and any coefficient holding a mutable Param, in the original sense (re-negated)."""
        import highspy
        import numpy as np

        objective = next(self.model.component_data_objects(pyo.Objective, active=True), None)
        if objective is None or objective.sense != pyo.maximize:
            return 1
        lp = h.getLp()
        if lp.sense_ == highspy.ObjSense.kMaximize:
            if lp.num_col_:
                h.changeColsCost(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32),
                                 -np.asarray(lp.col_cost_, dtype=float))
            h.changeObjectiveOffset(-lp.offset_)
            h.changeObjectiveSense(highspy.ObjSense.kMinimize)
            return -1
        mutable = getattr(self._highs, "_mutable_objective", None)
        if mutable is not None:
            var_map = self._highs._pyomo_var_to_solver_var_map
            for coefficient in mutable.linear_coefs:
                h.changeColCost(var_map[coefficient.pyomo_var_id], -pyo.value(coefficient.expr))
            h.changeObjectiveOffset(-pyo.value(mutable.constant.expr))
        return -1

    def _outcome(self, h, seconds: float, interrupted: bool, into_model: bool, race=None) -> SolverOutcome:
        import highspy

        model_status = h.getModelStatus()
        info = h.getInfo()
        empty = model_status == highspy.HighsModelStatus.kModelEmpty
        has_plan = info.primal_solution_status == 2 or empty
        if race is not None and not empty and race.takes_over(info.objective_function_value if has_plan else None,
                                                               info.mip_dual_bound if info.mip_node_count >= 0 else None):
            return self._race_outcome(h, race, seconds, into_model, interrupted, info)
        status = _status(model_status, has_plan)
        # HiGHS holds minimise -objective (_as_minimum): its objective and bound change sign here
        internal = (info.objective_function_value if not empty else 0.0) if has_plan else None
        objective = self._sign * internal if internal is not None else None
        bound = self._sign * info.mip_dual_bound if info.mip_node_count >= 0 else objective
        gap = info.mip_gap if info.mip_node_count >= 0 else (0.0 if status == Status.OPTIMAL else None)
        if gap is not None and (math.isinf(gap) or math.isnan(gap)):
            gap = None
        detail = h.modelStatusToString(model_status)
        if interrupted:
            detail = "interrupted (Ctrl-C): " + ("best plan so far, not proven optimal" if has_plan else "no plan yet")
        outcome = SolverOutcome(status, detail, objective, bound, gap, seconds,
                                info.mip_node_count if info.mip_node_count >= 0 else None, "HiGHS", highs_version())
        if empty:
            outcome.values = {name: {} for name in _VARIABLES}
        elif has_plan:
            column_values = h.getSolution().col_value
            outcome.solution_problems = solution_problems(h, column_values, internal, sign=self._sign)
            outcome.values = self._values(column_values)
            if into_model:
                self._load_into_model(column_values)
        return outcome

    def _race_outcome(self, h, race, seconds: float, into_model: bool, interrupted: bool = False,
                      info=None) -> SolverOutcome:
        """The outcome when the heuristic's plan or its LP bound decides it (_Race): the best plan
        known and the best bound known, whichever process found them. The plan is checked
        against HiGHS's copy of the model like HiGHS's own (solution_problems)."""
        import highspy

        nodes = info.mip_node_count if info is not None and info.mip_node_count >= 0 else None
        internal, columns, bound = race.best_plan(h, info)
        gap = relative_gap(internal, bound) if bound is not None else None
        # proven: within the relative gap, or HiGHS's absolute one (mip_abs_gap, 1e-6 by default:
        # asked for gap 0, HiGHS 1.16 ends optimal with a gap of a few 1e-7), or HiGHS ended
        # optimal itself (a better plan against the same bound stays proven)
        highs_status = h.getModelStatus() if info is not None else None
        proven = gap is not None and (gap <= self.mip_gap * (1 + 1e-9) or internal - bound <= 1e-6)
        status = Status.OPTIMAL if proven or highs_status == highspy.HighsModelStatus.kOptimal else Status.FEASIBLE
        if interrupted:
            detail = "interrupted (Ctrl-C): " + ("best plan so far, not proven optimal" if status != Status.OPTIMAL
                                                 else "best plan so far, proven within the gap")
        elif status == Status.OPTIMAL and race.source == "HiGHS" and race.bound_source == "HiGHS's bound":
            detail = "Optimal"  # HiGHS's own plan and bound, as HiGHS would say it
        elif status == Status.OPTIMAL:
            detail = f"Optimal: {race.source}'s plan proven within the gap by {race.bound_source}"
        else:
            stopped = h.modelStatusToString(highs_status) if highs_status is not None else "Stopped"
            detail = f"{stopped}: {race.source}'s plan is the best found"
        outcome = SolverOutcome(status, detail, self._sign * internal, None if bound is None else self._sign * bound,
                                gap, seconds, nodes, "HiGHS", highs_version())
        outcome.solution_problems = solution_problems(h, columns, internal, sign=self._sign)
        outcome.values = self._values(columns)
        if into_model:
            self._load_into_model(columns)
        return outcome

    def _load_into_model(self, column_values) -> None:
        """Pyomo variables take the solution too."""
        var_map = self._highs._pyomo_var_to_solver_var_map
        for var in self.model.component_data_objects(pyo.Var, descend_into=True):
            column = var_map.get(id(var))
            if column is not None:
                var.set_value(column_values[column], skip_validation=True)

    def _values(self, column_values) -> dict:
        """Plain numbers of the decision variables; nothing Pyomo past this point."""
        var_map = self._highs._pyomo_var_to_solver_var_map
        values = {}
        for name in _VARIABLES:
            component = getattr(self.model, name, None)
            if component is not None:
                values[name] = {key: column_values[var_map[id(component[key])]] for key in component
                                if id(component[key]) in var_map}
        return values


_INTERRUPT_CALLBACKS = ("cbMipInterrupt", "cbSimplexInterrupt", "cbIpmInterrupt")


class _InterruptReset:
    """Clears HiGHS's user-interrupt flag at every interrupt check, before the callbacks that may
    set it (the race, Ctrl-C). HiGHS keeps the flag from one run to the next while any interrupt
    callback is subscribed (highspy 1.15.1: a run stopped by the race, then the next run of the
    same instance with a callback that sets nothing: "Interrupted by user" at once). A sweep
    re-solves one HiGHS instance budget after budget: 7 of 10 variants of medium came back
    interrupted before this reset."""

    def __init__(self, h):
        self._subscribed = []
        for name in _INTERRUPT_CALLBACKS:
            if hasattr(h, name):
                event = getattr(h, name)
                event.subscribe(self._clear)
                self._subscribed.append(event)

    @staticmethod
    def _clear(event) -> None:
        event.data_in.user_interrupt = False

    def close(self) -> None:
        for event in self._subscribed:
            event.unsubscribe(self._clear)
        self._subscribed = []


class _Finished:
    """A heuristic result that ran before the search, in the shape _Race reads from a helper."""

    def __init__(self, found):
        self.best, self.best_objective = found.columns, found.objective
        self.lp_bound = found.bound


class _Race:
    """The best plan and the best bound of one solve, wherever they come from: HiGHS's incumbent
    and dual bound (read in its MIP callback) or the heuristic's plans and LP relaxation bound.
    When the best plan is within the gap of the best bound, HiGHS is asked to stop; the outcome
    then takes the best plan and bound (solve._race_outcome). This is what lets a plan the helper
    found count even when HiGHS does not keep it (seen on medium seed 1: a plan of 424,415.8
    handed in, 424,338 reported), and what stops the search on the largest models, where HiGHS
    is still at its root when the helper's plan is already within the gap of the LP bound.
    Everything here is in the sense HiGHS holds the model (minimised, _as_minimum)."""

    def __init__(self, helper, mip_gap: float):
        self.helper, self.mip_gap = helper, mip_gap
        self.highs_bound = -math.inf  # HiGHS's dual bound as last seen in its MIP callback
        self.highs_primal = math.inf
        self.proven = False  # HiGHS was stopped because the best plan was within the gap
        self.source, self.bound_source = "HiGHS", "HiGHS's bound"
        self._subscribed: list = []

    def subscribe(self, h) -> None:
        for name, callback in zip(_INTERRUPT_CALLBACKS, (self._mip, self._other, self._other)):
            if hasattr(h, name):
                getattr(h, name).subscribe(callback)
                self._subscribed.append((getattr(h, name), callback))

    def unsubscribe(self, h) -> None:
        for event, callback in self._subscribed:
            event.unsubscribe(callback)
        self._subscribed = []

    def _mip(self, event) -> None:
        out = event.data_out
        if math.isfinite(out.mip_dual_bound):
            self.highs_bound = max(self.highs_bound, out.mip_dual_bound)
        if math.isfinite(out.mip_primal_bound):
            self.highs_primal = min(self.highs_primal, out.mip_primal_bound)
        self._other(event)

    def _other(self, event) -> None:
        if self._gap_closed():
            self.proven = True
            event.data_in.user_interrupt = True

    def _bound(self) -> float:
        lp = self.helper.lp_bound
        return max(self.highs_bound, lp if lp is not None else -math.inf)

    def _gap_closed(self) -> bool:
        plan = min(self.helper.best_objective, self.highs_primal)
        return math.isfinite(plan) and relative_gap(plan, self._bound()) <= self.mip_gap

    def proven_before_search(self) -> bool:
        return self.helper.best is not None and self._gap_closed()

    def takes_over(self, highs_objective: float | None, highs_bound: float | None) -> bool:
        """Whether the outcome should be the race's rather than HiGHS's alone: the heuristic's
        plan is better than HiGHS's, or HiGHS was stopped on the race's word, or HiGHS has no
        bound of its own and the LP's is known."""
        helper_better = self.helper.best is not None and (
            highs_objective is None
            or self.helper.best_objective < highs_objective - 1e-9 * max(1.0, abs(highs_objective)))
        return helper_better or self.proven or (
            highs_bound is None and self.helper.lp_bound is not None and highs_objective is not None)

    def best_plan(self, h, info):
        """(objective, columns, bound) of the best plan known, in HiGHS's sense."""
        import numpy as np

        highs_objective = info.objective_function_value if info is not None and info.primal_solution_status == 2 \
            else math.inf
        if self.helper.best is not None and self.helper.best_objective < highs_objective:
            columns = np.asarray(self.helper.best, dtype=float)
            self.source = "the LP-guided heuristic"
        else:
            columns = np.asarray(h.getSolution().col_value, dtype=float)
        lp = h.getLp()
        internal = float(np.dot(np.asarray(lp.col_cost_, dtype=float), columns) + lp.offset_)
        if info is not None and info.mip_node_count >= 0 and math.isfinite(info.mip_dual_bound):
            self.highs_bound = max(self.highs_bound, info.mip_dual_bound)
        bound = self._bound()
        if bound > self.highs_bound:
            self.bound_source = "the LP relaxation's bound"
        return internal, columns, bound if math.isfinite(bound) else None


# The helper process runs when HiGHS has a second core to give it (issue 17: 67 s wall to gap
# 1e-3 on 200 x 3,000 against 160 s; seed 2 41 s against 70 s). COWOPT_HELPER=0 turns it off.
def _helper_wanted() -> bool:
    import os

    return (os.cpu_count() or 1) >= 2 and os.environ.get("COWOPT_HELPER", "1") != "0"


def no_helper_in_this_process() -> None:
    """Initializer of worker processes that already run one solve per core (sweeps, levers,
    stress --replan): a helper process per solve would put two processes on every core."""
    import os

    os.environ["COWOPT_HELPER"] = "0"


class _Helper:
    """heuristic.improve in a second Python process; its plans are handed to HiGHS through the
    user-solution callback, which HiGHS calls at root checkpoints and before dives. HiGHS checks
    a handed-in plan itself, and the plan it finally reports is checked like any other."""

    def __init__(self, lp, item_columns: dict, budget_s: float, start, mip_gap: float):
        import pickle
        import subprocess
        import sys

        from cowopt.optimise.heuristic import lp_arrays

        self.best, self.best_objective, self.steps = None, math.inf, []
        self.lp_bound: float | None = None  # the helper's LP relaxation optimum, once solved
        self._handed = math.inf
        self._lock = threading.Lock()
        self._began = time.perf_counter()
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from cowopt.optimise.heuristic import helper_main; helper_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._reader = threading.Thread(target=self._read, name="cowopt-helper", daemon=True)
        self._reader.start()
        try:
            pickle.dump((lp_arrays(lp), item_columns, budget_s, None if start is None else list(start), mip_gap),
                        self._process.stdin)
            self._process.stdin.flush()
        except OSError:  # the helper died at once: the search runs without it
            logger.debug("helper process failed to start", exc_info=True)

    def _read(self) -> None:
        import pickle

        while True:
            try:
                kind, objective, columns = pickle.load(self._process.stdout)
            except Exception:  # EOF (the helper ended) or a broken pipe
                return
            with self._lock:
                if kind == "bound":  # the LP relaxation's optimum: a bound on every plan
                    self.lp_bound = objective
                    self.steps.append(("helper LP bound", time.perf_counter() - self._began, objective))
                    continue
                self.steps.append(("helper plan", time.perf_counter() - self._began, objective))
                if objective < self.best_objective:
                    self.best, self.best_objective = columns, objective

    def offer(self, event) -> None:
        """HiGHS asks for a plan: the helper's best, if it beats HiGHS's incumbent and is new."""
        with self._lock:
            best, objective = self.best, self.best_objective
        if best is None or objective >= self._handed:
            return
        incumbent = event.data_out.mip_primal_bound
        if objective < incumbent - 1e-9 * max(1.0, abs(incumbent)):
            import numpy as np

            try:  # a plan that cannot be handed in must not sink the search
                event.data_in.setSolution(np.asarray(best, dtype=float))
                event.data_in.user_has_solution = True
            except Exception:
                logger.debug("handing a helper plan to HiGHS failed", exc_info=True)
                self.best = None
                return
            self._handed = objective
            with self._lock:
                self.steps.append(("handed to HiGHS", time.perf_counter() - self._began, objective))

    def close(self) -> list:
        """Stop the helper (its stdin closes) and wait for it; a helper that does not stop is killed."""
        import subprocess

        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5.0)
        self._reader.join(timeout=2.0)
        self._process.stdout.close()
        with self._lock:
            return list(self.steps)


def solution_problems(h, column_values, objective: float, tolerance: float = 1e-6, sign: int = 1) -> list[str]:
    """What is wrong with `column_values` as a solution of the model HiGHS holds: its objective
    is not the one HiGHS reported, or it breaks a row, a bound or integrality. Empty when the
    numbers are what HiGHS says they are. Computed from HiGHS's own copy of the model with
    numpy, apart from the solver's run, so a stale or corrupted solution cannot pass."""
    import numpy as np

    lp = h.getLp()
    x = np.asarray(column_values, dtype=float)
    problems = []
    if len(x) != lp.num_col_:
        return [f"the solver returned {len(x)} values for {lp.num_col_} columns"]
    if not np.all(np.isfinite(x)):
        return ["the solver returned a solution with values that are not finite numbers"]
    recomputed = float(np.dot(np.asarray(lp.col_cost_, dtype=float), x) + lp.offset_)
    scale = max(1.0, abs(objective), abs(recomputed))
    if abs(recomputed - objective) > tolerance * scale:
        # said in the model's sense (sign -1: HiGHS holds minimise -objective)
        problems.append(f"the solver reported objective {sign * objective:,.6f} but its solution's columns give "
                        f"{sign * recomputed:,.6f}")
    lower, upper = np.asarray(lp.col_lower_, dtype=float), np.asarray(lp.col_upper_, dtype=float)
    slack = 1e-6 * np.maximum(1.0, np.abs(x))
    out_of_bounds = int(np.count_nonzero((x < lower - slack) | (x > upper + slack)))
    if out_of_bounds:
        problems.append(f"{out_of_bounds} variable(s) of the solution lie outside their bounds")
    integrality = np.asarray(lp.integrality_, dtype=int) if len(lp.integrality_) else np.zeros(len(x), dtype=int)
    fractional = int(np.count_nonzero((integrality > 0) & (np.abs(x - np.round(x)) > 1e-5)))
    if fractional:
        problems.append(f"{fractional} integer variable(s) of the solution are fractional")
    if lp.num_row_:
        matrix = lp.a_matrix_
        starts, indices = np.asarray(matrix.start_), np.asarray(matrix.index_)
        values = np.asarray(matrix.value_, dtype=float)
        nonzeros = int(starts[-1]) if len(starts) else 0
        # compressed by column (HiGHS's usual form) or by row: one owner per nonzero either way
        rowwise = matrix.format_ == _rowwise_format()
        owners = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        rows, cols = (owners, indices[:nonzeros]) if rowwise else (indices[:nonzeros], owners)
        activity = np.bincount(rows, weights=values[:nonzeros] * x[cols], minlength=lp.num_row_)
        row_lower, row_upper = np.asarray(lp.row_lower_, dtype=float), np.asarray(lp.row_upper_, dtype=float)
        row_slack = 1e-6 * np.maximum(1.0, np.abs(activity))
        broken = int(np.count_nonzero((activity < row_lower - row_slack) | (activity > row_upper + row_slack)))
        if broken:
            problems.append(f"the solution breaks {broken} constraint row(s) of the model")
    return problems


def _rowwise_format():
    import highspy

    return highspy.MatrixFormat.kRowwise


def _thread_options(threads: int | None) -> dict:
    """HiGHS options for a thread count asked by the user; {} leaves HiGHS's defaults (one
    search thread). Two or more threads switch on HiGHS's parallel tree search (`parallel=on`,
    HiGHS 1.15's first release of it). It stays opt-in: on 200 sites x 3,000 assets it was not
    reliably faster (gap 1e-3 in 132 s in one run, 1.35e-3 left at 150 s in another, against
    142 s serial; docs/performance.md)."""
    import highspy

    global _scheduler_threads
    if not threads:
        return {}
    with _scheduler_lock:
        if _scheduler_threads != int(threads):
            highspy.Highs.resetGlobalScheduler(True)
            _scheduler_threads = int(threads)
    return {"threads": int(threads), "parallel": "on" if threads > 1 else "off"}


def _run_stoppable(h) -> bool:
    """Run HiGHS; a first Ctrl-C asks it to stop at its next check and keep the best plan,
    a second one ends the process at once with status 130. True if Ctrl-C was pressed.

    Python runs a signal handler only when the main thread runs Python code, which during
    h.run() is only inside a HiGHS callback: a second press was swallowed there and a first
    one waited for the next MIP check. So the C-level handler's wakeup byte is read by a
    watcher thread (HiGHS releases the GIL while it runs): it counts the presses at once,
    and the interrupt flag is polled by the simplex and interior-point callbacks as well as
    the MIP one. The signal handler can only be set in the main thread (a Dask worker runs
    tasks in other threads: there HiGHS simply runs). highspy's own threaded solve() prints
    to stdout, which --json output cannot have, and cancelling its thread from outside
    aborted the process.
    """
    if threading.current_thread() is not threading.main_thread():
        h.run()
        return False
    import os
    import socket
    import sys

    def quit_now() -> None:
        """The second Ctrl-C: give the terminal back its cursor (a spinner hides it), say so, exit 130."""
        try:
            if sys.stderr is not None and sys.stderr.isatty():
                sys.stderr.write("\x1b[?25h")
            sys.stderr.write("\nstopped by a second Ctrl-C; nothing was written\n")
            sys.stderr.flush()
        finally:
            os._exit(130)

    pressed: list[bool] = []
    reader, writer = socket.socketpair()
    writer.setblocking(False)

    def watch() -> None:
        while True:
            try:
                received = reader.recv(64)
            except OSError:
                return
            if not received or 0 in received:  # closed, or the end-of-run byte below
                return
            for number in received:
                if number != signal.SIGINT:
                    continue
                if pressed:
                    quit_now()
                pressed.append(True)

    def check(event) -> None:  # HiGHS's interrupt callbacks, polled during the search
        if pressed:
            event.data_in.user_interrupt = True

    callbacks = [getattr(h, name) for name in _INTERRUPT_CALLBACKS if hasattr(h, name)]
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # counted by the watcher
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="cowopt-ctrl-c", daemon=True)
    watcher.start()
    for callback in callbacks:
        callback.subscribe(check)
    try:
        h.run()
    finally:
        for callback in callbacks:
            callback.unsubscribe(check)
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        try:
            writer.send(b"\0")
        except OSError:
            pass
        watcher.join(timeout=1.0)
        reader.close()
        writer.close()
    return bool(pressed)


def _status(model_status, has_plan: bool) -> Status:
    import highspy

    s = highspy.HighsModelStatus
    if model_status == s.kOptimal:
        return Status.OPTIMAL
    if model_status == s.kModelEmpty:  # nothing can be placed: the empty plan is the answer
        return Status.OPTIMAL
    if model_status in (s.kInfeasible,):
        return Status.INFEASIBLE
    if model_status == s.kUnboundedOrInfeasible and not has_plan:
        return Status.INFEASIBLE
    if has_plan:
        return Status.FEASIBLE
    limits = {s.kTimeLimit, s.kIterationLimit, s.kInterrupt} | ({s.kSolutionLimit} if hasattr(s, "kSolutionLimit") else set())
    if model_status in limits:
        return Status.NO_PLAN_IN_TIME
    return Status.ERROR


_VARIABLES = ("w", "y", "u", "z", "f", "o", "rule_short", "rule_excess")
