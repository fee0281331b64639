"""Property: whatever a planner (or a careless script) types into a valid workbook, `cowopt solve`
never shows a traceback, exits with a documented status, leaves the input untouched, and any plan
it writes is feasible by an independent recomputation.

Each example takes the tiny fixture as a plain workbook (one sheet per table, header in row 1:
what a planner's own file looks like, and 5x faster to edit than the annotated template), changes
1–3 random cells with openpyxl (any data sheet, any row including the header and the row below
the data, any column including one beyond the table) to junk text, huge/negative/NaN/inf numbers,
blanks, formulas (openpyxl stores no value for them), dates or booleans, and runs the CLI on it.
COWOPT_PROPERTY_EXAMPLES raises the number of examples for a longer hunt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import cowopt
from cowopt.cli.main import main

DOCUMENTED_EXITS = {0, 2, 3, 4}
DATA_SHEETS = ["Settings", "States", "UnitTypes", "AirDefenceTypes", "Inventory", "Sites", "Infrastructure",
               "CapabilityWeights", "EntryPoints", "Frontline", "Routes", "Rules"]
OPTIONAL_HEADERS = {
    "Routes": ["entry_id", "site_id", "distance_km"],
    "Rules": ["rule_id", "state", "item", "capability", "site_id", "region", "min_count", "max_count", "hard", "penalty"],
}
EXAMPLES = int(os.environ.get("COWOPT_PROPERTY_EXAMPLES", "60"))

_junk_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
CELL_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "   ", "NA", "007", " Aland ", "Borduria", "S1", "sam", "battalion", "1 000", "40%", "1e3",
                     "nan", "inf", "-inf", "TRUE", "yes", "x", "-0", "1,0.5", "hospital", "E1", "F"]),
    _junk_text,
    st.integers(min_value=-(10**16), max_value=10**16),
    st.integers(min_value=0, max_value=6000),  # plausible values: these reach the solver and its statuses
    st.sampled_from([1e15, -5, -1, 0, 1, 2, 3, 0.5, 2000, 1e308, -1e308, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["=1/0", "=A1", "=1000*2", "=SUM(1,2)", "=NA()", '="x"', "=B2", "=#REF!"]),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.booleans(),
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Number cells of the base workbook (sheet, rows, column): plausible edits there reach the solver,
# so plans, infeasible inputs (exit 3) and the recomputation get exercised, not only refusals.
NUMBER_CELLS = [("Settings", (2, 4), 2), ("Settings", (4, 4), 2), ("States", (2, 3), 4), ("Sites", (2, 4), 6), ("Inventory", (2, 5), 3),
                ("UnitTypes", (2, 3), 3), ("UnitTypes", (2, 3), 4), ("AirDefenceTypes", (2, 2), 3),
                ("EntryPoints", (2, 2), 5)]
# spread over the scales that matter in the tiny instance (the force can send at most 1,600 troops)
PLAUSIBLE = [0, 1, 2, 3, 50, 100, 200, 300, 500, 700, 1000, 1100, 1500, 1600, 1601, 2000, 2500, 3000, 4000, 5000, 6000]


@st.composite
def any_change(draw) -> tuple[str, int, int, object]:
    """Any cell of a data sheet, including the header row, the row below the data and a column beyond it."""
    return draw(st.sampled_from(DATA_SHEETS)), draw(st.integers(1, 6)), draw(st.integers(1, 11)), draw(CELL_VALUES)


@st.composite
def plausible_change(draw) -> tuple[str, int, int, object]:
    sheet, (first, last), column = draw(st.sampled_from(NUMBER_CELLS))
    value = draw(st.one_of(st.integers(0, 6000), st.sampled_from(PLAUSIBLE)))
    return sheet, draw(st.integers(first, last)), column, value


def mutations() -> st.SearchStrategy[list[tuple[str, int, int, object]]]:
    """1–3 (sheet, row, column, value); rows and columns are 1-based."""
    return st.lists(st.one_of(any_change(), plausible_change(), plausible_change()), min_size=1, max_size=3)


@pytest.fixture
def tiny_base(tmp_path: Path, tiny_tables: dict) -> Path:
    """The valid tiny workbook, written once per test run; each example edits its own copy."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, table in tiny_tables.items():
        sheet = book.create_sheet(name)
        sheet.append(list(table))
        for row in zip(*table.values()):
            sheet.append(list(row))
    for name, header in OPTIONAL_HEADERS.items():  # present and empty, so that edits can land in them
        book.create_sheet(name).append(header)
    book.save(tmp_path / "base.xlsx")
    return tmp_path / "base.xlsx"


def _apply(path: Path, changes: list[tuple[str, int, int, object]]) -> None:
    book = openpyxl.load_workbook(path)
    for sheet, row, column, value in changes:
        book[sheet].cell(row=row, column=column).value = value  # "=..." becomes a formula without a value
    book.save(path)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


# Bugs found by this test in modules other than workbook.py: each has its own xfail test below,
# and the property skips the inputs that trigger it until it is fixed.
ITEM_NAMES = {"battalion", "hospital", "sam"}
DATA_ROWS = {"UnitTypes": 3, "AirDefenceTypes": 2}  # last row holding data in the base workbook


def _unreadable(value: object) -> bool:
    """A cell the reader turns into 'no value': blank, a formula openpyxl left uncalculated, a date in a text column."""
    return _blank(value) or (isinstance(value, str) and value.startswith("=")) or isinstance(value, dt.date)


