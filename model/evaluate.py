"""Scoring a plan (state, item, site, count) against the inputs, without the optimiser.

This one code path scores the optimiser's plan for `cowopt solve`'s report and a planner's
edited plan for `cowopt evaluate`, so the two can never disagree. Coverage follows the
model's definition: an (asset, capability) cell covered by n units earns
worth * (lw_1 + ... + lw_min(n, L)). Entry logistics are checked with a small min-cost
transport LP solved by HiGHS directly (independent of the Pyomo model).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .candidates import Candidates, site_exclusion, state_exclusion
from .data import InputData
from .formulation import _given, rule_matches, rule_penalty

# M EUR per soldier who cannot reach a site: large against any transport cost, so the LP
# only leaves troops stranded when the entry points truly cannot carry them.
_STRANDED_PENALTY = 1e4


@dataclass
class Violation:
    kind: str  # inventory, placement, state_cap, mission, site_capacity, budget, rule, core_lead, logistics
    message: str
    cell: str | None = None  # e.g. "Deployments!A7" when one plan row causes it

    def __str__(self) -> str:
        return f"{self.cell}: {self.message}" if self.cell else self.message


@dataclass
class PlanScore:
    deployments: pd.DataFrame
    coverage: pd.DataFrame
    sites: pd.DataFrame
    logistics: pd.DataFrame
    states: pd.DataFrame
    rules: pd.DataFrame
    capability_shares: dict
    objective: float  # weighted coverage score
    max_objective: float
    troops: int
    unit_cost_meur: float
    transport_cost_meur: float
    budget_meur: float
    rule_penalty: float
    violations: list = field(default_factory=list)

    @property
    def cost_meur(self) -> float:
        return self.unit_cost_meur + self.transport_cost_meur

    @property
    def feasible(self) -> bool:
        return not self.violations


def deployments_table(data: InputData, counts: dict) -> pd.DataFrame:
    """(state, item, site) -> count as the Deployments table (count > 0 rows only)."""
    rows = [(n, k, s, int(round(c))) for (n, k, s), c in counts.items() if round(c) > 0]
    frame = pd.DataFrame(rows, columns=["state", "item", "site_id", "count"])
    return _decorate(data, frame.sort_values(["state", "item", "site_id"]).reset_index(drop=True))


def _decorate(data: InputData, frame: pd.DataFrame) -> pd.DataFrame:
    items = data.items
    frame = frame.copy()
    known = frame["item"].isin(items.index)
    frame["kind"] = frame["item"].map(items["kind"]).where(known, "unknown")
    frame["troops"] = (frame["item"].map(items["troops"]).fillna(0) * frame["count"]).astype(int)
    frame["cost_meur"] = frame["item"].map(items["cost_meur"]).fillna(0.0) * frame["count"]
    columns = ["state", "item", "kind", "site_id", "count", "troops", "cost_meur"]
    return frame[columns + [c for c in frame.columns if c not in columns]]


def score(data: InputData, candidates: Candidates, plan: pd.DataFrame, flows: pd.DataFrame | None = None) -> PlanScore:
    """Score `plan` (columns state, item, site_id, count; optional `_cell` naming its row)."""
    plan = plan.copy()
    if "cell_ref" not in plan:
        plan["cell_ref"] = None
    plan = _decorate(data, plan)
    violations: list[Violation] = []
    valid = _check_rows(data, candidates, plan, violations)
    counts = valid[valid["_allowed"]].groupby(["state", "item", "site_id"])["count"].sum()
    _check_inventory(data, valid, violations)
    states = _states_table(data, valid, violations)
    troops = int(valid["troops"].sum())
    _check_mission(data, troops, violations)
    sites = _sites_table(data, candidates, valid, violations)
    coverage, shares, objective, max_objective = _coverage(data, candidates, counts)
    logistics, transport = _logistics(data, candidates, sites, violations) if flows is None else _given_flows(data, candidates, flows)
    rules, penalty = _rules_table(data, valid.groupby(["state", "item", "site_id"])["count"].sum(), violations)
    unit_cost = float(valid["cost_meur"].sum())
    budget = float(data.settings["budget_meur"])
    if unit_cost + transport > budget + 1e-6:
        violations.append(Violation("budget", f"plan costs {unit_cost + transport:,.1f} M EUR "
                                    f"({unit_cost:,.1f} units + {transport:,.1f} transport); budget is {budget:,.1f}"))
    _check_core_lead(data, valid, violations)
    return PlanScore(plan.drop(columns=["cell_ref"]), coverage, sites, logistics, states, rules, shares,
                     objective, max_objective, troops, unit_cost, transport, budget, penalty, violations)


def _check_rows(data, candidates, plan: pd.DataFrame, violations) -> pd.DataFrame:
    """Rows naming unknown things are dropped; forbidden placements are kept (they still use
    troops, inventory and money) but marked `_allowed`=False and earn no coverage."""
    known, allowed = [], []
    for row in plan.itertuples(index=False):
        unknown = (f"state '{row.state}' is not in the States sheet" if row.state not in data.states.index else
                   f"item '{row.item}' is neither a unit_type nor an ad_type" if row.item not in data.items.index else
                   f"site '{row.site_id}' is not in the Sites sheet" if row.site_id not in data.sites.index else None)
        reason = None
        if unknown is None:
            reason = state_exclusion(data, row.state, row.item) or site_exclusion(
                data, row.item, row.site_id, candidates.site_front_km[row.site_id], row.site_id in candidates.reachable_sites)
        if unknown or reason:
            violations.append(Violation("placement", unknown or f"{row.count} {row.item} of {row.state} at {row.site_id}: {reason}", row.cell_ref))
        known.append(unknown is None)
        allowed.append(unknown is None and reason is None)
    plan = plan.assign(_allowed=np.asarray(allowed, dtype=bool))
    return plan[np.asarray(known, dtype=bool)].reset_index(drop=True)


def _check_inventory(data, plan: pd.DataFrame, violations) -> None:
    available = data.inventory.set_index(["state", "item"])["available"]
    for (n, k), group in plan.groupby(["state", "item"], sort=True):
        have = int(available.get((n, k), 0))
        used = int(group["count"].sum())
        if used > have:
            violations.append(Violation("inventory", f"{n} has {have} {k} but {used} are deployed", group["cell_ref"].iloc[0]))


def _states_table(data, plan: pd.DataFrame, violations) -> pd.DataFrame:
    by_state = plan.groupby("state").agg(units=("count", "sum"), troops=("troops", "sum"), cost_meur=("cost_meur", "sum"))
    table = data.states[["state", "core", "eligible", "max_troops", "combat_allowed"]].copy()
    table = table.join(by_state, how="left").fillna({"units": 0, "troops": 0, "cost_meur": 0.0})
    table[["units", "troops"]] = table[["units", "troops"]].astype(int)
    table["note"] = np.where(table["eligible"] == 0, "not eligible: contributes nothing", "")
    for n, r in table.iterrows():
        if r["troops"] > r["max_troops"]:
            cell = plan.loc[plan["state"] == n, "cell_ref"].iloc[0]
            violations.append(Violation("state_cap", f"{n} sends {r['troops']:,} troops; its cap is {r['max_troops']:,}", cell))
    return table.reset_index(drop=True)


def _check_mission(data, troops: int, violations) -> None:
    lo, hi = int(data.settings["mission_troops_min"] or 0), int(data.settings["mission_troops_max"])
    if troops > hi:
        violations.append(Violation("mission", f"mission has {troops:,} troops; mission_troops_max is {hi:,}"))
    if troops < lo:
        violations.append(Violation("mission", f"mission has {troops:,} troops; mission_troops_min is {lo:,}"))


def _sites_table(data, candidates, plan: pd.DataFrame, violations) -> pd.DataFrame:
    by_site = plan.groupby("site_id").agg(units=("count", "sum"), troops=("troops", "sum"))
    hosted = plan.groupby("site_id")["item"].apply(lambda items: ", ".join(sorted(set(items))))
    table = data.sites[["site_id", "name", "region", "lat", "lon", "capacity_troops", "deployable"]].copy()
    table["frontline_km"] = candidates.site_front_km.round(1)
    table = table.join(by_site, how="left").fillna({"units": 0, "troops": 0})
    table[["units", "troops"]] = table[["units", "troops"]].astype(int)
    table["items"] = [v if isinstance(v, str) else "" for v in hosted.reindex(table.index)]
    table["reachable"] = table.index.isin(candidates.reachable_sites).astype(int)
    for s, r in table.iterrows():
        if r["troops"] > r["capacity_troops"]:
            cell = plan.loc[plan["site_id"] == s, "cell_ref"].iloc[0]
            violations.append(Violation("site_capacity", f"site {r['name'] or s} hosts {r['troops']:,} troops; "
                                        f"its capacity is {r['capacity_troops']:,}", cell))
    return table.reset_index(drop=True)


def _coverage(data, candidates: Candidates, counts: pd.Series):
    """Per (asset, capability): how many units cover it and what that earns."""
    level_weights = np.asarray(data.level_weights)
    cumulative = np.concatenate([[0.0], np.cumsum(level_weights)])
    units_at = defaultdict(int)
    for (n, k, s), c in counts.items():
        units_at[(k, s)] += int(c)
    rows = []
    names, categories = data.assets["name"].to_dict(), data.assets["category"].to_dict()
    values = data.assets["value"].astype(float).to_dict()
    for (a, cap), worth in sorted(candidates.worth.items()):
        options = candidates.cover_options.get((a, cap), ())
        n_cover = sum(units_at.get(pair, 0) for pair in options)
        rows.append((a, names[a], categories[a], cap, values[a], worth / values[a],
                     n_cover, worth * cumulative[min(n_cover, len(level_weights))], worth * cumulative[-1], worth,
                     worth if n_cover > 0 else 0.0))
    coverage = pd.DataFrame(rows, columns=["asset_id", "name", "category", "capability", "value", "weight",
                                           "cover_count", "contribution", "max_contribution", "_worth", "_covered"])
    shares = {}
    for cap, group in coverage.groupby("capability"):
        total = group["_worth"].sum()
        shares[cap] = float(group["_covered"].sum() / total) if total > 0 else 0.0
    objective = float(coverage["contribution"].sum())
    max_objective = float(coverage["max_contribution"].sum())
    return coverage.drop(columns=["_worth", "_covered"]), shares, objective, max_objective


def _logistics(data, candidates: Candidates, sites: pd.DataFrame, violations):
    """Cheapest entry flows that bring every soldier to his site; stranded troops are violations."""
    import highspy

    demand = sites.set_index("site_id")["troops"]
    demand = demand[demand > 0]
    routes = candidates.routes[candidates.routes["site_id"].isin(demand.index)].reset_index(drop=True)
    empty = pd.DataFrame(columns=["entry_id", "site_id", "troops", "distance_km", "cost_meur"])
    if demand.empty:
        return empty, 0.0
    rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    sites_list, entries = list(demand.index), list(data.entry_points.index)
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
    for e in entries:
        cols = np.flatnonzero(routes["entry_id"].to_numpy() == e)
        if len(cols):
            h.addRow(-highspy.kHighsInf, float(throughput[e]), len(cols), cols.astype(np.int32), np.ones(len(cols)))
    h.run()
    solution = np.asarray(h.getSolution().col_value)
    flows = routes.assign(troops=solution[:n_routes])
    for s in sites_list:
        stranded = solution[n_routes + site_pos[s]]
        if stranded > 0.5:
            name = data.sites.at[s, "name"] or s
            if not data.sites.at[s, "deployable"]:
                why = "the site is entry/transit only (deployable=0)"
            elif not (routes["site_id"] == s).any():
                why = "no entry point is within max_route_km"
            else:
                why = "the entry points that reach it are full"
            violations.append(Violation("logistics", f"{stranded:,.0f} of {int(demand[s]):,} troops at {name} cannot enter: {why}"))
    return _flow_table(flows, rate)


def _given_flows(data, candidates, flows: pd.DataFrame):
    rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    routes = candidates.routes.set_index(["entry_id", "site_id"])["distance_km"]
    flows = flows.copy()
    flows["distance_km"] = [routes[(e, s)] for e, s in zip(flows["entry_id"], flows["site_id"])]
    return _flow_table(flows, rate)


def _flow_table(flows: pd.DataFrame, rate: float):
    flows = flows[flows["troops"] > 0.5].copy()
    flows["troops"] = flows["troops"].round().astype(int)
    flows["cost_meur"] = rate * flows["distance_km"] * flows["troops"]
    table = flows[["entry_id", "site_id", "troops", "distance_km", "cost_meur"]].sort_values(["entry_id", "site_id"])
    return table.reset_index(drop=True), float(table["cost_meur"].sum())


def _rules_table(data, counts: pd.Series, violations):
    placements = list(counts.index)
    rows, penalty = [], 0.0
    for r, rule in data.rules.iterrows():
        matched = rule_matches(data, rule, placements)
        count = int(sum(counts[p] for p in matched))
        lo, hi = rule["min_count"], rule["max_count"]
        short = max(0, int(lo) - count) if _given(lo) else 0
        excess = max(0, count - int(hi)) if _given(hi) else 0
        met = short == 0 and excess == 0
        if not met and rule["hard"]:
            violations.append(Violation("rule", f"hard rule {r} counts {count} matching units; "
                                        + (f"needs at least {int(lo)}" if short else f"allows at most {int(hi)}")))
        rule_pen = 0.0 if rule["hard"] else rule_penalty(data, r) * (short + excess)
        penalty += rule_pen
        rows.append((r, "hard" if rule["hard"] else "soft", _opt(lo), _opt(hi), count, "met" if met else "UNMET",
                     short, excess, rule_pen))
    table = pd.DataFrame(rows, columns=["rule_id", "type", "min_count", "max_count", "count", "status",
                                        "shortfall", "excess", "penalty"])
    return table, penalty


def _opt(value):
    return int(value) if _given(value) else None


def _check_core_lead(data, plan: pd.DataFrame, violations) -> None:
    if not data.settings["require_core_lead"] or plan.empty:
        return
    core = set(data.states.index[data.states["core"] == 1])
    for s, group in plan.groupby("site_id"):
        if not group["state"].isin(core).any():
            violations.append(Violation("core_lead", f"site {data.sites.at[s, 'name'] or s} has no unit of a core "
                                        f"state ({', '.join(sorted(core))}); require_core_lead=1", group["cell_ref"].iloc[0]))
