"""The `cowopt` command: help and docs for every command, outputs, --json, exit codes.

Exit codes (README): 0 plan written, 1 a bug, 2 bad input or usage, 3 infeasible / violations,
4 no plan in time. Runs in-process through click's CliRunner on the tiny fixture.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PLAN_SHEETS = ["Summary", "Deployments", "Sites", "Coverage", "Logistics", "States", "Rules"]
JSON_KEYS = {"status", "objective", "troops", "cost_meur", "gap", "input_sha256"}


def cli(*args):
    """click's Result; an exception other than SystemExit is a failure of the test itself."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def sheet_names(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    names = list(book.sheetnames)
    book.close()
    return names


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "tiny.xlsx", tiny())


# --------------------------------------------------------------------------- help and docs


COMMANDS = sorted(main.commands)


def test_the_five_commands_exist():
    assert COMMANDS == ["alternatives", "evaluate", "levers", "robust", "solve", "stress", "sweep", "template",
                        "validate"]


def _documentation() -> str:
    """The README, and docs/decisions.md for the decision commands (issue 16)."""
    return "\n".join((ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/decisions.md"))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented(command):
    result = cli(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and main.commands[command].help.split("\n")[0][:20] in result.output
    assert f"cowopt {command}" in _documentation()


def test_top_level_help_lists_every_command():
    result = cli("--help")
    assert result.exit_code == 0
    assert all(command in result.output for command in COMMANDS)


_UNDOCUMENTED: dict = {}  # command -> reason, for an option knowingly left out of the README


@pytest.mark.parametrize("command", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_UNDOCUMENTED[c])) if c in _UNDOCUMENTED else c
    for c in COMMANDS])
def test_every_option_is_documented(command):
    readme = _documentation()
    missing = [p.opts for p in main.commands[command].params
               if p.param_type_name == "option" and not any(o in readme for o in p.opts)]
    assert missing == []


# --------------------------------------------------------------------------- validate


