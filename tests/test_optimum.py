"""cowopt reaches the true optimum: brute-force enumeration of every plan on tiny instances.

The enumerator below reads the same tables the test hands to cowopt and re-implements the
brief's rules itself: its own haversine, its own point-to-polyline distance (bearing and
cross-track formulas, not cowopt's vector method), its own entry transport check. It shares
no code with cowopt's candidates, model or scorer. Each variant of the tiny fixture makes one
constraint bind; its relaxation must score strictly higher, so a model that ignored the
constraint fails. Objectives compared are weighted coverage minus soft-rule penalties.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from support import EARTH_RADIUS_KM, haversine_km, segment_km

import cowopt
from cowopt.geometry import distance_to_polylines_km

TOLERANCE = 1e-6
MAX_PLANS = 100_000  # keeps every enumeration well under a second


# --------------------------------------------------------------------------- geometry




def front_km(lat: float, lon: float, frontline: list[dict]) -> float:
    lines = defaultdict(list)
    for r in sorted(frontline, key=lambda r: (r["line_id"], r["seq"])):
        lines[r["line_id"]].append((r["lat"], r["lon"]))
    best = math.inf
    for points in lines.values():
        pairs = list(itertools.pairwise(points)) or [(points[0], points[0])]
        best = min([best] + [segment_km((lat, lon), a, b) for a, b in pairs])
    return best


# --------------------------------------------------------------------------- brute force

DEFAULTS = {"mission_troops_min": 0, "frontline_buffer_km": 0.0, "coverage_level_weights": "1",
            "route_circuity": 1.3, "max_route_km": 2000.0, "transport_cost_eur_per_troop_km": 0.0,
            "require_core_lead": 0, "soft_rule_penalty": 100.0}


def rows(tables: dict, sheet: str) -> list[dict]:
    table = tables.get(sheet) or {}
    if not table:
        return []
    size = len(next(iter(table.values())))
    return [{k: v[i] for k, v in table.items()} for i in range(size)]


def blank(value) -> bool:
    return value is None or value == ""


class World:
    """The instance as plain dicts, with every distance the rules need."""

    def __init__(self, tables: dict):
        self.settings = DEFAULTS | dict(zip(tables["Settings"]["key"], tables["Settings"]["value"]))
        self.levels = [float(w) for w in str(self.settings["coverage_level_weights"]).split(",")]
        self.states = {r["state"]: r for r in rows(tables, "States")}
        self.items = _items(tables)
        self.sites = {r["site_id"]: r for r in rows(tables, "Sites")}
        self.assets = rows(tables, "Infrastructure")
        self.weights = {(r["category"], r["capability"]): float(r["weight"]) for r in rows(tables, "CapabilityWeights")}
        self.entries = {r["entry_id"]: r for r in rows(tables, "EntryPoints")}
        self.rules = rows(tables, "Rules")
        self.inventory = rows(tables, "Inventory")
        frontline = rows(tables, "Frontline")
        self.front = {s: front_km(r["lat"], r["lon"], frontline) for s, r in self.sites.items()}
        self.dist = {(s, a["asset_id"]): haversine_km(r["lat"], r["lon"], a["lat"], a["lon"])
                     for s, r in self.sites.items() for a in self.assets}
        self.routes = self._routes(rows(tables, "Routes"))

    def _routes(self, given: list[dict]) -> dict:
        """(entry, site) -> km for the routes within max_route_km."""
        km = {(e, s): haversine_km(er["lat"], er["lon"], sr["lat"], sr["lon"]) * float(self.settings["route_circuity"])
              for e, er in self.entries.items() for s, sr in self.sites.items()}
        km.update({(r["entry_id"], r["site_id"]): float(r["distance_km"]) for r in given})
        return {k: d for k, d in km.items() if d <= float(self.settings["max_route_km"])}

    def allowed(self, state: str, item: str, site: str) -> bool:
        """Placement rules: eligibility, combat, deployable, frontline distance, airfield/port."""
        n, k, s = self.states[state], self.items[item], self.sites[site]
        needed = max(k["min_frontline_km"], float(self.settings["frontline_buffer_km"]))
        return bool(n["eligible"] and (n["combat_allowed"] or not k["combat"]) and s["deployable"]
                    and self.front[site] >= needed and (s["has_airfield"] or not k["needs_airfield"])
                    and (s["has_port"] or not k["needs_port"]))

    def value(self, plan: dict) -> float | None:
        """Coverage minus soft-rule penalties of a plan {(state, item, site): count}, None if infeasible."""
        by_state, by_site, cost = defaultdict(int), defaultdict(int), 0.0
        for (n, k, s), count in plan.items():
            by_state[n] += self.items[k]["troops"] * count
            by_site[s] += self.items[k]["troops"] * count
            cost += self.items[k]["cost_meur"] * count
        total = sum(by_state.values())
        if any(t > self.states[n]["max_troops"] for n, t in by_state.items()):
            return None
        if not int(self.settings["mission_troops_min"]) <= total <= int(self.settings["mission_troops_max"]):
            return None
        if any(t > self.sites[s]["capacity_troops"] for s, t in by_site.items()):
            return None
        transport = self.transport_meur(by_site)
        if transport is None or cost + transport > float(self.settings["budget_meur"]) + 1e-9:
            return None
        if self.settings["require_core_lead"] and not self._core_led(plan):
            return None
        penalty = self.rule_penalty(plan)
        return None if penalty is None else self.coverage(plan) - penalty

    def _core_led(self, plan: dict) -> bool:
        used = {s for (_, _, s), c in plan.items() if c > 0}
        led = {s for (n, _, s), c in plan.items() if c > 0 and self.states[n]["core"]}
        return used <= led

    def rule_penalty(self, plan: dict) -> float | None:
        """Total soft-rule penalty, or None when a hard rule fails."""
        total = 0.0
        for rule in self.rules:
            count = sum(c for (n, k, s), c in plan.items() if self._matches(rule, n, k, s))
            short = max(0, int(rule["min_count"]) - count) if not blank(rule.get("min_count")) else 0
            excess = max(0, count - int(rule["max_count"])) if not blank(rule.get("max_count")) else 0
            hard = True if blank(rule.get("hard")) else bool(rule["hard"])
            if hard and (short or excess):
                return None
            if not hard:
                own = rule.get("penalty")
                total += (float(self.settings["soft_rule_penalty"]) if blank(own) else float(own)) * (short + excess)
        return total

    def _matches(self, rule: dict, n: str, k: str, s: str) -> bool:
        checks = (("state", n), ("item", k), ("site_id", s), ("region", self.sites[s]["region"]))
        if any(not blank(rule.get(col)) and rule[col] != have for col, have in checks):
            return False
        return blank(rule.get("capability")) or rule["capability"] in self.items[k]["caps"]

    def coverage(self, plan: dict) -> float:
        """Sum over (asset, capability) of value * weight * (lw_1 + ... + lw_min(n, L))."""
        total = 0.0
        for asset in self.assets:
            for (category, cap), weight in self.weights.items():
                if category != asset["category"] or weight <= 0:
                    continue
                n = sum(c for (_, k, s), c in plan.items()
                        if cap in self.items[k]["caps"] and self.dist[(s, asset["asset_id"])] <= self.items[k]["radius_km"])
                total += float(asset["value"]) * weight * sum(self.levels[:n])
        return total

    def transport_meur(self, by_site: dict) -> float | None:
        """Cheapest entry flows for the troops at each site (one or two entry points), None if impossible."""
        rate = float(self.settings["transport_cost_eur_per_troop_km"]) / 1e6
        demand = {s: t for s, t in by_site.items() if t > 0}
        entries = list(self.entries)
        if len(entries) == 1:
            (e,) = entries
            if any((e, s) not in self.routes for s in demand) or sum(demand.values()) > self.entries[e]["throughput_troops"]:
                return None
            return rate * sum(self.routes[(e, s)] * t for s, t in demand.items())
        assert len(entries) == 2, "the brute force handles one or two entry points"
        return self._two_entries(demand, rate, *entries)

    def _two_entries(self, demand: dict, rate: float, e1: str, e2: str) -> float | None:
        """Start every flexible soldier at e2, then move the cheapest ones to e1 as needed/profitable."""
        forced1 = forced2 = flexible = 0
        cost, moves = 0.0, []
        for s, t in demand.items():
            r1, r2 = (e1, s) in self.routes, (e2, s) in self.routes
            if not (r1 or r2):
                return None
            if r1 and not r2:
                forced1, cost = forced1 + t, cost + t * self.routes[(e1, s)]
            elif r2 and not r1:
                forced2, cost = forced2 + t, cost + t * self.routes[(e2, s)]
            else:
                flexible, cost = flexible + t, cost + t * self.routes[(e2, s)]
                moves.append((self.routes[(e1, s)] - self.routes[(e2, s)], t))
        lo = max(0, forced2 + flexible - self.entries[e2]["throughput_troops"])
        hi = min(flexible, self.entries[e1]["throughput_troops"] - forced1)
        if lo > hi:
            return None
        moved = 0
        for marginal, t in sorted(moves):
            step = min(t, max(lo - moved, hi - moved if marginal < 0 else 0))
            cost, moved = cost + marginal * step, moved + step
        return rate * cost


def _items(tables: dict) -> dict:
    items = {}
    for r in rows(tables, "UnitTypes"):
        items[r["unit_type"]] = {"caps": {c.strip() for c in str(r["capability"]).split(",")}, "troops": int(r["troops"]),
                                     "cost_meur": float(r["cost_meur"]), "combat": int(r["combat"]), "radius_km": float(r["radius_km"]),
                                     "min_frontline_km": float(r["min_frontline_km"]), "needs_airfield": int(r["needs_airfield"]),
                                     "needs_port": int(r["needs_port"])}
    for r in rows(tables, "AirDefenceTypes"):
        caps = {"air_defence", "ballistic_defence"} if r["ballistic_capable"] else {"air_defence"}
        items[r["ad_type"]] = {"caps": caps, "troops": int(r["crew"]), "cost_meur": float(r["cost_meur"]), "combat": 0,
                                   "radius_km": float(r["range_km"]), "min_frontline_km": float(r["min_frontline_km"]),
                                   "needs_airfield": 0, "needs_port": 0}
    return items


def splits(places: int, most: int) -> list[tuple]:
    """Every way to put at most `most` units on `places` sites."""
    return [c for c in itertools.product(range(most + 1), repeat=places) if sum(c) <= most]


def brute_force(tables: dict) -> float | None:
    """Best coverage minus soft penalties over every plan within inventory; None if none is feasible."""
    world = World(tables)
    groups = []
    for r in world.inventory:
        sites = [s for s in world.sites if world.allowed(r["state"], r["item"], s)]
        if r["available"] > 0 and sites:
            groups.append((r["state"], r["item"], sites, splits(len(sites), int(r["available"]))))
    assert math.prod(len(g[3]) for g in groups) <= MAX_PLANS, "instance too large to enumerate"
    best = None
    for choice in itertools.product(*(g[3] for g in groups)):
        plan = {(n, k, s): c for (n, k, sites, _), split in zip(groups, choice) for s, c in zip(sites, split) if c}
        value = world.value(plan)
        if value is not None and (best is None or value > best + 1e-12):
            best = value
    return best


# --------------------------------------------------------------------------- helpers


def solve(tables: dict) -> cowopt.PlanResult:
    return cowopt.solve(cowopt.from_tables(copy.deepcopy(tables)))


def optimum(tables: dict) -> float:
    """cowopt's optimal coverage minus soft penalties. The plan must be proven optimal, clean by
    cowopt's scorer, and allowed and worth the same by the brute force's own rules."""
    result = solve(tables)
    assert result.status == cowopt.Status.OPTIMAL, (result.status, result.detail, result.diagnosis)
    assert result.score.violations == []
    value = result.score.objective - result.score.rule_penalty
    world = World(tables)
    plan = {(r.state, r.item, r.site_id): int(r.count) for r in result.score.deployments.itertuples(index=False)}
    assert all(world.allowed(*key) for key in plan), plan
    assert world.value(plan) == pytest.approx(value, abs=TOLERANCE), plan
    return value


def setting(tables: dict, key: str, value) -> None:
    settings = tables["Settings"]
    if key in settings["key"]:
        settings["value"][settings["key"].index(key)] = value
    else:
        settings["key"].append(key)
        settings["value"].append(value)


def cell(tables: dict, sheet: str, key: str, column: str, value) -> None:
    """Set `column` of the row whose first column equals `key`."""
    table = tables[sheet]
    first = next(iter(table))
    table[column][table[first].index(key)] = value


RULE_COLUMNS = ("rule_id", "state", "item", "capability", "site_id", "region", "min_count", "max_count", "hard", "penalty")


def rule(tables: dict, rule_id: str, *, min_count=None, max_count=None, hard=1, penalty=None, **match) -> None:
    rules = tables.setdefault("Rules", {c: [] for c in RULE_COLUMNS})
    values = dict(rule_id=rule_id, min_count=min_count, max_count=max_count, hard=hard, penalty=penalty, **match)
    for column in RULE_COLUMNS:
        rules[column].append(values.get(column))


def variant(base: dict, *changes) -> dict:
    tables = copy.deepcopy(base)
    for change in changes:
        change(tables)
    return tables


# --------------------------------------------------------------------------- the tiny fixture


def test_tiny_optimum_worked_by_hand(tiny_tables):
    """247.5, by hand. Sites: S1 111 km and S2 222 km from the contact line; S3 (33 km) is inside
    the 50 km buffer. Air defence (sam, 50 km) at S1 covers A1 (11 km away, energy 100 x 1) = 100;
    the other sam at S2 covers A2 (11 km, city 80 x 1) = 80. Both hospitals (60 km) at S2 cover
    A2 (medical 0.5 x 80 x (1 + 0.5) = 60) and A4 (55.6 km; 0.5 x 10 x 1.5 = 7.5). Cost
    300 + 300 + 2 x 50 = 700 <= 1000; the battalions earn nothing (no weight for ground_security).
    A3 (port, 60) would need a sam at S3. A second sam on A1 (50) loses A2 (80)."""
    assert brute_force(tiny_tables) == pytest.approx(247.5, abs=TOLERANCE)
    result = solve(tiny_tables)
    assert result.status == cowopt.Status.OPTIMAL
    assert result.score.objective == pytest.approx(247.5, abs=TOLERANCE)
    assert result.score.cost_meur == pytest.approx(700.0)  # the cost tie-break leaves the battalions home


def test_own_geometry_matches_the_hand_figures(tiny_tables):
    """The brute force's distances: 1 degree of latitude is 6371.0088 * pi / 180 km."""
    degree = EARTH_RADIUS_KM * math.pi / 180
    world = World(tiny_tables)
    assert world.dist[("S2", "A4")] == pytest.approx(0.5 * degree)
    # the contact line bulges north of 46N between its end points (a great circle), so S3 is a little nearer
    assert 0.29 * degree < world.front["S3"] < 0.3 * degree
    # and agree with cowopt's vector method to a metre
    theirs = distance_to_polylines_km([47.0, 46.3], [30.0, 30.0], pd.DataFrame(tiny_tables["Frontline"]))
    assert [world.front["S1"], world.front["S3"]] == pytest.approx(list(theirs), abs=1e-3)


