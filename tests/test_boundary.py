"""The workbook boundary: real spreadsheet content, hostile files, safe output, solver faults.

Each case goes through the CLI (`cowopt validate` / `cowopt solve`) and checks the exit status,
that the message names the file, sheet and cell, and that no traceback is shown. Files are
crafted from the tiny fixture: written by the template writer, then edited at the XML level
where a real spreadsheet program (or an attacker) would write something openpyxl cannot.
Template layout: Settings is the 2nd sheet, States the 3rd, Sites the 7th; Sites columns are
site_id A, name B, region C, lat D, lon E, capacity_troops F.
"""

from __future__ import annotations

import _thread
import hashlib
import importlib
import logging
import re
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from openpyxl.worksheet.table import Table, TableStyleInfo
from xlsxwriter.exceptions import FileCreateError

import cowopt
from cowopt.cli.main import main
from cowopt.workbook.template import write_template
from cowopt.workbook.files import scan_sheets

solve_module = importlib.import_module("cowopt.optimise.solve")  # `cowopt.solve` the attribute is the API function
report_module = importlib.import_module("cowopt.report.plan")
EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

# --------------------------------------------------------------------------- helpers


def cli(*args: object) -> Result:
    """Run the CLI in-process; never a traceback, never an unexpected exception."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def refused(path: Path, *needles: str) -> str:
    """`cowopt validate` refuses the file with exit 2, naming the file and each needle."""
    result = cli("validate", path)
    assert result.exit_code == EXIT_INPUT, result.output
    for needle in (path.name, *needles):
        assert needle in result.output, f"{needle!r} not in:\n{result.output}"
    return result.output


def accepted(path: Path) -> cowopt.InputData:
    result = cli("validate", path)
    assert result.exit_code == EXIT_OK, result.output
    return cowopt.load(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_xlsx(tmp_path: Path, tables: dict, name: str = "inputs.xlsx") -> Path:
    return write_template(tmp_path / name, tables=tables)


def part_of(path: Path, sheet: str) -> str:
    return scan_sheets(path)[sheet].part


def rewrite(src: Path, dst: Path, changes: dict[str, bytes | None]) -> Path:
    """Copy a zip, replacing (or with None: dropping) some parts and adding new ones."""
    with zipfile.ZipFile(src) as zin:
        parts = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    parts.update(changes)
    with zipfile.ZipFile(dst.with_suffix(".tmp"), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for name, data in parts.items():
            if data is not None:
                zout.writestr(name, data)
    dst.with_suffix(".tmp").replace(dst)
    return dst


def edit_xml(path: Path, part: str, change) -> Path:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(part).decode()
    return rewrite(path, path, {part: change(xml).encode()})


def set_cell(xml: str, ref: str, cell: str) -> str:
    """Replace the <c r="REF"> element of a sheet written by openpyxl."""
    new, count = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', cell, xml, count=1)
    assert count == 1, f"no cell {ref}"
    return new


def as_if_saved_by_excel(path: Path) -> Path:
    """openpyxl asks for a full recalculation on load; Excel and LibreOffice never leave that flag."""
    return edit_xml(path, "xl/workbook.xml", lambda xml: xml.replace('fullCalcOnLoad="1"', ""))


def raw_zip(path: Path, entries: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip assembled by hand: (name, raw deflate data, declared size, crc) — headers may lie."""
    local, central, offset = b"", b"", 0
    for name, data, size, crc in entries:
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(data), size)
        header = b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name.encode()
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, offset) + name.encode())
        local += header + data
        offset += len(header) + len(data)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(central), offset, 0)
    path.write_bytes(local + central + end)
    return path


def deflate(data: bytes) -> tuple[bytes, int, int]:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), len(data), zlib.crc32(data)


