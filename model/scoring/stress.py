"""Stress a plan: its coverage after each single loss (and, on request, each pair of losses).

Three kinds of loss, each applied to the plan as it stands and re-scored by evaluate.score
(no re-solve; only the coverage and the rules are recomputed per loss, by the scorer's own
coverage function, about 10 ms each on the example):
  state  a contributor withdraws: its units leave;
  site   a site is struck: the units there are lost;
  entry  a crossing closes: units at sites no remaining crossing reaches within max_route_km
         are lost; the rest must squeeze through the remaining crossings, and the troops
         their throughput cannot carry are reported as `throughput_shortfall` (which units
         would stay behind is the planner's choice, so their coverage is not taken off).
`replan` re-optimises around each loss (api.solve with the surviving deployments pinned as
minimums and the lost state, site or crossing removed from the data): the "what do we do
next morning" answer.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cowopt.optimise import candidates as candidates_mod
from cowopt.workbook.data import InputData
from cowopt.scoring.evaluate import _coverage as coverage_of  # the scorer's own coverage function: same points as `evaluate`
from cowopt.scoring.evaluate import score
from cowopt.optimise.families.base import given as _given
from cowopt.optimise.families.rules import rule_matches

KINDS = ("state", "site", "entry")
MAX_PAIRS = 300  # pairs of losses scored at most (--pairs); beyond it, pairs of the worst singles
COLUMNS = ["loss", "kind", "lost", "coverage_before", "coverage_after", "coverage_lost", "share_lost",
           "units_lost", "troops_lost", "throughput_shortfall", "assets_affected", "assets", "rules_broken"]


@dataclass(frozen=True)
class Loss:
    kind: str  # state, site or entry
    name: str  # state, site_id or entry_id

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class StressReport:
    singles: pd.DataFrame  # one row per single loss, worst first
    pairs: pd.DataFrame  # one row per pair (empty unless asked)
    baseline: float  # the plan's coverage with nothing lost
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def worst(self, n: int = 10) -> pd.DataFrame:
        return self.singles.head(n)


def single_losses(data: InputData, plan: pd.DataFrame) -> list[Loss]:
    """Every contributor with units in the plan, every used site, every crossing."""
    return ([Loss("state", n) for n in sorted(set(plan["state"]))]
            + [Loss("site", s) for s in sorted(set(plan["site_id"]))]
            + [Loss("entry", e) for e in data.entry_points.index])


def stress(data: InputData, plan: pd.DataFrame, *, pairs: bool = False, max_pairs: int = MAX_PAIRS,
           replan: bool = False, workers: int | None = None,
           progress: Callable[[str], None] | None = None) -> StressReport:
    """Score `plan` (state, item, site_id, count) after every single loss (and pairs)."""
    started = time.perf_counter()
    plan = plan[["state", "item", "site_id", "count"]].copy()
    plan = plan[plan["count"] > 0].reset_index(drop=True)
    cands = candidates_mod.build(data)
    base = score(data, cands, plan)
    scorer = _Scorer(data, cands, plan, base)
    notes = []
    if base.violations:
        notes.append(f"the plan itself breaks {len(base.violations)} constraint(s); losses are measured from its "
                     f"coverage as it stands ({base.objective:,.1f})")
    losses = single_losses(data, scorer.plan)  # the rows that earn coverage (forbidden ones earn none to lose)
    singles = pd.DataFrame([scorer.row((loss,)) for loss in losses], columns=COLUMNS)
    singles = _rank(singles)
    pair_table = pd.DataFrame(columns=COLUMNS)
    if pairs:
        chosen, note = _pairs_to_score(singles, losses, max_pairs)
        if note:
            notes.append(note)
        if progress:
            progress(f"scoring {len(chosen)} pairs of losses")
        pair_table = _rank(pd.DataFrame([scorer.row(pair) for pair in chosen], columns=COLUMNS))
    if replan:
        if progress:
            progress(f"re-optimising around {len(losses)} losses")
        singles = _with_replan(data, plan, singles, losses, workers)
    return StressReport(singles, pair_table, scorer.base_objective, notes, time.perf_counter() - started)


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    table = table.sort_values(["coverage_lost", "throughput_shortfall", "troops_lost", "loss"],
                              ascending=[False, False, False, True], kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def _pairs_to_score(singles: pd.DataFrame, losses: list[Loss], max_pairs: int) -> tuple[list, str | None]:
    """All pairs when they are few; else the pairs among the worst single losses."""
    total = len(losses) * (len(losses) - 1) // 2
    if total <= max_pairs:
        return list(itertools.combinations(losses, 2)), None
    by_label = {loss.label: loss for loss in losses}
    keep = 2
    while (keep + 1) * keep // 2 <= max_pairs and keep < len(losses):
        keep += 1
    worst = [by_label[label] for label in singles["loss"].head(keep)]
    chosen = list(itertools.combinations(worst, 2))
    return chosen, (f"{total:,} pairs of losses is more than {max_pairs:,}: scored the {len(chosen):,} pairs "
                    f"among the {keep} worst single losses")


class _Scorer:
    """Applies losses to the plan and scores what is left."""

    def __init__(self, data: InputData, cands, plan: pd.DataFrame, base):
        self.data, self.cands = data, cands
        # rows the scorer gives no coverage (forbidden placements) are left out from the start
        allowed = set(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
        self.plan = plan[[key in allowed for key in plan[["state", "item", "site_id"]].itertuples(index=False, name=None)]]
        self.plan = self.plan.reset_index(drop=True)
        self.base_objective, by_asset, self.met = self._score(data, cands, self.plan)
        self.base_by_asset = by_asset
        self.names = data.assets["name"].to_dict()
        self.troops = data.items["troops"].to_dict()
        self._entry_cands = {}

    def _score(self, data, cands, plan):
        """(coverage, coverage by asset, rules met) of a plan."""
        counts = plan.groupby(["state", "item", "site_id"])["count"].sum()
        table, _, objective, _ = coverage_of(data, cands, counts)
        met = set()
        for rule_id, rule in data.rules.iterrows():
            count = sum(int(counts[p]) for p in rule_matches(data, rule, list(counts.index)))
            low_ok = not _given(rule["min_count"]) or count >= int(rule["min_count"])
            high_ok = not _given(rule["max_count"]) or count <= int(rule["max_count"])
            if low_ok and high_ok:
                met.add(rule_id)
        return objective, table.groupby("asset_id")["contribution"].sum(), met

    def _without_entries(self, entries: tuple) -> tuple[InputData, object]:
        if entries not in self._entry_cands:
            data = without_entries(self.data, entries)
            self._entry_cands[entries] = (data, candidates_mod.build(data))
        return self._entry_cands[entries]

    def row(self, losses: tuple) -> dict:
        data, cands, plan = self.data, self.cands, self.plan
        keep = np.ones(len(plan), dtype=bool)
        for loss in losses:
            if loss.kind == "state":
                keep &= plan["state"].to_numpy() != loss.name
            elif loss.kind == "site":
                keep &= plan["site_id"].to_numpy() != loss.name
        entries = tuple(sorted(loss.name for loss in losses if loss.kind == "entry"))
        if entries:
            data, cands = self._without_entries(entries)
            keep &= plan["site_id"].isin(cands.reachable_sites).to_numpy()
        survivors, lost = plan[keep], plan[~keep]
        objective, by_asset, now_met = self._score(data, cands, survivors)
        drop = self.base_by_asset - by_asset.reindex(self.base_by_asset.index, fill_value=0)
        affected = drop[drop > 1e-9].sort_values(ascending=False)
        shortfall = throughput_shortfall(data, cands, self._site_troops(survivors)) if entries else 0
        lost_points = self.base_objective - objective
        return {"loss": " + ".join(loss.label for loss in losses), "kind": "+".join(loss.kind for loss in losses),
                "lost": " + ".join(self._display(loss) for loss in losses),
                "coverage_before": round(self.base_objective, 6), "coverage_after": round(objective, 6),
                "coverage_lost": round(lost_points, 6),
                "share_lost": round(lost_points / self.base_objective, 6) if self.base_objective else 0.0,
                "units_lost": int(lost["count"].sum()),
                "troops_lost": int(sum(self.troops[k] * c for k, c in zip(lost["item"], lost["count"]))),
                "throughput_shortfall": int(round(shortfall)), "assets_affected": len(affected),
                "assets": ", ".join(str(self.names.get(a, a)) for a in affected.index[:3])
                          + (f" (+{len(affected) - 3} more)" if len(affected) > 3 else ""),
                "rules_broken": ", ".join(sorted(self.met - now_met))}

    def _display(self, loss: Loss) -> str:
        """The loss in planner's words: sites and crossings with their names."""
        table = {"site": self.data.sites, "entry": self.data.entry_points}.get(loss.kind)
        name = table.at[loss.name, "name"] if table is not None and loss.name in table.index else ""
        return f"{loss.name} {name}" if name and name != loss.name else loss.name

    def _site_troops(self, plan: pd.DataFrame) -> pd.DataFrame:
        troops = plan["item"].map(self.troops) * plan["count"]
        return troops.groupby(plan["site_id"]).sum().rename("troops").rename_axis("site_id").reset_index()


