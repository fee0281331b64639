"""Burden share: a state's share of what the mission costs between its `min_share` and
`max_share` (States). A state's contribution is the cost of the units it sends plus the money it
gives (Funding); the total is every state's contribution (transport is left out: the flows are not
split by state). Both bounds are linear: contribution_n - share * total >= 0 (or <= 0).
"""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation, given

_TOLERANCE_MEUR = 1e-6


def _bounds(data) -> dict:
    """state -> (min_share or None, max_share or None), for states with at least one bound."""
    states = data.states
    if "min_share" not in states:
        return {}
    found = {}
    for n in states.index:
        lo, hi = states.at[n, "min_share"], states.at[n, "max_share"]
        lo, hi = (float(lo) if given(lo) else None), (float(hi) if given(hi) else None)
        if lo is not None or hi is not None:
            found[n] = (lo, hi)
    return found


def _funding(data) -> dict:
    return data.funding.groupby("state")["meur"].sum().to_dict() if len(data.funding) else {}


class BurdenShare(Family):
    name = "burden_share"
    slacks = (
        Slack("ineq_share_min", "min_share of {0}", 0.01, "M EUR"),
        Slack("ineq_share_max", "max_share of {0}", 0.01, "M EUR"),
    )

    def define(self, model, data, index, build) -> None:
        bounds = _bounds(data)
        if not bounds:
            return
        cost, money = data.items["cost_meur"].to_dict(), _funding(data)
        total_money = sum(money.values())

        def contribution(m, n):
            return sum(cost[k] * m.w[n, k] for _, k in index.by_state.get(n, [])) + money.get(n, 0.0)

        total = model.unit_cost_meur + total_money
        model.ineq_share_min = pyo.Constraint(
            [n for n, (lo, _) in bounds.items() if lo is not None],
            rule=lambda m, n: contribution(m, n) - bounds[n][0] * total >= 0, doc="state's least share of the cost")
        model.ineq_share_max = pyo.Constraint(
            [n for n, (_, hi) in bounds.items() if hi is not None],
            rule=lambda m, n: contribution(m, n) - bounds[n][1] * total <= 0, doc="state's largest share of the cost")

    def check(self, facts: PlanFacts) -> list[Violation]:
        bounds = _bounds(facts.data)
        if not bounds:
            return []
        money = _funding(facts.data)
        cost = facts.plan.groupby("state")["cost_meur"].sum().to_dict()
        total = sum(cost.values()) + sum(money.values())
        found = []
        for n, (lo, hi) in bounds.items():
            mine = cost.get(n, 0.0) + money.get(n, 0.0)
            share = mine / total if total > 0 else 0.0
            if lo is not None and mine < lo * total - _TOLERANCE_MEUR:
                found.append(Violation("burden_share", f"{n} carries {share:.1%} of the cost ({mine:,.1f} of "
                                       f"{total:,.1f} M EUR); min_share is {lo:.1%}"))
            if hi is not None and mine > hi * total + _TOLERANCE_MEUR:
                found.append(Violation("burden_share", f"{n} carries {share:.1%} of the cost ({mine:,.1f} of "
                                       f"{total:,.1f} M EUR); max_share is {hi:.1%}"))
        return found
