"""Validated input data: every problem in a workbook found at once, by cell.

`load(path)` reads a workbook, `from_tables(dict)` takes in-memory tables; both run the same
checks and return an `InputData` whose tables are typed pandas DataFrames. Nothing here edits
the planner's data: wrong cells become `Problem`s, odd but usable ones become warnings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cowopt.workbook import places, scenarios, schema, stagecheck, threatcheck
from cowopt.errors import InputError, Problem
from cowopt.workbook.schema import AIR_DEFENCE, BALLISTIC_DEFENCE, Sheet
from cowopt.workbook.cells import blank as _blank
from cowopt.workbook.cells import SLOW, convert_cell, parse_setting, quick_convert
from cowopt.workbook.cells import describe as _describe
from cowopt.workbook.files import (RawSheet, gc_paused, column_letter, normalise_header, read_sheets, sha256_of,
                       sheet_key, sheets_from_tables)


@dataclass(frozen=True)
class InputData:
    """Everything the model needs, validated. Tables are indexed by their identifiers."""

    source: str
    sha256: str
    settings: dict
    states: pd.DataFrame  # index state: core, eligible, max_troops, combat_allowed
    items: pd.DataFrame  # index item: kind, capabilities, troops, cost_meur, combat, radius_km, ...
    inventory: pd.DataFrame  # state, item, available
    sites: pd.DataFrame  # index site_id
    assets: pd.DataFrame  # index asset_id (the Infrastructure sheet)
    weights: pd.DataFrame  # category, capability, weight
    entry_points: pd.DataFrame  # index entry_id
    frontline: pd.DataFrame  # line_id, seq, lat, lon (sorted)
    routes: pd.DataFrame  # entry_id, site_id, distance_km
    rules: pd.DataFrame  # index rule_id
    scenarios: pd.DataFrame  # scenario, key, value (+ row for messages)
    warnings: tuple[str, ...] = field(default=())
    # Stages (issue 14): empty without a Stages sheet, and then nothing reads them
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)  # index stage_id, in time order
    stage_inventory: pd.DataFrame = field(default_factory=pd.DataFrame)  # state, item, stage_id, available

    @property
    def staged(self) -> bool:
        return not self.stages.empty
    # issue 15, each optional (empty: the model as without it). `frontline` above holds the
    # contact lines only; `threat_lines` every Frontline row with its kind.
    threat_lines: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["line_id", "seq", "lat", "lon", "kind"]))
    threats: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["threat", "description"]))
    buffers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["line_kind", "item", "min_km"]))
    host_consent: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["country", "state", "allowed", "item_kind"]))
    transit: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["country", "state", "allowed", "item_kind"]))
    funding: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["state", "meur"]))
    crewing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["state", "item", "crew_state"]))
    axis_presence: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["rule_id", "line_id", "within_km", "min_count", "item"]))

    @property
    def funding_meur(self) -> float:
        """Money states give instead of troops: it adds to budget_meur."""
        return float(self.funding["meur"].sum()) if len(self.funding) else 0.0

    @property
    def budget_total_meur(self) -> float:
        return float(self.settings["budget_meur"]) + self.funding_meur

    @property
    def capabilities(self) -> list[str]:
        found = sorted({c for caps in self.items["capabilities"] for c in caps})
        return found

    @property
    def level_weights(self) -> list[float]:
        return list(self.settings["coverage_level_weights"])

    def replace(self, **changes) -> InputData:
        return dataclasses.replace(self, **changes)

    def with_settings(self, **overrides) -> InputData:
        settings = dict(self.settings)
        settings.update({k: v for k, v in overrides.items() if v is not None})
        return dataclasses.replace(self, settings=settings)


def load(path: str | Path) -> InputData:
    """Read and validate an input workbook; raises InputError listing every problem."""
    path = Path(path)
    with gc_paused():
        sheets = read_sheets(path)
        return validate(sheets, path.name, sha256_of(path))


def from_tables(tables: dict, source: str = "<tables>") -> InputData:
    """Validate in-memory tables (sheet name -> DataFrame or dict of columns)."""
    return validate(sheets_from_tables(tables), source, "")


def threat_capability(threat: str) -> str:
    """The capability that defends against a threat class: ballistic -> ballistic_defence."""
    return f"{threat}_defence"


# --------------------------------------------------------------------------- cells


class _Collector:
    """Gathers problems for one file, so that all of them are reported together."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.bad_cells: set[tuple[str, int, str]] = set()  # (sheet, row, column) already reported

    def add(self, sheet: str | None, cell: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, sheet, cell, message))

    def warn(self, message: str) -> None:
        self.warnings.append(message)


