"""The accepted-risk list: what a plan leaves undefended, and the cheapest fix for each.

Every (asset, capability) cell with worth whose cover count is below the number of coverage
levels (uncovered, or covered by one layer only when there are two levels) is a risk the plan
accepts. Ranked by the points it leaves on the table (value x weight x the level weights not
earned). For each: the cheapest single unit that would add a layer — an allowed placement
(state, item, site) whose state still has that item in inventory (available − used) and whose
item at that site covers the cell — with a note when adding it would break the budget, a
troop cap, a site's capacity, the core-lead rule or a hard rule's maximum. A note, not a
solve: the addition is checked against the plan as it stands, nothing is re-optimised.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from cowopt.optimise.families.rules import rule_matches

COLUMNS = ["rank", "asset_id", "name", "category", "capability", "value", "cover_count", "layers_missing",
           "points_at_risk", "gain_of_one_more", "add_state", "add_item", "add_site_id", "add_site_name",
           "add_cost_meur", "note"]
NOTE = ("What this plan does not defend: cells uncovered or short of a layer, ranked by points at risk, each with "
        "the cheapest single unit that would add a layer (checked against the plan as it stands; not re-optimised).")


def accepted_risk(result) -> pd.DataFrame:
    """The table for a PlanResult with a plan (an empty table otherwise), ranked by points at risk."""
    score = result.score
    if score is None:
        return pd.DataFrame(columns=COLUMNS)
    data = result.data
    levels = list(data.level_weights)
    cover = score.coverage
    at_risk = cover[cover["cover_count"] < len(levels)]
    if at_risk.empty:
        return pd.DataFrame(columns=COLUMNS)
    context = _PlanContext(result)
    rows = []
    for r in at_risk.itertuples(index=False):
        worth = float(r.value) * float(r.weight)
        n = int(r.cover_count)
        gain = worth * levels[n]
        best = context.cheapest(r.asset_id, r.capability)
        row = {"asset_id": r.asset_id, "name": r.name, "category": r.category, "capability": r.capability,
               "value": float(r.value), "cover_count": n, "layers_missing": len(levels) - n,
               "points_at_risk": float(r.max_contribution - r.contribution), "gain_of_one_more": gain}
        if best is None:
            row.update(add_state="", add_item="", add_site_id="", add_site_name="", add_cost_meur=None,
                       note=context.why_none(r.asset_id, r.capability))
        else:
            cost, n_state, item, site = best
            row.update(add_state=n_state, add_item=item, add_site_id=site,
                       add_site_name=context.site_names[site] or site, add_cost_meur=cost,
                       note=context.breaks(n_state, item, site, cost))
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.sort_values(["points_at_risk", "value", "asset_id", "capability"],
                              ascending=[False, False, True, True], kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    for column in ("points_at_risk", "gain_of_one_more", "add_cost_meur"):
        table[column] = table[column].astype(float).round(3)
    return table[COLUMNS]


class _PlanContext:
    """The plan's totals that a single addition is checked against."""

    def __init__(self, result):
        data, cands, score = result.data, result.candidates, result.score
        self.data, self.cands, self.score = data, cands, score
        plan = score.deployments
        self.used = plan.groupby(["state", "item"])["count"].sum().to_dict()
        self.state_troops = plan.groupby("state")["troops"].sum().to_dict()
        self.site_troops = plan.groupby("site_id")["troops"].sum().to_dict()
        self.site_states = plan.groupby("site_id")["state"].agg(set).to_dict()
        self.counts = plan.groupby(["state", "item", "site_id"])["count"].sum()
        rate = float(data.settings["transport_cost_eur_per_troop_km"]) / 1e6
        nearest = cands.routes.groupby("site_id")["distance_km"].min().to_dict()
        self.transport_per_troop = {s: rate * km for s, km in nearest.items()}
        # (item, site) -> states with that item left in inventory
        self.senders = defaultdict(list)
        for n, k, s, available in cands.placements[["state", "item", "site_id", "available"]].itertuples(index=False):
            if available - self.used.get((n, k), 0) > 0:
                self.senders[(k, s)].append(n)
        self.core = set(data.states.index[data.states["core"] == 1])
        # hard rules with a maximum, and how many units the plan already counts for each: worked out
        # once (per addition this was 26 s of 29 on 200 sites x 3,000 assets)
        placed = list(self.counts.index)
        self.capped_rules = []
        for rule_id, rule in data.rules.iterrows():
            if not rule["hard"] or rule["max_count"] is None or rule["max_count"] != rule["max_count"]:
                continue
            count = int(sum(self.counts.get(p, 0) for p in rule_matches(data, rule, placed)))
            self.capped_rules.append((rule_id, rule, count, int(rule["max_count"])))
        self._breaks: dict = {}
        self.item_troops = data.items["troops"].astype(float).to_dict()
        self.item_cost = data.items["cost_meur"].astype(float).to_dict()
        self.capabilities = data.items["capabilities"].to_dict()
        self.regions = data.sites["region"].to_dict()
        self.site_names = data.sites["name"].to_dict()
        self._cheapest: dict = {}  # covering options -> cheapest addition: cells share them (issue 17)

    def unit_cost(self, item: str, site: str) -> float:
        """The unit's price and its troops' transport from the nearest entry point."""
        return self.item_cost[item] + self.item_troops[item] * self.transport_per_troop.get(site, 0.0)

    def cheapest(self, asset: str, capability: str):
        """(cost, state, item, site) of the cheapest addition covering the cell, or None.
        Among equal prices, one that breaks nothing wins, then the first by name."""
        options = self.cands.cover_options.get((asset, capability), ())
        if options not in self._cheapest:
            self._cheapest[options] = self._cheapest_of(options)
        return self._cheapest[options]

    def _cheapest_of(self, options: tuple):
        offers = []
        for item, site in options:
            cost = self.unit_cost(item, site)
            offers.extend((round(cost, 9), n, item, site, cost) for n in self.senders.get((item, site), ()))
        if not offers:
            return None
        least = min(o[0] for o in offers)
        tied = sorted(o for o in offers if o[0] == least)
        clean = [o for o in tied if not self.breaks(o[1], o[2], o[3], o[4])]
        _, n, item, site, cost = (clean or tied)[0]
        return cost, n, item, site

    def why_none(self, asset: str, capability: str) -> str:
        if not self.cands.cover_options.get((asset, capability)):
            return f"no allowed placement of any item with {capability} reaches this asset"
        return f"every item that could cover it ({capability}) is already deployed in full"

    def breaks(self, state: str, item: str, site: str, cost: float) -> str:
        """What adding one `item` of `state` at `site` to the plan would break ('' if nothing)."""
        key = (state, item, site, round(cost, 9))
        if key not in self._breaks:
            self._breaks[key] = self._what_breaks(state, item, site, cost)
        return self._breaks[key]

    def _counts_for(self, rule, state: str, item: str, site: str) -> bool:
        """Whether a Rules row counts (state, item, site): blank fields match anything (as rule_matches)."""
        return ((not rule["state"] or rule["state"] == state) and (not rule["item"] or rule["item"] == item)
                and (not rule["capability"] or rule["capability"] in self.capabilities[item])
                and (not rule["site_id"] or rule["site_id"] == site)
                and (not rule["region"] or rule["region"] == self.regions[site]))

    def _what_breaks(self, state: str, item: str, site: str, cost: float) -> str:
        data, score = self.data, self.score
        troops = int(data.items.at[item, "troops"])
        problems = []
        budget = data.budget_total_meur
        if score.cost_meur + cost > budget + 1e-6:
            problems.append(f"budget: {score.cost_meur + cost:,.1f} of {budget:,.0f} M EUR")
        cap = int(data.states.at[state, "max_troops"])
        if self.state_troops.get(state, 0) + troops > cap:
            problems.append(f"{state}'s cap: {self.state_troops.get(state, 0) + troops:,} of {cap:,} troops")
        mission = int(data.settings["mission_troops_max"])
        if score.troops + troops > mission:
            problems.append(f"mission_troops_max: {score.troops + troops:,} of {mission:,}")
        capacity = int(data.sites.at[site, "capacity_troops"])
        if self.site_troops.get(site, 0) + troops > capacity:
            problems.append(f"site capacity: {self.site_troops.get(site, 0) + troops:,} of {capacity:,}")
        if (data.settings["require_core_lead"] and state not in self.core
                and not (self.site_states.get(site, set()) & self.core)):
            problems.append("core lead: the site would host no core state's unit")
        for rule_id, rule, count, most in self.capped_rules:
            if count + 1 > most and self._counts_for(rule, state, item, site):
                problems.append(f"hard rule {rule_id}: {count + 1} of at most {most}")
        return ("would break " + "; ".join(problems)) if problems else ""
