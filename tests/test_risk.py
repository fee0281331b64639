"""The accepted-risk list on the tiny instance, worked by hand.

Tiny (levels 1, 0.5; buffer 50 km rules out S3): sam (range 50 km) at S1 covers A1 only, at S2
A2 only; hospital (radius 60 km) at S1 covers A4 (55.6 km), at S2 A2 and A4. A3 (the port,
72 km from S1) is out of every reach. Worth: A1 air 100, A2 air 80, A2 medical 40, A3 air 60,
A4 air 10, A4 medical 5. The plan: Aland's sam at S1, one Borduria hospital at S2 (cost 350).
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from support import tiny

import cowopt
from cowopt.scoring.risk import accepted_risk

PLAN = pd.DataFrame({"state": ["Aland", "Borduria"], "item": ["sam", "hospital"], "site_id": ["S1", "S2"],
                     "count": [1, 1]})


def _risk(tables):
    return accepted_risk(cowopt.evaluate(cowopt.from_tables(tables), PLAN))


def test_cells_ranked_by_points_at_risk_with_the_cheapest_addition():
    table = _risk(tiny())
    got = [(r.asset_id, r.capability, r.cover_count, r.points_at_risk, r.gain_of_one_more) for r in table.itertuples()]
    assert got == [("A2", "air_defence", 0, 120.0, 80.0),   # 80 x (1 + 0.5)
                   ("A3", "air_defence", 0, 90.0, 60.0),
                   ("A1", "air_defence", 1, 50.0, 50.0),    # second layer: 100 x 0.5
                   ("A2", "medical", 1, 20.0, 20.0),
                   ("A4", "air_defence", 0, 15.0, 10.0),
                   ("A4", "medical", 1, 2.5, 2.5)]
    assert list(table["rank"]) == [1, 2, 3, 4, 5, 6]
    fixes = table.set_index(["asset_id", "capability"])
    # Aland's only sam is used: Borduria's sam is the one left
    assert tuple(fixes.loc[("A2", "air_defence"), ["add_state", "add_item", "add_site_id", "add_cost_meur"]]) == (
        "Borduria", "sam", "S2", 300.0)
    assert tuple(fixes.loc[("A1", "air_defence"), ["add_state", "add_item", "add_site_id"]]) == ("Borduria", "sam", "S1")
    # two equal offers (a hospital at S1 or at S2 both reach A4): the first by name
    assert tuple(fixes.loc[("A4", "medical"), ["add_state", "add_item", "add_site_id", "add_cost_meur"]]) == (
        "Borduria", "hospital", "S1", 50.0)
    assert fixes.loc[("A3", "air_defence"), "add_state"] == ""
    assert "no allowed placement" in fixes.loc[("A3", "air_defence"), "note"]
    assert "no allowed placement" in fixes.loc[("A4", "air_defence"), "note"]  # 55.6 km > the sam's 50
    assert (fixes["note"].loc[[("A2", "air_defence"), ("A2", "medical")]] == "").all()


def test_an_addition_that_breaks_the_budget_or_a_cap_says_so():
    tables = tiny()
    tables["Settings"]["value"][0] = 400  # budget: 350 used, a sam costs 300
    tables["States"]["max_troops"] = [3000, 250]  # Borduria: 200 used, a hospital adds 200
    fixes = _risk(tables).set_index(["asset_id", "capability"])
    assert fixes.loc[("A2", "air_defence"), "note"] == ("would break budget: 650.0 of 400 M EUR; "
                                                       "Borduria's cap: 300 of 250 troops")  # the sam's 100 crew
    assert fixes.loc[("A2", "medical"), "note"] == "would break Borduria's cap: 400 of 250 troops"


def test_an_addition_that_breaks_a_hard_rule_maximum_says_so():
    tables = tiny()
    # at most one hospital in region R2 (S2): the plan has it, a second at S2 breaks the rule; at S1 (R1) not
    tables["Rules"] = {"rule_id": ["ONE_HOSP_R2"], "state": [""], "item": ["hospital"], "capability": [""],
                       "site_id": [""], "region": ["R2"], "min_count": [None], "max_count": [1], "hard": [1]}
    fixes = _risk(tables).set_index(["asset_id", "capability"])
    # A2 medical can only be reached from S2 (60 km): the rule is what the note names
    assert fixes.loc[("A2", "medical"), "note"] == "would break hard rule ONE_HOSP_R2: 2 of at most 1"
    # A4 medical: a hospital at S1 or S2 costs the same; the one that breaks nothing wins (S1, region R1)
    assert tuple(fixes.loc[("A4", "medical"), ["add_site_id", "note"]]) == ("S1", "")


def test_when_inventory_runs_out_the_list_says_so():
    plan = pd.DataFrame({"state": ["Aland", "Borduria", "Borduria"], "item": ["sam", "sam", "hospital"],
                         "site_id": ["S1", "S2", "S2"], "count": [1, 1, 2]})
    fixes = accepted_risk(cowopt.evaluate(cowopt.from_tables(tiny()), plan)).set_index(["asset_id", "capability"])
    assert fixes.loc[("A1", "air_defence"), "note"] == "every item that could cover it (air_defence) is already deployed in full"
    assert ("A2", "medical") not in fixes.index  # two hospitals: both layers earned


def test_the_plan_workbook_has_the_accepted_risk_sheet(tmp_path):
    result = cowopt.evaluate(cowopt.from_tables(tiny()), PLAN)
    path = cowopt.write_plan(result, tmp_path)
    sheet = openpyxl.load_workbook(path)["AcceptedRisk"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("rank", "asset_id", "name", "category", "capability")
    assert [r[1] for r in rows[1:]] == ["A2", "A3", "A1", "A2", "A4", "A4"]


@pytest.mark.parametrize("levels", ["1"])
def test_one_level_lists_only_uncovered_cells(levels):
    tables = tiny()
    tables["Settings"]["value"][4] = levels
    table = _risk(tables)
    assert set(zip(table["asset_id"], table["capability"])) == {("A2", "air_defence"), ("A3", "air_defence"),
                                                                 ("A4", "air_defence")}
