"""Bounds on the best plan: the LP relaxation of the whole placement problem, solved by PDLP.

`lp_relaxation` writes the placement rules of `planner.optimise.constraints` as a linear
program over ``0 <= x <= 1`` (the density rules, which hold only around booked assets,
are left out: a relaxation may drop rules, never add them), solves it with OR-Tools'
PDLP (Applegate et al., "Practical Large-Scale Linear Programming using Primal-Dual
Hybrid Gradient", NeurIPS 2021), and returns a proven upper bound and the fractional
solution, which `planner.optimise.construct.construct_plan` can follow.

PDLP is a first-order method, so its own objective is approximate. The bound returned is
the Lagrangian dual function at PDLP's dual values (`dual_bound`): for any duals of the
right sign it is at least every plan's value, so it is valid however far PDLP got.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from ortools.pdlp import solve_log_pb2, solvers_pb2
from ortools.pdlp.python import pdlp

from planner.optimise.constraints import SHARE_SCALE, groups, sector_cliques
from planner.optimise.instance import Instance
from planner.optimise.model import candidate_values

__all__ = [
    "BackgroundBound",
    "LinearProgram",
    "LpResult",
    "dual_bound",
    "linear_program",
    "lp_relaxation",
]


@dataclass(frozen=True)
class LinearProgram:
    """A linear program ``max c.x`` s.t. ``lo <= A x <= hi``, ``lb <= x <= ub``.

    Attributes
    ----------
    matrix
        Constraint matrix ``A``, shape (n_rows, n_vars), CSR.
    lo, hi
        Row bounds, shape (n_rows,); ``-inf`` or ``inf`` where a side is open.
    c
        Objective coefficients (to maximise), shape (n_vars,).
    lb, ub
        Variable bounds, shape (n_vars,): candidates first (``1`` from below when
        locked), then one coverage variable per (zone, campaign) for reach.
    n_candidates
        Number of candidate variables (the first columns).
    """

    matrix: sp.csr_array
    lo: np.ndarray
    hi: np.ndarray
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    n_candidates: int


@dataclass(frozen=True)
class LpResult:
    """What the LP relaxation gave.

    Attributes
    ----------
    bound
        Proven upper bound on the objective of every plan, in the objective's units
        (pence for revenue); ``inf`` when PDLP failed.
    x
        Fractional value of each candidate, shape (n_candidates,), or None when PDLP
        failed.
    seconds
        Wall-clock seconds to build and solve.
    converged
        Whether PDLP reached its tolerance (else it stopped at its iteration or time limit;
        the bound is valid either way).
    timed_out
        Whether PDLP's wall-clock guard stopped it (its answer then depends on the
        machine's speed and load).
    """

    bound: float
    x: np.ndarray | None
    seconds: float
    converged: bool
    timed_out: bool


def linear_program(inst: Instance, weights: dict[str, float]) -> LinearProgram:
    """Write the placement problem's LP relaxation (density rules left out).

    Rows: capacity per asset and cycle, budget per campaign, minimum and maximum faces
    per campaign and cycle, spacing cliques (`sector_cliques`), competitor separation
    (the at-most-one groups of `planner.optimise.constraints.add_competitor_separation`),
    category shares, the revenue target, and for reach ``cover[z,c] <= sum x`` over the
    campaign's candidates within walking distance of zone ``z``.

    Parameters
    ----------
    inst
        The instance.
    weights
        Weight of each objective term (``revenue``, ``impacts``, ``reach``) in the LP's
        objective.

    Returns
    -------
    LinearProgram
        The LP, candidates as its first columns.
    """
    n = inst.n_candidates
    rows = _Rows(n)
    _capacity_rows(rows, inst)
    _budget_rows(rows, inst)
    _faces_rows(rows, inst)
    _spacing_rows(rows, inst)
    _competitor_rows(rows, inst)
    _share_rows(rows, inst)
    if inst.required_sales_pence > 0:
        rows.add(np.arange(n), inst.cand_price.astype(float), inst.required_sales_pence, np.inf)
    c = np.zeros(n)
    for name in ("revenue", "impacts"):
        if weights.get(name):
            c += weights[name] * candidate_values(inst, name).astype(float)
    lb, ub = np.zeros(n), np.ones(n)
    lb[inst.locked] = 1.0
    extra = np.zeros(0)
    if weights.get("reach") and inst.asset_zones:
        extra = _cover_rows(rows, inst) * weights["reach"]
    c = np.concatenate([c, extra])
    width = n + len(extra)
    matrix, lo, hi = rows.build(width)
    return LinearProgram(
        matrix, lo, hi, c, np.r_[lb, np.zeros(len(extra))], np.r_[ub, np.ones(len(extra))], n
    )


class _Rows:
    """Constraint rows collected as COO triplets, one ``add`` per row or block of rows."""

    def __init__(self, n_candidates: int) -> None:
        self.n = n_candidates
        self.r: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.count = 0
        self.extra = 0

    def add(self, cols, vals, lo: float, hi: float) -> None:
        """Add one row ``lo <= sum vals * x[cols] <= hi``."""
        cols = np.asarray(cols, dtype=np.int64)
        self.block(np.zeros(len(cols), np.int64), cols, vals, np.array([lo]), np.array([hi]))

    def block(self, row, cols, vals, lo: np.ndarray, hi: np.ndarray) -> None:
        """Add rows ``row`` (0-based within the block) with their bounds ``lo``, ``hi``."""
        row = np.asarray(row, dtype=np.int64)
        self.r.append(row + self.count)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), row.shape).copy())
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.count += len(lo)

    def build(self, width: int) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
        """Return the matrix (``width`` columns) and the row bounds."""
        if not self.r:
            return sp.csr_array((0, width)), np.zeros(0), np.zeros(0)
        matrix = sp.csr_array(
            (np.concatenate(self.vals), (np.concatenate(self.r), np.concatenate(self.cols))),
            shape=(self.count, width),
        )
        return matrix, np.concatenate(self.lo), np.concatenate(self.hi)


def _grouped(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the candidates sorted by key, each one's group number, and each group's size."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    new = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if len(keys) else np.zeros(0, bool)
    group = np.cumsum(new) - 1
    sizes = np.bincount(group) if len(group) else np.zeros(0, np.int64)
    return order, group, sizes


def _capacity_rows(rows: _Rows, inst: Instance) -> None:
    """``sum_c x[a,c,t] <= capacity_a`` where an asset-cycle has more candidates than that."""
    keys = inst.cand_asset.astype(np.int64) * (max(inst.cycles, default=0) + 1) + inst.cand_cycle
    order, group, sizes = _grouped(keys)
    cap = np.zeros(len(sizes), dtype=np.int64)
    cap[group] = inst.capacity[inst.cand_asset[order]]
    busy = sizes > cap
    renumber = np.cumsum(busy) - 1
    keep = busy[group]
    rows.block(renumber[group[keep]], order[keep], 1.0, np.full(busy.sum(), -np.inf), cap[busy])


def _budget_rows(rows: _Rows, inst: Instance) -> None:
    """``sum price x <= budget`` per campaign whose candidates cost more than its budget."""
    for (c,), ks in groups(inst.cand_campaign).items():
        price = inst.cand_price[ks].astype(float)
        if price.sum() > inst.budget_pence[c]:
            rows.add(ks, price, -np.inf, float(inst.budget_pence[c]))


def _faces_rows(rows: _Rows, inst: Instance) -> None:
    """``min_c <= sum_a x[a,c,t] <= max_c`` per campaign and cycle."""
    by_cycle = groups(np.column_stack([inst.cand_campaign, inst.cand_cycle]))
    empty = np.empty(0, dtype=np.int64)
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            ks = by_cycle.get((c, t), empty)
            if camp.min_faces > 0 or len(ks) > camp.max_faces:
                rows.add(ks, 1.0, float(camp.min_faces), float(min(camp.max_faces, len(ks))))


def _spacing_rows(rows: _Rows, inst: Instance) -> None:
    """One at-most-one row per spacing clique of each campaign and cycle."""
    slot = np.full(len(inst.asset_ids), -1, dtype=np.int64)
    by_cycle = groups(np.column_stack([inst.cand_campaign, inst.cand_cycle]))
    for c, pairs in inst.spacing_pairs.items():
        if not len(pairs):
            continue
        heads, members, starts = sector_cliques(inst.xy, pairs)
        owner = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(members)]))
        for t in inst.campaigns[c].cycles:
            ks = by_cycle.get((c, t))
            if ks is None:
                continue
            slot[:] = -1
            slot[inst.cand_asset[ks]] = ks
            head, member = slot[heads], slot[members]
            keep = (member >= 0) & (head[owner] >= 0)
            used = np.unique(owner[keep])
            if not len(used):
                continue
            renumber = np.full(len(heads), -1, dtype=np.int64)
            renumber[used] = np.arange(len(used))
            row = np.r_[renumber[used], renumber[owner[keep]]]
            cols = np.r_[head[used], member[keep]]
            rows.block(row, cols, 1.0, np.full(len(used), -np.inf), np.ones(len(used)))


def _competitor_rows(rows: _Rows, inst: Instance) -> None:
    """At-most-one rows of each competitor group and cycle: per shared asset, per close pair."""
    members: dict[str, list[int]] = {}
    for c, camp in enumerate(inst.campaigns):
        if camp.competitor_group:
            members.setdefault(camp.competitor_group, []).append(c)
    pairs = inst.competitor_pairs
    for camps in members.values():
        if len(camps) < 2:
            continue
        for t in sorted({t for c in camps for t in inst.campaigns[c].cycles}):
            grid = np.full((len(inst.asset_ids), len(camps)), -1, dtype=np.int64)
            for j, c in enumerate(camps):
                ks = np.flatnonzero((inst.cand_campaign == c) & (inst.cand_cycle == t))
                grid[inst.cand_asset[ks], j] = ks
            grid = grid[:, (grid >= 0).any(axis=0)]
            _grid_rows(rows, grid, pairs)


def _grid_rows(rows: _Rows, grid: np.ndarray, pairs: np.ndarray) -> None:
    """Add the rows of one group's (asset, campaign) grid: shared assets, then close pairs."""
    if grid.shape[1] < 2:
        return
    shared = np.flatnonzero((grid >= 0).sum(axis=1) >= 2)
    if len(shared):
        sub = grid[shared]
        r, col = np.nonzero(sub >= 0)
        rows.block(r, sub[r, col], 1.0, np.full(len(shared), -np.inf), np.ones(len(shared)))
    if not len(pairs):
        return
    left, right = grid[pairs[:, 0]], grid[pairs[:, 1]]
    for j in range(grid.shape[1]):
        others = np.delete(right, j, axis=1)
        keep = np.flatnonzero((left[:, j] >= 0) & (others >= 0).any(axis=1))
        if not len(keep):
            continue
        r, d = np.nonzero(others[keep] >= 0)
        row = np.r_[np.arange(len(keep)), r]
        cols = np.r_[left[keep, j], others[keep][r, d]]
        rows.block(row, cols, 1.0, np.full(len(keep), -np.inf), np.ones(len(keep)))


