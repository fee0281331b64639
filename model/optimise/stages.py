"""The staged model (issue 14): the build-up over weeks, arrivals through the crossings.

Built from the static model rather than beside it: one Pyomo Block per stage holds that
stage's copy of every registered family's rows (`families.FAMILIES`, each `define` run on the
block with the stage's data: StageInventory availability, the stage's mission size, state caps
divided by rotation_factor), so every family holds in every stage and a new family is staged
without a line here. Two static rows do not carry over and are switched off in each block:
`ineq_entry_throughput` (a crossing limits arrivals per week, not who is present) and
`ineq_budget` (money is spent over the horizon). The rows that tie the stages together are here
(docs/model.md, "Stages"):

  ineq_stay_w[t,n,k], ineq_stay_y[t,k,s,g]  presence is cumulative (unless allow_withdrawal)
  arrive[t,e,s] >= f_t[e,s] - f_{t-1}[e,s]  troops arriving through e for s in stage t
  ineq_stage_throughput[t,e]                Σ_s arrive[t,e,s] <= per-week rate_e × weeks_t
  sent[t,n,k] >= w_t[n,k] - w_{t-1}[n,k]    units that arrive in stage t (one-off cost)
  ineq_horizon_budget, ineq_stage_budget[t] deployment + running + transport cost

Objective: Σ_t weight_t · (coverage_t − rule_penalty_t) − eps · horizon cost, weight_t = the
stage's weeks (protection-weeks) unless Settings stage_weights says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from cowopt.optimise import families
from cowopt.optimise.candidates import Candidates
from cowopt.optimise.families import Build
from cowopt.optimise.families.base import given, weighted_sum
from cowopt.optimise.families.coverage import coverage_classes
from cowopt.optimise.families.rules import rule_penalty
from cowopt.optimise.formulation import ModelIndex, cost_tiebreak, split_deployments
from cowopt.workbook.data import InputData
from cowopt.workbook.stagecheck import weekly_throughput


def stage_availability(data: InputData) -> dict:
    """stage_id -> {(state, item): units available in that stage} (StageInventory, else Inventory)."""
    base = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
    out = {t: dict(base) for t in data.stages.index}
    if not data.stage_inventory.empty:
        for n, k, t, a in data.stage_inventory[["state", "item", "stage_id", "available"]].itertuples(index=False):
            out[t][(n, k)] = int(a)
    return out


def union_data(data: InputData) -> InputData:
    """The data whose candidates cover every stage: inventory = the most any stage has."""
    most: dict = {}
    for avail in stage_availability(data).values():
        for key, a in avail.items():
            most[key] = max(most.get(key, 0), a)
    inventory = pd.DataFrame([(n, k, a) for (n, k), a in sorted(most.items())], columns=["state", "item", "available"])
    return data.replace(inventory=inventory)


def stage_data(data: InputData, t: str, avail: dict | None = None) -> InputData:
    """The data one stage's block (and the scorer's check of that stage) reads."""
    stage = data.stages.loc[t]
    avail = avail if avail is not None else stage_availability(data)[t]
    settings = dict(data.settings)
    for key in ("mission_troops_min", "mission_troops_max"):
        if given(stage[key]) and stage[key] is not None:
            settings[key] = int(stage[key])
    settings["budget_meur"] = float("inf")  # spent over the horizon: ineq_horizon_budget
    states = data.states.copy()
    # rotation: a state holds factor soldiers per soldier deployed, so its cap binds on deployed × factor
    states["max_troops"] = states["max_troops"] / float(data.settings["rotation_factor"])
    inventory = pd.DataFrame([(n, k, a) for (n, k), a in sorted(avail.items())], columns=["state", "item", "available"])
    entries = data.entry_points.copy()
    entries["throughput_troops"] = 10 ** 12  # presence is not limited by the crossings, arrivals are
    return data.replace(settings=settings, states=states, inventory=inventory, entry_points=entries)


@dataclass
class StagedIndex:
    index: ModelIndex
    stages: list  # stage ids in time order
    weeks: dict
    weight: dict


def stage_bounds(data: InputData, cands: Candidates, time_limit_s: float) -> dict:
    """stage_id -> an upper bound on coverage_t − rule_penalty_t, from the static model of that
    stage alone (crossings unlimited, units costed at deploy_cost_meur, the horizon budget).

    Why: every stage's block is that static model plus rows, and the horizon cost is at least
    the deployment and transport cost of what stands in any one stage, so the static optimum
    bounds the stage. HiGHS alone proves these bounds slowly on the staged model (the example's
    four stages: gap 1e-3 left after 60 s, with the optimum found early); given as rows
    (`ineq_stage_bound`) they close it. Stages with the same mission size and inventory share
    one solve. None where no bound was proven in time (no row)."""
    from cowopt.optimise.formulation import build_model
    from cowopt.optimise.solve import Solver

    avail = stage_availability(data)
    bounds, cache = {}, {}
    items = data.items.copy()
    items["cost_meur"] = items["deploy_cost_meur"]
    for t in data.stages.index:
        sdata = stage_data(data, t, avail[t])
        key = (sdata.settings["mission_troops_min"], sdata.settings["mission_troops_max"], tuple(sorted(avail[t].items())))
        if key not in cache:
            relaxed = sdata.replace(items=items, settings={**sdata.settings, "budget_meur": data.settings["budget_meur"]})
            model, index = build_model(relaxed, cands)
            for n, k in index.sends:
                model.w[n, k].setub(min(index.available[(n, k)], avail[t].get((n, k), 0)))
            outcome = Solver(model, time_limit_s, data.settings["mip_gap"]).solve()
            bound = outcome.bound if outcome.bound is not None else None
            if bound is not None and bound == bound and abs(bound) != float("inf"):
                # the static objective is coverage − penalty − eps·cost, cost <= budget
                slack = cost_tiebreak(relaxed, cands) * float(data.settings["budget_meur"])
                cache[key] = bound + slack + 1e-6 * abs(bound) + 1e-6
            else:
                cache[key] = None
        bounds[t] = cache[key]
    return bounds


def stage_pins(data: InputData, fixed: dict) -> dict:
    """stage_id -> {(state, item, site): units pinned present in that stage} for `--fix`.

    A key of `fixed` from a staged plan (planfile.PlanRowKey) carries its rows' stages: a row
    is present from its arrival_stage (blank: the first) to its leave_stage (blank: the end).
    A plain key, or a plan without stage columns, is present from the first stage. Every stage
    lists every pinned key (0 where none is present yet), so `fix_exact` pins 0 before arrival.
    Stage names the Stages sheet lacks, a leave before the arrival, or a leave while
    allow_withdrawal is 0 are InputErrors naming the plan's file and row."""
    from cowopt.errors import InputError, Problem

    stages = list(data.stages.index)
    order = {t: i for i, t in enumerate(stages)}
    pins = {t: dict.fromkeys(fixed, 0) for t in stages}
    problems = []
    for key, count in fixed.items():
        rows = getattr(key, "stages", ()) or ((int(count), None, None, None),)
        file = getattr(key, "file", "") or "--fix plan"
        for c, arrival, leave, row in rows:
            first = order.get(arrival) if arrival is not None else 0
            last = order.get(leave) if leave is not None else len(stages) - 1
            n, k, s = key
            what = f"cannot keep {c} {k} of {n} at {s}"
            for name, value, i in (("arrival_stage", arrival, first), ("leave_stage", leave, last)):
                if i is None:
                    problems.append(Problem(file, "Deployments", row, f"{what}: {name} '{value}' is not a stage_id of "
                                            f"the Stages sheet ({', '.join(stages)})"))
            if first is None or last is None:
                continue
            if last < first:
                problems.append(Problem(file, "Deployments", row, f"{what}: it leaves after stage {leave} but arrives "
                                        f"in stage {arrival}"))
            elif leave is not None and last < len(stages) - 1 and not data.settings["allow_withdrawal"]:
                problems.append(Problem(file, "Deployments", row, f"{what}: it leaves after stage {leave}, but Settings "
                                        "allow_withdrawal is 0 (who arrived stays); blank its leave_stage"))
            else:
                for t in stages[first:last + 1]:
                    pins[t][key] += int(c)
    if problems:
        raise InputError(problems)
    return pins


