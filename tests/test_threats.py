"""Issue 15 on hand-worked tiny instances: threat classes, threat-line buffers, bases abroad,
transit and straits, funding. Each sheet is optional; the example without them is checked
in test_optimum (7666.75)."""

from __future__ import annotations

import pandas as pd
import pytest

from cowopt import api
from cowopt.optimise import candidates
from cowopt.workbook.data import from_tables
from support import tiny


def _patriot_tables(ranges: bool) -> dict:
    """One Patriot battery (160 km, ballistic_capable) for Aland and nothing else. Sites S1 47.0N,
    S2 48.0N (S3 is inside the 50 km buffer). Assets: A1 47.1N (energy, 100), A2 48.1N (city, 80),
    A4 47.5N (city, 10); A3 (port) is worth nothing here."""
    t = tiny()
    t["AirDefenceTypes"] = {"ad_type": ["patriot"], "range_km": [160], "crew": [100], "cost_meur": [300],
                            "ballistic_capable": [1], "min_frontline_km": [50]}
    t["Inventory"] = {"state": ["Aland"], "item": ["patriot"], "available": [1]}
    t["CapabilityWeights"] = {"category": ["energy", "city", "city"],
                              "capability": ["ballistic_defence", "ballistic_defence", "cruise_defence"],
                              "weight": [1.0, 1.0, 0.5]}
    if ranges:
        t["Threats"] = {"threat": ["ballistic", "cruise"]}
        t["AirDefenceRanges"] = {"ad_type": ["patriot", "patriot"], "threat": ["ballistic", "cruise"],
                                 "range_km": [40, 160]}
    return t


def test_shorthand_keeps_one_range_for_ballistic_defence():
    # S1: A1 11 km, A4 56 km, A2 122 km all within 160 km: 100 + 10 + 80 = 190 (cruise needs ranges)
    result = api.solve(from_tables(_patriot_tables(ranges=False)))
    assert result.score.objective == pytest.approx(190.0)


def test_a_40_km_ballistic_ring_removes_a_far_assets_credit():
    data = from_tables(_patriot_tables(ranges=True))
    cands = candidates.build(data)
    assert set(data.items.at["patriot", "capabilities"]) == {"ballistic_defence", "cruise_defence"}
    assert cands.cover_options[("A1", "ballistic_defence")] == (("patriot", "S1"),)  # 11 km
    assert ("A4", "ballistic_defence") not in cands.cover_options  # 56 km from S1, 56 km from S2: beyond 40
    # S1: ballistic A1 100; cruise A4 5 + A2 40 -> 145. S2: ballistic A2 80; cruise A2 40 + A4 5 -> 125.
    result = api.solve(data)
    assert result.score.objective == pytest.approx(145.0)
    assert list(result.score.deployments["site_id"]) == ["S1"]
    cov = result.score.coverage.set_index(["asset_id", "capability"])
    assert cov.at[("A4", "ballistic_defence"), "contribution"] == 0.0
    assert cov.at[("A4", "cruise_defence"), "contribution"] == pytest.approx(5.0)


def test_effect_makes_weighted_layers():
    """A post with effect 0.5 fills half a layer: 1 post 50, 2 posts 100, 3 posts 100 + 0.5 x 0.5 x 100."""
    t = _patriot_tables(ranges=True)
    t["AirDefenceTypes"] = {"ad_type": ["post"], "range_km": [20], "crew": [10], "cost_meur": [5],
                            "ballistic_capable": [0], "min_frontline_km": [50]}
    t["AirDefenceRanges"] = {"ad_type": ["post"], "threat": ["cruise"], "range_km": [20], "effect": [0.5]}
    t["CapabilityWeights"] = {"category": ["energy"], "capability": ["cruise_defence"], "weight": [1.0]}
    t["Inventory"] = {"state": ["Aland"], "item": ["post"], "available": [3]}
    data = from_tables(t)
    for count, expected in ((1, 50.0), (2, 100.0), (3, 125.0)):
        plan = pd.DataFrame({"state": ["Aland"], "item": ["post"], "site_id": ["S1"], "count": [count]})
        assert api.evaluate(data, plan).score.objective == pytest.approx(expected)
    solved = api.solve(data)  # the optimiser agrees with the scorer (self-check) and buys all three
    assert solved.score.objective == pytest.approx(125.0)


# --------------------------------------------------------------------------- threat lines


def _border_tables(buffers: bool) -> dict:
    """Tiny, plus a border line at 48.3N: North (S2, 48.0N) is 33 km from it, 222 km from the front."""
    t = tiny()
    t["Frontline"] = {"line_id": ["F", "F", "B", "B"], "seq": [1, 2, 1, 2], "lat": [46.0, 46.0, 48.3, 48.3],
                      "lon": [29.5, 30.5, 29.5, 30.5], "kind": ["contact", "contact", "border", "border"]}
    if buffers:
        t["Buffers"] = {"line_kind": ["border"], "item": [""], "min_km": [50]}
    return t


def test_a_border_buffer_excludes_a_site_the_contact_line_alone_allowed():
    def sites_of(t):
        cands = candidates.build(from_tables(t))
        return set(cands.placements.loc[cands.placements["item"] == "hospital", "site_id"])

    assert sites_of(_border_tables(buffers=False)) == {"S1", "S2"}  # S3 is 33 km from the front
    assert sites_of(_border_tables(buffers=True)) == {"S1"}
    data = from_tables(_border_tables(buffers=True))
    assert data.frontline["line_id"].unique().tolist() == ["F"]  # the contact line keeps its role
    why = candidates.placement_exclusion(data, candidates.build(data), "Borduria", "hospital", "S2")
    assert why == "site North is 33 km from a hostile border; hospital needs 50 km (Buffers)"
    plan = pd.DataFrame({"state": ["Borduria"], "item": ["hospital"], "site_id": ["S2"], "count": [1]})
    assert [v.kind for v in api.evaluate(data, plan).score.violations] == ["placement"]


def test_a_contact_buffer_row_replaces_frontline_buffer_km():
    t = tiny()
    t["Buffers"] = {"line_kind": ["contact", "contact"], "item": ["unit", "sam"], "min_km": [150, 20]}
    cands = candidates.build(from_tables(t))
    sites = cands.placements.groupby("item")["site_id"].apply(set).to_dict()
    assert sites["hospital"] == {"S2"}  # S1 is 111 km < 150
    assert sites["sam"] == {"S1", "S2"}  # 20 km, but the sam's own min_frontline_km 50 still holds (S3: 33 km)


def test_wrong_kinds_are_reported_by_cell_all_at_once():
    from cowopt.errors import InputError

    t = _border_tables(buffers=True)
    t["Frontline"]["kind"][2] = "boarder"
    t["Buffers"] = {"line_kind": ["border", "lake"], "item": ["tank", ""], "min_km": [50, 10]}
    with pytest.raises(InputError) as caught:
        from_tables(t)
    found = {(p.sheet, p.cell) for p in caught.value.problems}
    assert found == {("Frontline", "E4"), ("Buffers", "B2"), ("Buffers", "A3")}
