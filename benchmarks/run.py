"""Benchmark runner: time cowopt (and spopt on maximal-covering instances) per instance.

    python benchmarks/run.py [--sizes small,example,mclp-200] [--runs 3] [--time-limit 60]
                             [--json out.json] [--no-spopt] [--profile large]

Every run of every instance happens in a fresh Python process, so the peak memory reported
(getrusage ru_maxrss, process-wide and monotone) belongs to that run alone. Each child prints
one JSON line; the parent takes medians over runs, prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "inputs" / "example.xlsx"
sys.path.insert(0, str(HERE))

# kind, shape, gap asked, targets (from issue 6; the mclp speedup from issue 17). "total_s" is reading to writing.
SIZES = {
    "example": {"kind": "example", "gap": 1e-4, "targets": {"total_s": 2.0, "gap": 1e-4},
                "about": "inputs/example.xlsx, the shipped example"},
    "example-staged": {"kind": "example", "file": "inputs/example_staged.xlsx", "gap": 1e-4,
                       "targets": {"total_s": 10.0, "gap": 1e-4},
                       "about": "inputs/example_staged.xlsx, the example in 4 stages (issue 14)"},
    "example-threats": {"kind": "example", "file": "inputs/example_threats.xlsx", "gap": 1e-4,
                        "targets": {"total_s": 3.0, "gap": 1e-4},
                        "about": "inputs/example_threats.xlsx: ranges per threat, borders, bases abroad, transit (issue 15)"},
    "small": {"kind": "full", "sites": 40, "assets": 120, "states": 12, "gap": 1e-4,
              "targets": {"total_s": 10.0, "gap": 1e-4},
              "about": "full model, 40 sites x 120 assets x 12 states"},
    # steps between small and medium, to show how the time grows with size (no target)
    "full-50": {"kind": "full", "sites": 50, "assets": 750, "states": 12, "gap": 1e-3, "targets": {},
                "about": "full model, 50 sites x 750 assets x 12 states"},
    "full-100": {"kind": "full", "sites": 100, "assets": 1500, "states": 16, "gap": 1e-3, "targets": {},
                 "about": "full model, 100 sites x 1,500 assets x 16 states"},
    "medium": {"kind": "full", "sites": 200, "assets": 3000, "states": 24, "gap": 1e-3,
               "targets": {"total_s": 60.0, "gap": 1e-3},
               "about": "full model, 200 sites x 3,000 assets x 24 states"},
    "medium-staged": {"kind": "full", "sites": 200, "assets": 3000, "states": 24, "stages": 3, "gap": 1e-3,
                      "targets": {"gap": 1e-3},
                      "about": "medium in 3 stages (weeks 0-2, 2-8, 8-26; StageInventory, crossings per week)"},
    "large": {"kind": "full", "sites": 400, "assets": 10000, "states": 32, "gap": 1e-3,
              "targets": {"peak_mib": 1024.0, "build_s": 3.0},
              "about": "full model, 400 sites x 10,000 assets x 32 states"},
    # issue 17 raised the maximal-covering speedup from issue 6's 3x to 10x, end to end
    "mclp-200": {"kind": "mclp", "sites": 200, "assets": 3000, "p": 20, "gap": 1e-4,
                 "targets": {"speedup": 10.0},
                 "about": "maximal covering, 200 sites x 3,000 points, p = 20"},
    "mclp-400": {"kind": "mclp", "sites": 400, "assets": 10000, "p": 40, "gap": 1e-4,
                 "targets": {"total_s": 30.0, "build_s": 3.0, "peak_mib": 1024.0, "speedup": 10.0},
                 "about": "maximal covering, 400 sites x 10,000 points, p = 40"},
}
# Modules cowopt imports on first use inside load, solve and write_plan. The child imports
# them before its clock starts, as the spopt child imports spopt and PuLP (whose HiGHS
# interface imports highspy) before its own: both tools' totals then exclude imports. The
# time they take is kept as `lazy_imports` in the JSON.
LAZY_IMPORTS = ("python_calamine", "defusedxml.ElementTree", "highspy", "xlsxwriter", "cowopt.report.plan")
TIMES = ("read", "build", "greedy", "translate", "solve", "score", "write", "total")
NUMBERS = TIMES + ("objective", "model_objective", "bound", "gap", "nodes", "peak_mib", "import_mib", "solve_cpu",
                   "lazy_imports")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.single:
        return _child(args)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        print(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cowopt-bench-") as scratch:
        folder = Path(args.instances_dir or scratch)
        if args.profile:
            _profile(args.profile, _instance_file(args.profile, folder, args.seed), args.top)
            return 0
        report = _run_all(sizes, folder, args)
    _print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"JSON written to {args.json}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="cowopt benchmark suite (see benchmarks/README.md)")
    parser.add_argument("--sizes", default="example,example-staged,example-threats,small,medium,mclp-200",
                        help=f"comma-separated, from: {', '.join(SIZES)}")
    parser.add_argument("--runs", type=int, default=3, help="runs per instance; medians are reported")
    parser.add_argument("--time-limit", type=float, default=60.0, help="solver time limit per run, s")
    parser.add_argument("--gap", type=float, default=None, help="override every size's mip gap")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic instances")
    parser.add_argument("--threads", type=int, default=None, help="threads for HiGHS's parallel tree search (default: serial search)")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--no-spopt", action="store_true", help="skip the spopt side of mclp instances")
    parser.add_argument("--instances-dir", default=None, help="keep the generated workbooks here")
    parser.add_argument("--profile", default=None, metavar="SIZE",
                        help="cProfile the model build (candidates, Pyomo model, HiGHS load) of one size")
    parser.add_argument("--top", type=int, default=10, help="functions listed by --profile")
    parser.add_argument("--single", choices=("cowopt", "spopt"), help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--xlsx", help=argparse.SUPPRESS)
    return parser


# --------------------------------------------------------------------------- parent


def _run_all(sizes: list[str], folder: Path, args) -> dict:
    report = _environment(args)
    for size in sizes:
        spec = SIZES[size]
        gap = args.gap if args.gap is not None else spec["gap"]
        path = _instance_file(size, folder, args.seed)
        entry = {"size": size, "about": spec["about"], "gap_asked": gap, "targets": spec["targets"]}
        entry["cowopt"] = _repeat("cowopt", size, path, gap, args)
        if spec["kind"] == "mclp" and not args.no_spopt:
            entry["spopt"] = _repeat("spopt", size, path, gap, args)
        entry["checks"] = _checks(entry)
        report["instances"].append(entry)
    return report


def _environment(args) -> dict:
    import cowopt
    from cowopt.optimise.solve import highs_version

    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cowopt_version": cowopt.__version__,
        "highs_version": highs_version(),
        "git_commit": _git_commit(),
        "spopt_version": None if args.no_spopt else _version_of("spopt"),
        "pulp_version": None if args.no_spopt else _version_of("pulp"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
        "runs": args.runs, "time_limit_s": args.time_limit, "seed": args.seed, "threads": args.threads,
        "instances": [],
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"],
                             check=False, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "model", "cli"],
                               check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip() or None
    return f"{commit}+uncommitted" if commit and dirty.stdout.strip() else commit


def _version_of(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _instance_file(size: str, folder: Path, seed: int) -> Path:
    """The workbook of a size: the shipped example, or a generated one (made once per folder)."""
    spec = SIZES[size]
    if spec["kind"] == "example":
        return ROOT / spec["file"] if "file" in spec else EXAMPLE
    import generate

    path = folder / f"{size}-seed{seed}.xlsx"
    if not path.exists():
        tables = generate.make_instance(spec["sites"], spec["assets"], spec.get("states", 1), seed,
                                        kind=spec["kind"], p=spec.get("p"), stages=spec.get("stages", 0))
        generate.write_xlsx(tables, path)
    return path


def _repeat(tool: str, size: str, path: Path, gap: float, args) -> dict:
    """Run one tool on one instance `runs` times, each in a new process; medians."""
    runs = []
    for number in range(args.runs):
        print(f"{size}: {tool} run {number + 1}/{args.runs} ...", file=sys.stderr, flush=True)
        runs.append(_child_run(tool, size, path, gap, args))
    return {"median": _medians(runs), "runs": runs}


def _child_run(tool: str, size: str, path: Path, gap: float, args) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--single", tool, "--size", size,
               "--xlsx", str(path), "--time-limit", str(args.time_limit), "--gap", str(gap),
               "--seed", str(args.seed)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    # generous: the limit bounds HiGHS only, not reading, building or writing
    timeout = 3 * args.time_limit + 900
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"no answer within {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"status": "error", "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def _medians(runs: list[dict]) -> dict:
    out: dict = {}
    for key in NUMBERS:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        out[key] = statistics.median(values) if values else None
    statuses = Counter(r.get("status") for r in runs)
    out["status"] = statuses.most_common(1)[0][0] if statuses else None
    for key in ("detail", "solver", "error", "path"):
        out[key] = next((r[key] for r in runs if r.get(key)), None)
    return out


def _checks(entry: dict) -> dict:
    """Each target of the issue: (measured, wanted, met)."""
    mine = entry["cowopt"]["median"]
    theirs = entry.get("spopt", {}).get("median", {})
    measured = {"total_s": mine.get("total"), "build_s": mine.get("build"), "peak_mib": mine.get("peak_mib"),
                "gap": mine.get("gap")}
    if theirs.get("total") and mine.get("total"):
        measured["speedup"] = theirs["total"] / mine["total"]
    checks = {}
    for name, wanted in entry["targets"].items():
        value = measured.get(name)
        met = None if value is None else (value >= wanted if name == "speedup" else value <= wanted * (1 + 1e-9))
        checks[name] = {"measured": value, "wanted": wanted, "met": met}
    if theirs.get("objective") is not None and mine.get("objective") is not None:
        # the optima must agree; a time-limited run of either proves nothing
        both_optimal = mine.get("status") == theirs.get("status") == "optimal"
        difference = mine["objective"] - theirs["objective"]
        equal = abs(difference) <= 1e-6 * max(1.0, abs(theirs["objective"]))
        checks["same_objective"] = {"measured": difference, "wanted": 0.0, "met": equal if both_optimal else None}
    return checks


# --------------------------------------------------------------------------- children


def _peak_mib(who=resource.RUSAGE_SELF) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(who).ru_maxrss * scale / 2**20


def _child(args) -> int:
    if args.single == "cowopt":
        record = _cowopt_once(Path(args.xlsx), args.time_limit, args.gap, args.threads)
    else:
        record = _spopt_once(Path(args.xlsx), args.time_limit, args.gap, args.threads)
    print(json.dumps(record, default=str))
    return 0


def _cowopt_once(path: Path, time_limit: float, gap: float, threads: int | None) -> dict:
    """Read, solve and write one workbook; cowopt's own step timings plus the wall clock."""
    import importlib

    import cowopt

    started = time.perf_counter()
    for module in LAZY_IMPORTS:
        importlib.import_module(module)
    lazy_imports = time.perf_counter() - started
    import gc

    gc.freeze()  # as the command line does after its imports (cli/main.py _settle_imports)
    import_mib = _peak_mib()
    started = time.perf_counter()
    data = cowopt.load(path)
    read = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    result = cowopt.solve(data, time_limit_s=time_limit, mip_gap=gap, threads=threads)
    solve_wall = time.perf_counter() - started
    # CPU s of this process in cowopt.solve: steadier than wall time on a shared machine
    solve_cpu = time.process_time() - cpu
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        cowopt.write_plan(result, out)
    write = time.perf_counter() - started
    seconds, outcome = result.seconds, result.outcome
    timed = sum(v for k, v in seconds.items() if k != "read")
    return {
        "status": result.status.value, "detail": result.detail, "steps": dict(seconds),
        "read": read, "build": seconds.get("build", 0.0), "greedy": seconds.get("greedy", 0.0),
        "solve": seconds.get("solve", 0.0), "score": seconds.get("score", 0.0), "write": write,
        # what cowopt.solve spent outside the steps it times itself: Pyomo -> HiGHS, reading values
        "translate": max(0.0, solve_wall - timed),
        "total": read + solve_wall + write,
        "objective": result.score.objective if result.score else None,
        "model_objective": outcome.objective if outcome else None,
        "bound": outcome.bound if outcome else None, "gap": outcome.gap if outcome else None,
        "nodes": outcome.nodes if outcome else None,
        "solver": f"{outcome.solver} {outcome.solver_version}" if outcome else None,
        "peak_mib": _peak_mib(), "import_mib": import_mib,
        # the largest process this run started and waited for: the heuristic's helper (solve.py)
        "helper_peak_mib": _peak_mib(resource.RUSAGE_CHILDREN), "solve_cpu": solve_cpu, "lazy_imports": lazy_imports,
        # compact, greedy start or heuristic start (cowopt.optimise.solve), with the heuristic's steps
        "path": outcome.path if outcome else None,
        "heuristic_steps": outcome.heuristic_steps if outcome else [],
    }