# Each case: constrained changes, relaxed changes, hand-worked optimum of each (relaxed > constrained).
def _two_sams_at_aland(t):
    t["Inventory"]["available"][1] = 2  # the second Inventory row: Aland's sam


def _sam_min_front(km):
    return lambda t: cell(t, "AirDefenceTypes", "sam", "min_frontline_km", km)


def _battalions_to_borduria(t):
    t["Inventory"]["state"][0] = "Borduria"
    t["CapabilityWeights"]["category"].append("city")
    t["CapabilityWeights"]["capability"].append("ground_security")
    t["CapabilityWeights"]["weight"].append(0.5)


def _s(key, value):
    return lambda t: setting(t, key, value)


def _c(sheet, key, column, value):
    return lambda t: cell(t, sheet, key, column, value)


def _r(rule_id, **kwargs):
    return lambda t: rule(t, rule_id, **kwargs)


def _second_entry(e1_throughput, e2_to_s1_km):
    """E2 at 48.5N beside S2; the Routes row sets its distance to S1 (max_route_km is 2000)."""
    def change(t):
        t["EntryPoints"] = {"entry_id": ["E1", "E2"], "name": ["Gate", "South gate"], "lat": [50.0, 48.5],
                            "lon": [30.0, 30.0], "throughput_troops": [e1_throughput, 5000]}
        t["Routes"] = {"entry_id": ["E2"], "site_id": ["S1"], "distance_km": [e2_to_s1_km]}
    return change


