"""Hostile and careless inputs, round two (issue 12, the input side).

One section per class of the issue: 4 numbers mean what they say, 5 one validation pass,
8 special files, 9 silent misreadings become warnings, 10 clear messages. Each case goes
through the CLI where a user would meet it and checks the exit status, the file › Sheet!Cell
in the message, that no traceback is shown, and that the input is unchanged. Workbooks are
the tiny fixture written by XlsxWriter (columns in the order given), then edited with openpyxl
or at the XML level where a spreadsheet (or an attacker) writes what no writer library would.
Tiny layout (support.write_inputs, contract column order): Settings key A, value B, rows
budget_meur 2 ... time_limit_s 11, mip_gap 12; Sites site_id A, name B, region C, lat D, lon E,
capacity_troops F, has_airfield G; UnitTypes unit_type A ... combat E, radius_km F,
min_frontline_km G.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.workbook.files import scan_sheets

EXIT_OK, EXIT_INPUT = 0, 2
NAN_WORDS = ("NaN", "nan", "-nan")  # what a hostile or broken writer may store in <v>
INF_WORDS = ("INF", "inf", "-INF", "Infinity", "1E999")

# --------------------------------------------------------------------------- helpers


def cli(*args: object) -> Result:
    """Run the CLI in-process; never a traceback, never an unexpected exception."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(path: Path, *needles: str, command: tuple = ("validate",), extra: tuple = (), named: bool = True) -> str:
    """The command refuses with exit 2, naming the file (unless the fault is in another file of
    `extra`, named in the needles) and each needle; the input is unchanged."""
    before = digest(path)
    result = cli(*command, path, *extra)
    assert result.exit_code == EXIT_INPUT, result.output
    output = " ".join(result.output.split())  # the terminal wraps long lines
    for needle in ((path.name,) if named else ()) + needles:
        assert needle in output, f"{needle!r} not in:\n{result.output}"
    assert digest(path) == before
    return output


def valid(path: Path) -> cowopt.InputData:
    result = cli("validate", path)
    assert result.exit_code == EXIT_OK, result.output
    return cowopt.load(path)


def workbook(tmp_path: Path, tables: dict | None = None, name: str = "inputs.xlsx") -> Path:
    return write_inputs(tmp_path / name, tables if tables is not None else tiny())


def edit(path: Path, change) -> Path:
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
    return path


def set_xml_cell(path: Path, sheet: str, ref: str, stored: str) -> Path:
    """Store `stored` verbatim as the number in cell `ref` (what no writer library lets you do)."""
    part = scan_sheets(path)[sheet].part
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    xml, count = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', f'<c r="{ref}"><v>{stored}</v></c>',
                         parts[part].decode(), count=1)
    if not count:  # a blank cell: add it at the end of its row
        row = re.sub(r"[A-Z]+", "", ref)
        xml, count = re.subn(rf'(<row r="{row}"[^>]*>.*?)(</row>)', rf'\1<c r="{ref}"><v>{stored}</v></c>\2', xml,
                             count=1)
    assert count == 1, f"no cell {ref}"
    parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def with_rules(tables: dict) -> dict:
    tables["Rules"] = {"rule_id": ["R1"], "state": [""], "item": [""], "capability": ["medical"], "site_id": [""],
                       "region": [""], "min_count": [1], "max_count": [None], "hard": [1], "penalty": [None]}
    return tables


def with_scenarios(tables: dict, rows: list[tuple], order: tuple = ("scenario", "key", "value")) -> dict:
    columns = {"scenario": [r[0] for r in rows], "key": [r[1] for r in rows], "value": [r[2] for r in rows]}
    tables["Scenarios"] = {name: columns.get(name, [""] * len(rows)) for name in order}
    return tables


def plan_file(path: Path, rows: list[tuple]) -> Path:
    frame = pd.DataFrame(rows, columns=["state", "item", "site_id", "count"])
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        frame.to_excel(writer, sheet_name="Deployments", index=False)
    return path


# --------------------------------------------------------------------------- class 4: numbers mean what they say

