"""Core lead: with require_core_lead, every used site hosts a unit of a core state."""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation


def core_states(data) -> set:
    return set(data.states.index[data.states["core"] == 1])


class CoreLead(Family):
    name = "core_lead"
    slacks = (Slack("ineq_core_lead", "core-state lead at site {0}", 1.0, "units"),)

    def define(self, model, data, index, build) -> None:
        if not data.settings["require_core_lead"]:
            return
        core = core_states(data)
        core_groups = {g for g, states in index.members.items() if all(n in core for n in states)}
        model.ineq_core_lead = pyo.Constraint(
            model.S, rule=lambda m, s: sum(m.y[t] for t in index.by_site[s] if t[2] in core_groups) >= m.o[s],
            doc="every used site hosts a unit of a core state")

    def check(self, facts: PlanFacts) -> list[Violation]:
        data, plan = facts.data, facts.plan
        if not data.settings["require_core_lead"] or plan.empty:
            return []
        core = core_states(data)
        return [Violation("core_lead", f"site {data.sites.at[s, 'name'] or s} has no unit of a core "
                          f"state ({', '.join(sorted(core))}); require_core_lead=1", group["cell_ref"].iloc[0])
                for s, group in plan.groupby("site_id") if not group["state"].isin(core).any()]

    def greedy_init(self, plan) -> None:
        plan.need_core = bool(plan.data.settings["require_core_lead"])
        plan.core = core_states(plan.data)

    def greedy_sender_ok(self, plan, n, k, s) -> bool:
        # a site is opened by a core state's unit
        return not (plan.need_core and plan.units_at_site[s] == 0 and n not in plan.core)
