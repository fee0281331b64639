"""The `cowopt` command: thin click commands over the library API.

Exit status: 0 plan written; 2 bad input or usage; 3 infeasible (diagnosis written) or, for
`evaluate`, a plan that violates a constraint; 4 no feasible plan within the time limit (or
the solver failed); 1 only for a bug in cowopt. Library errors become clean messages here.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
import traceback
from pathlib import Path

import click

from cowopt.cli.document import clean_for_json, emit, reserve_stdout, restore_stdout
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


def _settle_imports() -> None:
    """Import the library, then move everything alive into the collector's permanent generation
    (gc.freeze): the objects of pandas, Pyomo and HiGHS live as long as the process, and each full
    collection during a command walked them all (~45 ms apiece on a 3,000-asset workbook; issue
    17). A command-line process only, never the library: a notebook's objects are its own."""
    import gc

    import cowopt  # noqa: F401  every command imports it; here so the freeze covers its imports

    gc.freeze()


def handle_errors(command):
    """Turn library errors into messages and exit codes; no traceback for anything expected.
    With --json, every outcome is also one JSON document on stdout (cli/document.py)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from cowopt.errors import CowoptError, InputError

        as_json = bool(kwargs.get("as_json"))
        console = _console()
        _settle_imports()
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            if as_json:
                emit({"status": "invalid_input", "exit_code": EXIT_INPUT, "written": False,
                      "problems": [{"file": p.file, "sheet": p.sheet, "cell": p.cell, "message": p.message}
                                   for p in exc.problems]})
            say(console, (f"{len(exc.problems)} problem(s) in the input; nothing was written:", "bold red"))
            for problem in exc.problems:
                say(console, "  ", problem)
            sys.exit(EXIT_INPUT)
        except CowoptError as exc:
            if as_json:
                emit({"status": "error", "exit_code": EXIT_INPUT, "written": False, "message": str(exc)})
            say(console, ("error: ", "bold red"), exc)
            sys.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            import signal

            # a further Ctrl-C while this is said must still end in 130, not in a traceback
            signal.signal(signal.SIGINT, lambda signum, frame: os._exit(130))
            if as_json:
                emit({"status": "interrupted", "exit_code": 130, "written": False})
            say(console, ("interrupted; no file was written", "yellow"))
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: say so plainly, keep the details for the report
            if as_json:
                emit({"status": "bug", "exit_code": EXIT_BUG, "written": False,
                      "message": f"{exc.__class__.__name__}: {exc}"})
            console.print("[bold red]internal error: this is a bug in cowopt, please report it with the details below[/]")
            console.print(plain(traceback.format_exc(limit=-3).replace("\t", "    ")))
            sys.exit(EXIT_BUG)

    return wrapper


class _Commands(click.Group):
    """The command group; with --json, a usage error (an unknown option, a value out of range)
    is a JSON document on stdout too, besides click's usual message on stderr."""

    def main(self, args=None, *rest, **kwargs):
        words = list(args) if args is not None else sys.argv[1:]
        self._json_asked = "--json" in words
        reserve_stdout()  # stdout carries only the --json document; library chatter goes to stderr
        try:
            return super().main(args, *rest, **kwargs)
        finally:
            restore_stdout()

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if getattr(self, "_json_asked", False):
                emit({"status": "usage_error", "exit_code": exc.exit_code, "written": False,
                      "message": exc.format_message()})
            raise


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")(f)


def map_option(f):
    return click.option("--no-map", is_flag=True, help="Do not draw map.png (faster batch runs).")(f)


def out_option(f):
    return click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Output folder (default: outputs/<input name>/).")(f)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cowopt")
