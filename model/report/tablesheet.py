"""A worksheet whose table body is stored by column and serialised in one pass.

XlsxWriter spends most of a plan's write time on per-cell calls (write_number, write_string)
and then on per-cell XML writing at close: about 0.5 s for the 60,000 cells of a 3,000-point
maximal-covering plan (issue 17). `TableSheet.write_body` takes whole columns instead and
produces, byte for byte, the XML XlsxWriter would have written for the same cells through
report.plan._write_cell (tests/test_tablesheet.py compares the two): the same shared strings
in the same order, the same style indices, spans and dimensions.

It relies on XlsxWriter internals (`_write_rows`, `_calculate_spans`, `str_table`), pinned
in requirements/lock.txt; the byte-for-byte test fails first if an upgrade changes them.
Cells it does not reproduce (±inf, which XlsxWriter writes as error formulas, and strings
near Excel's length limit, which it truncates) are left to the per-cell path: `plain` says
whether a column can take this one.
"""

from __future__ import annotations

import math

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# XlsxWriter truncates strings over 32,767 UTF-16 units; anything under half cannot exceed it
_SAFE_STRING = 16_383


def plain(values: list) -> bool:
    """True when every value is one write_body writes exactly as the per-cell path would."""
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        return float not in kinds or not any(v == math.inf or v == -math.inf for v in values)
    if kinds == {str}:
        return max(map(len, values)) <= _SAFE_STRING
    for value in values:
        if value is None or isinstance(value, int):
            continue
        if isinstance(value, float):
            if value == math.inf or value == -math.inf:
                return False
        elif len(str(value)) > _SAFE_STRING:
            return False
    return True


_NUMBERS = {int, float, bool}


class TableSheet(Worksheet):
    """A Worksheet that also holds a block of rows given column by column (see write_body)."""

    def __init__(self) -> None:
        super().__init__()
        self._body_row = 0
        self._body: list[tuple[int, object, list]] = []  # (column, format, cell tails)

    def write_body(self, first_row: int, columns: list[list], formats: list) -> None:
        """Cells from `first_row` down, one list per column starting at column 0.

        Each value goes as report.plan._write_cell sends it: None or NaN is a blank (kept
        only with a format), a bool or number a number, anything else its str(); call
        `plain` first. Strings enter the shared-string table now, column by column, in the
        order the per-cell path would add them."""
        index = self.str_table._get_shared_string_index
        self._body_row = first_row
        last_row, used = None, []
        for col, (values, fmt) in enumerate(zip(columns, formats)):
            tails = _tails(values, fmt, index)
            filled = [i for i, tail in enumerate(tails) if tail is not None]
            if filled:
                used.append(col)
                last_row = max(last_row or 0, filled[-1])
            self._body.append((col, fmt, tails))
        if used:
            self._check_dimensions(first_row + last_row, used[0])
            self._check_dimensions(first_row + last_row, used[-1])
            top = min(next(i for i, t in enumerate(self._body[c][2]) if t is not None) for c in used)
            self._check_dimensions(first_row + top, used[0])

    def _bounds(self) -> list[tuple[int, int]]:
        """(first, last) column with a cell of each body row; (-1, -1) when it has none."""
        count = max((len(tails) for _, _, tails in self._body), default=0)
        full = [col for col, _, tails in self._body if None not in tails]
        # columns with a cell in every row settle most rows at once; only gappy ones are walked
        bounds = [(full[0], full[-1])] * count if full else [(-1, -1)] * count
        for col, _, tails in self._body:
            if None in tails:
                for i, tail in enumerate(tails):
                    if tail is not None:
                        low, high = bounds[i]
                        bounds[i] = (col if low < 0 else min(low, col), max(high, col))
        return bounds

    def _calculate_spans(self) -> None:
        super()._calculate_spans()
        if not self._body:
            return
        # widen each 16-row block's span by the body's cells, as XlsxWriter would have
        spans: dict[int, list[int]] = {}
        for index, text in self.row_spans.items():
            low, high = (int(n) - 1 for n in text.split(":"))
            spans[index] = [low, high]
        for i, (low, high) in enumerate(self._bounds()):
            if low >= 0:
                span = spans.setdefault((self._body_row + i) // 16, [low, high])
                span[0], span[1] = min(span[0], low), max(span[1], high)
        self.row_spans = {k: f"{low + 1}:{high + 1}" for k, (low, high) in sorted(spans.items())}

    def _write_rows(self) -> None:
        # XlsxWriter's own rows (the header and anything written per cell) come first: the
        # body starts below them, so the rows stay in order. Style indices are handed out
        # on first use while writing, so the body's formats are asked for after the header's.
        # XlsxWriter's loop visits every row up to the last dimension; its own rows end
        # above the body, so it stops there (3,000 empty visits less on a Coverage sheet).
        last = self.dim_rowmax
        own = [*self.table, *self.comments, *self.row_info]
        self.dim_rowmax = max(own) if own else last
        try:
            super()._write_rows()
        finally:
            self.dim_rowmax = last
        if not self._body:
            return
        count = max(len(tails) for _, _, tails in self._body)
        numbers = range(self._body_row + 1, self._body_row + count + 1)
        columns = []
        for col, fmt, tails in self._body:
            if all(tail is None for tail in tails):
                continue  # a format never used must not get a style index
            start = f'<c r="{xl_col_to_name(col)}'
            style = f'" s="{fmt._get_xf_index()}"' if fmt is not None else '"'
            columns.append([f"{start}{r}{style}{tail}" if tail is not None else "" for r, tail in zip(numbers, tails)])
        write, spans = self.fh.write, self.row_spans
        for row, cells in zip(range(self._body_row, self._body_row + count), zip(*columns)):
            text = "".join(cells)
            if text:
                span = spans.get(row // 16)
                head = f'<row r="{row + 1}" spans="{span}">' if span else f'<row r="{row + 1}">'
                write(head + text + "</row>")


def _tails(values: list, fmt, index) -> list:
    """_tail of every value; the common one-type columns without a call per cell."""
    kinds = set(map(type, values))
    if kinds == {int} or (kinds == {float} and all(v == v for v in values)):
        return [f"><v>{v:.16G}</v></c>" for v in values]
    if kinds == {str}:
        return [f' t="s"><v>{index(v)}</v></c>' for v in values]
    return [_tail(value, fmt, index) for value in values]


def _tail(value, fmt, index) -> str | None:
    """What follows `<c r=".." s=".."` for one value, or None when no cell is written."""
    if value is None or (isinstance(value, float) and value != value):
        return "/>" if fmt is not None else None
    if value.__class__ is bool:
        return f"><v>{int(value):.16G}</v></c>"
    if isinstance(value, (int, float)):
        return f"><v>{value:.16G}</v></c>"
    return f' t="s"><v>{index(str(value))}</v></c>'
