"""Reading a workbook's cells into raw sheets, safely; writing files atomically.

No model logic here. Before any cell is parsed, container.py checks the file (zip container,
sizes, DTDs) and scans each sheet's XML (used area, merged cells, uncached formulas, table
Total rows); only then python-calamine reads the cached cell values (~10x faster than openpyxl)
into RawSheets. Formula cells without a calculated value (files written by tools that do not
compute formulas) are reported by cell, never read as blank or zero.

The checks' public names (check_container, scan_sheets, find_uncached_formulas, SheetScan, the
MAX_* limits, column_letter, column_index) are re-exported here, so callers import one module.
"""

from __future__ import annotations

import gc
import hashlib
import math
import os
import re
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cowopt.workbook.container import (
    EXCEL_MAX_ROWS,
    MAX_CELLS_PER_SHEET,
    MAX_COMPRESSION_RATIO,
    MAX_INDEX_BYTES,
    MAX_PARTS,
    MAX_ROWS_PER_SHEET,
    MAX_UNCOMPRESSED_BYTES,
    SheetScan,
    check_container,
    check_regular_file,
    check_used_area,
    column_index,
    column_letter,
    find_uncached_formulas,
    refuse,
    scan_sheets,
)
from cowopt.errors import CowoptError, Problem

# Public names: this module's own, and the container checks re-exported from container.py.
__all__ = [
    "EXCEL_MAX_ROWS", "MAX_CELLS_PER_SHEET", "MAX_COMPRESSION_RATIO", "MAX_INDEX_BYTES", "MAX_PARTS",
    "MAX_ROWS_PER_SHEET", "MAX_UNCOMPRESSED_BYTES", "RawSheet", "SheetScan", "atomic_path", "check_container",
    "check_regular_file", "column_index", "column_letter", "find_uncached_formulas", "lock_file_of",
    "normalise_header", "normalise_text",
    "read_sheets", "scan_sheets", "sha256_of", "sheet_key", "sheets_from_tables", "write_atomically",
]


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
    header_row: int = 1  # Excel row number of the header (the first non-empty row)
    # header names written more than once (after normalising): name -> every 0-based column index
    duplicate_columns: dict[str, list[int]] = field(default_factory=dict)
    # problems found while reading (merged cells), reported with the cell checks in one pass
    problems: list[Problem] = field(default_factory=list)
    merged_cells: set[str] = field(default_factory=set)  # refs covered by a merge but not its first cell

    def cell(self, row_number: int, column: str) -> str:
        return f"{column_letter(self.columns[column])}{row_number}"

    def header_cell(self, column: str) -> str:
        return f"{column_letter(self.columns[column])}{self.header_row}"

    def value(self, values: list[object], column: str) -> object:
        index = self.columns.get(column)
        if index is None or index >= len(values):
            return ""
        return values[index]


def normalise_header(text: object) -> str:
    """How a header (or Settings key, or sheet name part) is compared: NFC, lower case, any run
    of spaces (also non-breaking ones) as one underscore — 'Has Airfield' is has_airfield."""
    return re.sub(r"\s+", "_", normalise_text(text).strip().lower())


def sheet_key(name: object) -> str:
    """How sheet names are compared: NFC, case, spaces and underscores ignored ('Entry Points' is
    EntryPoints). Two sheets with the same key are ambiguous, and refused by the reader's caller."""
    return re.sub(r"[\s_]+", "", normalise_text(name)).casefold()


def normalise_text(text: object) -> str:
    """Unicode NFC: 'Türkiye' typed with a combining diaeresis equals the precomposed one."""
    return unicodedata.normalize("NFC", str(text))


@contextmanager
def gc_paused():
    """Python's cyclic collector paused for a step that makes many objects and few cycles.

    The steps of a solve (reading, candidates, the Pyomo build, scoring, writing) each make
    tens of thousands of objects; their count sets off full collections, and each walks
    everything imported before (pandas, Pyomo): ~45 ms apiece on a 3,000-asset workbook,
    while almost nothing they make is cyclic garbage (issue 17). Collection resumes after,
    as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading the cells


def read_sheets(path: Path) -> dict[str, RawSheet]:
    """Every sheet of the workbook as a RawSheet, keyed by its name as written."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    check_container(path)
    try:
        scans = scan_sheets(path)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, UnicodeDecodeError) as exc:
        raise refuse(path, f"is damaged: {exc}") from None
    check_used_area(path, scans)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
    except BaseException as exc:
        if not _is_reader_error(exc):
            raise
        raise refuse(path, f"cannot be read as a workbook: {exc}") from None
    sheets: dict[str, RawSheet] = {}
    for name in names:
        scan = scans.get(name, SheetScan(""))
        try:
            sheet = workbook.get_sheet_by_name(name)
            grid = sheet.to_python(skip_empty_area=False)
        except BaseException as exc:  # a damaged or hostile sheet: say which one
            if not _is_reader_error(exc):
                raise
            raise refuse(path, f"this sheet cannot be read: {exc}", sheet=name) from None
        if len(grid) > MAX_ROWS_PER_SHEET:  # backstop: the scan already bounds the used area
            raise refuse(path, f"has {len(grid):,} rows; cowopt reads at most {MAX_ROWS_PER_SHEET:,} per sheet", sheet=name)
        sheets[name] = _raw_sheet(name, grid, scan.uncached)
        if scan.totals_rows:
            sheets[name].rows = [(number, values) for number, values in sheets[name].rows if number not in scan.totals_rows]
    _check_merged(path, sheets, scans)
    return sheets