def _blank_settings_key(changes: list) -> bool:
    return any((sheet, column) == ("Settings", 1) and row > 1 and _unreadable(value)
               for sheet, row, column, value in changes)


def _item_names_clash(changes: list) -> bool:
    """A unit_type named like an ad_type (or the reverse), or blank item names in both sheets."""
    renamed = any(sheet in DATA_ROWS and row > 1 and column == 1 and str(value).strip() in ITEM_NAMES
                  for sheet, row, column, value in changes)
    blank_in = {sheet for sheet, row, column, value in changes if sheet in DATA_ROWS and row > 1
                and ((column == 1 and _unreadable(value)) or row > DATA_ROWS[sheet])}
    return renamed or blank_in == set(DATA_ROWS)


KNOWN_BUGS: dict = {}  # name -> predicate on the changes, for a bug found but not yet fixed (none now)


def _known_bug(changes: list[tuple[str, int, int, object]]) -> str | None:
    return next((name for name, hits in KNOWN_BUGS.items() if hits(changes)), None)


def _plain_number(value: object) -> float | None:
    """A number cell as a spreadsheet stores it; None for anything the independent check won't interpret."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _by_id(frame: pd.DataFrame, key: str, value: str) -> dict[str, float | None]:
    if key not in frame or value not in frame:
        return {}
    return {str(k).strip(): _plain_number(v) for k, v in zip(frame[key], frame[value]) if str(k).strip()}


def _per_unit(items: pd.Series, table: dict[str, float | None]) -> list[float]:
    return [math.nan if table.get(item) is None else table[item] for item in items]


def check_plan_independently(inputs: Path, plan: Path) -> None:
    """Re-derive troops and unit cost from the input cells and the plan's Deployments, not from cowopt.

    Only cells holding plain numbers are interpreted here (a limit typed as text is skipped: the
    scorer's own check, `cowopt.evaluate`, covers those).
    """
    sheets = pd.read_excel(inputs, sheet_name=None, engine="calamine", dtype=object)
    deployments = pd.read_excel(plan, sheet_name="Deployments", engine="calamine", dtype=object)
    if deployments.empty:
        return
    units, defences = sheets["UnitTypes"], sheets["AirDefenceTypes"]
    troops = {**_by_id(units, "unit_type", "troops"), **_by_id(defences, "ad_type", "crew")}
    cost = {**_by_id(units, "unit_type", "cost_meur"), **_by_id(defences, "ad_type", "cost_meur")}
    counts = deployments["count"].astype(float)
    deployments["men"] = counts * _per_unit(deployments["item"], troops)
    deployments["meur"] = counts * _per_unit(deployments["item"], cost)
    for sheet, key, column in (("States", "state", "max_troops"), ("Sites", "site_id", "capacity_troops")):
        limit = _by_id(sheets[sheet], key, column)
        for name, men in deployments.groupby(key)["men"].sum(min_count=1).items():
            cap = limit.get(str(name))
            assert cap is None or math.isnan(men) or men <= cap + 1e-6, f"{key} {name}: {men} troops > {cap}"
    budget = _by_id(sheets["Settings"], "key", "value").get("budget_meur")
    total = deployments["meur"].sum(min_count=1)  # transport comes on top: the unit cost alone must fit
    assert budget is None or math.isnan(total) or total <= budget + 1e-6, f"unit cost {total} > budget {budget}"


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=mutations())
def test_any_cell_edit_gives_a_clean_outcome(tmp_path: Path, tiny_base: Path, changes) -> None:
    assume(_known_bug(changes) is None)
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    inputs = work / "inputs.xlsx"
    inputs.write_bytes(tiny_base.read_bytes())
    _apply(inputs, changes)
    before = sha256(inputs)
    out = work / "out"

    result = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(out), "--no-map", "--time-limit", "5"])

    event(f"exit {result.exit_code}")
    assert result.exit_code in DOCUMENTED_EXITS, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert sha256(inputs) == before
    plan = out / "plan.xlsx"
    if result.exit_code != 0:
        assert not plan.exists()
        assert (out / "diagnosis.xlsx").exists() == (result.exit_code == 3)
        return
    evaluation = cowopt.evaluate(inputs, plan)
    assert evaluation.score.violations == [], evaluation.score.violations
    check_plan_independently(inputs, plan)


def _solve_edited(tmp_path: Path, tiny_base: Path, changes: list) -> object:
    inputs = tmp_path / "edited.xlsx"
    inputs.write_bytes(tiny_base.read_bytes())
    _apply(inputs, changes)
    return CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "out"), "--no-map"])


@pytest.mark.parametrize(("key", "message"), [
    (None, "Settings!A2: key is blank; expected an identifier (text)"),
    ("=CONCAT(\"budget\",\"_meur\")", "Settings!A2: key holds a formula with no saved value"),
    (dt.date(2025, 4, 15), "Settings!A2: key must be an identifier (text), got a date/time"),
], ids=["blank", "uncalculated-formula", "date"])
def test_a_settings_key_without_a_value_is_reported_not_a_crash(tmp_path: Path, tiny_base: Path, key, message) -> None:
    result = _solve_edited(tmp_path, tiny_base, [("Settings", 2, 1, key)])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_unit_type_named_like_an_air_defence_type_is_reported(tmp_path: Path, tiny_base: Path) -> None:
    result = _solve_edited(tmp_path, tiny_base, [("UnitTypes", 3, 1, "sam")])
    assert result.exit_code == 2, result.output
    assert "UnitTypes!A3: 'sam' is both a unit_type and an ad_type" in result.output
