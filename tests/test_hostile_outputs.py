"""Issue 12, output side: every file written is guarded (class 1), names from inputs are unique
and inert (2), input text reaches the terminal literally (3), options are parsed defensively
(6), Ctrl-C while writing and a killed run's leftovers (7, files), which budget wins (10);
issue 18: tables that fit 80 columns. In-process through click's CliRunner on the tiny fixture.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from support import tiny

import cowopt
from cowopt.cli import main as cli_main
from cowopt.cli.main import main
from cowopt.cli.terminal import clean, plain, say
from cowopt.errors import InputError
from cowopt.report.outputs import STAGE_PREFIX, clean_stale
from cowopt.optimise.sensitivity import MAX_BUDGETS, parse_budgets
from cowopt.report.sweep import SWEEP_FILES, chart_text, variant_folders

INJECTION = "=cmd|' /C calc'!A0"


def cli(*args):
    """click's Result; an exception other than SystemExit is a failure of the test itself."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def write_literal(path: Path, tables: dict) -> Path:
    """Like support.write_inputs, but text such as "=cmd|..." is stored as text, not a formula."""
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False}}) as writer:
        for sheet, columns in tables.items():
            pd.DataFrame(columns).to_excel(writer, sheet_name=sheet, index=False)
    return path


def with_scenarios(rows: list[tuple]) -> dict:
    tables = tiny()
    tables["Scenarios"] = {"scenario": [r[0] for r in rows], "key": [r[1] for r in rows], "value": [r[2] for r in rows]}
    return tables


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def tiny_in(tmp_path) -> Path:
    return write_literal(tmp_path / "tiny.xlsx", tiny())


# --------------------------------------------------------------------------- class 1: every output guarded


def test_solve_refuses_an_input_named_like_the_map(tmp_path):
    """`cowopt solve D/map.png -o D` replaced the input workbook with a PNG."""
    inputs = write_literal(tmp_path / "map.png", tiny())
    before = digest(inputs)
    result = cli("solve", inputs, "-o", tmp_path)
    assert result.exit_code == 2, result.output
    assert "would overwrite the input" in result.output and "map.png" in result.output
    assert digest(inputs) == before
    assert files_under(tmp_path) == {"map.png"}
    # with --no-map no map.png is written, so an input of that name is no obstacle
    result = cli("solve", inputs, "-o", tmp_path, "--no-map")
    assert result.exit_code == 0, result.output
    assert digest(inputs) == before and (tmp_path / "plan.xlsx").exists()


def test_a_hard_link_to_the_input_is_an_input(tmp_path):
    inputs = write_literal(tmp_path / "tiny.xlsx", tiny())
    out = tmp_path / "out"
    out.mkdir()
    os.link(inputs, out / "plan.xlsx")
    result = cli("solve", inputs, "-o", out, "--no-map")
    assert result.exit_code == 2, result.output
    assert "would overwrite the input" in result.output
    assert os.path.samefile(inputs, out / "plan.xlsx")  # the link was not replaced


def test_evaluate_refuses_to_draw_its_map_over_the_plan_it_reads(tmp_path, tiny_in):
    out = tmp_path / "out"
    assert cli("solve", tiny_in, "-o", out, "--no-map").exit_code == 0
    plan = out / "map.png"
    (out / "plan.xlsx").rename(plan)
    before = digest(plan)
    result = cli("evaluate", tiny_in, plan, "-o", out)
    assert result.exit_code == 2, result.output
    assert digest(plan) == before and not (out / "plan.xlsx").exists()