def main() -> None:
    """Allocate a coalition reassurance force to sites: which state sends what where.

    Inputs and outputs are Excel workbooks; see `cowopt template` for the input contract.
    """


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@json_option
@handle_errors
def template(path: Path, force: bool, as_json: bool) -> None:
    """Write an empty, annotated input workbook to PATH."""
    from cowopt.errors import CowoptError
    from cowopt.workbook.template import write_template

    from cowopt.report.outputs import check_targets

    if path.exists() and not force:
        raise CowoptError(f"{path} exists; use --force to overwrite it")
    check_targets([path], [])  # even with --force: never over a workbook open in Excel or LibreOffice
    write_template(path)
    if as_json:
        emit({"status": "written", "exit_code": EXIT_OK, "written": True, "template_file": str(path)})
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
        emit(report)
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
    from cowopt.report.outputs import check_targets

    check_targets([out_dir / name for name in names], protected)


def _plan_names(no_map: bool, map_format: str = "png") -> list[str]:
    """The files solve and evaluate may write: the plan (or the diagnosis) and the map."""
    return ["plan.xlsx", "diagnosis.xlsx"] + ([] if no_map else [f"map.{map_format}", f"map_stages.{map_format}"])


def _write_outputs(result, out_dir: Path, no_map: bool, name: str = "plan.xlsx", map_format: str = "png",
                   dpi: int | None = None, fixed_from: str | None = None) -> tuple[Path, Path | None]:
    """The plan workbook and its map, written as one set (both or neither; see cowopt.outputs)."""
    from cowopt.report.outputs import OutputSet
    from cowopt.report.plan import write_plan_as

    with OutputSet() as outputs:
        staged_map = None
        if not no_map:
            from cowopt.report.plots import draw_map

            staged_map = draw_map(result, outputs.stage(out_dir / f"map.{map_format}"), dpi=dpi)
            if result.staged is not None and result.has_plan:  # issue 14: one panel per stage
                from cowopt.report.stagemaps import draw_stage_maps

                draw_stage_maps(result, outputs.stage(out_dir / f"map_stages.{map_format}"), dpi=dpi)
        write_plan_as(result, outputs.stage(out_dir / name), staged_map if map_format == "png" else None, fixed_from)
        outputs.commit()
    return out_dir / name, (out_dir / f"map.{map_format}" if staged_map else None)


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
@click.option("--map-format", type=click.Choice(["png", "pdf", "svg"]), default="png", show_default=True, help="map.png, map.pdf (page 2: what each site hosts) or map.svg.")
@click.option("--dpi", type=click.IntRange(min=50, max=600), help="Resolution of map.png (default 100: 1400 x 1000 px; 300 for print).")
@click.option("--robust", "robust_kind", type=click.Choice(["site", "state", "entry"]),
              help="Maximise the worst case over single losses of this kind (the same as `cowopt robust --against`).")
@click.option("--levers", "want_levers", is_flag=True,
              help="Price each demand by re-solving (the same as `cowopt levers`).")
@json_option
@click.pass_context
@handle_errors
def solve(ctx, inputs, out_dir, time_limit_s, mip_gap, threads, fix_plan, fix_exact, no_map, map_format, dpi,
          robust_kind, want_levers, as_json) -> None:
    """Optimise the allocation and write OUT/plan.xlsx (and map.png)."""
    import cowopt
    from cowopt.errors import CowoptError
    from cowopt.workbook.planfile import fixed_from_plan

    if robust_kind or want_levers:
        asked = [name for name, on in (("--robust", robust_kind), ("--levers", want_levers), ("--fix", fix_plan),
                                       ("--threads", threads)) if on]
        if len(asked) > 1:
            raise CowoptError(f"{' and '.join(asked)} cannot be combined; run them one at a time")
        given = {k: v for k, v in (("out_dir", out_dir), ("time_limit_s", time_limit_s), ("mip_gap", mip_gap)) if v is not None}
        if robust_kind:
            ctx.invoke(robust, inputs=inputs, against=robust_kind, no_map=no_map, as_json=as_json, **given)
        ctx.invoke(levers, inputs=inputs, as_json=as_json, **given)
        return

    out_dir = out_dir or default_out_dir(inputs)
    _guard_outputs(out_dir, [inputs, fix_plan], _plan_names(no_map, map_format))
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
            fixed_from = f"{fix_plan} ({'exactly' if fix_exact else 'as minimums'})" if fix_plan else None
            written, map_path = _write_outputs(result, out_dir, no_map, map_format=map_format, dpi=dpi,
                                               fixed_from=fixed_from)
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
        summary["exit_code"] = exit_code(result)
        emit(clean_for_json(summary))
    else:
        _print_summary(result, written)
    sys.exit(exit_code(result))


