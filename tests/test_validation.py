"""Bad inputs: each planted error is reported with its sheet, cell and what was expected.

Every case starts from the tiny fixture written as a real .xlsx (through the template writer),
plants one error, and checks the InputError. Cell addresses follow the template's column order
(the contract's): Sites = site_id A, name B, region C, lat D, lon E, capacity_troops F, ...
Settings rows follow the fixture: budget_meur 2, mission_troops_max 3, mission_troops_min 4,
frontline_buffer_km 5, coverage_level_weights 6.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill

import cowopt
from cowopt.errors import Problem
from cowopt.workbook.template import write_template

FORMULA_MESSAGE = re.compile(r"\w+ holds a formula with no saved value \(the file was written by a tool that "
                             r"does not calculate\); open and save it in Excel or LibreOffice")


# --------------------------------------------------------------------------- helpers


def write(tmp_path: Path, tables: dict, name: str = "inputs.xlsx") -> Path:
    return write_template(tmp_path / name, tables=tables)


def edit(path: Path, change: Callable[[openpyxl.Workbook], None]) -> Path:
    """Change a workbook this test wrote itself (openpyxl keeps no cached values: fine here)."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(cowopt.InputError) as info:
        cowopt.load(path)
    return info.value.problems


def assert_reported(problems: list[Problem], sheet: str, cell: str | None, message: str | re.Pattern) -> None:
    """One problem at exactly this sheet and cell whose message is `message` (or matches the pattern)."""
    def fits(p: Problem) -> bool:
        if p.sheet != sheet or p.cell != cell:
            return False
        return bool(message.fullmatch(p.message)) if isinstance(message, re.Pattern) else p.message == message

    assert any(fits(p) for p in problems), "not reported; got:\n" + "\n".join(map(str, problems))


def _set(column_sheet: str, column: str, row: int, value: object) -> Callable[[dict], None]:
    def change(tables: dict) -> None:
        tables[column_sheet][column][row] = value
    return change


def _setting(key: str, value: object) -> Callable[[dict], None]:
    def change(tables: dict) -> None:
        settings = tables["Settings"]
        settings["value"][settings["key"].index(key)] = value
    return change


def _rules(**columns: list) -> Callable[[dict], None]:
    def change(tables: dict) -> None:
        tables["Rules"] = dict(columns)
    return change


# --------------------------------------------------------------------------- one error each

