"""Stages (issue 14): the build-up over weeks. Contract, staged model, check and outputs."""

from __future__ import annotations

import pytest
from support import tiny

from cowopt.errors import InputError
from cowopt.workbook.data import from_tables


def _staged(tables: dict, stages: dict, **entry) -> dict:
    tables["Stages"] = stages
    tables["EntryPoints"].update(entry or {"throughput_troops_per_week": [1000]})
    return tables


def test_without_a_stages_sheet_nothing_is_staged():
    data = from_tables(tiny())
    assert not data.staged and data.stages.empty
    # the cost split defaults to today's cost: deploy = cost_meur, nothing per week
    assert list(data.items["deploy_cost_meur"]) == list(data.items["cost_meur"])
    assert set(data.items["running_meur_per_week"]) == {0.0}


def test_stage_contract_problems_are_named_by_cell_all_at_once():
    tables = tiny()
    tables["Stages"] = {"stage_id": ["D+7", "D+30", "X"], "start_week": [0, 1, 5], "end_week": [1, 4, 3],
                        "mission_troops_min": [None, 9000, None]}
    tables["StageInventory"] = {"state": ["Aland"], "item": ["sam"], "stage_id": ["D+9"], "available": [0]}
    tables["Settings"]["key"].append("stage_weights")
    tables["Settings"]["value"].append("1,2")
    with pytest.raises(InputError) as caught:
        from_tables(tables)
    text = str(caught.value)
    assert "StageInventory!C2: stage_id 'D+9' is not Stages stage_id" in text
    assert "Stages!D3: stage D+30: mission_troops_min (9000) is larger than mission_troops_max (5000)" in text
    assert "Stages!C4: stage X ends at week 3, not after its start_week 5" in text
    assert "Stages!B4: stage X starts at week 5 but stage D+30 (the row above) ends at week 4" in text
    assert "EntryPoints!A2: entry point E1: throughput_troops_per_week is blank" in text
    assert "stage_weights must be 3 numbers" in text


def test_weekly_throughput_falls_back_to_the_deployment_window():
    from cowopt.workbook.stagecheck import weekly_throughput

    tables = tiny()
    tables["Stages"] = {"stage_id": ["A"], "start_week": [0], "end_week": [4]}
    tables["Settings"]["key"].append("deployment_weeks")
    tables["Settings"]["value"].append(2)
    data = from_tables(tables)
    assert weekly_throughput(data) == {"E1": 2500.0}  # 5000 over 2 weeks
    assert list(data.stages["weeks"]) == [4] and list(data.stages["weight"]) == [4.0]


# --------------------------------------------------------------------------- the staged model

import cowopt  # noqa: E402
import pandas as pd  # noqa: E402


def _two_stages(throughput_per_week=200) -> dict:
    tables = tiny()
    tables["Stages"] = {"stage_id": ["A", "B"], "name": ["first week", "weeks 2-3"], "start_week": [0, 1],
                        "end_week": [1, 3]}
    tables["EntryPoints"]["throughput_troops_per_week"] = [throughput_per_week]
    return tables


def test_two_sites_two_stages_with_a_throughput_bottleneck_worked_by_hand():
    """675, by hand. The static optimum (test_optimum: 247.5) is a sam at S1 (covers A1, 100), a
    sam at S2 (A2, 80) and both hospitals at S2 (A2 and A4 medical, 67.5): 100 + 100 + 2 x 200 = 600
    troops. E1 lets 200 troops a week in. Stage A (week 0, 1 week) admits 200 troops: the best
    200 are the two sams (100 crew each, 180 points; one hospital of 200 troops earns only
    0.5 x 80 + 0.5 x 10 = 45). Stage B (weeks 1-2, 2 weeks) admits 400 more: the two hospitals,
    reaching the static optimum 247.5. Protection-weeks = 1 x 180 + 2 x 247.5 = 675. Arrivals:
    200 of 200 in A, 400 of 400 in B (share 1.0 both)."""
    result = cowopt.solve(from_tables(_two_stages()))
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
    staged = result.staged
    assert staged.objective == pytest.approx(675.0, abs=1e-6)
    table = staged.stage_table.set_index("stage_id")
    assert table.loc["A", "coverage"] == pytest.approx(180.0) and table.loc["B", "coverage"] == pytest.approx(247.5)
    assert list(table["troops"]) == [200, 600] and list(table["arriving_troops"]) == [200, 400]
    arrivals = staged.arrivals.set_index("stage_id")
    assert list(arrivals["troops"]) == [200, 400] and list(arrivals["share_used"]) == [1.0, 1.0]
    plan = staged.deployments
    sams = plan[plan["item"] == "sam"]
    assert set(sams["arrival_stage"]) == {"A"} and sorted(sams["site_id"]) == ["S1", "S2"]
    hospitals = plan[plan["item"] == "hospital"]
    assert list(hospitals["arrival_stage"]) == ["B"] and int(hospitals["count"].sum()) == 2
    assert staged.cost_meur == pytest.approx(700.0)  # one-off costs: 300 + 300 + 2 x 50
    assert result.summary()["protection_weeks"] == pytest.approx(675.0)


