"""Areas the map shades: the countries around the theatre and the occupied side of the line.

Countries come from Natural Earth 1:50m admin-0 (public domain) shipped as
`cowopt/assets/countries_50m.csv` (see assets/SOURCES.md). The occupied area is not shipped:
it is worked out from the workbook's Frontline sheet, so it always matches the line the
optimiser was given. On a grid over Ukraine, the land reachable from the entry points
without crossing the contact line is held; what the line cuts off is occupied. A line whose
end stops short of the border (within _SNAP_KM) is extended to it, as a contact line runs
from border to border or to the sea. If the line cuts nothing off (it has a gap, or the
workbook is another theatre), nothing is shaded: the map never guesses a side.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd
from matplotlib.path import Path as MplPath

from cowopt.geometry import distance_matrix_km, distance_to_polylines_km

HOME = "Ukraine"
_GRID_DEG = 0.05  # about 5 km: the shading's edge follows the drawn line within a pixel or two at slide size
_SNAP_KM = 40.0  # a line end this close to the border is taken to reach it
_WALL_KM = 6.0  # the line is a wall this thick on either side in the flood fill (more than a grid step)


@lru_cache(maxsize=1)
def countries() -> pd.DataFrame:
    """country, part, seq, lat, lon of every polygon ring shipped (Natural Earth 1:50m)."""
    with (files("cowopt") / "assets" / "countries_50m.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle).sort_values(["country", "part", "seq"]).reset_index(drop=True)


def rings(country: str | None = None) -> list[tuple[str, np.ndarray]]:
    """(country, array of (lon, lat)) per ring, of one country or all."""
    table = countries()
    if country is not None:
        table = table[table["country"] == country]
    return [(name, part[["lon", "lat"]].to_numpy(float)) for (name, _), part in table.groupby(["country", "part"])]


def home_path() -> MplPath:
    """Ukraine (mainland, Crimea, islands) as one compound path, for clipping and point tests."""
    return MplPath.make_compound_path(*[MplPath(ring, closed=True) for _, ring in rings(HOME)])


def occupied_mask(frontline: pd.DataFrame, entry_points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(lon axis, lat axis, bool grid of occupied cells) or None when nothing is cut off.

    A cell is held when it is inside Ukraine and 4-connected to an entry point's cell without
    passing within _WALL_KM of the contact line; held cells then grow into the wall by half its
    thickness, so the shading's edge lies on the line itself rather than beside it."""
    if frontline.empty or entry_points.empty:
        return None
    home = home_path()
    extent = home.get_extents()
    lon_axis = np.arange(extent.x0, extent.x1 + _GRID_DEG, _GRID_DEG)
    lat_axis = np.arange(extent.y0, extent.y1 + _GRID_DEG, _GRID_DEG)
    lon_grid, lat_grid = np.meshgrid(lon_axis, lat_axis)
    inside = home.contains_points(np.column_stack([lon_grid.ravel(), lat_grid.ravel()])).reshape(lon_grid.shape)
    if not inside.any():
        return None
    line = _snapped_to_border(frontline)
    candidates = inside.ravel()
    distance = np.full(candidates.shape, np.inf)
    distance[candidates] = distance_to_polylines_km(lat_grid.ravel()[candidates], lon_grid.ravel()[candidates], line)
    wall = (distance <= _WALL_KM).reshape(inside.shape)
    passable = inside & ~wall
    held = np.zeros_like(inside)
    for lat, lon in zip(entry_points["lat"], entry_points["lon"]):
        row, col = _nearest_cell(passable, lat_axis, lon_axis, lat, lon)
        if row is not None:
            held[row, col] = True
    if not held.any():
        return None
    seeds = held
    held = _flood(seeds, passable)
    held = _flood(held, inside & wall, steps=int(np.ceil(_WALL_KM / (111.2 * _GRID_DEG))))
    # land the grid cannot reach even without the line (a spit or island thinner than a
    # cell) is not cut off by the line: it is not shaded
    connected = _flood(seeds, inside)
    occupied = inside & ~held & connected
    if not occupied.any() or occupied.sum() > 0.5 * inside.sum():  # a line with a gap, or a side it cannot be
        return None
    return lon_axis, lat_axis, occupied


def _snapped_to_border(frontline: pd.DataFrame) -> pd.DataFrame:
    """The line with a segment added from each end that lies within _SNAP_KM of the border to
    the border's nearest vertex."""
    border = np.concatenate([ring for _, ring in rings(HOME)])
    parts = []
    for line_id, line in frontline.sort_values(["line_id", "seq"]).groupby("line_id", sort=True):
        points = line[["lat", "lon"]].to_numpy(float)
        for end, where in ((points[0], 0), (points[-1], len(points))):
            km = distance_matrix_km([end[0]], [end[1]], border[:, 1], border[:, 0])[0]
            nearest = int(np.argmin(km))
            if km[nearest] <= _SNAP_KM:
                points = np.insert(points, where, [border[nearest, 1], border[nearest, 0]], axis=0)
        parts.append(pd.DataFrame({"line_id": line_id, "seq": range(len(points)), "lat": points[:, 0], "lon": points[:, 1]}))
    return pd.concat(parts, ignore_index=True)


def _nearest_cell(passable: np.ndarray, lat_axis, lon_axis, lat: float, lon: float):
    """The passable cell nearest to (lat, lon) within about 30 km (entry points sit on the border)."""
    row, col = int(np.abs(lat_axis - lat).argmin()), int(np.abs(lon_axis - lon).argmin())
    reach = 6
    window = passable[max(0, row - reach):row + reach + 1, max(0, col - reach):col + reach + 1]
    if not window.any():
        return None, None
    rows, cols = np.nonzero(window)
    best = int(np.argmin((rows + max(0, row - reach) - row) ** 2 + (cols + max(0, col - reach) - col) ** 2))
    return int(rows[best] + max(0, row - reach)), int(cols[best] + max(0, col - reach))


def _flood(seed: np.ndarray, allowed: np.ndarray, steps: int | None = None) -> np.ndarray:
    """Grow `seed` through 4-neighbours into `allowed` cells (all the way, or `steps` times)."""
    region = seed.copy()
    count = 0
    while steps is None or count < steps:
        grown = region.copy()
        grown[1:, :] |= region[:-1, :]
        grown[:-1, :] |= region[1:, :]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= allowed | region
        if (grown == region).all():
            break
        region, count = grown, count + 1
    return region
