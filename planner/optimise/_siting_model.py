"""The site-selection model for `planner.optimise.site_selection`, in CP-SAT.

One ``add_<rule>`` per business rule, a greedy complete hint, the two-stage fewest-sites
solve, and the words that explain an unreachable target. Variables: ``open_a`` for every
openable asset *a* and ``convert_a`` for every convertible one; money in pence.
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
    """Openable assets as solver-ready integers (pence), and their density neighbours.

    Attributes
    ----------
    ids
        Asset id of each candidate, shape (n,).
    value
        Annual value in pence a year, shape (n,).
    uplift
        Extra pence a year once converted to digital, 0 when not convertible, shape (n,).
    capex
        Capital cost of a conversion in pence, 0 when not convertible, shape (n,).
    faces
        Faces of each asset (at least 1), shape (n,).
    convertible
        Whether the asset is classic with a known capex and an uplift above 0, shape (n,).
    neighbours
        Per density rule: the rule and, for every candidate, the candidates within
        ``within_m`` of it (itself included).
    excluded
        ``asset_id``, ``reason`` of every asset that cannot be opened.
    """

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
    """A solved selection.

    Attributes
    ----------
    x, convert
        Which candidates are opened and converted, Boolean, shape (n,).
    status
        CP-SAT's status name, ``OPTIMAL`` or ``FEASIBLE``.
    objective
        ``fewest_sites`` or ``max_value``.
    objective_value, bound
        The objective and its best proven bound: a number of sites, or net annual value
        in GBP a year.
    """

    x: np.ndarray
    convert: np.ndarray
    status: str
    objective: str
    objective_value: float
    bound: float


class SiteModel:
    """The CP-SAT model: one ``add_<rule>`` per business rule, then an objective.

    Parameters
    ----------
    cand
        The openable assets.
    n_sites
        Most assets to open, or None.
    target
        Least annual value (value plus uplift of conversions) in pence a year, or None.
    spend
        Most capex on conversions in pence, or None.
    capex_years
        Years over which capex is spread against annual value in the ``max_value``
        objective: a conversion nets ``uplift - capex / capex_years`` a year.
    lock
        Candidate positions that must be opened.
    """

    def __init__(self, cand: Candidates, n_sites, target, spend, capex_years, lock) -> None:
        """Keep the data and the net yearly uplift of each conversion, in pence."""
        self.cand, self.n_sites, self.target, self.spend = cand, n_sites, target, spend
        self.lock = lock
        years = max(float(capex_years), 1e-9)
        self.net_uplift = cand.uplift - np.round(cand.capex / years).astype(np.int64)

    def build(self, count_cap: int | None = None):
        """Build a model with every rule and no objective.

        Parameters
        ----------
        count_cap
            Most assets to open in addition to ``n_sites`` (the second stage of
            `fewest_then_best`), or None.

        Returns
        -------
        model : cp_model.CpModel
            The model.
        xs : list
            ``open_a`` of each candidate.
        cs : dict
            Candidate position -> ``convert_a``, for convertible candidates only.
        """
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
        """Convert only an open asset: ``convert_a <= open_a`` for every convertible *a*.

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        xs, cs
            The open and convert variables of `build`.
        """
        for i, c in cs.items():
            model.add_implication(c, xs[i])

    def add_site_limit(self, model, xs, count_cap) -> None:
        """Open at most ``n_sites``: ``sum_a open_a <= n_sites``.

        In the second stage of `fewest_then_best` also ``sum_a open_a <= count_cap``,
        the fewest sites found in the first.

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        xs
            The open variables.
        count_cap
            The second stage's cap, or None.
        """
        for cap in (self.n_sites, count_cap):
            if cap is not None:
                model.add(sum(xs) <= cap)

    def value_expr(self, xs, cs):
        """Return the annual value in pence: ``sum_a value_a open_a + uplift_a convert_a``."""
        terms = [(x, int(v)) for x, v in zip(xs, self.cand.value, strict=True)]
        terms += [(c, int(self.cand.uplift[i])) for i, c in cs.items()]
        return cp_model.LinearExpr.weighted_sum([t[0] for t in terms], [t[1] for t in terms])

    def add_revenue_target(self, model, xs, cs) -> None:
        """Meet the revenue target: ``sum_a value_a open_a + uplift_a convert_a >= target``.

        In pence a year; nothing is added without a target.

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        xs, cs
            The open and convert variables of `build`.
        """
        if self.target is not None:
            model.add(self.value_expr(xs, cs) >= self.target)

    def add_capex_budget(self, model, cs) -> None:
        """Keep conversions within the capex budget: ``sum_a capex_a convert_a <= spend``.

        In pence; nothing is added without a budget or a convertible asset.

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        cs
            The convert variables of `build`.
        """
        if self.spend is not None and cs:
            caps = [int(self.cand.capex[i]) for i in cs]
            model.add(cp_model.LinearExpr.weighted_sum(list(cs.values()), caps) <= self.spend)

    def add_density(self, model, xs) -> None:
        """Keep every density rule around every open asset.

        For each rule and asset *a*: ``sum_{b within d of a} faces_b open_b <=
        max_faces`` enforced when ``open_a``, reading the rule as `planner.audit` does
        with every face of an open asset booked. An asset whose whole neighbourhood has
        no more faces than ``max_faces`` gets no constraint.

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        xs
            The open variables.
        """
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
        """Keep locked assets open: ``open_a = 1`` for every locked *a* (existing contracts).

        Parameters
        ----------
        model
            The CP-SAT model to add to.
        xs
            The open variables.
        """
        for i in self.lock:
            model.add(xs[i] == 1)

    def solve(
        self, objective: str, settings: SolverSettings, *, count_cap=None, hint=None
    ) -> Outcome | None:
        """Solve for one objective, hinted completely.

        ``fewest_sites`` minimises ``sum_a open_a``; ``max_value`` maximises the net
        annual value ``sum_a value_a open_a + (uplift_a - capex_a / capex_years)
        convert_a``.

        Parameters
        ----------
        objective
            ``fewest_sites`` or ``max_value``.
        settings
            Solver settings (workers, seed, time limit, determinism, log).
        count_cap
            Most assets to open, besides ``n_sites`` (second stage), or None.
        hint
            ``(open, convert)`` Boolean arrays to hint; the greedy selection when None.

        Returns
        -------
        Outcome or None
            The selection, or None when CP-SAT finds none in time or proves there is
            none.
        """
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
    """Return a CP-SAT solver for ``settings``: deterministic time with a watchdog, or wall."""
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
    """Build a complete hint: assets by value (with their best conversion), density permitting.

    Locked assets first, then by value plus any positive (net, for ``max_value``) uplift;
    stops at ``n_sites`` or, for ``fewest_sites``, once the target is met. Conversions
    are taken while the capex budget allows.

    Returns
    -------
    open, convert : numpy.ndarray
        Boolean arrays, shape (n,).
    """
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
    """Tell whether opening ``i`` keeps every density rule around it and its neighbours.

    ``loads[r][b]`` is the faces already open within rule *r*'s distance of *b*.
    """
    for (rule, near), load in zip(cand.neighbours, loads, strict=True):
        group = near[i]
        if load[i] + cand.faces[i] > rule.max_faces:
            return False
        if (load[group] + cand.faces[i] > rule.max_faces).any():
            return False
    return True


def fewest_then_best(model: SiteModel, settings: SolverSettings) -> Outcome | None:
    """Solve for the fewest sites meeting the target, then the best net value with that many.

    Stage 1 (60% of the time limit) minimises the number of sites; stage 2 (40%)
    maximises net annual value with at most that many, hinted with stage 1's answer.

    Parameters
    ----------
    model
        The model, with a revenue target.
    settings
        Solver settings; ``time_limit`` is split between the stages.

    Returns
    -------
    Outcome or None
        Stage 2's selection (stage 1's if stage 2 finds none) reported as
        ``fewest_sites`` with the site count and stage 1's bound; ``OPTIMAL`` only when
        both stages are. None when stage 1 finds no selection.
    """
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
    """Explain why no selection was found: what the rules leave reachable, what was excluded.

    Solves the model again without the target, counting gross value (capex spread over
    1e9 years), to say how much annual value the rules leave reachable.

    Parameters
    ----------
    cand
        The openable assets.
    model
        The model that found no selection.
    target
        The revenue target in GBP a year, or None.
    settings
        Solver settings for the relaxed solve.

    Returns
    -------
    InfeasibleError
        To return as the selection's explanation: the locked assets alone breaking a
        rule, a time-out, or the value reachable with the limits that bind (density
        rules, site count, capex budget, excluded assets), each a reason.
    """
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