ONE_ERROR = [
    ("text-in-number", _set("Sites", "capacity_troops", 1, "lots"), "Sites", "F3",
     'capacity_troops must be a whole number from 0 to 10000000, got "lots"'),
    ("fraction-in-int", _set("UnitTypes", "troops", 0, 500.5), "UnitTypes", "C2",
     "troops must be a whole number from 0 to 10000000, got 500.5"),
    ("negative", _set("UnitTypes", "cost_meur", 1, -2.5), "UnitTypes", "D3",
     "cost_meur must be a number from 0 to 1000000000, got -2.5"),
    ("flag-2", _set("States", "core", 0, 2), "States", "B2",
     re.compile(r"core must be 0 or 1, got 2(\.0)?")),
    ("flag-text", _set("States", "eligible", 1, "maybe"), "States", "C3",
     'eligible must be 0 or 1, got "maybe"'),
    ("blank-required", _set("Sites", "lat", 1, None), "Sites", "D3",
     "lat is blank; expected a number from -90 to 90"),
    ("blank-required-id", _set("Infrastructure", "asset_id", 2, "  "), "Infrastructure", "A4",
     "asset_id is blank; expected an identifier (text)"),
    ("duplicate-id", _set("Sites", "site_id", 1, "S1"), "Sites", "A3",
     "site_id S1 repeats row 2; each must be unique"),
    ("duplicate-pair", _set("Inventory", "item", 1, "battalion"), "Inventory", "B3",
     "state + item Aland/battalion repeats row 2; each must be unique"),
    ("unknown-item", _set("Inventory", "item", 2, "hospitl"), "Inventory", "B4",
     "item 'hospitl' is not a unit_type or ad_type listed in the workbook (did you mean 'hospital'?)"),
    ("unknown-state", _set("Inventory", "state", 3, "Bordurai"), "Inventory", "A5",
     "state 'Bordurai' is not States state listed in the workbook (did you mean 'Borduria'?)"),
    ("setting-not-a-number", _setting("budget_meur", "abc"), "Settings", "B2",
     'budget_meur must be a number from 0 to 1000000000, got "abc"'),
    ("setting-negative", _setting("frontline_buffer_km", -1.5), "Settings", "B5",
     re.compile(r"frontline_buffer_km must be a number from 0 to 40000, got (-1\.5|\"-1\.5\")")),
    ("level-weights-increase", _setting("coverage_level_weights", "0.5,1"), "Settings", "B6",
     'coverage_level_weights weights must not increase from one level to the next, got "0.5,1"'),
    ("level-weights-text", _setting("coverage_level_weights", "high,low"), "Settings", "B6",
     "coverage_level_weights must be comma-separated positive weights such as '1,0.5', got \"high,low\""),
    ("mission-min-above-max", _setting("mission_troops_min", 6000), "Settings", "B4",
     "mission_troops_min (6000) is larger than mission_troops_max (5000)"),
    ("rule-min-above-max", _rules(rule_id=["r1"], item=["hospital"], min_count=[3], max_count=[1]), "Rules", "H2",
     "rule r1: max_count 1 is below min_count 3"),
    ("rule-unknown-site", _rules(rule_id=["r1"], site_id=["S9"], min_count=[1]), "Rules", "E2",
     "site_id 'S9' is not Sites site_id listed in the workbook"),
    ("lat-out-of-range", _set("Sites", "lat", 0, 95), "Sites", "D2",
     re.compile(r"lat must be a number from -90 to 90, got 95(\.0)?")),
    ("lon-out-of-range", _set("EntryPoints", "lon", 0, -200.5), "EntryPoints", "D2",
     "lon must be a number from -180 to 180, got -200.5"),
    ("nan-text", _set("Infrastructure", "value", 0, "nan"), "Infrastructure", "F2",
     'value must be a number from 0 to 1000000000, got "nan"'),
    ("NaN-text", _set("Infrastructure", "value", 1, "NaN"), "Infrastructure", "F3",
     'value must be a number from 0 to 1000000000, got "NaN"'),
    ("inf-text", _set("CapabilityWeights", "weight", 0, "inf"), "CapabilityWeights", "C2",
     'weight must be a number from 0 to 1000000, got "inf"'),
    ("minus-inf-text", _set("Frontline", "lon", 1, "-inf"), "Frontline", "D3",
     'lon must be a number from -180 to 180, got "-inf"'),
    ("date-in-number", _set("EntryPoints", "throughput_troops", 0, dt.date(2025, 1, 1)), "EntryPoints", "E2",
     re.compile(r"throughput_troops must be a whole number from 0 to 10000000, got a date/time \(2025-01-01.*\)")),
    ("date-in-id", _set("Sites", "site_id", 2, dt.date(2025, 3, 7)), "Sites", "A4",
     re.compile(r"site_id must be an identifier \(text\), got a date/time \(2025-03-07.*\)")),
]


@pytest.mark.parametrize("change, sheet, cell, message", [c[1:] for c in ONE_ERROR], ids=[c[0] for c in ONE_ERROR])
def test_one_planted_error_is_reported_by_cell(tmp_path: Path, tiny_tables: dict, change, sheet, cell, message) -> None:
    change(tiny_tables)
    problems = problems_of(write(tmp_path, tiny_tables))
    assert_reported(problems, sheet, cell, message)
    assert all(p.file == "inputs.xlsx" for p in problems)


def test_uncached_formula_is_reported_not_read_as_blank(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Frontline"] = {"line_id": ["F", None, "F"], "seq": [1, None, 2],
                                "lat": [46.0, None, 46.0], "lon": [29.5, None, 30.5]}

    def plant(book: openpyxl.Workbook) -> None:
        book["Sites"]["F2"] = "=1+2"  # openpyxl saves the formula without a value
        book["Frontline"]["C3"] = "=46+0"  # a row whose only content is a formula is still a record
    path = edit(write(tmp_path, tiny_tables), plant)
    problems = problems_of(path)
    assert_reported(problems, "Sites", "F2", FORMULA_MESSAGE)
    assert_reported(problems, "Frontline", "C3", FORMULA_MESSAGE)
    assert_reported(problems, "Frontline", "A3", "line_id is blank; expected an identifier (text)")


def test_uncached_formula_in_a_last_row_is_reported(tmp_path: Path, tiny_tables: dict) -> None:
    def plant(book: openpyxl.Workbook) -> None:
        book["Frontline"]["C4"] = "=46+0"  # below the last row with a value
    problems = problems_of(edit(write(tmp_path, tiny_tables), plant))
    assert_reported(problems, "Frontline", "C4", FORMULA_MESSAGE)


