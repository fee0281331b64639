"""Presence along an axis: at least `min_count` matching units within `within_km` of a named
threat line (AxisPresence sheet), so "as close to the threats as allowed" can be stated and met.

The buffers still decide where a unit may stand at all; this family asks that enough of the
allowed placements near a line are used. Hard rows; the diagnosis may relax them.
"""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.geometry import distance_to_polylines_km
from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation, linear_sum
from cowopt.optimise.politics import item_matches

_TOLERANCE_KM = 1e-9


def near_sites(data, line_id: str, within_km: float) -> set:
    """Sites within `within_km` of threat line `line_id`, from the data (not the candidates)."""
    line = data.threat_lines[data.threat_lines["line_id"] == line_id]
    if line.empty:
        return set()
    km = distance_to_polylines_km(data.sites["lat"], data.sites["lon"], line.drop(columns=["kind"]))
    return set(data.sites.index[km <= within_km + _TOLERANCE_KM])


def _matching(data, rule, pairs) -> list:
    """The (item, site) pairs of `pairs` that the rule counts."""
    sites = near_sites(data, rule["line_id"], float(rule["within_km"]))
    return [(k, s) for k, s in pairs if s in sites and item_matches(data, k, rule["item"])]


class AxisPresence(Family):
    name = "axis_presence"
    slacks = (Slack("ineq_axis_presence", "axis presence {0}", 1.0, "units"),)

    def define(self, model, data, index, build) -> None:
        rules = data.axis_presence
        if rules.empty:
            return
        terms = {r: _matching(data, rules.loc[r], list(model.KS)) for r in rules.index}

        def at_least(m, r):
            needed = int(rules.at[r, "min_count"])
            if not terms[r]:
                return pyo.Constraint.Infeasible if needed > 0 else pyo.Constraint.Skip
            return linear_sum(m.u[p] for p in terms[r]) >= needed

        model.ineq_axis_presence = pyo.Constraint(list(rules.index), rule=at_least,
                                                  doc="at least min_count units within within_km of a threat line")

    def check(self, facts: PlanFacts) -> list[Violation]:
        rules, plan = facts.data.axis_presence, facts.plan
        if rules.empty:
            return []
        counts = plan.groupby(["item", "site_id"])["count"].sum()
        found = []
        for r, rule in rules.iterrows():
            count = int(sum(counts[p] for p in _matching(facts.data, rule, list(counts.index))))
            if count < int(rule["min_count"]):
                found.append(Violation("axis_presence", f"axis presence {r}: {count} matching units within "
                                       f"{float(rule['within_km']):g} km of line {rule['line_id']}; needs at least "
                                       f"{int(rule['min_count'])}"))
        return found

    def precheck(self, data, cands, fixed) -> list[str]:
        rules = data.axis_presence
        if rules.empty:
            return []
        available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
        reasons = []
        for r, rule in rules.iterrows():
            pairs = set(_matching(data, rule, list(zip(cands.placements["item"], cands.placements["site_id"]))))
            senders = {(n, k) for n, k, s in cands.placements[["state", "item", "site_id"]].itertuples(index=False)
                       if (k, s) in pairs}
            most = sum(available[p] for p in senders)
            if most < int(rule["min_count"]):
                reasons.append(f"axis presence {r} asks for at least {int(rule['min_count'])} units within "
                               f"{float(rule['within_km']):g} km of line {rule['line_id']}; the allowed placements "
                               f"there hold at most {most} (buffers, site needs, inventory)")
        return reasons

    def greedy_seed(self, plan, place, gain) -> None:
        """Meet each minimum with the cheapest matching units, best coverage among equals."""
        rules = plan.data.axis_presence
        for r, rule in rules.iterrows():
            pairs = _matching(plan.data, rule, sorted({(k, s) for k, s, _ in plan.index.stands}))
            pairs.sort(key=lambda p: (plan.cost[p[0]], -gain(p)))
            placed = sum(plan.y.get(t, 0) for t in plan.index.stands if (t[0], t[1]) in set(pairs))
            for k, s in pairs:
                while placed < int(rule["min_count"]) and place(k, s):
                    placed += 1