_TYPED_BY_KEY = {("Settings", "value"), ("Scenarios", "value")}  # text columns whose kind the row's key gives


def _read_table(sheet_spec: Sheet, raw: RawSheet, errors: _Collector) -> pd.DataFrame:
    """Typed rows of one sheet; a `_row` column keeps the Excel row for later messages."""
    name = raw.name
    columns = ["excel_row", *[c.name for c in sheet_spec.columns]]
    _check_header(sheet_spec, raw, errors)
    missing = [c.name for c in sheet_spec.columns if c.required and c.name not in raw.columns]
    if missing and _header_further_down(sheet_spec, raw, errors):
        return pd.DataFrame(columns=columns)  # the rows below a misplaced header are not records
    for column in missing:
        errors.add(name, str(raw.header_row), f"column '{column}' is missing from the header row (expected columns: "
                   + ", ".join(c.name for c in sheet_spec.columns) + ")")
    records = []
    # (column, 0-based index or None, its letter): looked up once, not per cell (issue 17)
    layout = [(c, raw.columns.get(c.name), column_letter(raw.columns[c.name]) if c.name in raw.columns else "")
              for c in sheet_spec.columns]
    flagged = raw.uncached_formulas or raw.merged_cells  # most sheets have neither: no cell refs needed
    keyed_columns = {column for sheet, column in _TYPED_BY_KEY if sheet == name}
    for number, values in raw.rows:
        record: dict[str, object] = {"excel_row": number}
        width = len(values)
        for column, index, letter in layout:
            if index is None:
                record[column.name] = column.default
                continue
            if flagged:
                cell = f"{letter}{number}"
                if cell in raw.uncached_formulas:
                    errors.add(name, cell, f"{column.name} holds a formula with no saved value (the file was written "
                               "by a tool that does not calculate); open and save it in Excel or LibreOffice")
                    record[column.name] = None
                    continue
                if cell in raw.merged_cells:  # blank because of a merge, which is reported once, by range
                    record[column.name] = column.default
                    continue
            value = values[index] if index < width else ""
            converted = quick_convert(value, column)
            if converted is not SLOW:  # the common cell, as convert_cell would convert it
                record[column.name] = converted
                continue
            if isinstance(value, float) and not math.isfinite(value):
                if column.name in keyed_columns:
                    record[column.name] = value  # checked against its key's kind (parse_setting, scenarios)
                    continue
                # a stored NaN or INF is not an empty cell: never read as blank, 0 or the default
                errors.add(name, f"{letter}{number}", f"{column.name} must be {column.expected}, got {_describe(value)}")
                errors.bad_cells.add((name, number, column.name))
                record[column.name] = None
                continue
            if _blank(value):
                if column.required:
                    errors.add(name, f"{letter}{number}", f"{column.name} is blank; expected {column.expected}")
                record[column.name] = column.default
                continue
            converted, wrong = convert_cell(value, column)
            if wrong:
                errors.add(name, f"{letter}{number}", f"{column.name} {wrong}")
                errors.bad_cells.add((name, number, column.name))
            record[column.name] = converted
        records.append(record)
    # object columns where a stored NaN must stay apart from a blank (which would become NaN too)
    typed_by_key = any(sheet == sheet_spec.name for sheet, _ in _TYPED_BY_KEY)
    frame = pd.DataFrame.from_records(records, columns=columns)
    if typed_by_key:
        frame = pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in columns},
                             columns=columns)
    _check_unique(sheet_spec, raw, frame, errors)
    return frame


def _check_header(spec: Sheet, raw: RawSheet, errors: _Collector) -> None:
    """A contract column written twice is ambiguous (an error); an unknown column close to a
    contract one is most likely a typo whose values would be ignored (a warning)."""
    import difflib

    known = [c.name for c in spec.columns]
    for key, indices in raw.duplicate_columns.items():
        if key in known:
            cells = " and ".join(f"{column_letter(i)}{raw.header_row}" for i in indices)
            errors.add(raw.name, f"{column_letter(indices[1])}{raw.header_row}",
                       f"column '{key}' appears {len(indices)} times in the header row ({cells}; names are compared "
                       "ignoring case and spaces); keep one and rename or delete the others")
    for key, index in raw.columns.items():
        if key in known:
            continue
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
        if hint:
            errors.warn(f"{raw.name}!{column_letter(index)}{raw.header_row}: column '{key}' is not one cowopt reads, "
                        f"so its values are ignored (did you mean '{hint[0]}'?)")


