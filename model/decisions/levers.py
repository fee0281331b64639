"""The price of each demand: the optimum's gain when one demand is dropped or relaxed one step.

Exact, by re-solving (LP duals mean nothing for a MIP): one solve of the base, then one per
lever, run in parallel processes like a sweep. The levers:
  rule        every Rules row, dropped (hard or soft);
  setting     require_core_lead switched off; frontline_buffer_km lowered by `buffer_step_km`;
              budget_meur and mission_troops_max raised by `step` (a fraction, default 10 %);
  state_cap   each state's max_troops raised by `step`;
  throughput  each crossing's throughput_troops raised by `step`.
A cap no plan can reach (a state's cap above the troops of its whole usable inventory, a
crossing's throughput at or above mission_troops_max) cannot bind: its gain is 0 by
argument, listed without a solve. Gains are accurate to the MIP gap the solves proved
(column `gap`); with mip_gap 0 they are exact.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from cowopt.workbook.data import InputData

COLUMNS = ["rank", "lever", "kind", "relaxed_to", "objective_gain", "coverage_gain", "coverage", "objective",
           "status", "gap", "note"]


@dataclass(frozen=True)
class Lever:
    name: str  # e.g. "rule KYIV_AD", "cap France"
    kind: str  # rule, setting, state_cap, throughput
    relaxed_to: str  # what the demand becomes, in words
    data: InputData | None  # the inputs with this one demand relaxed; None: cannot bind
    note: str = ""


def levers(data: InputData, step: float = 0.10, buffer_step_km: float = 25.0) -> list[Lever]:
    """Every demand and its one-step relaxation."""
    out = []
    for rule_id, rule in data.rules.iterrows():
        out.append(Lever(f"rule {rule_id}", "rule", f"dropped ({'hard' if rule['hard'] else 'soft'} rule)",
                         data.replace(rules=data.rules.drop(index=rule_id))))
    settings = data.settings
    if settings["require_core_lead"]:
        out.append(Lever("core lead", "setting", "require_core_lead = 0", data.with_settings(require_core_lead=0)))
    buffer = float(settings["frontline_buffer_km"])
    if buffer > 0:
        lower = max(0.0, buffer - buffer_step_km)
        out.append(Lever("frontline buffer", "setting", f"{buffer:g} → {lower:g} km",
                         data.with_settings(frontline_buffer_km=lower)))
    budget = float(settings["budget_meur"])
    out.append(Lever("budget", "setting", f"{budget:,.0f} → {budget * (1 + step):,.0f} M EUR",
                     data.with_settings(budget_meur=budget * (1 + step))))
    mission = int(settings["mission_troops_max"])
    usable = _usable_troops(data)
    raised = _raised(mission, step)
    out.append(Lever("mission troops max", "setting", f"{mission:,} → {raised:,}",
                     data.with_settings(mission_troops_max=raised) if sum(usable.values()) > mission else None,
                     "" if sum(usable.values()) > mission else "cannot bind: the whole usable inventory has fewer troops"))
    for state, record in data.states.iterrows():
        if not record["eligible"] or usable.get(state, 0) == 0:
            continue
        cap = int(record["max_troops"])
        raised = _raised(cap, step)
        states = data.states.copy()
        states.loc[state, "max_troops"] = raised
        binds = usable[state] > cap
        out.append(Lever(f"cap {state}", "state_cap", f"{cap:,} → {raised:,} troops",
                         data.replace(states=states) if binds else None,
                         "" if binds else f"cannot bind: {state}'s usable inventory has {usable[state]:,} troops"))
    for entry, record in data.entry_points.iterrows():
        throughput = int(record["throughput_troops"])
        raised = _raised(throughput, step)
        entries = data.entry_points.copy()
        entries.loc[entry, "throughput_troops"] = raised
        binds = throughput < mission
        out.append(Lever(f"throughput {entry} {record['name'] or ''}".strip(), "throughput",
                         f"{throughput:,} → {raised:,} troops", data.replace(entry_points=entries) if binds else None,
                         "" if binds else "cannot bind: at or above mission_troops_max"))
    return out


def _raised(value: int, step: float) -> int:
    """value * (1 + step) rounded up to a whole soldier; 100 * 1.1 is 110.00000000000001 in
    floating point, which must stay 110."""
    return int(math.ceil(round(value * (1 + step), 6)))


def _usable_troops(data: InputData) -> dict:
    """state -> troops of all the inventory it may send (eligible, combat rules, one unit within its cap)."""
    from cowopt.optimise.candidates import state_exclusion

    troops = data.items["troops"].to_dict()
    usable: dict = {}
    for r in data.inventory.itertuples(index=False):
        if r.available > 0 and state_exclusion(data, r.state, r.item) is None:
            usable[r.state] = usable.get(r.state, 0) + int(r.available) * int(troops[r.item])
    return usable


def solve_figures(data: InputData, time_limit_s=None, mip_gap=None) -> dict:
    """One solve, boiled down to what the table needs (runs in a worker process)."""
    from cowopt import api

    try:
        result = api.solve(data, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=None)
    except Exception as exc:  # one lever failing must not sink the table
        return {"status": "error", "coverage": None, "objective": None, "gap": None,
                "note": f"{exc.__class__.__name__}: {exc}"}
    s = result.score
    return {"status": result.status.value, "coverage": s.objective if s else None,
            "objective": s.objective - s.rule_penalty if s else None,
            "gap": result.outcome.gap if result.outcome else None,
            "note": "; ".join(result.diagnosis[:2]) if result.diagnosis else ""}


@dataclass
class LeverReport:
    table: pd.DataFrame
    base: dict  # the base solve's figures
    seconds: float


def price_levers(data: InputData, *, step: float = 0.10, buffer_step_km: float = 25.0, workers: int | None = None,
                 time_limit_s=None, mip_gap=None, progress: Callable[[int, int], None] | None = None) -> LeverReport:
    """The base optimum and the gain of relaxing each demand, sorted by gain."""
    from cowopt.optimise.parallel import parallel_map

    started = time.perf_counter()
    candidates = levers(data, step, buffer_step_km)
    to_solve = [data] + [lever.data for lever in candidates if lever.data is not None]
    answers = parallel_map(solve_figures, [(d, time_limit_s, mip_gap) for d in to_solve], workers, progress)
    base, answers = answers[0], iter(answers[1:])
    rows = []
    for lever in candidates:
        row = {"lever": lever.name, "kind": lever.kind, "relaxed_to": lever.relaxed_to}
        if lever.data is None:
            row.update(status="not solved", coverage=base["coverage"], objective=base["objective"], gap=None,
                       objective_gain=0.0, coverage_gain=0.0, note=lever.note)
        else:
            figures = next(answers)
            row.update(figures)
            has = figures["objective"] is not None and base["objective"] is not None
            row["objective_gain"] = round(figures["objective"] - base["objective"], 6) if has else None
            row["coverage_gain"] = round(figures["coverage"] - base["coverage"], 6) if has else None
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.sort_values(["objective_gain", "lever"], ascending=[False, True], na_position="last",
                              kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return LeverReport(table[COLUMNS], base, time.perf_counter() - started)
