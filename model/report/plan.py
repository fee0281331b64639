"""The plan workbook: Summary first, then one sheet per table, readable as opened.

Written with XlsxWriter, with strings never turned into formulas or links (text from a
planner's workbook such as "=cmd|..." stays text), to a temporary file renamed into place.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from cowopt import __version__
from cowopt.optimise import candidates as candidates_mod
from cowopt.api import PlanResult
from cowopt.optimise.solve import PATH_NOTES
from cowopt.scoring.risk import accepted_risk
from cowopt.report.tablesheet import TableSheet, plain
from cowopt.workbook.files import gc_paused, write_atomically

# number formats by column name; anything not listed is written as it is
_FORMATS = {
    "count": "#,##0", "troops": "#,##0", "units": "#,##0", "max_troops": "#,##0", "capacity_troops": "#,##0",
    "cover_count": "0", "cost_meur": "#,##0.0", "distance_km": "#,##0", "frontline_km": "#,##0",
    "value": "#,##0.0", "weight": "0.00", "contribution": "#,##0.0", "max_contribution": "#,##0.0",
    "lat": "0.0000", "lon": "0.0000", "penalty": "#,##0.0", "share": "0.0%", "shortfall": "0", "excess": "0",
    "objective": "#,##0.0", "objective_share": "0.0%", "marginal_per_meur": "0.000", "gap": "0.00E+00",
    "solve_seconds": "0.0", "build_seconds": "0.0", "budget_meur": "#,##0",
}
_EXTRA_FORMATS = ("0.00E+00", "#,##0.000", "0.0%", "#,##0.0", "#,##0")


def write_plan(result: PlanResult, out_dir: Path, map_png: Path | None = None, fixed_from: str | None = None) -> Path:
    """Write DIR/plan.xlsx atomically and return its path."""
    return write_plan_as(result, Path(out_dir) / "plan.xlsx", map_png, fixed_from)


def write_plan_as(result: PlanResult, target: Path, map_png: Path | None = None, fixed_from: str | None = None) -> Path:
    """Write the plan workbook to `target` (temporary file, then rename).

    `fixed_from` says how the solve was pinned to a previous plan (e.g. "--fix old/plan.xlsx
    (as minimums)"); the Summary records it so a reader knows the plan was not free."""
    extra = {"fixed_from": fixed_from} if fixed_from else {}  # _write(result, path, map_png) stays callable as before
    with gc_paused():  # tables of tens of thousands of cells, no cycles (files.gc_paused)
        return write_atomically(Path(target), lambda temp: _write(result, temp, map_png, **extra))


def _write(result: PlanResult, path: Path, map_png: Path | None, fixed_from: str | None = None) -> None:
    import xlsxwriter

    # in_memory: each part's XML is built in memory, not in a temporary file of its own
    # (the files' creation and removal took ~60 ms of a 3,000-point plan's write, issue 17)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": True,
                                            "in_memory": True})
    book.set_properties({"title": "cowopt plan", "comments": f"cowopt {__version__}"})
    styles = _styles(book)
    _summary_sheet(book, styles, result, fixed_from)
    if map_png is not None and Path(map_png).suffix.lower() == ".png" and Path(map_png).exists():  # Excel embeds PNG, not PDF/SVG
        sheet = book.add_worksheet("Map")
        sheet.insert_image("A1", str(map_png), {"x_scale": 0.75, "y_scale": 0.75})
        sheet.set_landscape()
        sheet.fit_to_pages(1, 1)  # the map prints on one page for a briefing
        sheet.print_area(0, 0, 50, 16)
    score = result.score
    if score is not None:
        staged = result.staged is not None
        if staged:
            from cowopt.report import stages as stage_sheets
        _table(book, styles, "Deployments", stage_sheets.deployments(result) if staged else score.deployments,
               note="Edit counts, add or delete rows, then run `cowopt evaluate INPUTS THIS_FILE`; troops and cost are recomputed.")
        if staged:  # issue 14: what stands in each stage, what arrives through which crossing
            stage_sheets.write_stage_sheets(book, styles, result, _table)
        _table(book, styles, "Sites", sites_with_status(result), highlight=("status", VIOLATING, "bad"))
        coverage = score.coverage.sort_values(["contribution", "max_contribution"], ascending=[True, False])
        _table(book, styles, "Coverage", coverage, highlight=("cover_count", 0, "bad"))
        _table(book, styles, "Logistics", score.logistics)
        _table(book, styles, "States", score.states)
        _table(book, styles, "Rules", score.rules, highlight=("status", "UNMET", "bad"))
        if score.violations:
            frame = pd.DataFrame([(v.kind, v.cell or "", v.message) for v in score.violations],
                                 columns=["kind", "where", "violation"])
            _table(book, styles, "Violations", frame, highlight=("kind", None, "bad"))
        _table(book, styles, "AcceptedRisk", accepted_risk(result))  # what the plan does not defend (risk.py)
    if result.diagnosis:
        _table(book, styles, "Diagnosis", pd.DataFrame({"reason": result.diagnosis}), highlight=("reason", None, "bad"))
    if result.data.warnings:
        _table(book, styles, "Warnings", pd.DataFrame({"warning": list(result.data.warnings)}))
    book.close()


