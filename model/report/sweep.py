"""Sweep outputs: frontier.xlsx (with a native Excel chart), frontier.png, each variant's plan.

Variant names come from a planner's Scenarios sheet: the folder names made from them are
unique (case-insensitively, as on Windows and macOS) and never a name the sweep writes itself,
and the text reaches charts only as cell values or escaped, never as a formula or reference.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from cowopt.report.outputs import OutputSet
from cowopt.report.plan import write_plan_as
from cowopt.workbook.files import write_atomically

SWEEP_FILES = ("frontier.xlsx", "frontier.png")
PLAN_FILES = ("plan.xlsx", "map.png")
_MAX_FOLDER = 80  # characters: room for the folder's own path on Windows' 260
# names Windows refuses for a file or folder, whatever the extension
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def variant_folder(name: str) -> str:
    """A safe folder name for a variant (scenario names come from a planner's workbook)."""
    name = unicodedata.normalize("NFKC", str(name))
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:_MAX_FOLDER].strip("._") or "variant"
    return f"{folder}_" if folder.split(".")[0].lower() in _RESERVED else folder


def variant_folders(names: list[str]) -> dict[str, str]:
    """Variant name -> its folder, unique across the sweep (ignoring case) and never one of the
    sweep's own file names; a name that would collide gets "-2", "-3", ... in order."""
    taken = {n.lower() for n in SWEEP_FILES}
    folders: dict[str, str] = {}
    for name in names:
        if name in folders:
            continue
        base = variant_folder(name)
        folder, n = base, 2
        while folder.lower() in taken:
            folder, n = f"{base}-{n}", n + 1
        taken.add(folder.lower())
        folders[name] = folder
    return folders


def renamed_folders(names: list[str]) -> dict[str, str]:
    """The variants whose folder is not simply their cleaned name (a collision was avoided)."""
    return {name: folder for name, folder in variant_folders(names).items() if folder != variant_folder(name)}


def sweep_targets(out_dir: Path, names: list[str], no_map: bool) -> list[Path]:
    """Every file a sweep of these variants may write (for the guard before any work)."""
    out_dir = Path(out_dir)
    per_plan = PLAN_FILES[:1] if no_map else PLAN_FILES
    return [out_dir / f for f in SWEEP_FILES] + [out_dir / folder / f for folder in variant_folders(names).values()
                                                  for f in per_plan]


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # no glyph in any font: shown as escapes


def chart_text(text: str) -> str:
    """Text from an input made literal for matplotlib: no mathtext ($...$), no hidden "_" label,
    control characters as visible escapes."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)).replace("$", r"\$")
    return f" {text}" if text.startswith("_") else text


def deployments_side_by_side(pairs) -> pd.DataFrame:
    """Rows (state, item, site_id); one count column per variant."""
    frames = []
    for v, r in pairs:
        if isinstance(r, str) or r.score is None or r.score.deployments.empty:
            continue
        # summed: a staged plan has one row per (state, item, site) and arrival stage
        table = r.score.deployments.groupby(["state", "item", "site_id"])["count"].sum().rename(v.name)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=["state", "item", "site_id"])
    wide = pd.concat(frames, axis=1).fillna(0).astype(int)
    return wide.sort_index().reset_index()


def write_sweep(frontier: pd.DataFrame, pairs, out_dir, no_map: bool = True, notes: list[str] | tuple = ()) -> Path:
    """Write every variant's plan (and map), frontier.png and frontier.xlsx as one set: all are
    written under hidden names first and renamed together at the end (see cowopt.outputs).
    `notes` (e.g. which budget wins) go on a Notes sheet of frontier.xlsx."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folders = variant_folders([v.name for v, _ in pairs])
    notes = list(notes) + [f"variant '{name}' is in folder {folder}/ (its cleaned name is taken by another variant)"
                           for name, folder in renamed_folders([v.name for v, _ in pairs]).items()]
    if "variant" in frontier:
        written = {v.name for v, r in pairs if not isinstance(r, str) and r.score is not None}
        frontier = frontier.assign(folder=[folders.get(n, "") if n in written else "" for n in frontier["variant"]])
    with OutputSet() as outputs:
        for v, r in pairs:
            if isinstance(r, str) or r.score is None:
                continue
            folder = out_dir / folders[v.name]
            map_png = None
            if not no_map:
                from cowopt.report.plots import draw_map

                map_png = draw_map(r, outputs.stage(folder / "map.png"), title=chart_text(v.name))
            write_plan_as(r, outputs.stage(folder / "plan.xlsx"), map_png)
        png = None
        if frontier["objective"].notna().any() if "objective" in frontier else False:
            from cowopt.report.plots import draw_frontier

            shown = frontier.assign(scenario=frontier["scenario"].map(chart_text)) if "scenario" in frontier else frontier
            source = next((r.data.source for _, r in pairs if not isinstance(r, str)), None)
            png = draw_frontier(shown, outputs.stage(out_dir / "frontier.png"),
                                inputs=chart_text(source) if source else None)
        target = out_dir / "frontier.xlsx"
        write_atomically(outputs.stage(target),
                         lambda temp: _write_frontier(frontier, deployments_side_by_side(pairs), temp, png, notes))
        outputs.commit()
    return target


def _write_frontier(frontier: pd.DataFrame, wide: pd.DataFrame, path: Path, png: Path | None, notes=()) -> None:
    import xlsxwriter

    from cowopt.report.plan import _styles, _table

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": True})
    styles = _styles(book)
    _table(book, styles, "Frontier", frontier, highlight=("status", "error", "bad"))
    sheet = book.get_worksheet_by_name("Frontier")
    columns = list(frontier.columns)
    if "objective" in columns and len(frontier):
        chart = book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        x_col, y_col = columns.index("budget_meur"), columns.index("objective")
        name_col = columns.index("scenario")
        for scenario, group in frontier.groupby("scenario", sort=False):
            first, last = int(group.index.min()) + 1, int(group.index.max()) + 1  # rows are sorted by scenario
            # the series is named by its scenario cell, not by the text: a name such as
            # "=cmd|' /C calc'!A0" would otherwise become a live <c:f> reference in the chart
            chart.add_series({"name": ["Frontier", first, name_col], "marker": {"type": "circle"},
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
    if notes:
        _table(book, styles, "Notes", pd.DataFrame({"note": list(notes)}))
    book.close()