def without_entries(data: InputData, entries) -> InputData:
    """The data with these crossings closed (their Routes rows gone too)."""
    entries = set(entries)
    return data.replace(entry_points=data.entry_points[~data.entry_points.index.isin(entries)],
                        routes=data.routes[~data.routes["entry_id"].isin(entries)])


def throughput_shortfall(data: InputData, cands, sites: pd.DataFrame) -> float:
    """Troops at reachable sites that the crossings' throughput cannot carry (a max-flow LP)."""
    import highspy

    demand = sites.set_index("site_id")["troops"]
    demand = demand[(demand > 0) & demand.index.isin(cands.reachable_sites)]
    if demand.empty:
        return 0.0
    routes = cands.routes[cands.routes["site_id"].isin(demand.index)].reset_index(drop=True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(routes)
    h.addVars(n, np.zeros(n), np.full(n, highspy.kHighsInf))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), -np.ones(n))  # maximise the troops carried
    for s, need in demand.items():
        cols = np.flatnonzero(routes["site_id"].to_numpy() == s).astype(np.int32)
        h.addRow(0.0, float(need), len(cols), cols, np.ones(len(cols)))
    for e, cap in data.entry_points["throughput_troops"].items():
        cols = np.flatnonzero(routes["entry_id"].to_numpy() == e).astype(np.int32)
        if len(cols):
            h.addRow(-highspy.kHighsInf, float(cap), len(cols), cols, np.ones(len(cols)))
    h.run()
    carried = float(np.sum(h.getSolution().col_value))
    return max(0.0, float(demand.sum()) - carried)


