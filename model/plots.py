"""Pictures of a plan: the map (map.png) and the sweep frontier (frontier.png).

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global state), so
drawing is safe in threads and worker processes and needs no display. Offline: the
country outline is Natural Earth's public-domain 1:110m polygon shipped in
`cowopt/assets/ukraine_outline.csv`; there is no tile server.

The map is plotted in plain longitude/latitude with the axes' aspect set to 1/cos(mean
latitude), so a kilometre east-west is as long as a kilometre north-south at the centre of
the map. Range rings are true geodesic circles on the same sphere the model's distances
use, and the buffer band is the model's own distance-to-contact-line on a grid, so what the
map shows is what the optimiser was told.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from .geometry import EARTH_RADIUS_KM, distance_matrix_km, distance_to_polylines_km, haversine_km, segments
from .workbook import write_atomically

if TYPE_CHECKING:
    from .api import PlanResult
    from .data import InputData
    from .evaluate import PlanScore

DPI = 100
MAP_SIZE_IN = (14.0, 10.0)  # 1400 x 1000 px
FRONTIER_SIZE_IN = (9.0, 6.0)  # 900 x 600 px
_MAP_BOX = (0.045, 0.035, 0.72, 0.865)  # the space the map may take: left, bottom, width, height
_HALO = [patheffects.withStroke(linewidth=2.6, foreground="white")]

# cover depth of an asset's most valuable capability -> (legend label, colour)
_COVER_CLASSES = {
    "uncovered": ("not covered at all", "#d7191c"),
    "partial": ("main capability not covered", "#fd8d3c"),
    "once": ("main capability covered once", "#fecc5c"),
    "layered": ("main capability covered twice+", "#1a9641"),
    "none": ("no value (occupied / unweighted)", "#9e9e9e"),
    "inputs": ("asset (no plan)", "#4a6fa5"),
}
_ASSET_MARKERS = ["o", "s", "^", "D", "v", "p", "h", "P", "X", "<", ">", "*"]
_SITE_UNITS, _SITE_AD = "#2b5c8a", "#9b3fb5"
# ring (and frontier series) colours: distinct hues, none the red of uncovered assets
_RING_COLOURS = ["#6a3d9a", "#1f78b4", "#e7298a", "#17becf", "#b15928", "#ff7f00", "#bcbd22", "#7f7f7f",
                 "#08306b", "#33a02c", "#8c564b", "#00441b"]
_FLOW_COLOUR = "#8c6d31"
_FRONT_COLOUR = "#b2182b"
_GRID_KM = 4.0  # buffer-band grid step
_MIN_WIDTH_RATIO = 1.4  # leaves room under the map for the notes panel


@dataclass
class _Label:
    text: str
    lon: float
    lat: float
    size: float  # font size
    style: str  # "normal" or "italic"
    clearance_pt: float  # half the marker's size, so the text starts beside it
    colour: str = "#1b1b1b"


# ---------------------------------------------------------------------------- public API


def draw_map(result: PlanResult, path: Path, title: str | None = None) -> Path:
    """Draw the plan (or, when `result.score` is None, the inputs alone) to a PNG at `path`.

    `result` is a `cowopt.api.PlanResult`. The image is MAP_SIZE_IN at DPI (1400 x 1000 px),
    written atomically; returns `path`.
    """
    data, plan = result.data, result.score
    fig = Figure(figsize=MAP_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(_MAP_BOX)
    _set_extent(ax, data)
    _draw_outline(ax)
    _draw_buffer(ax, data)
    _draw_frontline(ax, data)
    rings = _draw_rings(ax, data, plan) if plan is not None else []
    flow_scale = _draw_flows(ax, data, plan) if plan is not None else None
    asset_classes = _draw_assets(ax, data, plan)
    sites = _site_table(data, plan)
    site_scale = _draw_sites(ax, sites)
    _draw_entries(ax, data)
    _decorate_axes(ax)
    ax.apply_aspect()  # fix the map's final box now: labels are placed in display space
    _place_labels(fig, ax, _labels(data, plan, sites, asset_classes), _marker_boxes(ax, sites, data))
    _legend(fig, data, plan, asset_classes, rings, flow_scale, site_scale)
    _notes_panel(fig, ax, result)
    _title(fig, result, title)
    return _save(fig, Path(path))


def draw_frontier(frame: pd.DataFrame, path: Path) -> Path:
    """Coverage (objective) against budget, one line per scenario, to a PNG at `path`.

    `frame` has columns budget_meur and objective, optionally scenario and status. Points
    whose status is not "optimal" are drawn hollow (the solver stopped before proving them
    best); rows without an objective (infeasible, no plan in time) are an x on the budget
    axis, left out of the line. Written atomically; returns `path`.
    """
    fig = Figure(figsize=FRONTIER_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    frame = frame.copy()
    frame["scenario"] = frame["scenario"].fillna("base") if "scenario" in frame else "base"
    frame["objective"] = pd.to_numeric(frame["objective"], errors="coerce")
    frame["budget_meur"] = pd.to_numeric(frame["budget_meur"], errors="coerce")
    frame = frame.dropna(subset=["budget_meur"])
    for i, (scenario, group) in enumerate(frame.groupby("scenario", sort=False)):
        _frontier_series(ax, group.sort_values("budget_meur"), str(scenario), _RING_COLOURS[i % len(_RING_COLOURS)])
    ax.set_xlabel("budget (M EUR)")
    ax.set_ylabel("weighted coverage (objective)")
    ax.set_title("Coverage against budget", fontweight="bold")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + _frontier_key(frame)
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=9)
    fig.tight_layout()
    return _save(fig, Path(path))


def geodesic_circle(lat: float, lon: float, radius_km: float, points: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes of the circle of `radius_km` around (lat, lon) on the sphere.

    Destination-point formula on the model's sphere (radius EARTH_RADIUS_KM): from
    (phi1, lambda1) along bearing theta for angular distance delta = r / R,
        phi2 = asin(sin phi1 cos delta + cos phi1 sin delta cos theta)
        lambda2 = lambda1 + atan2(sin theta sin delta cos phi1, cos delta - sin phi1 sin phi2).
    The first and last points coincide (a closed ring).
    """
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    delta = radius_km / EARTH_RADIUS_KM
    theta = np.linspace(0.0, 2 * math.pi, points)
    phi2 = np.arcsin(np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(theta))
    lambda2 = lambda1 + np.arctan2(np.sin(theta) * np.sin(delta) * np.cos(phi1),
                                   np.cos(delta) - np.sin(phi1) * np.sin(phi2))
    return np.degrees(phi2), np.degrees(lambda2)


