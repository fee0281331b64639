"""Checking a workbook file before any cell is read: the container and each sheet's XML.

No cell values here (workbook.py reads those, after these checks pass). Two steps, each cheap:
1. the container: is it a zip at all (else say what it is: empty, PDF, text, .xls, encrypted),
   do its declared sizes stay sane, and does every part really inflate to no more than it
   declares (a forged header cannot smuggle a zip bomb past the size check) with no DTD or
   entity declaration in any XML part (a legitimate .xlsx never has one);
2. each sheet's XML: the used area (a single stray cell at XFD1048576 would make the reader
   allocate a dense 17-billion-cell grid and abort the process), merged cells, formula cells
   that carry no calculated value, and the Total rows of Excel tables.
Every refusal is an InputError naming the file (and the sheet when there is one).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cowopt.errors import InputError, Problem

# A planner's workbook is a few MB at most; these limits only stop hostile or broken files.
MAX_UNCOMPRESSED_BYTES = 512 * 1024**2
MAX_COMPRESSION_RATIO = 250
MAX_PARTS = 10_000
MAX_INDEX_BYTES = 32 * 1024**2  # xl/workbook.xml and its relationships: a few kB in practice
MAX_ROWS_PER_SHEET = 250_000
MAX_CELLS_PER_SHEET = 5_000_000  # rows x columns of the used area, which the reader holds densely
EXCEL_MAX_ROWS = 1_048_576

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted xlsx and legacy .xls
_CHUNK = 1 << 20
_XML_PART = (".xml", ".rels", ".vml")
# A DTD is where entity expansion ("billion laughs") and external entities live.
_DTD_MARKERS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY") for enc in ("ascii", "utf-16-le", "utf-16-be"))


# Cell references (A1 style): the scan names cells with them; workbook.py re-exports both.
def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26 (inverse of column_letter)."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


# --------------------------------------------------------------------------- 1. the container


def refuse(path: Path, message: str, sheet: str | None = None, cell: str | None = None) -> InputError:
    """The error for a file that cannot be read, naming the file (and sheet and cell when known)."""
    return InputError([Problem(path.name, sheet, cell, message)])


def check_container(path: Path) -> None:
    """Refuse, before any parsing, what is not a plain .xlsx/.xlsm or would inflate beyond reason."""
    check_regular_file(path)
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head.startswith(_ZIP_MAGIC):
        raise refuse(path, _what_it_is(path, head))
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise refuse(path, "is damaged: not a readable .xlsx (zip) file") from None
    _check_declared_sizes(path, infos)
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise refuse(path, _which_zip(path, names))
    _check_parts(path, infos)


# What a path that is not a regular file is, in the planner's words (stat's file-type bits).
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(path: Path) -> None:
    """Refuse anything but a regular file (or a link to one) before it is opened.

    Opening a FIFO blocks until something writes to it, and a device such as /dev/zero or
    /dev/urandom never ends: neither may be read at all, so only stat (which never blocks) looks.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise refuse(path, "file not found") from None
    except NotADirectoryError:
        raise refuse(path, "file not found (a folder in its path is a file)") from None
    except OSError as exc:
        raise refuse(path, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(path, "is a folder, expected an .xlsx workbook")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _SPECIAL_FILES if test(info.st_mode)), "not a regular file")
        raise refuse(path, f"is {kind}, not a workbook file; cowopt reads only regular .xlsx files "
                     "(save the workbook to a file and give its path)")


def _what_it_is(path: Path, head: bytes) -> str:
    """Why a file that is not a zip cannot be a workbook, in the planner's words."""
    save_as = "open it in Excel or LibreOffice and save it as an Excel workbook (.xlsx)"
    if not head:
        return "is empty (0 bytes), not an Excel workbook"
    if head.startswith(_OLE_MAGIC):
        if _is_encrypted_package(path):
            return ("is password-protected (encrypted), so its cells cannot be read; save a copy without "
                    "a password (File › Info › Protect Workbook › Encrypt with Password: clear it) as .xlsx")
        return f"is an old-format Excel 97–2003 (.xls) or other binary Office file; {save_as}"
    if head.startswith(b"%PDF"):
        return "is a PDF document, not an Excel workbook; export the table from its source as .xlsx"
    if b"\x00" not in head:
        return f"is a text file (CSV or similar), not an Excel workbook; {save_as}"
    return f"is not an Excel workbook (.xlsx); {save_as}"