CASES = {
    # buffer 50 keeps sams out of S3 (33 km) where A3 (port 60) is; the third sam then only
    # backs up A1 (+50): 100 + 50 + 80 + 67.5 = 297.5; buffer 20 lets it cover A3: 307.5
    "frontline_buffer": ([_two_sams_at_aland, _sam_min_front(0), _s("frontline_buffer_km", 50)],
                         [_two_sams_at_aland, _sam_min_front(0), _s("frontline_buffer_km", 20)], 297.5, 307.5),
    # the item's own min_frontline_km (50) wins over a smaller buffer (20): max of the two
    "item_min_frontline": ([_two_sams_at_aland, _sam_min_front(50), _s("frontline_buffer_km", 20)],
                           [_two_sams_at_aland, _sam_min_front(0), _s("frontline_buffer_km", 20)], 297.5, 307.5),
    # S2 holds 400: sam + 1 hospital there, the other hospital at S1 (A4 only): 180 + 40 + 7.5
    "site_capacity": ([_c("Sites", "S2", "capacity_troops", 400)], [], 227.5, 247.5),
    # Borduria (sam 100 + hospitals 200 each) capped at 300: one hospital: 180 + 40 + 5
    "state_cap": ([_c("States", "Borduria", "max_troops", 300)], [], 225.0, 247.5),
    # 650 M EUR: two sams and one hospital
    "budget": ([_s("budget_meur", 650)], [], 225.0, 247.5),
    # 3000 EUR/troop-km: the plan's 100 x 333.6 + 500 x 222.4 troop-km cost 433.7 on top of 700;
    # dropping a hospital (650 + 300.2) fits. At 2000 EUR/troop-km (289.1) the full plan fits.
    "transport_cost": ([_s("transport_cost_eur_per_troop_km", 3000)],
                       [_s("transport_cost_eur_per_troop_km", 2000)], 225.0, 247.5),
    # 500 troops through E1: two sams (200) + one hospital (200)
    "entry_throughput": ([_c("EntryPoints", "E1", "throughput_troops", 500)], [], 225.0, 247.5),
    # E1 passes 50 (less than a sam crew) and E2's route to S1 (2500 km) exceeds max_route_km:
    # S1 gets nothing, all at S2: A2 air defence 80 + 40, medical 67.5
    "route_limit": ([_second_entry(50, 2500)], [_second_entry(50, 1500)], 187.5, 247.5),
    "two_entry_throughput": ([_second_entry(50, 2500)], [_second_entry(5000, 2500)], 187.5, 247.5),
    # two hospitals forced to S1, where they reach A4 only: 180 + 7.5
    "hard_rule_min": ([_r("HOSP_S1", capability="medical", site_id="S1", min_count=2)], [], 187.5, 247.5),
    # Borduria banned from S2: its sam and hospitals at S1, Aland's sam at S2: 100 + 80 + 7.5
    "hard_rule_ban": ([_r("NO_B_S2", state="Borduria", site_id="S2", max_count=0)], [], 187.5, 247.5),
    "hard_rule_max": ([_r("ONE_MED", capability="medical", max_count=1)], [], 225.0, 247.5),
    "hard_rule_region": ([_r("NO_R1", region="R1", max_count=0)], [], 187.5, 247.5),
    # one level: the second hospital on A2/A4 earns nothing: 180 + 40 + 5
    "layered_coverage": ([_s("coverage_level_weights", "1")], [_s("coverage_level_weights", "1,0.5")], 225.0, 247.5),
    # budget 750 and at least 1100 troops: two battalions (1000 troops, 200) + one sam + two hospitals
    # (sam at S1): 100 + 60 + 7.5; without the minimum the usual plan (700) fits
    "mission_min": ([_s("budget_meur", 750), _s("mission_troops_min", 1100)], [_s("budget_meur", 750)], 167.5, 247.5),
    "mission_max": ([_s("mission_troops_max", 500)], [], 225.0, 247.5),
    # budget 700 and every used site needs an Aland unit: everything at S2 (no money for a
    # battalion at S1): 80 + 40 + 67.5
    "core_lead": ([_s("budget_meur", 700), _s("require_core_lead", 1)], [_s("budget_meur", 700)], 187.5, 247.5),
    # Borduria holds the (combat) battalions, worth city ground_security 0.5: at S2 they add
    # A2 80 x 0.5 x 1.5 + A4 10 x 0.5 x 1.5 = 67.5, but only if Borduria may send combat units
    "combat_restriction": ([_battalions_to_borduria], [_battalions_to_borduria, _c("States", "Borduria", "combat_allowed", 1)],
                           247.5, 315.0),
    # hospitals only where there is an airfield (S1): A4 medical 7.5 only
    "needs_airfield": ([_c("UnitTypes", "hospital", "needs_airfield", 1)], [], 187.5, 247.5),
    "needs_port": ([_c("UnitTypes", "hospital", "needs_port", 1)],
                   [_c("UnitTypes", "hospital", "needs_port", 1), _c("Sites", "S2", "has_port", 1)], 180.0, 247.5),
    "eligibility": ([_c("States", "Borduria", "eligible", 0)], [], 100.0, 247.5),
    # S1 entry/transit only: both sams at S2: 80 + 40 + 67.5
    "not_deployable": ([_c("Sites", "S1", "deployable", 0)], [], 187.5, 247.5),
    "inventory": ([_c("Inventory", "Borduria", "available", 1)], [], 225.0, 247.5),  # Borduria's first row: hospital
}