def country_outline() -> pd.DataFrame:
    """Ukraine's outline (seq, lat, lon), Natural Earth 1:110m, public domain."""
    return _outline().copy()


# ---------------------------------------------------------------------------- layers


@lru_cache(maxsize=1)
def _outline() -> pd.DataFrame:
    with (files("cowopt") / "assets" / "ukraine_outline.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle).sort_values("seq").reset_index(drop=True)


def _set_extent(ax, data) -> None:
    """Frame every input point (with the whole country when the data span most of it), at
    least _MIN_WIDTH_RATIO times as wide as tall so a narrow theatre does not shrink to a strip."""
    lats = pd.concat([data.sites["lat"], data.assets["lat"], data.entry_points["lat"], data.frontline["lat"]]).dropna()
    lons = pd.concat([data.sites["lon"], data.assets["lon"], data.entry_points["lon"], data.frontline["lon"]]).dropna()
    outline = _outline()
    if lats.empty:
        lats, lons = outline["lat"], outline["lon"]
    south, north, west, east = lats.min(), lats.max(), lons.min(), lons.max()
    if (north - south) >= 0.5 * np.ptp(outline["lat"]) and (east - west) >= 0.5 * np.ptp(outline["lon"]):
        south, north = min(south, outline["lat"].min()), max(north, outline["lat"].max())
        west, east = min(west, outline["lon"].min()), max(east, outline["lon"].max())
    pad = max(0.3, 0.04 * max(north - south, east - west))
    south, north, west, east = south - pad, north + pad, west - pad, east + pad
    # a degree of longitude is cos(latitude) of a degree of latitude: keep kilometres square
    squeeze = math.cos(math.radians((south + north) / 2))
    missing = _MIN_WIDTH_RATIO * (north - south) / squeeze - (east - west)
    if missing > 0:
        west, east = west - missing / 2, east + missing / 2
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / squeeze, adjustable="box", anchor="NW")
    ax.set_facecolor("#eaf2f8")  # sea and neighbours: pale blue-grey under the land fill


def _draw_outline(ax) -> None:
    outline = _outline()
    ax.add_patch(Polygon(outline[["lon", "lat"]].to_numpy(), closed=True, facecolor="#fbf8ef",
                         edgecolor="#6b6b6b", linewidth=1.0, zorder=1))


