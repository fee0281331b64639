"""Scenarios: named variants of the data, as plain functions returning new InputData.

A Scenarios row (scenario, key, value) overrides one thing:
  - any Settings key (budget_meur, frontline_buffer_km, mission_troops_max, ...);
  - `eligible:STATE`, `max_troops:STATE`, `combat_allowed:STATE`, `core:STATE` — a States cell;
  - `available:STATE:ITEM` — an Inventory count (a new row if the state had none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cowopt.workbook import schema
from cowopt.workbook.cells import convert_cell, parse_setting
from cowopt.errors import InputError, Problem
from cowopt.workbook.schema import FLAG, INT, Column
from cowopt.workbook.files import normalise_header, normalise_text

if TYPE_CHECKING:  # data.py imports this module; InputData is only named here
    from cowopt.workbook.data import InputData

STATE_KEYS = {
    "eligible": Column("eligible", FLAG, ""),
    "max_troops": Column("max_troops", INT, "", minimum=0, maximum=schema.BIG_TROOPS),
    "combat_allowed": Column("combat_allowed", FLAG, ""),
    "core": Column("core", FLAG, ""),
}
AVAILABLE = Column("available", INT, "", minimum=0, maximum=100_000)
BASE = "base"


def names(data: InputData) -> list[str]:
    """Scenario names in the order of the sheet."""
    return list(dict.fromkeys(data.scenarios["scenario"])) if len(data.scenarios) else []


def with_cells(frame: pd.DataFrame, raw) -> pd.DataFrame:
    """The Scenarios table with where each row's key and value cells are (found by header, so a
    sheet with its columns in another order is still named right), for messages at any later step."""
    frame = frame.copy()
    for column in ("key", "value"):
        frame[f"{column}_cell"] = [raw.cell(row, column) if column in raw.columns else None
                                   for row in frame["excel_row"]]
    return frame


def check(data: InputData) -> list[Problem]:
    """Every Scenarios row that names an unknown key, state or item, or holds a bad value."""
    return check_rows(data.scenarios, set(data.states.index), set(data.items.index), data.source)


def check_rows(frame: pd.DataFrame, states: set, items: set, source: str) -> list[Problem]:
    """check() on the tables as read, before the rest of the workbook is known to be valid
    (only the state and item names are needed), so one pass reports every sheet's problems."""
    known = _Known(states, items)
    problems, targets = [], {}
    for row in frame.itertuples(index=False):
        if row.key is None or row.scenario is None or row.value is None:  # already reported by the reader
            continue
        settings, state_cells, inventory_cells = {}, {}, {}
        wrong = _apply_one(known, row.key, row.value, settings, state_cells, inventory_cells)
        touched = [("setting", k) for k in settings] + [("state", k) for k in state_cells] + [
            ("inventory", k) for k in inventory_cells]
        cells = _cells(row)
        if wrong:
            problems.append(Problem(source, "Scenarios", cells["value" if "value for" in wrong else "key"],
                                    f"scenario {row.scenario}: {wrong}"))
            continue
        # two rows of one scenario setting the same thing (budget_meur and Budget MEUR): which wins?
        for target in touched:
            first = targets.setdefault((row.scenario, target), row)
            if first is not row:
                problems.append(Problem(source, "Scenarios", cells["key"],
                                        f"scenario {row.scenario}: key '{row.key}' sets what '{first.key}' of row "
                                        f"{first.excel_row} already sets (keys are compared ignoring case and "
                                        "spaces); keep one of the two rows"))
    return problems


class _Known:
    """The state and item names a scenario row may refer to (the part of InputData it needs)."""

    def __init__(self, states: set, items: set):
        self.states = pd.DataFrame(index=sorted(states, key=str))
        self.items = pd.DataFrame(index=sorted(items, key=str))


def _cells(row) -> dict[str, str | None]:
    """The key and value cells of a Scenarios row (B and C when the table came without them)."""
    return {"key": getattr(row, "key_cell", None) or f"B{row.excel_row}",
            "value": getattr(row, "value_cell", None) or f"C{row.excel_row}"}


def apply(data: InputData, name: str) -> InputData:
    """The data as scenario `name` has it ("base" = unchanged)."""
    name = normalise_text(name).strip()  # as the sheet's names were read (NFC, trimmed)
    if name == BASE:
        return data
    rows = data.scenarios[data.scenarios["scenario"] == name]
    if rows.empty:
        known = ", ".join(names(data)) or "none"
        raise InputError([Problem(data.source, "Scenarios", None, f"no scenario named '{name}' (scenarios: {known})")])
    settings, state_cells, inventory_cells = {}, {}, {}
    problems = []
    for row in rows.itertuples(index=False):
        wrong = _apply_one(data, row.key, row.value, settings, state_cells, inventory_cells)
        if wrong:
            cell = _cells(row)["value" if "value for" in wrong else "key"]
            problems.append(Problem(data.source, "Scenarios", cell, f"scenario {name}: {wrong}"))
    if problems:
        raise InputError(problems)
    states = data.states.copy()
    for (column, state), value in state_cells.items():
        states.loc[state, column] = value
    inventory = data.inventory.copy()
    for (state, item), value in inventory_cells.items():
        mask = (inventory["state"] == state) & (inventory["item"] == item)
        if mask.any():
            inventory.loc[mask, "available"] = value
        else:
            inventory = pd.concat([inventory, pd.DataFrame([{"state": state, "item": item, "available": value}])],
                                  ignore_index=True)
    return data.replace(states=states, inventory=inventory).with_settings(**settings)


def _apply_one(data, key: str, value, settings: dict, state_cells: dict, inventory_cells: dict) -> str | None:
    """Record one override; return what is wrong with it, or None."""
    key = str(key).strip()
    parts = [p.strip() for p in key.split(":")]
    if len(parts) == 1:
        spec = schema.SETTINGS_BY_KEY.get(normalise_header(key))
        if spec is None:
            return (f"key '{key}' is neither a Settings key nor eligible:STATE, max_troops:STATE, "
                    "combat_allowed:STATE, core:STATE or available:STATE:ITEM")
        converted, wrong = parse_setting(spec, value)
        if wrong:
            return f"value for {key} {wrong}"
        settings[spec.key] = converted
        return None
    column = STATE_KEYS.get(normalise_header(parts[0]))
    if column is not None and len(parts) == 2:
        if parts[1] not in data.states.index:
            return f"state '{parts[1]}' in key '{key}' is not in the States sheet"
        converted, wrong = convert_cell(value, column)
        if wrong:
            return f"value for {key} {wrong}"
        state_cells[(column.name, parts[1])] = converted
        return None
    if normalise_header(parts[0]) == "available" and len(parts) == 3:
        if parts[1] not in data.states.index:
            return f"state '{parts[1]}' in key '{key}' is not in the States sheet"
        if parts[2] not in data.items.index:
            return f"item '{parts[2]}' in key '{key}' is neither a unit_type nor an ad_type"
        converted, wrong = convert_cell(value, AVAILABLE)
        if wrong:
            return f"value for {key} {wrong}"
        inventory_cells[(parts[1], parts[2])] = converted
        return None
    return f"key '{key}' is not understood; expected a Settings key, KEY:STATE or available:STATE:ITEM"
