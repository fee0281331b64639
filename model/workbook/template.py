"""The input workbook template: every sheet and column of the contract, annotated.

`write_template(path)` writes an empty workbook a planner can fill in; with `tables` it writes
those tables into the same layout (the tests use this for round trips). Everything comes from
`schema.py`, so the template, the reader and the docs cannot drift apart.

Layout: an "Instructions" sheet first (every sheet, column and Settings key with kind, unit,
required/default, allowed values and meaning), then one sheet per table with a bold, frozen
header whose cells carry the column description as a comment, dropdowns on flag columns and on
references, number checks on number columns, and a hidden "Lists" sheet of plain values (no
formulas: files written here carry no calculated values) for lists that span sheets.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from cowopt.workbook import schema
from cowopt.workbook.schema import FLAG, FLOAT, ID, INT, LIST, TEXT, Column, Sheet
from cowopt.workbook.files import normalise_header, write_atomically

INSTRUCTIONS = "Instructions"
LISTS = "Lists"
VALIDATED_ROWS = 1000  # dropdowns and number checks cover rows 2..this (more if the data is longer)

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")

_KIND_WORDS = {
    ID: "identifier (text)",
    TEXT: "text",
    INT: "whole number",
    FLOAT: "number",
    FLAG: "flag (0 or 1)",
    LIST: "comma-separated list",
}
_UNIT_SUFFIXES = {"_km": "km", "_meur": "M EUR", "_troops": "troops", "_s": "s"}
_UNIT_BY_NAME = {"troops": "troops", "crew": "troops", "lat": "degrees (WGS84)", "lon": "degrees (WGS84)"}
_REFERENCE_WORDS = {
    "Items": "a unit_type (UnitTypes) or ad_type (AirDefenceTypes)",
    "Capabilities": "a capability of some unit type or air-defence type",
}

_INTRO = (
    (
        "One sheet per table. Row 1 is the header, one record per row below it; do not rename "
        "sheets or columns (case and surrounding spaces do not matter). Extra columns and extra "
        "sheets are ignored, so you may keep notes beside the data."
    ),
    (
        "Units are in the column names: _km kilometres, _meur millions of euros for the planning "
        "horizon, _troops soldiers. Coordinates are WGS84 decimal degrees."
    ),
    (
        "Flags are 0 or 1 (TRUE/FALSE and yes/no are accepted too). A blank optional cell takes "
        "the default listed below; a blank required cell is an error."
    ),
    "Sheets Routes, Rules and Scenarios are optional: leave them empty if you do not need them.",
    (
        "Formulas are fine when the file is saved by Excel or LibreOffice (they store the value); "
        "files written by scripts that do not calculate formulas are refused cell by cell."
    ),
    (
        "Check the workbook with `cowopt validate FILE`: every problem is listed with its sheet "
        "and cell. Then `cowopt solve FILE -o outputs/run`."
    ),
)


def write_template(path: Path, tables: dict | None = None) -> Path:
    """Write the annotated input workbook to `path` (atomically) and return `path`.

    `tables` (sheet name -> DataFrame or dict of columns) fills the sheets; without it the data
    sheets are empty and Settings lists every key with its default. Contract columns come first
    in contract order, then a table's extra columns; extra tables become extra sheets (except
    ones named Instructions or Lists, which the template owns).
    """
    path = Path(path)
    tables = _normalise_tables(tables or {})
    workbook = Workbook()
    _write_instructions(workbook.active)
    lists = _list_values(tables)
    ranges = _list_ranges(lists)
    for spec in schema.SHEETS:
        sheet = workbook.create_sheet(spec.name)
        if spec.name == "Settings" and "Settings" not in tables:
            rows = _write_settings_defaults(sheet)
        else:
            rows = _write_table(sheet, spec, tables.get(spec.name, {}))
        _format_sheet(sheet, spec, rows)
        _add_validations(sheet, spec, ranges, max(VALIDATED_ROWS, rows + 1))
    for name, table in tables.items():
        if name not in schema.SHEETS_BY_NAME and name not in (INSTRUCTIONS, LISTS):
            _write_rows(workbook.create_sheet(name), list(table), [table[c] for c in table])
    _write_lists(workbook.create_sheet(LISTS), lists)
    return write_atomically(path, workbook.save)


# --------------------------------------------------------------------------- tables in


def _normalise_tables(tables: dict) -> dict[str, dict[str, list]]:
    """Each table as {column: list of values}; sheet names matched to the contract's spelling."""
    by_lower = {s.name.lower(): s.name for s in schema.SHEETS}
    out: dict[str, dict[str, list]] = {}
    for name, table in tables.items():
        columns = {str(c): list(v) for c, v in (table.items() if isinstance(table, dict) else table.to_dict("list").items())}
        out[by_lower.get(str(name).strip().lower(), str(name))] = columns
    return out


