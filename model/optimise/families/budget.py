"""Budget: units plus transport within `budget_meur` plus the states' Funding (a mutable Param:
sweeps change it in place). Money given is money to spend: a Funding row of m M EUR is the
same as a budget m higher."""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation


class Budget(Family):
    name = "budget"
    slacks = (Slack("ineq_budget", "budget_meur", 0.01, "M EUR"),)

    def define(self, model, data, index, build) -> None:
        model.budget_meur = pyo.Param(initialize=data.budget_total_meur, mutable=True,
                                      doc="budget, mutable so a sweep re-solves without rebuilding")
        model.total_cost_meur = pyo.Expression(expr=model.unit_cost_meur + model.transport_cost_meur)
        model.ineq_budget = pyo.Constraint(expr=model.total_cost_meur <= model.budget_meur, doc="budget")

    def check(self, facts: PlanFacts) -> list[Violation]:
        units, transport = facts.unit_cost_meur, facts.transport_cost_meur
        budget = facts.data.budget_total_meur
        if units + transport <= budget + 1e-6:
            return []
        return [Violation("budget", f"plan costs {units + transport:,.1f} M EUR "
                          f"({units:,.1f} units + {transport:,.1f} transport); budget is {budget:,.1f}")]

    def precheck(self, data, cands, fixed) -> list[str]:
        if not fixed:
            return []
        cost = sum(data.items.at[k, "cost_meur"] * c for (n, k, s), c in fixed.items())
        if cost > data.budget_total_meur:
            return [f"the kept deployments cost {cost:,.1f} M EUR; budget_meur is {data.settings['budget_meur']:,.1f}"]
        return []

    def greedy_init(self, plan) -> None:
        plan.budget = plan.data.budget_total_meur
        plan.spent = 0.0

    def greedy_step_ok(self, plan, k, s, moving_meur) -> bool:
        return plan.spent + plan.cost[k] + moving_meur <= plan.budget + 1e-9

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        plan.spent += plan.cost[k] + moving_meur