def build_staged(data: InputData, cands: Candidates, pins: dict | None = None,
                 fix_exact: bool = False) -> tuple[pyo.ConcreteModel, StagedIndex]:
    """The staged model; `cands` must come from `union_data(data)`. `pins` (stage_pins): units
    kept present in each stage, as minimums or exactly with `fix_exact` (--fix)."""
    model = pyo.ConcreteModel(name="cowopt_staged")
    pins = pins or {}
    index = ModelIndex.of(data, cands, next(iter(pins.values()), {}))  # pinned states stand alone
    build = Build(cands, {}, False, coverage_classes(cands))
    stages = list(data.stages.index)
    weeks = data.stages["weeks"].astype(float).to_dict()
    weight = data.stages["weight"].astype(float).to_dict()
    avail = stage_availability(data)
    model.stage = pyo.Block(stages)
    level_weight = list(data.level_weights)
    for t in stages:
        blk = model.stage[t]
        sdata = stage_data(data, t, avail[t])
        for family in families.FAMILIES:
            family.define(blk, sdata, index, build)
        blk.ineq_budget.deactivate()
        blk.ineq_entry_throughput.deactivate()
        for n, k in index.sends:
            blk.w[n, k].setub(min(index.available[(n, k)], avail[t].get((n, k), 0)))
        worth = [cls[2] for cls in build.classes]
        blk.coverage_score = pyo.Expression(expr=weighted_sum(
            (worth[j] * level_weight[l - 1], blk.z[j, l]) for j in blk.A for l in blk.L))
        blk.rule_penalty = pyo.Expression(expr=sum(
            rule_penalty(data, r) * (blk.rule_short[r] + blk.rule_excess[r]) for r in blk.rule_short))
        for (n, k, s), count in pins.get(t, {}).items():
            var = blk.y[k, s, index.group_of[n]]
            var.setlb(count)
            if fix_exact:
                var.setub(count)
    _link(model, data, index, stages, weeks, cands)
    # mutable: off (1e12) until stage_bounds has proven a stage's bound; set in place, no rebuild
    model.stage_bound = pyo.Param(stages, initialize=1e12, mutable=True)
    model.ineq_stage_bound = pyo.Constraint(
        stages, rule=lambda m, t: m.stage[t].coverage_score - m.stage[t].rule_penalty <= m.stage_bound[t],
        doc="a stage covers at most what its static model can (stage_bounds)")
    positive = [weight[t] for t in stages if weight[t] > 0] or [1.0]
    eps = cost_tiebreak(data, cands) * min(positive)
    model.obj = pyo.Objective(expr=sum(weight[t] * (model.stage[t].coverage_score - model.stage[t].rule_penalty)
                                       for t in stages) - eps * model.horizon_cost_meur, sense=pyo.maximize)
    return model, StagedIndex(index, stages, weeks, weight)


