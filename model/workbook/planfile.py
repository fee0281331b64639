"""Reading the Deployments sheet of a plan workbook a planner may have edited."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from cowopt.workbook.cells import blank as _blank
from cowopt.workbook.cells import convert_cell
from cowopt.errors import InputError, Problem
from cowopt.workbook.schema import ID, INT, Column
from cowopt.workbook.files import column_letter, read_sheets, sheet_key

PLAN_COLUMNS = (
    Column("state", ID, "State."),
    Column("item", ID, "unit_type or ad_type."),
    Column("site_id", ID, "Site."),
    Column("count", INT, "Number of units.", minimum=0, maximum=100_000),
)

STAGE_COLUMNS = ("arrival_stage", "leave_stage")  # optional: a staged plan's rows (blank: first stage / stays)


class PlanRowKey(tuple):
    """A (state, item, site_id) key of `fixed_from_plan` that also knows the plan rows it sums.

    It hashes and compares as the plain tuple (the model indexes by it unchanged); `rows` lets a
    later check (api._check_fixed) name the plan file and rows behind a deployment it refuses.
    """

    rows: tuple[str, ...] = ()
    file: str = ""
    # a staged plan's rows (issue 14): (count, arrival_stage, leave_stage, row), None = blank
    stages: tuple = ()

    def __new__(cls, key: tuple, file: str, rows: tuple[str, ...], stages: tuple = ()):
        made = super().__new__(cls, key)
        made.file, made.rows, made.stages = file, rows, stages
        return made

    def __getnewargs__(self):
        return tuple(self), self.file, self.rows, self.stages


def read_plan(path: Path) -> pd.DataFrame:
    """state, item, site_id, count and `_cell` (where the row is, for messages)."""
    sheets = read_sheets(path)
    matches = [s for name, s in sheets.items() if sheet_key(name) == "deployments"]
    if not matches:
        raise InputError([Problem(path.name, "Deployments", None, "sheet 'Deployments' is missing; expected a plan "
                                  "workbook written by cowopt solve (columns state, item, site_id, count)")])
    sheet = matches[0]
    problems = [Problem(path.name, "Deployments", str(sheet.header_row),
                        f"column '{c.name}' is missing from the header row")
                for c in PLAN_COLUMNS if c.name not in sheet.columns]
    problems += sheet.problems  # merged cells, reported with the rest
    if len(matches) > 1:
        problems.append(Problem(path.name, None, None, "sheets " + " and ".join(f"'{s.name}'" for s in matches)
                                + " both match the Deployments sheet (names are compared ignoring case and spaces); "
                                "rename or delete all but one"))
    for key, indices in sheet.duplicate_columns.items():
        if key in {c.name for c in PLAN_COLUMNS}:
            cells = " and ".join(f"{column_letter(i)}{sheet.header_row}" for i in indices)
            problems.append(Problem(path.name, "Deployments", f"{column_letter(indices[1])}{sheet.header_row}",
                                    f"column '{key}' appears {len(indices)} times in the header row ({cells}); "
                                    "keep one and rename or delete the others"))
    if problems:
        raise InputError(problems)
    rows = []
    for number, values in sheet.rows:
        record = {"cell_ref": f"{path.name} › Deployments!{sheet.cell(number, 'state')}"}
        for column in PLAN_COLUMNS:
            cell = sheet.cell(number, column.name)
            value = sheet.value(values, column.name)
            if cell in sheet.merged_cells:  # reported once, by range
                continue
            if cell in sheet.uncached_formulas:
                problems.append(Problem(path.name, "Deployments", cell, "holds a formula with no saved value; "
                                        "open and save the plan in Excel or LibreOffice"))
                continue
            stored_nan = isinstance(value, float) and math.isnan(value)  # not blank: convert_cell refuses it
            if _blank(value) and not stored_nan:
                problems.append(Problem(path.name, "Deployments", cell, f"{column.name} is blank; expected {column.expected}"))
                continue
            converted, wrong = convert_cell(value, column)
            if wrong:
                problems.append(Problem(path.name, "Deployments", cell, f"{column.name} {wrong}"))
            record[column.name] = converted
        for name in STAGE_COLUMNS:  # staged plans (issue 14): text, checked against Stages by the staged scorer
            if name in sheet.columns:
                value = sheet.value(values, name)
                record[name] = None if _blank(value) else str(value).strip()
        rows.append(record)
    if problems:
        raise InputError(problems)
    staged = [name for name in STAGE_COLUMNS if name in sheet.columns]
    frame = pd.DataFrame(rows, columns=["state", "item", "site_id", "count", "cell_ref", *staged])
    return frame[frame["count"] > 0].reset_index(drop=True)


def fixed_from_plan(path: Path) -> dict:
    """(state, item, site_id) -> count, summed over rows, for `solve --fix`; each key is a
    PlanRowKey naming the rows it came from (and, from a staged plan, each row's stages)."""
    path = Path(path)
    table = read_plan(path)
    fixed = {}
    staged = "arrival_stage" in table or "leave_stage" in table
    for key, group in table.groupby(["state", "item", "site_id"], sort=True):
        rows = tuple(ref.rpartition("!")[2] for ref in group["cell_ref"])
        stages = ()
        if staged:  # each row keeps its stage: a staged solve pins it from its arrival stage on
            stages = tuple((int(c), group["arrival_stage"].iloc[i] if "arrival_stage" in group else None,
                            group["leave_stage"].iloc[i] if "leave_stage" in group else None, rows[i])
                           for i, c in enumerate(group["count"]))
        fixed[PlanRowKey(key, path.name, rows, stages)] = int(group["count"].sum())
    return fixed