# ---------------------------------------------------------------------------- site status

# Sites sheet `status`, in the order they are tried for an unused site
USED, VIOLATING = "used", "used, violates"
NOT_DEPLOYABLE, BUFFER, UNREACHABLE = "not deployable", "excluded by buffer", "unreachable"
NO_CAPACITY, NO_ITEM, NOT_CHOSEN = "no capacity", "no item allowed", "allowed, not chosen"


def sites_with_status(result: PlanResult) -> pd.DataFrame:
    """The plan's Sites table with `status` and `why` after the name, sorted by troops.

    Every site gets exactly one status, so a planner can see why a site is empty: the first
    reason that applies of: not deployable, closer to the contact line than any item may
    stand (the buffer or the items' own minimums), no entry point within max_route_km, no
    capacity, no item that may stand there (airfield/port/inventory), else allowed but not
    chosen. A used site is "used, violates" when a deployment there breaks a placement rule
    or the site's capacity (only an edited plan can do that)."""
    table = result.score.sites.copy()
    deployed = result.score.deployments
    facts = _site_facts(result)  # looked up once for all sites (issue 17: 200 sites took ~40 ms)
    status, why = zip(*(site_status(result, row, facts) for row in table.itertuples(index=False))) \
        if len(table) else ((), ())
    position = list(table.columns).index("region") + 1 if "region" in table else 2
    table.insert(position, "status", list(status))
    table.insert(position + 1, "why", list(why))
    counts = deployed.groupby(["site_id", "item"])["count"].sum().reset_index().sort_values(
        ["site_id", "count", "item"], ascending=[True, False, True])
    hosts: dict = {}
    for site, item, n in zip(counts["site_id"], counts["item"], counts["count"]):
        hosts.setdefault(site, []).append(f"{int(n)} {item}")
    # "2 field_hospital, 1 samp_t" replaces the bare item names: the same facts with counts,
    # and one wide column fewer when the sheet is printed one page wide
    table["hosts"] = [", ".join(hosts.get(site, ())) for site in table["site_id"]]
    table = table.drop(columns=["items"], errors="ignore")
    return table.sort_values(["troops", "site_id"], ascending=[False, True]).reset_index(drop=True)


def _site_facts(result: PlanResult) -> dict:
    """What site_status looks up for every site, worked out once."""
    data, cands, deployed = result.data, result.candidates, result.score.deployments
    items_at: dict = {}  # site -> the items deployed there, in order
    for site, item in zip(deployed["site_id"], deployed["item"]):
        items_at.setdefault(site, {})[item] = None
    buffer_km = float(data.settings["frontline_buffer_km"])
    return {"placed": set(cands.placements["site_id"]), "items_at": items_at,
            "front_km": cands.site_front_km.to_dict(), "buffer_km": buffer_km,
            "needed": max(float(data.items["min_frontline_km"].min()) if len(data.items) else 0.0, buffer_km)}


def site_status(result: PlanResult, row, facts: dict | None = None) -> tuple[str, str]:
    """(status, why in numbers) of one row of the Sites table; `facts` (_site_facts) may
    be passed in when many rows are asked for."""
    data, cands = result.data, result.candidates
    facts = facts or _site_facts(result)
    site = row.site_id
    front_km = float(facts["front_km"].get(site, float("nan")))
    reachable = site in cands.reachable_sites
    if row.troops > 0 or row.units > 0:
        return _used_status(result, site, front_km, reachable, row, facts["items_at"].get(site, {}))
    if not row.deployable:
        return NOT_DEPLOYABLE, "entry/transit only (deployable=0)"
    buffer_km, needed = facts["buffer_km"], facts["needed"]
    if front_km < needed - candidates_mod.DISTANCE_TOLERANCE_KM:
        limit = f"frontline_buffer_km is {buffer_km:,.0f}" if needed == buffer_km else \
            f"every item needs at least {needed:,.0f} km"
        return BUFFER, f"{front_km:,.1f} km from the contact line; {limit}"
    if not reachable:
        routes = candidates_mod.compute_routes(data)
        nearest = routes.loc[routes["site_id"] == site, "distance_km"].min()
        return UNREACHABLE, (f"nearest entry point {nearest:,.0f} km by route; "
                             f"max_route_km is {float(data.settings['max_route_km']):,.0f}")
    if row.capacity_troops <= 0:
        return NO_CAPACITY, "capacity_troops is 0"
    if site not in facts["placed"]:
        line_km = _line_km(cands, site)
        reasons = {candidates_mod.site_exclusion(data, k, site, front_km, reachable, line_km) for k in data.items.index}
        reasons.discard(None)
        shown = "; ".join(sorted(reasons)[:2]) or "no state has an item available that may stand here"
        return NO_ITEM, shown
    verb = "the optimiser did not use it" if result.mode == "solve" else "the plan does not use it"
    return NOT_CHOSEN, f"{front_km:,.0f} km from the contact line, reachable, capacity {int(row.capacity_troops):,}; {verb}"