def _draw_buffer(ax, data) -> None:
    """Shade the band within frontline_buffer_km of the contact line (no placement allowed).

    The distance is the model's own (geometry.distance_to_polylines_km) on a ~4 km grid, so
    the band's edge is where the frontline restriction starts, not a drawing approximation.
    """
    buffer_km = float(data.settings.get("frontline_buffer_km", 0) or 0)
    if buffer_km <= 0 or data.frontline.empty:
        return
    front = data.frontline
    margin_lat = buffer_km / 111.2 + 0.1
    margin_lon = margin_lat / max(0.2, math.cos(math.radians(front["lat"].abs().max())))
    lat_axis = _grid_axis(front["lat"].min() - margin_lat, front["lat"].max() + margin_lat, _GRID_KM / 111.2)
    lon_axis = _grid_axis(front["lon"].min() - margin_lon, front["lon"].max() + margin_lon, _GRID_KM / 111.2 / 0.6)
    lon_grid, lat_grid = np.meshgrid(lon_axis, lat_axis)
    step_km = 111.2 * max(lat_axis[1] - lat_axis[0], lon_axis[1] - lon_axis[0])  # >= any grid step
    distance = _band_distance(lat_grid.ravel(), lon_grid.ravel(), front, buffer_km + 2 * step_km)
    distance = distance.reshape(lat_grid.shape)
    ax.contourf(lon_grid, lat_grid, distance, levels=[-1.0, buffer_km], colors=[_FRONT_COLOUR], alpha=0.16, zorder=2)
    ax.contour(lon_grid, lat_grid, distance, levels=[buffer_km], colors=[_FRONT_COLOUR], linewidths=0.8,
               linestyles="--", alpha=0.7, zorder=2)


def _band_distance(lat: np.ndarray, lon: np.ndarray, front: pd.DataFrame, exact_within_km: float) -> np.ndarray:
    """Distance to the contact line: exact up to `exact_within_km`, a lower bound beyond it.

    A point is at least (distance to a segment's nearer end - half its length) from that
    segment. Points whose bound over all segments exceeds the buffer by two grid steps
    cannot be a grid neighbour of a point inside the band (distance is 1-Lipschitz), so
    they keep the cheap bound and the contour of the band's edge is unchanged. This cuts
    the work about threefold on the example.
    """
    starts, ends = segments(front)
    half = haversine_km(starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1]) / 2
    to_start = distance_matrix_km(lat, lon, starts[:, 0], starts[:, 1])
    to_end = distance_matrix_km(lat, lon, ends[:, 0], ends[:, 1])
    bound = (np.minimum(to_start, to_end) - half[None, :]).min(axis=1)
    near = bound <= exact_within_km
    distance = bound.copy()
    distance[near] = distance_to_polylines_km(lat[near], lon[near], front)
    return distance


def _grid_axis(start: float, stop: float, step: float) -> np.ndarray:
    # at most 300 samples a side bounds the cost whatever the theatre's size
    count = int(min(300, max(20, math.ceil((stop - start) / step) + 1)))
    return np.linspace(start, stop, count)


def _draw_frontline(ax, data) -> None:
    for _, line in data.frontline.sort_values(["line_id", "seq"]).groupby("line_id", sort=True):
        if len(line) == 1:
            ax.plot(line["lon"], line["lat"], marker="X", color=_FRONT_COLOUR, markersize=9, zorder=6)
        else:
            ax.plot(line["lon"], line["lat"], color=_FRONT_COLOUR, linewidth=2.4, solid_capstyle="round", zorder=6)


def _draw_rings(ax, data, plan) -> list[tuple[str, float, str]]:
    """A geodesic range ring per air-defence type deployed at a site; returns legend entries."""
    deployed = plan.deployments[plan.deployments["kind"] == "air_defence"]
    deployed = deployed[deployed["site_id"].isin(data.sites.index) & deployed["item"].isin(data.items.index)]
    types = sorted(deployed["item"].unique(), key=lambda k: -float(data.items.at[k, "radius_km"]))
    colours = {k: _RING_COLOURS[i % len(_RING_COLOURS)] for i, k in enumerate(types)}
    for (item, site), group in deployed.groupby(["item", "site_id"]):
        radius = float(data.items.at[item, "radius_km"])
        lats, lons = geodesic_circle(float(data.sites.at[site, "lat"]), float(data.sites.at[site, "lon"]), radius)
        ax.fill(lons, lats, facecolor=colours[item], alpha=0.05, edgecolor="none", zorder=3)
        ax.plot(lons, lats, color=colours[item], linewidth=1.3, alpha=0.85, zorder=3)
    return [(k, float(data.items.at[k, "radius_km"]), colours[k]) for k in types]