# (sheet, cell, column, expected): optional columns (a NaN read as blank took the default) and required ones
NUMBER_CELLS = [
    ("UnitTypes", "G2", "min_frontline_km", "a number from 0 to 40000"),
    ("UnitTypes", "E2", "combat", "0 or 1"),
    ("Sites", "G2", "has_airfield", "0 or 1"),
    ("Sites", "F2", "capacity_troops", "a whole number from 0 to 10000000"),
    ("Settings", "B11", "time_limit_s", "a number from 0.1 to 1000000"),
    ("Sites", "B2", "name", "text"),
    ("Infrastructure", "C2", "category", "an identifier (text)"),
    ("States", "D3", "max_troops", "a whole number from 0 to 10000000"),
]


@pytest.mark.parametrize("stored", NAN_WORDS)
@pytest.mark.parametrize("sheet,ref,column,expected", NUMBER_CELLS)
def test_a_stored_nan_is_an_error_never_blank_or_zero(tmp_path: Path, sheet, ref, column, expected, stored) -> None:
    path = set_xml_cell(workbook(tmp_path), sheet, ref, stored)
    label = column
    refused(path, f"{sheet}!{ref}: {label} must be {expected}, got NaN (not a number)")


@pytest.mark.parametrize("stored", INF_WORDS)
@pytest.mark.parametrize("sheet,ref,column,expected", NUMBER_CELLS[4:])
def test_a_stored_infinity_is_an_error_said_as_such(tmp_path: Path, sheet, ref, column, expected, stored) -> None:
    path = set_xml_cell(workbook(tmp_path), sheet, ref, stored)
    label = column
    sign = "-" if stored.startswith("-") else ""
    refused(path, f"{sheet}!{ref}: {label} must be {expected}, got {sign}inf (infinity)")


def test_a_stored_nan_in_a_rules_count_is_an_error(tmp_path: Path) -> None:
    path = set_xml_cell(workbook(tmp_path, with_rules(tiny())), "Rules", "G2", "NaN")
    refused(path, "Rules!G2: min_count must be a whole number from 0 to 1000000, got NaN (not a number)")


@pytest.mark.parametrize("stored,shown", [("1E308", "1e+308"), ("-1e300", "-1e+300"), ("1E20", "1e+20"),
                                           ("12345678901234567890", "1.23457e+19")])
@pytest.mark.parametrize("sheet,ref", [("States", "D2"), ("UnitTypes", "D2"), ("Inventory", "C2"), ("Sites", "D2")])
def test_absurd_magnitudes_are_shown_readably(tmp_path: Path, sheet, ref, stored, shown) -> None:
    output = refused(set_xml_cell(workbook(tmp_path), sheet, ref, stored), f"{sheet}!{ref}:", f"got {shown}")
    assert not re.search(r"\d{17}", output), output


def test_a_very_long_text_in_a_number_cell_is_quoted_in_short(tmp_path: Path) -> None:
    tables = tiny()
    tables["States"]["max_troops"][0] = "9" * 3 + "x" * 5000
    output = refused(workbook(tmp_path, tables), "States!D2: max_troops must be a whole number", "(5,003 characters)")
    assert len(output) < 1000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=1e16, max_value=1.7e308) | st.floats(min_value=-1.7e308, max_value=-1e16))
def test_any_huge_number_is_reported_in_a_line_a_planner_can_read(number: float) -> None:
    tables = tiny()
    tables["States"]["max_troops"][1] = number
    tables["Sites"]["lat"][2] = number
    with pytest.raises(cowopt.InputError) as info:
        cowopt.from_tables(tables)
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 2, messages
    for message in messages:
        assert len(message) < 120 and not re.search(r"\d{17}", message), message
        assert f"got {number:.6g}" in message


@pytest.mark.parametrize("number,shown", [(10**400, "a number of about 401 digits"),
                                          (-(10**5000), "a negative number of about 5,001 digits")],
                         ids=["1e400", "-1e5000"])