def _spopt_once(path: Path, time_limit: float, gap: float, threads: int | None) -> dict:
    """spopt's MCLP on the same workbook: distance matrix, PuLP model, solve, result arrays.

    The sheets are read untimed: spopt starts from arrays, it has no workbook reader.
    """
    import generate
    import pandas as pd
    import pulp
    from spopt.locate import MCLP

    sheets = ["Sites", "Infrastructure", "UnitTypes", "Inventory"]
    tables = pd.read_excel(path, sheet_name=sheets, engine="calamine")
    import_mib = _peak_mib()
    started = time.perf_counter()
    cost, weights, radius, p = generate.mclp_arrays(tables)
    model = MCLP.from_cost_matrix(cost, weights, radius, p)
    build = time.perf_counter() - started
    solver, name = _pulp_solver(time_limit, gap, threads)
    started = time.perf_counter()
    model.solve(solver, results=False)
    solve = time.perf_counter() - started
    started = time.perf_counter()
    model.facility_client_array()
    model.client_facility_array()
    model.uncovered_clients()
    model.get_percentage()
    results = time.perf_counter() - started
    record = {"read": 0.0, "build": build, "greedy": 0.0, "translate": 0.0, "solve": solve, "score": 0.0,
              "write": results, "total": build + solve + results, "objective": pulp.value(model.problem.objective),
              "solver": name, "pulp_status": pulp.LpStatus[model.problem.status],
              "peak_mib": _peak_mib(), "import_mib": import_mib}
    if name.startswith("HiGHS"):
        record.update(_highs_facts(model.problem))
    else:  # CBC through PuLP: only PuLP's word is available
        record["status"] = record["pulp_status"].lower()
    return record


