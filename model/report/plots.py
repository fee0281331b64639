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

This module draws the data layers; what goes around them (labels, legend, notes panel,
title) and the symbols the legend explains live in `cowopt.maplayout`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path as MplPath
from matplotlib.patches import PathPatch, Polygon
from matplotlib.ticker import FuncFormatter

from cowopt.report import mapareas
from cowopt.geometry import EARTH_RADIUS_KM, distance_matrix_km, distance_to_polylines_km, haversine_km, segments
from cowopt.report.maplayout import (
    _COVER_CLASSES,
    _FLOW_COLOUR,
    _FRONT_COLOUR,
    _HALO,
    _MAP_BOX,
    DPI,
    MAP_SIZE_IN,
    _category_markers,
    _flow_width,
    _labels,
    _legend,
    _marker_boxes,
    _notes_panel,
    _place_labels,
    _site_marker_pt,
    _site_name,
    _site_style,
    _title,
    _title_text,
    hosting_table,
    site_table_page,
)
from cowopt.workbook.files import write_atomically

if TYPE_CHECKING:
    from cowopt.api import PlanResult
    from cowopt.workbook.data import InputData
    from cowopt.scoring.evaluate import PlanScore

FRONTIER_SIZE_IN = (9.0, 6.0)  # 900 x 600 px
# ring (and frontier series) colours: distinct hues, none the red of uncovered assets
_RING_COLOURS = ["#6a3d9a", "#1f78b4", "#e7298a", "#17becf", "#b15928", "#ff7f00", "#bcbd22", "#7f7f7f",
                 "#08306b", "#33a02c", "#8c564b", "#00441b"]
_GRID_KM = 4.0  # buffer-band grid step
_MIN_WIDTH_RATIO = 1.4  # leaves room under the map for the notes panel
_MIN_RING_PT = 6.0  # a range ring with a smaller radius on the page is drawn as a halo instead


# ---------------------------------------------------------------------------- public API


