"""Checks of the issue-15 sheets that the column kinds cannot express: kinds of threat line,
item kinds named in Buffers, HostConsent and Transit, and countries nobody uses (warnings)."""

from __future__ import annotations

import pandas as pd

LINE_KINDS = ("contact", "border", "sea")
ITEM_KINDS = ("unit", "air_defence")


def check(tables: dict[str, pd.DataFrame], raws: dict, items: pd.DataFrame, errors) -> None:
    """Add every problem to `errors` (data._Collector)."""
    names = set(items["item"].dropna()) if not items.empty else set()
    capabilities = {c for caps in items.get("capabilities", []) for c in caps}
    known = names | set(ITEM_KINDS) | capabilities

    def cell(sheet, row, column):
        raw = raws[sheet]
        return raw.cell(row, column) if column in raw.columns else None

    for r in tables["Frontline"].itertuples(index=False):
        if isinstance(r.kind, str) and r.kind not in LINE_KINDS:
            errors.add("Frontline", cell("Frontline", r.excel_row, "kind"),
                       f"kind '{r.kind}' is not a kind of threat line; expected one of {', '.join(LINE_KINDS)}")
    for r in tables["Buffers"].itertuples(index=False):
        if isinstance(r.line_kind, str) and r.line_kind not in LINE_KINDS:
            errors.add("Buffers", cell("Buffers", r.excel_row, "line_kind"),
                       f"line_kind '{r.line_kind}' is not a kind of threat line; expected one of {', '.join(LINE_KINDS)}")
        if isinstance(r.item, str) and r.item and r.item not in names | set(ITEM_KINDS):
            errors.add("Buffers", cell("Buffers", r.excel_row, "item"),
                       f"item '{r.item}' is neither a unit_type/ad_type nor an item kind ({', '.join(ITEM_KINDS)})")
    for sheet, column in (("HostConsent", "item_kind"), ("Transit", "item_kind"), ("AxisPresence", "item")):
        for r in tables[sheet].itertuples(index=False):
            for token in (t.strip() for t in str(getattr(r, column) or "").split(",") if t.strip()):
                if token not in known:
                    errors.add(sheet, cell(sheet, r.excel_row, column),
                               f"{column} '{token}' is not an item, an item kind ({', '.join(ITEM_KINDS)}) "
                               "or a capability of some item")
    states = tables["States"]
    if "min_share" in states:
        for r in states.itertuples(index=False):
            lo, hi = r.min_share, r.max_share
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo == lo and hi == hi and lo > hi:
                errors.add("States", cell("States", r.excel_row, "max_share"),
                           f"{r.state}: max_share {hi:g} is below min_share {lo:g}")
        floors = [v for v in states["min_share"] if isinstance(v, (int, float)) and v == v]
        if sum(floors) > 1 + 1e-9:
            errors.add("States", None, f"the min_share values add up to {sum(floors):g}; together they can be at most 1")
    countries = set(tables["Sites"].get("country", pd.Series(dtype=object)).dropna()) - {"", "Ukraine"}
    for country in sorted(set(tables["HostConsent"]["country"].dropna()) - countries):
        errors.warn(f"HostConsent: country '{country}' has no site in the Sites sheet, so its rows change nothing")
    via = set(tables["EntryPoints"].get("via_country", pd.Series(dtype=object)).dropna()) - {""}
    for country in sorted(set(tables["Transit"]["country"].dropna()) - via):
        errors.warn(f"Transit: country '{country}' is no entry point's via_country, so its rows change nothing")
    lines = tables["Frontline"]
    used = set(lines["kind"].dropna()) if "kind" in lines else set()
    for kind in sorted(set(tables["Buffers"]["line_kind"].dropna()) - used):
        if kind in LINE_KINDS:
            errors.warn(f"Buffers: no Frontline line has kind '{kind}', so its buffers change nothing")
