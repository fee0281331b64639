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
from hypothesis import HealthCheck, event, given, settings
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
    st.sampled_from([1e15, -5, -1, 0, 1, 2, 3, 0.5, 2000, 1e308, -1e308, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["=1/0", "=A1", "=1000*2", "=SUM(1,2)", "=NA()", '="x"', "=B2", "=#REF!"]),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.booleans(),
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@st.composite
def mutations(draw) -> list[tuple[str, int, int, object]]:
    """1–3 (sheet, row, column, value); rows and columns are 1-based and may fall just outside the table."""
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        sheet = draw(st.sampled_from(DATA_SHEETS))
        changes.append((sheet, draw(st.integers(1, 6)), draw(st.integers(1, 11)), draw(CELL_VALUES)))
    return changes


@pytest.fixture
def tiny_bytes(tmp_path: Path, tiny_tables: dict) -> bytes:
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
    return (tmp_path / "base.xlsx").read_bytes()


def _apply(path: Path, changes: list[tuple[str, int, int, object]]) -> None:
    book = openpyxl.load_workbook(path)
    for sheet, row, column, value in changes:
        book[sheet].cell(row=row, column=column).value = value  # "=..." becomes a formula without a value
    book.save(path)


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
def test_any_cell_edit_gives_a_clean_outcome(tmp_path: Path, tiny_bytes: bytes, changes) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    inputs = work / "inputs.xlsx"
    inputs.write_bytes(tiny_bytes)
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
        return
    evaluation = cowopt.evaluate(inputs, plan)
    assert evaluation.score.violations == [], evaluation.score.violations
    check_plan_independently(inputs, plan)