def draw_map(result: PlanResult, path: Path, title: str | None = None, dpi: int | None = None) -> Path:
    """Draw the plan (or, when `result.score` is None, the inputs alone) to `path`.

    `result` is a `cowopt.api.PlanResult`. The format follows the suffix: .png (MAP_SIZE_IN at
    `dpi`, default DPI: 1400 x 1000 px), .svg, or .pdf, whose second page lists what each used
    site hosts. `title` names the variant (a sweep passes its name); the Settings key
    plan_title, when given, is the heading. Written atomically; returns `path`.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"map format must be png, pdf or svg, not {fmt!r}")
    data, plan = result.data, result.score
    fig = Figure(figsize=MAP_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(_MAP_BOX)
    _set_extent(ax, data)
    _draw_countries(ax)
    _draw_occupied(ax, data)
    _draw_buffer(ax, data)
    _draw_frontline(ax, data)
    ax.apply_aspect()  # the scale in km per point decides which ranges can be drawn as rings
    rings = _draw_rings(ax, data, plan) if plan is not None else []
    flow_scale = _draw_flows(ax, data, plan) if plan is not None else None
    asset_classes = _draw_assets(ax, data, plan)
    sites = _site_table(result)
    site_scale = _draw_sites(ax, sites)
    _draw_point_ranges(ax, sites, rings, site_scale)
    _draw_entries(ax, data)
    _decorate_axes(ax, fmt)
    _place_labels(fig, ax, _labels(data, plan, sites, asset_classes), _marker_boxes(ax, sites, data))
    _legend(fig, data, plan, asset_classes, rings, flow_scale, site_scale)
    _notes_panel(fig, ax, result, fmt)
    _title(fig, result, title)
    pages = [fig]
    if fmt == "pdf" and plan is not None and not plan.deployments.empty:
        pages.append(site_table_page(hosting_table(data, plan), _title_text(result, title)))
    return _save(pages, path, fmt, dpi or DPI)


def draw_frontier(frame: pd.DataFrame, path: Path, inputs: str | None = None) -> Path:
    """Coverage (objective) against budget, one line per scenario, to a PNG at `path`.

    `frame` has columns budget_meur and objective, optionally scenario, status and
    objective_share (the objective's share of the maximum possible coverage, from which the
    dashed "maximum possible" line is drawn). Each point carries its value. Points whose
    status is not "optimal" are drawn hollow (the solver stopped before proving them best);
    rows without an objective (infeasible, no plan in time) are an x on the budget axis, left
    out of the line. `inputs` (the workbook's name) goes under the title. Written atomically.
    """
    fig = Figure(figsize=FRONTIER_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    frame = frame.copy()
    frame["scenario"] = frame["scenario"].fillna("base") if "scenario" in frame else "base"
    frame["objective"] = pd.to_numeric(frame["objective"], errors="coerce")
    frame["budget_meur"] = pd.to_numeric(frame["budget_meur"], errors="coerce")
    frame = frame.dropna(subset=["budget_meur"])
    top = _frontier_maximum(ax, frame)
    colours = {}
    for i, (scenario, group) in enumerate(frame.groupby("scenario", sort=False)):
        colours[scenario] = _RING_COLOURS[i % len(_RING_COLOURS)]
        _frontier_series(ax, group.sort_values("budget_meur"), str(scenario), colours[scenario])
    _frontier_values(ax, frame, colours)
    scenarios = list(dict.fromkeys(frame["scenario"].astype(str)))
    ax.set_xlabel("budget (M EUR)")
    ax.set_ylabel("weighted coverage (objective)")
    ax.set_title(f"Coverage against budget: {', '.join(scenarios)} scenario{'s' if len(scenarios) > 1 else ''}",
                 fontweight="bold", loc="left", pad=18)
    detail = f"inputs: {inputs}; " if inputs else ""
    ax.text(0.0, 1.01, f"{detail}each point is one optimised plan; value labels are the coverage reached",
            transform=ax.transAxes, fontsize=8.5, color="#555555", va="bottom")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_ylim(bottom=0, top=max(top or 0.0, float(frame["objective"].max() or 1)) * 1.12)
    handles = ax.get_legend_handles_labels()[0] + _frontier_key(frame)
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=9)
    fig.tight_layout()
    return _save(fig, Path(path))


def _frontier_maximum(ax, frame: pd.DataFrame) -> float | None:
    """The maximum possible coverage (objective / objective_share) as a dashed line; None
    when the frame cannot tell it."""
    if "objective_share" not in frame:
        return None
    share = pd.to_numeric(frame["objective_share"], errors="coerce")
    maximum = (frame["objective"] / share).where(share > 0).dropna()
    if maximum.empty:
        return None
    value = float(maximum.max())
    ax.axhline(value, color="#333333", linestyle="--", linewidth=1.1, zorder=1,
               label=f"maximum possible coverage ({value:,.0f})")
    ax.annotate(f"maximum possible: {value:,.0f} (every asset covered by every capability it values)", (0.01, value),
                xycoords=("axes fraction", "data"), xytext=(0, 3), textcoords="offset points", fontsize=8,
                color="#333333", va="bottom")
    return value


def _frontier_values(ax, frame: pd.DataFrame, colours: dict) -> None:
    """Each point's objective, written as a stack above the highest point of its budget,
    highest value on top, in its scenario's colour, so values of scenarios that run close
    together never sit on each other or on a line. Equal values (within 0.5) are written once,
    in dark grey when several scenarios share them."""
    solved = frame.dropna(subset=["objective"])
    for budget, at_budget in solved.groupby("budget_meur"):
        values: list[list] = []  # [value, colour]
        for value, scenario in sorted(zip(at_budget["objective"], at_budget["scenario"]), key=lambda t: t[0]):
            if values and abs(values[-1][0] - value) < 0.5:
                values[-1][1] = "#333333"
                continue
            values.append([value, colours[scenario]])
        top = max(v for v, _ in values)
        for k, (value, colour) in enumerate(values):
            ax.annotate(f"{value:,.0f}", (budget, top), xytext=(0, 7 + 10 * k), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color=colour, fontweight="bold", path_effects=_HALO,
                        zorder=4)


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


def _draw_countries(ax) -> None:
    """Ukraine in cream, its neighbours in grey with their names, on the sea's blue
    (Natural Earth 1:50m: the coast is close enough that Odesa, Izmail and Reni sit on land)."""
    west, east = ax.get_xlim()
    south, north = ax.get_ylim()
    for country, ring in mapareas.rings():
        home = country == mapareas.HOME
        ax.add_patch(Polygon(ring, closed=True, facecolor="#fbf8ef" if home else "#e6e4df",
                             edgecolor="#6b6b6b" if home else "#a8a8a8", linewidth=1.0 if home else 0.6,
                             zorder=1 if home else 0.9))
    for country, (lon, lat) in _country_label_points(west, east, south, north).items():
        ax.text(lon, lat, country.upper(), ha="center", va="center", fontsize=9, color="#8a8a8a",
                fontweight="bold", alpha=0.9, zorder=1.5)


def _country_label_points(west, east, south, north) -> dict:
    """Where each neighbour's name stands: of a 0.25-degree grid over the view (less a margin),
    the point inside the country and at least 0.5 degree from Ukraine's outline that is
    nearest the middle of the country's visible part; no name when there is none (a sliver)."""
    lons = np.arange(west + 0.06 * (east - west), east - 0.06 * (east - west), 0.25)
    lats = np.arange(south + 0.05 * (north - south), north - 0.05 * (north - south), 0.25)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(lons, lats)])
    home = np.concatenate([ring for _, ring in mapareas.rings(mapareas.HOME)])
    near_home = np.zeros(len(grid), bool)
    for start in range(0, len(home), 200):  # chunks keep the distance matrix small
        chunk = home[start:start + 200]
        near_home |= (np.hypot(grid[:, None, 0] - chunk[None, :, 0], grid[:, None, 1] - chunk[None, :, 1]) < 0.5).any(axis=1)
    points = {}
    for country, ring in mapareas.rings():
        if country == mapareas.HOME:
            continue
        fits = grid[MplPath(ring).contains_points(grid) & ~near_home]
        if len(fits) < 4 or (country in points and points[country][1] >= len(fits)):
            continue
        middle = fits.mean(axis=0)
        best = fits[np.argmin(np.hypot(*(fits - middle).T))]
        points[country] = (tuple(best), len(fits))
    return {c: p for c, (p, _) in points.items()}