# ---------------------------------------------------------------------------- --replan


def data_after(data: InputData, loss: Loss) -> InputData:
    """The inputs once the loss has happened: the state is ineligible, the site not deployable,
    the crossing gone."""
    if loss.kind == "state":
        states = data.states.copy()
        states.loc[loss.name, "eligible"] = 0
        return data.replace(states=states)
    if loss.kind == "site":
        sites = data.sites.copy()
        sites.loc[loss.name, "deployable"] = 0
        return data.replace(sites=sites)
    return without_entries(data, [loss.name])


def replan_one(data: InputData, plan: pd.DataFrame, loss: Loss) -> dict:
    """Re-optimise around one loss with the surviving deployments pinned as minimums."""
    from cowopt import api

    try:
        after = data_after(data, loss)
        cands = candidates_mod.build(after)
        allowed = set(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
        survivors = plan.groupby(["state", "item", "site_id"])["count"].sum()
        fixed = {key: int(c) for key, c in survivors.items() if key in allowed}
        result = api.solve(after, fixed=fixed)
    except Exception as exc:  # one loss failing must not sink the table
        return {"replan_status": "error", "replan_coverage": None, "replan_note": f"{exc.__class__.__name__}: {exc}"}
    note = "; ".join(result.diagnosis[:2]) if result.diagnosis else result.detail
    return {"replan_status": result.status.value,
            "replan_coverage": round(result.score.objective, 6) if result.score else None,
            "replan_note": note}


def _with_replan(data: InputData, plan: pd.DataFrame, singles: pd.DataFrame, losses: list[Loss], workers) -> pd.DataFrame:
    from cowopt.optimise.parallel import parallel_map

    by_label = {loss.label: loss for loss in losses}
    ordered = [by_label[label] for label in singles["loss"]]
    answers = parallel_map(replan_one, [(data, plan, loss) for loss in ordered], workers)
    extra = pd.DataFrame(answers)
    singles = pd.concat([singles.reset_index(drop=True), extra], axis=1)
    singles["recovered"] = [None if c is None else round(c - after, 6)
                            for c, after in zip(singles["replan_coverage"], singles["coverage_after"])]
    return singles
