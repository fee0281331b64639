"""Coverage: which cells are protected at which level (`z`); the objective's coverage_score
is built from these in formulation.py. Coverage is scored, not checked: no plan violates it."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, linear_sum, weighted_sum


def coverage_classes(candidates) -> list[tuple[str, tuple, float, list]]:
    """(capability, covering (item, site) pairs, summed worth, assets) per class of cells.

    Cells (i, c) covered by exactly the same (item, site) pairs are indistinguishable to the
    optimiser: merging them, with their worth summed, keeps the optimum and drops 40-70 % of
    the coverage rows and nonzeros on the synthetic benchmarks.
    """
    classes: dict = defaultdict(list)
    for (a, c), options in candidates.cover_options.items():
        classes[(c, options)].append(a)
    return [(c, options, sum(candidates.worth[(a, c)] for a in assets), assets)
            for (c, options), assets in sorted(classes.items())]


class Coverage(Family):
    name = "coverage"

    def define(self, model, data, index, build) -> None:
        classes = build.classes
        model.A = pyo.Set(initialize=range(len(classes)),
                          doc="classes of (asset, capability) cells with the same covering units")
        model.L = pyo.Set(initialize=list(range(1, len(data.level_weights) + 1)), doc="coverage levels")
        # continuous z: integer unit counts already make z integral at the optimum, and the
        # relaxation gives HiGHS much better incumbents than binary z (measured, see BRIEF)
        model.z = pyo.Var(model.A, model.L, bounds=(0, 1), doc="cell class j covered at level l")
        units = {pair: model.u[pair] for pair in model.KS}  # one lookup per variable, not per term
        effect = build.candidates.effect or {}

        def covering(m, j):
            cap, options = classes[j][0], classes[j][1]
            if effect and any((k, cap) in effect for k, _ in options):  # weighted layers (AirDefenceRanges effect)
                return linear_sum(m.z[j, l] for l in m.L) <= weighted_sum(
                    (effect.get((p[0], cap), 1.0), units[p]) for p in options)
            return linear_sum(m.z[j, l] for l in m.L) <= linear_sum(units[p] for p in options)

        model.ineq_coverage = pyo.Constraint(model.A, rule=covering, doc="coverage levels need covering units")

    def greedy_complete(self, plan, start) -> None:
        units = {key: v for (name, key), v in start.items() if name == "u"}
        levels = len(plan.data.level_weights)
        effect = plan.cands.effect or {}
        for j, (cap, options, _, _) in enumerate(coverage_classes(plan.cands)):
            covered = sum(effect.get((p[0], cap), 1.0) * units.get(p, 0) for p in options)
            for level in range(1, levels + 1):
                if covered - (level - 1) > 0:
                    start[("z", (j, level))] = min(1.0, covered - (level - 1))
