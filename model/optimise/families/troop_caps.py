"""Troop caps: each state's `max_troops`, and the mission's size between its minimum and maximum."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation
from cowopt.optimise.politics import crew_of


def crew_terms(data, sends) -> dict:
    """state -> the (owner, item) pairs whose troops count to its cap: its own items, unless
    another state crews them, and the items it crews for others (Crewing)."""
    crew = crew_of(data)
    terms = defaultdict(list)
    for n, k in sends:
        terms[crew.get((n, k), n)].append((n, k))
    return dict(terms)


class TroopCaps(Family):
    name = "troops"
    slacks = (
        Slack("ineq_mission_min", "mission_troops_min", 0.001, "troops"),
        Slack("ineq_mission_max", "mission_troops_max", 0.001, "troops"),
        Slack("ineq_state_troops", "troop cap of {0}", 0.001, "troops"),
    )

    def define(self, model, data, index, build) -> None:
        troops = data.items["troops"].to_dict()
        max_troops = data.states["max_troops"].to_dict()
        crews = crew_terms(data, index.sends)
        model.troops_of_state = pyo.Expression(
            list(crews), rule=lambda m, n: sum(troops[k] * m.w[owner, k] for owner, k in crews[n]))
        model.ineq_state_troops = pyo.Constraint(
            list(crews), rule=lambda m, n: m.troops_of_state[n] <= max_troops[n],
            doc="state troop caps (crews of items other states give count to the crewing state)")
        model.mission_troops = pyo.Expression(expr=sum(troops[k] * model.w[n, k] for n, k in index.sends),
                                              doc="troops in the mission")
        model.ineq_mission_max = pyo.Constraint(expr=model.mission_troops <= int(data.settings["mission_troops_max"]))
        lo = int(data.settings["mission_troops_min"] or 0)
        if lo > 0:
            model.ineq_mission_min = pyo.Constraint(expr=model.mission_troops >= lo)

    def check(self, facts: PlanFacts) -> list[Violation]:
        data, plan = facts.data, facts.plan
        crew = crew_of(data)
        plan = plan.assign(state=[crew.get((n, k), n) for n, k in zip(plan["state"], plan["item"])])
        troops_of = plan.groupby("state")["troops"].sum()
        found = []
        for n in data.states.index:
            troops, cap = int(troops_of.get(n, 0)), int(data.states.at[n, "max_troops"])
            if troops > cap:
                cell = plan.loc[plan["state"] == n, "cell_ref"].iloc[0]
                found.append(Violation("state_cap", f"{n} sends {troops:,} troops; its cap is {cap:,}", cell))
        lo, hi = int(data.settings["mission_troops_min"] or 0), int(data.settings["mission_troops_max"])
        if facts.troops > hi:
            found.append(Violation("mission", f"mission has {facts.troops:,} troops; mission_troops_max is {hi:,}"))
        if facts.troops < lo:
            found.append(Violation("mission", f"mission has {facts.troops:,} troops; mission_troops_min is {lo:,}"))
        return found

    def precheck(self, data, cands, fixed) -> list[str]:
        """The mission minimum against what caps and inventory, sites and entry points allow."""
        lo = int(data.settings["mission_troops_min"] or 0)
        if lo <= 0:
            return []
        placements = list(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
        available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
        troops = data.items["troops"]
        by_state = defaultdict(int)
        crew = crew_of(data)
        for n, k in {(n, k) for n, k, _ in placements}:
            by_state[crew.get((n, k), n)] += available[(n, k)] * int(troops[k])
        supply = sum(min(v, int(data.states.at[n, "max_troops"])) for n, v in by_state.items())
        capacity = int(data.sites.loc[list({s for _, _, s in placements}), "capacity_troops"].sum()) if placements else 0
        entries = cands.routes["entry_id"].unique()
        throughput = int(data.entry_points.loc[list(entries), "throughput_troops"].sum()) if len(entries) else 0
        # bases abroad are supplied by their hosts, not through Ukraine's entry points
        abroad = [s for s in {s for _, _, s in placements} if s in cands.abroad]
        throughput += int(data.sites.loc[abroad, "capacity_troops"].sum()) if abroad else 0
        return [f"mission_troops_min is {lo:,} troops but {what} at most {most:,}"
                for what, most in (("the eligible states can send (caps and inventory)", supply),
                                   ("the allowed sites can host", capacity),
                                   ("the entry points can pass", throughput))
                if most < lo]

    def greedy_init(self, plan) -> None:
        plan.state_cap = plan.data.states["max_troops"].to_dict()
        plan.crew = crew_of(plan.data)
        plan.mission_max = int(plan.data.settings["mission_troops_max"])

    def greedy_sender_ok(self, plan, n, k, s) -> bool:
        c = plan.crew.get((n, k), n)
        return plan.state_troops[c] + plan.troops[k] <= plan.state_cap[c]

    def greedy_step_ok(self, plan, k, s, moving_meur) -> bool:
        return plan.mission_troops + plan.troops[k] <= plan.mission_max

    def greedy_seed(self, plan, place, gain) -> None:
        """Reach mission_troops_min with the cheapest troops (best coverage among equals)."""
        floor = int(plan.data.settings["mission_troops_min"] or 0)
        if plan.mission_troops >= floor:
            return
        pairs = [(k, s) for k, s in sorted({(t[0], t[1]) for t in plan.index.stands}) if plan.troops[k] > 0]
        pairs.sort(key=lambda p: (plan.cost[p[0]] / plan.troops[p[0]], -gain(p)))
        for k, s in pairs:
            while plan.mission_troops < floor and place(k, s):
                pass
            if plan.mission_troops >= floor:
                return

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        plan.state_troops[plan.crew.get((n, k), n)] += plan.troops[k]
        plan.mission_troops += plan.troops[k]