def exit_code(result) -> int:
    from cowopt.optimise.solve import Status

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

    from cowopt.report.plan import summary_rows

    console = out or _console()
    wide = console.width >= NARROW
    table = Table(title=plain(f"cowopt {result.mode}: {result.data.source}"), show_header=False)
    table.add_column("figure", style="bold", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True, overflow="fold")  # never wrapped at a comma
    if wide:
        table.add_column("note", overflow="fold")
    shown = {"status", "objective (weighted coverage)", "objective share", "troops", "cost_meur", "budget_meur",
             "violations", "unmet rules", "gap", "solve_seconds", "independent check"}
    said: set[str] = set()  # narrow: a note repeated row after row (the coverage shares) is said once
    for label, value, note in summary_rows(result):
        if label in shown or label.startswith("coverage share"):
            value_text = plain(_format_figure(label, value, note))  # before the note is shortened: "share" formats
            if label == "independent check" and value == "passed":
                note = "plan re-scored apart from the model; hard constraints met"
            note = "" if note == "share" or (not wide and note in said) else str(note)
            said.add(note)
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
@click.option("--map-format", type=click.Choice(["png", "pdf", "svg"]), default="png", show_default=True, help="map.png, map.pdf (page 2: what each site hosts) or map.svg.")
@click.option("--dpi", type=click.IntRange(min=50, max=600), help="Resolution of map.png (default 100: 1400 x 1000 px; 300 for print).")
@json_option
@handle_errors
def evaluate(inputs, plan, out_dir, no_map, map_format, dpi, as_json) -> None:
    """Score a (hand-edited) PLAN workbook against INPUTS without optimising.

    Exit 0 if the plan meets every constraint, 3 if it violates any (each is listed).
    With -o DIR, writes the evaluated plan workbook (and its map) to DIR; without -o, writes nothing.
    """
    import cowopt

    if out_dir:
        _guard_outputs(out_dir, [inputs, plan], _plan_names(no_map, map_format))
    result = cowopt.evaluate(inputs, plan)
    written = map_path = None
    if out_dir:
        written, map_path = _write_outputs(result, out_dir, no_map, map_format=map_format, dpi=dpi)
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
    from cowopt.workbook import scenarios as scenarios_mod
    from cowopt.errors import CowoptError
    from cowopt.report.outputs import check_targets
    from cowopt.optimise.sensitivity import check_scheduler, frontier_table, parse_budgets, plan_variants, run_variants
    from cowopt.report.sweep import SWEEP_FILES, renamed_folders, sweep_targets, write_sweep

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
        emit(frontier.to_json(orient="records", indent=2))
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


# ---------------------------------------------------------------------------- decisions (issue 16)
# stress, levers, alternatives: what a plan does not survive, what each demand costs, what else
# would do nearly as well. Documented in docs/decisions.md.


def _worst_table(title: str, frame, columns: list[tuple[str, str, str]]) -> None:
    """A rich table of rows of `frame`: (column, header, format)."""
    from rich.table import Table

    table = Table(title=plain(title))
    for _, header, _ in columns:
        table.add_column(header, justify="left" if header in ("loss", "lever", "what") else "right")
    for row in frame.to_dict("records"):
        cells = []
        for column, _, spec in columns:
            value = row.get(column)
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            cells.append("—" if missing else format(value, spec) if spec else str(value))
        table.add_row(*(plain(c) for c in cells))  # names from the inputs print literally
    _console().print(table)


def _records(frame) -> list:
    import json as _json

    return clean_for_json(_json.loads(frame.to_json(orient="records")))


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.argument("plan", type=click.Path(path_type=Path))
@out_option
@click.option("--pairs", is_flag=True, help="Also every pair of losses (capped by --max-pairs).")
@click.option("--max-pairs", type=click.IntRange(min=1), default=300, show_default=True,
              help="Most pairs scored; beyond it, the pairs among the worst single losses.")
