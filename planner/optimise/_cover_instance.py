"""Prepare maximal covering instances for `planner.optimise.covering`.

Validation, locked sites, merging of identical demand rows, dominated sites, integer
weights and costs, and the way back from the reduced instance to the caller's sites and
units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from planner.errors import InfeasibleError, PlannerError
from planner.optimise._cover_search import CoverProblem

__all__ = ["CoverResult", "Instance"]

# Largest total weight kept exact once weights are scaled to integers for CP-SAT.
_MAX_SCALED_TOTAL = 2**50


@dataclass(frozen=True)
class CoverResult:
    """A maximal covering answer with its proof of quality.

    Attributes
    ----------
    sites
        Chosen site indices (columns of the coverage matrix), ascending; locked ones included.
    covered_weight
        Demand weight within reach of at least one chosen site.
    bound
        Best proven upper bound on the covered weight of any feasible choice.
    gap
        ``1 - covered_weight / bound`` (0 when proven optimal).
    status
        ``"OPTIMAL"`` (no better choice exists), ``"FEASIBLE"``, or ``"INFEASIBLE"`` when the
        request cannot be met (locked sites over ``k`` or the budget, no site within budget).
    seconds
        Wall-clock seconds spent.
    method
        The steps that produced the answer, e.g. ``"lp-round+swap+lns"`` or ``"cp-sat"``.
    greedy_weight
        Covered weight of the plain greedy choice (the baseline).
    total_weight
        Weight of all demand, covered or not.
    bounds
        Every bound found, by source (``"coverable"``, ``"lp"``, ``"cp-sat"``).
    stats
        Sizes before and after reduction and search counters.
    explanation
        Why there is no choice, in words, when there is none (empty otherwise).
    """

    sites: tuple[int, ...]
    covered_weight: float
    bound: float
    gap: float
    status: str
    seconds: float
    method: str
    greedy_weight: float
    total_weight: float
    bounds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a choice was found (``status`` is ``OPTIMAL`` or ``FEASIBLE``)."""
        return self.status in ("OPTIMAL", "FEASIBLE")