def test_an_integer_beyond_any_float_in_tables_is_reported_not_a_crash(number: int, shown: str) -> None:
    tables = tiny()
    tables["States"]["max_troops"][0] = number
    tables["Sites"]["name"][0] = number  # a text column: str() of such an int may itself refuse
    with pytest.raises(cowopt.InputError) as info:
        cowopt.from_tables(tables)
    problems = [str(p) for p in info.value.problems]
    assert f"<tables> › States!D2: max_troops must be a whole number from 0 to 10000000, got {shown}" in problems
    assert len(problems) == 1 or problems[1] == f"<tables> › Sites!B2: name must be text, got {shown}"


SETTINGS_TWINS = [("budget_meur", "Budget_MEUR"), ("budget_meur", "BUDGET MEUR"), ("budget_meur", "budget  meur"),
                  ("time_limit_s", "Time Limit S"), ("mip_gap", "MIP_gap")]


@pytest.mark.parametrize("first,second", SETTINGS_TWINS)
def test_settings_keys_equal_but_for_case_or_spaces_are_an_error_naming_both_rows(tmp_path: Path, first, second) -> None:
    tables = tiny()
    keys = tables["Settings"]["key"]
    row_of_first = keys.index(first) + 2
    keys.append(second)
    tables["Settings"]["value"].append(5)
    refused(workbook(tmp_path, tables), f"Settings!A{len(keys) + 1}:",
            f"repeats {first} of row {row_of_first} (compared ignoring case and spaces)")


@pytest.mark.parametrize("sheet,existing,twin", [("Sites", "lat", "Lat"), ("Sites", "capacity_troops", "Capacity Troops"),
                                                 ("UnitTypes", "troops", " TROOPS "), ("States", "max_troops", "max troops"),
                                                 ("Inventory", "available", "Available")])
def test_a_column_written_twice_is_an_error_naming_both_header_cells(tmp_path: Path, sheet, existing, twin) -> None:
    def add_twin(book: openpyxl.Workbook) -> None:
        ws = book[sheet]
        header = [cell.value for cell in ws[1]]
        ws.cell(row=1, column=ws.max_column + 1, value=twin)
        assert existing in header

    path = edit(workbook(tmp_path), add_twin)
    book = openpyxl.load_workbook(path)
    column = [c.value for c in book[sheet][1]].index(existing)
    first, last = openpyxl.utils.get_column_letter(column + 1), openpyxl.utils.get_column_letter(book[sheet].max_column)
    refused(path, f"{sheet}!{last}1: column '{existing}' appears 2 times in the header row ({first}1 and {last}1")


@pytest.mark.parametrize("sheet,twin", [("States", "States "), ("States", " states"), ("EntryPoints", "Entry Points"),
                                        ("UnitTypes", "unit_types"), ("Settings", "SETTINGS ")])
def test_two_sheets_matching_after_case_and_spaces_are_an_error(tmp_path: Path, sheet, twin) -> None:
    def add_twin(book: openpyxl.Workbook) -> None:
        book.copy_worksheet(book[sheet]).title = twin

    refused(edit(workbook(tmp_path), add_twin), f"sheets '{sheet}' and '{twin}' both match the {sheet} sheet")


@pytest.mark.parametrize("change,message", [
    (lambda book: setattr(book.copy_worksheet(book["Deployments"]), "title", "deployments "),
     "sheets 'Deployments' and 'deployments ' both match the Deployments sheet"),
    (lambda book: book["Deployments"].cell(row=1, column=5, value="Count"),
     "plan.xlsx › Deployments!E1: column 'count' appears 2 times in the header row (D1 and E1)"),
])
def test_a_plan_with_twin_sheets_or_columns_is_refused_by_evaluate(tmp_path: Path, change, message) -> None:
    plan = edit(plan_file(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1)]), change)
    before = digest(plan)
    refused(workbook(tmp_path), message, command=("evaluate",), extra=(plan,), named=False)
    assert digest(plan) == before


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_an_identifier_typed_two_ways_in_unicode_is_the_same(tmp_path: Path) -> None:
    tables = with_rules(tiny())
    tables["States"]["state"][0] = "Türkiye"  # precomposed ü
    tables["Inventory"]["state"][:2] = [_nfd("Türkiye")] * 2  # u + combining diaeresis
    tables["Rules"]["state"][0] = _nfd("Türkiye")
    with_scenarios(tables, [(_nfd("ohne_Türkiye"), _nfd("eligible:Türkiye"), 0)])
    path = workbook(tmp_path, tables)
    assert _nfd("Türkiye").encode() in b"".join(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist())
    data = valid(path)
    assert list(data.inventory["state"][:2]) == ["Türkiye", "Türkiye"]
    assert data.rules.loc["R1", "state"] == "Türkiye"
    from cowopt.workbook import scenarios
    assert scenarios.apply(data, "ohne_Türkiye").states.loc["Türkiye", "eligible"] == 0


