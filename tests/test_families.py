"""Each constraint family's rows, check and relaxation agree (issue 13).

On the tiny instance (tests/conftest.py) a family's limit is made to bind; then
- its rows: the solver's optimum respects the limit (read back from the scorer's tables),
- its check: a hand-written plan that exceeds the limit by one unit is flagged with the
  family's message and the Sheet!Cell of the row that breaks it,
- its relaxation: an instance that cannot meet the limit is diagnosed by naming it, with the
  amount it must give way by.

Tiny, worked by hand: S1 (47.0N, airfield) and S2 (48.0N) are allowed, S3 is 33 km from the
contact line (buffer 50 km). Aland (core) holds 2 battalions (500 troops, 100 M EUR) and 1 sam
(crew 100, 300 M EUR); Borduria 2 hospitals (200 troops, 50 M EUR) and 1 sam. Unconstrained
optimum 247.5: a sam at S1 and at S2, both hospitals at S2 (or S1), 600 troops, 700 M EUR.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest

import cowopt
from cowopt.optimise import candidates
from cowopt.optimise import diagnose
from cowopt.optimise import families
from cowopt.scoring.evaluate import score
from cowopt.optimise.families import Family, PlanFacts, Slack, Violation
from cowopt.optimise.formulation import build_model
from cowopt.optimise.greedy import greedy_start

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def data_of(tables: dict, rules: list | None = None, **settings) -> cowopt.InputData:
    tables = copy.deepcopy(tables)
    if rules:
        columns = ("rule_id", "state", "item", "capability", "site_id", "region", "min_count", "max_count", "hard")
        tables["Rules"] = {c: [r.get(c) for r in rules] for c in columns}
    return cowopt.from_tables(tables).with_settings(**settings)


def set_cell(tables: dict, sheet: str, key: str, column: str, value) -> dict:
    tables = copy.deepcopy(tables)
    sheet_columns = tables[sheet]
    row = sheet_columns[next(iter(sheet_columns))].index(key)
    sheet_columns[column][row] = value
    return tables


def check(data, rows: list[tuple]) -> list[Violation]:
    """Score a plan given as (state, item, site, count) rows at Deployments!A2, A3, ..."""
    plan = pd.DataFrame(rows, columns=["state", "item", "site_id", "count"])
    plan["cell_ref"] = [f"Deployments!A{i + 2}" for i in range(len(rows))]
    return score(data, candidates.build(data), plan).violations


def kinds(violations) -> list[str]:
    return [v.kind for v in violations]


def optimum(data) -> cowopt.PlanResult:
    result = cowopt.solve(data)
    assert result.status == cowopt.Status.OPTIMAL, (result.status, result.diagnosis)
    assert result.score.violations == []
    return result


def diagnosis(data) -> list[str]:
    result = cowopt.solve(data)
    assert result.status == cowopt.Status.INFEASIBLE, result.status
    return result.diagnosis


HOSPITALS_AT_S2 = {"rule_id": "TWO_HOSP", "state": "Borduria", "item": "hospital", "site_id": "S2",
                   "min_count": 2, "hard": 1}


class TestInventory:
    def test_rows_bound_w_by_what_a_state_holds(self, tiny_tables):
        data = data_of(tiny_tables)
        model, _ = build_model(data, candidates.build(data))
        assert {key: model.w[key].ub for key in model.w} == {
            ("Aland", "battalion"): 2, ("Aland", "sam"): 1, ("Borduria", "hospital"): 2, ("Borduria", "sam"): 1}

    def test_check_flags_one_unit_more_than_held_at_its_first_row(self, tiny_tables):
        data = data_of(tiny_tables)
        found = check(data, [("Aland", "sam", "S1", 1), ("Aland", "sam", "S2", 1)])
        assert [(v.kind, v.message, v.cell) for v in found] == [
            ("inventory", "Aland has 1 sam but 2 are deployed", "Deployments!A2")]


class TestPlacements:
    def test_rows_have_no_unit_at_a_site_inside_the_buffer(self, tiny_tables):
        data = data_of(tiny_tables)
        model, _ = build_model(data, candidates.build(data))
        assert {s for _, s, _ in model.y} == {"S1", "S2"}

    def test_check_names_the_row_inside_the_buffer_and_the_unknown_state(self, tiny_tables):
        data = data_of(tiny_tables)
        found = check(data, [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S3", 1), ("Ruritania", "sam", "S1", 1)])
        assert [(v.kind, v.cell) for v in found] == [("placement", "Deployments!A3"), ("placement", "Deployments!A4")]
        assert "33 km from the contact line; sam needs 50 km" in found[0].message
        assert found[1].message == "state 'Ruritania' is not in the States sheet"


class TestStateTroopCaps:
    """Borduria capped at 300 troops: a sam (100) and one hospital (200), not both hospitals."""

    def tables(self, tiny_tables):
        return set_cell(tiny_tables, "States", "Borduria", "max_troops", 300)

    def test_optimum_respects_the_cap(self, tiny_tables):
        result = optimum(data_of(self.tables(tiny_tables)))
        states = result.score.states.set_index("state")
        assert states.at["Borduria", "troops"] <= 300
        # only one hospital: 247.5 less the second hospital's 22.5 (second level at A2 and A4)
        assert result.score.objective == pytest.approx(225.0)

    def test_check_flags_one_hospital_over_the_cap(self, tiny_tables):
        found = check(data_of(self.tables(tiny_tables)),
                      [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", 1), ("Borduria", "hospital", "S2", 2)])
        assert [(v.kind, v.message, v.cell) for v in found] == [
            ("state_cap", "Borduria sends 500 troops; its cap is 300", "Deployments!A3")]

    def test_relaxation_names_the_cap_and_the_troops_over_it(self, tiny_tables):
        reasons = diagnosis(data_of(self.tables(tiny_tables), [HOSPITALS_AT_S2]))
        assert reasons == ["troop cap of Borduria (now 300) must give way by 100.0 troops"]


class TestMissionSize:
    def test_optimum_respects_the_maximum(self, tiny_tables):
        result = optimum(data_of(tiny_tables, mission_troops_max=300))
        assert result.score.troops <= 300

    def test_check_flags_one_hospital_over_the_maximum(self, tiny_tables):
        found = check(data_of(tiny_tables, mission_troops_max=300),
                      [("Aland", "sam", "S1", 1), ("Borduria", "hospital", "S2", 2)])
        assert [(v.kind, v.message, v.cell) for v in found] == [
            ("mission", "mission has 500 troops; mission_troops_max is 300", None)]

    def test_relaxation_names_the_maximum(self, tiny_tables):
        reasons = diagnosis(data_of(tiny_tables, [HOSPITALS_AT_S2], mission_troops_max=300))
        assert reasons == ["mission_troops_max (now 300) must give way by 100.0 troops"]

    def test_precheck_gives_the_most_the_caps_allow(self, tiny_tables):
        tables = set_cell(set_cell(tiny_tables, "States", "Aland", "max_troops", 500), "States", "Borduria", "max_troops", 300)
        data = data_of(tables, mission_troops_min=1000)
        assert diagnose.precheck(data, candidates.build(data)) == [
            "mission_troops_min is 1,000 troops but the eligible states can send (caps and inventory) at most 800"]


class TestSiteCapacity:
    """S1 holds 100 troops: one sam's crew."""

    def tables(self, tiny_tables):
        return set_cell(tiny_tables, "Sites", "S1", "capacity_troops", 100)

    def test_optimum_respects_the_capacity(self, tiny_tables):
        result = optimum(data_of(self.tables(tiny_tables)))
        assert result.score.sites.set_index("site_id").at["S1", "troops"] <= 100

    def test_check_flags_a_hospital_beside_the_sam(self, tiny_tables):
        found = check(data_of(self.tables(tiny_tables)), [("Aland", "sam", "S1", 1), ("Borduria", "hospital", "S1", 1)])
        assert [(v.kind, v.message, v.cell) for v in found] == [
            ("site_capacity", "site Middle hosts 300 troops; its capacity is 100", "Deployments!A2")]

    def test_capacity_is_not_relaxed_so_the_rule_gives_way(self, tiny_tables):
        two_sams_at_s1 = {"rule_id": "TWO_SAM_S1", "item": "sam", "site_id": "S1", "min_count": 2, "hard": 1}
        reasons = diagnosis(data_of(self.tables(tiny_tables), [two_sams_at_s1]))
        assert reasons == ["hard rule TWO_SAM_S1: minimum (now 2) must give way by 1.0 units"]


