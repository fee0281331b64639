"""Sensitivity sweeps: budget variants and scenarios, in parallel, on Dask when asked.

A budget sweep does not rebuild the model: per scenario it builds one model, sets the mutable
budget, re-solves the persistent HiGHS instance and gives it the previous plan as a MIP start
(a plan that fit a smaller budget fits a larger one). Going up in budget therefore never loses
coverage. Chains of budgets run as separate tasks on a process pool (`workers`) or on a Dask
distributed cluster (`scheduler`); HiGHS gets one thread per task. Pyomo models do not
pickle: tasks receive data and build their model where they run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cowopt import api
from cowopt.optimise import diagnose
from cowopt.workbook import scenarios
from cowopt.optimise import candidates as candidates_mod
from cowopt.workbook.data import InputData
from cowopt.errors import CowoptError, InputError, Problem
from cowopt.optimise.formulation import build_model
from cowopt.optimise.greedy import greedy_start, start_coverage
from cowopt.optimise.solve import Solver, no_helper_in_this_process

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    scenario: str
    budget_meur: float | None  # None: the scenario's own budget

    @property
    def name(self) -> str:
        return self.scenario if self.budget_meur is None else f"{self.scenario}-budget-{self.budget_meur:g}"


MAX_BUDGETS = 1000  # variants in one sweep, however they are given
MAX_BUDGET_MEUR = 1e9  # 1,000 trillion EUR: anything above is a typing error, not a budget


def parse_budgets(text: str) -> list[float]:
    """'500,1000,2000' or '500:5000:500' (start:stop:step, stop included) -> budgets in M EUR.

    Lists and ranges share the same limits: at most MAX_BUDGETS budgets, each a finite number
    from 0 to MAX_BUDGET_MEUR; an empty list (",,,") is an error, not the base case."""
    def problem(message: str) -> InputError:
        return InputError([Problem("--budgets", None, None, message)])

    def shown(part: str) -> str:
        return part if len(part) <= 40 else part[:37] + "..."

    def number(part: str) -> float:
        try:
            value = float(part)
        except ValueError:
            raise problem(f"'{shown(part)}' is not a number (M EUR)") from None
        if not np.isfinite(value) or value < 0 or value > MAX_BUDGET_MEUR:
            raise problem(f"'{shown(part)}' must be a budget from 0 to {MAX_BUDGET_MEUR:,.0f} M EUR")
        return value

    text = str(text).strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise problem(f"'{shown(text)}': expected START:STOP:STEP, e.g. 500:5000:500")
        start, stop, step = (number(p) for p in parts)
        if step <= 0 or stop < start:
            raise problem(f"'{shown(text)}': need STEP > 0 and STOP ≥ START")
        steps = (stop - start) / step  # may be huge (0:1e9:1e-300): compared before any int()
        if not np.isfinite(steps) or steps + 1 > MAX_BUDGETS + 1e-6:
            many = f"{int(steps + 1e-9) + 1:,}" if steps < 1e12 else f"more than {MAX_BUDGETS:,}"
            raise problem(f"'{shown(text)}' gives {many} budgets; at most {MAX_BUDGETS:,}")
        count = int(np.floor(steps + 1e-9)) + 1
        return sorted({round(start + i * step, 9) for i in range(count)})
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise problem(f"'{shown(text)}' holds no budget; give e.g. 500,1000,2000 or 500:5000:500")
    budgets = sorted({number(p) for p in parts if p})
    if len(budgets) > MAX_BUDGETS:
        raise problem(f"{len(budgets):,} budgets given; at most {MAX_BUDGETS:,}")
    return budgets


def check_scheduler(address: str | None) -> None:
    """A Dask scheduler address must be SCHEME://HOST:PORT (tcp, tls, ws, wss, ucx, inproc)."""
    if address is None:
        return
    from urllib.parse import urlsplit

    shown = address if len(address) <= 60 else address[:57] + "..."
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("tcp", "tls", "ws", "wss", "ucx", "inproc") or not parts.hostname
            or (parts.scheme != "inproc" and port is None) or parts.path not in ("", "/")):
        raise InputError([Problem("--scheduler", None, None, f"'{shown}' is not a Dask scheduler address; "
                                  "expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")])