def test_a_wider_crossing_brings_everything_in_the_first_stage():
    """600 troops a week: all arrive in A; 3 weeks x 247.5 = 742.5."""
    staged = cowopt.solve(from_tables(_two_stages(600))).staged
    assert staged.objective == pytest.approx(742.5, abs=1e-6)
    assert set(staged.deployments["arrival_stage"]) == {"A"}


def test_without_stages_the_static_path_runs(monkeypatch):
    """No Stages sheet: the staged code is never called, and the optimum is today's 247.5."""
    import cowopt.staged

    def refuse(*args, **kwargs):
        raise AssertionError("staged path used")

    monkeypatch.setattr(cowopt.staged, "solve_staged", refuse)
    result = cowopt.solve(from_tables(tiny()))
    assert result.staged is None and result.score.objective == pytest.approx(247.5, abs=1e-6)
    assert "protection_weeks" not in result.summary()


def test_one_stage_over_the_deployment_window_reproduces_the_example_optimum(example_path, tmp_path):
    """The example's throughput_troops is throughput_troops_per_week x 2 weeks; one 2-week stage
    is the static model: 7,666.75 points (README), costs 7,898.8 M EUR, protection-weeks 2 x 7,666.75."""
    import openpyxl

    book = openpyxl.load_workbook(example_path)
    sheet = book.create_sheet("Stages")
    sheet.append(["stage_id", "start_week", "end_week"])
    sheet.append(["all", 0, 2])
    path = tmp_path / "one_stage.xlsx"
    book.save(path)
    result = cowopt.solve(path)
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
    assert result.score.objective == pytest.approx(7666.75, abs=1e-6)
    assert result.staged.objective == pytest.approx(2 * 7666.75, abs=1e-6)
    assert result.staged.cost_meur == pytest.approx(7898.8, abs=0.05)


def test_rotation_factor_divides_the_state_caps():
    """rotation_factor 3 with Borduria capped at 300 troops: it may deploy 100, its sam (crew
    100) but no hospital (200): stage B is 180 (both sams) + nothing else Borduria offers; Aland
    has no hospital. Protection-weeks 3 x 180 = 540."""
    tables = _two_stages(600)
    tables["States"]["max_troops"] = [3000, 300]
    tables["Settings"]["key"].append("rotation_factor")
    tables["Settings"]["value"].append(3)
    staged = cowopt.solve(from_tables(tables)).staged
    assert staged.objective == pytest.approx(540.0, abs=1e-6)
    assert "hospital" not in set(staged.deployments["item"])


def test_evaluate_names_the_stage_and_the_row_of_each_staged_violation():
    tables = _two_stages()
    tables["StageInventory"] = {"state": ["Borduria"], "item": ["hospital"], "stage_id": ["A"], "available": [0]}
    data = from_tables(tables)
    plan = pd.DataFrame({
        "state": ["Aland", "Borduria", "Borduria", "Borduria"],
        "item": ["sam", "sam", "hospital", "hospital"],
        "site_id": ["S1", "S2", "S2", "S2"],
        "count": [1, 1, 1, 1],
        "arrival_stage": ["A", "A", "A", "B"],
        "leave_stage": [None, None, None, "A"],
        "cell_ref": ["Deployments!A2", "Deployments!A3", "Deployments!A4", "Deployments!A5"],
    })
    result = cowopt.evaluate(data, plan)
    found = [str(v) for v in result.score.violations]
    assert result.status == cowopt.Status.INFEASIBLE
    # 400 troops arrive in A (two sams, 100 each, and a hospital, 200); E1 lets 200 in: 200 are stranded
    stranded = [v for v in found if v.startswith("Deployments!A") and ": stage A: " in v and "cannot come in" in v]
    assert sum(int(v.split(": stage A: ")[1].split(" of ")[0]) for v in stranded) == 200, found
    assert any(v.startswith("Deployments!A4: stage A: Borduria has 0 hospital but 1 are deployed") for v in found), found
    assert any(v.startswith("Deployments!A5:") and "present before it arrived" in v for v in found), found


