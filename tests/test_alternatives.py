"""Near-optimal alternatives: pairwise different, each within P %, each re-scored apart from the model.

Tiny's optimum: sams at S1 and S2, both hospitals at S2 (247.5; choices sam@S1, sam@S2,
hospital@S2). Aland's two battalions earn nothing (no weight for ground_security) but may stand
at S1 or S2. So within 0 % the most different plan adds a battalion at both (distance 2), and
the next can only differ by one choice from the optimum and from that plan (distance 1).
"""

from __future__ import annotations

import itertools
import json

import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.decisions.alternatives import choices, find_alternatives, hamming
from cowopt.cli.main import main


@pytest.fixture
def data():
    return cowopt.from_tables(tiny())


def test_within_zero_the_alternatives_are_worked_by_hand(data):
    alts = find_alternatives(data, 2, 0.0)
    assert alts.optimum.score.objective == pytest.approx(247.5)
    first, second = (choices(r.score.deployments) for r in alts.plans)
    base = choices(alts.optimum.score.deployments)
    assert first == base | {("battalion", "S1"), ("battalion", "S2")}
    assert alts.comparison.at[1, "added"] == "battalion@S1, battalion@S2" and alts.comparison.at[1, "dropped"] == ""
    assert hamming(second, base) == 1 and hamming(second, first) == 1
    assert all(r.score.objective == pytest.approx(247.5) for r in alts.plans)


def test_alternatives_pairwise_different_and_all_within_p(data):
    within = 0.5
    alts = find_alternatives(data, 3, within)
    plans = [alts.optimum] + alts.plans
    assert all(r.has_plan for r in plans)
    sets = [choices(r.score.deployments) for r in plans]
    assert all(hamming(a, b) >= 1 for a, b in itertools.combinations(sets, 2))
    for result in alts.plans:  # the independent scorer, from the plan table alone
        checked = cowopt.evaluate(data, result.score.deployments[["state", "item", "site_id", "count"]])
        assert checked.score.violations == []
        assert checked.score.objective >= (1 - within) * 247.5 - 1e-6
    table = alts.comparison
    assert list(table["plan"]) == ["optimum", "alternative 1", "alternative 2", "alternative 3"]
    assert (table["share_of_optimum"].iloc[1:] >= 0.5 - 1e-9).all()
    assert list(table["distance_to_optimum"]) == [0] + [hamming(s, sets[0]) for s in sets[1:]]


def test_cli_alternatives_writes_comparison_plans_and_json(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", tiny())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["alternatives", str(inputs), "--count", "2", "--within", "10%", "-o", str(out),
                                       "--no-map", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["found"] == 2 and document["floor"] == pytest.approx(247.5 * 0.9)
    assert [row["plan"] for row in document["comparison"]] == ["optimum", "alternative 1", "alternative 2"]
    book = openpyxl.load_workbook(out / "alternatives.xlsx")
    assert book.sheetnames == ["Comparison", "Differences", "Deployments", "About"]
    assert (out / "alternative-2" / "plan.xlsx").exists()


def test_cli_rejects_a_bad_percentage_with_one_json_document(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", tiny())
    result = CliRunner().invoke(main, ["alternatives", str(inputs), "--within", "lots", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["status"] == "usage_error"