_LETTERS = "aeoucnAEOUCN" + "äöüéèñçÅÉØ"


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=_LETTERS, min_size=1, max_size=12), st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]),
       st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_state_names_match_in_any_unicode_normal_form(name: str, form_states: str, form_inventory: str) -> None:
    tables = tiny()
    tables["States"]["state"][1] = unicodedata.normalize(form_states, "Z" + name)
    tables["Inventory"]["state"][2:] = [unicodedata.normalize(form_inventory, "Z" + name)] * 2
    data = cowopt.from_tables(tables)
    assert set(data.inventory["state"]) <= set(data.states.index)
    assert data.states.index[1] == unicodedata.normalize("NFC", "Z" + name)


# --------------------------------------------------------------------------- class 5: one pass finds everything

BAD_SCENARIO_ROWS = [("s1", "budget_meur", "lots"), ("s1", "eligible:Nowhere", 0), ("s2", "available:Aland:tank", 3),
                     ("s2", "bogus_key", 1), ("s3", "max_troops:Aland", -5)]
SCENARIO_MESSAGES = ["Scenarios!C2: scenario s1: value for budget_meur must be a number",
                     "Scenarios!B3: scenario s1: state 'Nowhere' in key 'eligible:Nowhere' is not in the States sheet",
                     "Scenarios!B4: scenario s2: item 'tank' in key 'available:Aland:tank' is neither",
                     "Scenarios!B5: scenario s2: key 'bogus_key' is neither a Settings key",
                     "Scenarios!C6: scenario s3: value for max_troops:Aland must be a whole number"]
ELSEWHERE = [("States", "max_troops", 0, "many", "States!D2: max_troops"),
             ("Sites", "lat", 1, 200, "Sites!D3: lat"),
             ("Settings", "value", 0, "x", "Settings!B2: budget_meur"),
             ("Inventory", "available", 3, -1, "Inventory!C5: available"),
             ("UnitTypes", "troops", 1, "", "UnitTypes!C3: troops is blank"),
             ("Rules", "min_count", 0, 0.5, "Rules!G2: min_count")]


@pytest.mark.parametrize("sheet,column,index,value,message", ELSEWHERE)
def test_a_bad_cell_anywhere_does_not_hide_bad_scenario_rows(tmp_path: Path, sheet, column, index, value, message) -> None:
    tables = with_scenarios(with_rules(tiny()), BAD_SCENARIO_ROWS)
    tables[sheet][column][index] = value
    output = refused(workbook(tmp_path, tables), message, *SCENARIO_MESSAGES)
    assert f"{len(SCENARIO_MESSAGES) + 1} problem(s)" in output


@pytest.mark.parametrize("merge", ["F2:F3", "D1:E1"])
def test_merged_cells_do_not_hide_the_other_problems(tmp_path: Path, merge: str) -> None:
    tables = with_scenarios(tiny(), BAD_SCENARIO_ROWS[:2])
    tables["States"]["max_troops"][0] = "many"
    path = edit(workbook(tmp_path, tables), lambda book: book["Sites"].merge_cells(merge))
    output = refused(path, f"Sites!{merge}: cells {merge} are merged", "States!D2: max_troops", *SCENARIO_MESSAGES[:2])
    assert "Sites!F3: capacity_troops is blank" not in output  # cells under a merge: reported once, by range