@dataclass
class Instance:
    """A validated instance reduced for the search, and the way back to the caller's terms.

    Reduction drops demand rows no site covers, rows the locked sites already cover and
    rows of weight 0; drops sites that cover nothing left or cannot fit the budget left;
    merges rows covered by the same sites; and drops dominated sites. None of this can
    change the best covered weight.

    Attributes
    ----------
    n_sites
        Sites in the caller's coverage matrix.
    total_weight
        Weight of all demand rows.
    total_coverable
        Weight of the rows some site covers: the first, trivial bound.
    fixed_weight
        Weight the locked sites cover, added back to every figure reported.
    locked
        Locked site indices (caller's numbering), sorted and unique.
    problem
        The reduced integer problem, or None when nothing is left to choose.
    weights
        Float weight of each reduced row, shape (n_rows,), in the caller's units.
    sites
        Caller's site index of each reduced column, shape (n_reduced_sites,).
    scale
        Power of ten the weights were multiplied by to become integers.
    rounding
        ``sum |weight - integer weight / scale|``, added to bounds from integer solves.
    costs, budget
        Site costs (caller's order) and budget in the caller's units, or None.
    stats
        Sizes before and after reduction (``demand_rows``, ``rows``, ``sites_in``,
        ``sites``, ``nnz_in``, ``coverable_rows``) and ``k`` (-1 when not given).
    """

    n_sites: int
    total_weight: float
    total_coverable: float
    fixed_weight: float
    locked: np.ndarray
    problem: CoverProblem | None
    weights: np.ndarray  # float weight of each reduced row
    sites: np.ndarray  # reduced column -> original site index
    scale: float
    rounding: float  # sum of |weight - scaled integer weight / scale|
    costs: np.ndarray | None
    budget: float | None
    stats: dict[str, float]

    @classmethod
    def build(cls, coverage, weights, k, costs, budget, locked) -> Instance:
        """Validate the inputs of `planner.optimise.covering.max_cover` and reduce them.

        Parameters
        ----------
        coverage
            Demand x site incidence (scipy sparse), or ``(demand_index, site_index)``.
        weights
            Demand weight per row, shape (n_demand,), 0 or more.
        k
            Most sites to choose (locked included), or None.
        costs, budget
            Cost per site, shape (n_sites,), and the budget, or both None.
        locked
            Site indices that must be chosen, or None.

        Returns
        -------
        Instance
            The reduced instance; ``problem`` is None when nothing is left to choose
            (then see `trivial_result`).

        Raises
        ------
        PlannerError
            When an input has the wrong type, shape or range, or neither ``k`` nor a
            budget is given; the message names the argument.
        InfeasibleError
            When the locked sites exceed ``k`` or cost more than the budget.
        """
        cov = _as_csr(coverage, len(np.asarray(weights)), None if costs is None else len(costs))
        w = _weights(weights, cov.shape[0])
        c, b = _costs(costs, budget, cov.shape[1])
        k = _count(k, budget)
        lock = _locked(locked, cov.shape[1], k, c, b)
        on_lock = np.zeros(cov.shape[1], dtype=bool)
        on_lock[lock] = True
        by_lock = (cov @ on_lock.astype(np.int32)) > 0
        coverable = np.diff(cov.indptr) > 0
        rows = np.flatnonzero(coverable & ~by_lock & (w > 0))
        cols = _useful_sites(cov, rows, on_lock, c, b, lock)
        red, rw = _merge_rows(sp.csr_array(cov[rows][:, cols]), w[rows])
        keep = _undominated(red, None if c is None else c[cols])
        cols = cols[keep]
        red, rw = _merge_rows(sp.csr_array(red[:, keep]), rw)
        scale, w_int = _integer_weights(rw)
        stats: dict[str, float] = {
            "demand_rows": cov.shape[0],
            "rows": red.shape[0],
            "sites_in": cov.shape[1],
        }
        stats |= {"nnz_in": cov.nnz, "coverable_rows": len(rows), "k": -1 if k is None else k}
        stats["sites"] = len(cols)
        inst = cls(
            n_sites=cov.shape[1],
            total_weight=float(w.sum()),
            total_coverable=float(w[coverable].sum()),
            fixed_weight=float(w[by_lock].sum()),
            locked=lock,
            problem=None,
            weights=rw,
            sites=cols,
            scale=scale,
            rounding=float(np.abs(rw - w_int / scale).sum()),
            costs=c,
            budget=b,
            stats=stats,
        )
        k_left = None if k is None else k - len(lock)
        if red.shape[0] and len(cols) and k_left != 0:
            inst.problem = CoverProblem(
                cov=sp.csr_array(red, dtype=np.int32),  # type: ignore[call-overload]  # scipy-stubs: no (sparse, dtype=) overload
                w=w_int,
                k=k_left,
                costs=None if c is None else _integer_costs(c)[0][cols],
                budget=None if c is None or b is None else _budget_left(c, b, lock),
            )
        return inst

    def weight_of(self, x: np.ndarray) -> float:
        """Return the covered weight (caller's units) of a reduced choice, locked sites included."""
        if self.problem is None or x is None:
            return self.fixed_weight
        return self.fixed_weight + float(self.weights[self.problem.counts(x) > 0].sum())

    def float_limits(self) -> dict:
        """Return ``k``, ``costs`` and ``budget`` of the reduced problem in the caller's units.

        The keyword arguments of `planner.optimise._cover_lp.lp_relaxation`.
        """
        p = self.problem
        assert p is not None  # called only when a problem is left to solve
        if self.costs is None or self.budget is None:  # both or neither (see `_costs`)
            return {"k": p.k, "costs": None, "budget": None}
        left = self.budget - float(self.costs[self.locked].sum())
        return {"k": p.k, "costs": self.costs[self.sites], "budget": left}

    def weight_of_int(self, value: int) -> float:
        """Return an integer covered weight of the reduced problem in the caller's units."""
        return self.fixed_weight + value / self.scale

    def bound_from_int(self, bound: float) -> float:
        """Return an integer-problem bound in the caller's units, rounding error added.

        Adding ``rounding`` keeps the bound valid although weights were rounded.
        """
        return self.fixed_weight + bound / self.scale + self.rounding

    def chosen(self, x: np.ndarray | None) -> tuple[int, ...]:
        """Return the caller's site indices of a reduced choice, locked sites included."""
        picked = self.sites[x] if x is not None else np.zeros(0, dtype=np.int64)
        return tuple(int(i) for i in np.sort(np.concatenate([self.locked, picked])))

    def result(self, x, x_greedy, bounds, method, stats, seconds) -> CoverResult:
        """Return the answer for choice ``x``, with its bound, gap and status.

        The bound is the least of ``bounds`` (never below the weight covered); the
        choice is ``OPTIMAL`` when it reaches the bound to a relative 1e-9.
        """
        covered = self.weight_of(x)
        bound = max(min(bounds.values()), covered)
        optimal = covered >= bound - 1e-9 * max(1.0, abs(bound))
        return CoverResult(
            sites=self.chosen(x),
            covered_weight=covered,
            bound=bound,
            gap=0.0 if optimal or bound <= 0 else 1.0 - covered / bound,
            status="OPTIMAL" if optimal else "FEASIBLE",
            seconds=seconds,
            method=method,
            greedy_weight=self.weight_of(x_greedy),
            total_weight=self.total_weight,
            bounds=bounds,
            stats=stats,
        )

    def trivial_result(self, seconds: float) -> CoverResult:
        """Answer when nothing is left to choose: the locked sites, if there are any.

        Raises
        ------
        PlannerError
            Without locked sites: when ``k`` is 0, or no site covers any demand of
            weight above 0.
        InfeasibleError
            Without locked sites: when demand is coverable but no site fits the budget.
        """
        if not len(self.locked):
            if self.stats["k"] == 0:
                raise PlannerError("k is 0: nothing to choose; give k of 1 or more")
            if self.stats["coverable_rows"] and self.costs is not None:
                self.no_site_fits()
            raise PlannerError(
                "no candidate site covers any demand with weight above 0; check that demand "
                "and sites share a metric CRS, or widen the radius"
            )
        bounds = {"coverable": self.fixed_weight}
        return self.result(None, None, bounds, "locked", dict(self.stats), seconds)

    def no_site_fits(self) -> CoverResult:
        """Raise that no site fits the budget left after the locked sites.

        Raises
        ------
        InfeasibleError
            Always, naming the budget and how to relax it.
        """
        raise InfeasibleError(
            f"no candidate site fits the budget of {self.budget:,.2f} (after locked sites); "
            "raise the budget or lower the site costs",
            ["budget"],
        )


