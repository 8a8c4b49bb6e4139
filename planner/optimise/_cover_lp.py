"""LP relaxation of maximal covering with OR-Tools PDLP, and a proven bound from its duals.

PDLP is a first-order method, so its own objective is approximate; the bound returned
here is instead the dual objective re-evaluated at PDLP's (clipped) dual values, which is
a valid upper bound for any non-negative duals, however far PDLP got. PDLP: Applegate et
al., "Practical Large-Scale Linear Programming using Primal-Dual Hybrid Gradient", NeurIPS
2021.
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
    """The LP relaxation's proven bound, its fractional site values and its CPU estimate.

    Attributes
    ----------
    bound
        Proven upper bound on the covered weight, in the units of ``w``; at most
        ``w.sum()``.
    x
        Fractional value of each site, shape (n_sites,), or None when PDLP failed.
    cpu
        Estimated CPU seconds, ``PDLP_CPU_PER_ITER_NNZ * iterations * (nnz + rows +
        sites)``, charged to the deterministic clock.
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
    """Bound the covered weight from above with the LP relaxation, solved by PDLP.

    The LP: maximise ``w . y`` subject to ``y_i <= sum_j A_ij x_j``, ``sum x <= k``,
    ``costs . x <= budget``, ``0 <= x, y <= 1``. PDLP stops at a relative and absolute
    tolerance of 1e-5 or 20,000 iterations (so the result is deterministic), with
    ``seconds`` only as a guard. The bound comes from `dual_bound` at PDLP's duals, so
    it is valid however far PDLP got.

    Parameters
    ----------
    cov
        Rows x sites incidence, shape (n_rows, n_sites).
    w
        Row weights, shape (n_rows,), 0 or more.
    k
        Most sites to choose, or None.
    costs, budget
        Site costs, shape (n_sites,), and the budget, or both None.
    workers
        PDLP threads.
    seconds
        Wall-clock guard on PDLP (at least 0.1 s).

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
    """Write the LP for PDLP: variables ``[x (sites), y (rows)]``, all in [0, 1].

    PDLP minimises, so the objective is ``-w . y``. Constraint rows, in order: ``y_i -
    sum_j A_ij x_j <= 0`` per row, then ``sum x <= k`` and ``costs . x <= budget`` when
    given; `lp_relaxation` reads the duals in that order.
    """
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
    """Return PDLP's parameters: tolerances 1e-5, 20,000 iterations, ``seconds`` guard."""
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
    """Evaluate the LP dual objective at duals ``lam`` (rows), ``mu`` (count), ``nu`` (budget).

    For any ``lam, mu, nu >= 0``::

        bound = sum_i max(0, w_i - lam_i) + sum_j max(0, c_j - mu - nu cost_j)
                + k mu + budget nu,   with c_j = sum of lam_i over rows site j covers

    is at least the LP optimum, hence at least every integer solution. ``mu`` and ``nu``
    are re-optimised in closed form where one of them is absent, and the best of a few
    valid choices is returned.

    Parameters
    ----------
    cov
        Rows x sites incidence, shape (n_rows, n_sites).
    w
        Row weights, shape (n_rows,).
    lam
        Row duals, shape (n_rows,); clipped to ``[0, w_i]``, which never loosens the
        bound.
    k
        Most sites to choose, or None.
    costs, budget
        Site costs, shape (n_sites,), and the budget, or both None.
    mu, nu
        Duals of the count and budget constraints (negative values count as 0).

    Returns
    -------
    float
        A valid upper bound on the covered weight of every feasible choice.

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
    """Return min over mu >= 0 of sum max(0, value - mu) + k mu: the k largest positive values.

    With ``k`` None (no count limit) the sum of every positive value.
    """
    positive = np.sort(value[value > 0])[::-1]
    return float(positive[:k].sum())


def _with_budget(value: np.ndarray, costs: np.ndarray, budget: float) -> float:
    """Return min over nu >= 0 of sum max(0, value - nu cost) + budget nu: a fractional knapsack."""
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
    """Round LP values to a feasible choice: sites by decreasing value while they fit.

    Sites with a value of 1e-6 or less are never taken; a site over the budget left is
    skipped and the next one tried.

    Parameters
    ----------
    p
        The reduced problem (integer costs and budget).
    x
        LP value of each site, shape (n_sites,).

    Returns
    -------
    numpy.ndarray
        Boolean choice, shape (n_sites,), within ``k`` and the budget.
    """
    order = np.argsort(-x, kind="stable")
    chosen = np.zeros(p.n_sites, dtype=bool)
    left_k = p.k if p.k is not None else p.n_sites
    costs, left_b = p.costs, p.budget_slack(chosen)  # the whole budget; None without costs
    for j in order:
        if left_k == 0 or x[j] <= 1e-6:
            break
        if costs is not None and left_b is not None and costs[j] > left_b:
            continue
        chosen[j] = True
        left_k -= 1
        if costs is not None and left_b is not None:
            left_b -= int(costs[j])
    return chosen