def test_sweep_refuses_to_replace_its_input_in_a_variant_folder(tmp_path):
    """`cowopt sweep D/budget_high/plan.xlsx --scenarios budget_high -o D` exited 0 over its input."""
    folder = tmp_path / "budget_high"
    folder.mkdir()
    inputs = write_literal(folder / "plan.xlsx", with_scenarios([("budget_high", "budget_meur", 1200)]))
    before = digest(inputs)
    result = cli("sweep", inputs, "--scenarios", "budget_high", "-o", tmp_path, "--no-map", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "would overwrite the input" in result.output
    assert digest(inputs) == before
    assert files_under(tmp_path) == {"budget_high/plan.xlsx"}


@pytest.mark.parametrize("name", ["frontier.png"])
def test_sweep_refuses_an_input_named_like_its_frontier(tmp_path, name):
    inputs = write_literal(tmp_path / name, tiny())
    before = digest(inputs)
    result = cli("sweep", inputs, "--budgets", "200,400", "-o", tmp_path, "--workers", "1")
    assert result.exit_code == 2, result.output
    assert digest(inputs) == before and files_under(tmp_path) == {name}


@pytest.mark.parametrize("lock", ["base-budget-400/~$plan.xlsx", "base-budget-400/.~lock.plan.xlsx#",
                                  ".~lock.frontier.png#"])
def test_sweep_with_an_output_open_in_excel_writes_nothing(tmp_path, tiny_in, lock):
    """A lock file on any output is found before solving: exit 2 and no file at all (the
    variants' plans were written before the frontier refused, and the run said 'nothing')."""
    out = tmp_path / "out"
    (out / lock).parent.mkdir(parents=True, exist_ok=True)
    (out / lock).write_text("")
    result = cli("sweep", tiny_in, "--budgets", "200,400", "-o", out, "--workers", "1", "--no-map")
    assert result.exit_code == 2, result.output
    assert "open in Excel or LibreOffice" in result.output
    assert files_under(out) == {lock}


def test_every_refusal_is_listed_at_once(tmp_path):
    inputs = write_literal(tmp_path / "map.png", tiny())
    (tmp_path / "~$plan.xlsx").write_text("")
    result = cli("solve", inputs, "-o", tmp_path)
    assert result.exit_code == 2, result.output
    assert "2 problem(s)" in result.output
    assert "would overwrite the input" in result.output and "lock file ~$plan.xlsx" in result.output


# --------------------------------------------------------------------------- class 2: unique, inert names


def test_colliding_scenario_names_get_their_own_folders(tmp_path):
    """`budget low`, `budget/low`, `budget_low` all wrote budget_low/: 3 variants, 1 plan, no warning."""
    names = ["budget low", "budget/low", "budget_low"]
    inputs = write_literal(tmp_path / "scen.xlsx", with_scenarios([(n, "budget_meur", 400 + 200 * i)
                                                                   for i, n in enumerate(names)]))
    out = tmp_path / "out"
    result = cli("sweep", inputs, "--scenarios", "-o", out, "--no-map", "--workers", "1")
    assert result.exit_code == 0, result.output
    plans = sorted(p.parent.name for p in out.glob("*/plan.xlsx"))
    assert plans == ["budget_low", "budget_low-2", "budget_low-3"]
    assert "budget_low-2/" in result.output and "budget_low-3/" in result.output  # said on the terminal
    book = openpyxl.load_workbook(out / "frontier.xlsx", read_only=True)
    rows = list(book["Frontier"].iter_rows(values_only=True))
    notes = [r[0] for r in book["Notes"].iter_rows(values_only=True)][1:]
    book.close()
    folder_of = {r[1]: r[rows[0].index("folder")] for r in rows[1:]}
    assert folder_of == {"budget low": "budget_low", "budget/low": "budget_low-2", "budget_low": "budget_low-3"}
    assert len(notes) == 2 and all("folder" in n for n in notes)
    # each folder holds its own variant: the budgets differ (400, 600, 800)
    budgets = {}
    for folder in plans:
        summary = openpyxl.load_workbook(out / folder / "plan.xlsx", read_only=True)
        budgets[folder] = {r[0]: r[1] for r in summary["Summary"].iter_rows(values_only=True)}["budget_meur"]
        summary.close()
    assert budgets == {"budget_low": 400, "budget_low-2": 600, "budget_low-3": 800}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=12, unique=True))
def test_variant_folders_are_unique_safe_and_never_an_output_name(names):
    folders = variant_folders(names)
    lowered = [f.lower() for f in folders.values()]
    assert len(set(lowered)) == len(names)
    assert not set(lowered) & {f.lower() for f in SWEEP_FILES}
    for folder in folders.values():
        assert re.fullmatch(r"[A-Za-z0-9._-]+", folder) and not folder.startswith(".") and len(folder) <= 90
        assert folder.split(".")[0].lower() not in {"con", "nul", "prn", "aux", "com1", "lpt1"}


