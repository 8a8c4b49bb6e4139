"""The site-selection model for `planner.optimise.site_selection`: CP-SAT with one ``add_<rule>`` per
business rule, a greedy complete hint, the two-stage fewest-sites solve, and the words
that explain an unreachable target.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from planner.errors import InfeasibleError
from planner.optimise.money import MINOR_PER_MAJOR, to_major
from planner.optimise.settings import SolverSettings
from planner.policy.load import DensityRule

__all__ = ["Candidates", "Outcome", "SiteModel", "fewest_then_best", "unreachable"]


@dataclass
class Candidates:
    """Openable assets as solver-ready integers (pence), and their density neighbours."""

    ids: np.ndarray
    value: np.ndarray  # pence a year
    uplift: np.ndarray  # pence a year if converted; 0 when not convertible
    capex: np.ndarray  # pence per conversion
    faces: np.ndarray
    convertible: np.ndarray
    neighbours: list[tuple[DensityRule, list[np.ndarray]]]
    excluded: pd.DataFrame


@dataclass(frozen=True)
class Outcome:
    x: np.ndarray
    convert: np.ndarray
    status: str
    objective: str
    objective_value: float
    bound: float


class SiteModel:
    """The CP-SAT model: one ``add_<rule>`` per business rule, then an objective."""

    def __init__(self, cand: Candidates, n_sites, target, spend, capex_years, lock) -> None:
        self.cand, self.n_sites, self.target, self.spend = cand, n_sites, target, spend
        self.lock = lock
        years = max(float(capex_years), 1e-9)
        self.net_uplift = cand.uplift - np.round(cand.capex / years).astype(np.int64)

    def build(self, count_cap: int | None = None):
        model = cp_model.CpModel()
        xs = [model.new_bool_var(f"open_{a}") for a in self.cand.ids]
        cs = {
            int(i): model.new_bool_var(f"convert_{self.cand.ids[i]}")
            for i in np.flatnonzero(self.cand.convertible)
        }
        self.add_conversion_needs_open(model, xs, cs)
        self.add_site_limit(model, xs, count_cap)
        self.add_revenue_target(model, xs, cs)
        self.add_capex_budget(model, cs)
        self.add_density(model, xs)
        self.add_locked(model, xs)
        return model, xs, cs

    def add_conversion_needs_open(self, model, xs, cs) -> None:
        """convert_a <= open_a: only an open asset is converted."""
        for i, c in cs.items():
            model.add_implication(c, xs[i])

    def add_site_limit(self, model, xs, count_cap) -> None:
        """sum_a open_a <= n_sites (and <= the fewest-sites optimum in a second stage)."""
        for cap in (self.n_sites, count_cap):
            if cap is not None:
                model.add(sum(xs) <= cap)

    def value_expr(self, xs, cs):
        terms = [(x, int(v)) for x, v in zip(xs, self.cand.value, strict=True)]
        terms += [(c, int(self.cand.uplift[i])) for i, c in cs.items()]
        return cp_model.LinearExpr.weighted_sum([t[0] for t in terms], [t[1] for t in terms])

    def add_revenue_target(self, model, xs, cs) -> None:
        """sum_a value_a open_a + sum_a uplift_a convert_a >= target (pence a year)."""
        if self.target is not None:
            model.add(self.value_expr(xs, cs) >= self.target)

    def add_capex_budget(self, model, cs) -> None:
        """sum_a capex_a convert_a <= capex budget (pence)."""
        if self.spend is not None and cs:
            caps = [int(self.cand.capex[i]) for i in cs]
            model.add(cp_model.LinearExpr.weighted_sum(list(cs.values()), caps) <= self.spend)

    def add_density(self, model, xs) -> None:
        """For each rule and open asset a: sum of faces of open assets near a <= max_faces."""
        faces = self.cand.faces
        for rule, near in self.cand.neighbours:
            for i, group in enumerate(near):
                if int(faces[group].sum()) <= rule.max_faces:
                    continue  # cannot bind even with every neighbour open
                expr = cp_model.LinearExpr.weighted_sum(
                    [xs[j] for j in group], [int(f) for f in faces[group]]
                )
                model.add(expr <= rule.max_faces).only_enforce_if(xs[i])

    def add_locked(self, model, xs) -> None:
        """open_a = 1 for locked assets (existing contracts)."""
        for i in self.lock:
            model.add(xs[i] == 1)

    def solve(
        self, objective: str, settings: SolverSettings, *, count_cap=None, hint=None
    ) -> Outcome | None:
        model, xs, cs = self.build(count_cap)
        if objective == "fewest_sites":
            model.minimize(sum(xs))
        else:
            net = [(x, int(v)) for x, v in zip(xs, self.cand.value, strict=True)]
            net += [(c, int(self.net_uplift[i])) for i, c in cs.items()]
            model.maximize(
                cp_model.LinearExpr.weighted_sum([t[0] for t in net], [t[1] for t in net])
            )
        x0, c0 = hint if hint is not None else _greedy(self, objective)
        for i, x in enumerate(xs):
            model.add_hint(x, bool(x0[i]))
        for i, c in cs.items():
            model.add_hint(c, bool(c0[i]))
        solver = _solver(settings)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        x = np.array([solver.boolean_value(v) for v in xs], dtype=bool)
        conv = np.zeros(len(xs), dtype=bool)
        for i, c in cs.items():
            conv[i] = solver.boolean_value(c)
        scale = 1.0 if objective == "fewest_sites" else MINOR_PER_MAJOR
        return Outcome(
            x,
            conv,
            solver.status_name(status),
            objective,
            solver.objective_value / scale,
            solver.best_objective_bound / scale,
        )


def _solver(settings: SolverSettings) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = max(1, int(settings.workers))
    params.random_seed = int(settings.seed)
    params.log_search_progress = settings.log
    limit = max(float(settings.time_limit), 0.01)
    if settings.deterministic:
        # deterministic time keeps results reproducible; the wall clock is only a watchdog
        params.interleave_search = True
        params.max_deterministic_time = limit
        params.max_time_in_seconds = 2 * limit + 5
    else:
        params.max_time_in_seconds = limit
    return solver


def _greedy(model: SiteModel, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """A complete hint: assets by value (with their best conversion), density permitting."""
    cand = model.cand
    n = len(cand.ids)
    x, conv = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    loads = [np.zeros(n, dtype=np.int64) for _ in cand.neighbours]
    gain = cand.uplift if objective == "fewest_sites" else model.net_uplift
    score = cand.value + np.where(cand.convertible, np.maximum(gain, 0), 0)
    order = np.concatenate([model.lock, np.argsort(-score, kind="stable")])
    value, spent = 0, 0
    for i in order:
        if x[i] or (model.n_sites is not None and x.sum() >= model.n_sites):
            continue
        if objective == "fewest_sites" and model.target is not None and value >= model.target:
            break
        if not _density_allows(cand, loads, i) and i not in model.lock:
            continue
        x[i] = True
        for (_, near), load in zip(cand.neighbours, loads, strict=True):
            load[near[i]] += cand.faces[i]
        value += int(cand.value[i])
        fits = model.spend is None or spent + cand.capex[i] <= model.spend
        if cand.convertible[i] and gain[i] > 0 and fits:
            conv[i] = True
            spent += int(cand.capex[i])
            value += int(cand.uplift[i])
    return x, conv


def _density_allows(cand: Candidates, loads, i: int) -> bool:
    for (rule, near), load in zip(cand.neighbours, loads, strict=True):
        group = near[i]
        if load[i] + cand.faces[i] > rule.max_faces:
            return False
        if (load[group] + cand.faces[i] > rule.max_faces).any():
            return False
    return True


def fewest_then_best(model: SiteModel, settings: SolverSettings) -> Outcome | None:
    """Stage 1: fewest sites meeting the target; stage 2: best net value with that many."""
    first = model.solve("fewest_sites", replace(settings, time_limit=0.6 * settings.time_limit))
    if first is None:
        return None
    count = int(first.x.sum())
    second = model.solve(
        "max_value",
        replace(settings, time_limit=0.4 * settings.time_limit),
        count_cap=count,
        hint=(first.x, first.convert),
    )
    best = second if second is not None else first
    status = "OPTIMAL" if first.status == "OPTIMAL" and best.status == "OPTIMAL" else "FEASIBLE"
    return Outcome(
        best.x, best.convert, status, "fewest_sites", float(count), max(first.bound, 0.0)
    )


def unreachable(
    cand: Candidates, model: SiteModel, target, settings: SolverSettings
) -> InfeasibleError:
    """Why no selection was found: how much the rules leave reachable, and what was excluded."""
    relaxed = SiteModel(cand, model.n_sites, None, model.spend, 1e9, model.lock)
    best = relaxed.solve("max_value", settings)  # capex over 1e9 years: gross value
    rules = sorted({r.id for r, _ in cand.neighbours})
    limits = [f"density rule(s) {', '.join(rules)}"] if rules else []
    if model.n_sites is not None:
        limits.append(f"at most {model.n_sites} sites")
    if model.spend is not None:
        limits.append(f"a capex budget of £{to_major(model.spend):,.0f}")
    if len(cand.excluded):
        counts = cand.excluded["reason"].value_counts()
        limits.append("excluded assets: " + ", ".join(f"{n} {r}" for r, n in counts.items()))
    if best is None and len(model.lock):
        reasons = ["the locked assets alone break " + (limits[0] if rules else "the rules")]
        fix = "Unlock some assets or relax the density rule."
    elif best is None or (target is not None and best.objective_value >= target):
        reasons = ["no selection was found within the time limit"]
        fix = "Raise time_limit."
    else:
        reasons = [
            f"at most £{best.bound:,.0f} a year is reachable from {len(cand.ids)} openable assets",
            *limits,
        ]
        fix = "Lower the target, allow more sites or relax a rule."
    target_text = "" if target is None else f"the revenue target of £{target:,.0f} "
    return InfeasibleError(
        f"no site selection meets {target_text}under the rules: {'; '.join(reasons)}. {fix}",
        reasons,
    )