def _draw_occupied(ax, data) -> None:
    """Hatch the area the contact line cuts off from the entry points (see mapareas)."""
    found = mapareas.occupied_mask(data.frontline, data.entry_points)
    if found is None:
        return
    lon_axis, lat_axis, occupied = found
    clip = PathPatch(mapareas.home_path(), transform=ax.transData, facecolor="none", edgecolor="none")
    ax.add_patch(clip)
    filled = ax.contourf(lon_axis, lat_axis, occupied.astype(float), levels=[0.5, 1.5], colors=["#c9b8b8"],
                         hatches=["////"], alpha=0.55, zorder=1.6)
    filled.set_clip_path(clip)


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


_THREAT_LINE_STYLE = {"border": ("--", 1.8), "sea": (":", 2.0)}  # the contact line is solid


def _draw_threat_lines(ax, data) -> None:
    """Border and sea threat lines (Frontline kind), dashed and dotted in the front's colour."""
    lines = data.threat_lines
    if lines is None or lines.empty:
        return
    for (kind, _), line in lines[lines["kind"] != "contact"].groupby(["kind", "line_id"], sort=True):
        style, width = _THREAT_LINE_STYLE.get(kind, ("-.", 1.6))
        ax.plot(line["lon"], line["lat"], color=_FRONT_COLOUR, linestyle=style, linewidth=width, zorder=6)


