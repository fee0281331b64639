"""The mixed-integer program, built in Pyomo from validated data.

The math is written out in docs/model.md with the same names as the components below.

Sets: placements P = {(n,k,s)} allowed by candidates.py; coverage cells A = {(i,c)} with
worth_ic = value_i * weight[category_i, c] > 0 and at least one covering placement; levels
l = 1..L; routes R = {(e,s)} within max_route_km; used-site indicators for sites in P.

    max  sum_{i,c,l} worth_ic * lw_l * z[i,c,l]  -  eps * cost  -  sum_r penalty_r * (short_r + excess_r)

`build_model` is the orchestrator; each `_define_*` adds one family of variables or
constraints (names read in an LP dump: ineq_budget, eq_site_troops, ...).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyomo.environ as pyo

from .candidates import Candidates
from .data import InputData


@dataclass
class ModelIndex:
    """Lookups the constraint builders share; kept off the Pyomo model on purpose."""

    placements: list  # (state, item, site_id)
    by_site: dict = field(default_factory=lambda: defaultdict(list))
    by_state: dict = field(default_factory=lambda: defaultdict(list))
    by_state_item: dict = field(default_factory=lambda: defaultdict(list))
    by_item_site: dict = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, candidates: Candidates) -> ModelIndex:
        index = cls(list(candidates.placements[["state", "item", "site_id"]].itertuples(index=False, name=None)))
        for p in index.placements:
            n, k, s = p
            index.by_site[s].append(p)
            index.by_state[n].append(p)
            index.by_state_item[(n, k)].append(p)
            index.by_item_site[(k, s)].append(p)
        return index


def rule_matches(data: InputData, rule, placements) -> list:
    """The placements (n,k,s) a Rules row counts: blank fields match anything."""
    items, sites = data.items, data.sites
    matched = []
    for n, k, s in placements:
        if rule["state"] and n != rule["state"]:
            continue
        if rule["item"] and k != rule["item"]:
            continue
        if rule["capability"] and rule["capability"] not in items.at[k, "capabilities"]:
            continue
        if rule["site_id"] and s != rule["site_id"]:
            continue
        if rule["region"] and sites.at[s, "region"] != rule["region"]:
            continue
        matched.append((n, k, s))
    return matched


def cost_tiebreak(data: InputData, candidates: Candidates) -> float:
    """eps such that the whole budget's worth of cost is worth < 1/1000 of the smallest
    coverage step: cost only ever decides between plans of equal coverage."""
    steps = [w for w in candidates.worth.values() if w > 0]
    if not steps:
        return 1e-6
    smallest = min(steps) * min(data.level_weights)
    return 1e-3 * smallest / max(float(data.settings["budget_meur"]), 1.0)


def build_model(data: InputData, candidates: Candidates, fixed: dict | None = None, fix_exact: bool = False) -> pyo.ConcreteModel:
    """The Pyomo model. `fixed` maps (state,item,site) -> count kept as a lower bound (or exactly)."""
    model = pyo.ConcreteModel(name="cowopt")
    index = ModelIndex.of(candidates)
    _define_deployments(model, data, index, fixed or {}, fix_exact)
    _define_site_use(model, data, index)
    _define_inventory(model, data, index)
    _define_troop_caps(model, data, index)
    _define_coverage(model, data, candidates, index)
    _define_logistics(model, data, candidates, index)
    _define_budget(model, data, index)
    _define_rules(model, data, index)
    _define_core_lead(model, data, index)
    _define_objective(model, data, candidates)
    return model


def _define_deployments(model, data, index: ModelIndex, fixed: dict, fix_exact: bool) -> None:
    available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
    model.P = pyo.Set(initialize=index.placements, dimen=3, ordered=True, doc="allowed (state, item, site)")
    model.x = pyo.Var(model.P, domain=pyo.NonNegativeIntegers, bounds=lambda m, n, k, s: (0, available[(n, k)]),
                      doc="units of item k from state n at site s")
    for key, count in fixed.items():
        model.x[key].setlb(count)
        if fix_exact:
            model.x[key].setub(count)
    troops = data.items["troops"].to_dict()
    cost = data.items["cost_meur"].to_dict()
    model.troops_at_site = pyo.Expression(
        list(index.by_site), rule=lambda m, s: sum(troops[k] * m.x[n, k, s] for n, k, _ in index.by_site[s]),
        doc="troops placed at site s")
    model.unit_cost_meur = pyo.Expression(expr=sum(cost[k] * model.x[n, k, s] for n, k, s in index.placements),
                                          doc="cost of all units, M EUR")


def _define_site_use(model, data, index: ModelIndex) -> None:
    capacity = data.sites["capacity_troops"].to_dict()
    troops = data.items["troops"].to_dict()
    model.S = pyo.Set(initialize=list(index.by_site), doc="sites with an allowed placement")
    model.o = pyo.Var(model.S, domain=pyo.Binary, doc="site s is used")
    model.ineq_site_capacity = pyo.Constraint(
        model.S, rule=lambda m, s: m.troops_at_site[s] <= capacity[s] * m.o[s],
        doc="troops at a site within its capacity; a site with troops is used")
    # items with no troops (possible in a workbook) would not switch o on through capacity
    crewless = [s for s in model.S if any(troops[k] == 0 for _, k, _ in index.by_site[s])]
    model.ineq_site_used = pyo.Constraint(
        crewless, rule=lambda m, s: sum(m.x[p] for p in index.by_site[s]) <= sum(m.x[p].ub for p in index.by_site[s]) * m.o[s],
        doc="a site hosting any unit is used")


def _define_inventory(model, data, index: ModelIndex) -> None:
    available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
    multi = [key for key, ps in index.by_state_item.items() if len(ps) > 1]
    model.ineq_inventory = pyo.Constraint(
        multi, rule=lambda m, n, k: sum(m.x[p] for p in index.by_state_item[(n, k)]) <= available[(n, k)],
        doc="a state sends no more of an item than it has")


def _define_troop_caps(model, data, index: ModelIndex) -> None:
    troops = data.items["troops"].to_dict()
    max_troops = data.states["max_troops"].to_dict()
    model.troops_of_state = pyo.Expression(
        list(index.by_state), rule=lambda m, n: sum(troops[k] * m.x[n, k, s] for _, k, s in index.by_state[n]))
    model.ineq_state_troops = pyo.Constraint(
        list(index.by_state), rule=lambda m, n: m.troops_of_state[n] <= max_troops[n], doc="state troop caps")
    total = sum(model.troops_of_state[n] for n in index.by_state)
    model.mission_troops = pyo.Expression(expr=total, doc="troops in the mission")
    model.ineq_mission_max = pyo.Constraint(expr=model.mission_troops <= int(data.settings["mission_troops_max"]))
    lo = int(data.settings["mission_troops_min"] or 0)
    if lo > 0:
        model.ineq_mission_min = pyo.Constraint(expr=model.mission_troops >= lo)


def _define_coverage(model, data, candidates: Candidates, index: ModelIndex) -> None:
    levels = range(1, len(data.level_weights) + 1)
    cells = sorted(candidates.cover_options)
    model.A = pyo.Set(initialize=cells, dimen=2, doc="(asset, capability) cells worth covering")
    model.L = pyo.Set(initialize=list(levels), doc="coverage levels")
    # continuous z: integer unit counts already make z integral at the optimum, and the
    # relaxation gives HiGHS much better incumbents than binary z (measured, see BRIEF)
    model.z = pyo.Var(model.A, model.L, bounds=(0, 1), doc="asset i covered by capability c at level l")

    def covering(m, a, c):
        units = sum(m.x[p] for pair in candidates.cover_options[(a, c)] for p in index.by_item_site[pair])
        return sum(m.z[a, c, l] for l in m.L) <= units

    model.ineq_coverage = pyo.Constraint(model.A, rule=covering, doc="coverage levels need covering units")


def _define_logistics(model, data, candidates: Candidates, index: ModelIndex) -> None:
    routes = candidates.routes[candidates.routes["site_id"].isin(index.by_site)]
    model.R = pyo.Set(initialize=list(routes[["entry_id", "site_id"]].itertuples(index=False, name=None)), dimen=2)
    model.f = pyo.Var(model.R, domain=pyo.NonNegativeReals, doc="troops entering at e bound for site s")
    into_site, out_of_entry = defaultdict(list), defaultdict(list)
    for e, s in model.R:
        into_site[s].append((e, s))
        out_of_entry[e].append((e, s))
    model.eq_site_troops = pyo.Constraint(
        model.S, rule=lambda m, s: sum(m.f[r] for r in into_site[s]) == m.troops_at_site[s],
        doc="every soldier at a site came through an entry point")
    throughput = data.entry_points["throughput_troops"].to_dict()
    model.ineq_entry_throughput = pyo.Constraint(
        list(out_of_entry), rule=lambda m, e: sum(m.f[r] for r in out_of_entry[e]) <= throughput[e],
        doc="entry point throughput")
    rate_meur = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    km = {(e, s): d for e, s, d in routes[["entry_id", "site_id", "distance_km"]].itertuples(index=False)}
    model.transport_cost_meur = pyo.Expression(expr=sum(rate_meur * km[r] * model.f[r] for r in model.R))


def _define_budget(model, data, index: ModelIndex) -> None:
    model.budget_meur = pyo.Param(initialize=float(data.settings["budget_meur"]), mutable=True,
                                  doc="budget, mutable so a sweep re-solves without rebuilding")
    model.total_cost_meur = pyo.Expression(expr=model.unit_cost_meur + model.transport_cost_meur)
    model.ineq_budget = pyo.Constraint(expr=model.total_cost_meur <= model.budget_meur, doc="budget")


def _define_rules(model, data, index: ModelIndex) -> None:
    matches = {r: rule_matches(data, data.rules.loc[r], index.placements) for r in data.rules.index}
    model.rule_units = pyo.Expression(list(data.rules.index), rule=lambda m, r: sum(m.x[p] for p in matches[r]))
    soft = [r for r in data.rules.index if not data.rules.at[r, "hard"]]
    model.rule_short = pyo.Var(soft, domain=pyo.NonNegativeReals, doc="soft-rule shortfall below min_count")
    model.rule_excess = pyo.Var(soft, domain=pyo.NonNegativeReals, doc="soft-rule excess above max_count")

    def at_least(m, r):
        needed = int(data.rules.at[r, "min_count"])
        if not matches[r] and (r not in soft):
            return pyo.Constraint.Infeasible if needed > 0 else pyo.Constraint.Skip
        return m.rule_units[r] + (m.rule_short[r] if r in soft else 0) >= needed

    def at_most(m, r):
        if not matches[r]:
            return pyo.Constraint.Skip
        return m.rule_units[r] - (m.rule_excess[r] if r in soft else 0) <= int(data.rules.at[r, "max_count"])

    model.ineq_rule_min = pyo.Constraint(
        [r for r in data.rules.index if _given(data.rules.at[r, "min_count"])], rule=at_least, doc="rule minimum")
    model.ineq_rule_max = pyo.Constraint(
        [r for r in data.rules.index if _given(data.rules.at[r, "max_count"])], rule=at_most, doc="rule maximum")


def _given(value) -> bool:
    return value is not None and value == value


def rule_penalty(data: InputData, rule_id: str) -> float:
    own = data.rules.at[rule_id, "penalty"]
    return float(own) if _given(own) else float(data.settings["soft_rule_penalty"])


def _define_core_lead(model, data, index: ModelIndex) -> None:
    if not data.settings["require_core_lead"]:
        return
    core = set(data.states.index[data.states["core"] == 1])
    model.ineq_core_lead = pyo.Constraint(
        model.S, rule=lambda m, s: sum(m.x[p] for p in index.by_site[s] if p[0] in core) >= m.o[s],
        doc="every used site hosts a unit of a core state")


def _define_objective(model, data, candidates: Candidates) -> None:
    level_weight = dict(zip(model.L, data.level_weights))
    model.coverage_score = pyo.Expression(
        expr=sum(candidates.worth[(a, c)] * level_weight[l] * model.z[a, c, l] for a, c in model.A for l in model.L),
        doc="weighted coverage: the planner's objective")
    penalty = sum(rule_penalty(data, r) * (model.rule_short[r] + model.rule_excess[r]) for r in model.rule_short)
    model.rule_penalty = pyo.Expression(expr=penalty)
    eps = cost_tiebreak(data, candidates)
    model.obj = pyo.Objective(expr=model.coverage_score - eps * model.total_cost_meur - model.rule_penalty,
                              sense=pyo.maximize)