@click.option("--replan", is_flag=True, help="Re-optimise around each single loss with the surviving deployments pinned.")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes for --replan (default: cores).")
@json_option
@handle_errors
def stress(inputs, plan, out_dir, pairs, max_pairs, replan, workers, as_json) -> None:
    """The coverage PLAN keeps after each single loss: a contributor withdraws, a crossing
    closes, a site is struck. Writes OUT/stress.xlsx and OUT/stress.png (default
    outputs/<input name>-stress/)."""
    import cowopt
    from cowopt.report.decisions import write_stress
    from cowopt.workbook.planfile import read_plan
    from cowopt.scoring.stress import stress as run_stress

    out_dir = out_dir or Path("outputs") / f"{inputs.stem}-stress"
    _guard_outputs(out_dir, [inputs, plan], ["stress.xlsx", "stress.png"])
    data = cowopt.load(inputs)
    table = read_plan(plan)
    spinner, progress = _progress()
    with spinner:
        progress("scoring every single loss")
        report = run_stress(data, table, pairs=pairs, max_pairs=max_pairs, replan=replan, workers=workers,
                            progress=progress)
        progress("writing stress.xlsx and stress.png")
        book, png = write_stress(report, out_dir)
    worst = report.worst(10)
    if as_json:
        emit(clean_for_json({"status": "done", "exit_code": EXIT_OK, "written": True, "input_file": data.source,
                             "plan_file": str(plan), "baseline_coverage": report.baseline, "notes": report.notes,
                             "worst": _records(worst), "losses": _records(report.singles),
                             "pairs": _records(report.pairs), "stress_file": str(book), "chart_file": str(png),
                             "seconds": round(report.seconds, 3)}))
    else:
        columns = [("kind", "loss", ""), ("lost", "what", ""), ("coverage_lost", "points lost", ",.1f"),
                   ("share_lost", "share", ".1%"), ("troops_lost", "troops", ","), ("assets_affected", "assets", ","),
                   ("throughput_shortfall", "short", ","), ("rules_broken", "rules broken", "")]
        if replan:
            columns.append(("replan_coverage", "replanned", ",.1f"))
        _worst_table(f"worst single losses (plan covers {report.baseline:,.1f} points)", worst, columns)
        for note in report.notes:
            say(_console(), ("  note: ", "yellow"), note)
        say(_console(), "written: ", f"{book} and {png}")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@out_option
@click.option("--step", type=FiniteFloat(0.1, 1000), default=10.0, show_default=True,
              help="One step up for budget, mission max, state caps and throughputs, in %.")
@click.option("--buffer-step", "buffer_step_km", type=FiniteFloat(1), default=25.0, show_default=True,
              help="One step down for frontline_buffer_km, in km.")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: cores).")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1), help="Seconds per solve.")