def _draw_frontline(ax, data) -> None:
    _draw_threat_lines(ax, data)
    for _, line in data.frontline.sort_values(["line_id", "seq"]).groupby("line_id", sort=True):
        if len(line) == 1:
            ax.plot(line["lon"], line["lat"], marker="X", color=_FRONT_COLOUR, markersize=9, zorder=6)
        else:
            ax.plot(line["lon"], line["lat"], color=_FRONT_COLOUR, linewidth=2.4, solid_capstyle="round", zorder=6)


def _draw_rings(ax, data, plan) -> list[tuple[str, float, str, bool]]:
    """A geodesic range ring per air-defence type deployed at a site, where the ring is large
    enough to see at the map's scale (_MIN_RING_PT); returns legend entries (type, km,
    colour, drawn as a ring). Smaller ranges are drawn by `_draw_point_ranges` as a halo."""
    deployed = plan.deployments[plan.deployments["kind"] == "air_defence"]
    deployed = deployed[deployed["site_id"].isin(data.sites.index) & deployed["item"].isin(data.items.index)]
    types = sorted(deployed["item"].unique(), key=lambda k: -float(data.items.at[k, "radius_km"]))
    colours = {k: _RING_COLOURS[i % len(_RING_COLOURS)] for i, k in enumerate(types)}
    points_per_km = _points_per_km(ax)
    visible = {k: float(data.items.at[k, "radius_km"]) * points_per_km >= _MIN_RING_PT for k in types}
    for (item, site), group in deployed.groupby(["item", "site_id"]):
        if not visible[item]:
            continue
        radius = float(data.items.at[item, "radius_km"])
        lats, lons = geodesic_circle(float(data.sites.at[site, "lat"]), float(data.sites.at[site, "lon"]), radius)
        ax.fill(lons, lats, facecolor=colours[item], alpha=0.05, edgecolor="none", zorder=3)
        ax.plot(lons, lats, color=colours[item], linewidth=1.3, alpha=0.85, zorder=3)
        # a shorter range against some threat (AirDefenceRanges; Patriot: ballistic 40 km): a dotted inner ring
        inner = data.items.at[item, "cap_radius"] if "cap_radius" in data.items else {}
        for km in sorted({v for v in inner.values() if v < radius and v * points_per_km >= _MIN_RING_PT}):
            lats, lons = geodesic_circle(float(data.sites.at[site, "lat"]), float(data.sites.at[site, "lon"]), km)
            ax.plot(lons, lats, color=colours[item], linewidth=0.9, linestyle=":", alpha=0.85, zorder=3)
    return [(k, float(data.items.at[k, "radius_km"]), colours[k], visible[k]) for k in types]


def _points_per_km(ax) -> float:
    """Printed points per kilometre north-south at the map's current scale."""
    (_, y0), (_, y1) = ax.transData.transform([(0, 0), (0, 1)])
    return abs(y1 - y0) * 72 / ax.figure.dpi / 111.2


def _draw_point_ranges(ax, sites: pd.DataFrame, rings, site_scale: float) -> None:
    """Ranges too small to draw as a ring (Mistral's 8 km is under a point at country scale):
    a dotted halo around the site's disc in the type's colour, one halo per type."""
    small = [(k, colour) for k, _, colour, drawn in rings if not drawn]
    for step, (item, colour) in enumerate(small):
        here = sites[sites["ad_items"].apply(lambda items, item=item: item in items)]
        for row in here.itertuples():
            ax.plot(row.lon, row.lat, marker="o", markersize=_site_marker_pt(row.troops, site_scale) + 5 + 4 * step,
                    markerfacecolor="none", markeredgecolor=colour, markeredgewidth=1.6, linestyle="none",
                    zorder=8.5)


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