def _is_encrypted_package(path: Path) -> bool:
    """Office encryption wraps the .xlsx in a compound file holding an 'EncryptedPackage' stream."""
    marker = "EncryptedPackage".encode("utf-16-le")
    with open(path, "rb") as handle:
        data = handle.read(64 * 1024**2)
    return marker in data


def _which_zip(path: Path, names: set[str]) -> str:
    save_as = "save it as an Excel workbook (.xlsx)"
    if "xl/workbook.bin" in names:
        return f"is a binary Excel workbook (.xlsb), which cowopt does not read; {save_as}"
    if "mimetype" in names and "content.xml" in names:
        return f"is an OpenDocument file (.ods), which cowopt does not read; {save_as} in LibreOffice"
    if "word/document.xml" in names or "ppt/presentation.xml" in names:
        return "is a Word or PowerPoint document, not an Excel workbook"
    return "is a zip file but not an Excel workbook (no xl/workbook.xml)"


def _check_declared_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_PARTS:
        raise refuse(path, f"holds {len(infos):,} parts (limit {MAX_PARTS:,}); refusing to read it")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise refuse(path, f"would inflate to {total / 1024**2:,.0f} MB when opened (limit "
                      f"{MAX_UNCOMPRESSED_BYTES / 1024**2:,.0f} MB); refusing to read it")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and info.file_size > 10 * 1024**2:
            raise refuse(path, f"part {info.filename} inflates {ratio:,.0f}-fold to "
                          f"{info.file_size / 1024**2:,.0f} MB: looks like a zip bomb; refusing to read it")
        if info.flag_bits & 0x1:
            raise refuse(path, f"part {info.filename} is encrypted; save the workbook without a password")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(path, f"part {info.filename} uses zip compression method {info.compress_type}, "
                          "which no spreadsheet program writes; save the workbook again from Excel or LibreOffice")