_HEADER_SEARCH_ROWS = 20  # how far below the first non-empty row a misplaced header is looked for


def _header_further_down(spec: Sheet, raw: RawSheet, errors: _Collector) -> bool:
    """When a title or note stands above the header, say so (one problem, not one per column)."""
    wanted = {c.name for c in spec.columns if c.required}
    for number, values in raw.rows[:_HEADER_SEARCH_ROWS]:
        names = {normalise_header(v) for v in values if not _blank(v)}
        if wanted <= names:
            above = ", ".join(f"'{k}'" for k in list(raw.columns)[:3]) or "nothing"
            errors.add(raw.name, str(raw.header_row),
                       f"the column names ({', '.join(c.name for c in spec.columns if c.name in names)}) are in row "
                       f"{number}, but the header must be the first row with content: row {raw.header_row} holds "
                       f"{above}; delete the rows above the header (titles and notes belong on another sheet)")
            return True
    return False


def _check_unique(spec: Sheet, raw: RawSheet, frame: pd.DataFrame, errors: _Collector) -> None:
    if not spec.key or frame.empty or any(k not in raw.columns for k in spec.key):
        return
    # Settings keys are looked up ignoring case and spaces, so they must be unique that way too
    fold = normalise_header if spec.name == "Settings" else (lambda value: value)
    seen: dict[tuple, tuple[int, tuple]] = {}
    # whole columns zipped, not itertuples: the same rows in the same order, ~5x faster
    for excel_row, *values in zip(frame["excel_row"].tolist(), *(frame[k].tolist() for k in spec.key)):
        key = tuple(values)
        if any(v is None for v in key):
            continue
        folded = tuple(fold(v) for v in key)
        if folded not in seen:
            seen[folded] = (excel_row, key)
            continue
        first_row, first_key = seen[folded]
        what = f"{' + '.join(spec.key)} {'/'.join(map(str, key))}"
        if first_key == key:
            message = f"{what} repeats row {first_row}; each must be unique"
        else:
            message = (f"{what} repeats {'/'.join(map(str, first_key))} of row {first_row} (compared ignoring case "
                       "and spaces); keep one of the two rows")
        errors.add(raw.name, raw.cell(excel_row, spec.key[-1]), message)


# --------------------------------------------------------------------------- sheets


def _find_sheet(sheets: dict[str, RawSheet], name: str, errors: _Collector) -> RawSheet | None:
    """Sheet names match ignoring case, spaces and underscores; two that match are an error."""
    matches = [s for key, s in sheets.items() if sheet_key(key) == sheet_key(name)]
    if len(matches) > 1:
        listed = " and ".join(f"'{s.name}'" for s in matches)
        errors.add(name, None, f"sheets {listed} both match the {name} sheet (sheet names are compared ignoring "
                   "case and spaces); rename or delete all but one")
    return matches[0] if matches else None


def _default_setting(spec: schema.Setting) -> object:
    """A setting's default read like a typed cell: coverage_level_weights' "1" is the tuple (1.0,),
    as if written in the sheet (left as text, a workbook without that row crashed the model build)."""
    if spec.default is None:
        return None
    value, wrong = parse_setting(spec, spec.default)
    return spec.default if wrong else value


