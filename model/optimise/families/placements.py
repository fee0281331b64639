"""Placements: where units stand (`y`, `u`), the kept deployments of `--fix`, and which plan
rows are allowed at all (eligibility, frontline buffer, airfield/port, reach: candidates.py).

The allowed (state, item, site) triples are filtered before the model is built, so this
family has no row for them; its check says why a hand-written row is not allowed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cowopt.optimise.candidates import placement_exclusion
from cowopt.optimise.families.base import Family, PlanFacts, Violation, linear_sum


def classify_rows(data, candidates, plan: pd.DataFrame) -> pd.DataFrame:
    """`plan` with _known (names a known state, item and site), _allowed (and may stand
    there) and _problem (why not, in planner's words, or None)."""
    known, allowed, problems = [], [], []
    for row in plan.itertuples(index=False):
        unknown = (f"state '{row.state}' is not in the States sheet" if row.state not in data.states.index else
                   f"item '{row.item}' is neither a unit_type nor an ad_type" if row.item not in data.items.index else
                   f"site '{row.site_id}' is not in the Sites sheet" if row.site_id not in data.sites.index else None)
        reason = None
        if unknown is None:
            reason = placement_exclusion(data, candidates, row.state, row.item, row.site_id)
        known.append(unknown is None)
        allowed.append(unknown is None and reason is None)
        problems.append(unknown or (f"{row.count} {row.item} of {row.state} at {row.site_id}: {reason}" if reason else None))
    return plan.assign(_known=np.asarray(known, dtype=bool), _allowed=np.asarray(allowed, dtype=bool),
                       _problem=problems)


class Placements(Family):
    name = "placement"

    def define(self, model, data, index, build) -> None:
        supply = defaultdict(int)
        for n, k in index.sends:
            supply[(k, index.group_of[n])] += index.available[(n, k)]
        model.T = pyo.Set(initialize=index.stands, dimen=3, ordered=True, doc="(item, site, state group)")
        model.y = pyo.Var(model.T, domain=pyo.NonNegativeIntegers, bounds=lambda m, k, s, g: (0, supply[(k, g)]),
                          doc="units of item k at site s from state group g")
        senders = defaultdict(list)
        for n, k in index.sends:
            senders[(k, index.group_of[n])].append(n)
        model.eq_group_balance = pyo.Constraint(
            list(index.by_item_group),
            rule=lambda m, k, g: sum(m.w[n, k] for n in senders[(k, g)]) == sum(m.y[t] for t in index.by_item_group[(k, g)]),
            doc="units a group sends = units it places")
        for (n, k, s), count in build.fixed.items():
            var = model.y[k, s, index.group_of[n]]
            var.setlb(count)
            if build.fix_exact:
                var.setub(count)
        # u[k,s] = units of k at s from any group: coverage and sites read u, so their rows carry
        # one term per (item, site) however many state groups there are
        model.KS = pyo.Set(initialize=list(index.by_item_site), dimen=2, ordered=True, doc="(item, site) allowed")
        model.u = pyo.Var(model.KS, domain=pyo.NonNegativeReals, doc="units of item k at site s (all groups)")
        model.eq_units_at_site = pyo.Constraint(
            model.KS, rule=lambda m, k, s: m.u[k, s] == linear_sum(m.y[t] for t in index.by_item_site[(k, s)]),
            doc="units at a site, summed over state groups")
        troops = data.items["troops"].to_dict()
        items_at = defaultdict(list)
        for k, s in index.by_item_site:
            items_at[s].append(k)
        model.troops_at_site = pyo.Expression(
            list(index.by_site), rule=lambda m, s: sum(troops[k] * m.u[k, s] for k in items_at[s]),
            doc="troops placed at site s")

    def check(self, facts: PlanFacts) -> list[Violation]:
        rows = facts.rows[facts.rows["_problem"].notna()]
        return [Violation("placement", problem, cell) for problem, cell in zip(rows["_problem"], rows["cell_ref"])]

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        plan.y[(k, s, plan.index.group_of[n])] += 1
        plan.units_at_site[s] += 1

    def greedy_complete(self, plan, start) -> None:
        start.update({("y", key): v for key, v in plan.y.items()})
        units = defaultdict(int)
        for (k, s, _), v in plan.y.items():
            units[(k, s)] += v
        start.update({("u", key): v for key, v in units.items()})