def _item_names(tables: dict[str, dict[str, list]]) -> list[str]:
    """Unit types then air-defence types, as given, for the Inventory/Rules item dropdowns."""
    names: list[str] = []
    for sheet, column in (("UnitTypes", "unit_type"), ("AirDefenceTypes", "ad_type")):
        values = _column(tables.get(sheet, {}), column) or []
        names += [str(_cell_value(v)).strip() for v in values if _cell_value(v) is not None]
    return list(dict.fromkeys(n for n in names if n))


def _column(table: dict[str, list], name: str) -> list | None:
    """A column of a table by its normalised header name (as the reader matches it)."""
    return next((values for header, values in table.items() if normalise_header(header) == name), None)


def _cell_value(value: object) -> object:
    """A value openpyxl writes as a plain cell; None for blanks (NaN, NA, None)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar -> Python
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, (bool, int, float, str, dt.date, dt.time, dt.timedelta)):
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
    return str(value)


# --------------------------------------------------------------------------- writing cells


def _set(sheet: Worksheet, row: int, column: int, value: object) -> None:
    """Write one value; text starting with '=' stays text, never a live formula."""
    value = _cell_value(value)
    if value is None:
        return
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def _write_rows(sheet: Worksheet, headers: list[str], columns: list[list]) -> int:
    """Header in row 1, values below; returns the number of data rows."""
    for index, header in enumerate(headers, start=1):
        sheet.cell(row=1, column=index, value=header)
    height = max((len(c) for c in columns), default=0)
    for col_index, values in enumerate(columns, start=1):
        for row_index, value in enumerate(values, start=2):
            _set(sheet, row_index, col_index, value)
    return height


def _write_table(sheet: Worksheet, spec: Sheet, table: dict[str, list]) -> int:
    """Contract columns in contract order, then any extra columns the table has."""
    headers = [c.name for c in spec.columns]
    columns = [_column(table, c.name) or [] for c in spec.columns]
    known = set(headers)
    for header, values in table.items():
        if normalise_header(header) not in known:
            headers.append(header)
            columns.append(values)
    if spec.name == "Settings":
        _describe_settings(columns)
    return _write_rows(sheet, headers, columns)


def _describe_settings(columns: list[list]) -> None:
    """Fill blank unit/description cells of known Settings keys (columns: key, value, unit, description)."""
    keys, _, units, descriptions = columns[:4]
    units.extend([None] * (len(keys) - len(units)))
    descriptions.extend([None] * (len(keys) - len(descriptions)))
    for row, key in enumerate(keys):
        spec = schema.SETTINGS_BY_KEY.get(str(key).strip().lower())
        if spec is None:
            continue
        if _cell_value(units[row]) is None:
            units[row] = spec.unit
        if _cell_value(descriptions[row]) is None:
            descriptions[row] = spec.description


def _write_settings_defaults(sheet: Worksheet) -> int:
    """Every Settings key with its default; required keys get a highlighted blank value."""
    for index, header in enumerate(("key", "value", "unit", "description"), start=1):
        sheet.cell(row=1, column=index, value=header)
    for row, spec in enumerate(schema.SETTINGS, start=2):
        _set(sheet, row, 1, spec.key)
        _set(sheet, row, 2, spec.default)
        _set(sheet, row, 3, spec.unit)
        _set(sheet, row, 4, ("Required. " if spec.required else "") + spec.description)
        if spec.required and spec.default is None:
            sheet.cell(row=row, column=2).fill = _REQUIRED_FILL
    return len(schema.SETTINGS)


def _list_values(tables: dict[str, dict[str, list]]) -> dict[str, list[str]]:
    """Dropdown lists that span sheets or are fixed, as plain values for the hidden Lists sheet."""
    return {"setting_key": [s.key for s in schema.SETTINGS], "item": _item_names(tables)}


def _list_ranges(lists: dict[str, list[str]]) -> dict[str, str]:
    """List name -> its range on the Lists sheet (one column per list, header in row 1)."""
    ranges = {}
    for index, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        if values:
            ranges[name] = f"{LISTS}!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _write_lists(sheet: Worksheet, lists: dict[str, list[str]]) -> None:
    """Hidden: planners edit the real sheets; this only feeds dropdowns."""
    sheet.sheet_state = "hidden"
    for column, (name, values) in enumerate(lists.items(), start=1):
        sheet.cell(row=1, column=column, value=name).font = _BOLD
        for row, value in enumerate(values, start=2):
            _set(sheet, row, column, value)


# --------------------------------------------------------------------------- formatting


def unit_of(column: Column) -> str:
    """Unit of a column, from its name suffix (_km, _meur, _troops) or its meaning."""
    if column.kind == FLAG:
        return "0/1"
    if column.name in _UNIT_BY_NAME:
        return _UNIT_BY_NAME[column.name]
    for suffix, unit in _UNIT_SUFFIXES.items():
        if column.name.endswith(suffix):
            return unit
    if "M EUR" in column.description:
        return "M EUR"
    if column.kind in (INT, FLOAT) and column.name in ("available", "min_count", "max_count"):
        return "units"
    return ""


def allowed_of(column: Column) -> str:
    """What a cell may hold, in the reader's words, plus the sheet a reference points to."""
    words = column.expected
    if column.references:
        target = _REFERENCE_WORDS.get(column.references, column.references)
        words += f"; must be {target} listed in the workbook"
    return words


