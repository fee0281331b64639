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
from cowopt.workbook.files import gc_paused
from cowopt.geometry import distance_matrix_km, distance_to_polylines_km
from cowopt.optimise import politics

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
    # issue 15 (all empty when the workbook has none of its sheets):
    effect: dict = None  # (item, capability) -> layers one unit fills, where not 1 (AirDefenceRanges effect)
    site_line_km: pd.DataFrame = None  # site_id x threat-line kind -> distance (Frontline kind)
    abroad: frozenset = frozenset()  # sites outside Ukraine: no entry throughput, host consent
    signature: dict = None  # state -> frozenset of (item, site) refused to it alone (consent, transit)


def buffer_km(data: InputData, item: str, kind: str) -> float:
    """Least distance of `item` from every threat line of `kind`: the Buffers row for the item,
    else for its kind (unit, air_defence), else for every item; with none, frontline_buffer_km
    for the contact line and 0 for the others. The item's own min_frontline_km holds at the
    contact line in every case."""
    found = None
    if len(data.buffers):
        rows = data.buffers[data.buffers["line_kind"] == kind]
        for key in (item, data.items.at[item, "kind"], ""):
            match = rows[rows["item"].fillna("") == key]
            if len(match):
                found = float(match["min_km"].iloc[0])
                break
    if found is None:
        found = float(data.settings["frontline_buffer_km"]) if kind == "contact" else 0.0
    return max(found, float(data.items.at[item, "min_frontline_km"])) if kind == "contact" else found


_KIND_WORDS = {"contact": "the contact line", "border": "a hostile border", "sea": "the sea threat line"}


def site_exclusion(data: InputData, item: str, site_id: str, front_km: float, reachable: bool,
                   line_km: pd.Series | None = None) -> str | None:
    """Why item may not stand at site (None if it may), in planner's words. `line_km` (kind ->
    km, Candidates.site_line_km's row) adds the buffers of border and sea lines."""
    site, spec = data.sites.loc[site_id], data.items.loc[item]
    if not site["deployable"]:
        return f"site {site['name'] or site_id} is entry/transit only (deployable=0)"
    needed = buffer_km(data, item, "contact")
    if front_km < needed - DISTANCE_TOLERANCE_KM:
        return (f"site {site['name'] or site_id} is {front_km:.0f} km from the contact line; "
                f"{item} needs {needed:.0f} km")
    for kind, km in (line_km.items() if line_km is not None else ()):
        needed = buffer_km(data, item, kind)
        if kind != "contact" and km < needed - DISTANCE_TOLERANCE_KM:
            return (f"site {site['name'] or site_id} is {km:.0f} km from {_KIND_WORDS.get(kind, kind + ' line')}; "
                    f"{item} needs {needed:.0f} km (Buffers)")
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
    crew = politics.crew_of(data).get((state, item), state)  # Crewing: another state's soldiers operate it
    if crew != state:
        record = data.states.loc[crew]
        if not record["eligible"]:
            return f"{item} of {state} is crewed by {crew}, which is not eligible (eligible=0)"
    who = state if crew == state else f"{crew} (its crews, Crewing)"
    if data.items.loc[item, "combat"] and not record["combat_allowed"]:
        return f"{item} is a combat unit and {who} has combat_allowed=0"
    if data.items.loc[item, "troops"] > record["max_troops"]:
        return f"one {item} needs {data.items.loc[item, 'troops']} troops; {who} sends at most {record['max_troops']}"
    return politics.straits_exclusion(data, state, item)


def political_exclusion(data: InputData, cands: Candidates, state: str, item: str, site_id: str) -> str | None:
    """Why the host or the transit countries refuse `item` of `state` at `site_id` (None: allowed)."""
    why = politics.consent_exclusion(data, state, item, site_id)
    if why or site_id in cands.abroad:
        return why
    usable = politics.usable_entries(data, state, item)
    if len(usable) == len(data.entry_points):
        return None
    entries = set(cands.routes.loc[cands.routes["site_id"] == site_id, "entry_id"])
    if entries and not entries & usable:
        refused = sorted({data.entry_points.at[e, "via_country"] for e in entries} - {""})
        return (f"every entry point within reach of {data.sites.at[site_id, 'name'] or site_id} crosses "
                f"{', '.join(refused)}, which refuses transit of {item} of {state} (Transit)")
    return None