class TestEntryThroughput:
    """E1, the only entry point, passes 300 troops."""

    def tables(self, tiny_tables):
        return set_cell(tiny_tables, "EntryPoints", "E1", "throughput_troops", 300)

    def test_optimum_respects_the_throughput(self, tiny_tables):
        result = optimum(data_of(self.tables(tiny_tables)))
        assert result.score.logistics["troops"].sum() == result.score.troops <= 300

    def test_check_flags_the_troops_that_cannot_enter(self, tiny_tables):
        found = check(data_of(self.tables(tiny_tables)), [("Borduria", "sam", "S2", 1), ("Borduria", "hospital", "S2", 1)])
        assert found == []  # exactly 300
        found = check(data_of(self.tables(tiny_tables)), [("Borduria", "sam", "S2", 1), ("Borduria", "hospital", "S2", 2)])
        assert [(v.kind, v.message) for v in found] == [
            ("logistics", "200 of 500 troops at North cannot enter: the entry points that reach it are full")]

    def test_relaxation_names_the_entry_point(self, tiny_tables):
        reasons = diagnosis(data_of(self.tables(tiny_tables), [HOSPITALS_AT_S2]))
        assert reasons == ["throughput of entry point E1 (now 300) must give way by 100.0 troops"]


class TestBudget:
    def test_optimum_respects_the_budget(self, tiny_tables):
        result = optimum(data_of(tiny_tables, budget_meur=350))
        assert result.score.cost_meur <= 350
        assert result.score.objective == pytest.approx(100 + 45)  # sam at S1 (A1), one hospital at S2 (A2, A4)

    def test_check_flags_the_cost_over_budget(self, tiny_tables):
        found = check(data_of(tiny_tables, budget_meur=350), [("Aland", "sam", "S1", 1), ("Borduria", "hospital", "S2", 2)])
        assert [(v.kind, v.message) for v in found] == [
            ("budget", "plan costs 400.0 M EUR (400.0 units + 0.0 transport); budget is 350.0")]

    def test_relaxation_names_the_budget(self, tiny_tables):
        two_sams = {"rule_id": "TWO_SAMS", "item": "sam", "min_count": 2, "hard": 1}
        reasons = diagnosis(data_of(tiny_tables, [two_sams], budget_meur=550))
        assert reasons == ["budget_meur (now 550) must give way by 50.0 M EUR"]

    def test_precheck_prices_the_kept_deployments(self, tiny_tables):
        data = data_of(tiny_tables, budget_meur=550)
        fixed = {("Aland", "sam", "S1"): 1, ("Borduria", "sam", "S2"): 1}
        assert diagnose.precheck(data, candidates.build(data), fixed) == [
            "the kept deployments cost 600.0 M EUR; budget_meur is 550.0"]