def _format_sheet(sheet: Worksheet, spec: Sheet, rows: int) -> None:
    """Bold, frozen header with a comment per contract column; widths that fit the content."""
    sheet.freeze_panes = "A2"
    for index in range(1, sheet.max_column + 1):
        header = sheet.cell(row=1, column=index)
        header.font = _BOLD
        header.fill = _HEADER_FILL
        column = next((c for c in spec.columns if c.name == normalise_header(header.value)), None)
        if column is not None:
            header.comment = Comment(_comment_text(column), "cowopt", height=130, width=320)
        sheet.column_dimensions[get_column_letter(index)].width = _width(sheet, index, rows)


def _comment_text(column: Column) -> str:
    need = "required" if column.required else f"optional, blank = {_default_words(column.default)}"
    unit = unit_of(column)
    return f"{column.description}\nExpected: {allowed_of(column)}" + (f" ({unit})" if unit else "") + f"\n{need}"


def _width(sheet: Worksheet, column: int, rows: int) -> float:
    longest = max(
        (len(str(sheet.cell(row=r, column=column).value or "")) for r in range(1, min(rows, 200) + 2)),
        default=8,
    )
    return float(min(max(longest + 3, 10), 60))


def _default_words(default: object) -> str:
    if default is None:
        return "(none)"
    if default == "":
        return "(empty)"
    return str(default)


# --------------------------------------------------------------------------- validation