def _share_rows(rows: _Rows, inst: Instance) -> None:
    """``sum (1000 [c in rule] - floor(1000 share)) x <= 0`` per share rule and cycle."""
    by_cycle = groups(inst.cand_cycle)
    for rule, in_rule in inst.shares:
        share = np.floor(rule.max_share * SHARE_SCALE + 1e-9)
        for ks in by_cycle.values():
            hit = in_rule[inst.cand_campaign[ks]]
            if hit.any():
                rows.add(ks, np.where(hit, SHARE_SCALE - share, -share), -np.inf, 0.0)


def _cover_rows(rows: _Rows, inst: Instance) -> np.ndarray:
    """Add ``cover[z,c] - sum x <= 0`` rows; return each cover variable's objective weight.

    Cover variables are numbered after the candidates, one per (zone, campaign) pair
    some candidate of the campaign reaches, as in `planner.optimise.model`.
    """
    zones = inst.asset_zones
    lengths = np.array([len(zones[a]) for a in inst.cand_asset], dtype=np.int64)
    cand = np.repeat(np.arange(inst.n_candidates), lengths)
    zone = np.concatenate([zones[a] for a in inst.cand_asset]) if len(cand) else cand
    camp = inst.cand_campaign[cand]
    key = zone.astype(np.int64) * len(inst.campaigns) + camp
    unique, row = np.unique(key, return_inverse=True)
    n_cover = len(unique)
    rows.block(
        np.r_[row, np.arange(n_cover)],
        np.r_[cand, rows.n + np.arange(n_cover)],
        np.r_[-np.ones(len(cand)), np.ones(n_cover)],
        np.full(n_cover, -np.inf),
        np.zeros(n_cover),
    )
    priority = np.array([c.priority for c in inst.campaigns], dtype=float)
    return inst.zone_pop[unique // len(inst.campaigns)] * priority[unique % len(inst.campaigns)]


def dual_bound(lp: LinearProgram, y: np.ndarray) -> float:
    """Return the Lagrangian bound of ``lp`` at row duals ``y`` (valid for any ``y``).

    With ``lam = max(y, 0)`` on rows with a finite upper side and ``mu = max(-y, 0)`` on
    rows with a finite lower side::

        max c.x <= lam.hi - mu.lo + sum_j max(r_j lb_j, r_j ub_j),  r = c - A'(lam - mu)

    for every ``x`` with ``lo <= A x <= hi`` and ``lb <= x <= ub``: the dual function
    at a point of its domain, an upper bound by weak duality however ``y`` was found.

    Parameters
    ----------
    lp
        The linear program.
    y
        One value per row, shape (n_rows,); its sign says which side of the row it prices.

    Returns
    -------
    float
        The bound (``inf`` when ``y`` has a non-finite value).
    """
    if not np.isfinite(y).all():
        return float("inf")
    lam = np.where(np.isfinite(lp.hi), np.maximum(y, 0.0), 0.0)
    mu = np.where(np.isfinite(lp.lo), np.maximum(-y, 0.0), 0.0)
    reduced = lp.c - lp.matrix.T @ (lam - mu)
    rows = float(lam @ np.where(np.isfinite(lp.hi), lp.hi, 0.0))
    rows -= float(mu @ np.where(np.isfinite(lp.lo), lp.lo, 0.0))
    return rows + float(np.maximum(reduced * lp.lb, reduced * lp.ub).sum())


def lp_relaxation(
    inst: Instance,
    weights: dict[str, float],
    *,
    seconds: float = 10.0,
    iterations: int = 20_000,
    threads: int = 1,
) -> LpResult:
    """Solve the LP relaxation with PDLP; return a proven bound and the fractional plan.

    PDLP stops at a relative tolerance of 1e-6 or after ``iterations`` (so the answer
    does not depend on the machine), with ``seconds`` as a wall-clock guard. The bound
    is the better of `dual_bound` at PDLP's duals read with either sign convention, so
    it is valid however far PDLP got; for an integer objective (revenue in pence,
    impacts) it is rounded down.

    Parameters
    ----------
    inst
        The instance.
    weights
        Objective weights, e.g. ``{"revenue": 1.0}`` (see `linear_program`).
    seconds
        Wall-clock guard, at least 0.1 s.
    iterations
        PDLP's iteration limit.
    threads
        PDLP threads.

    Returns
    -------
    LpResult
        The bound (``inf`` and ``x`` None when PDLP fails) and the candidates' values.

    Examples
    --------
    >>> lp_relaxation(inst, {"revenue": 1.0}).bound >= objective_value(inst, plan, "revenue")
    True
    """
    clock = time.perf_counter()
    return _solve(linear_program(inst, weights), seconds, iterations, threads, clock)


def _solve(lp: LinearProgram, seconds: float, iterations: int, threads: int, clock: float):
    """Solve ``lp`` with PDLP; return its `LpResult` (see `lp_relaxation`)."""
    try:
        result = pdlp.primal_dual_hybrid_gradient(
            _program(lp), _params(seconds, iterations, threads)
        )
    except (RuntimeError, ValueError):
        return LpResult(float("inf"), None, time.perf_counter() - clock, False, False)
    y = np.asarray(result.dual_solution, dtype=float)
    x = np.asarray(result.primal_solution, dtype=float)
    bound = min(dual_bound(lp, y), dual_bound(lp, -y)) if len(y) == len(lp.lo) else float("inf")
    if np.isfinite(bound) and np.all(lp.c == np.round(lp.c)):
        bound = float(np.floor(bound * (1 + 1e-9) + 1e-6))
    reason = result.solve_log.termination_reason
    converged = reason == solve_log_pb2.TERMINATION_REASON_OPTIMAL
    timed_out = reason == solve_log_pb2.TERMINATION_REASON_TIME_LIMIT
    values = np.clip(x[: lp.n_candidates], 0.0, 1.0) if len(x) >= lp.n_candidates else None
    return LpResult(bound, values, time.perf_counter() - clock, converged, timed_out)


def _program(lp: LinearProgram) -> pdlp.QuadraticProgram:
    """Write ``lp`` for PDLP, which minimises: the objective is ``-c``."""
    qp = pdlp.QuadraticProgram()
    qp.objective_vector = -lp.c
    qp.constraint_matrix = sp.csc_matrix(lp.matrix)
    qp.constraint_lower_bounds = lp.lo
    qp.constraint_upper_bounds = lp.hi
    qp.variable_lower_bounds = lp.lb
    qp.variable_upper_bounds = lp.ub
    return qp


def _params(
    seconds: float, iterations: int, threads: int
) -> solvers_pb2.PrimalDualHybridGradientParams:
    """Return PDLP's parameters: tolerance 1e-6, ``iterations``, a ``seconds`` guard."""
    params = solvers_pb2.PrimalDualHybridGradientParams()
    criteria = params.termination_criteria
    criteria.simple_optimality_criteria.eps_optimal_relative = 1e-6
    criteria.simple_optimality_criteria.eps_optimal_absolute = 1e-6
    criteria.iteration_limit = int(iterations)
    criteria.time_sec_limit = max(float(seconds), 0.1)
    params.num_threads = max(1, int(threads))
    params.verbosity_level = 0
    return params


class BackgroundBound:
    """The LP bound (`lp_relaxation`) worked out in a child process while the search runs.

    For a model too large for CP-SAT (London: 1.6 million candidates) PDLP needs about a
    minute to beat the per-campaign ceiling (measured: 771.1 million after 35 s, 749.6
    million after 55 s, against a ceiling of 754.4 million and a plan of 745.8 million),
    and it holds Python's lock, so a thread beside the local search would stall it. A
    child process (``python -m planner.optimise.bound``) runs it on the other core. It
    never changes the plan, only the bound reported: PDLP stops on its wall-clock
    ``seconds`` here, so the bound may be tighter on a quiet machine than a busy one.

    Parameters
    ----------
    inst
        The instance; its linear program (`linear_program`) is written as arrays to a
        temporary folder for the child (no pickle).
    weights
        Objective weights, as `lp_relaxation`'s.
    seconds
        PDLP's wall-clock limit in the child, s.

    Raises
    ------
    OSError
        When the temporary folder or the child process cannot be made.
    """

    def __init__(self, inst: Instance, weights: dict[str, float], seconds: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="planner-bound-"))
        source, self.out = self.folder / "program.npz", self.folder / "bound.txt"
        lp = linear_program(inst, weights)
        matrix = lp.matrix.tocsr()
        np.savez(
            source,
            data=matrix.data,
            indices=matrix.indices,
            indptr=matrix.indptr,
            shape=np.array(matrix.shape),
            lo=lp.lo,
            hi=lp.hi,
            c=lp.c,
            lb=lp.lb,
            ub=lp.ub,
            n_candidates=np.array(lp.n_candidates),
            seconds=np.array(float(seconds)),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "planner.optimise.bound", str(source), str(self.out)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def result(self, timeout: float) -> float:
        """Wait up to ``timeout`` seconds; return the bound (``inf`` when there is none).

        The child is stopped and its folder removed either way.
        """
        try:
            self.process.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:
            text = self.out.read_text(encoding="utf-8") if self.process.returncode == 0 else ""
            return float(text) if text else float("inf")
        except (OSError, ValueError):
            return float("inf")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _child(source: str, out: str) -> int:
    """Solve the saved linear program with PDLP; write its bound to ``out`` atomically."""
    clock = time.perf_counter()
    with np.load(source, allow_pickle=False) as data:
        matrix = sp.csr_array(
            (data["data"], data["indices"], data["indptr"]), shape=tuple(data["shape"])
        )
        lp = LinearProgram(
            matrix, data["lo"], data["hi"], data["c"], data["lb"], data["ub"],
            int(data["n_candidates"]),
        )  # fmt: skip
        seconds = float(data["seconds"])
    result = _solve(lp, seconds, 10**9, 1, clock)
    partial = Path(f"{out}.partial")
    partial.write_text(repr(float(result.bound)), encoding="utf-8")
    partial.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1], sys.argv[2]))
