"""Issue 15 on hand-worked tiny instances: threat classes, threat-line buffers, bases abroad,
transit and straits, funding. Each sheet is optional; the example without them is checked
in test_hostile_outputs (base 7666.75)."""

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


# --------------------------------------------------------------------------- bases abroad


def _polish_base_tables(consent: bool) -> dict:
    """A fighter squadron (air_policing, 150 km, needs an airfield) for Aland; the only airfield is
    Rzeszów (S4, Poland, 49.5N). Lviv (A5, 50.0N, 56 km away) is worth 50 of air policing. The
    entry point passes 100 troops: the 300-strong squadron abroad needs none of it."""
    t = tiny()
    t["Sites"] = {key: list(values) for key, values in t["Sites"].items()}
    for key, value in (("site_id", "S4"), ("name", "Rzeszow"), ("region", "PL"), ("lat", 49.5), ("lon", 30.0),
                       ("capacity_troops", 2000), ("has_airfield", 1), ("has_port", 0), ("deployable", 1)):
        t["Sites"][key].append(value)
    t["Sites"]["has_airfield"][0] = 0
    t["Sites"]["country"] = ["Ukraine", "", "Ukraine", "Poland"]
    t["UnitTypes"] = {"unit_type": ["fighters"], "capability": ["air_policing"], "troops": [300], "cost_meur": [200],
                      "combat": [0], "radius_km": [150], "min_frontline_km": [0], "needs_airfield": [1], "needs_port": [0]}
    t["Infrastructure"] = {"asset_id": ["A5"], "name": ["Lviv"], "category": ["city"], "lat": [50.0], "lon": [30.0],
                           "value": [50]}
    t["CapabilityWeights"] = {"category": ["city"], "capability": ["air_policing"], "weight": [1.0]}
    t["Inventory"] = {"state": ["Aland"], "item": ["fighters"], "available": [1]}
    t["EntryPoints"]["throughput_troops"] = [100]
    if consent:
        t["HostConsent"] = {"country": ["Poland"], "state": ["Aland"], "allowed": [1], "item_kind": ["air_policing"]}
    return t


def test_a_fighter_squadron_at_a_polish_base_covers_lviv_only_with_consent():
    without = api.solve(from_tables(_polish_base_tables(consent=False)))
    assert without.score is None or without.score.objective == 0.0
    data = from_tables(_polish_base_tables(consent=True))
    result = api.solve(data)
    assert result.score.objective == pytest.approx(50.0)
    assert list(zip(result.score.deployments["site_id"], result.score.deployments["count"])) == [("S4", 1)]
    assert result.score.transport_cost_meur == 0.0 and result.score.violations == []
    # the same plan without consent is refused by the scorer, with the host named
    plan = pd.DataFrame({"state": ["Aland"], "item": ["fighters"], "site_id": ["S4"], "count": [1]})
    refused = api.evaluate(from_tables(_polish_base_tables(consent=False)), plan).score.violations
    assert [v.kind for v in refused] == ["placement"]
    assert "Poland has given Aland no consent (HostConsent)" in refused[0].message


def test_a_host_may_allow_some_item_kinds_only():
    t = _polish_base_tables(consent=True)
    t["HostConsent"]["item_kind"] = ["air_defence"]
    cands = candidates.build(from_tables(t))
    assert cands.placements.empty


# --------------------------------------------------------------------------- transit and straits


def _flotilla_tables(straits_open: int) -> dict:
    """A mine-countermeasures flotilla (needs a port and the Straits) from Aland (outside the Black
    Sea) and from Borduria (black_sea=1); the only port is North (S2)."""
    t = tiny()
    t["States"]["black_sea"] = [0, 1]
    t["UnitTypes"] = {"unit_type": ["flotilla"], "capability": ["mine_countermeasures"], "troops": [200],
                      "cost_meur": [100], "combat": [0], "radius_km": [60], "min_frontline_km": [0],
                      "needs_airfield": [0], "needs_port": [1], "needs_straits": [1]}
    t["Sites"]["has_port"] = [0, 1, 0]
    t["Inventory"] = {"state": ["Aland", "Borduria"], "item": ["flotilla", "flotilla"], "available": [1, 1]}
    t["CapabilityWeights"] = {"category": ["city"], "capability": ["mine_countermeasures"], "weight": [1.0]}
    t["Settings"]["key"].append("straits_open")
    t["Settings"]["value"].append(straits_open)
    return t


def test_a_flotilla_from_outside_the_black_sea_is_refused_while_the_straits_are_closed():
    closed = from_tables(_flotilla_tables(straits_open=0))
    assert set(candidates.build(closed).placements["state"]) == {"Borduria"}
    assert candidates.state_exclusion(closed, "Aland", "flotilla") == (
        "flotilla must pass the Turkish Straits, which are closed to warships (straits_open=0), "
        "and Aland is not a Black Sea state")
    plan = pd.DataFrame({"state": ["Aland"], "item": ["flotilla"], "site_id": ["S2"], "count": [1]})
    assert [v.kind for v in api.evaluate(closed, plan).score.violations] == ["placement"]
    opened = from_tables(_flotilla_tables(straits_open=1))
    assert set(candidates.build(opened).placements["state"]) == {"Aland", "Borduria"}


