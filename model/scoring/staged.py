"""Scoring a staged plan (issue 14) apart from the optimiser.

A staged plan is the Deployments table with `arrival_stage` (blank: the first stage) and
`leave_stage` (blank: stays to the end; the last stage the units are present). Each stage's
presence is scored by the static scorer (`evaluate.score`) on that stage's data, so every
family's check holds in every stage; on top, from the rows and the data alone: the arrivals of
each stage through the crossings (a min-cost transport LP per stage with the weekly rates ×
the stage's weeks), the horizon and stage budgets, and rows that leave before they arrive or
leave although allow_withdrawal is 0. Nothing here reads the Pyomo model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cowopt.optimise.candidates import Candidates
from cowopt.optimise.families import Violation
from cowopt.optimise.families.base import given
from cowopt.optimise.families.logistics import cheapest_flows
from cowopt.optimise.stages import stage_availability, stage_data
from cowopt.scoring.evaluate import PlanScore, score
from cowopt.workbook.cells import blank
from cowopt.workbook.data import InputData
from cowopt.workbook.stagecheck import weekly_throughput


@dataclass
class StagedScore:
    stages: list
    per_stage: dict  # stage_id -> PlanScore of what is present in that stage
    deployments: pd.DataFrame  # plan rows with arrival_stage, leave_stage
    stage_table: pd.DataFrame  # one row per stage: coverage, share, troops, arrivals, cost
    arrivals: pd.DataFrame  # entry, stage, weeks, troops, capacity, share of throughput used
    objective: float  # Σ weight_t (coverage_t − rule penalty_t): protection-weeks by default
    cost_meur: float
    violations: list = field(default_factory=list)

    @property
    def final(self) -> PlanScore:
        return self.per_stage[self.stages[-1]]


def score_staged(data: InputData, cands: Candidates, plan: pd.DataFrame) -> StagedScore:
    """Score `plan` (state, item, site_id, count, arrival_stage, leave_stage; optional cell_ref)."""
    stages = list(data.stages.index)
    order = {t: i for i, t in enumerate(stages)}
    # only the plan's own columns: a scored plan's derived ones (kind, troops, cost) are recomputed
    plan = plan[[c for c in ("state", "item", "site_id", "count", "arrival_stage", "leave_stage", "cell_ref")
                 if c in plan]].copy().reset_index(drop=True)
    if "cell_ref" not in plan:
        plan["cell_ref"] = None
    for column in ("arrival_stage", "leave_stage"):
        if column not in plan:
            plan[column] = None
        plan[column] = pd.Series([None if blank(v) else str(v) for v in plan[column]], index=plan.index, dtype=object)
    violations, first_i, last_i = [], [], []
    for row in plan.itertuples(index=False):
        row = row._replace(arrival_stage=_stage(row.arrival_stage), leave_stage=_stage(row.leave_stage))
        a = order.get(row.arrival_stage, None) if row.arrival_stage else 0
        leave = order.get(row.leave_stage, None) if row.leave_stage else len(stages) - 1
        what = f"{row.count} {row.item} of {row.state} at {row.site_id}"
        if a is None or leave is None:
            bad = row.arrival_stage if a is None else row.leave_stage
            violations.append(Violation("stage", f"{what}: stage '{bad}' is not in the Stages sheet "
                                        f"({', '.join(stages)})", row.cell_ref))
        elif leave < a:
            violations.append(Violation("stage", f"{what} is present before it arrived: it leaves after stage "
                                        f"{row.leave_stage} but arrives in stage {row.arrival_stage}", row.cell_ref))
        elif row.leave_stage and leave < len(stages) - 1 and not data.settings["allow_withdrawal"]:
            violations.append(Violation("stage", f"{what} leaves after stage {row.leave_stage}; allow_withdrawal=0 "
                                        "keeps every unit to the end of the horizon", row.cell_ref))
        first_i.append(a if a is not None else -1)
        last_i.append(leave if leave is not None and a is not None else -2)
    plan["_first"], plan["_last"] = first_i, last_i
    avail = stage_availability(data)
    rate = weekly_throughput(data)
    items = data.items
    per_stage, seen, rows_t, arrivals, previous = {}, set(), [], [], pd.Series(dtype=float)
    objective, total_cost = 0.0, 0.0
    for i, t in enumerate(stages):
        sdata = stage_data(data, t, avail[t])
        present = plan[(plan["_first"] <= i) & (plan["_last"] >= i)]
        one = score(sdata, cands, present[["state", "item", "site_id", "count", "cell_ref"]])
        per_stage[t] = one
        for v in one.violations:
            key = (v.kind, v.message, v.cell)
            if v.kind == "placement" and key in seen:
                continue  # a forbidden row is forbidden in every stage: said once
            seen.add(key)
            violations.append(v if v.kind == "placement" else Violation(v.kind, f"stage {t}: {v.message}", v.cell))
        weeks = float(data.stages.at[t, "weeks"])
        # arrivals: what stands at a site beyond the previous stage came in during this stage
        at_site = one.sites.set_index("site_id")["troops"].astype(float)
        demand = (at_site - previous.reindex(at_site.index).fillna(0.0)).clip(lower=0.0)
        demand = demand[demand > 0.5]
        previous = at_site
        transport = 0.0
        capacity = {e: rate[e] * weeks for e in data.entry_points.index}
        used = dict.fromkeys(capacity, 0.0)
        if not demand.empty:
            entries = data.entry_points.copy()
            entries["throughput_troops"] = [capacity[e] for e in entries.index]
            flows, stranded = cheapest_flows(data.replace(entry_points=entries), cands, demand)
            per_km = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
            transport = float((flows["troops"] * flows["distance_km"]).sum() * per_km)
            for e, troops in flows.groupby("entry_id")["troops"].sum().items():
                used[e] = float(troops)
            arriving = present[present["_first"] == i]
            for s, (lost, need) in stranded.items():
                cells = arriving.loc[arriving["site_id"] == s, "cell_ref"]
                reach = sorted(set(cands.routes.loc[cands.routes["site_id"] == s, "entry_id"]))
                violations.append(Violation(
                    "arrivals", f"stage {t}: {lost:,.0f} of {need:,} troops arriving at {data.sites.at[s, 'name'] or s} "
                    f"cannot come in: the crossings that reach it ({', '.join(reach) or 'none'}) carry their weekly "
                    f"rate x {weeks:g} weeks and are full", cells.iloc[0] if len(cells) else None))
        for e in data.entry_points.index:
            arrivals.append((e, data.entry_points.at[e, "name"], t, data.stages.at[t, "start_week"], weeks,
                             round(used[e]), capacity[e], used[e] / capacity[e] if capacity[e] else 0.0))
        arriving = present[present["_first"] == i]
        deploy = float((arriving["item"].map(items["deploy_cost_meur"]).fillna(0.0) * arriving["count"]).sum())
        running = float((present["item"].map(items["running_meur_per_week"]).fillna(0.0) * present["count"]).sum()) * weeks
        cost = deploy + running + transport
        total_cost += cost
        limit = data.stages.at[t, "budget_meur"]
        if given(limit) and limit is not None and cost > float(limit) + 1e-6:
            violations.append(Violation("budget", f"stage {t} costs {cost:,.1f} M EUR ({deploy:,.1f} arrivals + "
                                        f"{running:,.1f} running + {transport:,.1f} transport); its budget_meur is "
                                        f"{float(limit):,.1f}"))
        weight = float(data.stages.at[t, "weight"])
        objective += weight * (one.objective - one.rule_penalty)
        share = one.objective / one.max_objective if one.max_objective else 0.0
        rows_t.append((t, data.stages.at[t, "name"], data.stages.at[t, "start_week"], data.stages.at[t, "end_week"],
                       weeks, weight, one.objective, share, one.troops, int(round(demand.sum())), deploy, running,
                       transport, cost))
    budget = float(data.settings["budget_meur"])
    if total_cost > budget + 1e-6:
        violations.append(Violation("budget", f"plan costs {total_cost:,.1f} M EUR over the horizon; budget_meur is {budget:,.1f}"))
    stage_table = pd.DataFrame(rows_t, columns=["stage_id", "name", "start_week", "end_week", "weeks", "weight",
                                                "coverage", "share", "troops", "arriving_troops", "deploy_cost_meur",
                                                "running_cost_meur", "transport_cost_meur", "cost_meur"])
    arrivals_table = pd.DataFrame(arrivals, columns=["entry_id", "name", "stage_id", "start_week", "weeks", "troops",
                                                     "capacity_troops", "share_used"])
    deployments = plan.drop(columns=["_first", "_last", "cell_ref"])
    deployments.insert(4, "kind", deployments["item"].map(items["kind"]).fillna("unknown"))
    deployments["troops"] = (deployments["item"].map(items["troops"]).fillna(0) * deployments["count"]).astype(int)
    deployments["deploy_cost_meur"] = deployments["item"].map(items["deploy_cost_meur"]).fillna(0.0) * deployments["count"]
    deployments = deployments[["state", "item", "kind", "site_id", "count", "troops", "deploy_cost_meur",
                               "arrival_stage", "leave_stage"]]
    return StagedScore(stages, per_stage, deployments, stage_table, arrivals_table, objective, total_cost, violations)


def _stage(value) -> str | None:
    return None if blank(value) else str(value)