def allowed_item_sites(data: InputData, front_km: pd.Series, reachable: frozenset,
                       line_km: pd.DataFrame | None = None) -> pd.DataFrame:
    """item x site booleans: the vectorised twin of `site_exclusion` (same rules, no words)."""
    items, sites = data.items, data.sites
    needed = np.asarray([buffer_km(data, k, "contact") for k in items.index], dtype=float)
    ok = front_km.to_numpy(float)[None, :] >= needed[:, None] - DISTANCE_TOLERANCE_KM
    for kind in (line_km.columns if line_km is not None else ()):
        if kind != "contact":
            needed = np.asarray([buffer_km(data, k, kind) for k in items.index], dtype=float)
            ok &= line_km[kind].to_numpy(float)[None, :] >= needed[:, None] - DISTANCE_TOLERANCE_KM
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
    with gc_paused():  # many objects, no cycles worth a full collection (files.gc_paused)
        return _build(data)


def _build(data: InputData) -> Candidates:
    sites, assets = data.sites, data.assets
    front_km = pd.Series(distance_to_polylines_km(sites["lat"], sites["lon"], data.frontline), index=sites.index)
    site_asset = pd.DataFrame(
        distance_matrix_km(sites["lat"], sites["lon"], assets["lat"], assets["lon"]),
        index=sites.index, columns=assets.index,
    )
    line_km = _site_line_km(data)
    abroad = politics.abroad(data)
    routes = compute_routes(data)
    routes = routes[routes["distance_km"] <= float(data.settings["max_route_km"]) + DISTANCE_TOLERANCE_KM]
    routes = routes[routes["site_id"].map(sites["deployable"]).astype(bool)]
    # a base abroad is supplied through its host's own network, not Ukraine's entry points;
    # an entry whose transit country refuses everyone is closed
    routes = routes[~routes["site_id"].isin(abroad) & ~routes["entry_id"].isin(politics.closed_entries(data))]
    routes = routes.reset_index(drop=True)
    reachable = frozenset(routes["site_id"]) | frozenset(s for s in abroad if sites.at[s, "deployable"])

    site_ok = allowed_item_sites(data, front_km, reachable, line_km)
    site_ids = np.asarray(sites.index)
    rows, signature = [], {}
    political = _has_politics(data, abroad)
    # only the host and transit checks need each site's entry points (a groupby-apply, ~5 ms)
    entries_of = routes.groupby("site_id")["entry_id"].apply(frozenset).to_dict() if political else {}
    for r in data.inventory.itertuples(index=False):
        if r.available <= 0 or state_exclusion(data, r.state, r.item) is not None:
            continue
        allowed = site_ids[site_ok.loc[r.item].to_numpy()]
        if political:
            refused = _refused_sites(data, r.state, r.item, allowed, abroad, entries_of)
            if refused:
                signature.setdefault(r.state, set()).update((r.item, s) for s in refused)
                allowed = [s for s in allowed if s not in set(refused)]
        rows.extend((r.state, r.item, s, int(r.available)) for s in allowed)
    placements = pd.DataFrame(rows, columns=["state", "item", "site_id", "available"])

    item_site_cover = _item_site_cover(data, site_asset, placements)
    worth = _worth(data)
    cover_options = _cover_options(data, item_site_cover, worth, site_asset)
    effect = {(k, c): e for k, effects in data.items["cap_effect"].items() for c, e in effects.items()} \
        if "cap_effect" in data.items else {}
    # the site x asset distance matrix is not kept: at 400 x 10,000 it is 32 MB that every
    # PlanResult (and every sweep result sent back by a worker) would otherwise carry
    return Candidates(front_km, routes, reachable, placements, item_site_cover, cover_options, worth,
                      effect, line_km, abroad, {n: frozenset(v) for n, v in signature.items()})


def _refused_sites(data: InputData, state: str, item: str, sites, abroad: frozenset, entries_of: dict) -> set:
    """The sites among `sites` the host or the transit countries refuse to `item` of `state`:
    the fast twin of `political_exclusion` (same rules, no words)."""
    usable = politics.usable_entries(data, state, item) if len(data.transit) else None
    refused, consent = set(), {}
    countries = data.sites["country"]
    for s in sites:
        if s in abroad:
            country = countries[s]
            if country not in consent:
                consent[country] = politics.consent_exclusion(data, state, item, s) is None
            if not consent[country]:
                refused.add(s)
        elif usable is not None and entries_of.get(s) and not entries_of[s] & usable:
            refused.add(s)
    return refused


