"""The Stages contract (issue 14): checks across the Stages, StageInventory, EntryPoints and
Settings cells, and the stage table the staged model reads.

Without a Stages sheet nothing here says anything: a workbook without stages is read exactly
as before (the staged columns and settings have defaults and are not read by the static model).
"""

from __future__ import annotations

import pandas as pd

from cowopt.workbook.cells import blank, to_number


def _cell(raw, row, column):
    return raw.cell(row, column) if raw is not None and column in raw.columns else None


def check(tables: dict, raws: dict, settings: dict, errors) -> None:
    """Every problem with the stages at once, by cell."""
    stages, raw = tables["Stages"], raws["Stages"]
    if stages.empty:
        if not tables["StageInventory"].empty:
            errors.add("StageInventory", None, "StageInventory has rows but the workbook has no Stages sheet "
                       "(or it is empty); add the stages or delete the StageInventory rows")
        return
    previous = None  # (stage_id, end_week) of the row above
    for r in stages.itertuples(index=False):
        start, end = r.start_week, r.end_week
        if start is None or end is None:
            previous = None
            continue
        if end <= start:
            errors.add("Stages", _cell(raw, r.excel_row, "end_week"),
                       f"stage {r.stage_id} ends at week {end:g}, not after its start_week {start:g}; "
                       "expected end_week > start_week (end exclusive)")
        if previous is not None and start != previous[1]:
            errors.add("Stages", _cell(raw, r.excel_row, "start_week"),
                       f"stage {r.stage_id} starts at week {start:g} but stage {previous[0]} (the row above) ends at "
                       f"week {previous[1]:g}; stages must be contiguous and in time order: expected {previous[1]:g}")
        previous = (r.stage_id, end)
        lo = r.mission_troops_min if r.mission_troops_min is not None and not blank(r.mission_troops_min) else settings.get("mission_troops_min")
        hi = r.mission_troops_max if r.mission_troops_max is not None and not blank(r.mission_troops_max) else settings.get("mission_troops_max")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            errors.add("Stages", _cell(raw, r.excel_row, "mission_troops_min"),
                       f"stage {r.stage_id}: mission_troops_min ({lo:g}) is larger than mission_troops_max ({hi:g})")
    entries, raw_e = tables["EntryPoints"], raws["EntryPoints"]
    window = settings.get("deployment_weeks") or 0
    for r in entries.itertuples(index=False):
        if blank(r.throughput_troops_per_week) and not window:
            errors.add("EntryPoints", _cell(raw_e, r.excel_row, "throughput_troops_per_week")
                       or _cell(raw_e, r.excel_row, "entry_id"),
                       f"entry point {r.entry_id}: throughput_troops_per_week is blank, and the workbook has a Stages "
                       "sheet; expected troops per week (or Settings deployment_weeks, so that it is "
                       "throughput_troops / deployment_weeks)")
    weights = settings.get("stage_weights")
    if weights:
        numbers = [to_number(w) for w in weights]
        if len(numbers) != len(stages) or any(n is None or n < 0 for n in numbers):
            errors.add("Settings", settings.get("_cells", {}).get("stage_weights"),
                       f"stage_weights must be {len(stages)} numbers ≥ 0, one per Stages row in order, "
                       f"got '{', '.join(map(str, weights))}'")


def stages_table(stages: pd.DataFrame, entries: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """The stages in time order, indexed by stage_id, with `weeks` and the objective `weight`."""
    if stages.empty:
        return pd.DataFrame()
    table = stages.drop(columns=["excel_row"]).sort_values("start_week").set_index("stage_id", drop=False)
    table["weeks"] = table["end_week"] - table["start_week"]
    weights = settings.get("stage_weights")
    table["weight"] = [float(to_number(w)) for w in weights] if weights else table["weeks"].astype(float)
    return table


def weekly_throughput(data) -> dict:
    """entry_id -> troops per week: the column, else throughput_troops / deployment_weeks."""
    window = float(data.settings.get("deployment_weeks") or 0)
    rates = {}
    for e, row in data.entry_points.iterrows():
        rate = row.get("throughput_troops_per_week")
        rates[e] = float(rate) if not blank(rate) else float(row["throughput_troops"]) / window
    return rates
