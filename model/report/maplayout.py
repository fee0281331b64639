"""The map's layout and key: everything drawn around the data layers of `plots.draw_map`.

Holds the figure's geometry (size, resolution, the box the map may take), the map's
visual vocabulary (cover-class colours, asset and site markers, flow widths), and what
is placed once the layers are drawn: the text labels and their greedy placement, the
legend column, the notes panel under the map and the title lines. The vocabulary lives
here, beside the legend that explains it, so a symbol and its key cannot drift apart;
`plots` draws with it. This module imports nothing from `plots` (no import cycle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

DPI = 100
MAP_SIZE_IN = (14.0, 10.0)  # 1400 x 1000 px
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
_FLOW_COLOUR = "#8c6d31"
_FRONT_COLOUR = "#b2182b"


@dataclass
class _Label:
    text: str
    lon: float
    lat: float
    size: float  # font size
    style: str  # "normal" or "italic"
    clearance_pt: float  # half the marker's size, so the text starts beside it
    colour: str = "#1b1b1b"
    priority: bool = False  # a used site's label: moved farther out (with a leader) rather than dropped


# ---------------------------------------------------------------------------- symbols shared with plots


def _category_markers(assets: pd.DataFrame) -> dict:
    return {c: _ASSET_MARKERS[i % len(_ASSET_MARKERS)] for i, c in enumerate(sorted(assets["category"].unique()))}


def _site_name(data, site_id) -> str:
    name = data.sites.at[site_id, "name"] if "name" in data.sites else None
    return str(name) if isinstance(name, str) and name.strip() else str(site_id)


def _site_style(units: bool, air_defence: bool) -> dict:
    if units and air_defence:  # half and half: contingents left, air defence right
        return {"markerfacecolor": _SITE_UNITS, "markerfacecoloralt": _SITE_AD, "fillstyle": "left"}
    return {"markerfacecolor": _SITE_AD if air_defence and not units else _SITE_UNITS}


def _site_marker_pt(troops: float, largest: float) -> float:
    # marker diameter in points; area proportional to troops. At most 19 pt: larger discs of
    # neighbouring sites (Dnipro and Kamianske are 30 km apart) ran into each other
    return 5.0 + 14.0 * math.sqrt(max(troops, 0.0) / largest)


def _flow_width(troops: np.ndarray, largest: float) -> np.ndarray:
    return 0.6 + 6.0 * np.asarray(troops, float) / max(largest, 1.0)


# ---------------------------------------------------------------------------- labels


def _labels(data, plan, sites: pd.DataFrame, asset_classes: pd.Series) -> list[_Label]:
    """In order of priority: used sites (name, troops), uncovered assets, the most valuable
    assets, entry points. Without a plan: the largest candidate sites."""
    if plan is not None:
        shown = sites[sites["troops"] > 0].sort_values("troops", ascending=False)
        largest = max(float(shown["troops"].max()), 1.0) if len(shown) else 1.0
        labels = [_Label(f"{r.name} {int(r.troops):,}" + (" — breaks a rule" if r.violates else ""), r.lon, r.lat,
                         8.5, "normal", _site_marker_pt(r.troops, largest) / 2,
                         _COVER_CLASSES["uncovered"][1] if r.violates else "#1b1b1b", priority=True)
                  for r in shown.itertuples()]
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


def _place_labels(fig, ax, labels: list[_Label], obstacles: list) -> list:
    """Place labels so that no two overlap; returns the display boxes of those placed.

    Greedy, in the order given (used sites first): each label takes the first of 8
    directions x 3 distances around its point that overlaps no label placed before it and
    least overlaps the markers in `obstacles`, inside the map. A used site's label that finds
    no free spot near its disc is tried farther out (up to _FAR_REACH) with a thin leader
    line; any other label that finds none is left out rather than drawn over another."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed_labels: list = []
    for label in labels:
        reaches = (1.0, 2.2, 3.6) + (_FAR_REACH if label.priority else ())
        best, best_cost = None, math.inf
        for reach in reaches:
            for (dx, dy), ha, va in _DIRECTIONS:
                gap = label.clearance_pt * reach + 1.5 + (6.0 * (reach - 3) if reach > 3.6 else 0.0)
                text = _annotate(ax, label, (dx * gap, dy * gap), ha, va, leader=reach > 3.6)
                text.update_positions(renderer)
                box = Text.get_window_extent(text, renderer)  # the words only, not the leader line
                if _outside(box, frame) > 0 or any(_overlap(box, other) > 0 for other in placed_labels):
                    text.remove()
                    continue
                cost = sum(_overlap(box, other) for other in obstacles)
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
        if best is not None:
            placed_labels.append(best[1].expanded(1.04, 1.1))
    return placed_labels