def _read_settings(frame: pd.DataFrame, raw: RawSheet | None, errors: _Collector) -> dict:
    settings = {s.key: _default_setting(s) for s in schema.SETTINGS}
    given, cells = {}, {}
    for record in frame.itertuples(index=False):
        if _blank(record.key) or not isinstance(record.key, str):
            continue
        key = normalise_header(record.key)
        spec = schema.SETTINGS_BY_KEY.get(key)
        cell = raw.cell(record.excel_row, "value") if raw is not None and "value" in raw.columns else None
        if spec is None:
            hint = _closest(key, set(schema.SETTINGS_BY_KEY))
            errors.warn(f"Settings: key '{record.key}' (row {record.excel_row}) is not one cowopt knows; ignored"
                        + (f" (did you mean '{hint}'?)" if hint else ""))
            continue
        given[key] = True
        cells[key] = cell
        value, wrong = parse_setting(spec, record.value)
        if wrong:
            errors.add("Settings", cell, f"{key} {wrong}")
        else:
            settings[key] = value
    for spec in schema.SETTINGS:
        if spec.required and not given.get(spec.key):
            errors.add("Settings", None, f"key '{spec.key}' is missing; expected a row with key {spec.key} "
                       f"and a value in {spec.unit} ({spec.description})")
    settings["_cells"] = cells  # where each key was given, for cross-key messages; dropped later
    return settings


def validate(sheets: dict[str, RawSheet], source: str, sha256: str) -> InputData:
    """All checks; raises InputError with every problem, or returns InputData."""
    errors = _Collector(source)
    tables: dict[str, pd.DataFrame] = {}
    raws: dict[str, RawSheet] = {}
    for spec in schema.SHEETS:
        raw = _find_sheet(sheets, spec.name, errors)
        if raw is None:
            if spec.required:
                errors.add(spec.name, None, f"sheet '{spec.name}' is missing; expected columns: "
                           + ", ".join(c.name for c in spec.columns))
            raw = RawSheet(spec.name, {c.name: i for i, c in enumerate(spec.columns)}, [])
        raw.name = spec.name if sheet_key(raw.name) == sheet_key(spec.name) else raw.name
        raws[spec.name] = raw
        errors.problems += raw.problems
        tables[spec.name] = _read_table(spec, raw, errors)
    settings = _read_settings(tables["Settings"], raws["Settings"], errors)
    items = _items(tables["UnitTypes"], tables["AirDefenceTypes"], raws, errors, tables["AirDefenceRanges"])
    _check_references(tables, raws, items, errors)
    _check_consistency(tables, raws, settings, items, errors)
    threatcheck.check(tables, raws, items, errors)
    places.check(tables, raws, errors)
    stagecheck.check(tables, raws, settings, errors)
    # Scenarios are checked in the same pass: a bad cell elsewhere must not hide a bad scenario row
    tables["Scenarios"] = scenarios.with_cells(tables["Scenarios"], raws["Scenarios"])
    known_items = set(items["item"].dropna()) if not items.empty else set()
    errors.problems += scenarios.check_rows(tables["Scenarios"], set(tables["States"]["state"].dropna()),
                                            known_items, source)
    if errors.problems:
        raise InputError(errors.problems)
    settings.pop("_cells", None)
    return _assemble(source, sha256, settings, tables, items, tuple(errors.warnings))