def _check_parts(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Inflate every part once, in chunks, trusting nothing the headers say."""
    with open(path, "rb") as handle:
        for info in infos:
            inflated, tail = 0, b""
            try:
                for chunk in _inflate(handle, info):
                    inflated += len(chunk)
                    if inflated > info.file_size:
                        raise refuse(path, f"part {info.filename} inflates beyond the {info.file_size:,} bytes "
                                      "its header declares (a forged zip bomb); refusing to read it")
                    if info.filename.endswith(_XML_PART) and any(m in tail + chunk for m in _DTD_MARKERS):
                        raise refuse(path, f"part {info.filename} declares a DTD or XML entities, which no "
                                      "spreadsheet program writes (an entity-expansion attack?); refusing to read it")
                    tail = chunk[-32:]
            except (zlib.error, struct.error, EOFError, OSError):
                raise refuse(path, f"is damaged: part {info.filename} cannot be unzipped") from None


def _inflate(handle, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's data, inflated chunk by chunk with bounded memory (raw deflate or stored)."""
    handle.seek(info.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != _ZIP_MAGIC:
        raise EOFError
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    handle.seek(info.header_offset + 30 + name_length + extra_length)
    remaining = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while remaining > 0:
        raw = handle.read(min(_CHUNK, remaining))
        if not raw:
            raise EOFError
        remaining -= len(raw)
        if inflater is None:
            yield raw
            continue
        while raw:
            yield inflater.decompress(raw, _CHUNK)
            raw = inflater.unconsumed_tail
            if inflater.eof:
                return


# --------------------------------------------------------------------------- 2. the sheets' XML


@dataclass
class SheetScan:
    """What the sheet XML says before any cell is read: used area, merges, formulas without values."""

    part: str
    max_row: int = 0  # 1-based; 0 for a sheet without content cells
    max_column: int = 0  # 1-based
    too_large: str = ""  # why the sheet is beyond the limits, naming the cells to delete; "" if fine
    merged: list[str] = field(default_factory=list)  # ranges like "D1:E1"
    uncached: set[str] = field(default_factory=set)  # cell refs like "C4"
    totals_rows: set[int] = field(default_factory=set)  # Total rows of Excel tables: aggregates, not records


# Patterns run on untrusted input: every repetition is bounded by the next '<' or possessive,
# so a crafted sheet cannot make them backtrack (the time stays linear in the sheet's size).
_NS = rb"(?:\w{1,64}:)?"
_CONTENT_REF_RE = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^<>]*+(?<!/)>')
_CELL_CLOSE = (b"</c>", b":c>")
_TAG_RE = re.compile(rb"<(/?)" + _NS + rb"(row|c)(?=[\s/>])([^<>]*+)>")
_R_ATTR_RE = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]*)([0-9]*)\s*["']""")
_MERGE_RE = re.compile(rb"<" + _NS + rb"""mergeCell\s[^<>]*?\bref\s*=\s*["']([A-Z]{1,3}[0-9]{1,7})(?::([A-Z]{1,3}[0-9]{1,7}))?["']""")
_FORMULA_RE = re.compile(rb"<" + _NS + rb"f[\s/>]")
_CELL_RE = re.compile(rb"<" + _NS + rb"c(\s[^<>]*+)?(?:(?<=/)>|>((?:[^<]++|<(?!/?" + _NS + rb"c[\s/>]))*+)</" + _NS + rb"c>)")
_TYPE_RE = re.compile(rb"""\st\s*=\s*["'](\w+)["']""")
_VALUE_RE = re.compile(rb"<" + _NS + rb"v\s*>\s*[^<\s]")
_EMPTY_VALUE_RE = re.compile(rb"<" + _NS + rb"v\s*(?:/>|>\s*</)")
_INLINE_RE = re.compile(rb"<" + _NS + rb"is[\s>]")


def scan_sheets(path: Path) -> dict[str, SheetScan]:
    """Each sheet's scan by sheet name; call after check_container (parts are then known to be sane)."""
    with zipfile.ZipFile(path) as archive:
        parts, recalculate = _sheet_parts(path, archive)
        names = set(archive.namelist())
        scans = {name: _scan_sheet(archive.read(part), part, recalculate) for name, part in parts.items() if part in names}
        for scan in scans.values():
            scan.totals_rows = _table_totals_rows(path, archive, scan.part, names)
        mapped = {scan.part for scan in scans.values()}
        # parts the index does not name are still checked: a reader may find them another way
        for part in sorted(names - mapped):
            if re.fullmatch(r"xl/(work|chart|macro|dialog)sheets/[^/]+\.xml", part):
                scans[f"<{part}>"] = _scan_sheet(archive.read(part), part, recalculate)
    return scans


def find_uncached_formulas(path: Path) -> dict[str, set[str]]:
    """Cells holding a formula with no calculated value, by sheet name (see scan_sheets)."""
    return {name: scan.uncached for name, scan in scan_sheets(path).items() if scan.uncached}


def _sheet_parts(path: Path, archive: zipfile.ZipFile) -> tuple[dict[str, str], bool]:
    """{sheet name: zip part} from the workbook index, and whether the file asks to be recalculated."""
    workbook = _parse_index(path, archive, "xl/workbook.xml")
    targets = _relationships(path, archive, "xl/workbook.xml")
    parts, recalculate = {}, False
    for element in workbook.iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            if element.get("name") is not None and rid in targets:
                parts[element.get("name")] = targets[rid]
        elif element.tag.endswith("calcPr"):
            # Excel and LibreOffice never leave this set after calculating; writers that do not
            # calculate (openpyxl, XlsxWriter) set it and store 0 or nothing as the formula's value
            recalculate = element.get("fullCalcOnLoad", "").strip().lower() in ("1", "true")
    return parts, recalculate


