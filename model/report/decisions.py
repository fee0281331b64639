"""Workbooks and charts of the decision commands (stress, levers, alternatives).

Written like the plan workbook (report.py's table sheets, strings never formulas) to a
temporary file renamed into place; charts are matplotlib PNGs, also written atomically.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cowopt.workbook.files import write_atomically

_KIND_COLOURS = {"state": "#1f78b4", "site": "#e31a1c", "entry": "#ff7f00", "rule": "#6a3d9a",
                 "setting": "#33a02c", "state_cap": "#1f78b4", "throughput": "#ff7f00"}


def write_book(target: Path, sheets: list[tuple[str, pd.DataFrame, str | None]], images: list[tuple[str, Path]] = ()) -> Path:
    """sheets: (name, table, note); images: (sheet name, png) each on a sheet of its own."""
    def write(temp: Path) -> None:
        import xlsxwriter

        from cowopt.report.plan import _styles, _table

        book = xlsxwriter.Workbook(str(temp), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False, "nan_inf_to_errors": True})
        styles = _styles(book)
        for name, frame, _ in sheets:
            # the notes go on an About sheet: beside a table they widen the printed page to illegibility
            _table(book, styles, name, frame)
        for name, png in images:
            if png is not None and Path(png).exists():
                book.add_worksheet(name).insert_image("A1", str(png))
        about = [(name, note) for name, _, note in sheets if note]
        if about:
            sheet = book.add_worksheet("About")
            sheet.write_row(0, 0, ["sheet", "what it says"], styles["header"])
            for i, (name, note) in enumerate(about, start=1):
                sheet.write_string(i, 0, name, styles["label"])
                sheet.write_string(i, 1, note)
            sheet.set_column(0, 0, 16)
            sheet.set_column(1, 1, 120)
        book.close()

    return write_atomically(Path(target), write)


def bar_chart(labels: list[str], values: list[float], kinds: list[str], path: Path, title: str, xlabel: str) -> Path:
    """Horizontal bars, largest on top, coloured by kind, each with its value."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    import math

    values = [float(v) if v is not None and math.isfinite(float(v)) else 0.0 for v in values]  # no figure: no bar
    labels, values, kinds = labels[::-1], values[::-1], kinds[::-1]  # matplotlib draws bottom-up
    height = max(3.0, 0.32 * len(labels) + 1.4)
    fig = Figure(figsize=(9.0, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = [_KIND_COLOURS.get(k.split("+")[0], "#7f7f7f") for k in kinds]
    bars = ax.barh(range(len(labels)), values, color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    top = max([abs(v) for v in values] + [1e-9])
    for bar, value in zip(bars, values):
        ax.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2, f"{value:,.1f}",
                va="center", fontsize=7)
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontweight="bold")
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    shown = sorted({k.split("+")[0] for k in kinds})
    ax.legend(handles=[Patch(color=_KIND_COLOURS.get(k, "#7f7f7f"), label=k) for k in shown], loc="lower right", fontsize=8)
    fig.tight_layout()
    return write_atomically(Path(path), lambda temp: fig.savefig(temp, dpi=100, format="png"))


def write_stress(report, out_dir: Path) -> tuple[Path, Path]:
    """OUT/stress.png (the worst 25 single losses) and OUT/stress.xlsx."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    top = report.singles.head(25)
    png = bar_chart([f"{k} {n}" for k, n in zip(top["kind"], top["lost"])], list(top["coverage_lost"]), list(top["kind"]), out_dir / "stress.png",
                    f"Coverage lost by single loss (plan: {report.baseline:,.1f} points)", "weighted coverage lost")
    note = ("One row per single loss, worst first: coverage lost (points, share of the plan's), units and troops "
            "lost, troops the remaining crossings cannot carry, assets whose coverage falls, rules no longer met.")
    sheets = [("Stress", report.singles, note)]
    if len(report.pairs):
        sheets.append(("Pairs", report.pairs, "Double losses, worst first."))
    if report.notes:
        sheets.append(("Notes", pd.DataFrame({"note": report.notes}), None))
    book = write_book(out_dir / "stress.xlsx", sheets, [("Chart", png)])
    return book, png


def write_levers(report, out_dir: Path) -> tuple[Path, Path]:
    """OUT/levers.png (the levers worth something, largest first) and OUT/levers.xlsx."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = report.table
    shown = table[table["objective_gain"].fillna(0) > 1e-6].head(25)
    if shown.empty:
        shown = table.head(10)
    base = report.base.get("objective")
    title = f"Gain from relaxing each demand (optimum: {base:,.1f})" if base is not None else "Gain from relaxing each demand"
    png = bar_chart(list(shown["lever"]), list(shown["objective_gain"]), list(shown["kind"]),
                    out_dir / "levers.png", title, "gain in coverage − soft-rule penalties")
    note = ("The optimum's gain if one demand is dropped or relaxed one step, each by a fresh solve; sorted by gain. "
            "'not solved': the cap cannot bind, its gain is 0. Accurate to the gap column.")
    return write_book(out_dir / "levers.xlsx", [("Levers", table, note)], [("Chart", png)]), png


def write_alternatives(alts, out_dir: Path, no_map: bool = False) -> tuple[Path, list[Path]]:
    """OUT/alternatives.xlsx (Comparison, Deployments side by side, a map sheet per plan) and,
    per plan, OUT/<plan>/plan.xlsx and map.png (the plan workbooks run through evaluate/stress)."""
    from cowopt.decisions.alternatives import deployments_wide, differences
    from cowopt.report.plan import write_plan

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    named = [("optimum", alts.optimum)] + [(f"alternative-{i}", r) for i, r in enumerate(alts.plans, 1)]
    maps, images = [], []
    for folder, result in named:
        if result.score is None:
            continue
        png = None
        if not no_map:
            from cowopt.report.plots import draw_map

            png = draw_map(result, out_dir / folder / "map.png", title=folder.replace("-", " "))
            maps.append(png)
            images.append((f"Map {folder.replace('alternative-', 'alt ')}", png))
        write_plan(result, out_dir / folder, png)
    note = (f"Plans within {alts.within:.1%} of the optimum, each as different as possible (site–item choices, "
            "Hamming distance) from the plans before it; added/dropped: item@site against the optimum.")
    sheets = [("Comparison", alts.comparison, note), ("Differences", differences(alts),
                                                       "Every item@site an alternative adds to or drops from the optimum."),
              ("Deployments", deployments_wide(alts), None)]
    return write_book(out_dir / "alternatives.xlsx", sheets, images), maps


def write_robust(result, out_dir: Path, no_map: bool = False) -> tuple[Path, Path | None]:
    """OUT/robust.xlsx (the two plans compared, coverage after each loss under each) and the
    robust plan's OUT/plan.xlsx and map.png."""
    from cowopt.report.plan import write_plan

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = None
    if result.robust.score is not None:
        if not no_map:
            from cowopt.report.plots import draw_map

            png = draw_map(result.robust, out_dir / "map.png", title=f"robust against one {result.against} loss")
        write_plan(result.robust, out_dir, png)
    # not a column named "value": report.py formats that one as #,##0.0, which shows a gap of 4e-3 as 0.0
    summary = pd.DataFrame([(k, v) for k, v in result.summary.items()], columns=["figure", "result"])
    summary["result"] = summary["result"].map(lambda v: v if isinstance(v, (int, float)) or v is None else str(v))
    note = (f"Worst case over single {result.against} losses: the ordinary optimum (nominal) against the max–min plan "
            "(robust); every coverage recomputed by the stress scorer, apart from the model. price_of_robustness: "
            "nominal coverage given up.")
    sheets = [("Robust", summary, note), ("Scenarios", result.scenarios, "Coverage left after each loss, per plan.")]
    return write_book(out_dir / "robust.xlsx", sheets), png
