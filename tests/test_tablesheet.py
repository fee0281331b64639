"""report.tablesheet writes a table body byte for byte as the per-cell path does (issue 17)."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pandas as pd
import pytest
import xlsxwriter

from cowopt.report import plan
from cowopt.report.tablesheet import TableSheet, plain

OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
           "nan_inf_to_errors": True}


def _awkward() -> pd.DataFrame:
    """Every kind of value plan._write_cell meets, with blanks that change the row spans."""
    n = 40
    text = ["a", " lead", "x<y & \"z\"\n", "", "=cmd|' /C calc'!A0", "Київ", "a"] * 6
    mixed = [None, np.nan, 3, np.int64(4), np.float64(2.5), True, np.bool_(False), "s", (1, "b"), 1e-300] * 4
    late = [None] * 20 + [float(i) for i in range(20)]
    return pd.DataFrame({
        "site_id": text[:n],
        "count": list(range(n)),               # formatted "#,##0"
        "value": np.linspace(-1.5, 1e17, n),   # formatted floats, big and small
        "mixed": mixed[:n],                    # object column, no format
        "share": [0.25, float("nan")] * 20,    # formatted, NaN becomes a formatted blank
        "late": late,                          # unformatted: no cells in the first 20 rows
        "empty": [None] * n,                   # unformatted and empty: no cells at all
        "flag": [True, False] * 20,
    })


def _book(path, frame: pd.DataFrame, bulk: bool) -> None:
    book = xlsxwriter.Workbook(str(path), OPTIONS)
    book.set_properties({"created": pd.Timestamp("2024-01-01").to_pydatetime()})
    styles = plan._styles(book)
    other = book.add_worksheet("Before")
    other.write_string(0, 0, "a")  # shared strings from an earlier sheet come first
    if bulk:
        plan._table(book, styles, "Table", frame, note="a note", highlight=("site_id", "a", "bad"))
    else:  # the per-cell path, as plan._table wrote every table before issue 17
        sheet = book.add_worksheet("Table")
        columns = [str(c) for c in frame.columns]
        sheet.write_row(0, 0, columns, styles["header"])
        sheet.freeze_panes(1, 0)
        for j, column in enumerate(columns):
            fmt = styles.get(plan._FORMATS.get(column, "0.0%" if column.startswith("share_") else ""), None)
            values = frame.iloc[:, j].tolist()
            for i, value in enumerate(values, start=1):
                if isinstance(value, tuple):
                    value = ", ".join(map(str, value))
                plan._write_cell(sheet, i, j, value, fmt)
            width = max([len(column)] + [len(plan._shown(v)) for v in values[:500]]) + 2
            sheet.set_column(j, j, min(max(width, 8), 60))
        if len(frame):
            sheet.autofilter(0, 0, len(frame), len(columns) - 1)
            sheet.conditional_format(1, 0, len(frame), len(columns) - 1,
                                     plan._row_rule(columns.index("site_id"), "a", styles["bad"]))
        sheet.write_comment(0, 0, "a note", {"x_scale": 2.5, "y_scale": 1.2})
        plan._print_setup(sheet)
        sheet.repeat_rows(0)
    book.add_worksheet("After").write_string(0, 0, "a later string")
    book.close()


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.startswith("docProps/")}


@pytest.mark.parametrize("rows", [slice(None), slice(0, 0), slice(0, 1), slice(0, 17), slice(25, 40)])
def test_bulk_body_is_byte_identical_to_per_cell_writes(tmp_path, rows):
    frame = _awkward().iloc[rows].reset_index(drop=True)
    _book(tmp_path / "cells.xlsx", frame, bulk=False)
    _book(tmp_path / "bulk.xlsx", frame, bulk=True)
    cells, bulk = _members(tmp_path / "cells.xlsx"), _members(tmp_path / "bulk.xlsx")
    assert cells.keys() == bulk.keys()
    for name in cells:
        assert bulk[name] == cells[name], name
    if len(frame) == 40:  # the comparison is of real cells, not of two empty sheets
        sheet = bulk["xl/worksheets/sheet2.xml"]
        assert b'<c r="C41" s="' in sheet and b"<v>1E+17</v></c>" in sheet and b'<c r="F22"><v>0</v></c>' in sheet


def test_infinite_and_huge_values_go_cell_by_cell(tmp_path):
    assert plain([1, 2.5, None, float("nan"), "x", True])
    assert not plain([1.0, math.inf])
    assert not plain([np.float64(-np.inf)])
    assert not plain(["x" * 20_000])
    frame = pd.DataFrame({"value": [1.0, math.inf, -math.inf, float("nan")]})
    _book(tmp_path / "cells.xlsx", frame.assign(site_id="a"), bulk=False)
    _book(tmp_path / "bulk.xlsx", frame.assign(site_id="a"), bulk=True)
    assert _members(tmp_path / "bulk.xlsx") == _members(tmp_path / "cells.xlsx")
    assert b"#DIV/0!" in _members(tmp_path / "bulk.xlsx")["xl/worksheets/sheet2.xml"]


def test_bulk_table_reads_back(tmp_path):
    frame = _awkward()
    _book(tmp_path / "bulk.xlsx", frame, bulk=True)
    back = pd.read_excel(tmp_path / "bulk.xlsx", sheet_name="Table", engine="openpyxl")
    assert list(back.columns) == list(frame.columns)
    assert back["count"].tolist() == list(range(40))
    assert back["value"].tolist() == pytest.approx(frame["value"].tolist())
    assert back["site_id"].fillna("").tolist()[:4] == ["a", " lead", "x<y & \"z\"\n", ""]
    assert back["mixed"].tolist()[8] == "1, b"
    assert back["late"].isna().sum() == 20 and back["late"].iloc[-1] == 19.0
    assert isinstance(TableSheet(), xlsxwriter.worksheet.Worksheet)
