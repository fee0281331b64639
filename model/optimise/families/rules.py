"""Rules: planner's rows "at least / at most N matching units", hard or soft (penalised).

A rule counts `w` when it names no site or region (state/item/capability filters only), else
`y`. Blank fields match anything.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from cowopt.optimise.families.base import Family, PlanFacts, Slack, Violation, given


def _rule_filters(rule) -> tuple:
    """(state, item, capability, site_id, region) of a Rules row; "" matches anything."""
    return tuple(rule[c] or "" for c in ("state", "item", "capability", "site_id", "region"))


def rule_matches(data, rule, placements) -> list:
    """The placements (n,k,s) a Rules row counts: blank fields match anything."""
    state, item, capability, site, region = _rule_filters(rule)
    caps, regions = data.items["capabilities"].to_dict(), data.sites["region"].to_dict()
    return [(n, k, s) for n, k, s in placements
            if (not state or n == state) and (not item or k == item)
            and (not capability or capability in caps[k]) and (not site or s == site)
            and (not region or regions[s] == region)]


def rule_terms(data, rule, index) -> tuple[str, list]:
    """The variables a rule counts: ("w", [(n,k)]) when it names no site or region, else ("y", [(k,s,g)])."""
    state, item, capability, site, region = _rule_filters(rule)
    caps = data.items["capabilities"].to_dict()

    def item_ok(k):
        return (not item or k == item) and (not capability or capability in caps[k])

    if not (site or region):
        return "w", [(n, k) for n, k in index.sends if (not state or n == state) and item_ok(k)]
    regions = data.sites["region"].to_dict()
    group = index.group_of.get(state) if state else None
    return "y", [(k, s, g) for k, s, g in index.stands
                 if item_ok(k) and (not site or s == site) and (not region or regions[s] == region)
                 and (not state or g == group)]


def rule_penalty(data, rule_id: str) -> float:
    own = data.rules.at[rule_id, "penalty"]
    return float(own) if given(own) else float(data.settings["soft_rule_penalty"])


def rule_tally(data, rule, counts: pd.Series) -> tuple[int, int, int]:
    """(matching units, shortfall below min_count, excess above max_count) of a plan's counts
    ((state, item, site) -> units), recounted from the plan rows."""
    count = int(sum(counts[p] for p in rule_matches(data, rule, list(counts.index))))
    lo, hi = rule["min_count"], rule["max_count"]
    return count, max(0, int(lo) - count) if given(lo) else 0, max(0, count - int(hi)) if given(hi) else 0


class Rules(Family):
    name = "rule"
    seed_priority = 0  # its minimums name their units: seeded before the mission size
    slacks = (
        Slack("ineq_rule_min", "hard rule {0}: minimum", 1.0, "units"),
        Slack("ineq_rule_max", "hard rule {0}: maximum", 1.0, "units"),
    )

    def define(self, model, data, index, build) -> None:
        terms = {r: rule_terms(data, data.rules.loc[r], index) for r in data.rules.index}
        model.rule_units = pyo.Expression(
            list(data.rules.index), rule=lambda m, r: sum(getattr(m, terms[r][0])[t] for t in terms[r][1]))
        soft = [r for r in data.rules.index if not data.rules.at[r, "hard"]]
        model.rule_short = pyo.Var(soft, domain=pyo.NonNegativeReals, doc="soft-rule shortfall below min_count")
        model.rule_excess = pyo.Var(soft, domain=pyo.NonNegativeReals, doc="soft-rule excess above max_count")

        def at_least(m, r):
            needed = int(data.rules.at[r, "min_count"])
            if not terms[r][1] and r not in soft:
                return pyo.Constraint.Infeasible if needed > 0 else pyo.Constraint.Skip
            return m.rule_units[r] + (m.rule_short[r] if r in soft else 0) >= needed

        def at_most(m, r):
            if not terms[r][1]:
                return pyo.Constraint.Skip
            return m.rule_units[r] - (m.rule_excess[r] if r in soft else 0) <= int(data.rules.at[r, "max_count"])

        model.ineq_rule_min = pyo.Constraint(
            [r for r in data.rules.index if given(data.rules.at[r, "min_count"])], rule=at_least, doc="rule minimum")
        model.ineq_rule_max = pyo.Constraint(
            [r for r in data.rules.index if given(data.rules.at[r, "max_count"])], rule=at_most, doc="rule maximum")

    def check(self, facts: PlanFacts) -> list[Violation]:
        counts = facts.plan.groupby(["state", "item", "site_id"])["count"].sum()
        found = []
        for r, rule in facts.data.rules.iterrows():
            count, short, excess = rule_tally(facts.data, rule, counts)
            if rule["hard"] and (short or excess):
                found.append(Violation("rule", f"hard rule {r} counts {count} matching units; "
                                       + (f"needs at least {int(rule['min_count'])}" if short
                                          else f"allows at most {int(rule['max_count'])}")))
        return found

    def precheck(self, data, cands, fixed) -> list[str]:
        """A hard minimum above what the eligible states can place where the rule looks."""
        placements = list(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
        available = {(n, k): int(a) for n, k, a in data.inventory[["state", "item", "available"]].itertuples(index=False)}
        reasons = []
        for r, rule in data.rules.iterrows():
            if not rule["hard"] or not given(rule["min_count"]) or int(rule["min_count"]) == 0:
                continue
            most = sum(available[p] for p in {(n, k) for n, k, _ in rule_matches(data, rule, placements)})
            if most < int(rule["min_count"]):
                what = " ".join(f"{c}={rule[c]}" for c in ("state", "item", "capability", "site_id", "region") if rule[c])
                reasons.append(f"rule {r} asks for at least {int(rule['min_count'])} units ({what}); the eligible "
                               f"states can place at most {most} there (inventory, eligibility, frontline buffer, site needs)")
        return reasons

    def greedy_init(self, plan) -> None:
        plan.rule_max = []  # [limit, kind, set of keys, count] for hard maxima
        for _, rule in plan.data.rules.iterrows():
            if rule["hard"] and given(rule["max_count"]):
                kind, keys = rule_terms(plan.data, rule, plan.index)
                plan.rule_max.append([int(rule["max_count"]), kind, set(keys), 0])

    def greedy_sender_ok(self, plan, n, k, s) -> bool:
        g = plan.index.group_of[n]
        return all(count < limit for limit, kind, keys, count in plan.rule_max
                   if ((n, k) in keys if kind == "w" else (k, s, g) in keys))

    def greedy_seed(self, plan, place, gain) -> None:
        """Hard minimum rules first, each with its cheapest matching units."""
        data, index = plan.data, plan.index
        for _, rule in data.rules.iterrows():
            if not rule["hard"] or not given(rule["min_count"]):
                continue
            kind, keys = rule_terms(data, rule, index)
            if kind == "w":  # any site will do: the best-covering allowed site of that item
                options = [(k, s, index.group_of[n]) for n, k in keys
                           for _, s, _ in index.by_item_group.get((k, index.group_of[n]), [])]
            else:
                options = list(keys)
            options.sort(key=lambda t: (plan.cost[t[0]], -gain((t[0], t[1]))))
            placed, needed = 0, int(rule["min_count"])
            for k, s, g in options:
                while placed < needed and place(k, s, g):
                    placed += 1
                if placed >= needed:
                    break

    def greedy_take(self, plan, n, k, s, moving_meur) -> None:
        g = plan.index.group_of[n]
        for rule in plan.rule_max:
            if ((n, k) in rule[2]) if rule[1] == "w" else ((k, s, g) in rule[2]):
                rule[3] += 1

    def greedy_complete(self, plan, start) -> None:
        """Soft rules' shortfall and excess, so the start's penalty is what the plan earns."""
        for r, rule in plan.data.rules.iterrows():
            if rule["hard"]:
                continue
            kind, keys = rule_terms(plan.data, rule, plan.index)
            count = sum((plan.w if kind == "w" else plan.y).get(key, 0) for key in keys)
            if given(rule["min_count"]) and count < int(rule["min_count"]):
                start[("rule_short", r)] = int(rule["min_count"]) - count
            if given(rule["max_count"]) and count > int(rule["max_count"]):
                start[("rule_excess", r)] = count - int(rule["max_count"])
