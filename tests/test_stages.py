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
