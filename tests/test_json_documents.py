"""Stdout is the document (issue 11): with --json every command prints exactly one JSON
document on stdout, whatever the outcome, and nothing else.

These run `cowopt` as a real process: HiGHS (1.16) prints its banner from C++ to file
descriptor 1, which click's in-process runner would never see.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

from cowopt.cli.main import main

COWOPT = Path(sys.executable).with_name("cowopt")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("json")
    good = write_inputs(folder / "tiny.xlsx", tiny())
    infeasible_tables = tiny()
    keys = infeasible_tables["Settings"]["key"]
    infeasible_tables["Settings"]["value"][keys.index("mission_troops_min")] = 4900
    bad_tables = tiny()
    bad_tables["Sites"]["capacity_troops"][1] = "lots"
    bad_tables["States"]["max_troops"][0] = -5
    over_tables = tiny()
    over_tables["Settings"]["value"][keys.index("budget_meur")] = 100
    return {"good": good, "folder": folder,
            "infeasible": write_inputs(folder / "infeasible.xlsx", infeasible_tables),
            "bad": write_inputs(folder / "bad.xlsx", bad_tables),
            "small_budget": write_inputs(folder / "small_budget.xlsx", over_tables)}


def _run(*args) -> tuple[int, object, str]:
    child = subprocess.run([str(COWOPT), *map(str, args)], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
    try:
        document = json.loads(child.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"stdout is not one JSON document ({exc}):\n{child.stdout!r}\nstderr:\n{child.stderr}") from None
    assert "Traceback" not in child.stderr, child.stderr
    return child.returncode, document, child.stderr


def test_every_outcome_of_every_command_is_one_json_document(files, tmp_path):
    good, folder = files["good"], files["folder"]
    # solve: a plan (0), then evaluate that plan against itself (0) and against a smaller budget (3)
    code, doc, _ = _run("solve", good, "-o", tmp_path / "plan", "--no-map", "--json")
    assert code == 0 and doc["status"] == "optimal" and doc["exit_code"] == 0
    assert doc["objective"] == pytest.approx(247.5) and doc["independent_check"]["passed"] is True
    plan = tmp_path / "plan" / "plan.xlsx"
    code, doc, _ = _run("evaluate", good, plan, "--json")
    assert code == 0 and doc["status"] == "optimal" and doc["mode"] == "evaluate"
    code, doc, _ = _run("evaluate", files["small_budget"], plan, "--json")
    assert code == 3 and doc["status"] == "infeasible" and any("budget" in v for v in doc["violations"])
    # infeasible input: the diagnosis, exit 3
    code, doc, _ = _run("solve", files["infeasible"], "-o", tmp_path / "inf", "--json")
    assert code == 3 and doc["status"] == "infeasible" and doc["diagnosis"]
    # validate: valid (0) and invalid (2, every problem with its cell)
    code, doc, _ = _run("validate", good, "--json")
    assert code == 0 and doc["status"] == "valid"
    code, doc, stderr = _run("validate", files["bad"], "--json")
    assert code == 2 and doc["status"] == "invalid_input" and doc["exit_code"] == 2
    cells = {(p["sheet"], p["cell"]) for p in doc["problems"]}
    assert ("Sites", "F3") in cells and ("States", "D2") in cells
    assert all(set(p) == {"file", "sheet", "cell", "message"} for p in doc["problems"])
    assert "Sites!F3" in stderr  # the planner's text still reaches the terminal
    # solve on invalid input and on a missing file: exit 2, nothing written
    code, doc, _ = _run("solve", files["bad"], "-o", tmp_path / "bad", "--json")
    assert code == 2 and doc["status"] == "invalid_input" and not (tmp_path / "bad").exists()
    code, doc, _ = _run("solve", folder / "missing.xlsx", "--json")
    assert code == 2 and doc["status"] == "invalid_input"
    # sweep: the frontier (0), and a bad option value (2)
    code, doc, _ = _run("sweep", good, "--budgets", "200,400", "--workers", "1", "-o", tmp_path / "sweep", "--json")
    assert code == 0 and [round(r["objective"], 1) for r in doc] == [67.5, 167.5]
    code, doc, _ = _run("sweep", good, "--budgets", "a:b", "-o", tmp_path / "sweep2", "--json")
    assert code == 2 and doc["status"] == "invalid_input"
    # usage errors: an unknown option, a value out of range
    code, doc, stderr = _run("solve", good, "--bogus", "--json")
    assert code == 2 and doc["status"] == "usage_error" and "--bogus" in doc["message"] and "Usage" in stderr
    code, doc, _ = _run("solve", good, "--mip-gap", "7", "--json")
    assert code == 2 and doc["status"] == "usage_error"
    # template
    code, doc, _ = _run("template", tmp_path / "t.xlsx", "--json")
    assert code == 0 and doc["status"] == "written" and (tmp_path / "t.xlsx").exists()
    code, doc, _ = _run("template", tmp_path / "t.xlsx", "--json")
    assert code == 2 and doc["status"] == "error" and "exists" in doc["message"]


def test_help_and_version_still_go_to_stdout():
    child = subprocess.run([str(COWOPT), "--help"], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0 and child.stdout.startswith("Usage: cowopt")
    child = subprocess.run([str(COWOPT), "--version"], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0 and "version" in child.stdout


@pytest.mark.parametrize("raised, status, code", [(KeyboardInterrupt(), "interrupted", 130),
                                                  (ZeroDivisionError("planted"), "bug", 1)])
def test_interrupt_and_bug_are_json_documents_too(monkeypatch, files, raised, status, code):
    import cowopt

    def boom(*args, **kwargs):
        raise raised

    monkeypatch.setattr(cowopt, "load", boom)
    run = CliRunner().invoke(main, ["solve", str(files["good"]), "--json"])
    assert run.exit_code == code
    document = json.loads(run.stdout)
    assert document["status"] == status and document["exit_code"] == code and document["written"] is False


def test_template_force_never_writes_over_a_workbook_open_in_an_office_program(tmp_path):
    target = tmp_path / "mine.xlsx"
    target.write_bytes(b"the planner's workbook")
    (tmp_path / ".~lock.mine.xlsx#").write_text("held by LibreOffice")
    run = CliRunner().invoke(main, ["template", str(target), "--force", "--json"])
    assert run.exit_code == 2
    assert json.loads(run.stdout)["status"] == "invalid_input"
    assert target.read_bytes() == b"the planner's workbook"
