"""The `cowopt` command: thin click commands over the library API.

Exit status: 0 plan written; 2 bad input or usage; 3 infeasible (diagnosis written) or, for
`evaluate`, a plan that violates a constraint; 4 no feasible plan within the time limit (or
the solver failed); 1 only for a bug in cowopt. Library errors become clean messages here.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

import click

from cowopt.cli.terminal import NARROW, plain, say
from cowopt.cli.terminal import console as _console

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4
MAX_THREADS_PER_CORE = 1  # more HiGHS threads or sweep processes than cores only slows every one down


class FiniteFloat(click.ParamType):
    """A float within [low, high]; nan and inf are refused (click's FloatRange lets nan through)."""

    name = "float"

    def __init__(self, low: float, high: float | None = None):
        self.low, self.high = low, high

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{plain(value).plain[:40]!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if number < self.low or (self.high is not None and number > self.high):
            upper = f" and at most {self.high:g}" if self.high is not None else ""
            self.fail(f"{number:g} is out of range: expected at least {self.low:g}{upper}", param, ctx)
        return number


def _capped(option: str, asked: int | None) -> int | None:
    """`asked` processes or threads, capped at the machine's cores (with a note on stderr)."""
    cores = os.cpu_count() or 1
    limit = cores * MAX_THREADS_PER_CORE
    if asked is not None and asked > limit:
        say(_console(), ("note: ", "yellow"), f"{option} {asked} is more than the {cores} core(s) of this machine; "
            f"using {limit}")
        return limit
    return asked


def handle_errors(command):
    """Turn library errors into messages and exit codes; no traceback for anything expected."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from cowopt.errors import CowoptError, InputError

        console = _console()
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            say(console, (f"{len(exc.problems)} problem(s) in the input; nothing was written:", "bold red"))
            for problem in exc.problems:
                say(console, "  ", problem)
            sys.exit(EXIT_INPUT)
        except CowoptError as exc:
            say(console, ("error: ", "bold red"), exc)
            sys.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            import signal

            # a further Ctrl-C while this is said must still end in 130, not in a traceback
            signal.signal(signal.SIGINT, lambda signum, frame: os._exit(130))
            say(console, ("interrupted; no file was written", "yellow"))
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception:  # a bug: say so plainly, keep the details for the report
            console.print("[bold red]internal error: this is a bug in cowopt, please report it with the details below[/]")
            console.print(plain(traceback.format_exc(limit=-3).replace("\t", "    ")))
            sys.exit(EXIT_BUG)

    return wrapper


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")(f)


def map_option(f):
    return click.option("--no-map", is_flag=True, help="Do not draw map.png (faster batch runs).")(f)


def out_option(f):
    return click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Output folder (default: outputs/<input name>/).")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cowopt")
def main() -> None:
    """Allocate a coalition reassurance force to sites: which state sends what where.

    Inputs and outputs are Excel workbooks; see `cowopt template` for the input contract.
    """


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@handle_errors
def template(path: Path, force: bool) -> None:
    """Write an empty, annotated input workbook to PATH."""
    from cowopt.errors import CowoptError
    from cowopt.template import write_template

    if path.exists() and not force:
        raise CowoptError(f"{path} exists; use --force to overwrite it")
    write_template(path)
    say(_console(), "template written: ", path)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@json_option
@handle_errors
def validate(inputs: Path, as_json: bool) -> None:
    """Check an input workbook without solving; lists every problem by cell."""
    import cowopt

    data = cowopt.load(inputs)
    report = {"status": "valid", "input_file": data.source, "warnings": list(data.warnings),
              "states": len(data.states), "items": len(data.items), "sites": len(data.sites),
              "assets": len(data.assets), "entry_points": len(data.entry_points), "rules": len(data.rules),
              "scenarios": sorted(set(data.scenarios["scenario"])) if len(data.scenarios) else []}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = _console()
    say(console, (inputs.name, "green"), (" is valid", "green"), f": {report['states']} states, {report['items']} item "
        f"types, {report['sites']} sites, {report['assets']} assets, {report['entry_points']} entry points, "
        f"{report['rules']} rules")
    for warning in data.warnings:
        say(console, ("  warning: ", "yellow"), warning)


def default_out_dir(inputs: Path) -> Path:
    return Path("outputs") / inputs.stem


def _guard_outputs(out_dir: Path, protected: list[Path | None], names: list[str]) -> None:
    """Before any work: no output may overwrite an input (same path or inode) nor a file that
    Excel/LibreOffice holds open; every such problem is listed (exit 2, nothing written)."""
    from cowopt.outputs import check_targets

    check_targets([out_dir / name for name in names], protected)


def _plan_names(no_map: bool) -> list[str]:
    """The files solve and evaluate may write: the plan (or the diagnosis) and the map."""
    return ["plan.xlsx", "diagnosis.xlsx"] + ([] if no_map else ["map.png"])


def _write_outputs(result, out_dir: Path, no_map: bool, name: str = "plan.xlsx") -> tuple[Path, Path | None]:
    """The plan workbook and its map, written as one set (both or neither; see cowopt.outputs)."""
    from cowopt.outputs import OutputSet
    from cowopt.report import write_plan_as

    with OutputSet() as outputs:
        staged_map = None
        if not no_map:
            from cowopt.plots import draw_map

            staged_map = draw_map(result, outputs.stage(out_dir / "map.png"))
        write_plan_as(result, outputs.stage(out_dir / name), staged_map)
        outputs.commit()
    return out_dir / name, (out_dir / "map.png" if staged_map else None)


def _progress():
    from rich.status import Status as Spinner

    spinner = Spinner("starting", console=_console())
    return spinner, lambda message: spinner.update(message)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@out_option
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1), help="Seconds (overrides Settings time_limit_s).")
@click.option("--mip-gap", type=FiniteFloat(0, 1), help="Relative gap (overrides Settings mip_gap).")
@click.option("--threads", type=click.IntRange(min=1), help="Threads for HiGHS's parallel tree search (default 1: serial "
              "search; at most the number of cores).")
@click.option("--fix", "fix_plan", type=click.Path(path_type=Path), help="Keep this plan's deployments (as minimums) and optimise the rest.")
@click.option("--fix-exact", is_flag=True, help="With --fix: keep the plan's counts exactly, not as minimums.")
@map_option
@json_option
@handle_errors
def solve(inputs, out_dir, time_limit_s, mip_gap, threads, fix_plan, fix_exact, no_map, as_json) -> None:
    """Optimise the allocation and write OUT/plan.xlsx (and map.png)."""
    import cowopt
    from cowopt.planfile import fixed_from_plan

    out_dir = out_dir or default_out_dir(inputs)
    _guard_outputs(out_dir, [inputs, fix_plan], _plan_names(no_map))
    threads = _capped("--threads", threads)
    started = time.perf_counter()
    data = cowopt.load(inputs)
    read_seconds = time.perf_counter() - started
    fixed = fixed_from_plan(fix_plan) if fix_plan else None
    spinner, progress = _progress()
    with spinner:
        result = cowopt.solve(data, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads,
                              fixed=fixed, fix_exact=fix_exact, progress=progress)
        result.seconds["read"] = read_seconds
        if result.has_plan:
            progress("writing the plan workbook")
            written, map_path = _write_outputs(result, out_dir, no_map)
        elif result.status.value == "infeasible":
            written, map_path = _write_outputs(result, out_dir, True, "diagnosis.xlsx")
        else:
            written = map_path = None
    _finish(result, written, map_path, as_json)


def _finish(result, written, map_path, as_json: bool) -> None:
    summary = result.summary()
    summary["plan_file"] = str(written) if written else None
    summary["map_file"] = str(map_path) if map_path else None
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(result, written)
    sys.exit(exit_code(result))


def exit_code(result) -> int:
    from cowopt.solve import Status

    if result.mode == "evaluate":
        return EXIT_OK if result.score.feasible else EXIT_INFEASIBLE
    if result.status.has_plan:
        return EXIT_OK
    if result.status == Status.INFEASIBLE:
        return EXIT_INFEASIBLE
    return EXIT_NO_PLAN


def _format_figure(label: str, value, note: str) -> str:
    if value is None:
        return "—"
    if note == "share" or label.startswith("coverage share"):
        return f"{value:.1%}"
    if label == "gap":
        return f"{value:.2e}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _print_summary(result, written, out=None) -> None:
    """The main figures as a table; the notes go in a third column only on a wide terminal."""
    from rich.table import Table

    from cowopt.report import summary_rows

    console = out or _console()
    wide = console.width >= NARROW
    table = Table(title=plain(f"cowopt {result.mode}: {result.data.source}"), show_header=False)
    table.add_column("figure", style="bold", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True, overflow="fold")  # never wrapped at a comma
    if wide:
        table.add_column("note", overflow="fold")
    shown = {"status", "objective (weighted coverage)", "objective share", "troops", "cost_meur", "budget_meur",
             "violations", "unmet rules", "gap", "solve_seconds"}
    said: set[str] = set()  # narrow: a note repeated row after row (the coverage shares) is said once
    for label, value, note in summary_rows(result):
        if label in shown or label.startswith("coverage share"):
            note = "" if note == "share" or (not wide and note in said) else str(note)
            said.add(note)
            value_text = plain(_format_figure(label, value, note))
            if wide:
                table.add_row(plain(label), value_text, plain(note))
            else:  # narrow: the note goes under the figure's name
                table.add_row(plain(f"{label}\n  {note}" if note and note != "s" else label), value_text)
    console.print(table)
    if result.score is not None:
        for violation in result.score.violations:
            say(console, ("  violation: ", "red"), violation)
    for reason in result.diagnosis:
        say(console, ("  why: ", "red"), reason)
    for warning in result.data.warnings:
        say(console, ("  warning: ", "yellow"), warning)
    if written:
        say(console, "written: ", written)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the evaluated plan.xlsx and map.png to this folder (no default: without -o nothing is written).")
@map_option
@json_option
@handle_errors
def evaluate(inputs, plan, out_dir, no_map, as_json) -> None:
    """Score a (hand-edited) PLAN workbook against INPUTS without optimising.

    Exit 0 if the plan meets every constraint, 3 if it violates any (each is listed).
    With -o DIR, writes the evaluated plan workbook (and its map) to DIR; without -o, writes nothing.
    """
    import cowopt

    if out_dir:
        _guard_outputs(out_dir, [inputs, plan], _plan_names(no_map))
    result = cowopt.evaluate(inputs, plan)
    written = map_path = None
    if out_dir:
        written, map_path = _write_outputs(result, out_dir, no_map)
    _finish(result, written, map_path, as_json)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.option("--budgets", help="Budgets in M EUR: '500,1000,2000' or START:STOP:STEP (stop included).")
@click.option("--scenarios", "scenario_list", is_flag=False, flag_value="*", default=None,
              help="Scenario names from the Scenarios sheet, comma-separated; alone: all of them.")
@out_option
@click.option("--workers", type=click.IntRange(min=1), help="Parallel local processes (default and at most: number of cores).")
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run the variants on a cluster.")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1), help="Seconds per variant.")
@click.option("--mip-gap", type=FiniteFloat(0, 1), help="Relative gap per variant.")
@click.option("--rebuild", is_flag=True, help="Rebuild the model for every budget (for comparison; slower).")
@map_option
@json_option
@handle_errors
def sweep(inputs, budgets, scenario_list, out_dir, workers, scheduler, time_limit_s, mip_gap, rebuild, no_map, as_json) -> None:
    """Run budget variants and/or scenarios; write frontier.xlsx, frontier.png and each variant's plan."""
    import cowopt
    from cowopt import scenarios as scenarios_mod
    from cowopt.errors import CowoptError
    from cowopt.outputs import check_targets
    from cowopt.sensitivity import check_scheduler, frontier_table, parse_budgets, plan_variants, run_variants
    from cowopt.sweep_report import SWEEP_FILES, renamed_folders, sweep_targets, write_sweep

    if not budgets and scenario_list is None:
        raise CowoptError("give --budgets, --scenarios, or both")
    out_dir = out_dir or Path("outputs") / f"{inputs.stem}-sweep"
    # options first (cheap, all problems at once), then the outputs, before any solving
    budget_list = parse_budgets(budgets) if budgets is not None else None
    check_scheduler(scheduler)
    workers = _capped("--workers", workers)
    _guard_outputs(out_dir, [inputs], list(SWEEP_FILES))
    data = cowopt.load(inputs)
    names = None
    if scenario_list is not None:
        names = scenarios_mod.names(data) if scenario_list == "*" else [n.strip() for n in scenario_list.split(",") if n.strip()]
        if not names:
            raise CowoptError(f"{inputs.name} has no Scenarios sheet rows; nothing to sweep")
    variants = plan_variants(data, budget_list, names)
    check_targets(sweep_targets(out_dir, [v.name for v in variants], no_map), [inputs])
    budget_notes = _budget_notes(data, budget_list, names)
    console = _console()
    for note in budget_notes + [f"variant '{name}' is written to folder {folder}/ (its cleaned name is taken by "
                                "another variant)" for name, folder in renamed_folders([v.name for v in variants]).items()]:
        say(console, ("note: ", "yellow"), note)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(bar_width=None), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"solving {len(variants)} variants", total=len(variants))
        pairs = run_variants(data, variants, workers, scheduler, time_limit_s, mip_gap, rebuild,
                             progress=lambda done, total, name: bar.update(task, completed=done,
                                                                           description=_short(f"done: {name}")))
        bar.update(task, description="writing the frontier and the plans")
        frontier = frontier_table(pairs)
        written = write_sweep(frontier, pairs, out_dir, no_map=no_map, notes=budget_notes)
    if as_json:
        click.echo(frontier.to_json(orient="records", indent=2))
    else:
        _print_frontier(frontier, written)
    failed = frontier["status"].isin(["error", "no_plan_in_time"]).all()
    sys.exit(EXIT_NO_PLAN if failed else EXIT_OK)


def _short(text: str, limit: int = 32) -> str:
    """A progress description short enough to leave the counts whole on an 80-column terminal."""
    text = plain(text).plain
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _budget_notes(data, budgets, names) -> list[str]:
    """Say which budget wins when --budgets meets a scenario that sets its own budget_meur."""
    if not budgets or not names or not len(data.scenarios):
        return []
    keys = data.scenarios["key"].astype(str).str.strip().str.lower()
    own = [n for n in dict.fromkeys(names) if ((data.scenarios["scenario"] == n) & (keys == "budget_meur")).any()]
    return [f"scenario '{n}' sets its own budget_meur (Scenarios sheet); --budgets wins: it is solved at each "
            "of the --budgets instead" for n in own]


def _frontier_cells(row) -> dict[str, str]:
    def fmt(value, spec):
        return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    return {"scenario": row.scenario, "budget": fmt(row.budget_meur, ",.0f"), "status": row.status,
            "coverage": fmt(getattr(row, "objective", None), ",.1f"),
            "per M EUR": fmt(getattr(row, "marginal_per_meur", None), ".3f"),
            "troops": fmt(getattr(row, "troops", None), ",.0f"), "cost": fmt(getattr(row, "cost_meur", None), ",.1f"),
            "gap": fmt(getattr(row, "gap", None), ".1e"), "solve s": fmt(getattr(row, "solve_seconds", None), ".1f")}


# on a narrow terminal, pairs of figures share a column, one above the other
_NARROW_GROUPS = (("scenario", "budget"), ("status",), ("coverage", "per M EUR"), ("troops", "cost"), ("gap", "solve s"))


def _print_frontier(frontier, written, out=None) -> None:
    """The sweep table: one column per figure on a wide terminal, two figures per column below
    NARROW columns; numbers are never wrapped nor cut (only scenario names fold)."""
    from rich.table import Table

    console = out or _console()
    wide = console.width >= NARROW
    groups = tuple((h,) for h in _NARROW_GROUPS_FLAT) if wide else _NARROW_GROUPS
    table = Table(title="cowopt sweep", show_lines=not wide)  # stacked rows need lines between variants
    for group in groups:
        text_column = group[0] in ("scenario", "status")
        table.add_column("\n".join(group), justify="left" if text_column else "right",
                         no_wrap=group[0] != "scenario", overflow="fold")
    for row in frontier.itertuples(index=False):
        cells = _frontier_cells(row)
        table.add_row(*(plain("\n".join(cells[h] for h in group)) for group in groups))
    console.print(table)
    say(console, "written: ", written)


_NARROW_GROUPS_FLAT = tuple(h for group in _NARROW_GROUPS for h in group)


if __name__ == "__main__":  # pragma: no cover
    main()
