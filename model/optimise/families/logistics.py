"""Entry logistics: every soldier at a site came through an entry point within max_route_km
(`f[e,s]`), no entry point passes more than its throughput; the transport cost they incur.

The scorer checks a given plan with its own small min-cost transport LP, solved by HiGHS
directly (`cheapest_flows`), not with the Pyomo rows below.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation

# M EUR per soldier who cannot reach a site: large against any transport cost, so the LP
# only leaves troops stranded when the entry points truly cannot carry them.
_STRANDED_PENALTY = 1e4


def cheapest_flows(data, candidates, demand: pd.Series) -> tuple[pd.DataFrame, dict]:
    """The cheapest entry flows bringing `demand` (site -> troops > 0) in, and the troops per
    site that cannot enter: (routes with a `troops` column, {site: (stranded, demand)})."""
    import highspy

    demand = demand[~demand.index.isin(candidates.abroad)]  # bases abroad use no Ukrainian entry point
    routes = candidates.routes[candidates.routes["site_id"].isin(demand.index)].reset_index(drop=True)
    rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    sites_list = list(demand.index)
    n_routes = len(routes)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    costs = np.concatenate([rate * routes["distance_km"].to_numpy(float), np.full(len(sites_list), _STRANDED_PENALTY)])
    h.addVars(len(costs), np.zeros(len(costs)), np.full(len(costs), highspy.kHighsInf))
    h.changeColsCost(len(costs), np.arange(len(costs), dtype=np.int32), costs)
    site_pos = {s: i for i, s in enumerate(sites_list)}
    for s in sites_list:
        cols = list(np.flatnonzero(routes["site_id"].to_numpy() == s)) + [n_routes + site_pos[s]]
        h.addRow(float(demand[s]), float(demand[s]), len(cols), np.asarray(cols, dtype=np.int32), np.ones(len(cols)))
    throughput = data.entry_points["throughput_troops"]
    for e in data.entry_points.index:
        cols = np.flatnonzero(routes["entry_id"].to_numpy() == e)
        if len(cols):
            h.addRow(-highspy.kHighsInf, float(throughput[e]), len(cols), cols.astype(np.int32), np.ones(len(cols)))
    h.run()
    solution = np.asarray(h.getSolution().col_value)
    stranded = {s: (float(solution[n_routes + site_pos[s]]), int(demand[s])) for s in sites_list
                if solution[n_routes + site_pos[s]] > 0.5}
    return routes.assign(troops=solution[:n_routes]), stranded


class Logistics(Family):
    name = "logistics"
    slacks = (Slack("ineq_entry_throughput", "throughput of entry point {0}", 0.001, "troops"),)

    def define(self, model, data, index, build) -> None:
        routes = build.candidates.routes[build.candidates.routes["site_id"].isin(index.by_site)]
        model.R = pyo.Set(initialize=list(zip(routes["entry_id"], routes["site_id"])), dimen=2, doc="allowed routes")
        model.f = pyo.Var(model.R, domain=pyo.NonNegativeReals, doc="troops entering at e bound for site s")
        into_site, out_of_entry = defaultdict(list), defaultdict(list)
        for e, s in model.R:
            into_site[s].append((e, s))
            out_of_entry[e].append((e, s))
        abroad = build.candidates.abroad  # supplied by the host country, not through Ukraine's entries
        model.eq_site_troops = pyo.Constraint(
            model.S, rule=lambda m, s: pyo.Constraint.Skip if s in abroad
            else sum(m.f[r] for r in into_site[s]) == m.troops_at_site[s],
            doc="every soldier at a site came through an entry point")
        throughput = data.entry_points["throughput_troops"].to_dict()
        model.ineq_entry_throughput = pyo.Constraint(
            list(out_of_entry), rule=lambda m, e: sum(m.f[r] for r in out_of_entry[e]) <= throughput[e],
            doc="entry point throughput")
        rate_meur = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
        km = dict(zip(zip(routes["entry_id"], routes["site_id"]), routes["distance_km"]))
        model.transport_cost_meur = pyo.Expression(expr=sum(rate_meur * km[r] * model.f[r] for r in model.R))

    def check(self, facts: PlanFacts) -> list[Violation]:
        data, routes = facts.data, facts.candidates.routes
        found = []
        for s, (stranded, demand) in facts.stranded.items():
            if not data.sites.at[s, "deployable"]:
                why = "the site is entry/transit only (deployable=0)"
            elif not (routes["site_id"] == s).any():
                why = "no entry point is within max_route_km"
            else:
                why = "the entry points that reach it are full"
            found.append(Violation("logistics", f"{stranded:,.0f} of {demand:,} troops at "
                                   f"{data.sites.at[s, 'name'] or s} cannot enter: {why}"))
        return found

    def greedy_init(self, plan) -> None:
        rate = float(plan.data.settings["transport_cost_eur_per_troop_km"]) / 1e6
        routes = plan.cands.routes
        plan.routes = defaultdict(list)  # site -> [(cost per troop, entry)] cheapest first
        for e, s, km in zip(routes["entry_id"], routes["site_id"], routes["distance_km"]):
            plan.routes[s].append((rate * km, e))
        for s in plan.routes:
            plan.routes[s].sort()
        plan.entry_left = plan.data.entry_points["throughput_troops"].astype(float).to_dict()
        plan.flows = defaultdict(float)  # (entry, site) -> troops routed

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        need = 0.0 if s in plan.cands.abroad else float(plan.troops[k])
        for _, e in plan.routes[s]:
            take = min(need, plan.entry_left[e])
            plan.entry_left[e] -= take
            plan.flows[(e, s)] += take
            need -= take
            if need <= 0:
                break

    def greedy_complete(self, plan, start) -> None:
        start.update({("f", key): v for key, v in plan.flows.items() if v > 0})


def transport_meur(plan, s: str, troops: int) -> float | None:
    """Cost of bringing `troops` to s through the cheapest entries with room; None if no room."""
    if s in plan.cands.abroad:
        return 0.0  # a base abroad: no Ukrainian entry point, no transport cost in the model
    need, cost = float(troops), 0.0
    for unit_cost, e in plan.routes[s]:
        take = min(need, plan.entry_left[e])
        cost += take * unit_cost
        need -= take
        if need <= 0:
            return cost
    return None if need > 1e-9 else cost
