"""Build ``inputs/example_threats.xlsx``: the shipped example with issue 15's data.

Run from the repository root::

    python inputs/build_example_threats.py            # writes inputs/example_threats.xlsx
    python inputs/build_example_threats.py --out PATH

It is ``inputs/example.xlsx`` (build_example.py) plus: air-defence ranges and effects per threat
(air_defence_ranges.csv, threats.csv), exposure per threat in CapabilityWeights, the Belarusian and
Russian borders as threat lines with a buffer, Rzeszow and Mihail Kogalniceanu as bases abroad
(bases_abroad.csv, host_consent.csv), Hungary's transit ban (transit.csv) and the Straits closed
to warships from outside the Black Sea (Montreux). Sources: inputs/data/SOURCES.md, "Threats".
The base example is left as it is, so the figures of the tests on it do not move.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_example as base  # noqa: E402
from build_example import number, optional_text, read_csv  # noqa: E402

DEFAULT_OUT = base.HERE / "example_threats.xlsx"

BLACK_SEA_STATES = {"Romania", "Turkiye"}  # littoral states among the contributors
STRAITS_ITEMS = {"demining_flotilla"}  # warships that would pass the Bosporus and Dardanelles
FIGHTER_THREATS = "aircraft_defence,cruise_defence,drone_defence"  # Sky Shield: fighters against all but ballistic
# exposure per threat: a category's old air_defence weight w is split, so an asset defended
# against every air threat earns what it earned before (shares illustrative: drones and cruise
# missiles carried most strikes on energy in 2024-25; aircraft matter little deep inside Ukraine)
AIR_THREAT_SHARES = (("drone_defence", 0.4), ("cruise_defence", 0.4), ("aircraft_defence", 0.2))
BORDER_BUFFER_KM = 50  # units stay as far from the Russian and Belarusian borders as from the front
# the base rules, with the capital's air defence asked against cruise missiles
RULES = [rule if rule[0] != "KYIV_AD" else rule[:3] + ("cruise_defence",) + rule[4:] for rule in base.RULES]


def settings_sheet():
    columns, rows = base.settings_sheet()
    rows.append(["straits_open", 0, "flag", "0: Turkey keeps the Straits closed to warships of non-Black-Sea states "
                 "(Montreux Art. 19; UK minehunters refused in 2024)"])
    return columns, rows


def states_sheet():
    columns, rows = base.states_sheet()
    at = columns.index("combat_allowed") + 1
    return (columns[:at] + ["black_sea"] + columns[at:],
            [row[:at] + [1 if row[0] in BLACK_SEA_STATES else 0] + row[at:] for row in rows])


def unit_types_sheet():
    columns, rows = base.unit_types_sheet()
    at = columns.index("needs_port") + 1
    out = []
    for row in rows:
        row = list(row)
        if row[0] == "air_policing_sqn":
            row[1] = FIGHTER_THREATS
        out.append(row[:at] + [1 if row[0] in STRAITS_ITEMS else 0] + row[at:])
    return columns[:at] + ["needs_straits"] + columns[at:], out


def sites_sheet():
    columns, rows = base.sites_sheet()
    at = columns.index("deployable") + 1
    rows = [row[:at] + ["Ukraine"] + row[at:] for row in rows]
    for r in read_csv("bases_abroad"):
        rows.append([r["site_id"], r["name"], r["country"], number(r["lat"]), number(r["lon"]),
                     number(r["capacity_troops"]), number(r["has_airfield"]), number(r["has_port"]), 1,
                     r["country"], optional_text(r["notes"])])
    return columns[:at] + ["country"] + columns[at:], rows


def capability_weights_sheet():
    columns, rows = base.capability_weights_sheet()
    out = []
    for category, capability, weight in rows:
        if capability == "air_defence":
            out += [[category, threat, round(weight * share, 6)] for threat, share in AIR_THREAT_SHARES]
        else:
            out.append([category, capability, weight])
    return columns, out


def entry_points_sheet():
    columns, rows = base.entry_points_sheet()
    at = columns.index("throughput_troops") + 1
    via = {"E04": "Hungary"}  # Chop - Zahony: reached through Hungary
    return (columns[:at] + ["via_country"] + columns[at:],
            [row[:at] + [via.get(row[0], "")] + row[at:] for row in rows])


def frontline_sheet():
    columns, rows = base.frontline_sheet()
    rows = [row + ["contact"] for row in rows]
    for name in ("border_belarus", "border_russia_north"):
        rows += [[r["line_id"], number(r["seq"]), number(r["lat"]), number(r["lon"]), "border"]
                 for r in read_csv(name)]
    return columns + ["kind"], rows


def rules_sheet():
    columns, _ = base.rules_sheet()
    return columns, [list(rule) for rule in RULES]


def threats_sheet():
    return ["threat", "description"], [[r["threat"], r["description"]] for r in read_csv("threats")]


def air_defence_ranges_sheet():
    return (["ad_type", "threat", "range_km", "effect", "source"],
            [[r["ad_type"], r["threat"], number(r["range_km"]), number(r["effect"]), r["source"]]
             for r in read_csv("air_defence_ranges")])


def buffers_sheet():
    return ["line_kind", "item", "min_km", "note"], [
        ["border", None, BORDER_BUFFER_KM, "no unit closer to the Russian or Belarusian border than to the front"]]


def host_consent_sheet():
    return (["country", "state", "allowed", "item_kind", "notes"],
            [[r["country"], r["state"], number(r["allowed"]), r["item_kind"], r["notes"]] for r in read_csv("host_consent")])


def transit_sheet():
    return (["country", "state", "allowed", "item_kind", "notes"],
            [[r["country"], r["state"], number(r["allowed"]), optional_text(r["item_kind"]), r["notes"]]
             for r in read_csv("transit")])


REPLACED = {"Settings": settings_sheet, "States": states_sheet, "UnitTypes": unit_types_sheet,
            "Sites": sites_sheet, "CapabilityWeights": capability_weights_sheet,
            "EntryPoints": entry_points_sheet, "Frontline": frontline_sheet, "Rules": rules_sheet}
ADDED = [("Threats", threats_sheet), ("AirDefenceRanges", air_defence_ranges_sheet), ("Buffers", buffers_sheet),
         ("HostConsent", host_consent_sheet), ("Transit", transit_sheet)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    builders = [(title, REPLACED.get(title, builder)) for title, builder in base.SHEET_BUILDERS] + ADDED
    saved = base.SHEET_BUILDERS
    base.SHEET_BUILDERS = builders
    try:
        data = base.deterministic_bytes(base.build_workbook())
    finally:
        base.SHEET_BUILDERS = saved
    temporary = args.out.with_name(args.out.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
