"""Why no plan exists, in planner's terms, with the numbers.

`precheck` is cheap arithmetic run before the solver (a rule asking for more units than the
eligible states hold, a mission minimum above what caps, sites and entry points allow); each
constraint family brings its own. `elastic` runs when the solver proves infeasibility: every
row a family lists in its `slacks` (rules, mission size, budget, caps, throughput, core lead)
gets a penalised slack, and the demands that must give way, and by how much, are reported.
"""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.candidates import Candidates
from cowopt.workbook.data import InputData
from cowopt.optimise import families
from cowopt.optimise.formulation import build_model


def precheck(data: InputData, cands: Candidates, fixed: dict | None = None) -> list[str]:
    return [reason for family in families.FAMILIES for reason in family.precheck(data, cands, fixed or {})]


def elastic(data: InputData, cands: Candidates, fixed: dict | None = None, time_limit_s: float = 30.0) -> list[str]:
    """The smallest relaxation (by weighted slack) that makes the hard constraints feasible."""
    model, _ = build_model(data, cands, fixed or {})
    model.obj.deactivate()
    slacks = []  # (planner's name, Slack, slack variable)
    for spec in (spec for family in families.FAMILIES for spec in family.slacks):
        component = getattr(model, spec.component, None)
        if component is None:
            continue
        for key in list(component.keys()):
            name, slack = _relax(model, spec, key, len(slacks))
            slacks.append((name, spec, slack))
    return _least_relaxation(model, slacks, time_limit_s,
                             "no relaxation of rules, mission size, budget, caps or throughput makes a plan possible "
                             "(check inventory, eligibility and the frontline buffer)",
                             "the hard constraints conflict, but no single family explains it (numerical trouble?)")


# the staged model's own rows (issue 14) the diagnosis may relax, beside each stage block's
# family rows. A crossing's weekly rate is weighted 10x a troop of mission size: the rate is
# physical, the mission size a planner's demand, so of two equal ways out the demand is named.
STAGE_LINK_SLACKS = (
    families.Slack("ineq_stage_throughput", "arrivals through entry point {0} (weekly rate x the stage's weeks)",
                   0.01, "troops"),
    families.Slack("ineq_stage_budget", "the stage's budget_meur", 0.01, "M EUR"),
    families.Slack("ineq_horizon_budget", "budget_meur over the horizon", 0.01, "M EUR"),
)


def elastic_staged(data: InputData, cands: Candidates, pins: dict | None = None, fix_exact: bool = False,
                   time_limit_s: float = 30.0) -> list[str]:
    """`elastic` on the staged model: every stage block's family rows and the stages' own rows
    (crossings per stage, stage and horizon budgets) get a penalised slack; each demand that
    must give way is named with its stage, e.g. "stage D+7: mission_troops_min (now 15,000)
    must give way by 2,000.0 troops". `cands` from stages.union_data; pins as build_staged."""
    from cowopt.optimise.stages import build_staged

    model, sidx = build_staged(data, cands, pins, fix_exact)
    model.obj.deactivate()
    model.ineq_stage_bound.deactivate()
    slacks = []  # (planner's name, Slack, slack variable)
    for t in sidx.stages:
        blk = model.stage[t]
        for spec in (spec for family in families.FAMILIES for spec in family.slacks):
            component = getattr(blk, spec.component, None)
            if component is None:
                continue
            for key in list(component.keys()):
                if not component[key].active:  # rows the staged model switched off (static budget, crossings)
                    continue
                name, slack = _relax(blk, spec, key, len(slacks))
                slacks.append((f"stage {t}: {name}", spec, slack))
    for spec in STAGE_LINK_SLACKS:
        component = getattr(model, spec.component)
        for key in list(component.keys()):
            if key is None:  # the horizon's one row
                name, slack = _relax(model, spec, key, len(slacks))
            else:
                t, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
                name, slack = _relax(model, spec, key, len(slacks), shown="/".join(map(str, rest)))
                name = f"stage {t}: {name}"
            slacks.append((name, spec, slack))
    return _least_relaxation(model, slacks, time_limit_s,
                             "no relaxation of rules, mission size, budget, caps or crossings in any stage makes a "
                             "staged plan possible (check inventory, StageInventory, eligibility, the frontline "
                             "buffer and --fix pins)",
                             "the staged constraints conflict, but no single family explains it (numerical trouble?)")


def _least_relaxation(model, slacks: list, time_limit_s: float, none_helps: str, unexplained: str) -> list[str]:
    """Minimise the weighted slacks and name every demand that must give way, with how much."""
    from cowopt.optimise.solve import Solver

    model.obj_elastic = pyo.Objective(expr=sum(spec.weight * slack for _, spec, slack in slacks), sense=pyo.minimize)
    outcome = Solver(model, time_limit_s, 1e-6).solve(into_model=True)  # the slacks are read below
    if outcome.status.value == "error":  # e.g. HiGHS's answer failed its check twice: say so, guess nothing
        return [f"the diagnosis could not be computed: {outcome.detail}"]
    if not outcome.status.has_plan:
        return [none_helps]
    reasons = [f"{name} must give way by {slack.value:,.1f} {spec.unit}"
               for name, spec, slack in slacks if (slack.value or 0.0) > 1e-6]
    return reasons or [unexplained]


def _relax(model, spec, key, number: int, shown: str | None = None) -> tuple[str, pyo.Var]:
    """Replace row `key` of spec.component by one whose bound may give way by a slack;
    return the row's name in planner's words (with its bound now) and the slack. `shown`: the
    key as the label shows it (default: the key, parts joined by "/").

    The side is read from the row as Pyomo stored it, not from how it was written: Pyomo
    keeps `Σy >= o` as `o - Σy <= 0`, so a slack added for "a minimum" would have tightened it."""
    con = getattr(model, spec.component)[key]
    slack = pyo.Var(domain=pyo.NonNegativeReals)
    model.add_component(f"_slack_{spec.component}_{number}", slack)
    lower_bounded = con.lower is not None
    body = con.body + (slack if lower_bounded else -slack)
    model.add_component(f"_elastic_{spec.component}_{number}", pyo.Constraint(expr=pyo.inequality(con.lower, body, con.upper)))
    con.deactivate()
    if shown is None:
        shown = key if not isinstance(key, tuple) else "/".join(map(str, key))
    name = spec.label.format(shown)
    bound = con.lower if lower_bounded else con.upper
    return name + (f" (now {pyo.value(bound):,.0f})" if bound is not None else ""), slack
