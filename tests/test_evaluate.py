"""Planners in the loop (issue 3): `cowopt evaluate` on edited plans, rules, `solve --fix`.

Everything runs through the command line (click's CliRunner) on the tiny fixture, whose optimum
is worked by hand in conftest's geometry: sams (range 50 km) at S1 (47.0N) and S2 (48.0N)
protect A1 (energy, 100) and A2 (city, 80); both hospitals (radius 60 km) at S2 give the
medical weight 0.5 on A2 (80) and A4 (10) at levels 1 + 0.5: 60 + 7.5. Optimum 247.5,
600 troops, 700 M EUR. Objectives of edited plans are checked against this file's own
coverage arithmetic (haversine, radius inclusive, level weights), never against cowopt's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

from cowopt.cli.main import main

EARTH_RADIUS_KM = 6371.0088
TINY_OPTIMUM = 247.5
RULE_COLUMNS = ("rule_id", "state", "item", "capability", "site_id", "region", "min_count", "max_count", "hard")


# --------------------------------------------------------------------------- helpers


def write_plan(path: Path, rows: list[tuple]) -> Path:
    """A hand-made plan: only the four columns `evaluate` reads; data starts in row 2."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deployments"
    sheet.append(["state", "item", "site_id", "count"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def setting(tables: dict, key: str, value) -> None:
    settings = tables["Settings"]
    settings["value"][settings["key"].index(key)] = value


def cell(tables: dict, sheet: str, key: str, column: str, value) -> None:
    """Set `column` of the row of `sheet` whose first column is `key`."""
    columns = tables[sheet]
    first = next(iter(columns))
    columns[column][columns[first].index(key)] = value


def add_rule(tables: dict, rule_id: str, **fields) -> None:
    rules = tables.setdefault("Rules", {c: [] for c in RULE_COLUMNS})
    for column in RULE_COLUMNS:
        rules[column].append(rule_id if column == "rule_id" else fields.get(column, 1 if column == "hard" else ""))


def cli(*args) -> tuple[int, dict | None, str]:
    """Run `cowopt ARGS`; returns exit code, the --json payload (if any) and all terminal text."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    payload = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, payload, result.output


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def recompute_objective(tables: dict, plan: list[tuple]) -> float:
    """Weighted coverage of a plan whose rows are all allowed placements, from the tables alone."""
    settings = dict(zip(tables["Settings"]["key"], tables["Settings"]["value"]))
    levels = [float(w) for w in str(settings["coverage_level_weights"]).split(",")]
    units, ad = tables["UnitTypes"], tables["AirDefenceTypes"]
    caps = {k: {c.strip() for c in cap.split(",")} for k, cap in zip(units["unit_type"], units["capability"])}
    radius = dict(zip(units["unit_type"], units["radius_km"]))
    for k, ballistic, km in zip(ad["ad_type"], ad["ballistic_capable"], ad["range_km"]):
        caps[k] = {"air_defence", "ballistic_defence"} if ballistic else {"air_defence"}
        radius[k] = km
    s = tables["Sites"]
    where = {sid: (lat, lon) for sid, lat, lon in zip(s["site_id"], s["lat"], s["lon"])}
    weights = tables["CapabilityWeights"]
    total = 0.0
    a = tables["Infrastructure"]
    for category, value, lat, lon in zip(a["category"], a["value"], a["lat"], a["lon"]):
        for cat, cap, weight in zip(weights["category"], weights["capability"], weights["weight"]):
            if cat != category or weight <= 0:
                continue
            n = sum(count for _, k, site, count in plan
                    if cap in caps[k] and haversine_km(*where[site], lat, lon) <= radius[k])
            total += value * weight * sum(levels[:n])
    return total


def plan_rows(path: Path) -> list[tuple]:
    """(state, item, site_id, count) rows of a plan workbook's Deployments sheet."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book["Deployments"].iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    at = [header.index(c) for c in ("state", "item", "site_id", "count")]
    return [tuple(r[i] for i in at) for r in rows[1:] if r[at[0]] is not None]


def sheet_records(path: Path, name: str) -> list[dict]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book[name].iter_rows(values_only=True))
    book.close()
    header = [h for h in rows[0] if h is not None]
    return [dict(zip(header, r)) for r in rows[1:]]


# --------------------------------------------------------------------------- the optimiser's own plan


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> dict:
    """The tiny fixture solved once through the CLI."""
    folder = tmp_path_factory.mktemp("solved")
    inputs = write_inputs(folder / "tiny.xlsx", tiny())
    code, summary, output = cli("solve", inputs, "-o", folder / "run", "--no-map", "--json")
    assert code == 0, output
    return {"inputs": inputs, "plan": folder / "run" / "plan.xlsx", "summary": summary}


def test_tiny_optimum_is_the_hand_worked_one(solved):
    assert solved["summary"]["objective"] == pytest.approx(TINY_OPTIMUM, abs=1e-9)
    assert recompute_objective(tiny(), plan_rows(solved["plan"])) == pytest.approx(TINY_OPTIMUM, abs=1e-9)


def test_evaluating_the_optimisers_plan_reproduces_its_objective(solved):
    code, evaluated, output = cli("evaluate", solved["inputs"], solved["plan"], "--json")
    assert code == 0, output
    assert evaluated["mode"] == "evaluate"
    assert evaluated["violations"] == []
    for key in ("objective", "troops", "cost_meur", "coverage_share"):
        assert evaluated[key] == solved["summary"][key], key


def test_evaluate_reproduces_a_plan_with_transport_rules_and_core_lead(tmp_path):
    """Transport money, a rule and the core-lead demand: solve and evaluate still agree exactly."""
    tables = tiny()
    setting(tables, "transport_cost_eur_per_troop_km", 100)
    setting(tables, "require_core_lead", 1)
    add_rule(tables, "HOSP2", capability="medical", min_count=2)
    inputs = write_inputs(tmp_path / "rich.xlsx", tables)
    code, solved, output = cli("solve", inputs, "-o", tmp_path / "run", "--no-map", "--json")
    assert code == 0, output
    code, evaluated, output = cli("evaluate", inputs, tmp_path / "run" / "plan.xlsx", "--json")
    assert code == 0, output
    assert evaluated["objective"] == solved["objective"]
    assert evaluated["cost_meur"] == pytest.approx(solved["cost_meur"], abs=1e-6)
    assert evaluated["troops"] == solved["troops"]
    assert evaluated["violations"] == [] and evaluated["unmet_rules"] == []
    assert solved["cost_meur"] > 700  # transport is really paid for


def test_hand_edited_plan_is_scored_like_an_independent_recomputation(solved, tmp_path):
    """Change a count, delete a row, add a row in the written plan (openpyxl, as a planner's tool)."""
    edited = tmp_path / "edited.xlsx"
    book = openpyxl.load_workbook(solved["plan"])
    sheet = book["Deployments"]
    rows = {(r[0].value, r[1].value): r[0].row for r in sheet.iter_rows(min_row=2) if r[0].value}
    sheet.cell(rows[("Borduria", "hospital")], 5).value = 1  # count column E: 2 -> 1
    sheet.delete_rows(rows[("Borduria", "sam")])
    sheet.append(["Aland", "battalion", "unit", "S1", 1, None, None])  # troops and cost left blank on purpose
    book.save(edited)

    plan = plan_rows(edited)
    assert sorted((n, k) for n, k, _, _ in plan) == [("Aland", "battalion"), ("Aland", "sam"), ("Borduria", "hospital")]
    code, evaluated, output = cli("evaluate", solved["inputs"], edited, "--json", "-o", tmp_path / "scored", "--no-map")
    assert code == 0, output
    expected = recompute_objective(tiny(), plan)
    assert expected in (100 + 45, 80 + 45)  # the sam stands at S1 or S2; one hospital at S2: 40 + 5
    assert evaluated["objective"] == pytest.approx(expected, abs=1e-6)
    assert evaluated["troops"] == 500 + 100 + 200
    assert evaluated["cost_meur"] == pytest.approx(100 + 300 + 50)
    assert evaluated["violations"] == []

    written = tmp_path / "scored" / "plan.xlsx"
    assert written.exists()
    summary = {r["figure"]: r["value"] for r in _summary(written)}
    assert summary["mode"] == "evaluate"
    deployments = {(r["state"], r["item"]): r for r in sheet_records(written, "Deployments")}
    assert deployments[("Aland", "battalion")]["troops"] == 500  # recomputed from count
    assert deployments[("Borduria", "hospital")]["count"] == 1
    assert ("Borduria", "sam") not in deployments


def _summary(path: Path) -> list[dict]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book["Summary"].iter_rows(values_only=True))
    book.close()
    return [{"figure": r[0], "value": r[1]} for r in rows[3:] if r[0] is not None]