class TestRules:
    ONE_SAM = {"rule_id": "ONE_SAM", "item": "sam", "max_count": 1, "hard": 1}

    def test_optimum_respects_a_hard_maximum(self, tiny_tables):
        result = optimum(data_of(tiny_tables, [self.ONE_SAM]))
        assert result.score.rules.set_index("rule_id").at["ONE_SAM", "count"] == 1
        assert result.score.objective == pytest.approx(247.5 - 80)  # the sam at S2 (A2) goes

    def test_check_flags_one_sam_too_many(self, tiny_tables):
        found = check(data_of(tiny_tables, [self.ONE_SAM]), [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", 1)])
        assert [(v.kind, v.message) for v in found] == [("rule", "hard rule ONE_SAM counts 2 matching units; allows at most 1")]

    def test_precheck_counts_what_the_rule_can_match(self, tiny_tables):
        data = data_of(tiny_tables, [{"rule_id": "THREE", "item": "sam", "min_count": 3, "hard": 1}])
        assert diagnose.precheck(data, candidates.build(data)) == [
            "rule THREE asks for at least 3 units (item=sam); the eligible states can place at most 2 there "
            "(inventory, eligibility, frontline buffer, site needs)"]


class TestCoreLead:
    def test_optimum_opens_every_site_with_a_core_unit(self, tiny_tables):
        result = optimum(data_of(tiny_tables, require_core_lead=1))
        plan = result.score.deployments
        for site, rows in plan.groupby("site_id"):
            assert "Aland" in set(rows["state"]), site

    def test_check_flags_a_site_without_a_core_unit(self, tiny_tables):
        found = check(data_of(tiny_tables, require_core_lead=1), [("Aland", "sam", "S1", 1), ("Borduria", "hospital", "S2", 1)])
        assert [(v.kind, v.message, v.cell) for v in found] == [
            ("core_lead", "site North has no unit of a core state (Aland); require_core_lead=1", "Deployments!A3")]

    def test_relaxation_names_the_site(self, tiny_tables):
        # Aland cannot send anything, and two Borduria hospitals must stand at S2
        tables = set_cell(tiny_tables, "States", "Aland", "eligible", 0)
        reasons = diagnosis(data_of(tables, [HOSPITALS_AT_S2], require_core_lead=1))
        assert reasons == ["core-state lead at site S2 (now 0) must give way by 1.0 units"]


class TestRegistry:
    def test_every_relaxed_row_and_family_component_is_in_the_model_doc(self, tiny_tables):
        doc = DOC.read_text(encoding="utf-8")
        for family in families.FAMILIES:
            for slack in family.slacks:
                assert f"`{slack.component}" in doc, slack.component

    def test_names_are_unique(self):
        names = [f.name for f in families.FAMILIES]
        assert len(set(names)) == len(names) == 11

    def test_a_new_family_is_one_class_and_one_registration(self, tiny_tables, monkeypatch):
        """The worked example of docs/architecture.md: at most `limit` used sites."""

        class MaxSites(Family):
            name = "max_sites"
            limit = 1
            slacks = (Slack("ineq_max_sites", "max_sites", 0.5, "sites"),)

            def define(self, model, data, index, build):
                model.ineq_max_sites = pyo.Constraint(expr=sum(model.o[s] for s in model.S) <= self.limit,
                                                      doc="at most max_sites used sites")

            def check(self, facts: PlanFacts):
                used = facts.plan.loc[facts.plan["count"] > 0, "site_id"].nunique()
                return [Violation("max_sites", f"plan uses {used} sites; max_sites is {self.limit}")] if used > self.limit else []

            def greedy_sender_ok(self, plan, n, k, s):
                return plan.units_at_site[s] > 0 or sum(1 for v in plan.units_at_site.values() if v > 0) < self.limit

        monkeypatch.setattr(families, "FAMILIES", (*families.FAMILIES, MaxSites()))
        data = data_of(tiny_tables)
        result = optimum(data)
        assert result.score.deployments["site_id"].unique().tolist() == ["S2"]
        assert result.score.objective == pytest.approx(120 + 60 + 7.5)  # S2: two sams on A2, two hospitals on A2, A4
        assert kinds(check(data, [("Aland", "sam", "S1", 1), ("Borduria", "sam", "S2", 1)])) == ["max_sites"]
        cands = candidates.build(data)
        _, index = build_model(data, cands)
        start = greedy_start(data, cands, index)
        assert len({key[1] for (name, key), v in start.items() if name == "y" and v > 0}) == 1
        # a sam must stand at S1 and two hospitals at S2: one of the two sites is too many
        sam_at_s1 = {"rule_id": "SAM_S1", "item": "sam", "site_id": "S1", "min_count": 1, "hard": 1}
        assert diagnosis(data_of(tiny_tables, [sam_at_s1, HOSPITALS_AT_S2])) == [
            "max_sites (now 1) must give way by 1.0 sites"]