def test_plan_file_round_trip_and_a_hand_edited_arrival(tmp_path):
    """Solve, write plan.xlsx (Deployments with arrival_stage, Stages, Arrivals, BuildUp),
    evaluate it unchanged (no violation, same 675), then bring the hospitals in stage A: 400
    more troops than E1's 200 that week."""
    import openpyxl
    from support import write_inputs

    from cowopt.report.plan import write_plan

    inputs = write_inputs(tmp_path / "staged.xlsx", _two_stages())
    result = cowopt.solve(inputs)
    plan_path = write_plan(result, tmp_path / "out")
    book = openpyxl.load_workbook(plan_path)
    assert {"Deployments", "Stages", "Arrivals", "BuildUp"} <= set(book.sheetnames)
    header = [c.value for c in book["Deployments"][1]]
    assert "arrival_stage" in header and "leave_stage" not in header  # allow_withdrawal = 0
    stages = {r[0]: r for r in book["Stages"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert stages["A"][6] == pytest.approx(180.0) and stages["B"][6] == pytest.approx(247.5)
    again = cowopt.evaluate(inputs, plan_path)
    assert not again.score.violations and again.staged.objective == pytest.approx(675.0)
    sheet = book["Deployments"]
    column = header.index("arrival_stage") + 1
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, 2).value == "hospital":
            sheet.cell(row, column).value = "A"
            edited_row = row
    book.save(tmp_path / "edited.xlsx")
    edited = cowopt.evaluate(inputs, tmp_path / "edited.xlsx")
    found = [str(v) for v in edited.score.violations]
    stranded = [v for v in found if "edited.xlsx › Deployments!A" in v and "cannot come in" in v]
    assert sum(int(v.split(": stage A: ")[1].split(" of ")[0]) for v in stranded) == 400, found
    assert edited_row >= 2


def test_a_budget_sweep_on_a_staged_workbook_is_one_staged_solve_per_budget():
    """Budgets 400 and 1,000 on the two-stage case: each frontier row is the staged solve at
    that budget (protection-weeks, horizon cost); at 1,000 it is the hand-worked 675."""
    from cowopt.optimise.sensitivity import run_sweep

    data = from_tables(_two_stages())
    frontier = run_sweep(data, [400.0, 1000.0], workers=1).set_index("budget_meur")
    for budget in (400.0, 1000.0):
        alone = cowopt.solve(data.with_settings(budget_meur=budget))
        assert frontier.loc[budget, "objective"] == pytest.approx(alone.staged.objective, abs=1e-6)
        assert frontier.loc[budget, "cost_meur"] == pytest.approx(alone.staged.cost_meur, abs=1e-6)
        assert frontier.loc[budget, "final_stage_coverage"] == pytest.approx(alone.score.objective, abs=1e-6)
        assert frontier.loc[budget, "independent_check"] == "passed"
    assert frontier.loc[1000.0, "objective"] == pytest.approx(675.0, abs=1e-6)
    assert frontier.loc[400.0, "objective"] < 675.0 and frontier.loc[400.0, "cost_meur"] <= 400.0 + 1e-6


def test_fix_pins_a_unit_from_its_arrival_stage(tmp_path):
    """Aland's sam pinned at S1 exactly from stage B (a hand-edited staged plan.xlsx): it is
    absent in A, so A's 200 troops are one hospital at S2 (45 points); B lets 400 in: both
    sams and the second hospital, the static optimum 247.5. 1 x 45 + 2 x 247.5 = 540 (the
    two sams in A would leave B short: 80 + 2 x 225 = 530)."""
    import openpyxl
    from support import write_inputs

    from cowopt.report.plan import write_plan
    from cowopt.workbook.planfile import fixed_from_plan

    inputs = write_inputs(tmp_path / "staged.xlsx", _two_stages())
    plan_path = write_plan(cowopt.solve(inputs), tmp_path / "out")
    book = openpyxl.load_workbook(plan_path)
    sheet = book["Deployments"]
    header = [c.value for c in sheet[1]]
    site = header.index("site_id") + 1
    keep = [r for r in range(2, sheet.max_row + 1)
            if (sheet.cell(r, 1).value, sheet.cell(r, 2).value, sheet.cell(r, site).value) == ("Aland", "sam", "S1")]
    assert len(keep) == 1  # the 675 plan brings it in stage A
    sheet.cell(keep[0], header.index("arrival_stage") + 1).value = "B"
    for r in range(sheet.max_row, 1, -1):
        if r != keep[0]:
            sheet.delete_rows(r)
    book.save(tmp_path / "pin.xlsx")
    fixed = fixed_from_plan(tmp_path / "pin.xlsx")
    result = cowopt.solve(inputs, fixed=fixed, fix_exact=True)
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
    assert result.staged.objective == pytest.approx(540.0, abs=1e-6)
    plan = result.staged.deployments
    assert plan.loc[(plan["state"] == "Aland") & (plan["item"] == "sam"), "arrival_stage"].tolist() == ["B"]
    assert list(plan.loc[plan["arrival_stage"] == "A", "item"]) == ["hospital"]
    assert not cowopt.evaluate(inputs, plan).score.violations  # the staged check agrees
    # as a minimum the same pin binds nothing: the sam may come earlier, 675 as unpinned
    assert cowopt.solve(inputs, fixed=fixed).staged.objective == pytest.approx(675.0, abs=1e-6)


def test_fix_a_minimum_in_the_first_stage_costs_the_week_it_fills():
    """A hospital kept at S2 from stage A (a minimum): its 200 troops fill E1's week, so A is
    45; B brings both sams and the second hospital (400): 45 + 2 x 247.5 = 540."""
    from cowopt.workbook.planfile import PlanRowKey

    key = PlanRowKey(("Borduria", "hospital", "S2"), "pin.xlsx", ("A2",), ((1, "A", None, "A2"),))
    result = cowopt.solve(from_tables(_two_stages()), fixed={key: 1})
    assert result.check.passed and result.staged.objective == pytest.approx(540.0, abs=1e-6)
    table = result.staged.stage_table.set_index("stage_id")
    assert table.loc["A", "coverage"] == pytest.approx(45.0) and table.loc["B", "coverage"] == pytest.approx(247.5)


def test_fix_names_a_pin_whose_stage_is_unknown_or_leaves():
    from cowopt.workbook.planfile import PlanRowKey

    data = from_tables(_two_stages())
    fixed = {PlanRowKey(("Aland", "sam", "S1"), "pin.xlsx", ("A2",), ((1, "Z", None, "A2"),)): 1,
             PlanRowKey(("Borduria", "sam", "S2"), "pin.xlsx", ("A3",), ((1, "A", "A", "A3"),)): 1}
    with pytest.raises(InputError) as caught:
        cowopt.solve(data, fixed=fixed)
    text = str(caught.value)
    assert "pin.xlsx › Deployments!A2" in text and "arrival_stage 'Z' is not a stage_id of the Stages sheet (A, B)" in text
    assert "Deployments!A3" in text and "allow_withdrawal is 0" in text


def test_withdrawal_lets_a_unit_leave_and_the_plan_says_when():
    """allow_withdrawal=1 and Aland's sam committed for stage A only (StageInventory B: 0).
    A: both sams, 180. B: Aland's sam leaves; Borduria's sam (S2 in A) stands at S1 (A1, 100)
    with both hospitals at S2 (67.5) = 167.5, better than keeping it at S2 (80 + 67.5).
    1 x 180 + 2 x 167.5 = 515; Aland's row has leave_stage A."""
    tables = _two_stages()
    tables["Settings"]["key"].append("allow_withdrawal")
    tables["Settings"]["value"].append(1)
    tables["StageInventory"] = {"state": ["Aland"], "item": ["sam"], "stage_id": ["B"], "available": [0]}
    result = cowopt.solve(from_tables(tables))
    assert result.check.passed and result.staged.objective == pytest.approx(515.0, abs=1e-6)
    plan = result.staged.deployments
    aland = plan[plan["state"] == "Aland"]
    assert list(aland["arrival_stage"]) == ["A"] and list(aland["leave_stage"]) == ["A"]


@pytest.mark.parametrize("minimums, expected", [
    # A is one week at E1's 200 troops a week: 400 present in A is 200 too many
    ([400, None], "stage A: mission_troops_min (now 400) must give way by 200.0 troops"),
    # B adds two weeks (400): at most 600 present in B, so 1,200 is 600 too many (the force has 1,600)
    ([None, 1200], "stage B: mission_troops_min (now 1,200) must give way by 600.0 troops"),
])
def test_the_diagnosis_names_the_stage_whose_minimum_the_crossings_cannot_carry(minimums, expected):
    tables = _two_stages()
    tables["Stages"]["mission_troops_min"] = minimums
    result = cowopt.solve(from_tables(tables))
    assert result.status == cowopt.Status.INFEASIBLE and result.score is None
    assert result.diagnosis == [expected]


def test_solve_writes_one_map_panel_per_stage(tmp_path):
    """map_stages.png beside map.png: two panels (A, B) titled with the stage's troops and
    coverage, the figures of the hand-worked case (200 troops / 180, 600 / 247.5)."""
    from click.testing import CliRunner
    from PIL import Image
    from support import write_inputs

    from cowopt.cli.main import main
    from cowopt.report.stagemaps import stage_panels

    inputs = write_inputs(tmp_path / "staged.xlsx", _two_stages())
    run = CliRunner().invoke(main, ["solve", str(inputs), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    with Image.open(tmp_path / "out" / "map_stages.png") as image:
        assert image.size == (1000, 440)  # two 5 x 3.9 in panels side by side, + 0.5 in, at 100 dpi
    titles = [title for title, _ in stage_panels(cowopt.solve(inputs))]
    assert titles == ["stage A (first week): weeks 0–1\n200 troops, coverage 180.0 (41%)",
                      "stage B (weeks 2-3): weeks 1–3\n600 troops, coverage 247.5 (56%)"]