@pytest.mark.parametrize("name", list(CASES))
def test_binding_constraint_changes_the_optimum(tiny_tables, name):
    constrained_changes, relaxed_changes, constrained, relaxed = CASES[name]
    tight, loose = variant(tiny_tables, *constrained_changes), variant(tiny_tables, *relaxed_changes)
    assert relaxed > constrained
    assert brute_force(tight) == pytest.approx(constrained, abs=TOLERANCE)
    assert brute_force(loose) == pytest.approx(relaxed, abs=TOLERANCE)
    assert optimum(tight) == pytest.approx(constrained, abs=TOLERANCE)
    assert optimum(loose) == pytest.approx(relaxed, abs=TOLERANCE)


# --------------------------------------------------------------------------- rules and infeasibility


@pytest.mark.parametrize("penalty, kept", [(30.0, True), (70.0, False)])
def test_soft_rule_trades_coverage_against_its_penalty(tiny_tables, penalty, kept):
    """A soft ban on air defence at S1: keeping the sam there earns 100 instead of a backup
    layer at S2 (40), i.e. 60 more; worth breaking the rule at penalty 30, not at 70."""
    tables = variant(tiny_tables, _r("NO_AD_S1", capability="air_defence", site_id="S1", max_count=0, hard=0, penalty=penalty))
    net = 247.5 - penalty if kept else 187.5
    assert brute_force(tables) == pytest.approx(net, abs=TOLERANCE)
    result = solve(tables)
    assert result.status == cowopt.Status.OPTIMAL
    assert result.score.objective - result.score.rule_penalty == pytest.approx(net, abs=TOLERANCE)
    row = result.score.rules.set_index("rule_id").loc["NO_AD_S1"]
    assert (row["status"], row["excess"], row["penalty"]) == (("UNMET", 1, penalty) if kept else ("met", 0, 0.0))