_FAR_REACH = (5.0, 6.5, 8.0, 10.0, 12.5, 15.0)  # points of clearance, for used sites only


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


def _annotate(ax, label: _Label, offset: tuple[float, float], ha: str, va: str, leader: bool = False):
    arrow = {"arrowstyle": "-", "color": "#555555", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 4} if leader else None
    return ax.annotate(label.text, (label.lon, label.lat), xytext=offset, textcoords="offset points",
                       ha=ha, va=va, fontsize=label.size, fontstyle=label.style, color=label.colour,
                       fontweight="bold" if label.colour == _COVER_CLASSES["uncovered"][1] else "normal",
                       path_effects=_HALO, zorder=12, annotation_clip=False, arrowprops=arrow)


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
        sections.append(("Sites", _site_handles(bool(plan.violations)), 0.5))
        sections.append(("Troops at a site", _site_size_handles(site_scale), 1.5))
        if flow_scale is not None:
            sections.append(("Entry points and flows", _flow_handles(flow_scale), 0.5))
        if rings:
            sections.append(("Air-defence range", [_ring_handle(k, r, c, drawn, _threat_ranges(data, k))
                                                   for k, r, c, drawn in rings], 0.5))
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


def _threat_ranges(data, item: str) -> str:
    """', dotted 40/60 km' for a system whose range against some threat is shorter than its ring
    (AirDefenceRanges; the dotted inner rings), else ''."""
    radius = data.items.at[item, "cap_radius"] if "cap_radius" in data.items else {}
    shorter = sorted({km for km in radius.values() if km < float(data.items.at[item, "radius_km"])})
    return f", dotted {'/'.join(f'{km:,.0f}' for km in shorter)} km" if shorter else ""


def _ring_handle(item: str, radius_km: float, colour: str, drawn: bool, per_threat: str = "") -> tuple:
    if drawn:
        return Line2D([], [], color=colour, linewidth=1.5), f"{item} ({radius_km:,.0f} km ring{per_threat})"
    return (Line2D([], [], marker="o", linestyle="none", markersize=11, markerfacecolor="none", markeredgecolor=colour,
                   markeredgewidth=1.6), f"{item} ({radius_km:,.0f} km: halo, too small to draw)")


def _front_handles(data) -> list:
    buffer_km = float(data.settings.get("frontline_buffer_km", 0) or 0)
    handles = [(Line2D([], [], color=_FRONT_COLOUR, linewidth=2.4), "contact line"),
               (Patch(facecolor="#c9b8b8", alpha=0.55, hatch="////", edgecolor="#8a7a7a"), "occupied (cut off by the line)")]
    if buffer_km > 0:
        handles.append((Patch(facecolor=_FRONT_COLOUR, alpha=0.2, edgecolor=_FRONT_COLOUR, linestyle="--"),
                        f"no placement within {buffer_km:,.0f} km"))
    kinds = set(data.threat_lines["kind"]) if len(data.threat_lines) else set()
    for kind, style, text in (("border", "--", "hostile border (threat line)"), ("sea", ":", "sea threat line")):
        if kind in kinds:
            handles.append((Line2D([], [], color=_FRONT_COLOUR, linewidth=1.8, linestyle=style), text))
    return handles


def _site_handles(violations: bool) -> list:
    handles = [(Line2D([], [], marker="o", linestyle="none", markersize=11, markeredgecolor="#1b1b1b", **style), text)
               for style, text in [(_site_style(True, False), "hosts contingents"),
                                   (_site_style(False, True), "hosts air defence"),
                                   (_site_style(True, True), "hosts both")]]
    handles += [(Line2D([], [], marker="x", linestyle="none", markersize=10, markeredgewidth=3.0,
                           color=_COVER_CLASSES["uncovered"][1]), "deployment breaks a rule")] if violations else []
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