def _draw_flows(ax, data, plan) -> float | None:
    """Entry-to-site troop flows, line width by troops; returns the troops of the widest line."""
    flows = plan.logistics
    flows = flows[(flows["troops"] > 0) & flows["entry_id"].isin(data.entry_points.index)
                  & flows["site_id"].isin(data.sites.index)]
    if flows.empty:
        return None
    largest = float(flows["troops"].max())
    entries, sites = data.entry_points, data.sites
    lines = [[(entries.at[e, "lon"], entries.at[e, "lat"]), (sites.at[s, "lon"], sites.at[s, "lat"])]
                for e, s in zip(flows["entry_id"], flows["site_id"])]
    widths = _flow_width(flows["troops"].to_numpy(float), largest)
    ax.add_collection(LineCollection(lines, linewidths=widths, colors=_FLOW_COLOUR, alpha=0.4,
                                     capstyle="round", zorder=4))
    return largest


def _flow_width(troops: np.ndarray, largest: float) -> np.ndarray:
    return 0.6 + 6.0 * np.asarray(troops, float) / max(largest, 1.0)


def cover_classes(data: InputData, plan: PlanScore | None) -> pd.Series:
    """Each asset's cover class (index asset_id), as the map colours it.

    "none": value 0 (occupied) or no capability weight; "uncovered": worth something but
    no capability covers it; otherwise by the cover count of its most valuable capability
    (largest max_contribution): "partial" (0, yet another capability covers it), "once" (1),
    "layered" (2 or more). Without a plan (`plan` None): "inputs", or "none" for value 0.
    """
    assets = data.assets
    if plan is None:
        return pd.Series("inputs", index=assets.index).where(assets["value"] > 0, "none")
    coverage = plan.coverage
    totals = coverage.groupby("asset_id")[["contribution", "max_contribution"]].sum()
    best = coverage.sort_values(["max_contribution", "capability"], ascending=[False, True])
    depth = best.groupby("asset_id")["cover_count"].first()
    classes = pd.Series("none", index=assets.index)
    for asset in assets.index:
        if asset not in totals.index or totals.at[asset, "max_contribution"] <= 0:
            continue
        if totals.at[asset, "contribution"] <= 0:
            classes[asset] = "uncovered"
        else:
            classes[asset] = "layered" if depth[asset] >= 2 else "once" if depth[asset] == 1 else "partial"
    return classes


def _draw_assets(ax, data, plan) -> pd.Series:
    """Infrastructure: colour by cover class, marker by category, size by value."""
    assets = data.assets
    classes = cover_classes(data, plan)
    top_value = max(float(assets["value"].max()), 1.0) if len(assets) else 1.0
    markers = _category_markers(assets)
    for (category, cover), group in assets.groupby([assets["category"], classes]):
        uncovered = cover == "uncovered"
        size = 18 + 70 * group["value"].to_numpy(float) / top_value
        ax.scatter(group["lon"], group["lat"], s=size * (2.2 if uncovered else 1.0), marker=markers[category],
                   c=_COVER_CLASSES[cover][1], edgecolors="black" if uncovered else "#333333",
                   linewidths=1.8 if uncovered else 0.5, zorder=10 if uncovered else 9)
    return classes


def _category_markers(assets: pd.DataFrame) -> dict:
    return {c: _ASSET_MARKERS[i % len(_ASSET_MARKERS)] for i, c in enumerate(sorted(assets["category"].unique()))}


def _draw_sites(ax, sites: pd.DataFrame) -> float:
    """Sites: used ones as discs (area by troops) coloured by what they host; returns the
    troops that map to the largest disc."""
    used = sites[sites["troops"] > 0]
    idle = sites[sites["troops"] <= 0]
    ax.scatter(idle["lon"], idle["lat"], s=30, facecolors="white", edgecolors="#555555", linewidths=0.9,
               marker="o", zorder=5)
    largest = max(float(used["troops"].max()), 1.0) if len(used) else 1.0
    for row in used.itertuples():
        style = _site_style(row.units_here, row.ad_here)
        ax.plot(row.lon, row.lat, marker="o", markersize=_site_marker_pt(row.troops, largest),
                markeredgecolor="#1b1b1b", markeredgewidth=0.9, alpha=0.8, linestyle="none", zorder=8, **style)
    return largest


def _site_table(data, plan) -> pd.DataFrame:
    sites = data.sites[["lat", "lon"]].copy()
    sites["name"] = [_site_name(data, s) for s in sites.index]
    sites["troops"], sites["units_here"], sites["ad_here"] = 0, False, False
    if plan is None:
        return sites
    deployed = plan.deployments[plan.deployments["site_id"].isin(sites.index)]
    sites["troops"] = deployed.groupby("site_id")["troops"].sum().reindex(sites.index).fillna(0)
    kinds = deployed.groupby("site_id")["kind"].agg(set).reindex(sites.index)
    sites["units_here"] = [isinstance(k, set) and "unit" in k for k in kinds]
    sites["ad_here"] = [isinstance(k, set) and "air_defence" in k for k in kinds]
    return sites


