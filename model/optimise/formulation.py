"""The mixed-integer program, built in Pyomo from validated data.

The math is written out in docs/model.md with the same names as the components below.

Which state may send an item depends only on (state, item) and where an item may stand only
on (item, site) (candidates.py), so the brief's x[n,k,s] factors exactly into
  w[n,k]    units of item k that state n sends (caps, inventory, cost), and
  y[k,s,g]  units of item k at site s supplied by state group g (coverage, sites, flows),
linked by  sum_{n in g} w[n,k] = sum_s y[k,s,g].  Any integer w, y meeting this balance
splits back into integer x[n,k,s] (a transportation problem; `split_deployments`).
States are grouped only as finely as a constraint needs: core vs other when every used site
must host a core state, and a state of its own when a rule names it together with a site or
region, or when a plan pins it to a site. Merging the rest removes the symmetry between
states that offer the same item: on the shipped example, proof of optimality went from
more than 60 s (gap 1e-3 left) to about 2 s.

`build_model` is the orchestrator: it builds the index, lets every registered constraint
family (model/families/, one module each) add its variables and rows, and sets the objective.
Component names read in an LP dump: ineq_budget, eq_group_balance, ...
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyomo.environ as pyo

from cowopt.optimise.candidates import Candidates
from cowopt.workbook.data import InputData
from cowopt.workbook.files import gc_paused
from cowopt.optimise import families
from cowopt.optimise.families import Build
from cowopt.optimise.families.base import weighted_sum
from cowopt.optimise.families.coverage import coverage_classes
from cowopt.optimise.families.rules import rule_penalty

CORE_GROUP, OTHER_GROUP = "(core states)", "(other states)"


@dataclass
class ModelIndex:
    """Index sets and lookups the constraint builders share; kept off the Pyomo model."""

    group_of: dict  # state -> group name
    members: dict  # group -> list of states
    sends: list  # (state, item) pairs allowed, with inventory
    stands: list  # (item, site, group) triples
    available: dict  # (state, item) -> inventory
    by_site: dict = field(default_factory=lambda: defaultdict(list))  # site -> [(k, s, g)]
    by_item_site: dict = field(default_factory=lambda: defaultdict(list))  # (k, s) -> [(k, s, g)]
    by_item_group: dict = field(default_factory=lambda: defaultdict(list))  # (k, g) -> [(k, s, g)]
    by_state: dict = field(default_factory=lambda: defaultdict(list))  # n -> [(n, k)]

    @classmethod
    def of(cls, data: InputData, candidates: Candidates, fixed: dict) -> ModelIndex:
        placements = candidates.placements
        group_of = state_groups(data, set(placements["state"]), fixed, candidates.signature)
        members = defaultdict(list)
        for state, group in sorted(group_of.items()):
            members[group].append(state)
        sends = sorted(set(zip(placements["state"], placements["item"])))
        available = {(n, k): int(a) for n, k, a in zip(placements["state"], placements["item"], placements["available"])}
        # (k, s, g) where g's states may place k at s; a group's states share their allowed
        # sites (state_groups splits states that a host or transit country treats apart)
        stands = sorted({(k, s, group_of[n]) for n, k, s in zip(placements["state"], placements["item"],
                                                                 placements["site_id"])})
        index = cls(group_of, dict(members), sends, stands, available)
        for n, k in sends:
            index.by_state[n].append((n, k))
        for t in stands:
            k, s, g = t
            index.by_site[s].append(t)
            index.by_item_site[(k, s)].append(t)
            index.by_item_group[(k, g)].append(t)
        return index


def state_groups(data: InputData, states: set, fixed: dict, signature: dict | None = None) -> dict:
    """state -> group: as few groups as the site-specific constraints allow."""
    alone = {n for n, _, _ in fixed}
    for _, rule in data.rules.iterrows():
        if rule["state"] and (rule["site_id"] or rule["region"]):
            alone.add(rule["state"])
    split_core = bool(data.settings["require_core_lead"])
    core = set(data.states.index[data.states["core"] == 1])
    groups = {n: n if n in alone else (CORE_GROUP if split_core and n in core else OTHER_GROUP) for n in states}
    # states refused different (item, site)s by a host or transit country cannot share y
    signature = signature or {}
    kinds = {sig: i for i, sig in enumerate(sorted({signature[n] for n in states if signature.get(n)}, key=sorted))}
    return {n: g if n in alone or not signature.get(n) else f"{g} [restricted {kinds[signature[n]] + 1}]"
            for n, g in groups.items()}


def cost_tiebreak(data: InputData, candidates: Candidates) -> float:
    """eps such that the whole budget's worth of cost is worth < 1/1000 of the smallest
    coverage step: cost only ever decides between plans of equal coverage."""
    steps = [w for w in candidates.worth.values() if w > 0]
    if not steps:
        return 1e-6
    smallest = min(steps) * min(data.level_weights)
    return 1e-3 * smallest / max(float(data.settings["budget_meur"]), 1.0)


def build_model(data: InputData, candidates: Candidates, fixed: dict | None = None,
                fix_exact: bool = False) -> tuple[pyo.ConcreteModel, ModelIndex]:
    """The Pyomo model and its index. `fixed` maps (state,item,site) -> count kept as a
    minimum (or exactly, with fix_exact)."""
    fixed = fixed or {}
    with gc_paused():  # Pyomo's components make many objects, few of them garbage (files.gc_paused)
        model = pyo.ConcreteModel(name="cowopt")
        index = ModelIndex.of(data, candidates, fixed)
        build = Build(candidates, fixed, fix_exact, coverage_classes(candidates))
        for family in families.FAMILIES:
            family.define(model, data, index, build)
        _define_objective(model, data, candidates, build.classes)
    return model, index


def _define_objective(model, data, candidates: Candidates, classes: list) -> None:
    level_weight = dict(zip(model.L, data.level_weights))
    worth = [cls[2] for cls in classes]
    model.coverage_score = pyo.Expression(
        expr=weighted_sum((worth[j] * level_weight[l], model.z[j, l]) for j in model.A for l in model.L),
        doc="weighted coverage: the planner's objective")
    penalty = sum(rule_penalty(data, r) * (model.rule_short[r] + model.rule_excess[r]) for r in model.rule_short)
    model.rule_penalty = pyo.Expression(expr=penalty)
    eps = cost_tiebreak(data, candidates)
    model.obj = pyo.Objective(expr=model.coverage_score - eps * model.total_cost_meur - model.rule_penalty,
                              sense=pyo.maximize)


def split_deployments(index: ModelIndex, w_values: dict, y_values: dict) -> dict:
    """Integer x[n,k,s] from a solution's w and y: within each (item, group), states fill the
    sites in a fixed order (north-west corner rule of the transportation problem)."""
    counts: dict = defaultdict(int)
    for (k, g), stands in sorted(index.by_item_group.items()):
        senders = [[n, int(round(w_values.get((n, k), 0)))] for n in index.members[g] if (n, k) in w_values]
        senders = [s for s in senders if s[1] > 0]
        for t in stands:
            need = int(round(y_values.get(t, 0)))
            while need > 0 and senders:
                take = min(need, senders[0][1])
                counts[(senders[0][0], k, t[1])] += take
                need -= take
                senders[0][1] -= take
                if senders[0][1] == 0:
                    senders.pop(0)
    return dict(counts)