def _add_validations(sheet: Worksheet, spec: Sheet, lists: dict[str, str], last_row: int) -> None:
    """Dropdowns on flags and references, range checks on numbers (rows 2..last_row)."""
    for index, column in enumerate(spec.columns, start=1):
        validation = _validation_for(spec, column, lists)
        if validation is None:
            continue
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _validation_for(spec: Sheet, column: Column, lists: dict[str, str]) -> DataValidation | None:
    if column.kind == FLAG:
        return _list('"0,1"', column, "stop")
    if column.kind in (INT, FLOAT) and column.minimum is not None and column.maximum is not None:
        kind = "whole" if column.kind == INT else "decimal"
        return DataValidation(
            type=kind, operator="between", formula1=_number_text(column.minimum),
            formula2=_number_text(column.maximum), allow_blank=True, showErrorMessage=True,
            errorStyle="stop", errorTitle=column.name, error=f"{column.name} must be {column.expected}",
        )
    if spec.name in ("Settings", "Scenarios") and column.name == "key" and "setting_key" in lists:
        return _list(f"={lists['setting_key']}", column, "warning")  # Scenarios also takes eligible:STATE ...
    if column.references == "Items" and "item" in lists:
        return _list(f"={lists['item']}", column, "warning")  # a snapshot: new items may be added
    if (column.references and "." in column.references and column.references != "Sites.region"
            and not column.references.endswith("*")):  # "*" (every state) is not a listed value
        sheet_name, column_name = column.references.split(".")
        target = schema.SHEETS_BY_NAME[sheet_name]
        letter = get_column_letter([c.name for c in target.columns].index(column_name) + 1)
        return _list(f"={sheet_name}!${letter}$2:${letter}${VALIDATED_ROWS}", column, "stop")
    return None


def _list(formula: str, column: Column, style: str) -> DataValidation:
    return DataValidation(
        type="list", formula1=formula, allow_blank=True, showDropDown=False,
        showErrorMessage=True, errorStyle=style, errorTitle=column.name,
        error=f"{column.name} must be {allowed_of(column)}",
    )


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --------------------------------------------------------------------------- instructions


def _write_instructions(sheet: Worksheet) -> None:
    """Intro, then the sheets, every column and every Settings key, each as a small table."""
    sheet.title = INSTRUCTIONS
    sheet.cell(row=1, column=1, value="cowopt input workbook: instructions").font = _TITLE
    row = 2
    for paragraph in _INTRO:
        sheet.cell(row=row, column=1, value=paragraph)
        row += 1
    row = _block(sheet, row + 1, "Sheets", ("sheet", "required", "unique key", "description"),
                 [(s.name, "required" if s.required else "optional", ", ".join(s.key), s.description)
                  for s in schema.SHEETS])
    row = _block(sheet, row + 1, "Columns",
                 ("sheet", "column", "kind", "unit", "required", "default", "allowed values", "description"),
                 [_column_row(s, c) for s in schema.SHEETS for c in s.columns])
    _block(sheet, row + 1, "Settings keys (sheet Settings: one row per key, value in column value)",
           ("key", "kind", "required", "default", "unit", "allowed values", "description"),
           [_setting_row(s) for s in schema.SETTINGS])
    for letter, width in zip("ABCDEFGH", (24, 24, 22, 16, 12, 12, 48, 80), strict=True):
        sheet.column_dimensions[letter].width = width


def _block(sheet: Worksheet, row: int, title: str, headers: tuple[str, ...], rows: list[tuple]) -> int:
    """A titled table; returns the row after it."""
    sheet.cell(row=row, column=1, value=title).font = _TITLE
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(row=row + 1, column=index, value=header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    for offset, values in enumerate(rows, start=row + 2):
        for index, value in enumerate(values, start=1):
            _set(sheet, offset, index, value)
        sheet.cell(row=offset, column=len(headers)).alignment = _WRAP
    return row + 2 + len(rows)


def _column_row(spec: Sheet, column: Column) -> tuple:
    default = "" if column.required else _default_words(column.default)
    return (spec.name, column.name, _KIND_WORDS[column.kind], unit_of(column),
            "required" if column.required else "optional", default, allowed_of(column), column.description)


def _setting_row(spec: schema.Setting) -> tuple:
    if spec.key == "coverage_level_weights":
        allowed = "comma-separated positive weights, not increasing, e.g. 1,0.5"
    elif spec.kind == FLAG:
        allowed = "0 or 1"  # Column.expected would add the flag's bounds ("0 or 1 ≥ 0")
    else:
        allowed = Column(spec.key, spec.kind, "", minimum=spec.minimum, maximum=spec.maximum).expected
    default = "" if spec.default is None else spec.default
    return (spec.key, _KIND_WORDS[spec.kind], "required" if spec.required else "optional",
            default, spec.unit, allowed, spec.description)