def _as_csr(coverage, n_rows: int, n_sites: int | None) -> sp.csr_array:
    """Return ``coverage`` as a Boolean CSR array with sorted, unique indices.

    Index pairs become a matrix of ``n_rows`` rows and ``n_sites`` columns (or as many as
    the largest site index needs). Raises `PlannerError` on any mismatch with ``weights``
    or ``costs``.
    """
    if isinstance(coverage, tuple) and len(coverage) == 2:
        d_idx, s_idx = (np.asarray(a, dtype=np.int64) for a in coverage)
        if d_idx.shape != s_idx.shape or d_idx.ndim != 1:
            raise PlannerError("'coverage' index arrays must be 1-D and of equal length")
        width = n_sites if n_sites is not None else int(s_idx.max(initial=-1)) + 1
        if len(d_idx) and (d_idx.min() < 0 or d_idx.max() >= n_rows or s_idx.min() < 0):
            raise PlannerError("'coverage' has a demand index outside 0..len(weights)-1")
        if len(s_idx) and s_idx.max() >= width:
            raise PlannerError("'coverage' has a site index outside 0..len(costs)-1")
        data = np.ones(len(d_idx), dtype=bool)
        coverage = sp.csr_array((data, (d_idx, s_idx)), shape=(n_rows, width))
    if not sp.issparse(coverage):
        raise PlannerError(
            "'coverage' must be a scipy sparse matrix or (demand_index, site_index) arrays; "
            f"got {type(coverage).__name__}. Build it with coverage_matrix(...)"
        )
    cov = sp.csr_array(coverage, dtype=bool)  # type: ignore[call-overload]  # scipy-stubs: no (sparse, dtype=) overload
    cov.sum_duplicates()
    cov.eliminate_zeros()
    cov.sort_indices()
    if cov.shape[0] != n_rows:
        raise PlannerError(f"'coverage' has {cov.shape[0]} rows but 'weights' has {n_rows} values")
    if n_sites is not None and cov.shape[1] != n_sites:
        raise PlannerError(f"'coverage' has {cov.shape[1]} sites but 'costs' has {n_sites} values")
    return cov