def _site_name(data, site_id) -> str:
    name = data.sites.at[site_id, "name"] if "name" in data.sites else None
    return str(name) if isinstance(name, str) and name.strip() else str(site_id)


def _site_style(units: bool, air_defence: bool) -> dict:
    if units and air_defence:  # half and half: contingents left, air defence right
        return {"markerfacecolor": _SITE_UNITS, "markerfacecoloralt": _SITE_AD, "fillstyle": "left"}
    return {"markerfacecolor": _SITE_AD if air_defence and not units else _SITE_UNITS}


def _site_marker_pt(troops: float, largest: float) -> float:
    # marker diameter in points; area proportional to troops
    return 7.0 + 21.0 * math.sqrt(max(troops, 0.0) / largest)


def _draw_entries(ax, data) -> None:
    entries = data.entry_points
    ax.scatter(entries["lon"], entries["lat"], marker=">", s=90, c="black", edgecolors="white",
               linewidths=0.8, zorder=11)


def _decorate_axes(ax) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}°E" if v >= 0 else f"{-v:g}°W"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}°N" if v >= 0 else f"{-v:g}°S"))
    ax.tick_params(labelsize=7.5)
    ax.grid(True, color="#c8d3dc", linewidth=0.4, zorder=0)
    ax.set_axisbelow(True)
    ax.text(0.995, 0.005, "Outline: Natural Earth 1:110m (public domain). Distances on a sphere of R = 6371 km.",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5, color="#555555", zorder=11)


# ---------------------------------------------------------------------------- labels


def _labels(data, plan, sites: pd.DataFrame, asset_classes: pd.Series) -> list[_Label]:
    """In order of priority: used sites (name, troops), uncovered assets, the most valuable
    assets, entry points. Without a plan: the largest candidate sites."""
    if plan is not None:
        shown = sites[sites["troops"] > 0].sort_values("troops", ascending=False)
        largest = max(float(shown["troops"].max()), 1.0) if len(shown) else 1.0
        labels = [_Label(f"{r.name} {int(r.troops):,}", r.lon, r.lat, 8.5, "normal",
                         _site_marker_pt(r.troops, largest) / 2) for r in shown.itertuples()]
    else:
        capacity = data.sites["capacity_troops"] if "capacity_troops" in data.sites else sites["troops"]
        shown = sites.loc[capacity.sort_values(ascending=False).index[:12]]
        labels = [_Label(r.name, r.lon, r.lat, 8.5, "normal", 4.0) for r in shown.itertuples()]
    uncovered = data.assets[asset_classes == "uncovered"]
    labels += _asset_labels(data, uncovered, [], 6, colour=_COVER_CLASSES["uncovered"][1])
    valuable = data.assets[asset_classes != "uncovered"]
    return labels + _asset_labels(data, valuable, list(shown["name"]), 8) + _entry_labels(data)


def _asset_labels(data, assets: pd.DataFrame, site_names: list[str], count: int,
                  colour: str = "#3d3d3d") -> list[_Label]:
    """The `count` most valuable of `assets`, skipping those a site label already names."""
    top_value = max(float(data.assets["value"].max()), 1.0) if len(data.assets) else 1.0
    labels = []
    for asset in assets.sort_index().sort_values("value", ascending=False, kind="stable").itertuples():
        if len(labels) == count or asset.value <= 0:
            break
        if any(str(asset.name).startswith(name) for name in site_names):  # "Kyiv (city)" beside "Kyiv"
            continue
        clearance = math.sqrt(18 + 70 * asset.value / top_value) / 2
        labels.append(_Label(str(asset.name), asset.lon, asset.lat, 7.5, "italic", clearance, colour))
    return labels


def _entry_labels(data) -> list[_Label]:
    # "Mostyska/Shehyni - Przemysl/Medyka": the Ukrainian side is enough on the map
    entries = data.entry_points
    names = entries["name"] if "name" in entries else pd.Series(entries.index, index=entries.index)
    return [_Label(str(name).split(" - ")[0] if isinstance(name, str) and name else str(e),
                   float(entries.at[e, "lon"]), float(entries.at[e, "lat"]), 7.0, "normal", 5.0)
            for e, name in names.items()]


# (dx, dy) direction of a label from its point, and the text alignment that goes with it
_DIRECTIONS = [((1, 0), "left", "center"), ((-1, 0), "right", "center"), ((0, 1), "center", "bottom"),
               ((0, -1), "center", "top"), ((1, 1), "left", "bottom"), ((1, -1), "left", "top"),
               ((-1, 1), "right", "bottom"), ((-1, -1), "right", "top")]