def test_validate_the_shipped_example(example_path):
    result = cli("validate", example_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "valid" and report["input_file"] == "example.xlsx"
    assert report["states"] > 0 and report["sites"] > 0


def test_validate_a_broken_workbook_lists_every_problem_by_cell(tmp_path):
    tables = tiny()
    tables["Sites"]["capacity_troops"][1] = "lots"  # Sites row 3 (S2), column F
    tables["States"]["max_troops"][1] = -5  # States row 3 (Borduria), column D
    path = write_inputs(tmp_path / "broken.xlsx", tables)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("validate", path)
    assert result.exit_code == 2, result.output
    assert "broken.xlsx › Sites!F3" in result.output and "lots" in result.output
    assert "broken.xlsx › States!D3" in result.output
    assert "2 problem(s)" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("content", [None, b"this is not a workbook"], ids=["missing", "not-xlsx"])
def test_validate_a_file_that_is_not_a_workbook(tmp_path, content):
    path = tmp_path / "inputs.xlsx"
    if content is not None:
        path.write_bytes(content)
    result = cli("validate", path)
    assert result.exit_code == 2, result.output
    assert "inputs.xlsx" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- solve


@pytest.fixture(scope="module")
def solved_with_map(tiny_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("with-map") / "run"
    result = cli("solve", tiny_path, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_solve_writes_the_plan_sheets_and_the_map(solved_with_map):
    out, summary = solved_with_map
    names = sheet_names(out / "plan.xlsx")
    assert names[0] == "Summary"
    assert set(PLAN_SHEETS + ["Map"]) <= set(names)
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["plan_file"] == str(out / "plan.xlsx") and summary["map_file"] == str(out / "map.png")


def test_solve_json_is_the_machine_readable_summary(solved_with_map, tiny_path):
    _, summary = solved_with_map
    assert JSON_KEYS <= set(summary)
    assert summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(247.5)  # worked by hand in test_evaluate.py
    assert summary["troops"] == 600 and summary["cost_meur"] == pytest.approx(700.0)
    assert summary["gap"] == pytest.approx(0.0, abs=1e-9)
    assert summary["input_sha256"] == hashlib.sha256(tiny_path.read_bytes()).hexdigest()


def test_solve_defaults_to_outputs_stem_and_no_map(tiny_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("solve", tiny_path, "--no-map", "--json")
    assert result.exit_code == 0, result.output
    plan = tmp_path / "outputs" / "tiny" / "plan.xlsx"
    assert plan.exists()
    assert Path(json.loads(result.stdout)["plan_file"]) == Path("outputs") / "tiny" / "plan.xlsx"
    names = sheet_names(plan)
    assert set(PLAN_SHEETS) <= set(names) and "Map" not in names
    assert not (tmp_path / "outputs" / "tiny" / "map.png").exists()


def test_solve_refuses_to_write_over_its_input(tiny_path, tmp_path):
    inputs = tmp_path / "plan.xlsx"
    inputs.write_bytes(tiny_path.read_bytes())
    result = cli("solve", inputs, "-o", tmp_path, "--no-map")
    assert result.exit_code == 2, result.output
    assert "overwrite the input" in result.output
    assert inputs.read_bytes() == tiny_path.read_bytes()


def test_solve_text_output_is_a_summary(tiny_path, tmp_path):
    result = cli("solve", tiny_path, "-o", tmp_path / "run", "--no-map")
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output and "written:" in result.output
    assert result.stdout == ""  # the terminal report goes to stderr; stdout is kept for --json


# --------------------------------------------------------------------------- template


def test_template_writes_and_will_not_overwrite_without_force(tmp_path):
    path = tmp_path / "blank.xlsx"
    assert cli("template", path).exit_code == 0
    assert "Settings" in sheet_names(path)
    written = path.read_bytes()
    result = cli("template", path)
    assert result.exit_code == 2 and "--force" in result.output
    assert path.read_bytes() == written
    path.write_bytes(b"old")
    assert cli("template", path, "--force").exit_code == 0
    assert "Settings" in sheet_names(path)


# --------------------------------------------------------------------------- usage errors and bugs


@pytest.mark.parametrize("args", [
    ["solve"],
    ["evaluate", "TINY"],
    ["frobnicate"],
    ["solve", "TINY", "--frobnicate"],
    ["solve", "TINY", "--time-limit", "-1"],
    ["solve", "TINY", "--time-limit", "soon"],
    ["solve", "TINY", "--mip-gap", "2"],
    ["solve", "TINY", "--threads", "0"],
    ["sweep", "TINY", "--workers", "0"],
    ["sweep", "TINY"],  # neither --budgets nor --scenarios
    ["sweep", "TINY", "--budgets", "lots"],
    ["sweep", "TINY", "--budgets", "100:50:10"],
], ids=lambda args: " ".join(args))
def test_usage_errors_exit_2(args, tiny_path, tmp_path):
    args = [tiny_path if a == "TINY" else a for a in args]
    result = cli(*args + (["-o", tmp_path / "out"] if args[0] == "sweep" else []))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_bug_exits_1_with_an_internal_error_message(tiny_path, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("planted bug")

    monkeypatch.setattr(cowopt, "solve", broken)  # what the CLI calls
    monkeypatch.setattr(cowopt.api, "solve", broken)
    result = cli("solve", tiny_path, "-o", tmp_path / "run", "--no-map")
    assert result.exit_code == 1, result.output
    assert "internal error" in result.output and "planted bug" in result.output


def test_no_plan_in_time_exits_4_and_writes_nothing(tiny_path, tmp_path, monkeypatch):
    from cowopt.optimise import candidates

    def out_of_time(data, **kwargs):
        return cowopt.PlanResult(data, candidates.build(data), cowopt.Status.NO_PLAN_IN_TIME,
                                 "time limit reached without a feasible plan", None)

    monkeypatch.setattr(cowopt, "solve", out_of_time)
    result = cli("solve", tiny_path, "-o", tmp_path / "run", "--no-map", "--json")
    assert result.exit_code == 4, result.output
    assert json.loads(result.stdout)["status"] == "no_plan_in_time"
    assert not (tmp_path / "run" / "plan.xlsx").exists()
