"""What a constraint family may say about itself, and the facts each role is given.

A family is one module under model/families/ with one `Family` subclass. Every role has a
do-nothing default, so a family defines only what it has:

| role | called by | gets | gives |
|---|---|---|---|
| `define` | formulation.build_model | the Pyomo model, data, ModelIndex, `Build` | its variables and rows |
| `check` | evaluate.score | `PlanFacts` (the plan recomputed from the data) | `Violation`s with their Sheet!Cell |
| `slacks` | diagnose.elastic | (a class attribute) | which rows may give way, in planner's words |
| `precheck` | diagnose.precheck | data, candidates, kept deployments | reasons no plan can exist |
| `greedy_*` | greedy.greedy_start | the plan under construction | whether a step is allowed; bookkeeping |

`check` must be written from the data, never by evaluating a Pyomo expression: the scorer is
the independent check of the solver's plan (docs/model.md, "Checks written apart from the model").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

if TYPE_CHECKING:
    from cowopt.optimise.candidates import Candidates
    from cowopt.workbook.data import InputData


@dataclass
class Violation:
    kind: str  # inventory, placement, state_cap, mission, site_capacity, budget, rule, core_lead, logistics
    message: str
    cell: str | None = None  # e.g. "Deployments!A7" when one plan row causes it

    def __str__(self) -> str:
        return f"{self.cell}: {self.message}" if self.cell else self.message


@dataclass
class Build:
    """What `define` needs beyond the data and the index."""

    candidates: Candidates
    fixed: dict  # (state, item, site) -> count kept as a minimum (exactly with fix_exact)
    fix_exact: bool
    classes: list  # coverage classes (families.coverage.coverage_classes)


@dataclass
class PlanFacts:
    """A given plan as the scorer recomputed it from the data, for the families' checks."""

    data: InputData
    candidates: Candidates
    rows: pd.DataFrame  # every plan row, decorated, with _known, _allowed, _problem, cell_ref
    plan: pd.DataFrame  # the rows naming known state, item and site (forbidden ones included)
    unit_cost_meur: float
    transport_cost_meur: float
    stranded: dict = field(default_factory=dict)  # site -> (troops that cannot enter, troops at the site)

    @property
    def troops(self) -> int:
        return int(self.plan["troops"].sum())


@dataclass(frozen=True)
class Slack:
    """One indexed row family the diagnosis may relax: `label` names one row in planner's words."""

    component: str  # Pyomo component name, e.g. "ineq_budget"; its rows are one-sided
    label: str  # "{0}" is the row's key
    weight: float  # makes one unit of a rule, 1,000 troops and 100 M EUR comparable
    unit: str  # of the amount reported: "units", "troops", "M EUR"


class Family:
    """A constraint family; subclasses override only the roles they have."""

    name = ""
    slacks: tuple[Slack, ...] = ()
    # greedy seeds run by this number, then registry order: a minimum that names its units
    # (a hard rule) seeds before one that any unit meets (the mission size), or the cheapest
    # troops may use up the inventory or budget the rule needs
    seed_priority = 1

    def define(self, model, data: InputData, index, build: Build) -> None:
        """Add this family's Pyomo variables and rows (names as in docs/model.md)."""

    def check(self, facts: PlanFacts) -> list[Violation]:
        """The violations of a given plan, each with its Sheet!Cell where one row causes it."""
        return []

    def precheck(self, data: InputData, cands: Candidates, fixed: dict) -> list[str]:
        """Cheap arithmetic that proves no plan can exist, with the numbers."""
        return []

    # The greedy start (greedy._Plan keeps the running totals these read).
    def greedy_init(self, plan: Any) -> None:
        """Set up what this family's greedy rules need."""

    def greedy_sender_ok(self, plan: Any, n: str, k: str, s: str) -> bool:
        """May state n send one more k to s?"""
        return True

    def greedy_step_ok(self, plan: Any, k: str, s: str, moving_meur: float) -> bool:
        """May one more k stand at s (whoever sends it), bringing it in at `moving_meur`?"""
        return True

    def greedy_seed(self, plan: Any, place, gain) -> None:
        """Place units first that this family's minimum needs (the solver completes the rest)."""

    def greedy_take(self, plan: Any, n: str, k: str, s: str, moving_meur: float) -> None:
        """Book one unit of k from n at s, brought in at `moving_meur`."""

    def greedy_complete(self, plan: Any, start: dict) -> None:
        """Add this family's own variables' values to the MIP start."""


def given(value) -> bool:
    """A count or penalty that was filled in (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def linear_sum(variables) -> LinearExpression:
    """Σ variables, built in one step: ~80x faster than Python's sum() over Pyomo variables,
    which rebuilds the expression at every term (measured on 10^5-term coverage rows)."""
    return LinearExpression(list(variables))


def weighted_sum(terms) -> LinearExpression:
    """Σ coef * variable over (coef, variable) pairs, built in one step."""
    return LinearExpression([MonomialTermExpression((coef, var)) for coef, var in terms])