def deflated_zeros(megabytes: int) -> bytes:
    """Raw deflate of `megabytes` MB of zero bytes in milliseconds: one self-contained 1 MB block
    (a full flush resets the window) repeated, then an empty final block."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * megabytes + b"\x03\x00"


def bomb_with(path: Path, source: Path, part: str, data: bytes, declared: int) -> Path:
    """`source` with `part` replaced by raw deflate `data` whose header declares `declared` bytes."""
    with zipfile.ZipFile(source) as archive:
        entries = [(i.filename, *deflate(archive.read(i.filename))) for i in archive.infolist() if i.filename != part]
    return raw_zip(path, [*entries, (part, data, declared, 0)])


_TINY_BYTES: list[bytes] = []  # the tiny workbook as written once; each test gets its own copy


@pytest.fixture
def tiny_path(tmp_path: Path, tiny_tables: dict) -> Path:
    """The tiny fixture as an .xlsx (written by the template writer), free to edit."""
    path = tmp_path / "inputs.xlsx"
    if not _TINY_BYTES:
        _TINY_BYTES.append(write_template(path, tables=tiny_tables).read_bytes())
    path.write_bytes(_TINY_BYTES[0])
    return path


# --------------------------------------------------------------------------- real spreadsheet content


def _libreoffice_recalculate(source: Path, out_dir: Path) -> Path:
    """Open and save `source` in headless LibreOffice (a private profile: runs may overlap)."""
    profile = (out_dir / "profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out_dir), str(source)], check=True, capture_output=True, timeout=120)
    return out_dir / source.name


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_formulas_saved_by_libreoffice_are_read_as_their_values(tmp_path: Path, tiny_tables: dict) -> None:
    path = tiny_xlsx(tmp_path, tiny_tables)
    book = openpyxl.load_workbook(path)
    book["Sites"]["F2"] = "=1000*2"  # capacity_troops
    book["Sites"]["F3"] = "=F2+500"
    book["Sites"]["B2"] = '="Mid"&"dle"'  # a text result
    book["Settings"]["B2"] = "=SUM(400,600)"  # budget_meur
    book.save(path)
    refused(path, "Sites!F2", "Sites!F3", "formula with no saved value")  # openpyxl computes nothing

    saved = _libreoffice_recalculate(path, tmp_path / "saved")
    data = accepted(saved)
    assert data.sites.loc["S1", "capacity_troops"] == 2000
    assert data.sites.loc["S2", "capacity_troops"] == 2500
    assert data.sites.loc["S1", "name"] == "Middle"
    assert data.settings["budget_meur"] == 1000


def test_formulas_with_cached_values_are_read_like_excel_saved_them(tiny_path: Path) -> None:
    sites = part_of(tiny_path, "Sites")

    def excel_cells(xml: str) -> str:
        xml = set_cell(xml, "F2", '<c r="F2"><f>1000*2</f><v>2000</v></c>')
        xml = set_cell(xml, "B2", '<c r="B2" t="str"><f>IF(TRUE,"","x")</f><v></v></c>')  # a formula giving ""
        return set_cell(xml, "B3", '<c r="B3" t="str"><f>"No"&amp;"rth"</f><v>North</v></c>')

    as_if_saved_by_excel(edit_xml(tiny_path, sites, excel_cells))
    data = accepted(tiny_path)
    assert data.sites.loc["S1", "capacity_troops"] == 2000
    assert data.sites.loc["S1", "name"] == ""  # name is optional: an empty text result is a blank
    assert data.sites.loc["S2", "name"] == "North"


def test_placeholder_values_of_a_non_calculating_writer_are_not_read_as_zero(tiny_path: Path) -> None:
    # XlsxWriter stores 0 as every formula's value and asks Excel to recalculate on load
    sites = part_of(tiny_path, "Sites")
    edit_xml(tiny_path, sites, lambda xml: set_cell(xml, "F2", '<c r="F2"><f>1000*2</f><v>0</v></c>'))
    assert 'fullCalcOnLoad="1"' in zipfile.ZipFile(tiny_path).read("xl/workbook.xml").decode()
    refused(tiny_path, "Sites!F2", "capacity_troops holds a formula with no saved value")


def test_merged_header_cells_are_refused_by_range(tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"].merge_cells("D1:E1")  # "lat" spread over lat and lon: lon's header is lost
    book.save(tiny_path)
    refused(tiny_path, "Sites!D1:E1", "cells D1:E1 are merged", "unmerge them")


def test_merged_data_cells_in_a_contract_column_are_refused(tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"].merge_cells("C2:C3")  # region R1 "for both": C3 would silently read blank
    book.save(tiny_path)
    refused(tiny_path, "Sites!C2:C3", "merged")


def test_merged_cells_outside_the_contract_are_accepted(tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"]["K1"], book["Sites"]["K2"] = "notes", "both airfields are civilian"
    book["Sites"].merge_cells("K2:L3")
    notes = book.create_sheet("Notes")
    notes["A1"] = "Planning notes"
    notes.merge_cells("A1:F1")
    book.save(tiny_path)
    assert len(accepted(tiny_path).sites) == 3


def test_hidden_and_very_hidden_sheets_are_read(tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"].sheet_state = "hidden"
    book["States"].sheet_state = "veryHidden"
    book.save(tiny_path)
    data = accepted(tiny_path)
    assert list(data.sites.index) == ["S1", "S2", "S3"]
    assert list(data.states.index) == ["Aland", "Borduria"]


def test_sheets_formatted_as_excel_tables_are_read_without_their_total_row(tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"]["A5"], book["Sites"]["F5"] = "Total", "=SUBTOTAL(109,F2:F4)"  # Table Design › Total Row
    for name, ref, totals in (("Sites", "A1:I5", 1), ("Inventory", "A1:C5", 0)):
        table = Table(displayName=f"tbl{name}", ref=ref, totalsRowCount=totals or None)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium9", showRowStripes=True)
        book[name].add_table(table)
    book.save(tiny_path)
    data = accepted(tiny_path)
    assert list(data.sites.index) == ["S1", "S2", "S3"]  # no site called "Total"
    assert list(data.sites["capacity_troops"]) == [2000, 2000, 2000]
    assert int(data.inventory["available"].sum()) == 6


def test_spaces_around_identifiers_are_trimmed_so_references_match(tmp_path: Path, tiny_tables: dict) -> None:
    tiny_tables["States"]["state"] = [" Aland ", "Borduria\u00a0"]  # a non-breaking space pasted from the web
    tiny_tables["Inventory"]["state"] = ["Aland", "  Aland", "Borduria", "\tBorduria "]
    tiny_tables["Sites"]["site_id"] = ["S1 ", " S2", "S3"]
    tiny_tables["Rules"] = {"rule_id": [" r1 "], "state": [" Aland"], "site_id": ["S2  "], "max_count": [5]}
    data = accepted(tiny_xlsx(tmp_path, tiny_tables))
    assert list(data.states.index) == ["Aland", "Borduria"]
    assert sorted(set(data.inventory["state"])) == ["Aland", "Borduria"]
    assert list(data.sites.index) == ["S1", "S2", "S3"]
    assert (data.rules.loc["r1", "state"], data.rules.loc["r1", "site_id"]) == ("Aland", "S2")


def test_macro_enabled_xlsm_is_read_and_its_macros_ignored(tmp_path: Path, tiny_path: Path) -> None:
    types = zipfile.ZipFile(tiny_path).read("[Content_Types].xml").decode()
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    xlsm = rewrite(tiny_path, tmp_path / "inputs.xlsm", {"[Content_Types].xml": types.encode(),
                                                         "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not run"})
    assert "macroEnabled" in zipfile.ZipFile(xlsm).read("[Content_Types].xml").decode()
    assert len(accepted(xlsm).states) == 2


@pytest.mark.parametrize("name, content, message", [
    ("inputs.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le"),
     "is an old-format Excel 97–2003 (.xls)"),
    ("inputs.csv", b"state,max_troops\nAland,3000\n", "is a text file (CSV or similar)"),
    ("inputs.xlsx", b"", "is empty (0 bytes)"),
    ("inputs.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF document"),
    ("inputs.xlsx", bytes(range(256)) * 4, "is not an Excel workbook (.xlsx)"),
], ids=["xls", "csv", "empty", "pdf-renamed", "binary-junk"])
def test_files_that_are_not_workbooks_say_what_they_are(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    refused(path, message)


@pytest.mark.parametrize("parts, message", [
    ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
     "is an OpenDocument file (.ods)"),
    ({"xl/workbook.bin": b"\x83\x01", "[Content_Types].xml": b"<Types/>"}, "is a binary Excel workbook (.xlsb)"),
    ({"word/document.xml": b"<w:document/>"}, "is a Word or PowerPoint document"),
    ({"data.txt": b"hello"}, "is a zip file but not an Excel workbook (no xl/workbook.xml)"),
], ids=["ods", "xlsb", "docx", "plain-zip"])
def test_other_zip_formats_say_what_they_are(tmp_path: Path, parts: dict, message: str) -> None:
    path = tmp_path / "inputs.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    refused(path, message)


def test_a_folder_a_missing_file_and_a_truncated_file_are_refused(tmp_path: Path, tiny_path: Path) -> None:
    (tmp_path / "folder.xlsx").mkdir()
    refused(tmp_path / "folder.xlsx", "is a folder")
    refused(tmp_path / "missing.xlsx", "file not found")
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(tiny_path.read_bytes()[: tiny_path.stat().st_size // 2])
    refused(truncated, "is damaged")


# --------------------------------------------------------------------------- hostile files


def test_zip_bomb_is_refused_from_its_declared_size_without_inflating(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    container_module = importlib.import_module("cowopt.workbook.container")  # the zip checks live there
    bomb = bomb_with(tmp_path / "bomb.xlsx", tiny_path, part_of(tiny_path, "Sites"), deflated_zeros(600), 600 << 20)
    assert bomb.stat().st_size < 1 << 20  # 600 MB of zeros in ~0.6 MB
    monkeypatch.setattr(container_module, "_inflate", lambda *a: pytest.fail("inflated a part"))
    started = time.perf_counter()
    refused(bomb, "would inflate to 600 MB when opened (limit 512 MB); refusing to read it")
    assert time.perf_counter() - started < 1.0


def test_zip_bomb_with_a_forged_small_size_is_caught_while_inflating(tmp_path: Path, tiny_path: Path) -> None:
    part = part_of(tiny_path, "Sites")
    bomb = bomb_with(tmp_path / "forged.xlsx", tiny_path, part, deflated_zeros(200), 1000)
    started = time.perf_counter()
    refused(bomb, f"part {part} inflates beyond the 1,000 bytes its header declares (a forged zip bomb)")
    assert time.perf_counter() - started < 1.0


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
          + "]>")


@pytest.mark.parametrize("target", ["xl/sharedStrings.xml", "Sites"])
def test_xml_entity_bomb_is_refused_before_parsing(tmp_path: Path, tiny_path: Path, target: str) -> None:
    part = target if target.endswith(".xml") else part_of(tiny_path, target)
    body = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            "<si><t>&lol9;</t></si></sst>")
    if part != target:  # a sheet: keep its content, put the entity in a cell
        body = zipfile.ZipFile(tiny_path).read(part).decode().replace("<t>S1</t>", "<t>&lol9;</t>")
    bomb = rewrite(tiny_path, tmp_path / "laughs.xlsx", {part: (LAUGHS + body).encode()})
    refused(bomb, f"part {part} declares a DTD or XML entities")


def test_password_protected_workbook_is_refused(tmp_path: Path) -> None:
    # Office encryption stores the real .xlsx as an 'EncryptedPackage' stream of a compound file
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016) + "EncryptedPackage".encode("utf-16-le") + bytes(64))
    refused(path, "is password-protected (encrypted)", "without a password")


def _sheet(rows: str | bytes) -> bytes:
    rows = rows.encode() if isinstance(rows, str) else rows
    return (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + rows + b"</sheetData></worksheet>")


def test_a_million_row_sheet_is_refused_before_it_is_read(tmp_path: Path, tiny_path: Path) -> None:
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r) for r in range(2, 1_000_002))
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>site_id</t></is></c><c r="D1"><v>1</v></c></row>'
    huge = rewrite(tiny_path, tmp_path / "huge.xlsx", {part_of(tiny_path, "Sites"): _sheet(header + rows)})
    started = time.perf_counter()
    refused(huge, "Sites: the used area reaches 1,000,001 rows × 4 columns (through cell A1000001 and D1)",
            "at most 250,000 rows")
    assert time.perf_counter() - started < 3.0


def test_a_stray_cell_far_below_the_data_is_named(tmp_path: Path, tiny_path: Path) -> None:
    book = openpyxl.load_workbook(tiny_path)
    book["Sites"]["C1000000"] = "x"  # typed by accident at the bottom of the sheet
    book.save(tiny_path)
    refused(tiny_path, "Sites", "the used area reaches 1,000,000 rows", "delete what stands in C1000000")


def test_formatted_empty_cells_far_below_do_not_count(tiny_path: Path) -> None:
    part = part_of(tiny_path, "Sites")
    edit_xml(tiny_path, part, lambda xml: xml.replace(
        "</sheetData>", '<row r="900000" s="1" customFormat="1"><c r="A900000" s="1"/><c r="XFD900000" s="1"/></row>'
        "</sheetData>"))
    assert len(accepted(tiny_path).sites) == 3


CORNERS = {
    "corner.xlsx": ('<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
                    "XFD1048576"),
    "norefs.xlsx": ('<row r="1"><c><v>1</v></c></row><row r="1048576"><c><v>1</v></c></row>', "A1048576"),
}
VALIDATE_EACH = "import sys; from cowopt.cli.main import main\nfor p in sys.argv[1:]:\n    try: main(['validate', p])\n    except SystemExit as e: print(p, e.code)"


def test_two_cells_spanning_the_whole_grid_cannot_crash_the_reader(tmp_path: Path, tiny_path: Path) -> None:
    # python-calamine would allocate the dense 1M x 16k grid (550 GB) and abort the process, so
    # this runs in a child process: a regression shows as a failed test, not a dead test run
    bombs = [rewrite(tiny_path, tmp_path / name, {part_of(tiny_path, "Sites"): _sheet(rows)})
             for name, (rows, _) in CORNERS.items()]
    child = subprocess.run([sys.executable, "-c", VALIDATE_EACH, *map(str, bombs)],
                           check=False, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert "Traceback" not in child.stderr
    for bomb, (name, (_, edge)) in zip(bombs, CORNERS.items()):
        assert f"{bomb} {EXIT_INPUT}" in child.stdout
        assert f"{name} › Sites: the used area reaches 1,048,576 rows" in child.stderr
        assert f"delete what stands in {edge}" in child.stderr or f"and {edge}" in child.stderr


def _unreferenced_cell(value: object) -> str:
    if isinstance(value, str):
        return f'<c t="inlineStr"><is><t>{value}</t></is></c>'
    return f"<c><v>{value}</v></c>"


def test_cells_without_references_are_placed_like_a_spreadsheet_would(tmp_path: Path, tiny_path: Path) -> None:
    table = (("state", "item", "available"), ("Aland", "battalion", 2), ("Aland", "sam", 1),
             ("Borduria", "hospital", 2), ("Borduria", "sam", 1))
    rows = "".join("<row>" + "".join(map(_unreferenced_cell, values)) + "</row>" for values in table)
    data = accepted(rewrite(tiny_path, tmp_path / "norefs.xlsx", {part_of(tiny_path, "Inventory"): _sheet(rows)}))
    assert list(data.inventory["available"]) == [2, 1, 2, 1]


def test_absurd_numbers_are_each_reported_by_cell(tiny_path: Path) -> None:
    states, sites = part_of(tiny_path, "States"), part_of(tiny_path, "Sites")
    edit_xml(tiny_path, states, lambda xml: set_cell(xml, "D2", '<c r="D2"><v>1E15</v></c>'))  # max_troops

    def numbers(xml: str) -> str:
        for ref, value in (("F2", "-5"), ("F3", "NaN"), ("F4", "1E999"), ("D2", "-INF")):
            xml = set_cell(xml, ref, f'<c r="{ref}"><v>{value}</v></c>')
        return xml

    edit_xml(tiny_path, sites, numbers)
    output = refused(tiny_path, "States!D2: max_troops must be a whole number from 0 to 10000000, got 1000000000000000",
                     "Sites!F2: capacity_troops must be a whole number from 0 to 10000000, got -5",
                     "Sites!F4: capacity_troops must be a whole number from 0 to 10000000, got inf",
                     "Sites!D2: lat must be a number from -90 to 90, got -inf")
    # a NaN cell holds no number: reported as what it is, never as blank or read as 0
    assert "Sites!F3: capacity_troops must be a whole number from 0 to 10000000, got NaN (not a number)" in output


# --------------------------------------------------------------------------- safe output


FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(1)", "-2+3"]


def test_formula_like_text_from_inputs_stays_text_in_the_plan(tmp_path: Path, tiny_tables: dict) -> None:
    site_name, state, rule_id, site_id = FORMULA_LIKE
    tiny_tables["States"]["state"][0] = state
    tiny_tables["Inventory"]["state"][:2] = [state, state]
    tiny_tables["Sites"]["name"][0] = site_name
    tiny_tables["Sites"]["site_id"][1] = site_id
    tiny_tables["Rules"] = {"rule_id": [rule_id], "item": ["sam"], "min_count": [1], "hard": [0]}
    path = tiny_xlsx(tmp_path, tiny_tables)
    result = cli("solve", path, "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == EXIT_OK, result.output
    plan = tmp_path / "out" / "plan.xlsx"
    with zipfile.ZipFile(plan) as archive:
        for name in archive.namelist():
            assert not re.search(rb"<f[\s>/]", archive.read(name)), f"a formula in {name}"
    found = {text: 0 for text in FORMULA_LIKE}
    for sheet in openpyxl.load_workbook(plan).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in found:
                    assert cell.data_type == "s", f"{sheet.title}!{cell.coordinate} is {cell.data_type}"
                    found[cell.value] += 1
    assert all(found.values()), found  # each text made it into the plan, as text


def test_plan_is_never_written_over_the_input(tmp_path: Path, tiny_tables: dict) -> None:
    path = tiny_xlsx(tmp_path, tiny_tables, name="plan.xlsx")
    before = sha256(path)
    result = cli("solve", path, "-o", tmp_path, "--no-map")
    assert result.exit_code == EXIT_INPUT
    assert "would overwrite the input" in result.output
    assert sha256(path) == before


@pytest.mark.parametrize("lock", ["~$plan.xlsx", ".~lock.plan.xlsx#"])
def test_plan_open_in_excel_or_libreoffice_is_not_replaced(tmp_path: Path, tiny_path: Path, lock: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.xlsx").write_bytes(b"yesterday's plan")
    (out / lock).write_bytes(b"owner")
    result = cli("solve", tiny_path, "-o", out, "--no-map")
    assert result.exit_code == EXIT_INPUT
    assert f"lock file {lock}" in result.output and "close it" in result.output
    assert (out / "plan.xlsx").read_bytes() == b"yesterday's plan"
    with pytest.raises(cowopt.CowoptError, match=re.escape(f"lock file {lock}")):  # the API says so too
        cowopt.write_plan(cowopt.solve(tiny_path), out)
    assert (out / "plan.xlsx").read_bytes() == b"yesterday's plan"


def _fail_midway(error: BaseException):
    def write(result, path: Path, map_png) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a workbook")
        raise error
    return write


@pytest.mark.parametrize("error, code, message", [
    (OSError(28, "No space left on device"), EXIT_INPUT, "plan.xlsx: No space left on device"),
    (FileCreateError(PermissionError(13, "Permission denied")), EXIT_INPUT, "plan.xlsx: Permission denied"),
    (RuntimeError("writer bug"), EXIT_BUG, "internal error"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted; no file was written"),
], ids=["disk-full", "xlsxwriter-wrapped-os-error", "bug", "ctrl-c"])
def test_a_failed_write_leaves_the_old_plan_and_no_temporary_file(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch, error, code, message) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.xlsx").write_bytes(b"yesterday's plan")
    monkeypatch.setattr(report_module, "_write", _fail_midway(error))
    result = CliRunner().invoke(main, ["solve", str(tiny_path), "-o", str(out), "--no-map"])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert sorted(p.name for p in out.iterdir()) == ["plan.xlsx"]
    assert (out / "plan.xlsx").read_bytes() == b"yesterday's plan"


def test_ctrl_c_before_any_plan_writes_nothing(tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cowopt, "solve", interrupted)
    result = cli("solve", tiny_path, "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == EXIT_INTERRUPTED
    assert "interrupted; no file was written" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_short_time_limit_gives_a_marked_plan_or_none(tmp_path: Path, example_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("solve", example_path, "-o", out, "--no-map", "--time-limit", "0.5", "--mip-gap", "0", "--json")
    status = re.search(r'"status": "(\w+)"', result.output).group(1)
    if result.exit_code == EXIT_OK:
        assert status in ("optimal", "feasible")
        summary = openpyxl.load_workbook(out / "plan.xlsx")["Summary"]
        assert [r[1] for r in summary.iter_rows(values_only=True) if r[0] == "status"] == [status]
    else:
        assert (result.exit_code, status) == (EXIT_NO_PLAN, "no_plan_in_time")
        assert not (out / "plan.xlsx").exists()


def _outcome_as(status, detail: str):
    """Wrap Solver.solve: run HiGHS, then report `status` (keeping the plan only if it has one)."""
    original = solve_module.Solver.solve

    def solve(self):
        outcome = original(self)
        outcome.status, outcome.detail = status, detail
        if not status.has_plan:
            outcome.values, outcome.objective = {}, None
        return outcome
    return solve


def test_time_limit_with_a_plan_writes_it_marked_not_proven_optimal(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solve_module.Solver, "solve", _outcome_as(solve_module.Status.FEASIBLE, "Time limit reached"))
    result = cli("solve", tiny_path, "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == EXIT_OK
    assert "feasible" in result.output and "Time limit reached" in result.output
    summary = openpyxl.load_workbook(tmp_path / "out" / "plan.xlsx")["Summary"]
    assert [(r[1], r[2]) for r in summary.iter_rows(values_only=True) if r[0] == "status"] == [
        ("feasible", "Time limit reached")]


@pytest.mark.parametrize("status, detail", [
    ("NO_PLAN_IN_TIME", "Time limit reached"),
    ("ERROR", "solver error: numerical trouble"),
], ids=["no-plan-in-time", "solver-error"])
def test_solver_without_a_plan_exits_4_and_writes_nothing(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch, status: str, detail: str) -> None:
    status = solve_module.Status[status]
    monkeypatch.setattr(solve_module.Solver, "solve", _outcome_as(status, detail))
    result = cli("solve", tiny_path, "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == EXIT_NO_PLAN
    assert status.value in result.output and detail in result.output
    assert not (tmp_path / "out" / "plan.xlsx").exists()


def test_a_solver_crash_is_reported_without_a_traceback(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args, **kwargs):
        raise RuntimeError("HiGHS: numerical trouble")

    monkeypatch.setattr(solve_module, "_run_stoppable", crash)
    monkeypatch.setattr(logging.root, "handlers", [])  # as on a planner's terminal: no pytest log capture
    result = CliRunner().invoke(main, ["solve", str(tiny_path), "-o", str(tmp_path / "out"), "--no-map"])
    assert result.exit_code == EXIT_NO_PLAN
    assert "solver error: HiGHS: numerical trouble" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_during_the_solve_writes_the_best_plan_so_far(
        tmp_path: Path, example_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original, pressed = solve_module.Solver.solve, []

    def ctrl_c_once_a_plan_exists(event) -> None:  # HiGHS found an incumbent: the planner presses Ctrl-C
        if not pressed:
            pressed.append(True)
            _thread.interrupt_main()

    def solve(self):
        self.load()
        self._highs._solver_model.cbMipImprovingSolution.subscribe(ctrl_c_once_a_plan_exists)
        return original(self)

    monkeypatch.setattr(solve_module.Solver, "solve", solve)
    result = CliRunner().invoke(main, ["solve", str(example_path), "-o", str(tmp_path / "out"), "--no-map",
                                       "--mip-gap", "0", "--time-limit", "60"])
    assert pressed, "HiGHS reported no incumbent"
    assert result.exit_code == EXIT_OK, result.output
    summary = openpyxl.load_workbook(tmp_path / "out" / "plan.xlsx")["Summary"]
    assert [r[1] for r in summary.iter_rows(values_only=True) if r[0] == "status"] == ["feasible"]
