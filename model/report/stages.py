"""The staged plan's own sheets (issue 14): Stages, Arrivals and the build-up chart.

Written into plan.xlsx after the Deployments sheet by report/plan.py when the workbook has a
Stages sheet; nothing here runs for a static plan.
"""

from __future__ import annotations

import io

import pandas as pd


def deployments(result) -> pd.DataFrame:
    """Deployments with arrival_stage; leave_stage only when withdrawal is allowed."""
    frame = result.staged.deployments
    if not result.data.settings["allow_withdrawal"]:
        frame = frame.drop(columns=["leave_stage"])
    return frame


def write_stage_sheets(book, styles, result, table) -> None:
    staged = result.staged
    stages = staged.stage_table.copy()
    table(book, styles, "Stages", stages,
          note="One row per stage: what stands in it (coverage, share of the most possible, troops), what "
               "arrives, and what it costs (one-off deployment of arrivals + running cost x weeks + transport).")
    table(book, styles, "Arrivals", staged.arrivals,
          note="Troops arriving through each crossing in each stage, against its weekly rate x the stage's weeks.",
          highlight=("share_used", 1.0, "bad"))
    sheet = book.add_worksheet("BuildUp")
    sheet.insert_image("A1", "buildup.png", {"image_data": buildup_png(staged), "x_scale": 0.8, "y_scale": 0.8})


def buildup_png(staged, dpi: int = 100) -> io.BytesIO:
    """Coverage and troops over the weeks after D-day, one step per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = staged.stage_table
    edges = list(table["start_week"]) + [float(table["end_week"].iloc[-1])]
    fig, left = plt.subplots(figsize=(8, 4.5), dpi=dpi)
    cover = list(table["coverage"]) + [float(table["coverage"].iloc[-1])]
    left.step(edges, cover, where="post", color="tab:blue", label="coverage (weighted points)")
    left.set_xlabel("weeks after D-day")
    left.set_ylabel("coverage", color="tab:blue")
    left.set_ylim(bottom=0)
    right = left.twinx()
    troops = list(table["troops"]) + [int(table["troops"].iloc[-1])]
    right.step(edges, troops, where="post", color="tab:red", linestyle="--", label="troops present")
    right.set_ylabel("troops", color="tab:red")
    right.set_ylim(bottom=0)
    for start, stage in zip(table["start_week"], table["stage_id"]):
        left.axvline(start, color="grey", linewidth=0.5)
        left.annotate(str(stage), (start, 0), xytext=(3, 3), textcoords="offset points", fontsize=8)
    left.set_title("Build-up: coverage and troops by stage")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    out.seek(0)
    return out