def _place_labels(fig, ax, labels: list[_Label], obstacles: list) -> None:
    """Greedy placement: each label takes the first of 16 spots around its point (8
    directions, near then farther) that overlaps no marker in `obstacles` and no label placed
    before it, inside the map; failing that, the spot with the least overlap."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed = list(obstacles)
    for label in labels:
        best, best_cost = None, math.inf
        for reach in (1.0, 2.4):
            for (dx, dy), ha, va in _DIRECTIONS:
                gap = label.clearance_pt * reach + 1.5
                text = _annotate(ax, label, (dx * gap, dy * gap), ha, va)
                box = text.get_window_extent(renderer)
                cost = sum(_overlap(box, other) for other in placed) + 50 * _outside(box, frame)
                if cost < best_cost:
                    if best is not None:
                        best[0].remove()
                    best, best_cost = (text, box), cost
                else:
                    text.remove()
                if best_cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best[1].expanded(1.04, 1.1))


def _marker_boxes(ax, sites: pd.DataFrame, data) -> list:
    """Display-space boxes of the used-site discs and entry markers, for label placement."""
    used = sites[sites["troops"] > 0]
    largest = max(float(used["troops"].max()), 1.0) if len(used) else 1.0
    points = [(r.lon, r.lat, _site_marker_pt(r.troops, largest) / 2) for r in used.itertuples()]
    points += [(float(e.lon), float(e.lat), 5.0) for e in data.entry_points.itertuples()]
    boxes = []
    for lon, lat, radius_pt in points:
        x, y = ax.transData.transform((lon, lat))
        radius_px = radius_pt * DPI / 72
        boxes.append(Bbox.from_extents(x - radius_px, y - radius_px, x + radius_px, y + radius_px))
    return boxes


def _annotate(ax, label: _Label, offset: tuple[float, float], ha: str, va: str):
    return ax.annotate(label.text, (label.lon, label.lat), xytext=offset, textcoords="offset points",
                       ha=ha, va=va, fontsize=label.size, fontstyle=label.style, color=label.colour,
                       fontweight="bold" if label.colour == _COVER_CLASSES["uncovered"][1] else "normal",
                       path_effects=_HALO, zorder=12, annotation_clip=False)


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box, frame) -> float:
    return box.width * box.height - _overlap(box, frame)


# ---------------------------------------------------------------------------- legend, title


def _legend(fig, data, plan, asset_classes: pd.Series, rings, flow_scale, site_scale: float) -> None:
    """Legends in the right-hand column, one per section, stacked top to bottom; in a
    smaller font when the column would overflow (many air-defence types or categories)."""
    sections = _legend_sections(data, plan, asset_classes, rings, flow_scale, site_scale)
    renderer = fig.canvas.get_renderer()
    for size in (8.5, 7.0, 5.5):
        top, legends = _MAP_BOX[1] + _MAP_BOX[3], []
        for heading, entries, spacing in sections:
            legend = fig.legend([h for h, _ in entries], [t for _, t in entries], title=heading, loc="upper left",
                                bbox_to_anchor=(0.785, top), frameon=False, fontsize=size, title_fontsize=size + 1,
                                alignment="left", labelspacing=spacing, borderaxespad=0.0, borderpad=0.3,
                                handlelength=2.2)
            legend.get_title().set_fontweight("bold")
            legends.append(legend)
            top = legend.get_window_extent(renderer).transformed(fig.transFigure.inverted()).y0 - 0.008
        if top >= 0.0 or size == 5.5:
            return
        for legend in legends:
            legend.remove()


def _legend_sections(data, plan, asset_classes, rings, flow_scale, site_scale) -> list:
    """(heading, [(handle, text)], label spacing) for each legend section."""
    sections = [("Contact line", _front_handles(data), 0.5)]
    if plan is not None:
        sections.append(("Sites", _site_handles(), 0.5))
        sections.append(("Troops at a site", _site_size_handles(site_scale), 1.5))
        if flow_scale is not None:
            sections.append(("Entry points and flows", _flow_handles(flow_scale), 0.5))
        if rings:
            sections.append(("Air-defence range", [(Line2D([], [], color=c, linewidth=1.5), f"{k} ({r:,.0f} km)")
                                                   for k, r, c in rings], 0.5))
    else:
        sections.append(("Sites and entries", [(_unused_site_handle(), "candidate site"),
                                               (_entry_handle(), "entry point")], 0.5))
    cover = [(Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor=_COVER_CLASSES[c][1],
                     markeredgecolor="black" if c == "uncovered" else "#333333",
                     markeredgewidth=1.8 if c == "uncovered" else 0.5), _COVER_CLASSES[c][0])
             for c in _COVER_CLASSES if (asset_classes == c).any()]
    sections.append(("Infrastructure cover", cover, 0.5))
    kinds = [(Line2D([], [], marker=m, linestyle="none", markersize=7, markerfacecolor="#dddddd",
                     markeredgecolor="#333333"), c.replace("_", " ")) for c, m in _category_markers(data.assets).items()]
    sections.append(("Infrastructure type (size: value)", kinds, 0.5))
    return sections


def _front_handles(data) -> list:
    buffer_km = float(data.settings.get("frontline_buffer_km", 0) or 0)
    handles = [(Line2D([], [], color=_FRONT_COLOUR, linewidth=2.4), "contact line")]
    if buffer_km > 0:
        handles.append((Patch(facecolor=_FRONT_COLOUR, alpha=0.2, edgecolor=_FRONT_COLOUR, linestyle="--"),
                        f"no placement within {buffer_km:,.0f} km"))
    return handles


def _site_handles() -> list:
    handles = [(Line2D([], [], marker="o", linestyle="none", markersize=11, markeredgecolor="#1b1b1b", **style), text)
               for style, text in [(_site_style(True, False), "hosts contingents"),
                                   (_site_style(False, True), "hosts air defence"),
                                   (_site_style(True, True), "hosts both")]]
    return handles + [(_unused_site_handle(), "candidate site, unused")]


def _site_size_handles(site_scale: float) -> list:
    return [(Line2D([], [], marker="o", linestyle="none", markersize=_site_marker_pt(troops, site_scale),
                    markerfacecolor="none", markeredgecolor="#1b1b1b"), f"{troops:,.0f}")
            for troops in _round_steps(site_scale)]


def _unused_site_handle() -> Line2D:
    return Line2D([], [], marker="o", linestyle="none", markerfacecolor="white", markeredgecolor="#555555")


def _flow_handles(flow_scale: float) -> list:
    handles = [(_entry_handle(), "entry point")]
    for troops in _round_steps(flow_scale):
        width = float(_flow_width(np.array([troops]), flow_scale)[0])
        handles.append((Line2D([], [], color=_FLOW_COLOUR, alpha=0.5, linewidth=width), f"{troops:,.0f} troops in"))
    return handles


def _entry_handle() -> Line2D:
    return Line2D([], [], marker=">", linestyle="none", markersize=9, markerfacecolor="black", markeredgecolor="white")


def _round_steps(largest: float) -> list[float]:
    """Two round reference values for a size key: about the largest, and a quarter of it."""
    if largest <= 1:
        return [1.0]
    top = _round_to_1_sig(largest)
    low = _round_to_1_sig(largest / 4)
    return [low, top] if low < top else [top]


def _round_to_1_sig(x: float) -> float:
    magnitude = 10 ** math.floor(math.log10(x))
    return max(magnitude, round(x / magnitude) * magnitude)


def _notes_panel(fig, ax, result) -> None:
    """Under the map, when it leaves room: what each used site hosts, or, without a plan,
    why there is none (the diagnosis). Three columns of small text."""
    box = ax.get_position()
    top = box.y0 - 0.03  # below the tick labels
    room_in = top * MAP_SIZE_IN[1]
    if result.score is not None and not result.score.deployments.empty:
        heading, lines, columns = "What each site hosts: site (troops): units", _hosting_lines(result.data, result.score), 3
    elif result.diagnosis:
        heading, lines, columns = "Why there is no plan", [f"- {reason}" for reason in result.diagnosis], 1
    else:
        return
    if room_in < 0.8:
        return
    per_column = max(1, int((room_in - 0.3) * 72 / 10.0))  # 7.5-pt text on 10-pt lines
    if len(lines) > per_column * columns:
        hidden = len(lines) - per_column * columns + 1
        lines = lines[:per_column * columns - 1] + [f"... and {hidden} more: see the workbook"]
    per_column = math.ceil(len(lines) / columns)
    width_px = box.width * MAP_SIZE_IN[0] * DPI / columns - 8
    fig.text(box.x0, top, heading, fontsize=9, fontweight="bold", va="top")
    for c in range(columns):
        chunk = [_clip(fig, line, width_px, 7.5) for line in lines[c * per_column:(c + 1) * per_column]]
        fig.text(box.x0 + c * box.width / columns, top - 0.024, "\n".join(chunk), fontsize=7.5, va="top",
                 linespacing=1.3, color="#222222")


def _hosting_lines(data, plan) -> list[str]:
    deployed = plan.deployments[plan.deployments["site_id"].isin(data.sites.index)]
    troops = deployed.groupby("site_id")["troops"].sum().sort_values(ascending=False, kind="stable")
    lines = []
    for site in troops.index:
        here = deployed[deployed["site_id"] == site].groupby("item")["count"].sum().sort_values(ascending=False)
        units = ", ".join(f"{int(n)} {item}" for item, n in here.items())
        lines.append(f"{_site_name(data, site)} ({int(troops[site]):,}): {units}")
    return lines


def _clip(fig, text: str, width_px: float, size: float) -> str:
    """`text` shortened with an ellipsis until it is at most `width_px` wide at `size` points."""
    renderer, font = fig.canvas.get_renderer(), FontProperties(size=size)

    def width(candidate: str) -> float:
        return renderer.get_text_width_height_descent(candidate, font, ismath=False)[0]

    full = width(text)
    if full <= width_px:
        return text
    text = text[:max(1, int(len(text) * width_px / full))] + "…"  # proportional first guess
    while len(text) > 2 and width(text) > width_px:
        text = text[:-2].rstrip(" ,") + "…"
    return text


def _title(fig, result, title: str | None) -> None:
    heading = title or f"cowopt {result.mode}: {result.data.source}"
    fig.text(0.025, 0.975, heading, fontsize=15, fontweight="bold", va="top")
    fig.text(0.025, 0.945, _headline(result), fontsize=10.5, va="top")
    warning = _warning_line(result)
    if warning:
        fig.text(0.025, 0.922, warning, fontsize=10, va="top", color="#b2182b", fontweight="bold")


def _headline(result) -> str:
    data, plan = result.data, result.score
    status = result.status.value
    if result.detail and result.detail.lower() != status:  # "infeasible (found before solving)" says it all
        status = result.detail if result.detail.lower().startswith(status) else f"{status} ({result.detail})"
    budget = float(data.settings["budget_meur"])
    if plan is None:
        return f"{status} | no plan to draw: inputs only | budget {budget:,.0f} M EUR"
    share = plan.objective / plan.max_objective if plan.max_objective > 0 else 0.0
    troops_max = int(data.settings["mission_troops_max"])
    return (f"{status} | coverage {plan.objective:,.0f} of {plan.max_objective:,.0f} possible ({share:.1%}) "
            f"| troops {plan.troops:,} of {troops_max:,} max | cost {plan.cost_meur:,.0f} of "
            f"{budget:,.0f} M EUR budget")


def _warning_line(result) -> str:
    plan = result.score
    if plan is None:
        return ""
    parts = []
    if plan.violations:
        parts.append(f"{len(plan.violations)} constraint violation(s): see the Violations sheet")
    unmet = list(plan.rules.loc[plan.rules["status"] != "met", "rule_id"]) if len(plan.rules) else []
    if unmet:
        parts.append(f"unmet rule(s): {', '.join(map(str, unmet[:5]))}{' ...' if len(unmet) > 5 else ''}")
    return " | ".join(parts)


# ---------------------------------------------------------------------------- frontier, saving


def _frontier_series(ax, group: pd.DataFrame, name: str, colour: str) -> None:
    """A scenario's line; hollow points where the solver stopped unproven, x where no plan."""
    solved = group.dropna(subset=["objective"])
    status = group["status"].astype(str).str.lower() if "status" in group else pd.Series("optimal", index=group.index)
    ax.plot(solved["budget_meur"], solved["objective"], color=colour, linewidth=1.6, marker="o", markersize=6,
            label=name, zorder=2)
    unproven = solved[status[solved.index] != "optimal"]
    ax.scatter(unproven["budget_meur"], unproven["objective"], facecolors="white", edgecolors=colour,
               linewidths=1.5, s=36, zorder=3)
    failed = group[group["objective"].isna()]
    ax.scatter(failed["budget_meur"], np.zeros(len(failed)), marker="x", color=colour, s=50, zorder=3, clip_on=False)


def _frontier_key(frame: pd.DataFrame) -> list:
    """Legend entries for the point styles actually used."""
    status = frame["status"].astype(str).str.lower() if "status" in frame else pd.Series("optimal", index=frame.index)
    handles = []
    if (frame["objective"].notna() & (status != "optimal")).any():
        handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="white", markeredgecolor="#555555",
                              label="not proven optimal (time limit)"))
    if frame["objective"].isna().any():
        handles.append(Line2D([], [], marker="x", linestyle="none", color="#555555", label="no plan (infeasible / time)"))
    return handles


def _save(fig, path: Path) -> Path:
    return write_atomically(path, lambda temp: fig.savefig(temp, dpi=DPI, format="png"))
