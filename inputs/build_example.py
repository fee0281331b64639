"""Build the example workbook ``inputs/example.xlsx`` from the CSVs in ``inputs/data/``.

Run from the repository root::

    python inputs/build_example.py            # writes inputs/example.xlsx
    python inputs/build_example.py --out PATH

Only the standard library and openpyxl are used. Every cell is a plain value (no formulas),
and the output is byte-for-byte reproducible: the document timestamps and the zip entry
dates are fixed. The sheets and their first columns follow the workbook contract in the
project brief; the extra columns after them are kept for the reader and ignored by the tool.

Everything in the workbook is illustrative: see ``inputs/data/SOURCES.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import re
import sys
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Costs in the workbook are for the planning horizon. Contingents are costed per year in
# unit_types.csv, so cost_meur = annual_cost_meur x PLANNING_HORIZON_YEARS.
PLANNING_HORIZON_YEARS = 1

# Entry points are sized for the initial deployment window, not the whole horizon:
# throughput_troops = throughput_troops_per_week x ENTRY_WINDOW_WEEKS.
ENTRY_WINDOW_WEEKS = 2

# Fixed document and zip timestamps, so that two builds give the same bytes.
FIXED_TIMESTAMP = datetime.datetime(2025, 5, 1, 0, 0, 0)

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
DEFAULT_OUT = HERE / "example.xlsx"
# The staged variant (issue 14): the same sheets plus Stages (inputs/data/stages.csv) and the
# deployment window in Settings; crossings enter at EntryPoints throughput_troops_per_week.
STAGED_OUT = HERE / "example_staged.xlsx"

MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 8

Row = list  # one record, values in column order


# --------------------------------------------------------------------------- reading CSVs


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of ``inputs/data/<name>.csv`` as dicts of stripped strings."""
    with open(DATA_DIR / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return [
            {key: (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


def number(text: str) -> int | float:
    """A CSV number as int when it is written as a whole number, else float."""
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return float(text)


def optional_number(text: str) -> int | float | None:
    """A number, or None for an empty CSV field."""
    return number(text) if text != "" else None


def optional_text(text: str) -> str | None:
    """A string, or None for an empty CSV field (a blank cell, not an empty string)."""
    return text if text != "" else None


def as_int_if_whole(value: float) -> int | float:
    """Keep whole-number results of arithmetic as int."""
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- sheets


def about_sheet() -> tuple[list[str], list[Row]]:
    lines = [
        ("what", "Example input workbook for cowopt: allocate a coalition reassurance force "
                 "(contingents and air-defence systems) to sites in Ukraine."),
        ("status", "ILLUSTRATIVE ONLY. Built from public, encyclopaedic sources; no unit "
                   "positions, no intelligence, no official plans."),
        ("data basis", "Spring 2025 (contact line as of 15 April 2025; pledges March-May 2025)."),
        ("planning horizon", f"{PLANNING_HORIZON_YEARS} year: cost_meur of contingents = "
                             "annual cost x horizon; budget_meur is for the horizon."),
        ("entry window", f"{ENTRY_WINDOW_WEEKS} weeks: EntryPoints throughput_troops = "
                         f"throughput_troops_per_week x {ENTRY_WINDOW_WEEKS}."),
        ("air defence cost", "AirDefenceTypes cost_meur is the acquisition/replacement cost "
                             "(donors backfill what they send), not a running cost."),
        ("occupied assets", "Infrastructure assets held by Russia (occupied=1) are kept for "
                            "reference with value 0."),
        ("contract", "Sheet names and the first columns of each sheet are the cowopt workbook "
                     "contract; extra columns after them are notes for the reader."),
        ("sources", "See inputs/data/SOURCES.md for sources and assumptions."),
        ("built by", "python inputs/build_example.py (from the CSVs in inputs/data/)."),
    ]
    return ["topic", "note"], [list(line) for line in lines]


SETTINGS = [
    ("budget_meur", 8000, "meur",
     "Budget for the planning horizon (1 year), in millions of euros: contingent costs, "
     "air-defence acquisition costs and transport."),
    ("mission_troops_max", 30000, "troops",
     "Largest force the coalition deploys "
     "(upper end of the 10,000-30,000 floated in spring 2025)."),
    ("mission_troops_min", 10000, "troops",
     "Smallest credible force: the plan must deploy at least this many troops."),
    ("frontline_buffer_km", 50, "km",
     "No unit is placed closer than this to the contact line (each item may ask for more "
     "through its own min_frontline_km)."),
    ("coverage_level_weights", "1,0.5", "weights",
     "Comma-separated value of the 1st, 2nd, ... layer of cover of an asset by one capability: "
     "the first cover counts fully, a second (backup) layer counts half."),
    ("route_circuity", 1.3, "ratio",
     "Road/rail distance divided by great-circle distance, for entry point to site routes."),
    ("max_route_km", 1500, "km",
     "Longest allowed route from an entry point to a site (after circuity)."),
    ("transport_cost_eur_per_troop_km", 5, "eur/troop-km",
     "Cost of moving one soldier one kilometre from an entry point to a site, in euros."),
    ("require_core_lead", 1, "flag",
     "1: every used site hosts at least one unit from a core (lead) state; 0: no such rule."),
    ("time_limit_s", 60, "s", "Solver time limit in seconds."),
    ("mip_gap", 0.0001, "ratio", "Relative MIP optimality gap at which the solver stops."),
    ("soft_rule_penalty", 200, "points",
     "Objective points lost per unit of shortfall or excess of a soft rule (hard=0)."),
]


def settings_sheet() -> tuple[list[str], list[Row]]:
    return ["key", "value", "unit", "description"], [list(row) for row in SETTINGS]


US_STATE_ROW = {
    "state": "United States", "iso3": "USA", "core": 0, "eligible": 0, "max_troops": 2000,
    "combat_allowed": 1,
    "notes": "optional US backstop: off in the base case, switched on by the us_backstop "
             "scenario; illustrative",
}


def states_sheet() -> tuple[list[str], list[Row]]:
    columns = ["state", "core", "eligible", "max_troops", "combat_allowed", "iso3", "notes"]
    rows = [
        [r["state"], number(r["core"]), 1, number(r["max_troops"]),
         number(r["combat_allowed"]), r["iso3"], optional_text(r["notes"])]
        for r in read_csv("states")
    ]
    rows.append([US_STATE_ROW[column] for column in columns])
    return columns, rows


def unit_types_sheet() -> tuple[list[str], list[Row]]:
    columns = ["unit_type", "capability", "troops", "cost_meur", "combat", "radius_km",
               "min_frontline_km", "needs_airfield", "needs_port", "domain", "notes"]
    rows = [
        [r["unit_type"], r["capability"], number(r["troops"]),
         as_int_if_whole(number(r["annual_cost_meur"]) * PLANNING_HORIZON_YEARS),
         number(r["combat"]), number(r["radius_km"]), number(r["min_frontline_km"]),
         number(r["needs_airfield"]), number(r["needs_port"]), r["domain"],
         optional_text(r["notes"])]
        for r in read_csv("unit_types")
    ]
    return columns, rows


def air_defence_types_sheet() -> tuple[list[str], list[Row]]:
    columns = ["ad_type", "range_km", "crew", "cost_meur", "ballistic_capable",
               "min_frontline_km", "tier", "source"]
    rows = [
        [r["ad_type"], number(r["max_range_km"]), number(r["crew"]),
         number(r["unit_cost_meur"]), number(r["ballistic_capable"]),
         number(r["min_frontline_km"]), r["tier"], optional_text(r["source"])]
        for r in read_csv("air_defence_types")
    ]
    return columns, rows


US_INVENTORY = [("patriot", 2), ("air_policing_sqn", 2), ("cyber_team", 1)]


def inventory_sheet() -> tuple[list[str], list[Row]]:
    rows = [[r["state"], r["item"], number(r["available"])] for r in read_csv("inventory")]
    rows += [["United States", item, available] for item, available in US_INVENTORY]
    return ["state", "item", "available"], rows


def sites_sheet() -> tuple[list[str], list[Row]]:
    columns = ["site_id", "name", "region", "lat", "lon", "capacity_troops", "has_airfield",
               "has_port", "deployable", "notes"]
    rows = [
        [r["site_id"], r["name"], r["oblast"], number(r["lat"]), number(r["lon"]),
         number(r["capacity_troops"]), number(r["has_airfield"]), number(r["has_port"]),
         number(r["deployable"]), optional_text(r["notes"])]
        for r in read_csv("sites")
    ]
    return columns, rows


def infrastructure_row(r: dict[str, str]) -> Row:
    """One asset; an occupied asset is kept for reference but is worth nothing."""
    occupied = number(r["occupied"]) if r["occupied"] != "" else 0  # empty means not occupied
    value = number(r["value"])
    notes = r["notes"]
    if occupied:
        value = 0
        notes = "occupied: value set to 0; " + notes
    return [r["asset_id"], r["name"], r["category"], number(r["lat"]), number(r["lon"]),
            value, occupied, optional_number(r["population_k"]), optional_text(notes)]


def infrastructure_sheet() -> tuple[list[str], list[Row]]:
    columns = ["asset_id", "name", "category", "lat", "lon", "value", "occupied",
               "population_k", "notes"]
    return columns, [infrastructure_row(r) for r in read_csv("infrastructure")]


CAPABILITY_WEIGHTS = {
    "energy_nuclear": [("air_defence", 1.0), ("ballistic_defence", 0.6), ("repair", 0.4),
                       ("cyber", 0.4), ("ground_security", 0.3)],
    "energy_thermal": [("air_defence", 1.0), ("ballistic_defence", 0.3), ("repair", 0.8),
                       ("cyber", 0.3)],
    "energy_hydro": [("air_defence", 1.0), ("ballistic_defence", 0.3), ("repair", 0.6),
                     ("cyber", 0.3)],
    "port": [("air_defence", 0.8), ("ballistic_defence", 0.4), ("maritime", 1.0),
             ("ground_security", 0.3), ("logistics", 0.3)],
    "rail_hub": [("air_defence", 0.6), ("logistics", 0.8), ("repair", 0.4),
                 ("ground_security", 0.3)],
    "city": [("air_defence", 1.0), ("ballistic_defence", 0.8), ("medical", 0.6),
             ("ground_security", 0.5), ("training", 0.3), ("cyber", 0.2)],
    "gas": [("air_defence", 0.8), ("repair", 0.5), ("cyber", 0.3)],
}


def capability_weights_sheet() -> tuple[list[str], list[Row]]:
    rows = [
        [category, capability, weight]
        for category, weights in CAPABILITY_WEIGHTS.items()
        for capability, weight in weights
    ]
    return ["category", "capability", "weight"], rows


def entry_points_sheet() -> tuple[list[str], list[Row]]:
    columns = ["entry_id", "name", "lat", "lon", "throughput_troops",
               "throughput_troops_per_week", "mode", "neighbour_country", "notes"]
    rows = []
    for r in read_csv("entry_points"):
        per_week = number(r["throughput_troops_per_week"])
        rows.append([r["entry_id"], r["name"], number(r["lat"]), number(r["lon"]),
                     per_week * ENTRY_WINDOW_WEEKS, per_week, r["mode"],
                     r["neighbour_country"], optional_text(r["notes"])])
    return columns, rows


def frontline_sheet() -> tuple[list[str], list[Row]]:
    rows = [
        [r["line_id"], number(r["seq"]), number(r["lat"]), number(r["lon"])]
        for r in read_csv("frontline")
    ]
    return ["line_id", "seq", "lat", "lon"], rows


# rule_id, state, item, capability, site_id, region, min_count, max_count, hard, description
RULES = [
    ("HOSP2", None, None, "medical", None, None, 2, None, 1,
     "at least two field hospitals (EPC/ECFR)"),
    ("MARINE_ODESA", None, "marine_battalion", None, None, "Odesa", 1, None, 0,
     "a marine battalion in Odesa oblast (Odesa port itself is ~60 km from the occupied Kinburn "
     "spit, inside the marines' 80 km: Izmail on the Danube qualifies)"),
    ("KYIV_AD", None, None, "air_defence", "S01", None, 1, None, 1,
     "air defence over the capital"),
    ("CYBER1", None, None, "cyber", None, None, 1, None, 0,
     "at least one cyber-defence team"),
    ("NO_TUR_KHARKIV", "Turkiye", None, None, None, "Kharkiv", None, 0, 1,
     "illustrative national red line: no Turkish contingent in Kharkiv oblast"),
]


def rules_sheet() -> tuple[list[str], list[Row]]:
    columns = ["rule_id", "state", "item", "capability", "site_id", "region", "min_count",
               "max_count", "hard", "description"]
    return columns, [list(rule) for rule in RULES]


# scenario, key, value, description (keys: Settings keys, eligible:STATE,
# max_troops:STATE, combat_allowed:STATE, available:STATE:ITEM)
SCENARIOS = [
    ("budget_low", "budget_meur", 5000, "lower budget: EUR 5 bn for the year"),
    ("budget_high", "budget_meur", 12000, "higher budget: EUR 12 bn for the year"),
    ("us_backstop", "eligible:United States", 1, "US funding and air defence backstop"),
    ("us_backstop", "budget_meur", 10000, "US funding and air defence backstop"),
    ("wider_coalition", "max_troops:Germany", 3000,
     "states that ruled out troops in spring 2025 change their minds (illustrative)"),
    ("wider_coalition", "max_troops:Italy", 1000,
     "states that ruled out troops in spring 2025 change their minds (illustrative)"),
    ("wider_coalition", "max_troops:Poland", 1000,
     "states that ruled out troops in spring 2025 change their minds (illustrative)"),
    ("wider_coalition", "combat_allowed:Germany", 1,
     "states that ruled out troops in spring 2025 change their minds (illustrative)"),
    ("buffer_150", "frontline_buffer_km", 150,
     "keep every unit at least 150 km from the contact line"),
    ("ceasefire_stage1", "mission_troops_max", 15000,
     "first stage after a ceasefire: a smaller force"),
    ("ceasefire_stage1", "mission_troops_min", 5000,
     "first stage after a ceasefire: a smaller force"),
]


def scenarios_sheet() -> tuple[list[str], list[Row]]:
    return ["scenario", "key", "value", "description"], [list(row) for row in SCENARIOS]


SHEET_BUILDERS = [
    ("About", about_sheet),
    ("Settings", settings_sheet),
    ("States", states_sheet),
    ("UnitTypes", unit_types_sheet),
    ("AirDefenceTypes", air_defence_types_sheet),
    ("Inventory", inventory_sheet),
    ("Sites", sites_sheet),
    ("Infrastructure", infrastructure_sheet),
    ("CapabilityWeights", capability_weights_sheet),
    ("EntryPoints", entry_points_sheet),
    ("Frontline", frontline_sheet),
    ("Rules", rules_sheet),
    ("Scenarios", scenarios_sheet),
]


# --------------------------------------------------------------------------- writing


def column_width(values: list) -> float:
    """A width that fits the longest value, within [MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH]."""
    longest = max(len(str(value)) for value in values if value is not None)
    return float(min(max(longest + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH))


def write_sheet(workbook: Workbook, title: str, columns: list[str], rows: list[Row]) -> None:
    """One sheet: bold frozen header in row 1, one record per row, plain values only."""
    sheet = workbook.create_sheet(title)
    sheet.append(columns)
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"{title}: row {row!r} does not match columns {columns!r}")
        sheet.append(row)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        values = [column] + [row[index - 1] for row in rows]
        sheet.column_dimensions[get_column_letter(index)].width = column_width(values)


def stages_sheet() -> tuple[list[str], list[Row]]:
    columns = ["stage_id", "name", "start_week", "end_week", "mission_troops_min", "mission_troops_max", "notes"]
    return columns, [[r["stage_id"], r["name"], number(r["start_week"]), number(r["end_week"]),
                      optional_number(r["mission_troops_min"]), optional_number(r["mission_troops_max"]),
                      optional_text(r["notes"])] for r in read_csv("stages")]


def staged_settings_sheet() -> tuple[list[str], list[Row]]:
    columns, rows = settings_sheet()
    rows.append(["deployment_weeks", ENTRY_WINDOW_WEEKS, "weeks",
                 "The window EntryPoints throughput_troops is the total for."])
    return columns, rows


def build_workbook(staged: bool = False) -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    builders = list(SHEET_BUILDERS)
    if staged:
        builders = [(t, staged_settings_sheet if t == "Settings" else b) for t, b in builders]
        builders.append(("Stages", stages_sheet))
    for title, builder in builders:
        columns, rows = builder()
        write_sheet(workbook, title, columns, rows)
    workbook.active = 0
    properties = workbook.properties
    properties.creator = "cowopt inputs/build_example.py"
    properties.title = "cowopt example input workbook (illustrative)"
    properties.created = FIXED_TIMESTAMP
    properties.modified = FIXED_TIMESTAMP
    return workbook


def deterministic_bytes(workbook: Workbook) -> bytes:
    """The saved workbook with fixed timestamps.

    openpyxl stamps docProps/core.xml with the save time and the zip entries with the
    current time, so the archive is rewritten with FIXED_TIMESTAMP in both places.
    """
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    output = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, \
            zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, data)
    return output.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the workbook (default: {DEFAULT_OUT})")
    parser.add_argument("--staged-out", type=Path, default=STAGED_OUT,
                        help=f"where to write the staged variant (default: {STAGED_OUT})")
    args = parser.parse_args(argv)
    for out, staged in ((args.out, False), (args.staged_out, True)):
        data = deterministic_bytes(build_workbook(staged))
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary = out.with_name(out.name + ".tmp")
        temporary.write_bytes(data)
        temporary.replace(out)  # never leave a half-written workbook behind
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