def _items(units: pd.DataFrame, defences: pd.DataFrame, raws, errors: _Collector,
           ranges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unit types and air-defence types as one table of items with capabilities.

    `cap_radius` and `cap_effect` map a capability to its own range and layer weight where it
    differs from the item's radius_km and 1: an ad_type with AirDefenceRanges rows gives
    `<threat>_defence` per row, at that row's range and effect (docs/model.md, threat classes)."""
    per_threat: dict = {}
    for r in (ranges.itertuples(index=False) if ranges is not None else ()):
        if not _blank(r.ad_type) and not _blank(r.threat) and r.range_km is not None:
            effect = 1.0 if _blank(r.effect) else float(r.effect)
            per_threat.setdefault(r.ad_type, {})[threat_capability(r.threat)] = (float(r.range_km), effect)
    rows = []
    for r in units.itertuples(index=False):
        rows.append(dict(item=r.unit_type, kind="unit", capabilities=tuple(r.capability or ()),
                         troops=r.troops, cost_meur=r.cost_meur, combat=r.combat, radius_km=r.radius_km,
                         min_frontline_km=r.min_frontline_km, needs_airfield=r.needs_airfield,
                         needs_port=r.needs_port, deploy_cost_meur=r.deploy_cost_meur,
                         running_meur_per_week=r.running_meur_per_week, needs_straits=r.needs_straits,
                         cap_radius={}, cap_effect={}, _sheet="UnitTypes", _row=r.excel_row))
    for r in defences.itertuples(index=False):
        caps = (AIR_DEFENCE, BALLISTIC_DEFENCE) if r.ballistic_capable else (AIR_DEFENCE,)
        radius, effect = {}, {}
        if r.ad_type in per_threat:  # per-threat rows replace the shorthand
            caps = tuple(sorted(c for c, (km, eff) in per_threat[r.ad_type].items() if km > 0 and eff > 0))
            radius = {c: km for c, (km, _) in per_threat[r.ad_type].items() if c in caps}
            effect = {c: eff for c, (_, eff) in per_threat[r.ad_type].items() if c in caps and eff != 1.0}
        rows.append(dict(item=r.ad_type, kind="air_defence", capabilities=caps, troops=r.crew,
                         cost_meur=r.cost_meur, combat=0, radius_km=max(radius.values(), default=r.range_km),
                         min_frontline_km=r.min_frontline_km, needs_airfield=0, needs_port=0, needs_straits=0,
                         deploy_cost_meur=r.deploy_cost_meur, running_meur_per_week=r.running_meur_per_week,
                         cap_radius=radius, cap_effect=effect, _sheet="AirDefenceTypes", _row=r.excel_row))
    unit_rows = {row["item"]: row["_row"] for row in rows if row["_sheet"] == "UnitTypes" and not _blank(row["item"])}
    for row in rows:  # a clash is reported at the unit_type, naming the ad_type's row
        if row["_sheet"] != "AirDefenceTypes" or _blank(row["item"]) or row["item"] not in unit_rows:
            continue
        raw = raws["UnitTypes"]
        errors.add("UnitTypes", raw.cell(unit_rows[row["item"]], "unit_type") if "unit_type" in raw.columns else None,
                   f"'{row['item']}' is both a unit_type and an ad_type (AirDefenceTypes row {row['_row']}); "
                   "item names must be unique")
    return pd.DataFrame(rows)


def _check_references(tables, raws, items: pd.DataFrame, errors: _Collector) -> None:
    known = {
        "States.state": set(tables["States"]["state"].dropna()),
        "Items": set(items["item"].dropna()) if not items.empty else set(),
        "Capabilities": {c for caps in items.get("capabilities", []) for c in caps},
        "Sites.site_id": set(tables["Sites"]["site_id"].dropna()),
        "Sites.region": set(tables["Sites"]["region"].dropna()) - {""},
        "EntryPoints.entry_id": set(tables["EntryPoints"]["entry_id"].dropna()),
        "Stages.stage_id": set(tables["Stages"]["stage_id"].dropna()),
        "States.state*": set(tables["States"]["state"].dropna()) | {"*"},
        "AirDefenceTypes.ad_type": set(tables["AirDefenceTypes"]["ad_type"].dropna()),
        "Threats.threat": set(tables["Threats"]["threat"].dropna()),
        "Frontline.line_id": set(tables["Frontline"]["line_id"].dropna()),
    }
    what = {"Items": "a unit_type or ad_type", "Capabilities": "a capability of some item",
            "States.state*": "a state (or *)", "Threats.threat": "a threat (Threats sheet)"}
    for spec in schema.SHEETS:
        frame, raw = tables[spec.name], raws[spec.name]
        for column in spec.columns:
            if not column.references or column.name not in raw.columns:
                continue
            allowed = known[column.references]
            for excel_row, value in zip(frame["excel_row"].tolist(), frame[column.name].tolist()):
                if _blank(value) or value in allowed:
                    continue
                expected = what.get(column.references, column.references.replace(".", " "))
                hint = _closest(value, allowed)
                errors.add(spec.name, raw.cell(excel_row, column.name),
                           f"{column.name} '{value}' is not {expected} listed in the workbook"
                           + (f" (did you mean '{hint}'?)" if hint else ""))


def _closest(value: str, allowed: set) -> str | None:
    import difflib

    matches = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.75)
    return matches[0] if matches else None


