"""Inventory: what each state sends, `w[n,k]`, within what it holds (the bounds of `w`)."""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Violation


class Contributions(Family):
    name = "inventory"

    def define(self, model, data, index, build) -> None:
        model.N = pyo.Set(initialize=index.sends, dimen=2, ordered=True, doc="(state, item) a state may send")
        model.w = pyo.Var(model.N, domain=pyo.NonNegativeIntegers,
                          bounds=lambda m, n, k: (0, index.available[(n, k)]),
                          doc="units of item k that state n sends (bounded by inventory)")
        cost = data.items["cost_meur"].to_dict()
        model.unit_cost_meur = pyo.Expression(expr=sum(cost[k] * model.w[n, k] for n, k in index.sends),
                                              doc="cost of all units, M EUR")

    def check(self, facts: PlanFacts) -> list[Violation]:
        available = facts.data.inventory.set_index(["state", "item"])["available"]
        found = []
        for (n, k), group in facts.plan.groupby(["state", "item"], sort=True):
            have = int(available.get((n, k), 0))
            used = int(group["count"].sum())
            if used > have:
                found.append(Violation("inventory", f"{n} has {have} {k} but {used} are deployed",
                                       group["cell_ref"].iloc[0]))
        return found

    def greedy_init(self, plan) -> None:
        plan.left = dict(plan.index.available)  # (n, k) -> units not yet sent

    def greedy_sender_ok(self, plan, n, k, s) -> bool:
        return plan.left[(n, k)] > 0

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        plan.left[(n, k)] -= 1
        plan.w[(n, k)] += 1

    def greedy_complete(self, plan, start) -> None:
        start.update({("w", key): v for key, v in plan.w.items()})