def test_soft_rule_that_cannot_be_met_is_reported_with_its_penalty(tiny_tables):
    tables = variant(tiny_tables, _r("THREE_SAMS", item="sam", min_count=3, hard=0, penalty=10))
    assert brute_force(tables) == pytest.approx(247.5 - 10, abs=TOLERANCE)
    result = solve(tables)
    assert result.status == cowopt.Status.OPTIMAL
    assert result.score.objective == pytest.approx(247.5, abs=TOLERANCE)
    assert result.score.rule_penalty == pytest.approx(10.0)
    row = result.score.rules.set_index("rule_id").loc["THREE_SAMS"]
    assert (row["status"], row["count"], row["shortfall"], row["penalty"]) == ("UNMET", 2, 1, 10.0)
    assert result.summary()["unmet_rules"] == ["THREE_SAMS"]


@pytest.mark.parametrize("changes, named", [
    # only two sams exist
    ([_r("THREE_SAMS", item="sam", min_count=3)], "THREE_SAMS"),
    # the caps allow Aland 500 + Borduria 300 = 800 troops
    ([_c("States", "Aland", "max_troops", 500), _c("States", "Borduria", "max_troops", 300),
      _s("mission_troops_min", 1000)], "mission_troops_min"),
    # each rule alone is possible; together they are not (found by the solver, not the precheck)
    ([_r("TWO_AD_S1", capability="air_defence", site_id="S1", min_count=2),
      _r("NO_B_S1", state="Borduria", site_id="S1", max_count=0)], "rule"),
])
def test_infeasible_instance_is_diagnosed(tiny_tables, changes, named):
    tables = variant(tiny_tables, *changes)
    assert brute_force(tables) is None
    result = solve(tables)
    assert result.status == cowopt.Status.INFEASIBLE
    assert result.score is None
    assert result.diagnosis and any(named in reason for reason in result.diagnosis), result.diagnosis