def _has_politics(data: InputData, abroad: frozenset) -> bool:
    """Any per-state refusal to work out (bases abroad or transit rows)?"""
    return bool(abroad) or len(data.transit) > 0


def _site_line_km(data: InputData) -> pd.DataFrame:
    """site x kind of threat line: distance to the nearest line of that kind (Frontline kind)."""
    lines, sites = data.threat_lines, data.sites
    table = pd.DataFrame(index=sites.index)
    for kind, group in (lines.groupby("kind", sort=True) if len(lines) else ()):
        table[kind] = distance_to_polylines_km(sites["lat"], sites["lon"], group.drop(columns=["kind"]))
    return table


def placement_exclusion(data: InputData, cands: Candidates, state: str, item: str, site_id: str) -> str | None:
    """Every reason (state, item, site) is not an allowed placement, in planner's words (None: allowed)."""
    return (state_exclusion(data, state, item)
            or site_exclusion(data, item, site_id, cands.site_front_km[site_id], site_id in cands.reachable_sites,
                              cands.site_line_km.loc[site_id] if cands.site_line_km is not None else None)
            or political_exclusion(data, cands, state, item, site_id))


def _cover_options(data: InputData, item_site_cover: dict, worth: dict, site_asset: pd.DataFrame) -> dict:
    """(asset, capability) -> the (item, site) pairs that cover it, for cells worth something.
    A capability with its own range (AirDefenceRanges) covers only the assets within that range."""
    worth_caps: dict = {}
    for a, cap in worth:
        worth_caps.setdefault(cap, set()).add(a)
    options: dict = {}
    capabilities = data.items["capabilities"].to_dict()
    cap_radius = data.items["cap_radius"].to_dict() if "cap_radius" in data.items else {}
    matrix = site_asset.to_numpy()
    site_pos = {s: i for i, s in enumerate(site_asset.index.tolist())}  # tolist: no per-element boxing
    asset_pos = {a: i for i, a in enumerate(site_asset.columns.tolist())}
    for (item, s), covered in item_site_cover.items():
        pair = (item, s)
        for cap in capabilities[item]:
            valued = worth_caps.get(cap)
            if not valued:
                continue
            radius = cap_radius.get(item, {}).get(cap)
            within = covered
            if radius is not None:  # own range per threat: within the item's widest ring, nearer
                km = matrix[site_pos[s], [asset_pos[a] for a in covered]]
                within = tuple(a for a, d in zip(covered, km) if d <= radius + DISTANCE_TOLERANCE_KM)
            for a in within:
                if a in valued:
                    options.setdefault((a, cap), []).append(pair)
    return {key: tuple(value) for key, value in options.items()}


def _item_site_cover(data: InputData, site_asset: pd.DataFrame, placements: pd.DataFrame) -> dict:
    """For each (item, site) that has an allowed placement: the assets within the item's radius."""
    pairs = placements[["item", "site_id"]].drop_duplicates()
    matrix = site_asset.to_numpy()
    site_pos = {s: i for i, s in enumerate(site_asset.index.tolist())}
    asset_ids = np.asarray(site_asset.columns)
    radius_of = data.items["radius_km"].astype(float).to_dict()  # one lookup per item, not .loc per pair
    result = {}
    for item, s in zip(pairs["item"].tolist(), pairs["site_id"].tolist()):
        radius = radius_of[item]
        result[(item, s)] = tuple(asset_ids[matrix[site_pos[s]] <= radius + DISTANCE_TOLERANCE_KM])
    return result


def _worth(data: InputData) -> dict:
    """value_i * weight[category_i, c] for every (asset, capability) worth something."""
    weights = data.weights.groupby(["category", "capability"], as_index=False)["weight"].sum()
    assets = data.assets[data.assets["value"] > 0][["asset_id", "category", "value"]]
    cells = assets.merge(weights[weights["weight"] > 0], on="category")
    worth = cells["value"].to_numpy(float) * cells["weight"].to_numpy(float)
    # tolist(): zipping text Series directly boxes each element through pandas (~10 ms at 3,000 assets)
    return dict(zip(zip(cells["asset_id"].tolist(), cells["capability"].tolist()), worth.tolist()))