SCENARIO_ORDERS = [("value", "scenario", "key"), ("key", "value", "scenario"), ("scenario", "value", "key"),
                   ("notes", "scenario", "key", "value"), ("value", "notes", "key", "scenario")]


@pytest.mark.parametrize("order", SCENARIO_ORDERS)
def test_scenario_cells_are_found_by_header_not_by_letter(tmp_path: Path, order: tuple) -> None:
    tables = with_scenarios(tiny(), [("ok", "budget_meur", 900), ("s1", "budget_meur", "lots"),
                                     ("s2", "bogus_key", 1)], order)
    key, value = (openpyxl.utils.get_column_letter(order.index(c) + 1) for c in ("key", "value"))
    refused(workbook(tmp_path, tables), f"Scenarios!{value}3: scenario s1: value for budget_meur",
            f"Scenarios!{key}4: scenario s2: key 'bogus_key'")


@pytest.mark.parametrize("first,second", [("budget_meur", "BUDGET_MEUR"), ("budget_meur", "Budget MEUR"),
                                          ("eligible:Aland", "Eligible:Aland"),
                                          ("available:Aland:sam", "AVAILABLE : Aland : sam")])
def test_one_scenario_setting_one_thing_twice_is_an_error(tmp_path: Path, first, second) -> None:
    tables = with_scenarios(tiny(), [("s1", first, 1), ("s2", first, 1), ("s1", second, 0)])
    refused(workbook(tmp_path, tables), f"Scenarios!B4: scenario s1: key '{second}' sets what '{first}' of row 2 "
            "already sets")


@pytest.mark.parametrize("sheet,above", [("States", ["Contributing states, spring 2025"]),
                                         ("Sites", ["Candidate sites", "source: planning cell"]),
                                         ("Settings", ["Settings"]), ("Inventory", ["note:", "", "see SOURCES.md"])])
def test_a_header_below_a_title_is_explained_as_such(tmp_path: Path, sheet, above) -> None:
    def add_title(book: openpyxl.Workbook) -> None:
        ws = book[sheet]
        ws.insert_rows(1, amount=len(above))
        for row, text in enumerate(above, start=1):
            ws.cell(row=row, column=1, value=text or None)

    output = refused(edit(workbook(tmp_path), add_title), f"{sheet}!1: the column names (",
                     f"are in row {len(above) + 1}, but the header must be the first row with content")
    assert "is missing from the header row" not in output  # one explanation, not one complaint per column


# --------------------------------------------------------------------------- class 8: special files


@pytest.fixture
def deadline():
    """A FIFO that is opened blocks forever: fail the test after 20 s instead of hanging the suite."""
    def timeout(*_):
        raise TimeoutError("blocked reading a special file")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


SPECIAL_CASES = [
    # (command, which argument is special, special file)
    (("validate", "{special}"), "fifo"),
    (("solve", "{special}", "--no-map", "-o", "{out}"), "fifo"),
    (("evaluate", "{special}", "{plan}"), "fifo"),
    (("evaluate", "{inputs}", "{special}"), "fifo"),
    (("solve", "{inputs}", "--fix", "{special}", "--no-map", "-o", "{out}"), "fifo"),
    (("sweep", "{special}", "--budgets", "500", "-o", "{out}"), "fifo"),
    (("validate", "{special}"), "/dev/zero"),
    (("validate", "{special}"), "/dev/null"),
    (("evaluate", "{inputs}", "{special}"), "/dev/urandom"),
    (("solve", "{inputs}", "--fix", "{special}", "--no-map", "-o", "{out}"), "/dev/zero"),
]