# --------------------------------------------------------------------------- one crafted plan per violation


def _km_from_entry(site_lat: float) -> float:
    return haversine_km(50.0, 30.0, site_lat, 30.0)  # E1 at 50N 30E; sites on 30E


_TRANSPORT_MEUR = 1000 * 100 * (_km_from_entry(47.0) + _km_from_entry(48.0)) / 1e6  # 100 crew each, 1000 EUR/troop-km

BUDGET_MESSAGE = (f"plan costs {600 + _TRANSPORT_MEUR:,.1f} M EUR (600.0 units + {_TRANSPORT_MEUR:,.1f} transport); "
                  "budget is 620.0")


@dataclass
class Crafted:
    """A plan that breaks one thing: changes to tiny, the plan rows (row 2 on), and per expected
    violation kind the plan row(s) that may be named (None: no row) and fragments of the message."""

    changes: list
    rows: list
    expected: dict


def _s(key, value):
    return ("Settings", key, None, value)


VIOLATIONS = {
    "unknown state": Crafted([], [("Carpathia", "sam", "S1", 1)],
                             {"placement": (2, ["state 'Carpathia' is not in the States sheet"])}),
    "unknown item": Crafted([], [("Aland", "sam", "S1", 1), ("Aland", "tank", "S2", 1)],
                            {"placement": (3, ["item 'tank' is neither a unit_type nor an ad_type"])}),
    "unknown site": Crafted([], [("Aland", "sam", "S9", 1)],
                            {"placement": (2, ["site 'S9' is not in the Sites sheet"])}),
    "frontline: item minimum": Crafted(
        [], [("Aland", "battalion", "S3", 1)],
        {"placement": (2, ["site Near is 33 km from the contact line; battalion needs 100 km"])}),
    "frontline: buffer": Crafted(
        [], [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S3", 1)],
        {"placement": (3, ["site Near is 33 km from the contact line; sam needs 50 km"])}),
    "not deployable": Crafted([("Sites", "S2", "deployable", 0)], [("Aland", "sam", "S2", 1)],
                              {"placement": (2, ["site North is entry/transit only (deployable=0)"])}),
    "airfield": Crafted([("UnitTypes", "battalion", "needs_airfield", 1)], [("Aland", "battalion", "S2", 1)],
                        {"placement": (2, ["battalion needs an airfield; site North has none"])}),
    "port": Crafted([("UnitTypes", "hospital", "needs_port", 1)], [("Borduria", "hospital", "S2", 1)],
                    {"placement": (2, ["hospital needs a port; site North has none"])}),
    "combat": Crafted([("Inventory", None, None, ("Borduria", "battalion", 1))], [("Borduria", "battalion", "S1", 1)],
                      {"placement": (2, ["battalion is a combat unit and Borduria has combat_allowed=0"])}),
    "ineligible": Crafted([("States", "Borduria", "eligible", 0)], [("Borduria", "hospital", "S2", 1)],
                          {"placement": (2, ["Borduria is not eligible (eligible=0)"])}),
    "beyond max_route_km": Crafted(
        [_s("max_route_km", 250)], [("Aland", "sam", "S1", 1)],
        {"placement": (2, ["site Middle is beyond max_route_km (250 km) from every entry point"]),
         "logistics": (None, ["100 of 100 troops at Middle cannot enter", "no entry point is within max_route_km"])}),
    "inventory": Crafted([], [("Aland", "sam", "S1", 1), ("Aland", "sam", "S2", 1)],
                         {"inventory": ((2, 3), ["Aland has 1 sam but 2 are deployed"])}),
    "state cap": Crafted([("States", "Aland", "max_troops", 600)],
                         [("Borduria", "sam", "S2", 1), ("Aland", "battalion", "S1", 2)],
                         {"state_cap": (3, ["Aland sends 1,000 troops; its cap is 600"])}),
    "mission maximum": Crafted([_s("mission_troops_max", 500)],
                               [("Aland", "battalion", "S1", 1), ("Aland", "sam", "S1", 1)],
                               {"mission": (None, ["mission has 600 troops; mission_troops_max is 500"])}),
    "mission minimum": Crafted([_s("mission_troops_min", 1000)], [("Aland", "sam", "S1", 1)],
                               {"mission": (None, ["mission has 100 troops; mission_troops_min is 1,000"])}),
    "site capacity": Crafted(
        [("Sites", "S1", "capacity_troops", 600)],
        [("Borduria", "sam", "S2", 1), ("Aland", "battalion", "S1", 1), ("Aland", "sam", "S1", 1),
         ("Borduria", "hospital", "S1", 1)],
        {"site_capacity": ((3, 4, 5), ["site Middle hosts 800 troops; its capacity is 600"])}),
    "budget with transport": Crafted([_s("budget_meur", 620), _s("transport_cost_eur_per_troop_km", 1000)],
                                     [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", 1)],
                                     {"budget": (None, [BUDGET_MESSAGE])}),
    "hard rule minimum": Crafted([("Rules", "HOSP2", None, {"capability": "medical", "min_count": 2})],
                                 [("Borduria", "hospital", "S2", 1)],
                                 {"rule": (None, ["hard rule HOSP2 counts 1 matching units; needs at least 2"])}),
    "hard rule maximum": Crafted([("Rules", "NOSAM_S1", None, {"item": "sam", "site_id": "S1", "max_count": 0})],
                                 [("Aland", "sam", "S1", 1)],
                                 {"rule": (None, ["hard rule NOSAM_S1 counts 1 matching units; allows at most 0"])}),
    "core lead": Crafted([_s("require_core_lead", 1)], [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", 1)],
                         {"core_lead": (3, ["site North has no unit of a core state (Aland); require_core_lead=1"])}),
    "entry throughput": Crafted(
        [("EntryPoints", "E1", "throughput_troops", 500)], [("Aland", "battalion", "S1", 2)],
        {"logistics": (None, ["500 of 1,000 troops at Middle cannot enter",
                              "the entry points that reach it are full"])}),
}


# Troops on a transit site are also reported stranded (wrongly blamed on max_route_km: see
# test_troops_on_a_transit_site_are_not_blamed_on_max_route_km); tolerated here.
TOLERATED_EXTRA = {"not deployable": 1}


def _apply(tables: dict, changes: list[tuple]) -> dict:
    for sheet, key, column, value in changes:
        if sheet == "Settings":
            setting(tables, key, value)
        elif sheet == "Rules":
            add_rule(tables, key, **value)
        elif sheet == "Inventory":
            for name, v in zip(("state", "item", "available"), value):
                tables["Inventory"][name].append(v)
        else:
            cell(tables, sheet, key, column, value)
    return tables


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_each_violation_is_named_with_its_cell_and_numbers(case, tmp_path):
    changes, rows, expected = VIOLATIONS[case].changes, VIOLATIONS[case].rows, VIOLATIONS[case].expected
    inputs = write_inputs(tmp_path / "inputs.xlsx", _apply(tiny(), changes))
    plan = write_plan(tmp_path / "plan.xlsx", rows)
    code, payload, output = cli("evaluate", inputs, plan, "--json")
    assert code == 3, output
    assert "Traceback" not in output
    violations = payload["violations"]
    assert len(violations) == len(expected) + TOLERATED_EXTRA.get(case, 0), violations
    for kind, (row, fragments) in expected.items():
        hits = [v for v in violations if all(f in v for f in fragments)]
        assert len(hits) == 1, f"{kind}: {fragments} not in {violations}"
        rows_allowed = row if isinstance(row, tuple) else (row,)
        if row is None:
            assert "Deployments!" not in hits[0], hits[0]
        else:
            assert any(hits[0].startswith(f"plan.xlsx › Deployments!A{r}: ") for r in rows_allowed), hits[0]


def test_troops_on_a_transit_site_are_not_blamed_on_max_route_km(tmp_path):
    inputs = write_inputs(tmp_path / "inputs.xlsx", _apply(tiny(), [("Sites", "S2", "deployable", 0)]))
    plan = write_plan(tmp_path / "plan.xlsx", [("Aland", "sam", "S2", 1)])
    code, payload, _ = cli("evaluate", inputs, plan, "--json")
    assert code == 3
    assert any(v.startswith("plan.xlsx › Deployments!A2: ") and "deployable=0" in v for v in payload["violations"])
    assert not any("max_route_km" in v for v in payload["violations"]), payload["violations"]


def test_evaluate_writes_the_violations_sheet_with_dash_o(tmp_path):
    inputs = write_inputs(tmp_path / "inputs.xlsx", tiny())
    plan = write_plan(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1), ("Aland", "sam", "S2", 1)])
    code, _, output = cli("evaluate", inputs, plan, "-o", tmp_path / "scored", "--no-map")
    assert code == 3, output
    assert "violation:" in output and "Aland has 1 sam but 2 are deployed" in output  # the terminal says it too
    records = sheet_records(tmp_path / "scored" / "plan.xlsx", "Violations")
    assert [(r["kind"], r["violation"]) for r in records] == [("inventory", "Aland has 1 sam but 2 are deployed")]
    assert records[0]["where"] == "plan.xlsx › Deployments!A2"


def test_plan_with_a_bad_cell_is_an_input_error_with_its_address(tmp_path):
    inputs = write_inputs(tmp_path / "inputs.xlsx", tiny())
    plan = write_plan(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", "two")])
    code, _, output = cli("evaluate", inputs, plan)
    assert code == 2, output
    assert "Deployments!D3" in output and "Traceback" not in output


# --------------------------------------------------------------------------- rules: hard that cannot hold, soft


def _hospitals_at_s1_rule(hard: int) -> dict:
    """Three hospitals at S1, but Borduria owns only two: impossible as a hard rule."""
    tables = tiny()
    add_rule(tables, "HOSP_S1", capability="medical", site_id="S1", min_count=3, hard=hard)
    return tables


def test_hard_rule_that_cannot_hold_exits_3_naming_it(tmp_path):
    inputs = write_inputs(tmp_path / "inputs.xlsx", _hospitals_at_s1_rule(hard=1))
    code, payload, output = cli("solve", inputs, "-o", tmp_path / "run", "--no-map", "--json")
    assert code == 3, output
    assert payload["status"] == "infeasible" and payload["objective"] is None
    reasons = " | ".join(payload["diagnosis"])
    assert "HOSP_S1" in reasons and "at least 3" in reasons and "at most 2" in reasons, reasons
    assert not (tmp_path / "run" / "plan.xlsx").exists()
    diagnosis = sheet_records(tmp_path / "run" / "diagnosis.xlsx", "Diagnosis")
    assert any("HOSP_S1" in r["reason"] and "at most 2" in r["reason"] for r in diagnosis), diagnosis


def test_hard_rule_against_the_budget_is_found_by_the_solver_and_named(tmp_path):
    """Two sams cost 600 M EUR, the budget is 400: only the solver sees it; the rule must give way by 1."""
    tables = tiny()
    setting(tables, "budget_meur", 400)
    add_rule(tables, "SAM2", item="sam", min_count=2)
    inputs = write_inputs(tmp_path / "inputs.xlsx", tables)
    code, payload, output = cli("solve", inputs, "-o", tmp_path / "run", "--no-map", "--json")
    assert code == 3, output
    [reason] = payload["diagnosis"]  # the budget would have to give 200 M EUR, the rule one unit: the rule yields
    assert "hard rule SAM2" in reason and "minimum" in reason and "must give way by 1.0 units" in reason, reason
    diagnosis = sheet_records(tmp_path / "run" / "diagnosis.xlsx", "Diagnosis")
    assert any("SAM2" in r["reason"] for r in diagnosis)


def test_same_rule_soft_gives_a_plan_with_the_rule_unmet_and_its_coverage_cost(solved, tmp_path):
    """Soft (penalty 100 per unit short): both hospitals move to S1 (short 1, not 3), which
    leaves A2's medical cover: coverage 180 + 5 * 1.5 = 187.5 instead of 247.5."""
    inputs = write_inputs(tmp_path / "inputs.xlsx", _hospitals_at_s1_rule(hard=0))
    code, payload, output = cli("solve", inputs, "-o", tmp_path / "run", "--no-map", "--json")
    assert code == 0, output
    assert payload["unmet_rules"] == ["HOSP_S1"]
    assert payload["objective"] == pytest.approx(187.5, abs=1e-6)
    coverage_cost = solved["summary"]["objective"] - payload["objective"]
    assert coverage_cost == pytest.approx(60.0, abs=1e-6)
    # worth paying: it saves 2 units of shortfall at 100 each
    assert 0 <= coverage_cost <= 2 * 100
    rules = sheet_records(tmp_path / "run" / "plan.xlsx", "Rules")
    assert [(r["rule_id"], r["type"], r["status"], r["count"], r["shortfall"], r["penalty"]) for r in rules] == [
        ("HOSP_S1", "soft", "UNMET", 2, 1, 100)]


# --------------------------------------------------------------------------- solve --fix


def test_fix_keeps_a_suboptimal_pin_and_beats_the_pinned_plan(solved, tmp_path):
    """Pin one hospital at S1 (the optimum has both at S2): the best plan around it is
    180 (sams) + A2 40 + A4 5 * 1.5 = 227.5."""
    pinned = write_plan(tmp_path / "pinned.xlsx", [("Borduria", "hospital", "S1", 1)])
    code, alone, _ = cli("evaluate", solved["inputs"], pinned, "--json")
    assert code == 0 and alone["objective"] == pytest.approx(5.0)
    code, fixed, output = cli("solve", solved["inputs"], "--fix", pinned, "-o", tmp_path / "run", "--no-map", "--json")
    assert code == 0, output
    plan = {(n, k, s): c for n, k, s, c in plan_rows(tmp_path / "run" / "plan.xlsx")}
    assert plan.get(("Borduria", "hospital", "S1"), 0) >= 1
    assert fixed["objective"] == pytest.approx(227.5, abs=1e-6)
    assert fixed["objective"] >= alone["objective"]
    assert fixed["objective"] <= solved["summary"]["objective"]


def test_fix_is_a_minimum_and_fix_exact_is_exact(solved, tmp_path):
    """Pin one hospital at S2: as a minimum the optimiser adds the second there (247.5);
    exactly, the second must go to S1 (227.5)."""
    pinned = write_plan(tmp_path / "pinned.xlsx", [("Borduria", "hospital", "S2", 1)])
    code, at_least, output = cli("solve", solved["inputs"], "--fix", pinned, "-o", tmp_path / "min",
                                 "--no-map", "--json")
    assert code == 0, output
    plan = {(n, k, s): c for n, k, s, c in plan_rows(tmp_path / "min" / "plan.xlsx")}
    assert plan[("Borduria", "hospital", "S2")] == 2
    assert at_least["objective"] == pytest.approx(TINY_OPTIMUM, abs=1e-6)

    code, exact, output = cli("solve", solved["inputs"], "--fix", pinned, "--fix-exact", "-o", tmp_path / "exact",
                              "--no-map", "--json")
    assert code == 0, output
    plan = {(n, k, s): c for n, k, s, c in plan_rows(tmp_path / "exact" / "plan.xlsx")}
    assert plan[("Borduria", "hospital", "S2")] == 1
    assert plan[("Borduria", "hospital", "S1")] == 1
    assert exact["objective"] == pytest.approx(227.5, abs=1e-6)


def test_fix_with_a_forbidden_pin_is_refused_with_the_reason(solved, tmp_path):
    pinned = write_plan(tmp_path / "pinned.xlsx", [("Aland", "sam", "S3", 1)])
    code, _, output = cli("solve", solved["inputs"], "--fix", pinned, "-o", tmp_path / "run", "--no-map")
    assert code == 2, output
    assert "cannot keep 1 sam of Aland at S3" in output
    assert "site Near is 33 km from the contact line; sam needs 50 km" in output
    assert "Traceback" not in output
    assert not (tmp_path / "run" / "plan.xlsx").exists()