@pytest.mark.parametrize(("name", "folder"), [("CON", "CON_"), ("nul.txt", "nul.txt_"), ("frontier.xlsx", "frontier.xlsx-2"),
                                              ("..", "variant"), ("a" * 300, "a" * 80)])
def test_awkward_scenario_names_become_safe_folders(name, folder):
    assert variant_folders([name])[name] == folder


def test_a_formula_scenario_name_is_no_live_reference_in_the_chart(tmp_path):
    """A scenario named "=cmd|' /C calc'!A0" became a <c:f> reference in frontier.xlsx's chart."""
    inputs = write_literal(tmp_path / "scen.xlsx", with_scenarios([(INJECTION, "budget_meur", 400)]))
    out = tmp_path / "out"
    result = cli("sweep", inputs, "--scenarios", "--budgets", "200,400", "-o", out, "--workers", "1")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out / "frontier.xlsx") as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
        texts = " ".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml"))
    references = re.findall(r"<c:f>(.*?)</c:f>", chart)
    assert references and all(re.fullmatch(r"Frontier!\$[A-Z]+\$\d+(:\$[A-Z]+\$\d+)?", r) for r in references), references
    assert "<f>" not in texts  # no cell formula anywhere
    book = openpyxl.load_workbook(out / "frontier.xlsx", read_only=True)
    scenarios = {r[1] for r in book["Frontier"].iter_rows(min_row=2, values_only=True)}
    book.close()
    assert INJECTION in scenarios  # kept as the text it is
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", [r"$\frac$", "_hidden", "cost $5 and $"])
def test_scenario_names_are_drawn_literally_in_matplotlib(tmp_path, name):
    """Mathtext in a scenario name ended in a traceback (exit 1); a leading "_" hid the legend entry."""
    inputs = write_literal(tmp_path / "scen.xlsx", with_scenarios([(name, "budget_meur", 400)]))
    out = tmp_path / "out"
    result = cli("sweep", inputs, "--scenarios", "--budgets", "200,400", "-o", out, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    assert chart_text(name).replace("\\$", "$").strip() == name.strip()
    assert not chart_text(name).startswith("_")


# --------------------------------------------------------------------------- class 3: terminal text literal


HOSTILE_TEXT = ["0:100:0", ":smiley:", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "a\rb", "\x9b31m",
                "\u202eevil"]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_a_hostile_file_name_is_printed_literally(tmp_path, text):
    """Error messages name the file: its name must not be markup, emoji or a terminal command."""
    text = text.replace("/", "_")  # a file name holds no "/"
    name = tmp_path / f"in{text}.xlsx"
    result = cli("validate", name)
    assert result.exit_code == 2, result.output
    output = result.output
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output and "\u202e" not in output
    assert "💯" not in output and "😃" not in output
    assert clean(f"in{text}") in output


@pytest.mark.parametrize("name", ["0:100:0", "[red]alert[/red]", "esc\x1b[31m"])
def test_scenario_names_reach_the_sweep_table_literally(tmp_path, name):
    inputs = write_literal(tmp_path / "scen.xlsx", with_scenarios([(name, "budget_meur", 400)]))
    result = cli("sweep", inputs, "--scenarios", "-o", tmp_path / "out", "--no-map", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert clean(name) in result.output and "\x1b" not in result.output and "💯" not in result.output


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_say_prints_any_text_as_it_is_with_controls_made_visible(text):
    out = Console(width=400, record=True, force_terminal=False, emoji=False, highlight=False, file=io.StringIO())
    say(out, ("warning: ", "yellow"), text)
    shown = out.export_text()
    assert shown == "warning: " + clean(text) + "\n"
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown)
    assert plain(text).plain == clean(text)


# --------------------------------------------------------------------------- class 6: options


@pytest.mark.parametrize("args", [
    ["--budgets", "0:1e308:1e-308"], ["--budgets", ",,,"], ["--budgets", " , "],
    ["--budgets", ",".join(str(i) for i in range(MAX_BUDGETS + 1))], ["--budgets", "1e300"], ["--budgets", "0:1e9:1e-300"],
    ["--budgets", "400", "--scheduler", "bogus"], ["--budgets", "400", "--scheduler", "tcp://host"],
    ["--budgets", "400", "--scheduler", "http://host:80"],
    ["--budgets", "400", "--time-limit", "nan"], ["--budgets", "400", "--time-limit", "inf"],
    ["--budgets", "400", "--mip-gap", "nan"],
])
def test_sweep_refuses_bad_options_with_a_message(tmp_path, tiny_in, args):
    result = cli("sweep", tiny_in, *args, "-o", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and ("--" in result.output)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--time-limit", "nan"], ["--time-limit", "inf"], ["--mip-gap", "nan"],
                                  ["--time-limit", "NaN"], ["--mip-gap", "inf"]])
