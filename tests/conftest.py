"""Shared fixtures: the shipped example and a tiny, hand-checkable instance."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"

# A tiny theatre on a line of longitude 30E. One degree of latitude is ~111.2 km.
# Frontline: a short east-west segment at 46.0N. Sites north of it at 47.0N (~111 km),
# 48.0N (~222 km) and 46.3N (~33 km). Assets near the sites. One entry point far north.
TINY = {
    "Settings": {
        "key": ["budget_meur", "mission_troops_max", "mission_troops_min", "frontline_buffer_km",
                "coverage_level_weights", "route_circuity", "max_route_km",
                "transport_cost_eur_per_troop_km", "require_core_lead", "time_limit_s", "mip_gap"],
        "value": [1000, 5000, 0, 50, "1,0.5", 1.0, 2000, 0, 0, 30, 0],
    },
    "States": {
        "state": ["Aland", "Borduria"],
        "core": [1, 0],
        "eligible": [1, 1],
        "max_troops": [3000, 3000],
        "combat_allowed": [1, 0],
    },
    "UnitTypes": {
        "unit_type": ["battalion", "hospital"],
        "capability": ["ground_security", "medical"],
        "troops": [500, 200],
        "cost_meur": [100, 50],
        "combat": [1, 0],
        "radius_km": [60, 60],
        "min_frontline_km": [100, 0],
        "needs_airfield": [0, 0],
        "needs_port": [0, 0],
    },
    "AirDefenceTypes": {
        "ad_type": ["sam"],
        "range_km": [50],
        "crew": [100],
        "cost_meur": [300],
        "ballistic_capable": [0],
        "min_frontline_km": [50],
    },
    "Inventory": {
        "state": ["Aland", "Aland", "Borduria", "Borduria"],
        "item": ["battalion", "sam", "hospital", "sam"],
        "available": [2, 1, 2, 1],
    },
    "Sites": {
        "site_id": ["S1", "S2", "S3"],
        "name": ["Middle", "North", "Near"],
        "region": ["R1", "R2", "R1"],
        "lat": [47.0, 48.0, 46.3],
        "lon": [30.0, 30.0, 30.0],
        "capacity_troops": [2000, 2000, 2000],
        "has_airfield": [1, 0, 0],
        "has_port": [0, 0, 0],
        "deployable": [1, 1, 1],
    },
    "Infrastructure": {
        "asset_id": ["A1", "A2", "A3", "A4"],
        "name": ["Plant", "City", "Port", "Town"],
        "category": ["energy", "city", "port", "city"],
        "lat": [47.1, 48.1, 46.35, 47.5],
        "lon": [30.0, 30.0, 30.0, 30.0],
        "value": [100, 80, 60, 10],
    },
    "CapabilityWeights": {
        "category": ["energy", "city", "city", "port"],
        "capability": ["air_defence", "air_defence", "medical", "air_defence"],
        "weight": [1.0, 1.0, 0.5, 1.0],
    },
    "EntryPoints": {
        "entry_id": ["E1"],
        "name": ["Gate"],
        "lat": [50.0],
        "lon": [30.0],
        "throughput_troops": [5000],
    },
    "Frontline": {
        "line_id": ["F", "F"],
        "seq": [1, 2],
        "lat": [46.0, 46.0],
        "lon": [29.5, 30.5],
    },
}


@pytest.fixture
def tiny_tables() -> dict:
    """A fresh, valid set of tables (sheet -> dict of columns); edit freely in a test."""
    return copy.deepcopy(TINY)


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE
