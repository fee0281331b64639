"""What may go where: allowed placements, routes and coverage sets, computed once.

Both the optimiser (formulation.py) and the plan scorer (evaluate.py) use this, so a plan the
model can produce is exactly a plan the scorer accepts. Every exclusion keeps its reason in
planner's words, for reports and for `cowopt evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cowopt.workbook.data import InputData
from cowopt.geometry import distance_matrix_km, distance_to_polylines_km

# Coverage is inclusive (dist <= radius); the tolerance absorbs floating-point noise only.
DISTANCE_TOLERANCE_KM = 1e-9


@dataclass(frozen=True)
class Candidates:
    """Index sets of the model and the facts behind them."""

    site_front_km: pd.Series  # site_id -> distance to the contact line
    routes: pd.DataFrame  # entry_id, site_id, distance_km (allowed routes only)
    reachable_sites: frozenset  # sites that at least one allowed route reaches
    placements: pd.DataFrame  # state, item, site_id, available: allowed x[n,k,s]
    item_site_cover: dict  # (item, site_id) -> tuple of asset_ids within the item's radius
    cover_options: dict  # (asset_id, capability) -> tuple of (item, site_id) that cover it
    worth: dict  # (asset_id, capability) -> value * weight (> 0 only)


def site_exclusion(data: InputData, item: str, site_id: str, front_km: float, reachable: bool) -> str | None:
    """Why item may not stand at site (None if it may), in planner's words."""
    site, spec = data.sites.loc[site_id], data.items.loc[item]
    if not site["deployable"]:
        return f"site {site['name'] or site_id} is entry/transit only (deployable=0)"
    needed = max(float(spec["min_frontline_km"]), float(data.settings["frontline_buffer_km"]))
    if front_km < needed - DISTANCE_TOLERANCE_KM:
        return (f"site {site['name'] or site_id} is {front_km:.0f} km from the contact line; "
                f"{item} needs {needed:.0f} km")
    if spec["needs_airfield"] and not site["has_airfield"]:
        return f"{item} needs an airfield; site {site['name'] or site_id} has none"
    if spec["needs_port"] and not site["has_port"]:
        return f"{item} needs a port; site {site['name'] or site_id} has none"
    if not reachable:
        return (f"site {site['name'] or site_id} is beyond max_route_km "
                f"({data.settings['max_route_km']:.0f} km) from every entry point")
    return None


def state_exclusion(data: InputData, state: str, item: str) -> str | None:
    """Why state may not send item at all (None if it may)."""
    record = data.states.loc[state]
    if not record["eligible"]:
        return f"{state} is not eligible (eligible=0)"
    if data.items.loc[item, "combat"] and not record["combat_allowed"]:
        return f"{item} is a combat unit and {state} has combat_allowed=0"
    if data.items.loc[item, "troops"] > record["max_troops"]:
        return f"one {item} needs {data.items.loc[item, 'troops']} troops; {state} sends at most {record['max_troops']}"
    return None


def allowed_item_sites(data: InputData, front_km: pd.Series, reachable: frozenset) -> pd.DataFrame:
    """item x site booleans: the vectorised twin of `site_exclusion` (same rules, no words)."""
    items, sites = data.items, data.sites
    needed = np.maximum(items["min_frontline_km"].to_numpy(float), float(data.settings["frontline_buffer_km"]))
    ok = front_km.to_numpy(float)[None, :] >= needed[:, None] - DISTANCE_TOLERANCE_KM
    ok &= sites["deployable"].to_numpy(bool)[None, :]
    ok &= ~items["needs_airfield"].to_numpy(bool)[:, None] | sites["has_airfield"].to_numpy(bool)[None, :]
    ok &= ~items["needs_port"].to_numpy(bool)[:, None] | sites["has_port"].to_numpy(bool)[None, :]
    ok &= sites.index.isin(reachable)[None, :]
    return pd.DataFrame(ok, index=items.index, columns=sites.index)