def _pulp_solver(time_limit: float, gap: float, threads: int | None):
    """PuLP's in-memory HiGHS when available (the same solver as cowopt), else CBC."""
    import pulp

    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap, threads=threads), "HiGHS (pulp.HiGHS)"
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap, threads=threads), "CBC (pulp.PULP_CBC_CMD)"


def _highs_facts(problem) -> dict:
    """HiGHS's own status, bound, gap and nodes: PuLP calls a time-limited run 'Optimal'."""
    highs = problem.solverModel
    info = highs.getInfo()
    status = highs.modelStatusToString(highs.getModelStatus())
    return {"status": "optimal" if status == "Optimal" else status.lower(), "detail": status,
            "bound": abs(info.mip_dual_bound), "gap": info.mip_gap, "nodes": info.mip_node_count,
            # spopt minimises the negated coverage in HiGHS, so the model objective is negated
            "model_objective": abs(info.objective_function_value)}


# --------------------------------------------------------------------------- profile


def _profile(size: str, path: Path, top: int) -> None:
    """Where the time goes outside the solver: cowopt.solve under cProfile with a 1 s limit.

    The whole of cowopt.solve is profiled (not its parts), so that this keeps working while
    the model code changes; HiGHS itself shows as one call (about the 1 s limit).
    """
    import cowopt

    data = cowopt.load(path)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = cowopt.solve(data, time_limit_s=1.0)
    profiler.disable()
    steps = ", ".join(f"{k} {v:.2f}" for k, v in result.seconds.items())
    print(f"profile of {size} ({path.name}): cowopt.solve took {time.perf_counter() - started:.2f} s "
          f"under the profiler with a 1 s solver limit; its own steps (s): {steps}")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(top)
        print(text.getvalue())