def _notes_panel(fig, ax, result, fmt: str = "png") -> None:
    """Under the map: where to read what each site hosts (the table is too long to be legible
    on a slide: it is the Sites sheet's `hosts` column and, in a PDF, page 2), or, without a
    plan, why there is none (the diagnosis)."""
    box = ax.get_position()
    top = box.y0 - 0.03  # below the tick labels
    if result.score is not None and not result.score.deployments.empty:
        where = "page 2 of this PDF" if fmt == "pdf" else "plan.xlsx, Sites sheet (column hosts); map.pdf page 2"
        fig.text(box.x0, max(top, 0.012), f"What each site hosts: {where}.", fontsize=8.5, va="top", color="#333333")
        return
    if not result.diagnosis or top * MAP_SIZE_IN[1] < 0.8:
        return
    lines = [f"- {reason}" for reason in result.diagnosis]
    per_column = max(1, int((top * MAP_SIZE_IN[1] - 0.3) * 72 / 10.0))  # 7.5-pt text on 10-pt lines
    if len(lines) > per_column:
        lines = lines[:per_column - 1] + [f"... and {len(lines) - per_column + 1} more: see the workbook"]
    width_px = box.width * MAP_SIZE_IN[0] * DPI - 8
    fig.text(box.x0, top, "Why there is no plan", fontsize=9, fontweight="bold", va="top")
    fig.text(box.x0, top - 0.024, "\n".join(_clip(fig, line, width_px, 7.5) for line in lines), fontsize=7.5,
             va="top", linespacing=1.3, color="#222222")


def hosting_table(data, plan) -> pd.DataFrame:
    """site, troops, hosts ("2 field_hospital, 1 SAMP/T"), largest site first."""
    deployed = plan.deployments[plan.deployments["site_id"].isin(data.sites.index)]
    troops = deployed.groupby("site_id")["troops"].sum().sort_values(ascending=False, kind="stable")
    rows = []
    for site in troops.index:
        here = deployed[deployed["site_id"] == site].groupby("item")["count"].sum().sort_values(ascending=False)
        rows.append((_site_name(data, site), int(troops[site]), ", ".join(f"{int(n)} {item}" for item, n in here.items())))
    return pd.DataFrame(rows, columns=["site", "troops", "hosts"])


def site_table_page(table: pd.DataFrame, heading: str):
    """A landscape page (the map's size) listing what each used site hosts, in two columns of
    rows at 9 pt when it fits, wrapped hosts text otherwise: legible when printed."""
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=MAP_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(0.025, 0.975, heading, fontsize=15, fontweight="bold", va="top")
    fig.text(0.025, 0.945, "What each site hosts (troops; units and fire units by type)", fontsize=10.5, va="top")
    halves = [table.iloc[: math.ceil(len(table) / 2)], table.iloc[math.ceil(len(table) / 2):]]
    size = 12.0 if len(table) <= 40 else 9.0 if len(table) <= 70 else 7.0  # 12 pt: legible on a slide
    for column, half in enumerate(halves):
        x = 0.025 + 0.49 * column
        y = 0.90
        if len(half):
            for dx, text, ha in ((0, "site", "left"), (0.17, "troops", "right"), (0.18, "hosts", "left")):
                fig.text(x + dx, y, text, fontsize=size, va="top", ha=ha, color="#555555", fontstyle="italic")
            y -= (1.6 * size) / 72 / MAP_SIZE_IN[1]
        for row in half.itertuples():
            wrapped = textwrap.wrap(row.hosts, int(50 * 9.0 / size)) or [""]
            fig.text(x, y, row.site, fontsize=size, fontweight="bold", va="top")
            fig.text(x + 0.17, y, f"{row.troops:,}", fontsize=size, va="top", ha="right")
            fig.text(x + 0.18, y, "\n".join(wrapped), fontsize=size, va="top", linespacing=1.25)
            y -= (len(wrapped) * 1.25 * size + 4) / 72 / MAP_SIZE_IN[1]
    return fig


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
    fig.text(0.025, 0.975, _title_text(result, title), fontsize=15, fontweight="bold", va="top")
    fig.text(0.025, 0.945, _headline(result), fontsize=10.5, va="top")
    fig.text(0.975, 0.975, f"inputs: {result.data.source}", fontsize=8, va="top", ha="right", color="#666666")
    warning = _warning_line(result)
    if warning:
        fig.text(0.025, 0.922, warning, fontsize=10, va="top", color="#b2182b", fontweight="bold")


def _title_text(result, variant: str | None) -> str:
    """The Settings' plan_title, else what a briefing needs: the plan, its scenario, the date."""
    given = str(result.data.settings.get("plan_title") or "").strip()
    if given:
        return given
    import datetime as dt

    kind = "Reassurance force plan" if result.mode == "solve" else "Reassurance force plan (evaluated)"
    scenario = variant or "base"
    today = dt.date.today()
    return f"{kind}: {scenario} scenario, {today.day} {today:%B %Y}"


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
