"""Reading the Deployments sheet of a plan workbook a planner may have edited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data import _blank, convert_cell
from .errors import InputError, Problem
from .schema import ID, INT, Column
from .workbook import read_sheets

PLAN_COLUMNS = (
    Column("state", ID, "State."),
    Column("item", ID, "unit_type or ad_type."),
    Column("site_id", ID, "Site."),
    Column("count", INT, "Number of units.", minimum=0, maximum=100_000),
)


def read_plan(path: Path) -> pd.DataFrame:
    """state, item, site_id, count and `_cell` (where the row is, for messages)."""
    sheets = read_sheets(path)
    sheet = next((s for name, s in sheets.items() if name.strip().lower() == "deployments"), None)
    if sheet is None:
        raise InputError([Problem(path.name, "Deployments", None, "sheet 'Deployments' is missing; expected a plan "
                                  "workbook written by cowopt solve (columns state, item, site_id, count)")])
    problems = [Problem(path.name, "Deployments", "1", f"column '{c.name}' is missing from the header row")
                for c in PLAN_COLUMNS if c.name not in sheet.columns]
    if problems:
        raise InputError(problems)
    rows = []
    for number, values in sheet.rows:
        record = {"cell_ref": f"{path.name} › Deployments!A{number}"}
        for column in PLAN_COLUMNS:
            cell = sheet.cell(number, column.name)
            value = sheet.value(values, column.name)
            if cell in sheet.uncached_formulas:
                problems.append(Problem(path.name, "Deployments", cell, "holds a formula with no saved value; "
                                        "open and save the plan in Excel or LibreOffice"))
                continue
            if _blank(value):
                problems.append(Problem(path.name, "Deployments", cell, f"{column.name} is blank; expected {column.expected}"))
                continue
            converted, wrong = convert_cell(value, column)
            if wrong:
                problems.append(Problem(path.name, "Deployments", cell, f"{column.name} {wrong}"))
            record[column.name] = converted
        rows.append(record)
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(rows, columns=["state", "item", "site_id", "count", "cell_ref"])
    return frame[frame["count"] > 0].reset_index(drop=True)


def fixed_from_plan(path: Path) -> dict:
    """(state, item, site_id) -> count, summed over rows, for `solve --fix`."""
    table = read_plan(path)
    return {k: int(v) for k, v in table.groupby(["state", "item", "site_id"])["count"].sum().items()}
