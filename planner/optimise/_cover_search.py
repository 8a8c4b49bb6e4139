"""Heuristics for `planner.optimise.covering`: the reduced problem, greedy, 1-swap search.

Everything here works on a prepared `CoverProblem` (integer weights, no geometry) and on
boolean site vectors; `planner.optimise._cover_instance` validates inputs and reduces the
instance. Greedy maximal covering keeps at least ``1 - 1/e`` of the optimum under a site
count (Nemhauser, Wolsey & Fisher 1978); the budgeted variant is that of Khuller, Moss &
Naor (1999).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from planner.optimise.settings import Clock

__all__ = ["CoverProblem", "greedy", "swap_search"]

# CPU seconds of one swap round (measured with time.process_time): at least this, or
# this much per coverage non-zero.
_SWAP_ROUND_CPU = 0.02
_SWAP_CPU_PER_NNZ = 1e-7


@dataclass
class CoverProblem:
    """A reduced maximal covering instance: choose sites to cover the most row weight.

    Attributes
    ----------
    cov
        Rows (merged demand) x sites incidence, CSR of int32, shape (n_rows, n_sites).
    w
        Integer row weights (``int64``), all positive, shape (n_rows,).
    k
        Most sites to choose, or None.
    costs
        Integer site costs, or None.
    budget
        Integer budget for ``costs``, or None (set together with ``costs``).
    cov_t
        The transpose of ``cov`` (sites x rows) in CSR, made once for per-site rows.
    """

    cov: sp.csr_array
    w: np.ndarray
    k: int | None
    costs: np.ndarray | None = None
    budget: int | None = None
    cov_t: sp.csr_array = field(init=False)

    def __post_init__(self) -> None:
        """Make the site-major transpose ``cov_t``."""
        self.cov_t = sp.csr_array(self.cov.T)

    @property
    def n_sites(self) -> int:
        """Return the number of candidate sites (columns of ``cov``)."""
        return self.cov.shape[1]

    def counts(self, x: np.ndarray) -> np.ndarray:
        """Return how many chosen sites cover each row, shape (n_rows,)."""
        return self.cov @ x.astype(np.int32)

    def value(self, x: np.ndarray) -> int:
        """Return the covered weight of a Boolean choice ``x``, shape (n_sites,)."""
        return int(self.w[self.counts(x) > 0].sum())

    def feasible(self, x: np.ndarray) -> bool:
        """Tell whether choice ``x`` keeps within ``k`` and the budget."""
        ok = self.k is None or int(x.sum()) <= self.k
        slack = self.budget_slack(x)
        return ok and (slack is None or slack >= 0)

    def budget_slack(self, x: np.ndarray) -> int | None:
        """Return the budget left after choice ``x``, or None when there is no budget."""
        if self.costs is None:
            return None
        assert self.budget is not None  # costs and budget are set together
        return self.budget - int(self.costs[x].sum())


def greedy(p: CoverProblem) -> np.ndarray:
    """Choose greedily: the largest uncovered weight (per unit cost, with a budget) first.

    With a budget the best single affordable site is kept when it beats the greedy set,
    which gives the classic (1 - 1/sqrt(e)) guarantee. Gains are updated incrementally:
    covering a row takes its weight off every site that covers it.

    Parameters
    ----------
    p
        The reduced problem.

    Returns
    -------
    numpy.ndarray
        Boolean choice, shape (n_sites,), within ``k`` and the budget; all False when no
        affordable site covers anything.

    Examples
    --------
    >>> x = greedy(CoverProblem(A, w, k=10))
    """
    gains = (p.cov_t @ p.w).astype(np.float64)
    covered = np.zeros(p.cov.shape[0], dtype=bool)
    x = np.zeros(p.n_sites, dtype=bool)
    spent = 0
    while p.k is None or x.sum() < p.k:
        j = _best_site(p, gains, x, spent)
        if j < 0:
            break
        x[j] = True
        spent += 0 if p.costs is None else int(p.costs[j])
        rows = p.cov_t.indices[p.cov_t.indptr[j] : p.cov_t.indptr[j + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        sub = p.cov[new]
        np.subtract.at(gains, sub.indices, np.repeat(p.w[new], np.diff(sub.indptr)))
    if p.costs is not None:
        single = _best_single(p)
        if single >= 0 and p.value(_onehot(p.n_sites, single)) > p.value(x):
            return _onehot(p.n_sites, single)
    return x


def _best_site(p: CoverProblem, gains: np.ndarray, x: np.ndarray, spent: int) -> int:
    """Return the next greedy site, or -1 when no affordable site adds weight.

    The score is uncovered weight per unit cost with a budget (a free site scores
    infinity), else uncovered weight.
    """
    eligible = ~x & (gains > 0)
    score = gains
    if p.costs is not None:
        assert p.budget is not None  # costs and budget are set together
        eligible &= p.costs <= p.budget - spent
        free = np.full(len(gains), np.inf)
        score = np.divide(gains, p.costs, out=free, where=p.costs > 0)
    if not eligible.any():
        return -1
    return int(np.argmax(np.where(eligible, score, -np.inf)))


def _best_single(p: CoverProblem) -> int:
    """Return the affordable site covering the most weight on its own, or -1."""
    assert p.costs is not None and p.budget is not None  # only called with a budget
    gains = np.where(p.costs <= p.budget, p.cov_t @ p.w, -1)
    j = int(np.argmax(gains))
    return j if gains[j] > 0 else -1


def _onehot(n: int, j: int) -> np.ndarray:
    """Return a Boolean choice of length ``n`` with only site ``j``."""
    x = np.zeros(n, dtype=bool)
    x[j] = True
    return x


def swap_search(
    p: CoverProblem,
    x: np.ndarray,
    *,
    clock: Clock | None = None,
    until: float = 0.0,
    max_rounds: int = 1000,
) -> np.ndarray:
    """Improve a choice by 1-swaps (one site out, one in) until none helps.

    Each round scores every (in, out) pair at once from sparse products, then applies the
    promising swaps best first, re-checking each one's exact gain against the choice as it
    stands (earlier swaps of the round may have changed it). Stops early when ``clock``
    has ``until`` seconds or fewer left. A swap may also be a plain addition while ``k``
    and the budget leave room.

    Parameters
    ----------
    p
        The reduced problem.
    x
        A feasible Boolean choice, shape (n_sites,); not modified.
    clock
        Charged each round's estimated CPU seconds (at least 0.02 s, or 1e-7 s per
        coverage non-zero); None for no time limit.
    until
        Seconds to leave on ``clock`` for later steps.
    max_rounds
        Most rounds of swaps.

    Returns
    -------
    numpy.ndarray
        The improved choice, feasible and covering at least as much as ``x``.

    Examples
    --------
    >>> better = swap_search(problem, greedy(problem))
    """
    x = x.copy()
    for _ in range(max_rounds):
        if clock is not None:
            if clock.left() <= until:
                break
            clock.charge(max(_SWAP_ROUND_CPU, _SWAP_CPU_PER_NNZ * p.cov.nnz))
        if not _apply_swaps(p, x):
            break
    return x


def _apply_swaps(p: CoverProblem, x: np.ndarray, batch: bool = True) -> int:
    """Apply one round of best-first improving swaps in place; return how many were applied.

    Candidates come from `_best_partner`; when a candidate's partner is gone, the chosen
    sites cheapest to lose (at the round's start) are tried instead.
    """
    c = p.counts(x)
    gain = p.cov_t @ (p.w * (c == 0))
    best, best_out, loss = _best_partner(p, x, c, gain)
    order = np.argsort(-best, kind="stable")
    order = order[best[order] > 0]
    inside = np.flatnonzero(x)
    cheap = inside[np.argsort(loss[inside], kind="stable")]
    state = _SwapState(p, x, c)
    applied = 0
    for a in order:
        if x[a]:
            continue
        partners = [int(best_out[a]), *[int(j) for j in cheap[:8] if x[j]][:4]]
        scored = [(state.delta(int(a), j), -i, j) for i, j in enumerate(partners)]
        delta, _, j = max(scored)
        if delta > 0:
            state.apply(int(a), j)
            applied += 1
            if not batch:
                break
    return applied


class _SwapState:
    """Cover counts and slacks of a choice, for exact swap gains as swaps are applied."""

    def __init__(self, p: CoverProblem, x: np.ndarray, c: np.ndarray) -> None:
        """Track choice ``x`` and its cover counts ``c`` (both updated in place)."""
        self.p, self.x, self.c = p, x, c
        self.slack_k = None if p.k is None else p.k - int(x.sum())
        self.slack_b = p.budget_slack(x)
        self.mark = np.zeros(p.cov.shape[0], dtype=bool)

    def _rows(self, j: int) -> np.ndarray:
        """Return the rows site ``j`` covers."""
        return self.p.cov_t.indices[self.p.cov_t.indptr[j] : self.p.cov_t.indptr[j + 1]]

    def _extra_cost(self, a: int, j: int) -> int:
        """Return the budget a swap of ``j`` (-1: none) for ``a`` uses (0 without costs)."""
        if self.p.costs is None:
            return 0
        return int(self.p.costs[a]) - (int(self.p.costs[j]) if j >= 0 else 0)

    def delta(self, a: int, j: int) -> int:
        """Return the exact gain of adding ``a`` and dropping ``j`` (-1: none); -1 if not allowed.

        Rows covered only by ``j`` are lost unless ``a`` covers them too.
        """
        if j >= 0 and not self.x[j]:
            return -1
        if j < 0 and self.slack_k is not None and self.slack_k < 1:
            return -1
        if self.slack_b is not None and self._extra_cost(a, j) > self.slack_b:
            return -1
        ra = self._rows(a)
        won = int(self.p.w[ra[self.c[ra] == 0]].sum())
        if j < 0:
            return won
        rj = self._rows(j)
        self.mark[ra] = True
        lost = int(self.p.w[rj[(self.c[rj] == 1) & ~self.mark[rj]]].sum())
        self.mark[ra] = False
        return won - lost

    def apply(self, a: int, j: int) -> None:
        """Add ``a`` and drop ``j`` (-1: none), updating counts and slacks."""
        extra = self._extra_cost(a, j)
        self.c[self._rows(a)] += 1
        self.x[a] = True
        if j >= 0:
            self.c[self._rows(j)] -= 1
            self.x[j] = False
        elif self.slack_k is not None:
            self.slack_k -= 1
        if self.slack_b is not None:
            self.slack_b -= extra


def _best_partner(
    p: CoverProblem, x: np.ndarray, c: np.ndarray, gain: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find, for every unchosen site, the best chosen site to swap it with.

    Returns the net gain of each unchosen site's best swap (``-inf`` for chosen sites),
    its partner (-1 for a plain addition) and the loss of dropping each chosen site.
    Swapping out *j* loses the rows only *j* covers (``loss``) except those the incoming
    site *a* also covers (``shared[a, j]``): net = gain[a] - loss[j] + shared[a, j].
    """
    n, m = p.cov.shape
    single = np.flatnonzero(c == 1)
    sub = p.cov[single]
    owner = sub.indices[x[sub.indices]]
    loss = np.bincount(owner, weights=p.w[single], minlength=m)
    slack_k = None if p.k is None else p.k - int(x.sum())
    slack_b = p.budget_slack(x)
    best = np.full(m, -np.inf)
    best_out = np.full(m, -1, dtype=np.int64)
    can_add = ~x & (gain > 0)
    if slack_k is None or slack_k > 0:  # plain additions
        if slack_b is not None and p.costs is not None:  # slack_b is None without costs
            can_add &= p.costs <= slack_b
        best[can_add] = gain[can_add]
    _fallback_partner(p, x, loss, gain, slack_b, best, best_out)
    owners = sp.csr_array((p.w[single].astype(np.float64), (single, owner)), shape=(n, m))
    shared = sp.coo_array(p.cov_t @ owners)
    ok = ~x[shared.row] & x[shared.col]
    if slack_b is not None and p.costs is not None:
        ok &= p.costs[shared.row] - p.costs[shared.col] <= slack_b
    rows, cols = shared.row[ok], shared.col[ok]
    net = gain[rows] - loss[cols] + shared.data[ok]
    order = np.lexsort((cols, -net, rows))
    rows, cols, net = rows[order], cols[order], net[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
    rows, cols, net = rows[first], cols[first], net[first]
    better = net > best[rows] + 1e-9
    best[rows[better]] = net[better]
    best_out[rows[better]] = cols[better]
    best[x] = -np.inf
    return best, best_out, loss


def _fallback_partner(p, x, loss, gain, slack_b, best, best_out) -> None:
    """Offer every candidate the cheapest-to-lose chosen site that frees enough budget.

    Updates ``best`` and ``best_out`` in place where that swap beats the best found.
    With a budget, a suffix minimum over chosen sites sorted by cost finds, for each
    candidate, the least loss among the sites dear enough to make room for it.
    """
    inside = np.flatnonzero(x)
    if not len(inside):
        return
    if slack_b is None:
        j = inside[np.argmin(loss[inside])]
        net = np.where(~x, gain - loss[j], -np.inf)
        better = net > best
        best[better] = net[better]
        best_out[better] = j
        return
    order = inside[np.argsort(p.costs[inside], kind="stable")]
    # suffix minimum of loss over sites sorted by cost: cheapest loss among costlier sites
    suffix = np.minimum.accumulate(loss[order][::-1])[::-1]
    suffix_arg = _suffix_argmin(loss[order])
    need = p.costs - slack_b
    pos = np.searchsorted(p.costs[order], need, side="left")
    ok = ~x & (pos < len(order))
    pos = np.minimum(pos, len(order) - 1)
    net = np.where(ok, gain - suffix[pos], -np.inf)
    better = net > best
    best[better] = net[better]
    best_out[better] = order[suffix_arg[pos[better]]]


def _suffix_argmin(values: np.ndarray) -> np.ndarray:
    """Return, for each position, the index of the least value from there on (first wins)."""
    out = np.empty(len(values), dtype=np.int64)
    arg = len(values) - 1
    for i in range(len(values) - 1, -1, -1):
        if values[i] <= values[arg]:
            arg = i
        out[i] = arg
    return out