def test_missing_required_column_is_reported_at_the_header(tmp_path: Path, tiny_tables: dict) -> None:
    path = edit(write(tmp_path, tiny_tables), lambda book: book["Sites"].delete_cols(6))
    assert_reported(problems_of(path), "Sites", "1",
                    "column 'capacity_troops' is missing from the header row (expected columns: site_id, "
                    "name, region, lat, lon, capacity_troops, has_airfield, has_port, deployable, country)")


def test_missing_required_sheet_is_reported(tmp_path: Path, tiny_tables: dict) -> None:
    def drop(book: openpyxl.Workbook) -> None:
        del book["CapabilityWeights"]
    problems = problems_of(edit(write(tmp_path, tiny_tables), drop))
    assert_reported(problems, "CapabilityWeights", None,
                    "sheet 'CapabilityWeights' is missing; expected columns: category, capability, weight")


def test_missing_settings_key_is_reported(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Settings"]["key"][0] = "budget"  # a planner's own spelling of budget_meur
    problems = problems_of(write(tmp_path, tiny_tables))
    assert_reported(problems, "Settings", None, re.compile(r"key 'budget_meur' is missing; expected a row .*M EUR.*"))


def test_many_errors_in_different_sheets_are_reported_together(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Sites"]["capacity_troops"][1] = "lots"
    tiny_tables["States"]["max_troops"][0] = -100
    tiny_tables["UnitTypes"]["troops"][0] = 500.5
    tiny_tables["Inventory"]["item"][2] = "hospitl"
    _setting("budget_meur", "abc")(tiny_tables)
    problems = problems_of(write(tmp_path, tiny_tables))
    assert sorted((p.sheet, p.cell) for p in problems) == sorted([
        ("Sites", "F3"), ("States", "D2"), ("UnitTypes", "C2"), ("Inventory", "B4"), ("Settings", "B2"),
    ])
    assert_reported(problems, "States", "D2", re.compile(r"max_troops must be a whole number from 0 to 10000000, got -100(\.0)?"))


# --------------------------------------------------------------------------- known gaps (xfail)


def test_blank_optional_setting_takes_its_default(tmp_path: Path, tiny_tables: dict) -> None:
    _setting("mission_troops_min", None)(tiny_tables)
    assert cowopt.load(write(tmp_path, tiny_tables)).settings["mission_troops_min"] == 0


def test_rule_without_min_or_max_is_reported(tmp_path: Path, tiny_tables: dict) -> None:
    _rules(rule_id=["r1", "r2"], item=["hospital", "sam"], min_count=[None, 1], max_count=[None, None])(tiny_tables)
    assert_reported(problems_of(write(tmp_path, tiny_tables)), "Rules", "G2",
                    "rule r1 has neither min_count nor max_count; give at least one")


def test_mission_min_above_max_names_the_cell(tmp_path: Path, tiny_tables: dict) -> None:
    _setting("mission_troops_min", 6000)(tiny_tables)
    problems = problems_of(write(tmp_path, tiny_tables))
    assert any(p.sheet == "Settings" and p.cell == "B4" and "mission_troops_max" in p.message for p in problems)


# --------------------------------------------------------------------------- accepted inputs


def test_text_na_is_a_state_name_not_missing(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["States"]["state"][1] = "NA"  # Namibia
    tiny_tables["Inventory"]["state"][2:] = ["NA", "NA"]
    tiny_tables["Sites"]["name"] = ["N/A", "None", "null"]
    data = cowopt.load(write(tmp_path, tiny_tables))
    assert list(data.states.index) == ["Aland", "NA"]
    assert list(data.inventory["state"]) == ["Aland", "Aland", "NA", "NA"]
    assert list(data.sites["name"]) == ["N/A", "None", "null"]


def test_leading_zero_ids_stay_text(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Sites"]["site_id"] = ["007", 7, "S3"]  # text "007" and a number 7 are two sites
    data = cowopt.load(write(tmp_path, tiny_tables))
    assert list(data.sites.index) == ["007", "7", "S3"]


def test_numbers_stored_as_text_and_percentages_are_accepted(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Sites"]["capacity_troops"] = ["1 000", "2\u00a0000", " 3000 "]
    tiny_tables["UnitTypes"]["cost_meur"] = ["12.5", 50]
    tiny_tables["CapabilityWeights"]["weight"][2] = "50%"
    data = cowopt.load(write(tmp_path, tiny_tables))
    assert list(data.sites["capacity_troops"]) == [1000, 2000, 3000]
    assert data.items.loc["battalion", "cost_meur"] == 12.5
    assert list(data.weights["weight"]) == [1.0, 1.0, 0.5, 1.0]


def test_true_false_and_yes_no_flags_are_accepted(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["States"]["core"] = [True, False]
    tiny_tables["States"]["combat_allowed"] = ["yes", "FALSE"]
    tiny_tables["Sites"]["has_airfield"] = ["TRUE", "no", 0]
    data = cowopt.load(write(tmp_path, tiny_tables))
    assert list(data.states["core"]) == [1, 0]
    assert list(data.states["combat_allowed"]) == [1, 0]
    assert list(data.sites["has_airfield"]) == [1, 0, 0]


def test_headers_match_ignoring_case_and_spaces(tmp_path: Path, tiny_tables: dict) -> None:
    def rename(book: openpyxl.Workbook) -> None:
        book["Sites"]["A1"] = " Site_ID"
        book["Sites"]["F1"] = "Capacity Troops  "
        book["States"]["D1"] = "MAX_TROOPS"
    data = cowopt.load(edit(write(tmp_path, tiny_tables), rename))
    assert list(data.sites.index) == ["S1", "S2", "S3"]
    assert list(data.sites["capacity_troops"]) == [2000, 2000, 2000]
    assert list(data.states["max_troops"]) == [3000, 3000]


def test_extra_columns_and_sheets_are_ignored(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Sites"]["notes"] = ["see map", "=not a formula", "lots"]
    tiny_tables["Sources"] = {"source": ["EPC 2025", "ECFR 2025"], "value": ["x", 1]}
    path = write(tmp_path, tiny_tables)
    assert "Sources" in openpyxl.load_workbook(path).sheetnames
    data = cowopt.load(path)
    assert "notes" not in data.sites.columns
    assert cowopt.solve(data).score.objective == pytest.approx(247.5, abs=1e-6)


def test_trailing_formatted_empty_rows_are_not_records(tmp_path: Path, tiny_tables: dict) -> None:
    def pad(book: openpyxl.Workbook) -> None:
        fill = PatternFill("solid", fgColor="FFFF00")
        for sheet_name in ("Sites", "Inventory"):
            sheet = book[sheet_name]
            for row in range(sheet.max_row + 1, sheet.max_row + 6):
                for column in range(1, 5):
                    sheet.cell(row=row, column=column).fill = fill
                sheet.cell(row=row, column=1, value="")
                sheet.cell(row=row, column=2, value="   ")
    data = cowopt.load(edit(write(tmp_path, tiny_tables), pad))
    assert len(data.sites) == 3 and len(data.inventory) == 4


def test_sheet_names_match_ignoring_case_and_spaces(tmp_path: Path, tiny_tables: dict) -> None:
    def rename(book: openpyxl.Workbook) -> None:
        book["Sites"].title = " sites "
        book["CapabilityWeights"].title = "renamed"  # openpyxl would call it CAPABILITYWEIGHTS1 directly
        book["renamed"].title = "CAPABILITYWEIGHTS"
    data = cowopt.load(edit(write(tmp_path, tiny_tables), rename))
    assert list(data.sites.index) == ["S1", "S2", "S3"]
    assert len(data.weights) == 4


def test_blank_reference_is_reported_once(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Inventory"]["state"][1] = None
    problems = problems_of(write(tmp_path, tiny_tables))
    assert [(p.sheet, p.cell, p.message) for p in problems] == [
        ("Inventory", "A3", "state is blank; expected an identifier (text)"),
    ]


def test_a_workbook_without_the_coverage_levels_row_takes_the_default_as_one_level(tiny_tables):
    """Settings defaults are read like typed cells: coverage_level_weights' default "1" is one
    level of weight 1, not the text "1" (which crashed the model build: found by hypothesis)."""
    settings = tiny_tables["Settings"]
    keep = [i for i, key in enumerate(settings["key"]) if key != "coverage_level_weights"]
    tiny_tables["Settings"] = {column: [values[i] for i in keep] for column, values in settings.items()}
    data = cowopt.from_tables(tiny_tables)
    assert data.settings["coverage_level_weights"] == (1.0,)
    result = cowopt.solve(data, mip_gap=0.0)
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
