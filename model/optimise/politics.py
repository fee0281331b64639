"""Who may stand where for political reasons: bases abroad (HostConsent), transit countries
(Transit, EntryPoints via_country) and the Turkish Straits (Montreux; items needs_straits).

Each rule is optional: with no HostConsent/Transit rows, every site in Ukraine and no straits
restriction, nothing here excludes anything. Every refusal has its reason in planner's words,
so the optimiser (candidates.build) and the scorer (placements' check) use the same rules.
"""

from __future__ import annotations

import pandas as pd

from cowopt.workbook.data import InputData

HOME_COUNTRY = "Ukraine"


def item_matches(data: InputData, item: str, kinds: str) -> bool:
    """Does `item` fall under a comma-separated list of item names, item kinds (unit,
    air_defence) or capabilities? A blank list matches every item."""
    tokens = [t.strip() for t in str(kinds or "").split(",") if t.strip()]
    if not tokens:
        return True
    kind, capabilities = data.items.at[item, "kind"], data.items.at[item, "capabilities"]
    return any(t == item or t == kind or t in capabilities for t in tokens)


def abroad(data: InputData) -> frozenset:
    """Sites outside Ukraine (Sites country)."""
    country = data.sites["country"] if "country" in data.sites else pd.Series(HOME_COUNTRY, index=data.sites.index)
    return frozenset(data.sites.index[(country.fillna("").replace("", HOME_COUNTRY) != HOME_COUNTRY).to_numpy()])


def _rows_for(table: pd.DataFrame, country: str, state: str) -> list:
    """The rows of a (country, state, allowed, item_kind) table that speak for this state:
    its own rows when it has any, else the rows for every state (*). Plain tuples: this runs
    once per (state, item, country), and DataFrame filtering cost 0.6 s on the threats example."""
    if table.empty:
        return []
    here = [r for r in zip(table["country"], table["state"], table["allowed"], table["item_kind"]) if r[0] == country]
    own = [r for r in here if r[1] == state]
    return own if own else [r for r in here if r[1] == "*"]


def consent_exclusion(data: InputData, state: str, item: str, site_id: str) -> str | None:
    """Why the host of a base abroad refuses `item` of `state` (None: allowed or in Ukraine)."""
    country = data.sites.at[site_id, "country"] if "country" in data.sites else HOME_COUNTRY
    if not country or country == HOME_COUNTRY:
        return None
    name = data.sites.at[site_id, "name"] or site_id
    rows = _rows_for(data.host_consent, country, state)
    if not rows:
        return f"site {name} is in {country}, and {country} has given {state} no consent (HostConsent)"
    if any(allowed and item_matches(data, item, kinds) for _, _, allowed, kinds in rows):
        return None
    return f"site {name} is in {country}, which does not let {state} base {item} there (HostConsent)"


def transit_refused(data: InputData, state: str, item: str, country: str) -> bool:
    """Does transit country `country` refuse `item` of `state`? Refusal rows (allowed=0) win
    over consent rows for the same items; a state's own rows replace the * rows."""
    if not country:
        return False
    rows = _rows_for(data.transit, country, state)
    return any(not allowed and item_matches(data, item, kinds) for _, _, allowed, kinds in rows)


def closed_entries(data: InputData) -> frozenset:
    """Entry points whose transit country refuses every state everything (a * row, all items,
    allowed=0, and no state-specific row): these are closed outright, throughput and all."""
    if data.transit.empty or "via_country" not in data.entry_points:
        return frozenset()
    closed = set()
    for e, country in data.entry_points["via_country"].items():
        rows = data.transit[data.transit["country"] == country] if country else data.transit.iloc[:0]
        if len(rows) and (rows["state"] == "*").all() and any(
                not r.allowed and not str(r.item_kind or "").strip() for r in rows.itertuples(index=False)):
            closed.add(e)
    return frozenset(closed)


def usable_entries(data: InputData, state: str, item: str) -> frozenset:
    """Entry points `state` may bring `item` through."""
    if "via_country" not in data.entry_points:
        return frozenset(data.entry_points.index)
    return frozenset(e for e, v in data.entry_points["via_country"].items() if not transit_refused(data, state, item, v))


def straits_exclusion(data: InputData, state: str, item: str) -> str | None:
    """A warship from outside the Black Sea while the Straits are closed (Montreux, Art. 19)."""
    if "needs_straits" not in data.items or not data.items.at[item, "needs_straits"]:
        return None
    if int(data.settings.get("straits_open", 1)) or int(data.states.at[state, "black_sea"]):
        return None
    return (f"{item} must pass the Turkish Straits, which are closed to warships (straits_open=0), "
            f"and {state} is not a Black Sea state")


def crew_of(data: InputData) -> dict:
    """(state, item) -> the state whose soldiers operate it (Crewing); absent: the state itself."""
    if data.crewing.empty:
        return {}
    return {(n, k): c for n, k, c in zip(data.crewing["state"], data.crewing["item"], data.crewing["crew_state"])}
