"""cells.quick_convert gives convert_cell's answer, or declines (issue 17)."""

from __future__ import annotations

import math

import pytest

from cowopt.workbook.cells import SLOW, convert_cell, quick_convert
from cowopt.workbook.schema import FLAG, FLOAT, ID, INT, LIST, TEXT, Column

COLUMNS = [Column("c", kind, "", minimum=lo, maximum=hi)
           for kind in (ID, TEXT, INT, FLOAT, FLAG, LIST) for lo, hi in ((None, None), (0, 10), (-5, None))]
VALUES = [0, 1, -1, 7, 10, 11, 2.5, 3.0, -0.0, 1e300, -1e-300, 2**53 - 1, 2**53, 2**60 + 1, -(2**70),
          math.nan, math.inf, -math.inf, True, False, "a", " a b ", "", "   ", "Kyiv", "Київ", "e\u0301",
          "12", " 1 000 ", "40%", "yes", "a, b", None, (1, 2)]


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: f"{c.kind}[{c.minimum},{c.maximum}]")
def test_quick_convert_agrees_with_convert_cell(column):
    taken = 0
    for value in VALUES:
        quick = quick_convert(value, column)
        if quick is SLOW:
            continue
        taken += 1
        full, wrong = convert_cell(value, column)
        assert wrong is None, (value, wrong)
        assert quick == full and type(quick) is type(full), (value, quick, full)
    # the fast path is really taken for the column kinds it covers
    assert taken >= (3 if column.kind in (ID, TEXT, INT, FLOAT) else 0)


def test_quick_convert_declines_what_needs_the_full_path():
    number = Column("n", FLOAT, "", minimum=0, maximum=10)
    whole = Column("w", INT, "")
    text = Column("t", ID, "")
    assert quick_convert(11.0, number) is SLOW  # out of range: convert_cell words the message
    assert quick_convert(math.nan, number) is SLOW
    assert quick_convert(True, whole) is SLOW  # a bool is not taken for a number
    assert quick_convert(2.5, whole) is SLOW
    assert quick_convert(2**60 + 1, whole) is SLOW  # convert_cell rounds it through float
    assert quick_convert("  ", text) is SLOW  # blank: the caller's blank check decides
    assert quick_convert("e\u0301", text) is SLOW  # not ASCII: NFC may change it
    assert quick_convert(" x ", text) == "x" and quick_convert(4, whole) == 4 and quick_convert(4, number) == 4.0
