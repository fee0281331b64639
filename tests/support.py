"""Helpers shared by the tests (on pytest's pythonpath; tests/ is not a package).

Independent geometry for recomputations (nothing from cowopt), the tiny instance as fresh
tables, and writing tables to a workbook the way a planner's tool would.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd

EARTH_RADIUS_KM = 6371.0088


def tiny() -> dict:
    """A fresh copy of conftest's TINY tables (usable where a function fixture is not)."""
    from conftest import TINY

    return copy.deepcopy(TINY)


def write_inputs(path: Path, tables: dict) -> Path:
    """Tables (sheet -> dict of columns) as an .xlsx written by XlsxWriter."""
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for sheet, columns in tables.items():
            pd.DataFrame(columns).to_excel(writer, sheet_name=sheet, index=False)
    return path


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    return math.atan2(math.sin(dl) * math.cos(p2), math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl))


def segment_km(p: tuple, a: tuple, b: tuple) -> float:
    """Least distance from p to the great-circle segment a-b (aviation cross-track formulas)."""
    ends = min(haversine_km(*a, *p), haversine_km(*b, *p))
    length = haversine_km(*a, *b)
    if length == 0:
        return ends
    angle_ap = haversine_km(*a, *p) / EARTH_RADIUS_KM
    turn = _bearing(*a, *p) - _bearing(*a, *b)
    if math.cos(turn) <= 0:  # the foot of the perpendicular lies behind a
        return ends
    cross = math.asin(math.sin(angle_ap) * math.sin(turn))
    along = math.acos(max(-1.0, min(1.0, math.cos(angle_ap) / math.cos(cross))))
    if along * EARTH_RADIUS_KM > length:  # ... or beyond b
        return ends
    return min(ends, abs(cross) * EARTH_RADIUS_KM)
