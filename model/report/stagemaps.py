"""The map per stage (issue 14): small multiples, one panel per stage, in one image.

Each panel is the plain map of what is present in that stage, drawn from the staged scorer's
per-stage score (`StagedScore.per_stage`), not from the model: assets coloured by their cover
class in that stage, used sites as discs by troops, troop flows from the crossings, the
crossings, the contact line. The panels share the extent and the disc scale (troops of the
largest site in any stage), so growth between stages is seen as growth. The full map with
legend and notes (map.png) shows the last stage.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cowopt.report.maplayout import _COVER_CLASSES, _FLOW_COLOUR, DPI, _site_marker_pt, _site_style
from cowopt.report.plots import (_draw_assets, _draw_countries, _draw_entries, _draw_flows, _draw_frontline,
                                 _draw_occupied, _save, _set_extent, _site_table)

PANEL_IN = (5.0, 3.9)  # one stage's panel; the image is up to 3 panels wide
MAX_COLUMNS = 3


def stage_panels(result) -> list[tuple[str, object]]:
    """(panel title, PlanResult of what stands in that stage), in stage order."""
    staged = result.staged
    table = staged.stage_table.set_index("stage_id")
    panels = []
    for t in staged.stages:
        row = table.loc[t]
        name = f" ({row['name']})" if isinstance(row["name"], str) and row["name"] and row["name"] != t else ""
        title = (f"stage {t}{name}: weeks {row['start_week']:g}–{row['end_week']:g}\n"
                 f"{row['troops']:,.0f} troops, coverage {row['coverage']:,.1f} ({row['share']:.0%})")
        panels.append((title, dataclasses.replace(result, score=staged.per_stage[t], staged=None)))
    return panels


def draw_stage_maps(result, path: Path, dpi: int | None = None) -> Path:
    """One panel per stage of `result.staged` to `path` (.png, .svg or .pdf); returns `path`."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    panels = stage_panels(result)
    columns = 2 if len(panels) == 4 else min(MAX_COLUMNS, len(panels))  # four as 2 x 2
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(PANEL_IN[0] * columns, PANEL_IN[1] * rows + 0.5), dpi=DPI)
    FigureCanvasAgg(fig)
    tables = [(title, one, _site_table(one)) for title, one in panels]
    largest = max([float(sites["troops"].max()) for _, _, sites in tables] + [1.0])
    for i, (title, one, sites) in enumerate(tables):
        ax = fig.add_subplot(rows, columns, i + 1)
        data = one.data
        _set_extent(ax, data)
        _draw_countries(ax)
        _draw_occupied(ax, data)
        _draw_frontline(ax, data)
        _draw_flows(ax, data, one.score)
        _draw_assets(ax, data, one.score)
        used = sites[sites["troops"] > 0]
        ax.scatter(sites.loc[sites["troops"] <= 0, "lon"], sites.loc[sites["troops"] <= 0, "lat"], s=12,
                   facecolors="white", edgecolors="#555555", linewidths=0.6, zorder=5)
        for row in used.itertuples():
            ax.plot(row.lon, row.lat, marker="o", markersize=_site_marker_pt(row.troops, largest) * 0.6,
                    markeredgecolor="#1b1b1b", markeredgewidth=0.6, alpha=0.85, linestyle="none", zorder=9.5,
                    **_site_style(row.units_here, row.ad_here))
        _draw_entries(ax, data)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [Line2D([], [], marker="o", linestyle="none", markerfacecolor=_COVER_CLASSES[c][1],
                      markeredgecolor="#333333", label=_COVER_CLASSES[c][0]) for c in ("uncovered", "once", "layered")]
    handles.append(Line2D([], [], color=_FLOW_COLOUR, alpha=0.6, linewidth=2, label="troops from a crossing"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle("What stands where, stage by stage (discs: troops at a site, one scale for every panel)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return _save([fig], path, fmt, dpi or DPI)