def _line_km(cands, site):
    """The site's distance to each kind of threat line (border and sea buffers), if any."""
    lines = cands.site_line_km
    return lines.loc[site] if lines is not None and site in lines.index else None


def _used_status(result: PlanResult, site, front_km: float, reachable: bool, row, items) -> tuple[str, str]:
    data = result.data
    problems = []
    for item in items:
        if item in data.items.index and site in data.sites.index:
            reason = candidates_mod.site_exclusion(data, item, site, front_km, reachable, _line_km(result.candidates, site))
            if reason:
                problems.append(reason)
    if row.troops > row.capacity_troops:
        problems.append(f"{int(row.troops):,} troops over capacity {int(row.capacity_troops):,}")
    if problems:
        return VIOLATING, "; ".join(problems)
    return USED, f"{int(row.troops):,} troops, {front_km:,.0f} km from the contact line"


def _styles(book) -> dict:
    return {
        "header": book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "label": book.add_format({"bold": True}),
        "note": book.add_format({"italic": True, "font_color": "#555555"}),
        "bad": book.add_format({"bg_color": "#F8CBAD"}),
        "good": book.add_format({"bg_color": "#C6EFCE"}),
        **{fmt: book.add_format({"num_format": fmt}) for fmt in set(_FORMATS.values()) | set(_EXTRA_FORMATS)},
    }


def summary_rows(result: PlanResult, fixed_from: str | None = None) -> list[tuple[str, object, str]]:
    """(figure, value, unit) rows of the Summary sheet; shared with the terminal table.

    `fixed_from` (the --fix plan and how it was kept) adds a row saying the solve was pinned."""
    s, o, settings = result.score, result.outcome, result.data.settings
    rows: list[tuple[str, object, str]] = [
        ("status", result.status.value, result.detail),
        ("mode", result.mode, "solve: optimised; evaluate: a given plan scored"),
    ]
    if fixed_from:
        rows.append(("fixed from plan", fixed_from, "--fix: that plan's deployments were kept; the rest was optimised"))
    if s is not None:
        rows += [
            ("objective (weighted coverage)", round(s.objective, 3), f"of {s.max_objective:,.1f} possible"),
            ("objective share", s.objective / s.max_objective if s.max_objective else 0.0, "share"),
            ("troops", s.troops, f"mission {settings['mission_troops_min']:,}–{settings['mission_troops_max']:,}"),
            ("cost_meur", s.cost_meur, f"{s.unit_cost_meur:,.1f} units + {s.transport_cost_meur:,.1f} transport"),
            ("budget_meur", float(settings["budget_meur"]), f"{(s.cost_meur / settings['budget_meur'] if settings['budget_meur'] else 0):.1%} used"),
            ("violations", len(s.violations), "see the Violations sheet" if s.violations else "none"),
            ("unmet rules", int((s.rules["status"] != "met").sum()), "see the Rules sheet"),
        ]
        rows += [(f"coverage share: {cap}", share, "of value covered at least once")
                 for cap, share in sorted(s.capability_shares.items())]
    if o is not None:
        rows += [
            ("gap", o.gap, "relative MIP gap reported by HiGHS"),
            ("solver objective", o.objective, "what HiGHS maximised: coverage − soft-rule penalties − cost tie-break"),
            ("solver bound", o.bound, "HiGHS's proven upper bound on the solver objective"),
            ("solve_seconds", round(o.seconds, 3), "s"),
            ("solver", f"{o.solver} {o.solver_version}", "through Pyomo (pyomo.contrib.solver)"),
            ("solve path", o.path, PATH_NOTES.get(o.path, "")),
        ]
    if result.staged is not None:
        rows.append(("protection-weeks", round(result.staged.objective, 3),
                     "Σ over stages of weight (weeks) x coverage; the Stages sheet has each stage"))
        rows.append(("horizon cost_meur", round(result.staged.cost_meur, 3),
                     "one-off deployment + running per week + transport, all stages"))
    if result.check is not None:
        rows.append(("independent check", "passed" if result.check.passed else "FAILED", result.check.note()))
    rows += [(f"{k}_seconds", round(v, 3), "s") for k, v in result.seconds.items() if k != "solve"]
    rows += [
        ("frontline_buffer_km", settings["frontline_buffer_km"], "km"),
        ("time_limit_s", settings["time_limit_s"], "s"),
        ("mip_gap (asked)", settings["mip_gap"], ""),
        ("input file", result.data.source, ""),
        ("input SHA-256", result.data.sha256, ""),
        ("written", dt.datetime.now().isoformat(timespec="seconds"), f"cowopt {__version__}"),
    ]
    rows += [("diagnosis", reason, "") for reason in result.diagnosis]
    return rows


