"""Reading a workbook into raw sheets, safely; writing files atomically.

No model logic here. A workbook is checked before it is parsed (is it a zip, is it encrypted,
does it inflate beyond reason), then read with python-calamine (cached cell values, ~10x
faster than openpyxl). Formula cells that carry no cached value (files written by tools that
do not compute formulas) are found in the sheet XML and reported by cell, never read as blank.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, Problem

# A planner's workbook is a few MB at most; these limits only stop hostile or broken files.
MAX_UNCOMPRESSED_BYTES = 512 * 1024**2
MAX_COMPRESSION_RATIO = 250
MAX_ROWS_PER_SHEET = 250_000

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted xlsx and legacy .xls


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class RawSheet:
    """A sheet as the planner wrote it: header names and rows of cell values.

    `rows` holds (excel_row_number, values) for every non-empty row below the header;
    `columns` maps a normalised header name to its 0-based column index.
    """

    name: str
    columns: dict[str, int]
    rows: list[tuple[int, list[object]]]
    uncached_formulas: set[str] = field(default_factory=set)  # cell refs like "C4"

    def cell(self, row_number: int, column: str) -> str:
        return f"{column_letter(self.columns[column])}{row_number}"

    def header_cell(self, column: str) -> str:
        return f"{column_letter(self.columns[column])}1"

    def value(self, values: list[object], column: str) -> object:
        index = self.columns.get(column)
        if index is None or index >= len(values):
            return ""
        return values[index]


def normalise_header(text: object) -> str:
    return str(text).strip().lower().replace(" ", "_")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_container(path: Path) -> None:
    """Refuse, before any parsing, what is not a plain .xlsx or would inflate beyond reason."""
    name = path.name

    def fail(message: str) -> InputError:
        return InputError([Problem(name, None, None, message)])

    if not path.exists():
        raise fail("file not found")
    if path.is_dir():
        raise fail("is a folder, expected an .xlsx workbook")
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(_OLE_MAGIC):
        raise fail(
            "is password-protected/encrypted or an old .xls file; save it as an .xlsx "
            "workbook without a password"
        )
    if not magic.startswith(_ZIP_MAGIC):
        raise fail("is not an Excel workbook (.xlsx); save it from Excel or LibreOffice as .xlsx")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise fail("is damaged: not a readable .xlsx (zip) file") from None
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise fail(
            f"would inflate to {total / 1024**2:,.0f} MB when opened (limit "
            f"{MAX_UNCOMPRESSED_BYTES / 1024**2:,.0f} MB); refusing to read it"
        )
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO and info.file_size > 10 * 1024**2:
            raise fail(
                f"part {info.filename} inflates {info.file_size / info.compress_size:,.0f}-fold "
                f"to {info.file_size / 1024**2:,.0f} MB: looks like a zip bomb; refusing to read it"
            )
    if not any(info.filename == "xl/workbook.xml" for info in infos):
        raise fail("is a zip file but not an Excel workbook (no xl/workbook.xml)")


_SHEET_RE = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"|<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL_RE = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"|<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF_RE = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_VALUE_RE = re.compile(rb"<(?:\w+:)?v>\s*[^<\s]", re.S)
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f\b")


def _unescape(raw: bytes) -> str:
    from xml.sax.saxutils import unescape

    return unescape(raw.decode("utf-8"), {"&quot;": '"', "&apos;": "'"})


def find_uncached_formulas(path: Path) -> dict[str, set[str]]:
    """Cells holding a formula with no saved value, by sheet name.

    Tools such as openpyxl write formulas without computing them; reading the cached value
    would silently give a blank. Excel and LibreOffice always save the value.
    """
    found: dict[str, set[str]] = {}
    with zipfile.ZipFile(path) as archive:
        workbook_xml = archive.read("xl/workbook.xml")
        try:
            rels_xml = archive.read("xl/_rels/workbook.xml.rels")
        except KeyError:
            return found
        targets = {}
        for m in _REL_RE.finditer(rels_xml):
            rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
            target = target.decode()
            targets[rid] = target.lstrip("/") if target.startswith("/") else "xl/" + target
        for m in _SHEET_RE.finditer(workbook_xml):
            name, rid = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(4), m.group(3))
            part = targets.get(rid)
            if part is None or part not in archive.namelist():
                continue
            xml = archive.read(part)
            if not _FORMULA_RE.search(xml):
                continue
            cells = set()
            for cell in _CELL_RE.finditer(xml):
                body = cell.group(2) or b""
                if _FORMULA_RE.search(body) and not _VALUE_RE.search(body) and b"<is>" not in body:
                    ref = _REF_RE.search(cell.group(1))
                    if ref:
                        cells.add(ref.group(1).decode())
            if cells:
                found[_unescape(name)] = cells
    return found


def read_sheets(path: Path) -> dict[str, RawSheet]:
    """Every sheet of the workbook as a RawSheet, keyed by its name as written."""
    from python_calamine import CalamineWorkbook

    check_container(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise InputError([Problem(path.name, None, None, f"cannot be read as a workbook: {exc}")]) from None
    uncached = find_uncached_formulas(path)
    sheets: dict[str, RawSheet] = {}
    for name in workbook.sheet_names:
        sheet = workbook.get_sheet_by_name(name)
        if sheet.height > MAX_ROWS_PER_SHEET:
            raise InputError([Problem(path.name, name, None, f"has {sheet.height:,} rows; cowopt reads at most {MAX_ROWS_PER_SHEET:,} per sheet")])
        grid = sheet.to_python(skip_empty_area=False)
        sheets[name] = _raw_sheet(name, grid, uncached.get(name, set()))
    return sheets


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _raw_sheet(name: str, grid: list[list[object]], uncached: set[str]) -> RawSheet:
    """Header from the first non-empty row (normally row 1), records below it."""
    header_index = next((i for i, row in enumerate(grid) if not all(_is_blank(v) for v in row)), None)
    if header_index is None:
        return RawSheet(name, {}, [], uncached)
    columns: dict[str, int] = {}
    for index, value in enumerate(grid[header_index]):
        key = normalise_header(value) if not _is_blank(value) else ""
        if key and key not in columns:
            columns[key] = index
    rows = [
        (number + 1, list(values))
        for number, values in enumerate(grid)
        if number > header_index and not all(_is_blank(v) for v in values)
    ]
    # a row whose only content is an uncached formula still counts as a record
    formula_rows = {int(re.sub(r"[A-Z]+", "", ref)) for ref in uncached}
    present = {number for number, _ in rows}
    for number in sorted(formula_rows - present):
        if number - 1 > header_index:  # calamine's grid may stop above a formula-only last row
            rows.append((number, list(grid[number - 1]) if number - 1 < len(grid) else []))
    rows.sort(key=lambda item: item[0])
    return RawSheet(name, columns, rows, uncached)


def sheets_from_tables(tables: dict[str, object]) -> dict[str, RawSheet]:
    """RawSheets from in-memory tables (pandas DataFrames or dicts of lists), for the API and tests."""
    import pandas as pd

    sheets = {}
    for name, table in tables.items():
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
        columns = {normalise_header(c): i for i, c in enumerate(frame.columns)}
        rows = []
        for offset, values in enumerate(frame.itertuples(index=False), start=2):
            cells = ["" if (v is None or (isinstance(v, float) and v != v)) else v for v in values]
            if not all(_is_blank(v) for v in cells):
                rows.append((offset, cells))
        sheets[name] = RawSheet(name, columns, rows)
    return sheets


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    os.close(handle)
    temp_path = Path(temp)
    try:
        yield temp_path
        # mkstemp makes the file private (0600); a plan is shared like any file the user saves
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, target)
    finally:
        if temp_path.exists():
            temp_path.unlink()


def write_atomically(target: Path, writer: Callable[[Path], None]) -> Path:
    with atomic_path(target) as temp:
        writer(temp)
    return target