def _link(model, data: InputData, index: ModelIndex, stages: list, weeks: dict, cands: Candidates) -> None:
    pairs = list(zip(stages, stages[1:]))
    first = model.stage[stages[0]]
    if not data.settings["allow_withdrawal"]:
        model.ineq_stay_w = pyo.Constraint(
            [(t, n, k) for t, _ in pairs for n, k in index.sends],
            rule=lambda m, t, n, k: m.stage[t].w[n, k] <= m.stage[_next(stages, t)].w[n, k],
            doc="a unit a state sent stays (no withdrawal)")
        model.ineq_stay_y = pyo.Constraint(
            [(t, *key) for t, _ in pairs for key in index.stands],
            rule=lambda m, t, k, s, g: m.stage[t].y[k, s, g] <= m.stage[_next(stages, t)].y[k, s, g],
            doc="a unit that stands at a site stays there (no withdrawal)")
    routes = list(first.R)
    model.arrive = pyo.Var([(t, e, s) for t in stages for e, s in routes], domain=pyo.NonNegativeReals,
                           doc="troops arriving through e for site s in stage t")
    model.ineq_arrivals = pyo.Constraint(
        [(t, e, s) for t in stages for e, s in routes],
        rule=lambda m, t, e, s: m.arrive[t, e, s] >= m.stage[t].f[e, s] - (
            m.stage[_prev(stages, t)].f[e, s] if _prev(stages, t) else 0),
        doc="troops present at s through e beyond the previous stage arrived in this stage")
    rate = weekly_throughput(data)
    out_of = {}
    for e, s in routes:
        out_of.setdefault(e, []).append(s)
    model.ineq_stage_throughput = pyo.Constraint(
        [(t, e) for t in stages for e in out_of],
        rule=lambda m, t, e: sum(m.arrive[t, e, s] for s in out_of[e]) <= rate[e] * weeks[t],
        doc="arrivals through a crossing within its weekly rate x the stage's weeks")
    model.sent = pyo.Var([(t, n, k) for t in stages for n, k in index.sends], domain=pyo.NonNegativeReals,
                         doc="units of k that n brings in during stage t")
    model.ineq_sent = pyo.Constraint(
        [(t, n, k) for t in stages for n, k in index.sends],
        rule=lambda m, t, n, k: m.sent[t, n, k] >= m.stage[t].w[n, k] - (
            m.stage[_prev(stages, t)].w[n, k] if _prev(stages, t) else 0))
    items = data.items
    deploy, running = items["deploy_cost_meur"].to_dict(), items["running_meur_per_week"].to_dict()
    per_km = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    km = dict(zip(zip(cands.routes["entry_id"], cands.routes["site_id"]), cands.routes["distance_km"]))

    def stage_cost(m, t):
        return (sum(deploy[k] * m.sent[t, n, k] for n, k in index.sends)
                + sum(running[k] * weeks[t] * m.stage[t].w[n, k] for n, k in index.sends if running[k])
                + sum(per_km * km[(e, s)] * m.arrive[t, e, s] for e, s in routes))

    model.stage_cost_meur = pyo.Expression(stages, rule=stage_cost, doc="cost incurred in stage t")
    model.horizon_cost_meur = pyo.Expression(expr=sum(model.stage_cost_meur[t] for t in stages))
    model.budget_meur = pyo.Param(initialize=float(data.settings["budget_meur"]), mutable=True)
    model.ineq_horizon_budget = pyo.Constraint(expr=model.horizon_cost_meur <= model.budget_meur,
                                               doc="budget over the horizon")
    limited = [t for t in stages if given(data.stages.at[t, "budget_meur"]) and data.stages.at[t, "budget_meur"] is not None]
    model.ineq_stage_budget = pyo.Constraint(
        limited, rule=lambda m, t: m.stage_cost_meur[t] <= float(data.stages.at[t, "budget_meur"]),
        doc="a stage's own budget")