def _draw_sites(ax, sites: pd.DataFrame) -> float:
    """Sites: used ones as discs (area by troops) coloured by what they host, above the
    infrastructure markers so a city's symbol does not cover the site; a site where the plan
    breaks a rule gets a red cross. Returns the troops that map to the largest disc."""
    used = sites[sites["troops"] > 0]
    idle = sites[sites["troops"] <= 0]
    ax.scatter(idle["lon"], idle["lat"], s=30, facecolors="white", edgecolors="#555555", linewidths=0.9,
               marker="o", zorder=5)
    largest = max(float(used["troops"].max()), 1.0) if len(used) else 1.0
    for row in used.itertuples():
        style = _site_style(row.units_here, row.ad_here)
        ax.plot(row.lon, row.lat, marker="o", markersize=_site_marker_pt(row.troops, largest),
                markeredgecolor="#1b1b1b", markeredgewidth=0.9, alpha=0.85, linestyle="none", zorder=9.5, **style)
    bad = used[used["violates"]]
    ax.scatter(bad["lon"], bad["lat"], marker="x", s=220, c=_COVER_CLASSES["uncovered"][1], linewidths=3.0, zorder=11.5)
    return largest


def _site_table(result) -> pd.DataFrame:
    """Per site: position, name, troops, what kinds it hosts, its air-defence types and
    whether a deployment there breaks a rule (only an edited plan, in evaluate, can)."""
    data, plan = result.data, result.score
    sites = data.sites[["lat", "lon"]].copy()
    sites["name"] = [_site_name(data, s) for s in sites.index]
    abroad = data.sites["country"].fillna("") if "country" in data.sites else pd.Series("", index=data.sites.index)
    # a base abroad is labelled with its host country (Sites country)
    sites["name"] = [f"{name} ({abroad[s]})" if abroad[s] not in ("", "Ukraine") else name
                     for s, name in zip(sites.index, sites["name"])]
    sites["troops"], sites["units_here"], sites["ad_here"], sites["violates"] = 0, False, False, False
    sites["ad_items"] = [() for _ in sites.index]
    if plan is None:
        return sites
    deployed = plan.deployments[plan.deployments["site_id"].isin(sites.index)]
    sites["troops"] = deployed.groupby("site_id")["troops"].sum().reindex(sites.index).fillna(0)
    kinds = deployed.groupby("site_id")["kind"].agg(set).reindex(sites.index)
    sites["units_here"] = [isinstance(k, set) and "unit" in k for k in kinds]
    sites["ad_here"] = [isinstance(k, set) and "air_defence" in k for k in kinds]
    air = deployed[deployed["kind"] == "air_defence"].groupby("site_id")["item"].agg(lambda x: tuple(sorted(set(x))))
    sites["ad_items"] = [air.get(s, ()) for s in sites.index]
    from cowopt.report.plan import VIOLATING, sites_with_status  # report builds on api; imported late

    status = sites_with_status(result).set_index("site_id")["status"]
    sites["violates"] = (status.reindex(sites.index) == VIOLATING).to_numpy()
    return sites


def _draw_entries(ax, data) -> None:
    entries = data.entry_points
    ax.scatter(entries["lon"], entries["lat"], marker=">", s=90, c="black", edgecolors="white",
               linewidths=0.8, zorder=11)


def _decorate_axes(ax, fmt: str = "png") -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}°E" if v >= 0 else f"{-v:g}°W"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}°N" if v >= 0 else f"{-v:g}°S"))
    ax.tick_params(labelsize=7.5)
    ax.grid(True, color="#c8d3dc", linewidth=0.4, zorder=0)
    ax.set_axisbelow(True)
    ax.text(0.995, 0.005, "Borders: Natural Earth 1:50m (public domain); Ukraine in its internationally recognised "
            "borders, hatched: cut off by the contact line. Distances on a sphere of R = 6371 km.",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5, color="#555555", zorder=11,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1.5})


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


def _save(pages, path: Path, fmt: str = "png", dpi: int = DPI) -> Path:
    """One figure (or several, as PDF pages) written atomically in `fmt`."""
    pages = pages if isinstance(pages, list) else [pages]
    if fmt == "pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        def write(temp):
            with PdfPages(temp, metadata={"Creator": "cowopt"}) as pdf:
                for page in pages:
                    pdf.savefig(page)
        return write_atomically(path, write)
    return write_atomically(path, lambda temp: pages[0].savefig(temp, dpi=dpi, format=fmt))