def _is_reader_error(exc: BaseException) -> bool:
    """calamine's own errors, and a Rust panic (raised as pyo3's PanicException, a BaseException)."""
    from python_calamine import CalamineError

    reader_errors = (CalamineError, OSError, ValueError, TypeError, OverflowError, IndexError)
    return isinstance(exc, reader_errors) or type(exc).__name__ == "PanicException"


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _raw_sheet(name: str, grid: list[list[object]], uncached: set[str]) -> RawSheet:
    """Header from the first non-empty row (normally row 1), records below it."""
    header_index = next((i for i, row in enumerate(grid) if not all(_is_blank(v) for v in row)), None)
    if header_index is None:
        return RawSheet(name, {}, [], uncached)
    columns: dict[str, int] = {}
    seen: dict[str, list[int]] = {}
    for index, value in enumerate(grid[header_index]):
        key = normalise_header(value) if not _is_blank(value) else ""
        if key:
            columns.setdefault(key, index)
            seen.setdefault(key, []).append(index)
    duplicates = {key: indices for key, indices in seen.items() if len(indices) > 1}
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
    return RawSheet(name, columns, rows, uncached, header_index + 1, duplicates)


def _contract_columns() -> dict[str, set[str]]:
    from cowopt.workbook.schema import SHEETS

    return {sheet_key(spec.name): {c.name for c in spec.columns} for spec in SHEETS}


def _check_merged(path: Path, sheets: dict[str, RawSheet], scans: dict[str, SheetScan]) -> None:
    """Report merged cells over contract columns: the reader sees only a merge's first cell.

    A merged header ("lat" over D1:E1) would hide the next column's name; a merged data range
    (region "R1" over C2:C4) would leave C3 and C4 blank. Merges in extra columns and extra
    sheets (notes) are fine. The problems go on the RawSheet (reported with every other cell's)
    and the hidden cells are remembered, so they are not reported again as blank.
    """
    contract = _contract_columns()
    for name, raw in sheets.items():
        wanted = contract.get(sheet_key(name))
        if not wanted or name not in scans:
            continue
        used = {index for key, index in raw.columns.items() if key in wanted}
        for ref in scans[name].merged:
            first, _, last = ref.partition(":")
            columns = range(column_index(re.sub(r"\d", "", first)), column_index(re.sub(r"\d", "", last or first)) + 1)
            rows = range(int(re.sub(r"\D", "", first)), int(re.sub(r"\D", "", last or first)) + 1)
            if used.intersection(columns) and rows[-1] >= raw.header_row:
                raw.problems.append(Problem(path.name, name, ref, f"cells {ref} are merged; a merged range is read "
                                            "as its first cell only, the others as blank — unmerge them and fill in "
                                            "every cell"))
                if len(rows) * len(columns) <= MAX_CELLS_PER_SHEET:
                    raw.merged_cells.update(f"{column_letter(c)}{r}" for c in columns for r in rows)
                raw.merged_cells.discard(first)


def sheets_from_tables(tables: dict[str, object]) -> dict[str, RawSheet]:
    """RawSheets from in-memory tables (pandas DataFrames or dicts of lists), for the API and tests."""
    import pandas as pd

    sheets = {}
    for name, table in tables.items():
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
        columns: dict[str, int] = {}
        seen: dict[str, list[int]] = {}
        for index, header in enumerate(frame.columns):
            columns.setdefault(normalise_header(header), index)
            seen.setdefault(normalise_header(header), []).append(index)
        rows = []
        for offset, values in enumerate(frame.itertuples(index=False), start=2):
            cells = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in values]
            if not all(_is_blank(v) for v in cells):
                rows.append((offset, cells))
        sheets[name] = RawSheet(name, columns, rows,
                                duplicate_columns={k: v for k, v in seen.items() if len(v) > 1})
    return sheets


# --------------------------------------------------------------------------- writing


def lock_file_of(target: Path) -> Path | None:
    """The lock file Excel (~$name) or LibreOffice (.~lock.name#) keeps beside a file it has open."""
    for lock in (target.parent / f"~${target.name}", target.parent / f".~lock.{target.name}#"):
        if lock.exists():
            return lock
    return None


def _os_cause(exc: BaseException) -> OSError | None:
    """The OS error behind a failed write (writers such as XlsxWriter wrap it in their own error)."""
    for candidate in (exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())):
        if isinstance(candidate, OSError):
            return candidate
    return None


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it only if the block succeeds.

    Whatever happens in the block (an error, Ctrl-C), `target` is either untouched or complete,
    and no temporary file is left behind. A target open in Excel or LibreOffice is not replaced;
    OS errors (disk full, no permission) become a CowoptError naming the file.
    """
    target = Path(target)
    lock = lock_file_of(target)
    if lock is not None:
        raise CowoptError(f"{target} is open in Excel or LibreOffice (lock file {lock.name}); close it, or delete "
                          "the lock file if no program has it open, or write elsewhere")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(handle)
    except OSError as exc:
        raise CowoptError(f"cannot write {target}: {exc.strerror or exc}") from None
    temp_path = Path(temp)
    try:
        yield temp_path
        # mkstemp makes the file private (0600); a plan is shared like any file the user saves
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, target)
    except Exception as exc:  # only OS failures become messages; anything else is re-raised as it is
        cause = _os_cause(exc)
        if cause is None:
            raise
        raise CowoptError(f"cannot write {target}: {cause.strerror or cause}; if it is open in Excel or "
                          "LibreOffice, close it; otherwise check the folder and free space") from None
    finally:
        if temp_path.exists():
            temp_path.unlink()


def write_atomically(target: Path, writer: Callable[[Path], None]) -> Path:
    with atomic_path(target) as temp:
        writer(temp)
    return target