def test_a_transit_ban_closes_an_entry_point_or_refuses_one_state():
    t = tiny()
    t["EntryPoints"] = {"entry_id": ["E1", "E2"], "name": ["Gate", "Chop"], "lat": [50.0, 48.5], "lon": [30.0, 30.0],
                        "throughput_troops": [5000, 5000], "via_country": ["", "Hungary"]}
    t["Transit"] = {"country": ["Hungary"], "state": ["*"], "allowed": [0], "item_kind": [""]}
    cands = candidates.build(from_tables(t))
    assert set(cands.routes["entry_id"]) == {"E1"}  # closed outright: exact, throughput and all
    # a refusal for one state: a site reached only through Hungary is refused to that state
    t["EntryPoints"]["via_country"] = ["Hungary", "Hungary"]
    t["Transit"] = {"country": ["Hungary"], "state": ["Aland"], "allowed": [0], "item_kind": ["battalion"]}
    data = from_tables(t)
    cands = candidates.build(data)
    assert "Aland" not in set(cands.placements.loc[cands.placements["item"] == "battalion", "state"])
    assert "sam" in set(cands.placements.loc[cands.placements["state"] == "Aland", "item"])
    assert "crosses Hungary, which refuses transit of battalion of Aland" in candidates.placement_exclusion(
        data, cands, "Aland", "battalion", "S1")


# --------------------------------------------------------------------------- funding


def test_funding_raises_coverage_exactly_as_the_same_budget_would():
    low = tiny()
    low["Settings"]["value"][0] = 300
    funded = tiny()
    funded["Settings"]["value"][0] = 300
    funded["Funding"] = {"state": ["Borduria"], "meur": [300]}
    high = tiny()
    high["Settings"]["value"][0] = 600
    at_300, with_funding, at_600 = (api.solve(from_tables(t)).score for t in (low, funded, high))
    assert with_funding.objective == pytest.approx(at_600.objective)
    assert with_funding.objective > at_300.objective
    assert with_funding.budget_meur == 600.0


# --------------------------------------------------------------------------- the shipped threats example


def test_the_threats_example_solves_with_the_politics_in_force():
    from conftest import ROOT

    result = api.solve(ROOT / "inputs" / "example_threats.xlsx")
    assert result.status == api.Status.OPTIMAL
    assert result.score.objective == pytest.approx(7022.05, abs=0.01)
    assert result.score.violations == []
    dep = result.score.deployments
    # Montreux: the only flotilla comes from a Black Sea state
    assert set(dep.loc[dep["item"] == "demining_flotilla", "state"]) == {"Turkiye"}
    # Hungary's ban closes Chop - Zahony; the bases abroad hold only what their hosts allow
    assert "E04" not in set(result.candidates.routes["entry_id"])
    assert set(dep.loc[dep["site_id"].isin(["X01", "X02"]), "item"]) <= {"air_policing_sqn", "patriot", "samp_t",
                                                                          "nasams", "iris_t_slm", "logistics_battalion"}
    # Kharkiv and Sumy (34 km from Russia) and Chernihiv (47 km from Belarus) are inside the 50 km
    # border buffer; the base example used Chernihiv and Sumy
    assert not dep["site_id"].isin(["S04", "S12", "S13"]).any()


def test_the_map_names_a_base_abroad_with_its_host_and_draws_border_lines(tmp_path):
    from cowopt.report import plots

    result = api.solve(from_tables(_polish_base_tables(consent=True)))
    assert plots._site_table(result).at["S4", "name"] == "Rzeszow (Poland)"
    border = api.solve(from_tables(_border_tables(buffers=True)))
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    plots._draw_frontline(ax, border.data)
    assert sorted(line.get_linestyle() for line in ax.get_lines()) == ["-", "--"]  # border dashed, front solid
    assert plots.draw_map(border, tmp_path / "map.png", dpi=40).stat().st_size > 0


def test_the_states_table_shows_each_states_money():
    t = tiny()
    t["Funding"] = {"state": ["Borduria"], "meur": [250.5]}
    score = api.solve(from_tables(t)).score
    money = score.states.set_index("state")["funding_meur"]
    assert money.to_dict() == {"Aland": 0.0, "Borduria": 250.5}


def test_axis_presence_puts_a_unit_near_the_line_and_the_scorer_counts_it():
    """Two hospitals (Borduria), budget 100. Free: both at North (S2): City 40 + Town 5, then a second
    layer 22.5 -> 67.5. 'One hospital within 120 km of F' leaves only Middle (S1, 111 km): North 45 +
    Town's second layer from Middle 2.5 -> 47.5."""
    t = tiny()
    t["Settings"]["value"][0] = 100
    t["Inventory"] = {"state": ["Borduria"], "item": ["hospital"], "available": [2]}
    assert api.solve(from_tables(t)).score.objective == pytest.approx(67.5)
    t["AxisPresence"] = {"rule_id": ["FRONT1"], "line_id": ["F"], "within_km": [120], "min_count": [1],
                         "item": ["medical"]}
    data = from_tables(t)
    result = api.solve(data)
    assert result.score.objective == pytest.approx(47.5)
    assert sorted(result.score.deployments["site_id"]) == ["S1", "S2"]
    plan = pd.DataFrame({"state": ["Borduria"], "item": ["hospital"], "site_id": ["S2"], "count": [2]})
    assert [v.message for v in api.evaluate(data, plan).score.violations] == [
        "axis presence FRONT1: 0 matching units within 120 km of line F; needs at least 1"]
    t["AxisPresence"]["within_km"] = [100]  # no allowed site that near: found before solving
    assert api.solve(from_tables(t)).status == api.Status.INFEASIBLE