# --------------------------------------------------------------------------- random instances


def random_instance(base: dict, seed: int) -> dict:
    """A random variant of the tiny fixture that stays small enough to enumerate (<= ~20k plans)."""
    rng = np.random.default_rng(seed)
    t = copy.deepcopy(base)
    t["Inventory"]["available"] = [int(rng.integers(0, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 3)), 1]
    t["Infrastructure"]["lat"] = [round(lat + rng.uniform(-0.3, 0.3), 3) for lat in t["Infrastructure"]["lat"]]
    t["Infrastructure"]["lon"] = [round(lon + rng.uniform(-0.3, 0.3), 3) for lon in t["Infrastructure"]["lon"]]
    t["CapabilityWeights"]["category"] += ["city", "energy"]
    t["CapabilityWeights"]["capability"] += ["ground_security", "medical"]
    t["CapabilityWeights"]["weight"] += [float(rng.choice([0.0, 0.3, 1.0])), float(rng.choice([0.0, 0.2]))]
    t["States"]["max_troops"] = [int(v) for v in rng.choice([300, 600, 1200, 3000], size=2)]
    t["States"]["combat_allowed"] = [int(v) for v in rng.integers(0, 2, size=2)]
    t["Sites"]["capacity_troops"] = [int(v) for v in rng.choice([300, 700, 2000], size=3)]
    t["Sites"]["has_airfield"] = [int(v) for v in rng.integers(0, 2, size=3)]
    t["UnitTypes"]["needs_airfield"] = [0, int(rng.integers(0, 2))]
    t["UnitTypes"]["radius_km"] = [float(v) for v in rng.choice([20.0, 60.0, 120.0], size=2)]
    t["AirDefenceTypes"]["range_km"] = [float(rng.choice([30.0, 50.0, 150.0]))]
    for key, choices in (("budget_meur", [500, 800, 1000, 1500]), ("frontline_buffer_km", [0, 20, 50]),
                         ("coverage_level_weights", ["1", "1,0.5", "1,0.6,0.3"]), ("require_core_lead", [0, 0, 1]),
                         ("transport_cost_eur_per_troop_km", [0, 500, 2500]), ("mission_troops_min", [0, 0, 0, 300])):
        setting(t, key, rng.choice(choices).item())
    cell(t, "EntryPoints", "E1", "throughput_troops", int(rng.choice([400, 800, 5000])))
    if rng.random() < 0.5:
        rule(t, "R", capability=str(rng.choice(["medical", "air_defence"])), site_id=str(rng.choice(["S1", "S2"])),
             min_count=int(rng.integers(0, 2)), hard=int(rng.integers(0, 2)), penalty=30)
    return t


