"""A written plan proves itself: every figure and constraint recomputed from the files alone.

For the tiny fixture and the shipped example, cowopt solves and writes plan.xlsx; this test
then reads plan.xlsx with openpyxl and the input workbook with pandas (never cowopt.load) and
recomputes coverage, troops, inventory, money, entry flows and placement rules with its own
arithmetic and its own great-circle geometry. Finally `cowopt.evaluate` must score the
written plan exactly as the optimiser did.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from support import haversine_km, segment_km

import cowopt

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"
EXAMPLE_TIME_LIMIT_S = 20  # the example may stop at the limit (FEASIBLE): the plan must still be right


# --------------------------------------------------------------------------- own geometry




def front_km(lat: float, lon: float, frontline: pd.DataFrame) -> float:
    best = math.inf
    for _, line in frontline.sort_values(["line_id", "seq"]).groupby("line_id"):
        points = list(zip(line["lat"], line["lon"]))
        pairs = list(itertools.pairwise(points)) or [(points[0], points[0])]
        best = min([best] + [segment_km((lat, lon), a, b) for a, b in pairs])
    return best


# --------------------------------------------------------------------------- reading files directly


def read_inputs(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet as text-safe objects; numbers converted where the test needs them."""
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine", dtype=object, keep_default_na=False)
    return {name: frame for name, frame in sheets.items()}


def settings_of(inputs: dict) -> dict:
    table = inputs["Settings"]
    settings = {"mission_troops_min": 0, "frontline_buffer_km": 0.0, "coverage_level_weights": "1",
                "route_circuity": 1.3, "max_route_km": 2000.0, "transport_cost_eur_per_troop_km": 0.0,
                "require_core_lead": 0}
    settings.update({str(k).strip(): v for k, v in zip(table["key"], table["value"]) if v != ""})
    return settings


def items_of(inputs: dict) -> pd.DataFrame:
    rows = []
    for r in inputs["UnitTypes"].itertuples(index=False):
        rows.append({"item": r.unit_type, "caps": {c.strip() for c in str(r.capability).split(",")}, "troops": int(r.troops),
                         "cost_meur": float(r.cost_meur), "combat": _flag(r.combat), "radius_km": float(r.radius_km),
                         "min_frontline_km": float(r.min_frontline_km or 0), "needs_airfield": _flag(r.needs_airfield),
                         "needs_port": _flag(r.needs_port)})
    for r in inputs["AirDefenceTypes"].itertuples(index=False):
        caps = {"air_defence", "ballistic_defence"} if _flag(r.ballistic_capable) else {"air_defence"}
        rows.append({"item": r.ad_type, "caps": caps, "troops": int(r.crew), "cost_meur": float(r.cost_meur), "combat": 0,
                         "radius_km": float(r.range_km), "min_frontline_km": float(r.min_frontline_km or 0),
                         "needs_airfield": 0, "needs_port": 0})
    return pd.DataFrame(rows).set_index("item")


def _flag(value) -> int:
    return 0 if value in ("", None) else int(float(value))


