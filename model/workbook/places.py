"""Plausibility of the places in a workbook: warnings for coordinates that are valid but unlikely.

Each lat/lon is within its range, so the reader accepts it; these checks catch what a range
cannot: a place thousands of km from all the others (lat and lon swapped, a sign lost) and a
frontline "polyline" of a single point (a line_id typed differently on one row). Both are
warnings, not errors: the model can run, the planner is told what it will read.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from cowopt.geometry import haversine_km

# A place is "far outside" when it is farther from the middle of all places than both of these:
# the theatre's spread (half the places lie within `typical` km) times this factor, and a floor,
# so a compact theatre (a tiny test instance) does not warn about a place 300 km off.
OUTLIER_FACTOR = 4.0
OUTLIER_MIN_KM = 1000.0
_MIN_PLACES = 4  # fewer places tell nothing about where the theatre is

_PLACE_SHEETS = (("Sites", "site_id", "site"), ("Infrastructure", "asset_id", "asset"),
                 ("EntryPoints", "entry_id", "entry point"), ("Frontline", "line_id", "frontline point"))


def check(tables: dict[str, pd.DataFrame], raws: dict, errors) -> None:
    """Add a warning to `errors` (data._Collector) for each far-off place and one-point frontline."""
    _far_off_places(tables, raws, errors)
    _single_point_lines(tables["Frontline"], raws["Frontline"], errors)


def _located(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """sheet, name, excel_row, lat, lon of every place whose coordinates were read."""
    columns: dict[str, list] = {"sheet": [], "what": [], "name": [], "excel_row": [], "lat": [], "lon": []}
    for sheet, id_column, what in _PLACE_SHEETS:
        frame = tables[sheet]
        if frame.empty:
            continue
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
        keep = ~(np.isnan(lat) | np.isnan(lon))  # numpy masks, not a frame per sheet and dropna: ~15 ms less
        columns["sheet"] += [sheet] * int(keep.sum())
        columns["what"] += [what] * int(keep.sum())
        columns["name"] += list(frame[id_column].to_numpy(dtype=object)[keep])
        columns["excel_row"] += list(frame["excel_row"].to_numpy()[keep])
        columns["lat"] += list(lat[keep])
        columns["lon"] += list(lon[keep])
    if not columns["sheet"]:
        return pd.DataFrame()
    return pd.DataFrame({k: np.asarray(v, dtype=float) if k in ("lat", "lon") else v for k, v in columns.items()})


def _far_off_places(tables: dict[str, pd.DataFrame], raws: dict, errors) -> None:
    places = _located(tables)
    if len(places) < _MIN_PLACES:
        return
    # the median point and median distance ignore a few stray places, unlike a mean would
    middle = (float(places["lat"].median()), float(places["lon"].median()))
    distance = haversine_km(places["lat"], places["lon"], *middle)
    typical = float(np.median(distance))
    limit = max(OUTLIER_MIN_KM, OUTLIER_FACTOR * typical)
    swapped = haversine_km(places["lon"].clip(-90, 90), places["lat"], *middle)
    far = np.asarray(distance) > limit  # only the far-off rows are walked (3,000 places: ~10 ms less)
    rows = places[far]
    for place, km, km_swapped in zip(rows.itertuples(index=False), np.asarray(distance)[far], np.asarray(swapped)[far]):
        raw = raws[place.sheet]
        where = f"{place.sheet}!{raw.cell(place.excel_row, 'lat')}" if "lat" in raw.columns else place.sheet
        hint = (f"; are lat and lon swapped? (swapped, it would lie {km_swapped:,.0f} km from the middle)"
                if km_swapped <= limit else "; check its lat and lon (a lost minus sign?)")
        errors.warn(f"{where}: {place.what} {place.name} at lat {place.lat:g}, lon {place.lon:g} lies {km:,.0f} km "
                    f"from the middle of the workbook's places (half of them lie within {typical:,.0f} km)" + hint)


def _single_point_lines(frontline: pd.DataFrame, raw, errors) -> None:
    """A polyline of one point is kept as a point threat (geometry.segments); most likely it is a
    point of another line whose line_id was typed differently, so the planner is told."""
    if frontline.empty:
        return
    lines = frontline.dropna(subset=["line_id"]).groupby("line_id", sort=True)
    sizes = lines.size()
    longer = [str(name) for name, size in sizes.items() if size > 1]
    for name, line in lines:
        if len(line) != 1:
            continue
        row = int(line["excel_row"].iloc[0])
        cell = raw.cell(row, "line_id") if "line_id" in raw.columns else None
        folded = {other.casefold(): other for other in longer}  # 'f' for 'F' is the likeliest slip
        hint = [folded[h] for h in difflib.get_close_matches(str(name).casefold(), list(folded), n=1, cutoff=0.6)]
        errors.warn(f"Frontline!{cell or row}: line '{name}' has a single point (row {row}), so it is read as a "
                    "point that units keep their distance from, not as a line; give every line two points or more"
                    + (f" (did you mean line '{hint[0]}'?)" if hint else ""))