def _next(stages: list, t: str) -> str:
    return stages[stages.index(t) + 1]


def _prev(stages: list, t: str) -> str | None:
    i = stages.index(t)
    return stages[i - 1] if i else None


def staged_counts(sidx: StagedIndex, values: dict, withdrawal: bool) -> list:
    """Plan rows (state, item, site, count, arrival_stage, leave_stage) from each stage's w and y.

    Without withdrawal a stage's arrivals are its increments (w_t − w_{t−1}, y_t − y_{t−1}),
    split like a static plan, so nothing that stood in one stage moves in the next. With
    withdrawal each stage is split on its own and the counts per (state, item, site) are cut
    into stays (last in, first out)."""
    rows = []
    if not withdrawal:
        prev_w, prev_y = {}, {}
        for t in sidx.stages:
            w, y = values[t]["w"], values[t]["y"]
            dw = {key: round(v) - round(prev_w.get(key, 0)) for key, v in w.items()}
            dy = {key: round(v) - round(prev_y.get(key, 0)) for key, v in y.items()}
            for (n, k, s), c in sorted(split_deployments(sidx.index, dw, dy).items()):
                if c > 0:
                    rows.append((n, k, s, int(c), t, None))
            prev_w, prev_y = w, y
        return rows
    open_rows: dict = {}  # (n,k,s) -> list of [count, arrival]
    for t in sidx.stages:
        counts = split_deployments(sidx.index, values[t]["w"], values[t]["y"])
        for key in sorted(set(counts) | set(open_rows)):
            have = sum(c for c, _ in open_rows.get(key, []))
            want = int(counts.get(key, 0))
            stack = open_rows.setdefault(key, [])
            if want > have:
                stack.append([want - have, t])
            while have > want:
                c, arrival = stack.pop()
                gone = min(c, have - want)
                rows.append((*key, gone, arrival, _prev(sidx.stages, t)))
                if c > gone:
                    stack.append([c - gone, arrival])
                have -= gone
    for key, stack in open_rows.items():
        for c, arrival in stack:
            rows.append((*key, c, arrival, None))
    return sorted(rows, key=lambda r: (sidx.stages.index(r[4]), r[0], r[1], r[2]))


