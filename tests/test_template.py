"""The template workbook: annotated, loadable, and a faithful carrier of the tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cowopt
from cowopt.workbook import schema
from cowopt.workbook.template import INSTRUCTIONS, LISTS, write_template

TINY_OBJECTIVE = 247.5  # AD at S1 covers A1 (100), AD at S2 covers A2 (80); two hospitals at S2:
# medical on A2 (80 * 0.5 * 1 + 80 * 0.5 * 0.5 = 60) and on A4 (10 * 0.5 * (1 + 0.5) = 7.5).


@pytest.fixture
def empty_template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "template.xlsx")


def _problems(path: Path) -> list:
    with pytest.raises(cowopt.InputError) as info:
        cowopt.load(path)
    return info.value.problems


def test_empty_template_loads_with_only_the_expected_problems(empty_template: Path) -> None:
    problems = _problems(empty_template)
    assert {(p.sheet, p.cell) for p in problems} == {
        ("Settings", "B2"),  # budget_meur: required, no default
        ("Settings", "B3"),  # mission_troops_max: required, no default
        ("EntryPoints", None),
        ("Sites", None),
        ("UnitTypes", None),  # neither a unit type nor an air-defence type
    }
    by_place = {(p.sheet, p.cell): p.message for p in problems}
    assert by_place[("Settings", "B2")].startswith("budget_meur ")
    assert by_place[("Settings", "B3")].startswith("mission_troops_max ")
    assert by_place[("EntryPoints", None)] == "no entry point; forces need at least one way in"
    assert by_place[("Sites", None)] == "no site; expected at least one candidate site"
    assert all(p.file == "template.xlsx" for p in problems)


def test_empty_template_says_the_required_settings_are_blank(empty_template: Path) -> None:
    messages = {p.cell: p.message for p in _problems(empty_template) if p.sheet == "Settings"}
    assert messages["B2"] == "budget_meur is blank; expected a number from 0 to 1000000000"


def test_empty_template_prefills_every_settings_key(empty_template: Path) -> None:
    sheet = openpyxl.load_workbook(empty_template)["Settings"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [s.key for s in schema.SETTINGS]
    for (_, value, unit, description), spec in zip(rows, schema.SETTINGS, strict=True):
        # None (blank) for budget_meur and mission_troops_max, and for plan_title (default "": a blank cell)
        assert value == (None if spec.default == "" else spec.default)
        assert unit == spec.unit
        assert spec.description in description
    assert sheet["B2"].value is None and sheet["B3"].value is None
    assert sheet["B5"].data_type == "n" and sheet["B5"].value == 0.0  # frontline_buffer_km as a number


@pytest.mark.parametrize("as_frames", [False, True], ids=["dicts", "dataframes"])
def test_round_trip_gives_the_same_objective(tmp_path: Path, tiny_tables: dict, as_frames: bool) -> None:
    tables = {k: pd.DataFrame(v) for k, v in tiny_tables.items()} if as_frames else tiny_tables
    path = write_template(tmp_path / "tiny.xlsx", tables=tables)
    from_file = cowopt.solve(cowopt.load(path))
    in_memory = cowopt.solve(cowopt.from_tables(tiny_tables))
    assert from_file.status == cowopt.Status.OPTIMAL
    assert from_file.score.objective == pytest.approx(in_memory.score.objective, abs=1e-6)
    assert from_file.score.objective == pytest.approx(TINY_OBJECTIVE, abs=1e-6)


def test_filled_template_keeps_numbers_as_numbers_and_equals_as_text(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["Sites"]["name"][0] = "=Kyiv"  # must not become a live formula
    path = write_template(tmp_path / "tiny.xlsx", tables=tiny_tables)
    sites = openpyxl.load_workbook(path)["Sites"]
    assert [sites.cell(row=r, column=6).value for r in (2, 3, 4)] == [2000, 2000, 2000]
    assert {sites.cell(row=r, column=6).data_type for r in (2, 3, 4)} == {"n"}
    assert sites["B2"].data_type == "s" and sites["B2"].value == "=Kyiv"
    with zipfile.ZipFile(path) as archive:
        assert not any(b"<f>" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))
    data = cowopt.load(path)
    assert data.sites.loc["S1", "name"] == "=Kyiv"
    assert data.settings["budget_meur"] == 1000.0 and data.settings["coverage_level_weights"] == (1.0, 0.5)


def test_data_sheets_have_frozen_bold_annotated_headers(empty_template: Path) -> None:
    book = openpyxl.load_workbook(empty_template)
    assert book.sheetnames[0] == INSTRUCTIONS
    assert book.sheetnames[-1] == LISTS and book[LISTS].sheet_state == "hidden"
    for spec in schema.SHEETS:
        sheet = book[spec.name]
        assert sheet.freeze_panes == "A2", spec.name
        headers = [cell.value for cell in sheet[1]]
        assert headers == [c.name for c in spec.columns], spec.name
        for cell, column in zip(sheet[1], spec.columns, strict=True):
            assert cell.font.bold, f"{spec.name}!{cell.coordinate}"
            assert column.description in cell.comment.text
            assert sheet.column_dimensions[cell.column_letter].width >= len(column.name)


def _validations(sheet) -> dict[str, tuple[str, str]]:
    """First cell of each validated range -> (type, formula1)."""
    found = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in str(validation.sqref).split():
            found[cell_range] = (validation.type, validation.formula1)
    return found


def test_flag_columns_have_zero_one_dropdowns(empty_template: Path) -> None:
    book = openpyxl.load_workbook(empty_template)
    flag_columns = [(s.name, i, c.name) for s in schema.SHEETS for i, c in enumerate(s.columns) if c.kind == schema.FLAG]
    assert len(flag_columns) == 15  # States 4, UnitTypes 4, AirDefenceTypes 1, Sites 3, Rules 1, HostConsent 1, Transit 1
    for sheet_name, index, name in flag_columns:
        letter = openpyxl.utils.get_column_letter(index + 1)
        assert _validations(book[sheet_name])[f"{letter}2:{letter}1000"] == ("list", '"0,1"'), (sheet_name, name)


def test_references_and_numbers_are_checked_in_excel(tmp_path: Path, tiny_tables: dict) -> None:
    book = openpyxl.load_workbook(write_template(tmp_path / "tiny.xlsx", tables=tiny_tables))
    inventory = _validations(book["Inventory"])
    assert inventory["A2:A1000"] == ("list", "=States!$A$2:$A$1000")
    assert inventory["B2:B1000"] == ("list", "=Lists!$B$2:$B$4")  # battalion, hospital, sam
    assert inventory["C2:C1000"] == ("whole", "0")
    assert [book[LISTS].cell(row=r, column=2).value for r in (2, 3, 4)] == ["battalion", "hospital", "sam"]
    assert _validations(book["Sites"])["D2:D1000"] == ("decimal", "-90")
    assert _validations(book["Routes"])["B2:B1000"] == ("list", "=Sites!$A$2:$A$1000")


def test_instructions_list_every_column_and_setting(empty_template: Path) -> None:
    sheet = openpyxl.load_workbook(empty_template)[INSTRUCTIONS]
    rows = [r for r in sheet.iter_rows(values_only=True)]
    pairs = {(r[0], r[1]) for r in rows}
    for spec in schema.SHEETS:
        assert (spec.name, "required" if spec.required else "optional") in pairs
        for column in spec.columns:
            assert (spec.name, column.name) in pairs, f"{spec.name}.{column.name}"
    keys = {r[0]: r for r in rows}
    for setting in schema.SETTINGS:
        assert keys[setting.key][4] == setting.unit and keys[setting.key][6] == setting.description
    capacity = next(r for r in rows if r[:2] == ("Sites", "capacity_troops"))
    assert capacity[2:7] == ("whole number", "troops", "required", None, "a whole number from 0 to 10000000")
    cost = next(r for r in rows if r[:2] == ("UnitTypes", "cost_meur"))
    assert cost[3] == "M EUR"
    deployable = next(r for r in rows if r[:2] == ("Sites", "deployable"))
    assert deployable[4:6] == ("optional", "1")
    assert keys["require_core_lead"][5] == "0 or 1"
    assert keys["budget_meur"][2:6] == ("required", None, "M EUR", "a number from 0 to 1000000000")
