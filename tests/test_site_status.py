"""Every site's status in plan.xlsx, worked by hand on a tiny theatre with one site per status,
and the small plan-workbook facts of issue 18 (Deployments reads as data only, --fix recorded,
unmet_rules 0 in the frontier)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from click.testing import CliRunner
from support import haversine_km, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.report.plan import site_status, sites_with_status, write_plan_as

# Frontline at 46.0N (29.5..30.5E), entry point E1 at 50.0N 30.0E, max_route_km 2000,
# circuity 1.0, buffer 50 km. Items: battalion needs 100 km, sam (here) 80 km, hospital 0 km
# and (here) a port.
EXTRA_SITES = [  # site_id, name, lat, lon, capacity, airfield, port, deployable
    ("S4", "Transit", 48.5, 30.0, 2000, 0, 0, 0),       # deployable 0
    ("S5", "Far", 50.0, 60.0, 2000, 0, 0, 1),           # ~2,140 km from E1 > 2,000
    ("S6", "Empty", 47.5, 30.0, 0, 0, 0, 1),            # capacity 0
    ("S7", "Bare", 46.7, 30.0, 2000, 0, 0, 1),          # 78 km: battalion needs 100, sam 80, hospital a port
]


@pytest.fixture
def theatre(tiny_tables):
    tiny_tables["UnitTypes"]["needs_port"] = [0, 1]  # hospital needs a port
    tiny_tables["AirDefenceTypes"]["min_frontline_km"] = [80]  # S1 (111 km) still takes a sam
    sites = tiny_tables["Sites"]
    for site_id, name, lat, lon, capacity, airfield, port, deployable in EXTRA_SITES:
        for column, value in zip(["site_id", "name", "region", "lat", "lon", "capacity_troops", "has_airfield",
                                  "has_port", "deployable"],
                                 [site_id, name, "R3", lat, lon, capacity, airfield, port, deployable]):
            sites[column].append(value)
    return cowopt.from_tables(tiny_tables)


def _to_line_km(lat: float, lon: float) -> float:
    """Distance from a site on 30E to the frontline: the great circle from (46N, 29.5E) to
    (46N, 30.5E) bulges north of the parallel; its nearest point to a site on 30E is its
    midpoint (symmetry), the normalised sum of the ends' unit vectors."""
    import math

    def unit(la, lo):
        la, lo = math.radians(la), math.radians(lo)
        return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))

    x, y, z = (a + b for a, b in zip(unit(46.0, 29.5), unit(46.0, 30.5)))
    norm = math.sqrt(x * x + y * y + z * z)
    mid_lat, mid_lon = math.degrees(math.asin(z / norm)), math.degrees(math.atan2(y, x))
    return haversine_km(lat, lon, mid_lat, mid_lon)


def _statuses(result) -> dict:
    table = sites_with_status(result).set_index("site_id")
    return {s: (table.at[s, "status"], table.at[s, "why"]) for s in table.index}


def test_one_site_per_status(theatre):
    plan = pd.DataFrame({"state": ["Aland"], "item": ["battalion"], "site_id": ["S1"], "count": [1]})
    result = cowopt.evaluate(theatre, plan)
    status = _statuses(result)
    front_s3 = round(_to_line_km(46.3, 30.0), 1)  # the Sites table rounds frontline_km to 0.1
    nearest_s5 = haversine_km(50.0, 30.0, 50.0, 60.0)
    assert nearest_s5 > 2000  # so S5 is beyond max_route_km
    assert status == {
        "S1": ("used", f"500 troops, {_to_line_km(47.0, 30.0):,.0f} km from the contact line"),
        "S2": ("allowed, not chosen", f"{_to_line_km(48.0, 30.0):,.0f} km from the contact line, "
                                      "reachable, capacity 2,000; the plan does not use it"),
        "S3": ("excluded by buffer", f"{front_s3:,.1f} km from the contact line; frontline_buffer_km is 50"),
        "S4": ("not deployable", "entry/transit only (deployable=0)"),
        "S5": ("unreachable", f"nearest entry point {nearest_s5:,.0f} km by route; max_route_km is 2,000"),
        "S6": ("no capacity", "capacity_troops is 0"),
        # the candidates' own words, the first two in alphabetical order (sam's is the third)
        "S7": ("no item allowed", "hospital needs a port; site Bare has none; "
                                  "site Bare is 78 km from the contact line; battalion needs 100 km"),
    }
    assert front_s3 == pytest.approx(33.2, abs=0.05)  # 0.2 km less than along the parallel


