"""Site capacity and site use: troops at a site within its capacity; `o[s]` says it is used."""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Violation


class SiteUse(Family):
    name = "site_capacity"

    def define(self, model, data, index, build) -> None:
        capacity = data.sites["capacity_troops"].to_dict()
        troops = data.items["troops"].to_dict()
        model.S = pyo.Set(initialize=list(index.by_site), doc="sites with an allowed placement")
        model.o = pyo.Var(model.S, domain=pyo.Binary, doc="site s is used")
        model.ineq_site_capacity = pyo.Constraint(
            model.S, rule=lambda m, s: m.troops_at_site[s] <= capacity[s] * m.o[s],
            doc="troops at a site within its capacity; a site with troops is used")

        # u[k,s] <= U[k,s] o[s], U = the most units of k the site could ever hold (supply, and
        # capacity / troops). Implied by capacity for integer plans, but it tightens the LP where
        # o[s] would otherwise be as small as troops/capacity: on the example it cut the nodes to
        # prove optimality 13 -> 5 (budget 8,000) and 1,628 -> 576 (budget 5,000). It also makes a
        # site with crewless units count as used.
        def most_units(k, s):
            supply = sum(model.y[t].ub for t in index.by_item_site[(k, s)])
            return min(supply, capacity[s] // troops[k]) if troops[k] > 0 else supply

        model.ineq_site_link = pyo.Constraint(
            model.KS, rule=lambda m, k, s: m.u[k, s] <= most_units(k, s) * m.o[s],
            doc="units stand only at used sites")

    def check(self, facts: PlanFacts) -> list[Violation]:
        sites, plan = facts.data.sites, facts.plan
        troops_at = plan.groupby("site_id")["troops"].sum()
        found = []
        for s in sites.index:
            troops, capacity = int(troops_at.get(s, 0)), int(sites.at[s, "capacity_troops"])
            if troops > capacity:
                cell = plan.loc[plan["site_id"] == s, "cell_ref"].iloc[0]
                found.append(Violation("site_capacity", f"site {sites.at[s, 'name'] or s} hosts {troops:,} troops; "
                                       f"its capacity is {capacity:,}", cell))
        return found

    def greedy_init(self, plan) -> None:
        plan.site_cap = plan.data.sites["capacity_troops"].to_dict()

    def greedy_step_ok(self, plan, k, s, moving_meur) -> bool:
        return plan.site_troops[s] + plan.troops[k] <= plan.site_cap[s]

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        plan.site_troops[s] += plan.troops[k]

    def greedy_complete(self, plan, start) -> None:
        start.update({("o", s): 1 for s, v in plan.units_at_site.items() if v > 0})
