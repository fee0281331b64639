"""Why no plan exists, in planner's terms, with the numbers.

`precheck` is cheap arithmetic run before the solver (a rule asking for more units than the
eligible states hold, a mission minimum above what caps, sites and entry points allow).
`elastic` runs when the solver proves infeasibility: every hard family (rules, mission size,
budget, caps, capacities, throughput) gets a penalised slack, and the demands that must give
way, and by how much, are reported.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from .candidates import Candidates
from .data import InputData
from .formulation import _given, build_model, rule_matches


def precheck(data: InputData, cands: Candidates, fixed: dict | None = None) -> list[str]:
    reasons = []
    placements = list(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
    available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
    for r, rule in data.rules.iterrows():
        if not rule["hard"] or not _given(rule["min_count"]) or int(rule["min_count"]) == 0:
            continue
        pairs = {(n, k) for n, k, _ in rule_matches(data, rule, placements)}
        most = sum(available[p] for p in pairs)
        if most < int(rule["min_count"]):
            what = " ".join(f"{c}={rule[c]}" for c in ("state", "item", "capability", "site_id", "region") if rule[c])
            reasons.append(f"rule {r} asks for at least {int(rule['min_count'])} units ({what}); the eligible "
                           f"states can place at most {most} there (inventory, eligibility, frontline buffer, site needs)")
    lo = int(data.settings["mission_troops_min"] or 0)
    if lo > 0:
        troops = data.items["troops"]
        by_state = defaultdict(int)
        for n, k in {(n, k) for n, k, _ in placements}:
            by_state[n] += available[(n, k)] * int(troops[k])
        supply = sum(min(v, int(data.states.at[n, "max_troops"])) for n, v in by_state.items())
        capacity = int(data.sites.loc[list({s for _, _, s in placements}), "capacity_troops"].sum()) if placements else 0
        entries = cands.routes["entry_id"].unique()
        throughput = int(data.entry_points.loc[list(entries), "throughput_troops"].sum()) if len(entries) else 0
        for what, most in (("the eligible states can send (caps and inventory)", supply),
                           ("the allowed sites can host", capacity),
                           ("the entry points can pass", throughput)):
            if most < lo:
                reasons.append(f"mission_troops_min is {lo:,} troops but {what} at most {most:,}")
    if fixed:
        cost = sum(data.items.at[k, "cost_meur"] * c for (n, k, s), c in fixed.items())
        if cost > float(data.settings["budget_meur"]):
            reasons.append(f"the kept deployments cost {cost:,.1f} M EUR; budget_meur is {data.settings['budget_meur']:,.1f}")
    return reasons


# (constraint family, planner's name, which side may give way)
_ELASTIC_FAMILIES = (
    ("ineq_rule_min", "hard rule {0}: minimum", "lower"),
    ("ineq_rule_max", "hard rule {0}: maximum", "upper"),
    ("ineq_mission_min", "mission_troops_min", "lower"),
    ("ineq_mission_max", "mission_troops_max", "upper"),
    ("ineq_budget", "budget_meur", "upper"),
    ("ineq_state_troops", "troop cap of {0}", "upper"),
    ("ineq_entry_throughput", "throughput of entry point {0}", "upper"),
    ("ineq_core_lead", "core-state lead at site {0}", "lower"),
)


def elastic(data: InputData, cands: Candidates, fixed: dict | None = None, time_limit_s: float = 30.0) -> list[str]:
    """The smallest relaxation (by weighted slack) that makes the hard constraints feasible."""
    from .solve import Solver

    model, _ = build_model(data, cands, fixed or {})
    model.obj.deactivate()
    slacks = []
    for family, label, side in _ELASTIC_FAMILIES:
        component = getattr(model, family, None)
        if component is None:
            continue
        for key in list(component.keys()):
            con = component[key]
            slack = pyo.Var(domain=pyo.NonNegativeReals)
            model.add_component(f"_slack_{family}_{len(slacks)}", slack)
            body = con.body + (slack if side == "lower" else -slack)
            model.add_component(f"_elastic_{family}_{len(slacks)}",
                                pyo.Constraint(expr=pyo.inequality(con.lower, body, con.upper)))
            con.deactivate()
            name = label.format(key if not isinstance(key, tuple) else "/".join(map(str, key)))
            bound = con.lower if side == "lower" else con.upper
            name += f" (now {pyo.value(bound):,.0f})" if bound is not None else ""
            slacks.append((name, family, slack, _scale(family, data)))
    model.obj_elastic = pyo.Objective(expr=sum(w * s for _, _, s, w in slacks), sense=pyo.minimize)
    outcome = Solver(model, time_limit_s, 1e-6).solve(into_model=True)  # the slacks are read below
    if outcome.status.value == "error":  # e.g. HiGHS's answer failed its check twice: say so, guess nothing
        return [f"the diagnosis could not be computed: {outcome.detail}"]
    if not outcome.status.has_plan:
        return ["no relaxation of rules, mission size, budget, caps or throughput makes a plan possible "
                "(check inventory, eligibility and the frontline buffer)"]
    reasons = []
    for name, family, slack, _ in slacks:
        amount = slack.value or 0.0
        if amount > 1e-6:
            unit = {"ineq_budget": "M EUR"}.get(family, "units" if "rule" in family or "core" in family else "troops")
            reasons.append(f"{name} must give way by {amount:,.1f} {unit}")
    return reasons or ["the hard constraints conflict, but no single family explains it (numerical trouble?)"]


def _scale(family: str, data: InputData) -> float:
    """Weights make one unit of a rule, 1,000 troops and 100 M EUR comparable."""
    return {"ineq_budget": 0.01, "ineq_rule_min": 1.0, "ineq_rule_max": 1.0, "ineq_core_lead": 1.0}.get(family, 0.001)