@click.option("--mip-gap", type=FiniteFloat(0, 1), help="Relative gap per solve (0: exact prices).")
@json_option
@handle_errors
def levers(inputs, out_dir, step, buffer_step_km, workers, time_limit_s, mip_gap, as_json) -> None:
    """The price of each demand: how much the optimum gains if a rule is dropped, the core
    lead dropped, the buffer lowered, or the budget, a state's cap, a crossing's throughput
    raised one step; each by a fresh solve. Writes OUT/levers.xlsx and OUT/levers.png
    (default outputs/<input name>-levers/)."""
    import cowopt
    from cowopt.report.decisions import write_levers
    from cowopt.decisions.levers import price_levers

    out_dir = out_dir or Path("outputs") / f"{inputs.stem}-levers"
    _guard_outputs(out_dir, [inputs], ["levers.xlsx", "levers.png"])
    data = cowopt.load(inputs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console()) as bar:
        task = bar.add_task("solving the base and each relaxed demand", total=None)
        report = price_levers(data, step=step / 100, buffer_step_km=buffer_step_km, workers=workers,
                              time_limit_s=time_limit_s, mip_gap=mip_gap,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
        book, png = write_levers(report, out_dir)
    failed = report.base["objective"] is None
    code = (EXIT_INFEASIBLE if report.base["status"] == "infeasible" else EXIT_NO_PLAN) if failed else EXIT_OK
    if as_json:
        emit(clean_for_json({"status": "done" if not failed else report.base["status"], "exit_code": code,
                             "written": True, "input_file": data.source, "base_status": report.base["status"],
                             "base_coverage": report.base["coverage"], "base_objective": report.base["objective"],
                             "levers": _records(report.table), "levers_file": str(book), "chart_file": str(png),
                             "seconds": round(report.seconds, 3)}))
    else:
        base = report.base
        title = (f"price of each demand (optimum {base['coverage']:,.1f}; base status {base['status']})"
                 if not failed else f"the base problem has no plan: {base['status']} {base['note']}")
        _worst_table(title, report.table.head(15), [("lever", "lever", ""), ("relaxed_to", "relaxed to", ""),
                                                     ("objective_gain", "gain", ",.2f"), ("status", "status", "")])
        say(_console(), "written: ", f"{book} and {png}")
    sys.exit(code)


def _percent(ctx, param, value):
    """'5%' or '5' -> 0.05."""
    if value is None:
        return None
    text = str(value).strip().rstrip("%").strip()
    try:
        number = float(text)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a percentage (e.g. 5%)") from None
    if not 0 <= number < 100:
        raise click.BadParameter(f"'{value}': expected a percentage from 0 up to (not including) 100")
    return number / 100


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.option("--count", type=click.IntRange(min=1, max=50), default=3, show_default=True, help="How many alternatives.")
@click.option("--within", callback=_percent, default="5%", show_default=True,
              help="Each alternative's coverage at least (100 − P) % of the optimum's, e.g. 5%.")
@out_option
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1), default=15.0, show_default=True,
              help="Seconds per alternative (the best plan found by then is kept).")
@click.option("--mip-gap", type=FiniteFloat(0, 1), default=0.01, show_default=True,
              help="Relative gap per alternative (on its distance objective).")
@map_option
@json_option
@handle_errors
def alternatives(inputs, count, within, out_dir, time_limit_s, mip_gap, no_map, as_json) -> None:
    """N plans within P % of the optimum, each as different as possible from the ones before.
    Writes OUT/alternatives.xlsx and each plan's folder with plan.xlsx and map.png (default
    outputs/<input name>-alternatives/)."""
    import cowopt
    from cowopt.decisions.alternatives import find_alternatives
    from cowopt.report.decisions import write_alternatives

    out_dir = out_dir or Path("outputs") / f"{inputs.stem}-alternatives"
    folders = ["optimum"] + [f"alternative-{i}" for i in range(1, count + 1)]  # as decision_report writes them
    _guard_outputs(out_dir, [inputs], ["alternatives.xlsx"] + [f"{f}/{name}" for f in folders
                                                                for name in ["plan.xlsx"] + ([] if no_map else ["map.png"])])
    data = cowopt.load(inputs)
    spinner, progress = _progress()
    with spinner:
        alts = find_alternatives(data, count, within, time_limit_s=time_limit_s, mip_gap=mip_gap, progress=progress)
        book, maps = None, []
        if alts.optimum.has_plan:
            progress("writing alternatives.xlsx, the plans and their maps")
            book, maps = write_alternatives(alts, out_dir, no_map)
    code = exit_code(alts.optimum)
    if as_json:
        emit(clean_for_json({"status": alts.optimum.status.value if not alts.optimum.has_plan else "done",
                             "exit_code": code, "written": book is not None, "input_file": data.source,
                             "within": within, "floor": alts.floor if alts.optimum.has_plan else None,
                             "found": sum(1 for r in alts.plans if r.has_plan),
                             "comparison": _records(alts.comparison) if len(alts.comparison) else [],
                             "diagnosis": list(alts.optimum.diagnosis), "alternatives_file": str(book) if book else None,
                             "map_files": [str(m) for m in maps], "seconds": round(alts.seconds, 3)}))
    elif alts.optimum.has_plan:
        _worst_table(f"alternatives within {within:.1%} of the optimum", alts.comparison,
                     [("plan", "what", ""), ("status", "status", ""), ("coverage", "coverage", ",.1f"),
                      ("share_of_optimum", "of optimum", ".1%"), ("cost_meur", "cost", ",.0f"),
                      ("states", "states", ","), ("distance_to_optimum", "differs from optimum", ","),
                      ("least_distance_to_earlier", "from earlier", ",.0f")])
        say(_console(), "written: ", book)
    else:
        _finish(alts.optimum, None, None, False)
    sys.exit(code)


