"""Seeded synthetic instances in the workbook contract, for the benchmark suite.

`make_instance(n_sites, n_assets, n_states, seed)` returns sheet name -> DataFrame tables that
`cowopt.from_tables` accepts; `write_xlsx(tables, path)` writes them as a planner's workbook so
that the runner measures reading a real file.

Two kinds:

- "full": a theatre box roughly the size of Ukraine (lat 45-52, lon 22-40), a contact line in
  the east, entry points in the west, 8 unit/air-defence types, states with caps and
  inventories, a budget that binds, 2 coverage levels and a few rules.
- "full" with `stages` (2 or more): the same tables (same seed, same draws) planned as a
  build-up (issue 14): a Stages sheet, StageInventory (states commit their units over the
  stages: core states half in the first, the others a third; two thirds by the second; all of
  Inventory from the last), crossings at a weekly rate (throughput_troops over a
  DEPLOYMENT_WEEKS window), so the first stage is held by the crossings, the later ones by
  what is committed and the budget over the horizon.
- "mclp": the classic maximal covering location problem (Church & ReVelle 1974) written in
  the contract: one item type (radius R, cost 1, 1 troop), p units, budget p, every site
  holds at most one unit (capacity 1 troop: spopt's "facility open" semantics), one
  capability of weight 1, asset value = demand weight, one coverage level, no contact line
  in reach and an entry point that never binds. Its optimum equals spopt's MCLP optimum on
  the same distance matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LAT_RANGE = (45.0, 52.0)
LON_RANGE = (22.0, 40.0)

# The contact line runs from the Black Sea coast (south-west end) to the north-east.
FRONT_LAT = (46.4, 50.3)
FRONT_LON = (32.5, 38.0)

# (unit_type, capability, troops, cost_meur, combat, radius_km, min_frontline_km, needs_airfield)
UNIT_TYPES = (
    ("training_mission", "training", 200, 30.0, 0, 40.0, 0.0, 0),
    ("mech_battalion", "ground_security", 800, 250.0, 1, 60.0, 100.0, 0),
    ("engineer_unit", "repair", 300, 60.0, 0, 80.0, 50.0, 0),
    ("field_hospital", "medical", 150, 40.0, 0, 100.0, 50.0, 0),
    ("air_policing_sqn", "air_defence", 250, 400.0, 0, 200.0, 150.0, 1),
)
# (ad_type, range_km, crew, cost_meur, ballistic_capable, min_frontline_km)
AD_TYPES = (
    ("long_sam", 150.0, 90, 900.0, 1, 100.0),
    ("medium_sam", 40.0, 30, 200.0, 0, 60.0),
    ("short_sam", 10.0, 12, 25.0, 0, 40.0),
)
CAPABILITY_WEIGHTS = {
    "energy": {"air_defence": 1.0, "ballistic_defence": 0.5, "repair": 0.6, "ground_security": 0.3},
    "city": {"air_defence": 1.0, "ballistic_defence": 0.8, "medical": 0.6, "ground_security": 0.5, "training": 0.3},
    "port": {"air_defence": 0.8, "ballistic_defence": 0.4, "ground_security": 0.3},
    "rail_hub": {"air_defence": 0.6, "repair": 0.4, "ground_security": 0.3},
    "gas": {"air_defence": 0.8, "repair": 0.5},
}
CATEGORY_SHARES = {"energy": 0.25, "city": 0.25, "port": 0.05, "rail_hub": 0.2, "gas": 0.25}
BUDGET_SHARE = 0.4  # budget = this share of the cost of every unit on offer: it binds
# Staged "full" instances: stage_id, start_week, end_week (a first fortnight, to week 8, to half a year)
STAGE_WEEKS = (("D+14", 0, 2), ("D+56", 2, 8), ("D+182", 8, 26))
DEPLOYMENT_WEEKS = 6  # the window throughput_troops is the total for: weekly rate = throughput / 6
FIRST_ECHELON_SHARE = 0.5  # the first stage's mission_troops_max, share of the whole mission's
MCLP_RADIUS_KM = 65.0  # uniform points: 60 km solves in seconds, 70 km takes HiGHS minutes


def make_instance(n_sites: int, n_assets: int, n_states: int, seed: int, kind: str = "full",
                  p: int | None = None, radius_km: float = MCLP_RADIUS_KM, stages: int = 0) -> dict[str, pd.DataFrame]:
    """Tables (sheet name -> DataFrame) of one synthetic instance; same seed, same tables.
    `stages` (full only): plan it in that many stages (at most len(STAGE_WEEKS))."""
    rng = np.random.default_rng(seed)
    if kind == "full":
        tables = _full(rng, n_sites, n_assets, n_states)
        return _staged(tables, stages) if stages else tables
    if kind == "mclp":
        if p is None or p < 1:
            raise ValueError("an mclp instance needs p >= 1 units")
        return _mclp(rng, n_sites, n_assets, p, radius_km)
    raise ValueError(f"kind must be 'full' or 'mclp', got {kind!r}")


# --------------------------------------------------------------------------- geometry


def front_lon_at(lat: np.ndarray) -> np.ndarray:
    """Longitude of the straight contact-line trend at a latitude (clamped at its ends)."""
    share = np.clip((np.asarray(lat) - FRONT_LAT[0]) / (FRONT_LAT[1] - FRONT_LAT[0]), 0.0, 1.0)
    return FRONT_LON[0] + share * (FRONT_LON[1] - FRONT_LON[0])


def _behind_front(rng: np.random.Generator, n: int, clusters: np.ndarray | None = None,
                  clustered_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """n points in the box west of the contact line; some drawn around cluster centres."""
    lats, lons = [], []
    while sum(map(len, lats)) < n:
        want = 2 * n
        lat = rng.uniform(*LAT_RANGE, want)
        lon = rng.uniform(*LON_RANGE, want)
        if clusters is not None and len(clusters):
            near = rng.random(want) < clustered_share
            centre = clusters[rng.integers(0, len(clusters), want)]
            lat = np.where(near, centre[:, 0] + rng.normal(0, 0.25, want), lat)
            lon = np.where(near, centre[:, 1] + rng.normal(0, 0.35, want), lon)
        keep = (lat >= LAT_RANGE[0]) & (lat <= LAT_RANGE[1]) & (lon >= LON_RANGE[0]) & (lon < front_lon_at(lat) - 0.2)
        lats.append(lat[keep])
        lons.append(lon[keep])
    return np.concatenate(lats)[:n].round(4), np.concatenate(lons)[:n].round(4)


def _frontline(rng: np.random.Generator, n_points: int = 15) -> pd.DataFrame:
    lat = np.linspace(*FRONT_LAT, n_points)
    lon = front_lon_at(lat) + rng.normal(0, 0.15, n_points)
    return pd.DataFrame({"line_id": "front", "seq": np.arange(1, n_points + 1),
                         "lat": lat.round(4), "lon": lon.round(4)})


def _region(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    band = np.where(lon < 28, "west", np.where(lon < 32, "centre", "east"))
    half = np.where(lat < 48.5, "south", "north")
    return np.char.add(np.char.add(band.astype(str), "_"), half.astype(str))


# --------------------------------------------------------------------------- full


def _full(rng: np.random.Generator, n_sites: int, n_assets: int, n_states: int) -> dict[str, pd.DataFrame]:
    sites = _full_sites(rng, n_sites)
    assets = _full_assets(rng, n_assets)
    states, inventory = _full_states(rng, n_states)
    items = _item_table()
    units_offered = inventory.merge(items, on="item")
    total_cost = float((units_offered["available"] * units_offered["cost_meur"]).sum())
    total_troops = int((units_offered["available"] * units_offered["troops"]).sum())
    mission_max = int(0.6 * total_troops)
    settings = {
        "budget_meur": round(BUDGET_SHARE * total_cost, 1),
        "mission_troops_max": mission_max,
        "mission_troops_min": 0,
        "frontline_buffer_km": 30,
        "coverage_level_weights": "1,0.5",
        "route_circuity": 1.3,
        "max_route_km": 1500,
        "transport_cost_eur_per_troop_km": 5,
        "require_core_lead": 0,
        "time_limit_s": 60,
        "mip_gap": 1e-4,
    }
    return {
        "Settings": _settings_table(settings),
        "States": states,
        "UnitTypes": _unit_types(),
        "AirDefenceTypes": _ad_types(),
        "Inventory": inventory,
        "Sites": sites,
        "Infrastructure": assets,
        "CapabilityWeights": _weights_table(CAPABILITY_WEIGHTS),
        "EntryPoints": _entry_points(rng, 5, mission_max),
        "Frontline": _frontline(rng),
        "Rules": _full_rules(sites, states),
    }


def _full_sites(rng: np.random.Generator, n: int) -> pd.DataFrame:
    lat, lon = _behind_front(rng, n)
    return pd.DataFrame({
        "site_id": [f"S{i:04d}" for i in range(1, n + 1)],
        "name": [f"Site {i}" for i in range(1, n + 1)],
        "region": _region(lat, lon),
        "lat": lat, "lon": lon,
        "capacity_troops": rng.integers(5, 31, n) * 100,
        "has_airfield": (rng.random(n) < 0.35).astype(int),
        "has_port": ((lat < 47.0) & (rng.random(n) < 0.5)).astype(int),
        "deployable": (rng.random(n) >= 0.03).astype(int),
    })


def _full_assets(rng: np.random.Generator, n: int) -> pd.DataFrame:
    centres = np.column_stack(_behind_front(rng, 15))
    lat, lon = _behind_front(rng, n, centres, clustered_share=0.6)
    names = list(CATEGORY_SHARES)
    category = rng.choice(names, n, p=list(CATEGORY_SHARES.values()))
    category = np.where((category == "port") & (lat >= 47.0), "city", category)  # ports on the coast
    return pd.DataFrame({
        "asset_id": [f"A{i:05d}" for i in range(1, n + 1)],
        "name": [f"Asset {i}" for i in range(1, n + 1)],
        "category": category,
        "lat": lat, "lon": lon,
        "value": rng.integers(10, 101, n),
    })


def _full_states(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two core states offer every item; the others a few. State 3 is not eligible (from 10 states)."""
    names = [f"State{i:02d}" for i in range(1, n + 1)]
    core = np.arange(n) < 2
    states = pd.DataFrame({
        "state": names,
        "core": core.astype(int),
        "eligible": [0 if (n >= 10 and i == 2) else 1 for i in range(n)],
        "max_troops": np.where(core, rng.integers(80, 121, n) * 100, rng.integers(5, 51, n) * 100),
        "combat_allowed": np.where(core, 1, (rng.random(n) < 0.6).astype(int)),
    })
    items = [u[0] for u in UNIT_TYPES] + [a[0] for a in AD_TYPES]
    rows = []
    for i, state in enumerate(names):
        offered = items if core[i] else list(rng.choice(items, int(rng.integers(3, 6)), replace=False))
        for item in offered:
            most = 6 if item == "short_sam" else 3
            rows.append((state, item, int(rng.integers(1, most + 1))))
    return states, pd.DataFrame(rows, columns=["state", "item", "available"])


