"""The constraint families, one module each, and their registry.

`FAMILIES` is the order in which build_model adds them (a family may read components an
earlier one defined: placements reads `w`, budget reads `transport_cost_meur`), and the order
of their checks, relaxations, prechecks and greedy rules. Adding a family is one module and
one line here (docs/architecture.md shows it step by step).
"""

from __future__ import annotations

from cowopt.optimise.families.axis_presence import AxisPresence
from cowopt.optimise.families.base import Build, Family, PlanFacts, Slack, Violation
from cowopt.optimise.families.budget import Budget
from cowopt.optimise.families.burden_share import BurdenShare
from cowopt.optimise.families.contributions import Contributions
from cowopt.optimise.families.core_lead import CoreLead
from cowopt.optimise.families.coverage import Coverage
from cowopt.optimise.families.logistics import Logistics
from cowopt.optimise.families.placements import Placements
from cowopt.optimise.families.rules import Rules
from cowopt.optimise.families.site_use import SiteUse
from cowopt.optimise.families.troop_caps import TroopCaps

FAMILIES: tuple[Family, ...] = (
    Contributions(),
    Placements(),
    SiteUse(),
    TroopCaps(),
    Coverage(),
    Logistics(),
    Budget(),
    Rules(),
    CoreLead(),
    AxisPresence(),
    BurdenShare(),
)

__all__ = ["FAMILIES", "Build", "Family", "PlanFacts", "Slack", "Violation"]