def _check_consistency(tables, raws, settings, items: pd.DataFrame, errors: _Collector) -> None:
    lo, hi = settings.get("mission_troops_min"), settings.get("mission_troops_max")
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        errors.add("Settings", settings.get("_cells", {}).get("mission_troops_min"),
                   f"mission_troops_min ({lo}) is larger than mission_troops_max ({hi})")
    rules, raw = tables["Rules"], raws["Rules"]
    for column in ("min_count", "max_count", "penalty"):  # blank counts may arrive as NaN
        rules[column] = pd.Series([None if _blank(v) else v for v in rules[column]], index=rules.index, dtype=object)
    for r in rules.itertuples(index=False):
        if {("Rules", r.excel_row, c) for c in ("min_count", "max_count")} & errors.bad_cells:
            continue  # a count already reported as wrong: comparing it would only repeat that
        if r.min_count is None and r.max_count is None:
            errors.add("Rules", raw.cell(r.excel_row, "min_count") if "min_count" in raw.columns else None,
                       f"rule {r.rule_id} has neither min_count nor max_count; give at least one")
        elif r.min_count is not None and r.max_count is not None and r.min_count > r.max_count:
            errors.add("Rules", raw.cell(r.excel_row, "max_count"),
                       f"rule {r.rule_id}: max_count {r.max_count} is below min_count {r.min_count}")
    if items.empty:
        errors.add("UnitTypes", None, "UnitTypes and AirDefenceTypes are both empty; expected at least one unit "
                   "type or air-defence type (a row in either sheet)")
    if tables["EntryPoints"].empty:
        errors.add("EntryPoints", None, "no entry point; forces need at least one way in")
    if tables["Sites"].empty:
        errors.add("Sites", None, "no site; expected at least one candidate site")
    categories = set(tables["CapabilityWeights"]["category"].dropna())
    for cat in sorted(set(tables["Infrastructure"]["category"].dropna()) - categories):
        errors.warn(f"Infrastructure: category '{cat}' has no row in CapabilityWeights, so its assets count for nothing")
    provided = {c for caps in items.get("capabilities", []) for c in caps}
    for cap in sorted(set(tables["CapabilityWeights"]["capability"].dropna()) - provided):
        errors.warn(f"CapabilityWeights: capability '{cap}' is provided by no unit or air-defence type")
    if tables["Frontline"].empty:
        errors.warn("Frontline: no contact line given, so the frontline restriction does nothing")


def _assemble(source, sha256, settings, tables, items, warnings) -> InputData:
    def clean(frame: pd.DataFrame, index: str | None = None) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        return frame.set_index(index, drop=False) if index else frame

    items = items.drop(columns=["_sheet", "_row"]).set_index("item", drop=False)
    for column in ("troops", "combat", "needs_airfield", "needs_port", "needs_straits"):
        items[column] = items[column].astype(int)
    for column in ("cost_meur", "radius_km", "min_frontline_km"):
        items[column] = items[column].astype(float)
    # staged cost split: blank deploy cost = cost_meur, so one stage costs what the static plan does
    items["deploy_cost_meur"] = [d if not _blank(d) else c for c, d in zip(items["cost_meur"], items["deploy_cost_meur"])]
    items["deploy_cost_meur"] = items["deploy_cost_meur"].astype(float)
    items["running_meur_per_week"] = items["running_meur_per_week"].fillna(0.0).astype(float)
    lines = tables["Frontline"].sort_values(["line_id", "seq"]).reset_index(drop=True)
    # the contact line keeps its old role everywhere (map shading, frontline_buffer_km);
    # border and sea lines only act through Buffers
    frontline = lines[lines["kind"] == "contact"].drop(columns=["kind"]).reset_index(drop=True)
    return InputData(
        source=source,
        sha256=sha256,
        settings=settings,
        states=clean(tables["States"], "state"),
        items=items,
        inventory=clean(tables["Inventory"]),
        sites=clean(tables["Sites"], "site_id"),
        assets=clean(tables["Infrastructure"], "asset_id"),
        weights=clean(tables["CapabilityWeights"]),
        entry_points=clean(tables["EntryPoints"], "entry_id"),
        frontline=frontline,
        routes=clean(tables["Routes"]),
        rules=clean(tables["Rules"], "rule_id"),
        scenarios=clean(tables["Scenarios"]),
        warnings=warnings,
        stages=stagecheck.stages_table(tables["Stages"], tables["EntryPoints"], settings),
        stage_inventory=clean(tables["StageInventory"]),
        threat_lines=lines,
        threats=clean(tables["Threats"]),
        buffers=clean(tables["Buffers"]),
        host_consent=clean(tables["HostConsent"]),
        transit=clean(tables["Transit"]),
        funding=clean(tables["Funding"]),
        axis_presence=clean(tables["AxisPresence"], "rule_id"),
        crewing=clean(tables["Crewing"]),
    )