def test_used_site_that_breaks_a_rule(theatre):
    """An edited plan puts a sam 33 km from the line (needs 50) and 2,500 troops into 2,000."""
    plan = pd.DataFrame({"state": ["Aland", "Aland", "Borduria"], "item": ["sam", "battalion", "sam"],
                         "site_id": ["S3", "S2", "S1"], "count": [1, 1, 1]})
    result = cowopt.evaluate(theatre, plan)
    status = _statuses(result)
    assert status["S3"][0] == "used, violates"
    assert status["S3"][1] == "site Near is 33 km from the contact line; sam needs 80 km"
    assert status["S2"] == ("used", f"500 troops, {_to_line_km(48.0, 30.0):,.0f} km from the contact line")
    assert status["S1"][0] == "used"
    # the evaluate map marks exactly that site with a red cross
    from cowopt.report import plots

    marked = plots._site_table(result)
    assert marked.index[marked["violates"]].tolist() == ["S3"]


def test_used_over_capacity(theatre):
    tables_plan = pd.DataFrame({"state": ["Aland"], "item": ["battalion"], "site_id": ["S1"], "count": [2]})
    sites = theatre.sites.copy()
    sites.loc["S1", "capacity_troops"] = 800
    data = dataclasses.replace(theatre, sites=sites)
    result = cowopt.evaluate(data, tables_plan)
    row = next(r for r in result.score.sites.itertuples(index=False) if r.site_id == "S1")
    assert site_status(result, row) == ("used, violates", "1,000 troops over capacity 800")


def test_plan_workbook_round_trip(theatre, tmp_path):
    """What a planner opens: Sites has a status for every site; Deployments reads as data only;
    a --fix source is on the Summary."""
    plan = pd.DataFrame({"state": ["Aland"], "item": ["battalion"], "site_id": ["S1"], "count": [1]})
    result = cowopt.evaluate(theatre, plan)
    path = write_plan_as(result, tmp_path / "plan.xlsx", fixed_from="old/plan.xlsx (as minimums)")
    sites = pd.read_excel(path, "Sites", engine="openpyxl")
    assert len(sites) == 7 and sites["status"].notna().all()
    assert list(sites.columns[:5]) == ["site_id", "name", "region", "status", "why"]
    assert sites.loc[sites["site_id"] == "S1", "hosts"].item() == "1 battalion"
    deployments = pd.read_excel(path, "Deployments", engine="openpyxl")
    assert list(deployments.columns) == ["state", "item", "kind", "site_id", "count", "troops", "cost_meur"]
    summary = pd.read_excel(path, "Summary", header=2, engine="openpyxl")
    row = summary[summary["figure"] == "fixed from plan"]
    assert row["value"].item() == "old/plan.xlsx (as minimums)"


def test_cli_fix_is_recorded_on_the_summary(tiny_tables, tmp_path):
    inputs = write_inputs(tmp_path / "tiny.xlsx", tiny_tables)
    first = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "a"), "--no-map"])
    assert first.exit_code == 0, first.output
    pinned = tmp_path / "a" / "plan.xlsx"
    second = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "b"), "--no-map", "--fix", str(pinned)])
    assert second.exit_code == 0, second.output
    summary = pd.read_excel(tmp_path / "b" / "plan.xlsx", "Summary", header=2, engine="openpyxl")
    assert summary.loc[summary["figure"] == "fixed from plan", "value"].item() == f"{pinned} (as minimums)"
    free = pd.read_excel(pinned, "Summary", header=2, engine="openpyxl")
    assert "fixed from plan" not in set(free["figure"])


def test_frontier_unmet_rules_is_a_count(tiny_tables):
    tiny_tables["Rules"] = {"rule_id": ["two_sams"], "item": ["sam"], "min_count": [3], "hard": [0]}
    frontier = cowopt.sweep(cowopt.from_tables(tiny_tables), budgets=[400, 1000], workers=1)
    # only two sams exist: the soft rule is short at every budget; with 400 M EUR at most one
    assert frontier["unmet_rules"].tolist() == [1, 1]
    tiny_tables["Rules"]["min_count"] = [1]
    met = cowopt.sweep(cowopt.from_tables(tiny_tables), budgets=[1000], workers=1)
    assert met["unmet_rules"].tolist() == [0]
