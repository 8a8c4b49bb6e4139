"""Large-neighbourhood search for `planner.optimise.covering`: windows re-solved exactly.

Windows of nearby sites are re-solved exactly with CP-SAT while the rest of the choice
stays fixed (large-neighbourhood search, Shaw 1998); `planner.optimise.settings.Clock`
(wall-clock or deterministic) bounds the search.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.sat.python import cp_model

from planner.optimise._cover_search import CoverProblem
from planner.optimise.settings import Clock

__all__ = ["Clock", "LnsStats", "lns"]

# Calibration of the deterministic clock, measured with time.process_time on the
# benchmark instances: CPU seconds per CP-SAT deterministic second on covering windows
# and of Python model building per coverage non-zero; the most seconds a window may
# take, and the fewest below which the next window grows.
_CPU_PER_DTIME = 3.3
_BUILD_CPU_PER_NNZ = 1e-6
_WINDOW_SECONDS = 1.5
_QUICK_SECONDS = 0.1


@dataclass
class LnsStats:
    """What the window search did: windows solved, improvements, solved exactly.

    Attributes
    ----------
    windows
        Windows solved.
    improved
        Rounds that raised the covered weight.
    exact
        Windows solved to optimality.
    whole
        Whether a window spanned the whole instance (the last step then).
    whole_optimal
        Whether that whole-instance solve was proven optimal.
    whole_bound
        CP-SAT's bound of the whole-instance solve, in integer weight units, or None.
    """

    windows: int = 0
    improved: int = 0
    exact: int = 0
    whole: bool = False
    whole_optimal: bool = False
    whole_bound: float | None = None


def lns(
    p: CoverProblem,
    x: np.ndarray,
    *,
    clock: Clock,
    seed: int,
    window: int = 100,
    workers: int = 1,
    on_improve: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, LnsStats]:
    """Improve a choice by re-solving windows of nearby sites exactly with CP-SAT.

    A window is grown breadth-first over sites that share demand, from a site covering
    uncovered demand or from a chosen site; every site outside it keeps its value. Each
    round solves up to ``workers`` windows in parallel threads; they share no demand row,
    so their gains add up (only the first may use spare sites or budget). Windows grow
    after quick exact solves and shrink after time-outs. When a window spans the whole
    instance the solve is exact and its bound is returned.

    Parameters
    ----------
    p
        The problem.
    x
        A feasible starting choice.
    clock
        When to stop; a round is charged its model building plus its slowest solve.
    seed
        Seed of the window choice and of CP-SAT.
    window
        Sites in the first window.
    workers
        Windows solved at once.
    on_improve
        Called with the covered weight after each improving round.

    Returns
    -------
    x : numpy.ndarray
        The best choice found, feasible, covering at least as much as the start.
    stats : LnsStats
        Counters, and the whole-instance bound when there was one.
    """
    rng = np.random.default_rng(seed)
    graph = sp.csr_array((p.cov_t @ p.cov).astype(bool))
    stats = LnsStats()
    size = min(window, p.n_sites)
    value = p.value(x)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        while clock.left() > 0.05:
            whole = size >= p.n_sites
            frees = (
                [np.ones(p.n_sites, bool)]
                if whole
                else _windows(p, graph, x, size, rng, max(1, workers))
            )
            cap = clock.left() if whole else min(clock.left(), _WINDOW_SECONDS)
            jobs = [_Window(p, x, free, spare=i == 0) for i, free in enumerate(frees)]
            futures = [pool.submit(job.solve, cap, seed, clock) for job in jobs]
            results = [fut.result() for fut in futures]
            clock.charge(sum(j.build_cpu for j in jobs) + max(r.cpu for r in results))
            stats.windows += len(jobs)
            stats.exact += sum(r.optimal for r in results)
            for job, res in zip(jobs, results, strict=True):
                if res.x is not None and res.value > job.value:
                    x = x.copy()
                    x[job.cols] = res.x
            if p.value(x) > value:
                value = p.value(x)
                stats.improved += 1
                if on_improve is not None:
                    on_improve(value)
            if whole:
                res = results[0]
                stats.whole, stats.whole_optimal = True, res.optimal
                stats.whole_bound = res.bound
                break
            grow = all(r.optimal and r.cpu < _QUICK_SECONDS for r in results)
            size = min(int(size * 1.15) + 1 if grow else max(20, int(size * 0.8)), p.n_sites)
    return x, stats


def _windows(p: CoverProblem, graph, x: np.ndarray, size: int, rng, count: int) -> list:
    """Return up to ``count`` windows of ``size`` connected sites that share no demand row.

    Once a window is drawn, every site touching its rows is blocked for the next ones.
    """
    blocked = np.zeros(p.n_sites, dtype=bool)
    uncovered = np.flatnonzero(p.counts(x) == 0)
    frees = []
    for _ in range(count):
        start = _seed_site(p, x, uncovered, blocked, rng)
        if start < 0:
            break
        free = _grow(graph, start, size, blocked, rng)
        frees.append(free)
        rows = np.unique(p.cov_t[np.flatnonzero(free)].indices)
        blocked[np.unique(p.cov[rows].indices)] = True  # every site touching these rows
    return frees


def _seed_site(p: CoverProblem, x, uncovered, blocked, rng) -> int:
    """Pick a window's first site: one covering uncovered demand, or a chosen site.

    Half the time, when some uncovered row can still be reached, a site covering a row
    drawn with probability proportional to its weight; otherwise a chosen site, or any
    unblocked site; -1 when every site is blocked.
    """
    rows = uncovered
    if len(rows) and blocked.any():
        rows = rows[(p.cov[rows] @ (~blocked).astype(np.int32)) > 0]
    if len(rows) and rng.random() < 0.5:
        row = rng.choice(rows, p=p.w[rows] / p.w[rows].sum())
        sites = p.cov.indices[p.cov.indptr[row] : p.cov.indptr[row + 1]]
        sites = sites[~blocked[sites]]
        if len(sites):
            return int(rng.choice(sites))
    pool = np.flatnonzero(x & ~blocked)
    if not len(pool):
        pool = np.flatnonzero(~blocked)
    return int(rng.choice(pool)) if len(pool) else -1


def _grow(graph, start: int, size: int, blocked: np.ndarray, rng) -> np.ndarray:
    """Grow a window breadth-first from ``start`` over unblocked sites, up to ``size`` sites.

    When a ring of neighbours would overflow ``size``, a random subset of it is taken.
    """
    free = np.zeros(len(blocked), dtype=bool)
    free[start] = True
    frontier = np.array([start])
    count = 1
    while count < size and len(frontier):
        nb = np.unique(graph[frontier].indices)
        nb = nb[~free[nb] & ~blocked[nb]]
        if count + len(nb) > size:
            nb = np.sort(rng.choice(nb, size - count, replace=False))
        free[nb] = True
        count += len(nb)
        frontier = nb
    return free


@dataclass(frozen=True)
class _Solved:
    """A window's solve: its choice (None without a solution), value, optimality, bound.

    ``bound`` includes the weight fixed outside the window; ``cpu`` is the estimated CPU
    seconds charged to the clock.
    """

    x: np.ndarray | None
    value: int
    optimal: bool
    bound: float | None
    cpu: float


class _Window:
    """The sub-problem of one window: every site outside it keeps its current value."""

    def __init__(self, p: CoverProblem, x: np.ndarray, free: np.ndarray, *, spare: bool):
        """Build the CP-SAT model of the sites ``free`` around choice ``x``.

        Rows already covered by a chosen site outside the window are left out (their
        weight is ``done_weight``). With ``spare`` the window may use every site and all
        the budget the fixed part leaves; otherwise it keeps its own count and spend, so
        windows solved at once cannot together exceed ``k`` or the budget.
        """
        fixed_on = x & ~free
        done = p.counts(fixed_on) > 0
        self.cols = np.flatnonzero(free)
        sub = p.cov[:, self.cols]
        rows = np.flatnonzero((np.diff(sub.indptr) > 0) & ~done)
        self.sub = sp.csr_array(sub[rows])
        self.w = p.w[rows]
        self.done_weight = int(p.w[done].sum())
        hint = x[self.cols]
        self.value = int(self.w[(self.sub @ hint.astype(np.int32)) > 0].sum())
        # only a window with ``spare`` may use sites or budget the current choice leaves
        k = None if p.k is None else (p.k - int(fixed_on.sum()) if spare else int(hint.sum()))
        costs = None if p.costs is None else p.costs[self.cols]
        budget = None
        if costs is not None:
            budget = p.budget_slack(fixed_on) if spare else int(costs[hint].sum())
        self.model, self.xs = _model(self.sub, self.w, k, costs, budget, hint)
        self.build_cpu = _BUILD_CPU_PER_NNZ * self.sub.nnz

    def solve(self, seconds: float, seed: int, clock: Clock) -> _Solved:
        """Solve the window on one worker within ``seconds`` of estimated CPU time.

        The deterministic limit is ``seconds / 3.3`` deterministic seconds (the
        calibration ``_CPU_PER_DTIME``); the wall clock is a watchdog in deterministic
        mode.
        """
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.linearization_level = 2
        params.random_seed = seed
        params.max_deterministic_time = seconds / _CPU_PER_DTIME
        watchdog = clock.watchdog * seconds + 1 if clock.deterministic else seconds
        params.max_time_in_seconds = watchdog
        status = solver.solve(self.model)
        cpu = _CPU_PER_DTIME * solver.deterministic_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _Solved(None, 0, False, None, cpu)
        chosen = np.array([solver.boolean_value(v) for v in self.xs], dtype=bool)
        value = int(self.w[(self.sub @ chosen.astype(np.int32)) > 0].sum())
        bound = solver.best_objective_bound + self.done_weight
        return _Solved(chosen, value, status == cp_model.OPTIMAL, bound, cpu)


def _model(sub_cov, w, k, costs, budget, hint):
    """Build the CP-SAT model of a covering window, hinted completely (sites and coverage).

    Maximise ``sum_i w_i y_i`` subject to ``y_i <= sum_{j covers i} x_j``, ``sum_j x_j
    <= k`` and ``sum_j cost_j x_j <= budget``; the first is linear (not a clause) so
    CP-SAT's linear relaxation sees it.

    Returns
    -------
    model : cp_model.CpModel
        The model.
    xs : list
        The site variables, in window column order.
    """
    model = cp_model.CpModel()
    xs = [model.new_bool_var(f"x{j}") for j in range(sub_cov.shape[1])]
    ys = [model.new_bool_var(f"y{i}") for i in range(sub_cov.shape[0])]
    ptr, idx = sub_cov.indptr.tolist(), sub_cov.indices.tolist()
    for i, y in enumerate(ys):
        # y_i <= sum of the sites covering row i; linear so CP-SAT's LP sees it
        terms = [xs[j] for j in idx[ptr[i] : ptr[i + 1]]]
        model.add_linear_constraint(
            cp_model.LinearExpr.weighted_sum([*terms, y], [1] * len(terms) + [-1]), 0, len(terms)
        )
    if k is not None:
        model.add(sum(xs) <= k)
    if costs is not None:
        model.add(cp_model.LinearExpr.weighted_sum(xs, costs.tolist()) <= budget)
    model.maximize(cp_model.LinearExpr.weighted_sum(ys, w.tolist()))
    covered = (sub_cov @ hint.astype(np.int32)) > 0
    for v, h in zip(xs, hint, strict=True):
        model.add_hint(v, bool(h))
    for v, h in zip(ys, covered, strict=True):
        model.add_hint(v, bool(h))
    return model, xs
