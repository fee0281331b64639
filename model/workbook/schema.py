"""The workbook contract as data.

One source for reading, validation, the template workbook and the docs: every sheet, column
and Settings key a planner can fill in, with its type, unit, bounds, default and meaning.
Sheet and column names are a public interface (see the brief); do not rename them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds understood by the reader (model/data.py converts and checks each one).
ID = "id"  # non-empty text identifier, spaces trimmed
TEXT = "text"  # free text, may be blank
INT = "int"  # whole number
FLOAT = "float"  # real number
FLAG = "flag"  # 0 or 1 (also accepts TRUE/FALSE, yes/no)
LIST = "list"  # comma-separated text


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    description: str
    required: bool = True  # a blank cell is an error when True
    default: object = None  # used for blank cells when not required
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None  # "Sheet.column" this value must appear in

    @property
    def expected(self) -> str:
        """Human wording of what a cell must hold, for error messages."""
        words = {
            ID: "an identifier (text)",
            TEXT: "text",
            INT: "a whole number",
            FLOAT: "a number",
            FLAG: "0 or 1",
            LIST: "a comma-separated list",
        }[self.kind]
        if self.minimum is not None and self.maximum is not None and self.kind != FLAG:
            words += f" from {_fmt(self.minimum)} to {_fmt(self.maximum)}"
        elif self.minimum is not None and self.kind != FLAG:
            words += f" ≥ {_fmt(self.minimum)}"
        return words


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()  # columns whose combination must be unique

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str
    default: object
    unit: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# Upper bounds are sanity limits: they catch typos (an extra zero is fine, six are not).
BIG_TROOPS = 10_000_000
BIG_MEUR = 1e9
BIG_KM = 40_000.0

SETTINGS: tuple[Setting, ...] = (
    Setting("budget_meur", FLOAT, None, "M EUR", "Budget for the planning horizon: unit costs plus transport.", 0, BIG_MEUR, required=True),
    Setting("mission_troops_max", INT, None, "troops", "Largest mission size (all states together).", 0, BIG_TROOPS, required=True),
    Setting("mission_troops_min", INT, 0, "troops", "Smallest mission size; 0 for none.", 0, BIG_TROOPS),
    Setting("frontline_buffer_km", FLOAT, 0.0, "km", "No unit stands closer than this to the contact line (no frontline combat).", 0, BIG_KM),
    Setting("coverage_level_weights", LIST, "1", "weights", "Worth of the 1st, 2nd, ... unit covering the same asset with the same capability, decreasing, e.g. '1,0.5'.",),
    Setting("route_circuity", FLOAT, 1.3, "ratio", "Road/rail distance as a multiple of the great-circle distance (for routes not in the Routes sheet).", 1, 10),
    Setting("max_route_km", FLOAT, 2000.0, "km", "Longest allowed route from an entry point to a site.", 0, BIG_KM),
    Setting("transport_cost_eur_per_troop_km", FLOAT, 0.0, "EUR per troop-km", "Cost of moving one soldier one km from an entry point to a site.", 0, 1e6),
    Setting("require_core_lead", FLAG, 0, "flag", "1: every used site hosts at least one unit of a core (lead) state.", 0, 1),
    Setting("time_limit_s", FLOAT, 60.0, "s", "Solver time limit.", 0.1, 1e6),
    Setting("mip_gap", FLOAT, 1e-4, "ratio", "Relative optimality gap at which the solver stops.", 0, 1),
    Setting("soft_rule_penalty", FLOAT, 100.0, "objective points per unit", "Cost in the objective of one unit of shortfall (or excess) on a soft rule, unless the Rules row has its own penalty.", 0, 1e9),
    Setting("plan_title", TEXT, "", "text", "Title of the map (blank: the scenario and the date)."),
    # Stages (issue 14): read only when the workbook has a Stages sheet (docs/stages.md)
    Setting("deployment_weeks", FLOAT, 0.0, "weeks", "The deployment window that EntryPoints throughput_troops is the total for (0: not stated). With a Stages sheet, an entry point with a blank throughput_troops_per_week gets throughput_troops / deployment_weeks.", 0, 10_000),
    Setting("rotation_factor", FLOAT, 1.0, "ratio", "Staged plans: troops a state must hold per soldier deployed (3: two more in the force generation pool); state caps bind on deployed x factor.", 1, 100),
    Setting("allow_withdrawal", FLAG, 0, "flag", "Staged plans: 0: a unit that arrived stays to the end of the horizon; 1: it may leave in a later stage.", 0, 1),
    Setting("stage_weights", LIST, "", "weights", "Staged plans: worth of one point of coverage in each stage, in stage order (blank: the stage's weeks, i.e. protection-weeks).",),
    Setting("straits_open", FLAG, 1, "flag", "0: the Turkish Straits are closed to warships (Montreux): items with needs_straits come only from Black Sea states.", 0, 1),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Settings",
        "Scalar parameters, one per row. Keys are listed on the Instructions sheet.",
        (
            Column("key", ID, "Setting name."),
            Column("value", TEXT, "Setting value.", required=False),
            Column("unit", TEXT, "Unit (for the reader only).", required=False),
            Column("description", TEXT, "What it means (for the reader only).", required=False),
        ),
        key=("key",),
    ),
    Sheet(
        "States",
        "Contributing states and their political limits.",
        (
            Column("state", ID, "State name."),
            Column("core", FLAG, "1 for a core/lead nation (e.g. France, UK).", required=False, default=0),
            Column("eligible", FLAG, "0: the state contributes nothing in this run.", required=False, default=1),
            Column("max_troops", INT, "Most troops this state sends (crews of systems included).", minimum=0, maximum=BIG_TROOPS),
            Column("combat_allowed", FLAG, "1 if the state may send combat units.", required=False, default=0),
            Column("black_sea", FLAG, "1 for a Black Sea state: its ships need no straits passage.", required=False, default=0),
            Column("min_share", FLOAT, "Least share of the mission's cost (its units plus its Funding) this state carries; blank: none.", required=False, default=None, minimum=0, maximum=1),
            Column("max_share", FLOAT, "Largest share of the mission's cost this state carries; blank: none.", required=False, default=None, minimum=0, maximum=1),
        ),
        key=("state",),
    ),
    Sheet(
        "UnitTypes",
        "Contingent types (land, air, sea, cyber).",
        (
            Column("unit_type", ID, "Contingent type name."),
            Column("capability", LIST, "Capability it provides (several: comma-separated), e.g. medical."),
            Column("troops", INT, "Troops in one unit.", minimum=0, maximum=BIG_TROOPS),
            Column("cost_meur", FLOAT, "Cost of one unit for the planning horizon, M EUR.", minimum=0, maximum=BIG_MEUR),
            Column("combat", FLAG, "1 for a combat unit (only states with combat_allowed=1).", required=False, default=0),
            Column("radius_km", FLOAT, "An asset within this distance of the unit's site is covered.", minimum=0, maximum=BIG_KM),
            Column("min_frontline_km", FLOAT, "Least distance from the contact line for this unit.", required=False, default=0.0, minimum=0, maximum=BIG_KM),
            Column("needs_airfield", FLAG, "1: only at sites with an airfield.", required=False, default=0),
            Column("needs_port", FLAG, "1: only at sites with a port.", required=False, default=0),
            Column("deploy_cost_meur", FLOAT, "Staged plans: one-off cost of bringing one unit in, M EUR (blank: cost_meur).", required=False, default=None, minimum=0, maximum=BIG_MEUR),
            Column("running_meur_per_week", FLOAT, "Staged plans: cost of one unit per week present, M EUR (blank: 0).", required=False, default=0.0, minimum=0, maximum=BIG_MEUR),
            Column("needs_straits", FLAG, "1: a warship that must pass the Turkish Straits unless its state is a Black Sea state (Settings straits_open).", required=False, default=0),
        ),
        key=("unit_type",),
    ),
    Sheet(
        "AirDefenceTypes",
        "Air-defence systems; each gives air_defence, plus ballistic_defence when ballistic_capable=1.",
        (
            Column("ad_type", ID, "Air-defence system name."),
            Column("range_km", FLOAT, "Engagement range: an asset within it is covered.", minimum=0, maximum=BIG_KM),
            Column("crew", INT, "Troops to operate one fire unit/battery.", minimum=0, maximum=BIG_TROOPS),
            Column("cost_meur", FLOAT, "Cost of one fire unit for the planning horizon, M EUR.", minimum=0, maximum=BIG_MEUR),
            Column("ballistic_capable", FLAG, "1 if it can engage ballistic missiles.", required=False, default=0),
            Column("min_frontline_km", FLOAT, "Least distance from the contact line.", required=False, default=0.0, minimum=0, maximum=BIG_KM),
            Column("deploy_cost_meur", FLOAT, "Staged plans: one-off cost of bringing one fire unit in, M EUR (blank: cost_meur).", required=False, default=None, minimum=0, maximum=BIG_MEUR),
            Column("running_meur_per_week", FLOAT, "Staged plans: cost of one fire unit per week present, M EUR (blank: 0).", required=False, default=0.0, minimum=0, maximum=BIG_MEUR),
        ),
        key=("ad_type",),
    ),
    Sheet(
        "Inventory",
        "What each state can make available.",
        (
            Column("state", ID, "State.", references="States.state"),
            Column("item", ID, "A unit_type or an ad_type.", references="Items"),
            Column("available", INT, "Number of units/fire units available.", minimum=0, maximum=100_000),
        ),
        key=("state", "item"),
    ),
    Sheet(
        "Sites",
        "Candidate sites; deployable=0 marks entry/transit-only places.",
        (
            Column("site_id", ID, "Site identifier."),
            Column("name", TEXT, "Site name.", required=False, default=""),
            Column("region", TEXT, "Region/oblast (used by Rules).", required=False, default=""),
            Column("lat", FLOAT, "Latitude, WGS84 decimal degrees.", minimum=-90, maximum=90),
            Column("lon", FLOAT, "Longitude, WGS84 decimal degrees.", minimum=-180, maximum=180),
            Column("capacity_troops", INT, "Most troops the site can host.", minimum=0, maximum=BIG_TROOPS),
            Column("has_airfield", FLAG, "1 if the site has an airfield.", required=False, default=0),
            Column("has_port", FLAG, "1 if the site has a sea/river port.", required=False, default=0),
            Column("deployable", FLAG, "0: entry/transit only, nothing is placed here.", required=False, default=1),
            Column("country", TEXT, "Country the site is in; a site outside Ukraine is a base abroad (HostConsent).", required=False, default="Ukraine"),
        ),
        key=("site_id",),
    ),
    Sheet(
        "Infrastructure",
        "Critical assets to protect.",
        (
            Column("asset_id", ID, "Asset identifier."),
            Column("name", TEXT, "Asset name.", required=False, default=""),
            Column("category", ID, "Category, e.g. energy_nuclear, port, city (matches CapabilityWeights)."),
            Column("lat", FLOAT, "Latitude, WGS84 decimal degrees.", minimum=-90, maximum=90),
            Column("lon", FLOAT, "Longitude, WGS84 decimal degrees.", minimum=-180, maximum=180),
            Column("value", FLOAT, "Criticality weight (0 = ignore, e.g. occupied).", minimum=0, maximum=1e9),
        ),
        key=("asset_id",),
    ),
    Sheet(
        "CapabilityWeights",
        "How much each capability protecting an asset of a category is worth.",
        (
            Column("category", ID, "Asset category."),
            Column("capability", ID, "Capability."),
            Column("weight", FLOAT, "Worth of that protection, multiplies the asset value.", minimum=0, maximum=1e6),
        ),
        key=("category", "capability"),
    ),
    Sheet(
        "EntryPoints",
        "Western crossings through which forces enter.",
        (
            Column("entry_id", ID, "Entry point identifier."),
            Column("name", TEXT, "Name.", required=False, default=""),
            Column("lat", FLOAT, "Latitude, WGS84 decimal degrees.", minimum=-90, maximum=90),
            Column("lon", FLOAT, "Longitude, WGS84 decimal degrees.", minimum=-180, maximum=180),
            Column("throughput_troops", INT, "Troops that can enter here over the deployment window (the static model's total; Settings deployment_weeks says how long that window is).", minimum=0, maximum=BIG_TROOPS),
            Column("throughput_troops_per_week", FLOAT, "Troops that can enter here per week: staged plans (a Stages sheet) need it (blank: throughput_troops / deployment_weeks when that is set).", required=False, default=None, minimum=0, maximum=BIG_TROOPS),
            Column("via_country", TEXT, "Country crossed to reach this entry point (blank: none); Transit rows may refuse it.", required=False, default=""),
        ),
        key=("entry_id",),
    ),
    Sheet(
        "Frontline",
        "Threat lines: one or more polylines, points in seq order; kind contact (the front), border or sea.",
        (
            Column("line_id", ID, "Polyline identifier."),
            Column("seq", INT, "Order of the point along its line.", minimum=0, maximum=1e9),
            Column("lat", FLOAT, "Latitude, WGS84 decimal degrees.", minimum=-90, maximum=90),
            Column("lon", FLOAT, "Longitude, WGS84 decimal degrees.", minimum=-180, maximum=180),
            Column("kind", ID, "Kind of threat line: contact, border or sea (Buffers give each kind its distance).", required=False, default="contact"),
        ),
        key=("line_id", "seq"),
    ),
    Sheet(
        "Routes",
        "Optional: road/rail distances that override great-circle × route_circuity.",
        (
            Column("entry_id", ID, "Entry point.", references="EntryPoints.entry_id"),
            Column("site_id", ID, "Site.", references="Sites.site_id"),
            Column("distance_km", FLOAT, "Route length.", minimum=0, maximum=BIG_KM),
        ),
        required=False,
        key=("entry_id", "site_id"),
    ),
    Sheet(
        "Rules",
        "Optional: political decisions as min/max counts over matching deployments; blank = any.",
        (
            Column("rule_id", ID, "Rule name, used in reports."),
            Column("state", TEXT, "Only this state (blank: any).", required=False, default="", references="States.state"),
            Column("item", TEXT, "Only this unit_type/ad_type (blank: any).", required=False, default="", references="Items"),
            Column("capability", TEXT, "Only items with this capability (blank: any).", required=False, default="", references="Capabilities"),
            Column("site_id", TEXT, "Only at this site (blank: any).", required=False, default="", references="Sites.site_id"),
            Column("region", TEXT, "Only at sites of this region (blank: any).", required=False, default="", references="Sites.region"),
            Column("min_count", INT, "At least this many matching units (blank: no minimum).", required=False, default=None, minimum=0, maximum=1e6),
            Column("max_count", INT, "At most this many matching units (blank: no maximum).", required=False, default=None, minimum=0, maximum=1e6),
            Column("hard", FLAG, "1: must hold; 0: soft, a shortfall is penalised and reported.", required=False, default=1),
            Column("penalty", FLOAT, "Soft rules: objective points per unit of shortfall (blank: Settings soft_rule_penalty).", required=False, default=None, minimum=0, maximum=1e9),
        ),
        required=False,
        key=("rule_id",),
    ),
    Sheet(
        "Scenarios",
        "Optional: named variants overriding Settings keys (and eligible:STATE, max_troops:STATE, combat_allowed:STATE, available:STATE:ITEM).",
        (
            Column("scenario", ID, "Scenario name."),
            Column("key", ID, "A Settings key, or eligible:STATE, max_troops:STATE, combat_allowed:STATE, available:STATE:ITEM."),
            Column("value", TEXT, "The value in this scenario."),
        ),
        required=False,
        key=("scenario", "key"),
    ),
    Sheet(
        "Stages",
        "Optional: the build-up in stages (weeks after D-day, end exclusive, contiguous); without it the plan is one static picture.",
        (
            Column("stage_id", ID, "Stage identifier, e.g. D+7."),
            Column("name", TEXT, "Name.", required=False, default=""),
            Column("start_week", FLOAT, "First week of the stage (weeks after D-day); the first stage's start, then each the previous end.", minimum=0, maximum=10_000),
            Column("end_week", FLOAT, "Week the stage ends (exclusive), after start_week.", minimum=0, maximum=10_000),
            Column("mission_troops_min", INT, "Smallest mission size in this stage (blank: Settings mission_troops_min).", required=False, default=None, minimum=0, maximum=BIG_TROOPS),
            Column("mission_troops_max", INT, "Largest mission size in this stage (blank: Settings mission_troops_max).", required=False, default=None, minimum=0, maximum=BIG_TROOPS),
            Column("budget_meur", FLOAT, "Most spent in this stage: arrivals' deployment and transport cost plus running cost (blank: no stage limit; Settings budget_meur caps the whole horizon).", required=False, default=None, minimum=0, maximum=BIG_MEUR),
        ),
        required=False,
        key=("stage_id",),
    ),
    Sheet(
        "StageInventory",
        "Optional: what a state has committed by a stage (political build-up); absent rows fall back to Inventory.",
        (
            Column("state", ID, "State.", references="States.state"),
            Column("item", ID, "A unit_type or an ad_type.", references="Items"),
            Column("stage_id", ID, "Stage.", references="Stages.stage_id"),
            Column("available", INT, "Units available in that stage.", minimum=0, maximum=100_000),
        ),
        required=False,
        key=("state", "item", "stage_id"),
    ),
)

# Optional sheets of issue 15 (threats, threat lines, bases abroad, transit, money): each one
# absent leaves the model exactly as without it.
SHEETS += (
    Sheet(
        "Threats",
        "Optional: threat classes (e.g. ballistic, cruise, drone, aircraft); threat t is defended by the capability t_defence.",
        (
            Column("threat", ID, "Threat class name."),
            Column("description", TEXT, "What it is (for the reader only).", required=False, default=""),
        ),
        required=False,
        key=("threat",),
    ),
    Sheet(
        "AirDefenceRanges",
        "Optional: an air-defence system's range and effect per threat; a system listed here gives t_defence per row instead of air_defence/ballistic_defence.",
        (
            Column("ad_type", ID, "Air-defence system.", references="AirDefenceTypes.ad_type"),
            Column("threat", ID, "Threat class.", references="Threats.threat"),
            Column("range_km", FLOAT, "Engagement range against this threat: an asset within it is covered.", minimum=0, maximum=BIG_KM),
            Column("effect", FLOAT, "Layers one fire unit fills against this threat (1: a full layer; 0.25: four posts make one).", required=False, default=1.0, minimum=0, maximum=10),
        ),
        required=False,
        key=("ad_type", "threat"),
    ),
    Sheet(
        "Buffers",
        "Optional: least distance from each kind of threat line, per item or item kind; replaces frontline_buffer_km for the lines of that kind.",
        (
            Column("line_kind", ID, "Kind of threat line (Frontline kind): contact, border, sea."),
            Column("item", TEXT, "A unit_type/ad_type, or an item kind: unit, air_defence; blank: every item.", required=False, default=""),
            Column("min_km", FLOAT, "Least distance from every line of that kind.", minimum=0, maximum=BIG_KM),
        ),
        required=False,
        key=("line_kind", "item"),
    ),
    Sheet(
        "HostConsent",
        "Optional: which states a host country outside Ukraine lets base forces on its soil, and which item kinds.",
        (
            Column("country", ID, "Host country (Sites country)."),
            Column("state", ID, "Contributing state, or * for every state.", references="States.state*"),
            Column("allowed", FLAG, "1: may base forces there; 0: may not."),
            Column("item_kind", TEXT, "Only these items or item kinds (comma-separated: unit, air_defence, or names); blank: all.", required=False, default=""),
        ),
        required=False,
        key=("country", "state"),
    ),
    Sheet(
        "Transit",
        "Optional: transit countries that refuse passage (EntryPoints via_country).",
        (
            Column("country", ID, "Transit country."),
            Column("state", ID, "Contributing state, or * for every state.", references="States.state*"),
            Column("allowed", FLAG, "1: passage allowed; 0: refused."),
            Column("item_kind", TEXT, "Only for these items or item kinds (comma-separated); blank: all.", required=False, default=""),
        ),
        required=False,
        key=("country", "state", "item_kind"),
    ),
    Sheet(
        "AxisPresence",
        "Optional: at least min_count matching units within within_km of a named threat line (presence along an axis).",
        (
            Column("rule_id", ID, "Rule name, used in reports."),
            Column("line_id", ID, "A Frontline line_id (contact, border or sea line).", references="Frontline.line_id"),
            Column("within_km", FLOAT, "Units at sites within this distance of the line count.", minimum=0, maximum=BIG_KM),
            Column("min_count", INT, "At least this many matching units.", minimum=0, maximum=1e6),
            Column("item", TEXT, "Only these items, item kinds or capabilities (comma-separated); blank: any.", required=False, default=""),
        ),
        required=False,
        key=("rule_id",),
    ),
    Sheet(
        "Crewing",
        "Optional: items one state gives and another state's soldiers operate; their troops count to the crewing state's max_troops.",
        (
            Column("state", ID, "State that gives the item (its Inventory row).", references="States.state"),
            Column("item", ID, "The item.", references="Items"),
            Column("crew_state", ID, "State whose crews operate it.", references="States.state"),
        ),
        required=False,
        key=("state", "item"),
    ),
    Sheet(
        "Funding",
        "Optional: money a state contributes instead of (or besides) troops; it adds to the budget.",
        (
            Column("state", ID, "Contributing state.", references="States.state"),
            Column("meur", FLOAT, "Money for the planning horizon, M EUR.", minimum=0, maximum=BIG_MEUR),
        ),
        required=False,
        key=("state",),
    ),
)
SHEETS_BY_NAME = {s.name: s for s in SHEETS}

# Capabilities an air-defence type provides.
AIR_DEFENCE = "air_defence"
BALLISTIC_DEFENCE = "ballistic_defence"
