"""LP relaxation of maximal covering with OR-Tools PDLP, and a proven bound from its duals.

PDLP is a first-order method, so its own objective is approximate; the bound returned
here is instead the dual objective re-evaluated at PDLP's (clipped) dual values, which is
a valid upper bound for any non-negative duals, however far PDLP got.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.pdlp import solvers_pb2
from ortools.pdlp.python import pdlp

from planner.optimise._cover_search import CoverProblem

__all__ = ["LpResult", "dual_bound", "lp_relaxation", "round_lp"]

# CPU seconds per PDLP iteration and matrix non-zero (measured with time.process_time).
PDLP_CPU_PER_ITER_NNZ = 7e-9


@dataclass(frozen=True)
class LpResult:
    """The LP relaxation's proven bound, its fractional site values (None if it failed)
    and an estimate of the CPU seconds it took.
    """

    bound: float
    x: np.ndarray | None
    cpu: float


def lp_relaxation(
    cov: sp.csr_array,
    w: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None,
    budget: float | None,
    workers: int = 2,
    seconds: float = 3.0,
) -> LpResult:
    """Upper bound on the covered weight, and the LP's fractional site values.

    The LP: maximise ``w . y`` subject to ``y_i <= sum_j A_ij x_j``, ``sum x <= k``,
    ``costs . x <= budget``, ``0 <= x, y <= 1``.

    Returns
    -------
    LpResult
        The proven bound is ``w.sum()`` and ``x`` None when PDLP fails.

    Examples
    --------
    >>> lp_relaxation(cov, w, k=10, costs=None, budget=None).bound
    40512.0
    """
    n, m = cov.shape
    try:
        result = pdlp.primal_dual_hybrid_gradient(
            _program(cov, w, k, costs, budget), _params(workers, seconds)
        )
    except (RuntimeError, ValueError):
        return LpResult(float(w.sum()), None, 0.0)
    cpu = PDLP_CPU_PER_ITER_NNZ * result.solve_log.iteration_count * (cov.nnz + n + m)
    duals = -np.asarray(result.dual_solution, dtype=float)
    x = np.asarray(result.primal_solution, dtype=float)[:m]
    if len(duals) < n or not np.isfinite(duals).all() or not np.isfinite(x).all():
        return LpResult(float(w.sum()), None, cpu)
    extra = duals[n:]
    mu = float(extra[0]) if k is not None else 0.0
    nu = float(extra[-1]) if costs is not None else 0.0
    lam = np.clip(duals[:n], 0.0, w)
    bound = dual_bound(cov, w, lam, k=k, costs=costs, budget=budget, mu=mu, nu=nu)
    return LpResult(min(bound, float(w.sum())), x, cpu)


def _program(cov, w, k, costs, budget) -> pdlp.QuadraticProgram:
    """Variables ``[x (sites), y (rows)]``; PDLP minimises, so the objective is ``-w . y``."""
    n, m = cov.shape
    coo = sp.coo_array(cov)
    rows = [coo.row, np.arange(n)]
    cols = [coo.col, m + np.arange(n)]
    vals = [-np.ones(coo.nnz), np.ones(n)]
    upper = [np.zeros(n)]
    for coeffs, limit in ((None, k), (costs, budget)):
        if limit is None:
            continue
        row = n + len(upper) - 1
        rows.append(np.full(m, row))
        cols.append(np.arange(m))
        vals.append(np.ones(m) if coeffs is None else np.asarray(coeffs, dtype=float))
        upper.append(np.array([float(limit)]))
    upper_all = np.concatenate(upper)
    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(upper_all), m + n),
    )
    qp = pdlp.QuadraticProgram()
    qp.objective_vector = np.concatenate([np.zeros(m), -np.asarray(w, dtype=float)])
    qp.constraint_matrix = matrix
    qp.constraint_lower_bounds = np.full(len(upper_all), -np.inf)
    qp.constraint_upper_bounds = upper_all
    qp.variable_lower_bounds = np.zeros(m + n)
    qp.variable_upper_bounds = np.ones(m + n)
    return qp


def _params(workers: int, seconds: float) -> solvers_pb2.PrimalDualHybridGradientParams:
    params = solvers_pb2.PrimalDualHybridGradientParams()
    criteria = params.termination_criteria
    criteria.simple_optimality_criteria.eps_optimal_relative = 1e-5
    criteria.simple_optimality_criteria.eps_optimal_absolute = 1e-5
    # an iteration cap keeps the result deterministic; the time cap is only a guard
    criteria.iteration_limit = 20_000
    criteria.time_sec_limit = max(seconds, 0.1)
    params.num_threads = max(1, int(workers))
    params.verbosity_level = 0
    return params


def dual_bound(
    cov: sp.csr_array,
    w: np.ndarray,
    lam: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None,
    budget: float | None,
    mu: float = 0.0,
    nu: float = 0.0,
) -> float:
    """The LP dual objective at duals ``lam`` (rows), ``mu`` (count), ``nu`` (budget).

    For any ``lam, mu, nu >= 0``::

        bound = sum_i max(0, w_i - lam_i) + sum_j max(0, c_j - mu - nu cost_j)
                + k mu + budget nu,   with c_j = sum of lam_i over rows site j covers

    is at least the LP optimum, hence at least every integer solution. ``mu`` and ``nu``
    are re-optimised in closed form where one of them is absent, and the best of a few
    valid choices is returned.

    Examples
    --------
    >>> dual_bound(cov, w, np.zeros(len(w)), k=3, costs=None, budget=None) == w.sum()
    True
    """
    lam = np.clip(lam, 0.0, w)
    base = float(np.maximum(w - lam, 0.0).sum())
    value = sp.csr_array(cov.T) @ lam
    candidates = []
    if costs is None:
        candidates.append(_with_count(value, k))
        return base + min(candidates)
    assert budget is not None  # costs and budget are set together
    if k is None:
        candidates.append(_with_budget(value, costs, budget))
    else:
        nu = max(nu, 0.0)
        candidates.append(_with_count(value - nu * costs, k) + budget * nu)
        candidates.append(_with_count(value, k))
        candidates.append(_with_budget(value, costs, budget))
        candidates.append(float(np.maximum(value - max(mu, 0) - nu * costs, 0).sum()))
        candidates[-1] += k * max(mu, 0) + budget * nu
    return base + min(candidates)


def _with_count(value: np.ndarray, k: int | None) -> float:
    """Min over mu >= 0 of sum max(0, value - mu) + k mu: the k largest positive values.

    With ``k`` None (no count limit) the sum of every positive value.
    """
    positive = np.sort(value[value > 0])[::-1]
    return float(positive[:k].sum())


def _with_budget(value: np.ndarray, costs: np.ndarray, budget: float) -> float:
    """Min over nu >= 0 of sum max(0, value - nu cost) + budget nu: a fractional knapsack."""
    take = value > 0
    value, costs = value[take], costs[take]
    free = costs <= 0
    total = float(value[free].sum())
    value, costs = value[~free], costs[~free]
    order = np.argsort(-(value / costs), kind="stable")
    spent = np.cumsum(costs[order])
    full = spent <= budget
    total += float(value[order][full].sum())
    rest = np.flatnonzero(~full)
    if len(rest):
        j = order[rest[0]]
        left = budget - (spent[rest[0] - 1] if rest[0] > 0 else 0.0)
        total += float(value[j] * left / costs[j])
    return total


def round_lp(p: CoverProblem, x: np.ndarray) -> np.ndarray:
    """Cov feasible choice from LP values: sites by decreasing value while they fit."""
    order = np.argsort(-x, kind="stable")
    chosen = np.zeros(p.n_sites, dtype=bool)
    left_k = p.k if p.k is not None else p.n_sites
    left_b = p.budget
    for j in order:
        if left_k == 0 or x[j] <= 1e-6:
            break
        if left_b is not None and p.costs[j] > left_b:
            continue
        chosen[j] = True
        left_k -= 1
        if left_b is not None:
            left_b -= int(p.costs[j])
    return chosen