def rolling_start(data: InputData, cands: Candidates, model, sidx: StagedIndex, time_limit_s: float,
                  pins: dict | None = None, fix_exact: bool = False) -> bool:
    """A whole staged plan as a MIP start, stage by stage: each stage's static model, keeping
    what the earlier stages placed (lower bounds on w, y and the flows f) and letting in at most
    the crossings' weekly rate x the stage's weeks more; units costed at their deployment cost
    plus running cost to the end of the horizon, the budget less what earlier stages ran up.
    HiGHS on its own found no plan for the example's four stages in 60 s; this finds one in a
    few static solves. Sets the block variables' values; False when a stage has no plan (then
    the staged solve runs without a start). Assumes no withdrawal. `pins`: as build_staged."""
    from cowopt.optimise.formulation import build_model
    from cowopt.optimise.solve import Solver

    if data.settings["allow_withdrawal"]:
        return False
    avail, rate = stage_availability(data), weekly_throughput(data)
    end = float(data.stages["end_week"].iloc[-1])
    running = data.items["running_meur_per_week"]
    prev: dict = {"w": {}, "y": {}, "f": {}}
    ran_up = 0.0  # running cost of the stages solved so far
    for t in sidx.stages:
        sdata = stage_data(data, t, avail[t])
        items = data.items.copy()
        items["cost_meur"] = items["deploy_cost_meur"] + running * (end - float(data.stages.at[t, "start_week"]))
        entries = sdata.entry_points.copy()
        entries["throughput_troops"] = [sum(v for (e2, _), v in prev["f"].items() if e2 == e) + rate[e] * sidx.weeks[t]
                                        for e in entries.index]
        settings = {**sdata.settings, "budget_meur": max(0.0, float(data.settings["budget_meur"]) - ran_up)}
        # the stage's pins as the static model's fixed rows: the same keys in every stage, so
        # the state groups (and the keys of y) match the staged model's
        static, index = build_model(sdata.replace(items=items, entry_points=entries, settings=settings), cands,
                                    (pins or {}).get(t, {}), fix_exact)
        for n, k in index.sends:
            static.w[n, k].setub(min(index.available[(n, k)], avail[t].get((n, k), 0)))
        for name in ("w", "y", "f"):
            component = getattr(static, name)
            for key, value in prev[name].items():
                if key in component:
                    component[key].setlb(min(value, component[key].ub) if component[key].ub is not None else value)
        outcome = Solver(static, time_limit_s, max(float(data.settings["mip_gap"]), 1e-3)).solve()
        if not outcome.status.has_plan:
            return False
        blk = model.stage[t]
        for name, values in outcome.values.items():
            component = getattr(blk, name, None)
            if component is None:
                continue
            for key, value in values.items():
                if key in component:
                    component[key].set_value(round(value) if name in ("w", "y", "o") else value, skip_validation=True)
        for (e, s), value in outcome.values["f"].items():
            model.arrive[t, e, s].set_value(max(0.0, value - prev["f"].get((e, s), 0.0)), skip_validation=True)
        for n, k in index.sends:
            now = round(outcome.values["w"].get((n, k), 0.0))
            model.sent[t, n, k].set_value(max(0, now - round(prev["w"].get((n, k), 0.0))), skip_validation=True)
        ran_up += sum(running[k] * sidx.weeks[t] * round(v) for (n, k), v in outcome.values["w"].items())
        prev = {"w": {k: round(v) for k, v in outcome.values["w"].items()},
                "y": {k: round(v) for k, v in outcome.values["y"].items()}, "f": dict(outcome.values["f"])}
    return True