@pytest.mark.parametrize("seed", range(20))
def test_random_instance_matches_brute_force(tiny_tables, seed):
    tables = random_instance(tiny_tables, seed)
    best = brute_force(tables)
    if best is None:
        result = solve(tables)
        assert result.status == cowopt.Status.INFEASIBLE and result.diagnosis
        return
    assert optimum(tables) == pytest.approx(best, abs=TOLERANCE)


# --------------------------------------------------------------------------- known bugs

EMPTY_PLAN_BUG = ("BUG model/evaluate.py _check_rows: `plan[known]` with known == [] (a plan of no rows) selects "
                  "columns, not rows, so scoring an empty plan raises KeyError '_allowed'")


def test_deploying_nothing_can_be_the_optimum(tiny_tables):
    """With no money every unit costs too much: the empty plan is optimal (coverage 0), not a crash."""
    tables = variant(tiny_tables, _s("budget_meur", 0))
    assert brute_force(tables) == 0.0
    result = solve(tables)
    assert result.status == cowopt.Status.OPTIMAL
    assert result.score.objective == 0.0 and result.score.deployments.empty


def test_evaluating_an_empty_plan_scores_zero(tiny_tables):
    data = cowopt.from_tables(copy.deepcopy(tiny_tables))
    result = cowopt.evaluate(data, pd.DataFrame({"state": [], "item": [], "site_id": [], "count": []}))
    assert result.score.objective == 0.0 and result.score.violations == []