def compute_routes(data: InputData) -> pd.DataFrame:
    """Every entry-site route with its length; Routes rows override great-circle x circuity."""
    entries, sites = data.entry_points, data.sites
    km = distance_matrix_km(entries["lat"], entries["lon"], sites["lat"], sites["lon"])
    km = km * float(data.settings["route_circuity"])
    table = pd.DataFrame(km, index=entries.index, columns=sites.index)
    for r in data.routes.itertuples(index=False):
        table.loc[r.entry_id, r.site_id] = r.distance_km
    routes = table.stack().rename("distance_km").reset_index()
    routes.columns = ["entry_id", "site_id", "distance_km"]
    return routes


def build(data: InputData) -> Candidates:
    sites, assets = data.sites, data.assets
    front_km = pd.Series(distance_to_polylines_km(sites["lat"], sites["lon"], data.frontline), index=sites.index)
    site_asset = pd.DataFrame(
        distance_matrix_km(sites["lat"], sites["lon"], assets["lat"], assets["lon"]),
        index=sites.index, columns=assets.index,
    )
    routes = compute_routes(data)
    routes = routes[routes["distance_km"] <= float(data.settings["max_route_km"]) + DISTANCE_TOLERANCE_KM]
    routes = routes[routes["site_id"].map(sites["deployable"]).astype(bool)].reset_index(drop=True)
    reachable = frozenset(routes["site_id"])

    site_ok = allowed_item_sites(data, front_km, reachable)
    site_ids = np.asarray(sites.index)
    rows = []
    for r in data.inventory.itertuples(index=False):
        if r.available <= 0 or state_exclusion(data, r.state, r.item) is not None:
            continue
        rows.extend((r.state, r.item, s, int(r.available)) for s in site_ids[site_ok.loc[r.item].to_numpy()])
    placements = pd.DataFrame(rows, columns=["state", "item", "site_id", "available"])

    item_site_cover = _item_site_cover(data, site_asset, placements)
    worth = _worth(data)
    cover_options = _cover_options(data, item_site_cover, worth)
    # the site x asset distance matrix is not kept: at 400 x 10,000 it is 32 MB that every
    # PlanResult (and every sweep result sent back by a worker) would otherwise carry
    return Candidates(front_km, routes, reachable, placements, item_site_cover, cover_options, worth)


def _cover_options(data: InputData, item_site_cover: dict, worth: dict) -> dict:
    """(asset, capability) -> the (item, site) pairs that cover it, for cells worth something."""
    worth_caps: dict = {}
    for a, cap in worth:
        worth_caps.setdefault(cap, set()).add(a)
    options: dict = {}
    capabilities = data.items["capabilities"].to_dict()
    for (item, s), covered in item_site_cover.items():
        pair = (item, s)
        for cap in capabilities[item]:
            valued = worth_caps.get(cap)
            if not valued:
                continue
            for a in covered:
                if a in valued:
                    options.setdefault((a, cap), []).append(pair)
    return {key: tuple(value) for key, value in options.items()}


def _item_site_cover(data: InputData, site_asset: pd.DataFrame, placements: pd.DataFrame) -> dict:
    """For each (item, site) that has an allowed placement: the assets within the item's radius."""
    pairs = placements[["item", "site_id"]].drop_duplicates()
    matrix = site_asset.to_numpy()
    site_pos = {s: i for i, s in enumerate(site_asset.index)}
    asset_ids = np.asarray(site_asset.columns)
    result = {}
    for item, s in pairs.itertuples(index=False):
        radius = float(data.items.loc[item, "radius_km"])
        result[(item, s)] = tuple(asset_ids[matrix[site_pos[s]] <= radius + DISTANCE_TOLERANCE_KM])
    return result


def _worth(data: InputData) -> dict:
    """value_i * weight[category_i, c] for every (asset, capability) worth something."""
    weights = data.weights.groupby(["category", "capability"], as_index=False)["weight"].sum()
    assets = data.assets[data.assets["value"] > 0][["asset_id", "category", "value"]]
    cells = assets.merge(weights[weights["weight"] > 0], on="category")
    worth = cells["value"].to_numpy(float) * cells["weight"].to_numpy(float)
    return dict(zip(zip(cells["asset_id"], cells["capability"]), worth.tolist()))