def _weights(weights, n: int) -> np.ndarray:
    """Return the weights as floats, or raise unless there are ``n``, finite, 0 or more."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise PlannerError("'weights' must give one finite weight, 0 or more, per demand row")
    return w


def _costs(costs, budget, n_sites: int) -> tuple[np.ndarray | None, float | None]:
    """Return validated costs and budget (both or neither), or raise `PlannerError`."""
    if (costs is None) != (budget is None):
        raise PlannerError("give 'costs' and 'budget' together, or neither")
    if costs is None:
        return None, None
    c = np.asarray(costs, dtype=float)
    if c.shape != (n_sites,) or not np.isfinite(c).all() or (c < 0).any():
        raise PlannerError("'costs' must give one finite cost, 0 or more, per site")
    if not (math.isfinite(budget) and budget >= 0):
        raise PlannerError(f"'budget' must be a finite amount, 0 or more; got {budget!r}")
    return c, float(budget)


def _count(k, budget) -> int | None:
    """Return ``k`` as an int (None when not given); one of ``k`` and a budget is needed."""
    if k is None and budget is None:
        raise PlannerError("give 'k' (most sites to choose), a 'budget' with 'costs', or both")
    if k is not None and not (isinstance(k, int | np.integer) and k >= 0):
        raise PlannerError(f"'k' must be a whole number of sites, 0 or more; got {k!r}")
    return None if k is None else int(k)


def _locked(locked, n_sites: int, k, costs, budget) -> np.ndarray:
    """Return the locked sites sorted and unique, checked against ``k`` and the budget.

    Raises `PlannerError` for an index out of range and `InfeasibleError` when the locked
    sites alone exceed ``k`` or the budget.
    """
    lock = np.unique(np.asarray(locked if locked is not None else [], dtype=np.int64))
    if len(lock) and (lock[0] < 0 or lock[-1] >= n_sites):
        raise PlannerError(f"'locked' names a site outside 0..{n_sites - 1}")
    if k is not None and len(lock) > k:
        raise InfeasibleError(
            f"{len(lock)} locked sites exceed k={k}; raise k or unlock sites", ["locked", "k"]
        )
    if costs is not None and costs[lock].sum() > budget:
        raise InfeasibleError(
            f"locked sites cost {costs[lock].sum():,.2f}, over the budget of {budget:,.2f}; "
            "raise the budget or unlock sites",
            ["locked", "budget"],
        )
    return lock


def _useful_sites(cov, rows, on_lock, costs, budget, lock) -> np.ndarray:
    """Return the unlocked sites that cover a remaining row and fit the budget left."""
    hits = np.zeros(cov.shape[1], dtype=bool)
    hits[cov[rows].indices] = True
    hits &= ~on_lock
    if costs is not None:
        hits &= costs <= budget - costs[lock].sum() + 1e-9
    return np.flatnonzero(hits)


def _merge_rows(cov: sp.csr_array, w: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Merge rows covered by exactly the same sites, summing their weight."""
    cov.sort_indices()
    ids: dict[bytes, int] = {}
    group = np.fromiter(
        (
            ids.setdefault(cov.indices[cov.indptr[i] : cov.indptr[i + 1]].tobytes(), len(ids))
            for i in range(cov.shape[0])
        ),
        dtype=np.int64,
        count=cov.shape[0],
    )
    first = np.full(len(ids), cov.shape[0], dtype=np.int64)
    np.minimum.at(first, group, np.arange(cov.shape[0]))
    return sp.csr_array(cov[first]), np.bincount(group, weights=w, minlength=len(ids))


def _undominated(cov: sp.csr_array, costs: np.ndarray | None) -> np.ndarray:
    """Return the columns to keep: a site covering a subset of a no-dearer site's rows goes.

    Of two sites with the same rows and cost the lower index stays. Skipped (every
    column kept) when the site-pair count would need too much memory.
    """
    m = cov.shape[1]
    per_row = np.diff(cov.indptr).astype(np.int64)
    if int((per_row**2).sum()) > 30_000_000:  # the pair count would cost too much memory
        return np.arange(m)
    ints = sp.csr_array(cov, dtype=np.int32)  # type: ignore[call-overload]  # scipy-stubs: no (sparse, dtype=) overload
    size = np.diff(sp.csr_array(ints.T).indptr)
    pairs = sp.coo_array(ints.T @ ints)
    r, c = pairs.row, pairs.col
    sub = (r != c) & (pairs.data == size[r])  # rows of site r all covered by site c
    r, c = r[sub], c[sub]
    cost = np.zeros(m) if costs is None else costs
    cheaper = cost[c] < cost[r]
    same = cost[c] == cost[r]
    bigger = size[c] > size[r]
    dominated = (cost[c] <= cost[r]) & (bigger | cheaper | (same & (c < r)))
    gone = np.zeros(m, dtype=bool)
    gone[r[dominated]] = True
    return np.flatnonzero(~gone)


def _integer_weights(w: np.ndarray) -> tuple[float, np.ndarray]:
    """Scale weights to integers for CP-SAT: exact when they have few decimals."""
    total = max(float(w.sum()), 1.0)
    scale = 1.0
    for _ in range(7):
        if np.allclose(w * scale, np.round(w * scale), rtol=0, atol=1e-9):
            break
        if total * scale * 10 > _MAX_SCALED_TOTAL:
            break
        scale *= 10
    return scale, np.round(w * scale).astype(np.int64)


def _integer_costs(costs: np.ndarray) -> tuple[np.ndarray, float]:
    """Return costs in integer units (pence when given in pounds), rounded up, and the scale.

    The scale is the least power of ten (up to 10**6) making the costs whole; rounding
    up keeps every integer-feasible choice feasible.
    """
    scale = 1.0
    for _ in range(6):
        if np.allclose(costs * scale, np.round(costs * scale), rtol=0, atol=1e-9):
            break
        scale *= 10
    return np.ceil(costs * scale - 1e-9).astype(np.int64), scale


def _budget_left(costs: np.ndarray, budget: float, lock: np.ndarray) -> int:
    """Return the budget left after the locked sites, in the integer cost units.

    The budget is rounded down and costs up, so an integer-feasible choice is feasible
    in the caller's units.
    """
    c_int, scale = _integer_costs(costs)
    return math.floor(budget * scale + 1e-9) - int(c_int[lock].sum())