def test_the_plans_sites_sheet_says_a_site_is_empty_because_of_a_border():
    from cowopt.report.plan import sites_with_status

    table = sites_with_status(api.solve(from_tables(_border_tables(buffers=True)))).set_index("site_id")
    assert "33 km from a hostile border" in table.at["S2", "why"]


def test_a_max_share_bounds_what_one_state_carries():
    """Free optimum 247.5: Aland's sam at Middle (Plant 100), Borduria's sam and 2 hospitals at North
    (City 80 + hospitals 45 + 22.5). With Aland's max_share 0.3 and Borduria giving 100 M EUR, Aland's
    sam (300 of 800) is too much: Borduria's sam moves to Middle (100) and the hospitals stay (67.5)."""
    t = tiny()
    t["States"]["max_share"] = [0.3, None]
    t["Funding"] = {"state": ["Borduria"], "meur": [100]}
    data = from_tables(t)
    score = api.solve(data).score
    assert score.objective == pytest.approx(167.5)
    assert set(score.deployments["state"]) == {"Borduria"} and score.violations == []
    plan = pd.DataFrame({"state": ["Aland", "Borduria"], "item": ["sam", "hospital"], "site_id": ["S1", "S2"],
                         "count": [1, 1]})  # Aland 300 of 300 + 50 + 100 = 66.7 %
    assert [v.message for v in api.evaluate(data, plan).score.violations] == [
        "Aland carries 66.7% of the cost (300.0 of 450.0 M EUR); max_share is 30.0%"]


def _crewing_tables(aland_troops: int, crewing: bool) -> dict:
    """Two sams (50 km): Aland's and one Cadonia gives (Cadonia sends no troops). One sam earns 100
    (Plant from Middle), two earn 180 (City from North too)."""
    t = tiny()
    t["States"] = {"state": ["Aland", "Cadonia"], "core": [1, 0], "eligible": [1, 1],
                   "max_troops": [aland_troops, 0], "combat_allowed": [1, 0]}
    t["Inventory"] = {"state": ["Aland", "Cadonia"], "item": ["sam", "sam"], "available": [1, 1]}
    if crewing:
        t["Crewing"] = {"state": ["Cadonia"], "item": ["sam"], "crew_state": ["Aland"]}
    return t


def test_crewless_items_are_operated_by_another_states_crews_within_its_cap():
    assert api.solve(from_tables(_crewing_tables(200, crewing=False))).score.objective == pytest.approx(100.0)
    crewed = api.solve(from_tables(_crewing_tables(200, crewing=True))).score
    assert crewed.objective == pytest.approx(180.0)
    assert sorted(crewed.deployments["state"]) == ["Aland", "Cadonia"]
    tight = from_tables(_crewing_tables(100, crewing=True))
    assert api.solve(tight).score.objective == pytest.approx(100.0)  # Aland's 100 troops crew one sam only
    plan = pd.DataFrame({"state": ["Aland", "Cadonia"], "item": ["sam", "sam"], "site_id": ["S1", "S2"],
                         "count": [1, 1]})
    assert [v.message for v in api.evaluate(tight, plan).score.violations] == [
        "Aland sends 200 troops; its cap is 100"]


def test_bad_cells_of_the_new_sheets_are_all_reported_by_cell():
    from cowopt.errors import InputError

    t = _patriot_tables(ranges=True)
    t["AirDefenceRanges"]["threat"][1] = "hypersonic"
    t["HostConsent"] = {"country": ["Poland"], "state": ["Nowhere"], "allowed": [3], "item_kind": ["tanks"]}
    t["Funding"] = {"state": ["Aland"], "meur": [-5]}
    with pytest.raises(InputError) as caught:
        from_tables(t)
    found = {(p.sheet, p.cell): p.message for p in caught.value.problems}
    assert found[("AirDefenceRanges", "B3")] == "threat 'hypersonic' is not a threat (Threats sheet) listed in the workbook"
    assert set(found) == {("AirDefenceRanges", "B3"), ("HostConsent", "B2"), ("HostConsent", "C2"),
                          ("HostConsent", "D2"), ("Funding", "B2")}


def test_the_legend_gives_a_patriots_shorter_ranges_per_threat():
    from cowopt.report.maplayout import _threat_ranges

    assert _threat_ranges(from_tables(_patriot_tables(ranges=True)), "patriot") == ", dotted 40 km"
    assert _threat_ranges(from_tables(_patriot_tables(ranges=False)), "patriot") == ""