def _relationships(path: Path, archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """{relationship id: target part} of one part, from its _rels file ({} when it has none)."""
    folder, name = posixpath.split(part)
    rels = _parse_index(path, archive, posixpath.join(folder, "_rels", f"{name}.rels"))
    targets = {}
    for rel in (rels.iter() if rels is not None else ()):
        if rel.tag.endswith("Relationship") and rel.get("Id") and rel.get("Target"):
            target = rel.get("Target").replace("\\", "/")
            joined = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            targets[rel.get("Id")] = posixpath.normpath(joined)
    return targets


def _table_totals_rows(path: Path, archive: zipfile.ZipFile, sheet_part: str, names: set[str]) -> set[int]:
    """Rows that are the Total row of an Excel table (Table Design › Total Row) on this sheet."""
    rows: set[int] = set()
    for target in _relationships(path, archive, sheet_part).values():
        if not re.fullmatch(r"xl/tables/[^/]+\.xml", target) or target not in names:
            continue
        table = _parse_index(path, archive, target)
        ref = re.fullmatch(r"[A-Z]+(\d+):[A-Z]+(\d+)", table.get("ref", "")) if table is not None else None
        count = table.get("totalsRowCount", "0") if table is not None else "0"
        if ref and count.isdigit() and 0 < int(count) <= int(ref.group(2)) <= EXCEL_MAX_ROWS:
            last = int(ref.group(2))
            rows.update(range(max(last - int(count) + 1, 1), last + 1))
    return rows


def _parse_index(path: Path, archive: zipfile.ZipFile, part: str):
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        info = archive.getinfo(part)
    except KeyError:
        return None
    if info.file_size > MAX_INDEX_BYTES:
        raise refuse(path, f"part {part} is {info.file_size / 1024**2:,.0f} MB; a workbook's index is a few kB")
    try:
        return fromstring(archive.read(part), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise refuse(path, f"is damaged: part {part} is not well-formed XML") from None


def _scan_sheet(xml: bytes, part: str, recalculate: bool) -> SheetScan:
    scan = SheetScan(part)
    _used_area(xml, scan)
    # Cells live inside <sheetData>, merges after it; plain substring tests come first because a
    # regex tried at every '<' of a large sheet costs more than reading it.
    start, end = xml.find(b"sheetData"), xml.rfind(b"sheetData")
    cells, rest = (xml[start:end], xml[end:]) if 0 <= start < end else (xml, xml)
    if b"mergeCell" in rest:
        scan.merged = [a.decode() + (f":{b.decode()}" if b else "") for a, b in _MERGE_RE.findall(rest)]
    if (b"<f" in cells or b":f" in cells) and _FORMULA_RE.search(cells):
        scan.uncached = _uncached(cells, recalculate)
    return scan


def _used_area(xml: bytes, scan: SheetScan) -> None:
    """Last row and column holding content (empty formatted cells `<c r=".." s=".."/>` do not count).

    Fast path: every content cell is written as `<c r="A1" ...>` (Excel, LibreOffice, openpyxl and
    XlsxWriter all do). Otherwise walk the row and cell tags, as a reader does, giving cells with no
    `r` attribute the position after the previous one.
    """
    refs = _CONTENT_REF_RE.findall(xml)
    if len(refs) == sum(xml.count(close) for close in _CELL_CLOSE):
        if refs:  # this runs on every sheet of every workbook read: as few Python-level steps as can be
            scan.max_row = max(map(int, [row for _, row in refs]))
            scan.max_column = max(column_index(c.decode()) for c in {letters for letters, _ in refs}) + 1
        edges = _edges_of_refs(refs, scan)
    else:
        tags = xml.count(b"<c") + xml.count(b":c")  # an upper bound, counted before the slow walk
        if tags > MAX_CELLS_PER_SHEET or xml.count(b"<row") + xml.count(b":row") > EXCEL_MAX_ROWS:
            scan.too_large = (f"holds {tags:,} cell elements, beyond the {MAX_CELLS_PER_SHEET:,} cells and "
                              f"{EXCEL_MAX_ROWS:,} rows a sheet can have")
            return
        walked = list(_walk_cells(xml))
        scan.max_row = max((row for row, _ in walked), default=0)
        scan.max_column = max((column for _, column in walked), default=0)
        edges = _edges_of_cells(walked)
    if scan.max_row > MAX_ROWS_PER_SHEET or scan.max_row * scan.max_column > MAX_CELLS_PER_SHEET:
        # name the cells that stretch the area, so the planner can find and delete them
        edge = " and ".join(dict.fromkeys(f"{column_letter(c - 1)}{r}" for r, c in edges()))
        scan.too_large = (f"the used area reaches {scan.max_row:,} rows × {scan.max_column:,} columns (through "
                          f"cell {edge}); cowopt reads at most {MAX_ROWS_PER_SHEET:,} rows and "
                          f"{MAX_CELLS_PER_SHEET:,} cells per sheet — delete what stands in {edge}")


def _edges_of_refs(refs: list[tuple[bytes, bytes]], scan: SheetScan) -> Callable[[], list[tuple[int, int]]]:
    """(row, column) of the last cell in the last row and of the last cell in the last column, on demand."""
    def edges() -> list[tuple[int, int]]:
        row_text, column_text = str(scan.max_row).encode(), column_letter(scan.max_column - 1).encode()
        in_last_row = [c for c, r in refs if r == row_text] or [c for c, r in refs if int(r) == scan.max_row]
        found = [(scan.max_row, max(column_index(c.decode()) for c in in_last_row) + 1)]
        if found[0][1] < scan.max_column:
            found.append((max(int(r) for c, r in refs if c == column_text), scan.max_column))
        return found
    return edges


def _edges_of_cells(cells: list[tuple[int, int]]) -> Callable[[], list[tuple[int, int]]]:
    return lambda: [max(cells), max(cells, key=lambda cell: (cell[1], cell[0]))]


def _walk_cells(xml: bytes) -> Iterator[tuple[int, int]]:
    """(row, column), 1-based, of every content cell, in document order."""
    row = column = 0
    for closing, tag, attributes in _TAG_RE.findall(xml):
        if closing:
            continue
        ref = _R_ATTR_RE.search(attributes)
        letters, digits = (ref.group(1).upper().decode(), ref.group(2)) if ref else ("", b"")
        if tag == b"row":
            row, column = (int(digits) if digits else row + 1), 0
            continue
        row = int(digits) if digits else max(row, 1)
        column = column_index(letters) + 1 if letters else column + 1
        if not attributes.endswith(b"/"):
            yield row, column


def _uncached(xml: bytes, recalculate: bool) -> set[str]:
    """Formula cells whose stored value was never calculated."""
    cells = set()
    for attributes, body in _CELL_RE.findall(xml):
        if not body or not _FORMULA_RE.search(body):
            continue
        kind = _TYPE_RE.search(attributes or b"")
        text_result = kind is not None and kind.group(1) in (b"str", b"s", b"inlineStr")
        # a text formula may legitimately evaluate to "" (saved as an empty <v>)
        cached = (_VALUE_RE.search(body) or _INLINE_RE.search(body)
                  or (text_result and _EMPTY_VALUE_RE.search(body)))
        if recalculate or not cached:
            ref = _R_ATTR_RE.search(attributes or b"")
            if ref and ref.group(1) and ref.group(2):
                cells.add(ref.group(1).upper().decode() + ref.group(2).decode())
    return cells


def check_used_area(path: Path, scans: dict[str, SheetScan]) -> None:
    """Refuse the first sheet whose used area is beyond the limits (see SheetScan.too_large)."""
    for name, scan in scans.items():
        if scan.too_large:
            raise refuse(path, scan.too_large, sheet=name)