def test_no_allowed_placement_gives_the_empty_plan(tiny_tables):
    tables = variant(tiny_tables, lambda t: t["Inventory"].update(available=[0, 0, 0, 0]))
    assert brute_force(tables) == 0.0
    result = solve(tables)
    assert result.status == cowopt.Status.OPTIMAL, (result.status, result.detail)
    assert result.score.objective == 0.0


# --------------------------------------------------------------------------- threads


def test_any_thread_count_after_any_earlier_run_reaches_the_optimum(tiny_tables):
    """HiGHS sizes one thread scheduler per process at its first run; asking another explicit
    count later used to fail ("error", "Not Set"). Here the first run takes 2 threads, as the
    default does on a 4-core machine, and the sweep's old fixed threads=1 follows it."""
    import highspy

    first = highspy.Highs()
    first.setOptionValue("output_flag", False)
    first.setOptionValue("threads", 2)
    first.run()
    tight = variant(tiny_tables, _c("States", "Borduria", "eligible", 0))
    expected = {"tiny": brute_force(tiny_tables), "tight": brute_force(tight)}
    assert expected == pytest.approx({"tiny": 247.5, "tight": 100.0}, abs=TOLERANCE)
    for threads in (1, 2, None, 1):  # 2 = HiGHS's parallel tree search
        for name, tables in (("tiny", tiny_tables), ("tight", tight)):
            result = cowopt.solve(cowopt.from_tables(copy.deepcopy(tables)), threads=threads)
            assert result.status == cowopt.Status.OPTIMAL, (threads, name, result.detail)
            assert result.score.objective == pytest.approx(expected[name], abs=TOLERANCE), (threads, name)
