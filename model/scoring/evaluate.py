"""Scoring a plan (state, item, site, count) against the inputs, without the optimiser.

This one code path scores the optimiser's plan for `cowopt solve`'s report and a planner's
edited plan for `cowopt evaluate`, so the two can never disagree. Coverage follows the
model's definition: an (asset, capability) cell covered by n units earns
worth * (lw_1 + ... + lw_min(n, L)). Entry logistics are recomputed with a small min-cost
transport LP solved by HiGHS directly (independent of the Pyomo model).

The scorer recomputes the plan's facts from the data (PlanFacts); every registered constraint
family (model/families/) then checks them. None of this evaluates a Pyomo expression: the
scorer is the independent check of the solver's plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cowopt.optimise.candidates import Candidates
from cowopt.workbook.data import InputData
from cowopt.workbook.files import gc_paused
from cowopt.optimise import families
from cowopt.optimise.families import PlanFacts, Violation
from cowopt.optimise.families.logistics import cheapest_flows
from cowopt.optimise.families.placements import classify_rows
from cowopt.optimise.families.base import given
from cowopt.optimise.families.rules import rule_penalty, rule_tally

__all__ = ["PlanScore", "Violation", "deployments_table", "score"]


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
    with gc_paused():  # a row per (asset, capability), no cycles (files.gc_paused)
        return _score(data, candidates, plan, flows)


def _score(data: InputData, candidates: Candidates, plan: pd.DataFrame, flows: pd.DataFrame | None) -> PlanScore:
    plan = plan.copy()
    if "cell_ref" not in plan:
        plan["cell_ref"] = None
    plan = _decorate(data, plan)
    rows = classify_rows(data, candidates, plan)
    # forbidden rows stay in `valid` (they still use troops, inventory and money) but earn no coverage
    valid = rows[rows["_known"].to_numpy(dtype=bool)].reset_index(drop=True)
    counts = valid[valid["_allowed"]].groupby(["state", "item", "site_id"])["count"].sum()
    states = _states_table(data, valid)
    troops = int(valid["troops"].sum())
    sites = _sites_table(data, candidates, valid)
    coverage, shares, objective, max_objective = _coverage(data, candidates, counts)
    if flows is None:
        logistics, transport, stranded = _logistics(data, candidates, sites)
    else:
        (logistics, transport), stranded = _given_flows(data, candidates, flows), {}
    rules, penalty = _rules_table(data, valid.groupby(["state", "item", "site_id"])["count"].sum())
    unit_cost = float(valid["cost_meur"].sum())
    facts = PlanFacts(data, candidates, rows, valid, unit_cost, transport, stranded)
    violations = [v for family in families.FAMILIES for v in family.check(facts)]
    return PlanScore(plan.drop(columns=["cell_ref"]), coverage, sites, logistics, states, rules, shares,
                     objective, max_objective, troops, unit_cost, transport, data.budget_total_meur,
                     penalty, violations)


def _states_table(data, plan: pd.DataFrame) -> pd.DataFrame:
    by_state = plan.groupby("state").agg(units=("count", "sum"), troops=("troops", "sum"), cost_meur=("cost_meur", "sum"))
    table = data.states[["state", "core", "eligible", "max_troops", "combat_allowed"]].copy()
    table = table.join(by_state, how="left").fillna({"units": 0, "troops": 0, "cost_meur": 0.0})
    table[["units", "troops"]] = table[["units", "troops"]].astype(int)
    # money given instead of (or besides) troops: Funding adds to the budget (issue 15)
    money = data.funding.groupby("state")["meur"].sum() if len(data.funding) else pd.Series(dtype=float)
    table["funding_meur"] = money.reindex(table.index).fillna(0.0).astype(float)
    table["note"] = np.where(table["eligible"] == 0, np.where(table["funding_meur"] > 0, "not eligible: gives money only",
                                                             "not eligible: contributes nothing"), "")
    return table.reset_index(drop=True)


def _sites_table(data, candidates, plan: pd.DataFrame) -> pd.DataFrame:
    by_site = plan.groupby("site_id").agg(units=("count", "sum"), troops=("troops", "sum"))
    hosted = plan.groupby("site_id")["item"].apply(lambda items: ", ".join(sorted(set(items))))
    table = data.sites[["site_id", "name", "region", "lat", "lon", "capacity_troops", "deployable"]].copy()
    table["frontline_km"] = candidates.site_front_km.round(1)
    table = table.join(by_site, how="left").fillna({"units": 0, "troops": 0})
    table[["units", "troops"]] = table[["units", "troops"]].astype(int)
    table["items"] = [v if isinstance(v, str) else "" for v in hosted.reindex(table.index)]
    table["reachable"] = table.index.isin(candidates.reachable_sites).astype(int)
    return table.reset_index(drop=True)


def _coverage(data, candidates: Candidates, counts: pd.Series):
    """Per (asset, capability): how many units cover it and what that earns."""
    level_weights = np.asarray(data.level_weights)
    cumulative = np.concatenate([[0.0], np.cumsum(level_weights)])
    units_at = defaultdict(int)
    for (n, k, s), c in counts.items():
        units_at[(k, s)] += int(c)
    rows = []
    # dicts from whole columns: Series.to_dict boxes text elements one by one (~10 ms at 3,000 assets)
    ids = data.assets.index.tolist()
    names, categories = dict(zip(ids, data.assets["name"].tolist())), dict(zip(ids, data.assets["category"].tolist()))
    values = dict(zip(ids, data.assets["value"].astype(float).tolist()))
    effect = candidates.effect or {}
    for (a, cap), worth in sorted(candidates.worth.items()):
        options = candidates.cover_options.get((a, cap), ())
        n_cover = sum(units_at.get(pair, 0) for pair in options)
        if effect and any((k, cap) in effect for k, _ in options):
            # weighted layers: a unit of effect e fills e of a layer; a part layer earns its part
            n_cover = round(sum(effect.get((k, cap), 1.0) * units_at.get((k, s), 0) for k, s in options), 9)
            earned = float(np.interp(n_cover, np.arange(len(cumulative)), cumulative))
        else:
            earned = cumulative[min(n_cover, len(level_weights))]
        rows.append((a, names[a], categories[a], cap, values[a], worth / values[a],
                     n_cover, worth * earned, worth * cumulative[-1], worth,
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


def _logistics(data, candidates: Candidates, sites: pd.DataFrame):
    """Cheapest entry flows that bring every soldier to his site, their cost, and the troops
    that cannot enter (the logistics family's check reports those)."""
    demand = sites.set_index("site_id")["troops"]
    demand = demand[demand > 0]
    if demand.empty:
        return pd.DataFrame(columns=["entry_id", "site_id", "troops", "distance_km", "cost_meur"]), 0.0, {}
    flows, stranded = cheapest_flows(data, candidates, demand)
    rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    return *_flow_table(flows, rate), stranded


def _given_flows(data, candidates, flows: pd.DataFrame):
    rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
    routes = candidates.routes  # one dict, not a MultiIndex lookup per flow
    km = dict(zip(zip(routes["entry_id"].tolist(), routes["site_id"].tolist()), routes["distance_km"].tolist()))
    flows = flows.copy()
    flows["distance_km"] = [km[(e, s)] for e, s in zip(flows["entry_id"].tolist(), flows["site_id"].tolist())]
    return _flow_table(flows, rate)


def _flow_table(flows: pd.DataFrame, rate: float):
    flows = flows[flows["troops"] > 0.5].copy()
    flows["troops"] = flows["troops"].round().astype(int)
    flows["cost_meur"] = rate * flows["distance_km"] * flows["troops"]
    table = flows[["entry_id", "site_id", "troops", "distance_km", "cost_meur"]].sort_values(["entry_id", "site_id"])
    return table.reset_index(drop=True), float(table["cost_meur"].sum())


def _rules_table(data, counts: pd.Series):
    rows, penalty = [], 0.0
    for r, rule in data.rules.iterrows():
        count, short, excess = rule_tally(data, rule, counts)
        met = short == 0 and excess == 0
        rule_pen = 0.0 if rule["hard"] else rule_penalty(data, r) * (short + excess)
        penalty += rule_pen
        rows.append((r, "hard" if rule["hard"] else "soft", _opt(rule["min_count"]), _opt(rule["max_count"]), count,
                     "met" if met else "UNMET", short, excess, rule_pen))
    table = pd.DataFrame(rows, columns=["rule_id", "type", "min_count", "max_count", "count", "status",
                                        "shortfall", "excess", "penalty"])
    return table, penalty


def _opt(value):
    return int(value) if given(value) else None