def test_solve_refuses_non_finite_numbers(tmp_path, tiny_in, args):
    result = cli("solve", tiny_in, *args, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "not a finite number" in result.output
    assert not (tmp_path / "out").exists()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=1100))
def test_budget_lists_and_ranges_share_one_limit(count):
    listed = ",".join(str(i) for i in range(count))
    ranged = f"0:{count - 1}:1"
    for text in (listed, ranged):
        if count <= MAX_BUDGETS:
            assert parse_budgets(text) == [float(i) for i in range(count)]
        else:
            with pytest.raises(InputError, match="at most 1,000"):
                parse_budgets(text)


def test_threads_above_the_cores_are_capped_with_a_note(tmp_path, tiny_in, monkeypatch):
    monkeypatch.setattr(cli_main.os, "cpu_count", lambda: 2)
    asked = {}
    real = cowopt.solve

    def spy(data, **kwargs):
        asked.update(kwargs)
        return real(data, **kwargs)

    monkeypatch.setattr(cowopt, "solve", spy)
    result = cli("solve", tiny_in, "--threads", "100000", "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == 0, result.output
    assert asked["threads"] == 2
    assert "--threads 100000 is more than the 2 core(s)" in result.output and "using 2" in result.output


def test_workers_above_the_cores_are_capped_with_a_note(tmp_path, tiny_in, monkeypatch):
    monkeypatch.setattr(cli_main.os, "cpu_count", lambda: 1)
    seen = {}
    import cowopt.optimise.sensitivity as sensitivity

    real = sensitivity.run_variants

    def spy(data, variants, workers, *args, **kwargs):
        seen["workers"] = workers
        return real(data, variants, workers, *args, **kwargs)

    monkeypatch.setattr(sensitivity, "run_variants", spy)
    result = cli("sweep", tiny_in, "--budgets", "200,400", "--workers", "64", "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == 0, result.output
    assert seen["workers"] == 1 and "--workers 64 is more than the 1 core(s)" in result.output


# --------------------------------------------------------------------------- class 7: writing as one set


def test_ctrl_c_while_writing_keeps_the_previous_outputs_as_a_set(tmp_path, tiny_in, monkeypatch):
    """Ctrl-C after the map was drawn, while the plan was written: map.png was replaced and
    plan.xlsx stayed old. Now both stay old and no hidden file is left."""
    out = tmp_path / "out"
    assert cli("solve", tiny_in, "-o", out).exit_code == 0
    # the same inputs draw the same bytes: the inode says whether a file was replaced
    before = {name: (os.stat(out / name).st_ino, digest(out / name)) for name in ("plan.xlsx", "map.png")}
    import cowopt.report.plan as report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_plan_as", interrupted)
    previous = signal.getsignal(signal.SIGINT)
    try:
        result = cli("solve", tiny_in, "-o", out)
    finally:
        signal.signal(signal.SIGINT, previous)  # the CLI arms a second-Ctrl-C exit while it reports
    assert result.exit_code == 130, result.output
    assert {name: (os.stat(out / name).st_ino, digest(out / name)) for name in before} == before
    assert files_under(out) == {"plan.xlsx", "map.png"}


def test_a_killed_runs_hidden_files_are_removed_by_the_next_run(tmp_path, tiny_in):
    out = tmp_path / "out"
    out.mkdir()
    dead = 2 ** 22 + 12345  # above Linux's default pid_max: no such process
    leftovers = [f"{STAGE_PREFIX}{dead}-0-plan.xlsx", f"{STAGE_PREFIX}{dead}-1-map.png",
                 f".{STAGE_PREFIX}{dead}-0-plan-k3j_x9a2.xlsx", ".plan-abcd1234.xlsx", ".map-zz_9a8b7.png"]
    alive = f"{STAGE_PREFIX}{os.getppid()}-0-plan.xlsx"  # a live process (a run at work in the same folder)
    keep = [".plan-notes.xlsx", "my.plan-abcd1234.xlsx", alive]
    for name in leftovers + keep:
        (out / name).write_text("x")
    result = cli("solve", tiny_in, "-o", out, "--no-map")
    assert result.exit_code == 0, result.output
    assert files_under(out) == {"plan.xlsx", *keep}
    assert clean_stale(out) == []


# --------------------------------------------------------------------------- class 10: say which wins


def test_evaluate_help_claims_no_default_output_folder():
    result = cli("evaluate", "--help")
    assert result.exit_code == 0
    assert "default: outputs" not in result.output and "nothing is written" in " ".join(result.output.split())


def test_swept_budgets_win_over_a_scenarios_own_budget_and_say_so(tmp_path):
    inputs = write_literal(tmp_path / "scen.xlsx", with_scenarios([("budget_low", "budget_meur", 200),
                                                                   ("no_borduria", "eligible:Borduria", 0)]))
    out = tmp_path / "out"
    result = cli("sweep", inputs, "--budgets", "800", "--scenarios", "base,budget_low,no_borduria", "-o", out,
                 "--no-map", "--workers", "1")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "scenario 'budget_low' sets its own budget_meur" in said and "--budgets wins" in said
    assert "'no_borduria' sets" not in said
    book = openpyxl.load_workbook(out / "frontier.xlsx", read_only=True)
    notes = [r[0] for r in book["Notes"].iter_rows(min_row=2, values_only=True)]
    budgets = {r[0]: r[2] for r in book["Frontier"].iter_rows(min_row=2, values_only=True)}
    book.close()
    assert len(notes) == 1 and "budget_low" in notes[0] and "--budgets wins" in notes[0]
    assert budgets["budget_low-budget-800"] == 800  # and it did win


# --------------------------------------------------------------------------- issue 18: tables that fit


def example_like_frontier() -> pd.DataFrame:
    """The shape and magnitudes of the example's README sweep (3 scenarios x 2,000..12,000)."""
    rows = []
    for scenario, top in (("base", 7666.75), ("us_backstop", 8023.4), ("wider_coalition", 8374.25)):
        for i, budget in enumerate(range(2000, 12001, 2000)):
            rows.append({"variant": f"{scenario}-budget-{budget}", "scenario": scenario, "budget_meur": float(budget),
                         "status": "optimal" if i != 3 else "feasible", "objective": top * (0.45 + 0.11 * i),
                         "marginal_per_meur": float("nan") if i == 0 else 1.3210 / (i + 0.5),
                         "troops": 6345.0 + 1712 * i, "cost_meur": budget - 101.25, "gap": 6.1e-5 * (i + 1),
                         "solve_seconds": 1.2 + 10.37 * i})
    return pd.DataFrame(rows)


def numbers_of(frontier: pd.DataFrame) -> list[str]:
    return [text for row in frontier.itertuples(index=False) for key, text in cli_main._frontier_cells(row).items()
            if key not in ("scenario", "status") and text != "—"]


@pytest.mark.parametrize("width", [60, 80, 99, 100, 150])
def test_every_number_of_the_sweep_table_is_whole(width):
    frontier = example_like_frontier()
    out = Console(width=width, record=True, file=io.StringIO())
    cli_main._print_frontier(frontier, Path("outputs/example-sweep/frontier.xlsx"), out=out)
    shown = out.export_text()
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= width
    tokens = set(re.findall(r"[\d,.e+-]+|—", shown))
    missing = [n for n in numbers_of(frontier) if n not in tokens]
    assert missing == []


@pytest.mark.parametrize("width", [80, 150])
def test_every_figure_of_the_summary_is_whole(width, tiny_in):
    result = cowopt.solve(tiny_in)
    out = Console(width=width, record=True, file=io.StringIO())
    cli_main._print_summary(result, None, out=out)
    shown = out.export_text()
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= width
    from cowopt.report.plan import summary_rows

    for label, value, note in summary_rows(result):
        if label in ("objective (weighted coverage)", "troops", "cost_meur", "budget_meur", "gap", "objective share"):
            assert cli_main._format_figure(label, value, note) in shown, label
    assert re.search(r"objective share\s.*\d+\.\d%", shown)  # a share prints as a percentage at any width
