"""Scenarios: named variants of the data, as plain functions returning new InputData.

A Scenarios row (scenario, key, value) overrides one thing:
  - any Settings key (budget_meur, frontline_buffer_km, mission_troops_max, ...);
  - `eligible:STATE`, `max_troops:STATE`, `combat_allowed:STATE`, `core:STATE` — a States cell;
  - `available:STATE:ITEM` — an Inventory count (a new row if the state had none).
"""

from __future__ import annotations

import pandas as pd

from . import schema
from .data import InputData, convert_cell, parse_setting
from .errors import InputError, Problem
from .schema import FLAG, INT, Column

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


def check(data: InputData) -> list[Problem]:
    """Every Scenarios row that names an unknown key, state or item, or holds a bad value."""
    problems = []
    for row in data.scenarios.itertuples(index=False):
        wrong = _apply_one(data, row.key, row.value, {}, {}, {})
        if wrong:
            problems.append(Problem(data.source, "Scenarios", f"C{row.excel_row}" if "value" in wrong else f"B{row.excel_row}",
                                    f"scenario {row.scenario}: {wrong}"))
    return problems


def apply(data: InputData, name: str) -> InputData:
    """The data as scenario `name` has it ("base" = unchanged)."""
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
            problems.append(Problem(data.source, "Scenarios", f"B{row.excel_row}", f"scenario {name}: {wrong}"))
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
        spec = schema.SETTINGS_BY_KEY.get(key.lower())
        if spec is None:
            return (f"key '{key}' is neither a Settings key nor eligible:STATE, max_troops:STATE, "
                    "combat_allowed:STATE, core:STATE or available:STATE:ITEM")
        converted, wrong = parse_setting(spec, value)
        if wrong:
            return f"value for {key} {wrong}"
        settings[spec.key] = converted
        return None
    column = STATE_KEYS.get(parts[0].lower())
    if column is not None and len(parts) == 2:
        if parts[1] not in data.states.index:
            return f"state '{parts[1]}' in key '{key}' is not in the States sheet"
        converted, wrong = convert_cell(value, column)
        if wrong:
            return f"value for {key} {wrong}"
        state_cells[(column.name, parts[1])] = converted
        return None
    if parts[0].lower() == "available" and len(parts) == 3:
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