def _summary_sheet(book, styles, result: PlanResult, fixed_from: str | None = None) -> None:
    sheet = book.add_worksheet("Summary")
    sheet.write(0, 0, "cowopt plan" if result.mode == "solve" else "cowopt evaluation", styles["title"])
    sheet.write_row(2, 0, ["figure", "value", "note"], styles["header"])
    # the input's warnings go on the Summary too: a plan read from a doubtful workbook must say so first
    warnings = [("warning", text, "see the Warnings sheet") for text in result.data.warnings]
    for i, (label, value, note) in enumerate([*summary_rows(result, fixed_from), *warnings], start=3):
        sheet.write(i, 0, label, styles["label"])
        fmt = styles["0.0%"] if (note == "share" or label.startswith("coverage share")) else None
        fmt = styles["#,##0.0"] if label in ("cost_meur", "budget_meur") else fmt
        fmt = styles["#,##0"] if label == "troops" else fmt
        fmt = styles["0.00E+00"] if label == "gap" else fmt
        fmt = styles["#,##0.000"] if label in ("solver objective", "solver bound") else fmt
        if label == "status":
            fmt = styles["good"] if value == "optimal" else styles["bad"]
        if label == "independent check":
            fmt = styles["good"] if value == "passed" else styles["bad"]
        _write_cell(sheet, i, 1, value, fmt)
        sheet.write(i, 2, "" if note == "share" else note, styles["note"])
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 70)
    sheet.freeze_panes(3, 0)
    _print_setup(sheet)
    sheet.activate()


def _write_cell(sheet, row: int, col: int, value, fmt=None) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, (bool,)):
        sheet.write_number(row, col, int(value), fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def _table(book, styles, name: str, frame: pd.DataFrame, note: str | None = None, highlight=None) -> None:
    """A sheet holding one table: bold frozen header, filter, widths, number formats."""
    sheet = book.add_worksheet(name, worksheet_class=TableSheet)
    frame = frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    sheet.write_row(0, 0, columns, styles["header"])
    sheet.freeze_panes(1, 0)
    formats = [styles.get(_FORMATS.get(column, "0.0%" if column.startswith("share_") else ""), None)
               for column in columns]
    body = [_joined(frame.iloc[:, j].tolist()) for j in range(len(columns))]
    if all(plain(values) for values in body):  # issue 17: whole columns at once, the same cells
        sheet.write_body(1, body, formats)
    else:
        for j, values in enumerate(body):
            for i, value in enumerate(values, start=1):
                _write_cell(sheet, i, j, value, formats[j])
    for j, (column, values) in enumerate(zip(columns, body)):
        width = max([len(column)] + [len(_shown(v)) for v in values[:500]]) + 2
        sheet.set_column(j, j, min(max(width, 8), 60))
    if len(frame):
        sheet.autofilter(0, 0, len(frame), len(columns) - 1)
    if highlight and len(frame):
        column, value, style = highlight
        sheet.conditional_format(1, 0, len(frame), len(columns) - 1, _row_rule(columns.index(column), value, styles[style]))
    if note:
        # a comment on the first header cell, not a cell beside the table: a cell there would
        # read as an extra column header in pandas and in Excel's own table tools
        sheet.write_comment(0, 0, note, {"x_scale": 2.5, "y_scale": 1.2})
    _print_setup(sheet)
    sheet.repeat_rows(0)


def _joined(values: list) -> list:
    """A column's values as written: a tuple (e.g. a rule's items) becomes "a, b"."""
    if not any(issubclass(kind, tuple) for kind in set(map(type, values))):  # one test per type, not per cell
        return values
    return [", ".join(map(str, v)) if isinstance(v, tuple) else v for v in values]


def _print_setup(sheet) -> None:
    """Printed or exported to PDF, a table sheet is landscape and as wide as the page."""
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)


def _row_rule(column: int, value, fmt) -> dict:
    """Highlight whole rows whose `column` equals `value` (any non-blank when value is None)."""
    from xlsxwriter.utility import xl_col_to_name

    letter = xl_col_to_name(column)
    if value is None:
        criteria = f'=LEN(${letter}2)>0'
    elif isinstance(value, str):
        criteria = f'=${letter}2="{value}"'
    else:
        criteria = f"=${letter}2={value}"
    return {"type": "formula", "criteria": criteria, "format": fmt}


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return str(value)