def read_plan(path: Path) -> dict:
    """plan.xlsx as {sheet: DataFrame} (header row 1) plus 'Summary' as {figure: value} (header row 3)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheets = {}
    for name in book.sheetnames:
        rows = list(book[name].iter_rows(values_only=True))
        if name == "Summary":
            assert rows[2][:2] == ("figure", "value")
            sheets[name] = {r[0]: r[1] for r in rows[3:] if r[0] is not None}
            continue
        header = list(rows[0])
        width = header.index(None) if None in header else len(header)  # a note may sit right of the table
        sheets[name] = pd.DataFrame([r[:width] for r in rows[1:]], columns=header[:width])
    book.close()
    return sheets


# --------------------------------------------------------------------------- the plans under test


class Case:
    """One solved, written plan and the raw files it came from."""

    def __init__(self, input_path: Path, out_dir: Path, time_limit_s: float | None):
        self.input_path = input_path
        self.result = cowopt.solve(cowopt.load(input_path), time_limit_s=time_limit_s)
        assert self.result.status in (cowopt.Status.OPTIMAL, cowopt.Status.FEASIBLE), self.result.detail
        self.plan_path = cowopt.write_plan(self.result, out_dir)
        self.plan = read_plan(self.plan_path)
        self.inputs = read_inputs(input_path)
        self.settings = settings_of(self.inputs)
        self.items = items_of(self.inputs)
        self.sites = self.inputs["Sites"].set_index("site_id")
        self.states = self.inputs["States"].set_index("state")
        self.deployments = self.plan["Deployments"]


@pytest.fixture(scope="module", params=["tiny", "example"])
def case(request, tmp_path_factory) -> Case:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "example":
        return Case(EXAMPLE, folder / "run", EXAMPLE_TIME_LIMIT_S)
    path = folder / "tiny.xlsx"
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for sheet, columns in _tiny_tables().items():
            pd.DataFrame(columns).to_excel(writer, sheet_name=sheet, index=False)
    return Case(path, folder / "run", None)


def _tiny_tables() -> dict:
    """conftest's TINY tables (loaded by path: tests is no package and the fixture is per test),
    with a rule, a core-lead demand and transport cost added so every check has something to bite on."""
    spec = importlib.util.spec_from_file_location("_tiny_source", Path(__file__).with_name("conftest.py"))
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    tables = copy.deepcopy(source.TINY)
    tables["Rules"] = {"rule_id": ["HOSP2"], "state": [""], "item": [""], "capability": ["medical"], "site_id": [""],
                       "region": [""], "min_count": [2], "max_count": [""], "hard": [1]}
    settings = tables["Settings"]
    settings["value"][settings["key"].index("transport_cost_eur_per_troop_km")] = 100
    settings["value"][settings["key"].index("require_core_lead")] = 1
    return tables


# --------------------------------------------------------------------------- the checks


def test_deployment_rows_carry_their_own_troops_and_cost(case):
    d = case.deployments
    assert len(d) > 0 and (d["count"] > 0).all()
    assert list(d["troops"]) == [c * case.items.at[k, "troops"] for k, c in zip(d["item"], d["count"])]
    assert list(d["cost_meur"]) == pytest.approx([c * case.items.at[k, "cost_meur"] for k, c in zip(d["item"], d["count"])])


def recompute_coverage(case: Case) -> dict:
    """(asset, capability) -> (cover_count, contribution), from the input and Deployments only."""
    levels = [float(w) for w in str(case.settings["coverage_level_weights"]).split(",")]
    weights = {(r.category, r.capability): float(r.weight) for r in case.inputs["CapabilityWeights"].itertuples(index=False)}
    units = [(float(case.sites.at[r.site_id, "lat"]), float(case.sites.at[r.site_id, "lon"]), case.items.at[r.item, "caps"],
              case.items.at[r.item, "radius_km"], int(r.count)) for r in case.deployments.itertuples(index=False)]
    cells = {}
    for asset in case.inputs["Infrastructure"].itertuples(index=False):
        near = [(caps, count) for lat, lon, caps, radius, count in units
                if haversine_km(lat, lon, float(asset.lat), float(asset.lon)) <= radius]  # inclusive
        for (category, cap), weight in weights.items():
            if category != asset.category or weight <= 0 or float(asset.value) <= 0:
                continue
            n = sum(count for caps, count in near if cap in caps)
            cells[(asset.asset_id, cap)] = (n, float(asset.value) * weight * sum(levels[:n]))
    return cells


def test_coverage_recomputed_from_the_files(case):
    mine = recompute_coverage(case)
    sheet = case.plan["Coverage"]
    theirs = {(a, c): (n, v) for a, c, n, v in zip(sheet["asset_id"], sheet["capability"], sheet["cover_count"], sheet["contribution"])}
    assert set(theirs) == set(mine)
    assert {k: n for k, (n, _) in theirs.items()} == {k: n for k, (n, _) in mine.items()}
    for key, (_, value) in mine.items():
        assert theirs[key][1] == pytest.approx(value, abs=1e-9), key
    objective = sum(v for _, v in mine.values())
    assert objective > 0
    assert sum(sheet["contribution"]) == pytest.approx(objective, abs=1e-6)
    assert case.plan["Summary"]["objective (weighted coverage)"] == pytest.approx(objective, abs=5e-4)  # shown to 3 dp
    assert case.result.score.objective == pytest.approx(objective, abs=1e-6)


def test_troops_within_state_caps_site_capacities_and_mission_size(case):
    d = case.deployments
    by_state, by_site = d.groupby("state")["troops"].sum(), d.groupby("site_id")["troops"].sum()
    for state, troops in by_state.items():
        assert troops <= int(case.states.at[state, "max_troops"]), state
    for site, troops in by_site.items():
        assert troops <= int(case.sites.at[site, "capacity_troops"]), site
    total = int(d["troops"].sum())
    assert int(case.settings["mission_troops_min"] or 0) <= total <= int(case.settings["mission_troops_max"])
    assert case.plan["Summary"]["troops"] == total
    states_sheet = case.plan["States"].set_index("state")["troops"]
    assert states_sheet.to_dict() == {s: int(by_state.get(s, 0)) for s in case.states.index}
    sites_sheet = case.plan["Sites"].set_index("site_id")["troops"]
    assert sites_sheet.to_dict() == {s: int(by_site.get(s, 0)) for s in case.sites.index}


def test_inventory_respected(case):
    available = {(r.state, r.item): int(r.available) for r in case.inputs["Inventory"].itertuples(index=False)}
    for (state, item), count in case.deployments.groupby(["state", "item"])["count"].sum().items():
        assert count <= available.get((state, item), 0), (state, item)


def route_km(case: Case, entry_id: str, site_id: str) -> float:
    routes = case.inputs.get("Routes")
    if routes is not None and len(routes):
        given = routes[(routes["entry_id"] == entry_id) & (routes["site_id"] == site_id)]
        if len(given):
            return float(given["distance_km"].iloc[0])
    entry = case.inputs["EntryPoints"].set_index("entry_id").loc[entry_id]
    site = case.sites.loc[site_id]
    return haversine_km(entry["lat"], entry["lon"], site["lat"], site["lon"]) * float(case.settings["route_circuity"])


def test_entry_flows_bring_every_soldier_through_an_allowed_route(case):
    flows = case.plan["Logistics"]
    for e, s, km in zip(flows["entry_id"], flows["site_id"], flows["distance_km"]):
        assert km == pytest.approx(route_km(case, e, s), abs=1e-6)
        assert km <= float(case.settings["max_route_km"]) + 1e-9
    into_site = flows.groupby("site_id")["troops"].sum()
    per_site = flows.groupby("site_id").size()
    for site, troops in case.deployments.groupby("site_id")["troops"].sum().items():
        # flows are written rounded to whole troops: at most half a soldier per row
        assert abs(into_site.get(site, 0) - troops) <= 0.5 * per_site.get(site, 0), site
    entries = case.inputs["EntryPoints"].set_index("entry_id")["throughput_troops"]
    for entry, troops in flows.groupby("entry_id")["troops"].sum().items():
        assert troops <= int(entries[entry]) + 0.5 * int((flows["entry_id"] == entry).sum()), entry


def test_cost_within_budget(case):
    d, flows = case.deployments, case.plan["Logistics"]
    units = sum(c * case.items.at[k, "cost_meur"] for k, c in zip(d["item"], d["count"]))
    rate = float(case.settings["transport_cost_eur_per_troop_km"]) / 1e6
    for e, s, t, km, cost in zip(flows["entry_id"], flows["site_id"], flows["troops"], flows["distance_km"], flows["cost_meur"]):
        assert cost == pytest.approx(rate * t * route_km(case, e, s), rel=1e-9, abs=1e-12)
    transport = float(flows["cost_meur"].sum()) if len(flows) else 0.0
    if rate > 0:
        assert transport > 0  # the transport really is charged
    budget = float(case.settings["budget_meur"])
    assert units + transport <= budget + 1e-6
    assert case.plan["Summary"]["cost_meur"] == pytest.approx(units + transport, abs=1e-6)
    assert case.plan["Summary"]["budget_meur"] == pytest.approx(budget)


def test_every_deployment_is_allowed_where_it_stands(case):
    buffer = float(case.settings["frontline_buffer_km"])
    frontline = case.inputs["Frontline"].astype({"lat": float, "lon": float})
    for r in case.deployments.itertuples(index=False):
        site, spec, state = case.sites.loc[r.site_id], case.items.loc[r.item], case.states.loc[r.state]
        assert _flag(site["deployable"]) == 1, r
        assert _flag(state["eligible"]) == 1, r
        assert not spec["combat"] or _flag(state["combat_allowed"]) == 1, r
        assert not spec["needs_airfield"] or _flag(site["has_airfield"]) == 1, r
        assert not spec["needs_port"] or _flag(site["has_port"]) == 1, r
        needed = max(buffer, spec["min_frontline_km"])
        assert front_km(float(site["lat"]), float(site["lon"]), frontline) >= needed - 1e-6, r


def test_hard_rules_hold_and_counts_match_the_rules_sheet(case):
    rules = case.inputs.get("Rules")
    if rules is None or not len(rules):
        pytest.skip("no Rules sheet")
    sheet = case.plan["Rules"].set_index("rule_id")
    for rule in rules.itertuples(index=False):
        count = sum(int(r.count) for r in case.deployments.itertuples(index=False) if _matches(case, rule, r))
        assert sheet.at[rule.rule_id, "count"] == count, rule.rule_id
        lo, hi = rule.min_count, rule.max_count
        met = (lo == "" or count >= int(lo)) and (hi == "" or count <= int(hi))
        assert sheet.at[rule.rule_id, "status"] == ("met" if met else "UNMET"), rule.rule_id
        if _flag(rule.hard) == 1 or rule.hard == "":
            assert met, rule.rule_id


def _matches(case: Case, rule, row) -> bool:
    region = case.sites.at[row.site_id, "region"]
    for want, have in ((rule.state, row.state), (rule.item, row.item), (rule.site_id, row.site_id), (rule.region, region)):
        if want != "" and want != have:
            return False
    return rule.capability == "" or rule.capability in case.items.at[row.item, "caps"]


def test_core_lead_at_every_used_site(case):
    if not _flag(case.settings["require_core_lead"]):
        pytest.skip("require_core_lead is 0")
    core = {s for s, r in case.states.iterrows() if _flag(r["core"]) == 1}
    for site, states in case.deployments.groupby("site_id")["state"]:
        assert core & set(states), site


def test_evaluate_scores_the_written_plan_as_the_optimiser_did(case):
    evaluation = cowopt.evaluate(cowopt.load(case.input_path), case.plan_path)
    assert evaluation.score.violations == []
    assert evaluation.status == cowopt.Status.OPTIMAL
    assert evaluation.score.objective == pytest.approx(case.result.score.objective, abs=1e-9)
    assert evaluation.score.troops == case.result.score.troops
    assert evaluation.score.unit_cost_meur == pytest.approx(case.result.score.unit_cost_meur)
    # the scorer routes troops at least as cheaply as the optimiser's flows
    assert evaluation.score.transport_cost_meur <= case.result.score.transport_cost_meur + 1e-6