@main.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.option("--against", type=click.Choice(["site", "state", "entry"]), required=True,
              help="The kind of single loss to be robust against.")
@out_option
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1), default=45.0, show_default=True,
              help="Seconds for each of the two solves (the best robust plan found by then is kept).")
@click.option("--method", type=click.Choice(["expanded", "rowgen"]), default="expanded", show_default=True,
              help="expanded: every loss in one MIP; rowgen: losses added one by one until the plan holds.")
@click.option("--mip-gap", type=FiniteFloat(0, 1), help="Relative gap (overrides Settings mip_gap).")
@map_option
@json_option
@handle_errors
def robust(inputs, against, out_dir, time_limit_s, method, mip_gap, no_map, as_json) -> None:
    """The plan whose worst single loss (a site, a contributor or a crossing) leaves the most
    coverage (max–min), against the ordinary optimum: both worst cases, both nominal coverages,
    the price of robustness. Writes OUT/robust.xlsx and the robust plan's OUT/plan.xlsx and
    map.png (default outputs/<input name>-robust-<kind>/)."""
    import cowopt
    from cowopt.report.decisions import write_robust
    from cowopt.decisions.robust import solve_robust

    out_dir = out_dir or Path("outputs") / f"{inputs.stem}-robust-{against}"
    _guard_outputs(out_dir, [inputs], ["robust.xlsx", "plan.xlsx"] + ([] if no_map else ["map.png"]))
    data = cowopt.load(inputs)
    spinner, progress = _progress()
    with spinner:
        result = solve_robust(data, against, method=method, time_limit_s=time_limit_s, mip_gap=mip_gap,
                              progress=progress)
        book = png = None
        if result.nominal.has_plan or result.robust.has_plan:
            progress("writing robust.xlsx and the robust plan")
            book, png = write_robust(result, out_dir, no_map)
    code = EXIT_OK if result.robust.has_plan else exit_code(result.robust) if result.robust.status.value != "error" else EXIT_NO_PLAN
    if as_json:
        emit(clean_for_json({"status": "done" if result.robust.has_plan else result.robust.status.value,
                             "exit_code": code, "written": book is not None, "input_file": data.source,
                             **result.summary, "scenarios_table": _records(result.scenarios),
                             "diagnosis": list(result.nominal.diagnosis) + list(result.robust.diagnosis),
                             "robust_file": str(book) if book else None, "map_file": str(png) if png else None,
                             "seconds": round(result.seconds, 3)}))
    else:
        s = result.summary

        def fmt(value):
            return "—" if value is None else f"{value:,.1f}"

        console = _console()
        say(console, f"robust against one {against} loss ({s['scenarios']} losses; status {s['status']}):")
        say(console, f"  ordinary optimum: coverage {fmt(s['nominal_coverage'])}, worst case "
            f"{fmt(s['nominal_worst_case'])} (losing {s['nominal_worst_loss'] or '—'})")  # loss names: input text
        say(console, f"  robust plan:      coverage {fmt(s['robust_coverage'])}, worst case "
            f"{fmt(s['robust_worst_case'])} (losing {s['robust_worst_loss'] or '—'})")
        if s.get("price_of_robustness") is not None:
            say(console, f"  price of robustness: {fmt(s['price_of_robustness'])} points of nominal coverage for "
                f"{fmt(s['worst_case_gain'])} more in the worst case")
        for reason in list(result.nominal.diagnosis) + [r for r in result.robust.diagnosis if r not in result.nominal.diagnosis]:
            say(console, ("  why: ", "red"), reason)
        if book:
            say(console, "written: ", book)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