def plan_variants(data: InputData, budgets: list[float] | None, scenario_names: list[str] | None) -> list[Variant]:
    """Every budget under every named scenario (base when none is named)."""
    known = scenarios.names(data)
    chosen = scenario_names if scenario_names else [scenarios.BASE]
    unknown = [n for n in chosen if n != scenarios.BASE and n not in known]
    if unknown:
        raise InputError([Problem(data.source, "Scenarios", None, f"no scenario named '{n}' (scenarios: "
                                  f"{', '.join(known) or 'none'})") for n in unknown])
    return [Variant(s, b) for s in chosen for b in (sorted(budgets) if budgets else [None])]


def chains(variants: list[Variant], workers: int) -> list[list[Variant]]:
    """Per scenario, ascending budgets dealt out in turn to one chain per worker (budgets 1-10
    on 2 workers: 1, 3, 5, 7, 9 and 2, 4, 6, 8, 10), so all workers have work and similar work.
    Each chain is still ascending, so every budget starts from the plan of the one before it.
    Contiguous chains (1-5 and 6-10) left one core idle while the other solved all the large
    budgets, which are the hard ones (medium: 6 min 27 s for 10 budgets, issue 17)."""
    by_scenario: dict[str, list[Variant]] = {}
    for v in variants:
        by_scenario.setdefault(v.scenario, []).append(v)
    per_scenario = max(1, -(-workers // max(len(by_scenario), 1)))
    result = []
    for group in by_scenario.values():
        group = sorted(group, key=lambda v: v.budget_meur or 0.0)
        count = min(per_scenario, len(group))
        result.extend(group[i::count] for i in range(count))
    return result


def solve_chain(data: InputData, chain: list[Variant], time_limit_s=None, mip_gap=None, threads: int | None = None,
                rebuild: bool = False) -> list[tuple[Variant, object]]:
    """Solve one scenario's ascending budgets; each entry is (variant, PlanResult or error text)."""
    try:
        scenario_data = scenarios.apply(data, chain[0].scenario).with_settings(time_limit_s=time_limit_s, mip_gap=mip_gap)
    except CowoptError as exc:
        return [(v, f"error: {exc}") for v in chain]
    # a staged workbook (issue 14): each variant is one staged solve (api.solve dispatches);
    # the warm chain re-solves the static model, which would plan the static picture
    if rebuild or scenario_data.staged or all(v.budget_meur is None for v in chain):
        return [(v, _guarded(lambda v=v: api.solve(_at_budget(scenario_data, v), threads=threads))) for v in chain]
    return _warm_chain(scenario_data, chain, threads)


def _at_budget(data: InputData, variant: Variant) -> InputData:
    return data if variant.budget_meur is None else data.with_settings(budget_meur=variant.budget_meur)


def _guarded(call: Callable):
    try:
        return call()
    except Exception as exc:  # one variant failing must not sink the others
        logger.debug("variant failed", exc_info=True)
        return f"error: {exc.__class__.__name__}: {exc}"


def _warm_chain(data: InputData, chain: list[Variant], threads) -> list[tuple[Variant, object]]:
    out = []
    started = time.perf_counter()
    cands = candidates_mod.build(data)
    # the cost tie-break is sized for the largest budget, so it stays below one coverage step
    largest = data.with_settings(budget_meur=max(v.budget_meur for v in chain))
    model, index = build_model(largest, cands)
    build_seconds = time.perf_counter() - started
    solver = Solver(model, data.settings["time_limit_s"], data.settings["mip_gap"], threads)
    start = None
    for v in chain:
        try:
            start = _warm_step(data, v, cands, model, index, solver, start, build_seconds, out, threads)
        except Exception as exc:  # one variant failing must not sink the others
            logger.debug("variant failed", exc_info=True)
            out.append((v, f"error: {exc.__class__.__name__}: {exc}"))
        build_seconds = 0.0  # built once per chain
    return out


def _warm_step(data, v, cands, model, index, solver, start, build_seconds, out, threads=None):
    """Solve one budget of a chain; returns the start for the next budget."""
    variant_data = _at_budget(data, v)
    reasons = diagnose.precheck(variant_data, cands)
    if reasons:
        out.append((v, api.PlanResult(variant_data, cands, api.Status.INFEASIBLE, "infeasible (found before solving)",
                                      None, diagnosis=reasons)))
        return start
    model.budget_meur.set_value(float(v.budget_meur) + data.funding_meur)  # Funding adds to every budget
    if solver.wants_start():
        greedy = greedy_start(variant_data, cands, index)
        if not start or start_coverage(variant_data, cands, greedy) > start_coverage(variant_data, cands, start):
            start = greedy  # the better of the greedy plan and the previous optimum
        solver.set_start(start)
    outcome = solver.solve()
    seconds = {"build": build_seconds, "solve": outcome.seconds}
    result = api.finish(variant_data, cands, index, outcome, seconds)
    if result.check is not None and not result.check.passed:
        # the warm model's answer failed the independent check: this budget is solved again from
        # a freshly built model, and the next budget does not start from the doubtful plan
        out.append((v, api.checked(result, lambda: api.solve(variant_data, threads=threads))))
        return None
    out.append((v, result))
    if outcome.status.has_plan:
        # the whole previous plan: it fits any larger budget, so HiGHS starts from it
        start = {(name, k): (round(val) if name in ("w", "y", "u", "o") else val)
                 for name, values in outcome.values.items() for k, val in values.items()}
    return start


def _executor(workers: int, scheduler: str | None):
    """A concurrent.futures-style executor: local processes, or a Dask cluster."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise CowoptError("--scheduler needs Dask distributed: pip install 'cowopt[dask]'") from None
        check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout="5s")
        except Exception as exc:  # OSError, TimeoutError, or distributed's own errors for a bad address
            raise CowoptError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        return client.get_executor(), client
    if workers <= 1:
        return None, None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # one solve per core already: no helper process beside each (solve.no_helper_in_this_process)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=no_helper_in_this_process), None


def run_variants(data: InputData, variants: list[Variant], workers: int | None = None, scheduler: str | None = None,
                 time_limit_s=None, mip_gap=None, rebuild: bool = False,
                 progress: Callable[[int, int, str], None] | None = None) -> list[tuple[Variant, object]]:
    """Solve every variant; results in the order of `variants`."""
    workers = workers or os.cpu_count() or 1
    groups = chains(variants, workers)
    executor, client = _executor(workers, scheduler)
    done: dict[Variant, object] = {}
    total = len(variants)
    try:
        if executor is None:
            for chain in groups:
                for v, r in solve_chain(data, chain, time_limit_s, mip_gap, rebuild=rebuild):
                    done[v] = r
                    if progress:
                        progress(len(done), total, v.name)
        else:
            from concurrent.futures import as_completed

            futures = {executor.submit(solve_chain, data, chain, time_limit_s, mip_gap, rebuild=rebuild): chain for chain in groups}
            for future in as_completed(futures):
                try:
                    pairs = future.result()
                except Exception as exc:  # a worker died: its variants say so, the others go on
                    pairs = [(v, f"error: worker failed: {exc}") for v in futures[future]]
                for v, r in pairs:
                    done[v] = r
                    if progress:
                        progress(len(done), total, v.name)
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
        if client is not None:
            client.close()
    return [(v, done[v]) for v in variants]


def frontier_table(pairs: list[tuple[Variant, object]]) -> pd.DataFrame:
    """One row per variant, with the marginal coverage per extra M EUR within each scenario."""
    rows = []
    for v, r in pairs:
        row = {"variant": v.name, "scenario": v.scenario}
        if isinstance(r, str):
            row.update(budget_meur=v.budget_meur, status="error", detail=r)
        else:
            s = r.score
            row.update(budget_meur=float(r.data.settings["budget_meur"]), status=r.status.value, detail=r.detail,
                       objective=_objective(r),
                       objective_share=(s.objective / s.max_objective if s and s.max_objective else np.nan),
                       troops=s.troops if s else np.nan, cost_meur=_cost(r),
                       gap=r.outcome.gap if r.outcome else np.nan, solve_seconds=r.seconds.get("solve", np.nan),
                       build_seconds=r.seconds.get("build", np.nan),
                       unmet_rules=int((s.rules["status"] != "met").sum()) if s else np.nan,
                       **({f"share_{c}": v2 for c, v2 in s.capability_shares.items()} if s else {}))
            if r.staged is not None and s is not None:  # the last stage's coverage beside the protection-weeks
                row["final_stage_coverage"] = s.objective
            if r.check is not None:  # the independent check of the solver's plan (api.self_check)
                row["independent_check"] = ("failed" if not r.check.passed else
                                            "passed after a second solve" if r.check.re_solved_after else "passed")
            if r.diagnosis:
                row["detail"] = "; ".join(r.diagnosis)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("objective", "objective_share", "troops", "cost_meur", "gap", "solve_seconds"):
        if column not in frame:  # every variant failed: the columns still exist, empty
            frame[column] = np.nan
    frame = frame.sort_values(["scenario", "budget_meur"], kind="stable").reset_index(drop=True)
    frame["marginal_per_meur"] = np.nan
    for _, group in frame.groupby("scenario", sort=False):
        gain = group["objective"].diff() / group["budget_meur"].diff()
        frame.loc[group.index, "marginal_per_meur"] = gain
    first = ["variant", "scenario", "budget_meur", "status", "objective", "objective_share", "marginal_per_meur",
             "troops", "cost_meur", "gap", "solve_seconds", "build_seconds", "unmet_rules"]
    return frame[[c for c in first if c in frame] + [c for c in frame.columns if c not in first]]


def _objective(r) -> float:
    """A staged plan's objective is its protection-weeks (Σ weight_t × (coverage_t − penalty_t));
    objective_share, troops and the capability shares stay the last stage's."""
    if r.score is None:
        return np.nan
    return r.staged.objective if r.staged is not None else r.score.objective


def _cost(r) -> float:
    """A staged plan costs its horizon total (deployment + running + transport, every stage)."""
    if r.score is None:
        return np.nan
    return r.staged.cost_meur if r.staged is not None else r.score.cost_meur


def run_sweep(data: InputData | str, budgets: list[float] | str | None = None, scenario_names: list[str] | None = None,
              *, workers: int | None = None, scheduler: str | None = None, time_limit_s=None, mip_gap=None,
              rebuild: bool = False, out_dir=None, no_map: bool = True, progress=None) -> pd.DataFrame:
    """The frontier as a DataFrame; with `out_dir`, also frontier.xlsx, frontier.png and each variant's plan."""
    from cowopt.workbook.data import load

    data = load(data) if not isinstance(data, InputData) else data
    if isinstance(budgets, str):
        budgets = parse_budgets(budgets)
    variants = plan_variants(data, budgets, scenario_names)
    pairs = run_variants(data, variants, workers, scheduler, time_limit_s, mip_gap, rebuild, progress)
    frontier = frontier_table(pairs)
    if out_dir is not None:
        from cowopt.report.sweep import write_sweep

        write_sweep(frontier, pairs, out_dir, no_map=no_map)
    return frontier