@pytest.mark.parametrize("command,special", SPECIAL_CASES)
def test_a_fifo_or_device_is_refused_at_once_never_read(tmp_path: Path, deadline, command, special) -> None:
    inputs = workbook(tmp_path)
    plan = plan_file(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1)])
    path = _fifo(tmp_path, "inputs-pipe.xlsx") if special == "fifo" else Path(special)
    args = [a.format(special=path, inputs=inputs, plan=plan, out=tmp_path / "out") for a in command]
    before = digest(inputs)
    result = cli(*args)
    assert result.exit_code == EXIT_INPUT, result.output
    kind = "a named pipe (FIFO)" if special == "fifo" else "a character device"
    assert f"{path.name}: is {kind}, not a workbook file" in " ".join(result.output.split()), result.output
    assert digest(inputs) == before and not (tmp_path / "out").exists()


def test_the_api_refuses_a_fifo_too(tmp_path: Path, deadline) -> None:
    with pytest.raises(cowopt.InputError, match="is a named pipe"):
        cowopt.load(_fifo(tmp_path, "p.xlsx"))


# --------------------------------------------------------------------------- class 9: silent misreadings warn

TYPO_COLUMNS = [("Sites", "has_airfield", "has_airfeild"), ("Sites", "deployable", "deployabel"),
                ("UnitTypes", "needs_port", "needs_prot"), ("UnitTypes", "min_frontline_km", "min_frontline_kms"),
                ("AirDefenceTypes", "ballistic_capable", "balistic_capable"), ("States", "combat_allowed", "combat_alowed")]


@pytest.mark.parametrize("sheet,column,typo", TYPO_COLUMNS)
def test_a_misspelt_contract_column_is_warned_with_did_you_mean(tmp_path: Path, sheet, column, typo) -> None:
    tables = tiny()
    tables[sheet] = {(typo if name == column else name): values for name, values in tables[sheet].items()}
    path = workbook(tmp_path, tables)
    letter = openpyxl.utils.get_column_letter(list(tables[sheet]).index(typo) + 1)
    expected = (f"{sheet}!{letter}1: column '{typo}' is not one cowopt reads, so its values are ignored "
                f"(did you mean '{column}'?)")
    assert expected in valid(path).warnings
    report = json.loads(cli("validate", path, "--json").output)
    assert expected in report["warnings"]


def test_a_misspelt_settings_key_is_warned_with_did_you_mean(tmp_path: Path) -> None:
    tables = tiny()
    tables["Settings"]["key"][3] = "frontline_bufer_km"
    assert any("did you mean 'frontline_buffer_km'" in w for w in valid(workbook(tmp_path, tables)).warnings)


SWAPS = [("Sites", 1, "Sites!D3: site S2 at lat 30, lon 48", "are lat and lon swapped?"),
         ("Infrastructure", 0, "Infrastructure!D2: asset A1 at lat 30, lon 47.1", "are lat and lon swapped?"),
         ("EntryPoints", 0, "EntryPoints!C2: entry point E1 at lat 50, lon -30", "a lost minus sign?"),
         ("Frontline", 1, "Frontline!C3: frontline point F at lat 30.5, lon 46", "are lat and lon swapped?")]


@pytest.mark.parametrize("sheet,index,where,hint", SWAPS)
def test_a_place_far_outside_the_others_is_warned(tmp_path: Path, sheet, index, where, hint) -> None:
    tables = tiny()
    lat, lon = tables[sheet]["lat"][index], tables[sheet]["lon"][index]
    tables[sheet]["lat"][index], tables[sheet]["lon"][index] = (lat, -lon) if sheet == "EntryPoints" else (lon, lat)
    warnings = [w for w in valid(workbook(tmp_path, tables)).warnings if "km from the middle" in w]
    assert len(warnings) == 1 and warnings[0].startswith(where) and hint in warnings[0], warnings


def test_the_shipped_example_and_the_tiny_instance_raise_no_place_warning(example_path: Path) -> None:
    assert cowopt.load(example_path).warnings == ()
    assert cowopt.from_tables(tiny()).warnings == ()