def _full_rules(sites: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """Two field hospitals (hard), ground security in the south-east (soft), one red line (hard)."""
    regions = set(sites["region"])
    east = "east_south" if "east_south" in regions else max(regions)
    west = "west_north" if "west_north" in regions else min(regions)
    third = states["state"].iloc[min(3, len(states) - 1)]
    return pd.DataFrame({
        "rule_id": ["HOSP2", "EAST_GROUND", "NO_WEST"],
        "state": ["", "", third],
        "item": ["field_hospital", "", ""],
        "capability": ["", "ground_security", ""],
        "site_id": ["", "", ""],
        "region": ["", east, west],
        "min_count": [2, 2, None],
        "max_count": [None, None, 0],
        "hard": [1, 0, 1],
    })


def _item_table() -> pd.DataFrame:
    units = [(u[0], u[2], u[3]) for u in UNIT_TYPES]
    defences = [(a[0], a[2], a[3]) for a in AD_TYPES]
    return pd.DataFrame(units + defences, columns=["item", "troops", "cost_meur"])


def _unit_types() -> pd.DataFrame:
    frame = pd.DataFrame(UNIT_TYPES, columns=["unit_type", "capability", "troops", "cost_meur", "combat",
                                              "radius_km", "min_frontline_km", "needs_airfield"])
    frame["needs_port"] = 0
    return frame


def _ad_types() -> pd.DataFrame:
    return pd.DataFrame(AD_TYPES, columns=["ad_type", "range_km", "crew", "cost_meur",
                                           "ballistic_capable", "min_frontline_km"])


def _entry_points(rng: np.random.Generator, n: int, mission_max: int) -> pd.DataFrame:
    """Western crossings; together they pass a little more than the largest mission."""
    lat = np.linspace(46.2, 51.3, n) + rng.normal(0, 0.1, n)
    lon = rng.uniform(22.2, 24.0, n)
    share = rng.dirichlet(np.full(n, 4.0))
    return pd.DataFrame({
        "entry_id": [f"E{i:02d}" for i in range(1, n + 1)],
        "name": [f"Crossing {i}" for i in range(1, n + 1)],
        "lat": lat.round(4), "lon": lon.round(4),
        "throughput_troops": np.maximum(100, (1.2 * mission_max * share).round(-2)).astype(int),
    })


def _settings_table(settings: dict) -> pd.DataFrame:
    return pd.DataFrame({"key": list(settings), "value": [str(v) for v in settings.values()]})


def _weights_table(weights: dict) -> pd.DataFrame:
    rows = [(cat, cap, w) for cat, caps in weights.items() for cap, w in caps.items()]
    return pd.DataFrame(rows, columns=["category", "capability", "weight"])


# --------------------------------------------------------------------------- staged


def _staged(tables: dict[str, pd.DataFrame], n: int) -> dict[str, pd.DataFrame]:
    """The static tables planned in n stages. No random draws: the static part stays exactly
    the instance of the same seed without stages, so the two compare."""
    if not 2 <= n <= len(STAGE_WEEKS):
        raise ValueError(f"stages must be from 2 to {len(STAGE_WEEKS)}, got {n}")
    out = dict(tables)
    settings = dict(zip(tables["Settings"]["key"], tables["Settings"]["value"]))
    settings["deployment_weeks"] = str(DEPLOYMENT_WEEKS)
    out["Settings"] = _settings_table(settings)
    mission_max = int(settings["mission_troops_max"])
    entries = tables["EntryPoints"].copy()
    entries["throughput_troops_per_week"] = (entries["throughput_troops"] / DEPLOYMENT_WEEKS).round().astype(int)
    out["EntryPoints"] = entries
    # the last n stages' ends, counted from week 0 (three stages: 0-2, 2-8, 8-26)
    chosen = STAGE_WEEKS[:n - 1] + STAGE_WEEKS[-1:]
    starts = [0] + [end for _, _, end in chosen[:-1]]
    out["Stages"] = pd.DataFrame({
        "stage_id": [sid for sid, _, _ in chosen],
        "name": [f"stage {i}" for i in range(1, n + 1)],
        "start_week": starts, "end_week": [end for _, _, end in chosen],
        "mission_troops_min": [None] * n,
        "mission_troops_max": [int(round(FIRST_ECHELON_SHARE * mission_max, -2))] + [None] * (n - 1),
    })
    out["StageInventory"] = _stage_inventory(tables["Inventory"], tables["States"], [sid for sid, _, _ in chosen])
    return out


def _stage_inventory(inventory: pd.DataFrame, states: pd.DataFrame, stage_ids: list) -> pd.DataFrame:
    """Commitments growing stage to stage: the first stage core states half (rounded up), the
    others a third (rounded down); then two thirds (rounded up) up to the last stage, which
    falls back to Inventory (no rows)."""
    core = set(states.loc[states["core"] == 1, "state"])
    rows = []
    for n, k, a in inventory[["state", "item", "available"]].itertuples(index=False):
        first = -(-a // 2) if n in core else a // 3
        rows.append((n, k, stage_ids[0], int(first)))
        for sid in stage_ids[1:-1]:
            rows.append((n, k, sid, int(max(first, -(-2 * a // 3)))))
    return pd.DataFrame(rows, columns=["state", "item", "stage_id", "available"])


# --------------------------------------------------------------------------- mclp


def _mclp(rng: np.random.Generator, n_sites: int, n_points: int, p: int, radius_km: float) -> dict[str, pd.DataFrame]:
    lat = rng.uniform(*LAT_RANGE, n_sites).round(4)
    lon = rng.uniform(*LON_RANGE, n_sites).round(4)
    point_lat = rng.uniform(*LAT_RANGE, n_points).round(4)
    point_lon = rng.uniform(*LON_RANGE, n_points).round(4)
    settings = {
        "budget_meur": p, "mission_troops_max": p, "mission_troops_min": 0, "frontline_buffer_km": 0,
        "coverage_level_weights": "1", "route_circuity": 1, "max_route_km": 40000,
        "transport_cost_eur_per_troop_km": 0, "require_core_lead": 0, "time_limit_s": 60, "mip_gap": 1e-4,
    }
    return {
        "Settings": _settings_table(settings),
        "States": pd.DataFrame({"state": ["Coalition"], "core": [1], "eligible": [1],
                                "max_troops": [p], "combat_allowed": [1]}),
        "UnitTypes": pd.DataFrame({"unit_type": ["facility"], "capability": ["cover"], "troops": [1],
                                   "cost_meur": [1.0], "combat": [0], "radius_km": [radius_km],
                                   "min_frontline_km": [0.0], "needs_airfield": [0], "needs_port": [0]}),
        "AirDefenceTypes": pd.DataFrame(columns=["ad_type", "range_km", "crew", "cost_meur",
                                                 "ballistic_capable", "min_frontline_km"]),
        "Inventory": pd.DataFrame({"state": ["Coalition"], "item": ["facility"], "available": [p]}),
        "Sites": pd.DataFrame({
            "site_id": [f"F{i:04d}" for i in range(n_sites)], "name": "", "region": "",
            "lat": lat, "lon": lon, "capacity_troops": 1, "has_airfield": 0, "has_port": 0, "deployable": 1,
        }),
        "Infrastructure": pd.DataFrame({
            "asset_id": [f"D{i:05d}" for i in range(n_points)], "name": "", "category": "demand",
            "lat": point_lat, "lon": point_lon, "value": rng.integers(1, 13, n_points),
        }),
        "CapabilityWeights": pd.DataFrame({"category": ["demand"], "capability": ["cover"], "weight": [1.0]}),
        "EntryPoints": pd.DataFrame({"entry_id": ["E"], "name": ["anywhere"], "lat": [48.5], "lon": [31.0],
                                     "throughput_troops": [10_000_000]}),
        # a point threat far outside the box: the contact line never excludes a site
        "Frontline": pd.DataFrame({"line_id": ["far"], "seq": [1], "lat": [-60.0], "lon": [-120.0]}),
    }


def mclp_arrays(tables: dict[str, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(cost matrix demand x facility in km, weights, radius, p) of an mclp instance, for spopt.

    Distances come from cowopt's own great-circle function, so both tools see the same
    coverage sets (inclusive: covered when distance <= radius).
    """
    from cowopt.geometry import distance_matrix_km

    assets, sites = tables["Infrastructure"], tables["Sites"]
    cost = distance_matrix_km(assets["lat"], assets["lon"], sites["lat"], sites["lon"])
    weights = assets["value"].to_numpy(float)
    radius = float(tables["UnitTypes"]["radius_km"].iloc[0])
    p = int(tables["Inventory"]["available"].iloc[0])
    return cost, weights, radius, p


# --------------------------------------------------------------------------- files


def write_xlsx(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write the tables as a workbook, one sheet each; strings never become formulas."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path
