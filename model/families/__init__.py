"""The constraint families, one module each, and their registry.

`FAMILIES` is the order in which build_model adds them (a family may read components an
earlier one defined: placements reads `w`, budget reads `transport_cost_meur`), and the order
of their checks, relaxations, prechecks and greedy rules. Adding a family is one module and
one line here (docs/architecture.md shows it step by step).
"""

from __future__ import annotations

from .base import Build, Family, PlanFacts, Slack, Violation
from .budget import Budget
from .contributions import Contributions
from .core_lead import CoreLead
from .coverage import Coverage
from .logistics import Logistics
from .placements import Placements
from .rules import Rules
from .site_use import SiteUse
from .troop_caps import TroopCaps

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
)

__all__ = ["FAMILIES", "Build", "Family", "PlanFacts", "Slack", "Violation"]
