"""Sweep outputs: frontier.xlsx (with a native Excel chart), frontier.png, each variant's plan."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .report import write_plan
from .workbook import write_atomically


def variant_folder(name: str) -> str:
    """A safe folder name for a variant (scenario names come from a planner's workbook)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "variant"


def deployments_side_by_side(pairs) -> pd.DataFrame:
    """Rows (state, item, site_id); one count column per variant."""
    frames = []
    for v, r in pairs:
        if isinstance(r, str) or r.score is None or r.score.deployments.empty:
            continue
        table = r.score.deployments.set_index(["state", "item", "site_id"])["count"].rename(v.name)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=["state", "item", "site_id"])
    wide = pd.concat(frames, axis=1).fillna(0).astype(int)
    return wide.sort_index().reset_index()


def write_sweep(frontier: pd.DataFrame, pairs, out_dir, no_map: bool = True) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for v, r in pairs:
        if isinstance(r, str) or r.score is None:
            continue
        folder = out_dir / variant_folder(v.name)
        map_png = None
        if not no_map:
            from .plots import draw_map

            map_png = draw_map(r, folder / "map.png", title=v.name)
        write_plan(r, folder, map_png)
    png = None
    if frontier["objective"].notna().any() if "objective" in frontier else False:
        from .plots import draw_frontier

        source = next((r.data.source for _, r in pairs if not isinstance(r, str)), None)
        png = draw_frontier(frontier, out_dir / "frontier.png", inputs=source)
    target = out_dir / "frontier.xlsx"
    write_atomically(target, lambda temp: _write_frontier(frontier, deployments_side_by_side(pairs), temp, png))
    return target


def _write_frontier(frontier: pd.DataFrame, wide: pd.DataFrame, path: Path, png: Path | None) -> None:
    import xlsxwriter

    from .report import _styles, _table

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": True})
    styles = _styles(book)
    _table(book, styles, "Frontier", frontier, highlight=("status", "error", "bad"))
    sheet = book.get_worksheet_by_name("Frontier")
    columns = list(frontier.columns)
    if "objective" in columns and len(frontier):
        chart = book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        x_col, y_col = columns.index("budget_meur"), columns.index("objective")
        for scenario, group in frontier.groupby("scenario", sort=False):
            first, last = int(group.index.min()) + 1, int(group.index.max()) + 1  # rows are sorted by scenario
            chart.add_series({"name": str(scenario), "marker": {"type": "circle"},
                              "categories": ["Frontier", first, x_col, last, x_col],
                              "values": ["Frontier", first, y_col, last, y_col]})
        chart.set_title({"name": "Weighted coverage against budget"})
        chart.set_x_axis({"name": "budget (M EUR)", "major_gridlines": {"visible": True}})
        chart.set_y_axis({"name": "weighted coverage (objective)"})
        chart.set_size({"width": 720, "height": 420})
        sheet.insert_chart(len(frontier) + 3, 1, chart)
    _table(book, styles, "Deployments", wide)
    if png is not None:
        book.add_worksheet("Chart").insert_image("A1", str(png))
    book.close()