# --------------------------------------------------------------------------- table


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(170, Console().width))
    table = Table(title=f"cowopt {report['cowopt_version']} ({report['git_commit']}), HiGHS {report['highs_version']}"
                        f" — median of {report['runs']} run(s), time limit {report['time_limit_s']:g} s")
    columns = ("instance", "tool", "status", "read", "build", "greedy", "transl.", "solve", "score", "write",
               "total", "coverage", "objective", "bound", "gap", "nodes", "peak MiB")
    for column in columns:
        table.add_column(column, justify="left" if column in ("instance", "tool", "status") else "right")
    for entry in report["instances"]:
        for tool in ("cowopt", "spopt"):
            if tool in entry:
                table.add_row(*_row(entry, tool))
    console.print(table)
    console.print(_targets_table(report))
    machine = report["machine"]
    peer = f"; spopt {report['spopt_version']} with PuLP {report['pulp_version']}" if report["spopt_version"] else ""
    console.print(f"{machine['platform']}, {machine['cpu_count']} CPUs, Python {machine['python']}, "
                  f"{report['date']}{peer}")


def _row(entry: dict, tool: str) -> list[str]:
    m = entry[tool]["median"]
    label = entry["size"] if tool == "cowopt" else ""
    name = tool if tool == "cowopt" else f"spopt [{(m.get('solver') or '?').split(' ')[0]}]"
    cells = [label, name, str(m.get("status") or m.get("error"))]
    cells += [_fmt(m.get(k), "{:.2f}") for k in TIMES]
    cells += [_fmt(m.get("objective"), "{:,.1f}"), _fmt(m.get("model_objective"), "{:,.1f}"),
              _fmt(m.get("bound"), "{:,.1f}"), _fmt(m.get("gap"), "{:.1e}"),
              _fmt(m.get("nodes"), "{:,.0f}"), _fmt(m.get("peak_mib"), "{:,.0f}")]
    return cells


def _targets_table(report: dict):
    from rich.table import Table

    table = Table(title="targets of issues 6 and 17 (cowopt medians; speedup = spopt total / cowopt total)")
    for column in ("instance", "target", "measured", "wanted", "met"):
        table.add_column(column, justify="right" if column in ("measured", "wanted") else "left")
    for entry in report["instances"]:
        for name, check in entry["checks"].items():
            value = check["measured"]
            shown = "-" if value is None else (f"{value:.2g}" if name in ("gap", "same_objective") else f"{value:,.3g}")
            met = "n/a (not both optimal)" if name == "same_objective" and check["met"] is None else (
                "?" if check["met"] is None else ("yes" if check["met"] else "NO"))
            wanted = f"≥ {check['wanted']:g}" if name == "speedup" else (
                f"= {check['wanted']:g}" if name == "same_objective" else f"≤ {check['wanted']:g}")
            table.add_row(entry["size"], name, shown, wanted, met)
    return table


def _fmt(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


if __name__ == "__main__":
    sys.exit(main())