@pytest.mark.parametrize("line_id,hint", [("G", ""), ("f", " (did you mean line 'F'?)")])
def test_a_frontline_of_a_single_point_is_warned(tmp_path: Path, line_id: str, hint: str) -> None:
    tables = tiny()
    for column, value in (("line_id", line_id), ("seq", 3), ("lat", 46.0), ("lon", 31.0)):
        tables["Frontline"][column].append(value)
    data = valid(workbook(tmp_path, tables))
    assert (f"Frontline!A4: line '{line_id}' has a single point (row 4), so it is read as a point that units keep "
            f"their distance from, not as a line; give every line two points or more{hint}") in data.warnings


def test_warnings_reach_the_terminal_the_json_and_the_summary_sheet(tmp_path: Path) -> None:
    tables = tiny()
    tables["Sites"] = {("has_airfeild" if c == "has_airfield" else c): v for c, v in tables["Sites"].items()}
    path = workbook(tmp_path, tables)
    result = cli("solve", path, "-o", tmp_path / "out", "--no-map", "--json")
    assert result.exit_code == EXIT_OK, result.output
    warning = "Sites!G1: column 'has_airfeild' is not one cowopt reads, so its values are ignored (did you mean 'has_airfield'?)"
    assert warning in json.loads(result.stdout)["warnings"]
    summary = openpyxl.load_workbook(tmp_path / "out" / "plan.xlsx")["Summary"]
    rows = [tuple(c.value for c in row[:3]) for row in summary.iter_rows(min_row=4)]
    assert ("warning", warning, "see the Warnings sheet") in rows


# --------------------------------------------------------------------------- class 10: clear messages


@pytest.mark.parametrize("command", [("validate",), ("solve", "--no-map", "-o", "{out}"), ("evaluate", "{plan}")])
def test_no_unit_and_no_air_defence_type_is_an_input_error(tmp_path: Path, command: tuple) -> None:
    tables = tiny()
    for sheet in ("UnitTypes", "AirDefenceTypes"):
        tables[sheet] = {column: [] for column in tables[sheet]}
    tables["Inventory"] = {column: [] for column in tables["Inventory"]}
    plan = plan_file(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1)])
    name, *rest = command
    path = workbook(tmp_path, tables)
    refused(path, "UnitTypes: UnitTypes and AirDefenceTypes are both empty",
            command=(name,), extra=tuple(a.format(out=tmp_path / "out", plan=plan) for a in rest))


FIX_CASES = [
    ([("Aland", "sam", "S1", 1), ("Narnia", "sam", "S1", 1)],
     "plan.xlsx › Deployments!A3: cannot keep 1 sam of Narnia at S1: state 'Narnia' is not in the States sheet"),
    ([("Aland", "battalion", "S3", 1)], "plan.xlsx › Deployments!A2: cannot keep 1 battalion of Aland at S3:"),
    ([("Aland", "hospital", "S1", 1), ("Aland", "hospital", "S1", 1)],
     "plan.xlsx › Deployments!A2: cannot keep 2 hospital of Aland at S1 (rows A2, A3):"),
    ([("Aland", "sam", "S9", 1)], "plan.xlsx › Deployments!A2: cannot keep 1 sam of Aland at S9: site 'S9' is not"),
]


@pytest.mark.parametrize("rows,message", FIX_CASES)
def test_fix_problems_name_the_plan_file_and_row(tmp_path: Path, rows, message) -> None:
    plan = plan_file(tmp_path / "plan.xlsx", rows)
    before = digest(plan)
    refused(workbook(tmp_path), message, command=("solve",), extra=("--fix", plan, "--no-map", "-o", tmp_path / "out"),
            named=False)
    assert digest(plan) == before and not (tmp_path / "out" / "plan.xlsx").exists()


def test_a_nan_count_in_a_fix_plan_is_named_by_file_and_cell(tmp_path: Path) -> None:
    plan = set_xml_cell(plan_file(tmp_path / "plan.xlsx", [("Aland", "sam", "S1", 1)]), "Deployments", "D2", "NaN")
    refused(workbook(tmp_path), "plan.xlsx › Deployments!D2: count must be a whole number from 0 to 100000, got NaN",
            command=("solve",), extra=("--fix", plan, "--no-map", "-o", tmp_path / "out"), named=False)
