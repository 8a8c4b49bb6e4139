"""Benchmark: maximal covering with 20,000 demand points, 5,000 candidate sites, a 300 m
radius and 500 sites to choose, in the two regimes of SOLVER_NOTES:

- A: a 10 km x 10 km area (100 km²): 500 sites can cover nearly all demand;
- B: a 20 km x 20 km area (400 km²): the number of sites binds.

Synthetic instance (fixed seed): 70% of demand points in 60 Gaussian clusters (sd 200-900
m), 30% spread uniformly, integer weights 1-40; half the candidate sites near demand
points (sd 150 m), half uniform.

Methods, each in its own subprocess (so "peak MB" is that method's own maximum RSS,
Python and libraries included):

- greedy: the plain greedy baseline (largest uncovered weight first);
- ours: `planner.optimise.covering.max_cover` (default settings: deterministic, 2 workers);
- ours (wall clock): the same with ``deterministic=False``, stopped by the wall clock;
- CP-SAT alone: the textbook model, 2 workers, no hint, no reduction;
- spopt MCLP: PySAL spopt's maximal covering model solved by PuLP + CBC. spopt is *not*
  a project dependency: ``pip install spopt`` to include it; it runs with a 120 s timeout
  and prints "did not finish" when it times out;
- SCIP reference (only with ``--reference SECONDS``): SCIP through OR-Tools on the
  textbook model for that long, to find a tighter bound than the LP's (slow: not a
  contender, a yardstick).

"% of bound" is the covered weight over the best (lowest) proven upper bound found in the
run. "CPU s" is the process's CPU time (all threads): on a busy machine it tells more
about the cost on an idle 2-core machine than the wall-clock "seconds".

Usage::

    python bench/bench_cover.py [--regime A|B|both] [--time-limit 10] [--seed 0]
                                [--reference 300] [--only greedy,ours,ours-wall,cpsat,spopt]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIDES_KM = {"A": 10.0, "B": 20.0}
N_DEMAND, N_SITES, RADIUS, K = 20_000, 5_000, 300.0, 500
SPOPT_TIMEOUT_S = 120
METHODS = ("greedy", "ours", "ours-wall", "cpsat", "spopt", "scip")
LABELS = {
    "greedy": "greedy (baseline)",
    "ours": "ours (max_cover)",
    "ours-wall": "ours (wall clock)",
    "cpsat": "CP-SAT alone",
    "spopt": "spopt MCLP (PuLP+CBC)",
    "scip": "SCIP reference",
}


def make_instance(side_km: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand xy, weights, site xy) in metres."""
    rng = np.random.default_rng(seed)
    side = side_km * 1000.0
    n_clustered = int(N_DEMAND * 0.7)
    centres = rng.uniform(0, side, size=(60, 2))
    which = rng.integers(0, len(centres), n_clustered)
    spread = rng.uniform(200, 900, len(centres))[which]
    clustered = centres[which] + rng.normal(size=(n_clustered, 2)) * spread[:, None]
    uniform = rng.uniform(0, side, size=(N_DEMAND - n_clustered, 2))
    demand = np.clip(np.vstack([clustered, uniform]), 0, side)
    weights = rng.integers(1, 41, N_DEMAND).astype(float)
    n_near = N_SITES // 2
    near = demand[rng.integers(0, N_DEMAND, n_near)] + rng.normal(size=(n_near, 2)) * 150
    far = rng.uniform(0, side, size=(N_SITES - n_near, 2))
    sites = np.clip(np.vstack([near, far]), 0, side)
    return demand, weights, sites


# ---------------------------------------------------------------- one method (child process)


def run_method(method: str, regime: str, seed: int, time_limit: float) -> dict:
    demand, weights, sites = make_instance(SIDES_KM[regime], seed)
    from planner.optimise.covering import coverage_matrix
    from planner.optimise.settings import SolverSettings

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu0, wall0 = time.process_time(), time.perf_counter()
    cov = coverage_matrix(demand, sites, RADIUS)
    out = {"bound": None}
    if method == "greedy":
        chosen = _greedy(cov, weights)
    elif method in ("ours", "ours-wall"):
        from planner.optimise.covering import max_cover

        res = max_cover(
            cov,
            weights,
            k=K,
            solver=SolverSettings(time_limit=time_limit, deterministic=method == "ours"),
        )
        chosen = list(res.sites)
        out |= {"bound": res.bound, "status": res.status, "method": res.method}
    elif method == "cpsat":
        chosen, bound = _cpsat(cov, weights, time_limit)
        out["bound"] = bound
    elif method == "scip":
        chosen, bound = _scip(cov, weights, time_limit)
        out["bound"] = bound
    else:
        chosen = _spopt(demand, sites, weights)
    x = np.zeros(cov.shape[1])
    x[chosen] = 1
    out |= {
        "covered": float(weights[(cov @ x) > 0].sum()),
        "n_chosen": len(chosen),
        "seconds": time.perf_counter() - wall0,
        "cpu": time.process_time() - cpu0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_mb": rss0,
    }
    return out


def _greedy(cov, weights) -> list[int]:
    import scipy.sparse as sp

    from planner.optimise._cover_search import CoverProblem, greedy

    p = CoverProblem(cov=sp.csr_array(cov, dtype=np.int32), w=weights.astype(np.int64), k=K)
    return np.flatnonzero(greedy(p)).tolist()


def _cpsat(cov, weights, time_limit: float) -> tuple[list[int], float]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    xs = [model.new_bool_var(f"x{j}") for j in range(cov.shape[1])]
    ys = [model.new_bool_var(f"y{i}") for i in range(cov.shape[0])]
    for i, y in enumerate(ys):
        model.add(sum(xs[j] for j in cov.indices[cov.indptr[i] : cov.indptr[i + 1]]) >= y)
    model.add(sum(xs) <= K)
    model.maximize(cp_model.LinearExpr.weighted_sum(ys, weights.astype(int).tolist()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = time_limit
    solver.solve(model)
    chosen = [j for j, v in enumerate(xs) if solver.boolean_value(v)]
    return chosen, solver.best_objective_bound


def _scip(cov, weights, seconds: float) -> tuple[list[int], float]:
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("SCIP")
    xs = [solver.BoolVar(f"x{j}") for j in range(cov.shape[1])]
    ys = [solver.NumVar(0, 1, f"y{i}") for i in range(cov.shape[0])]
    for i, y in enumerate(ys):
        row = solver.Constraint(-solver.infinity(), 0)
        row.SetCoefficient(y, 1)
        for j in cov.indices[cov.indptr[i] : cov.indptr[i + 1]]:
            row.SetCoefficient(xs[j], -1)
    count = solver.Constraint(0, K)
    for x in xs:
        count.SetCoefficient(x, 1)
    objective = solver.Objective()
    for y, w in zip(ys, weights, strict=True):
        objective.SetCoefficient(y, float(w))
    objective.SetMaximization()
    solver.SetNumThreads(2)
    solver.SetTimeLimit(int(seconds * 1000))
    solver.Solve()
    return [j for j, x in enumerate(xs) if x.solution_value() > 0.5], objective.BestBound()


def _spopt(demand, sites, weights) -> list[int]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    cost = cdist(demand, sites)  # spopt takes a dense demand x site cost matrix
    model = MCLP.from_cost_matrix(cost, weights, service_radius=RADIUS, p_facilities=K)
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=SPOPT_TIMEOUT_S))
    return [j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5]


# ---------------------------------------------------------------- the table (parent process)


def _child(method: str, regime: str, seed: int, time_limit: float) -> dict | str:
    cmd = [sys.executable, __file__, "--run", method, "--regime", regime, "--seed", str(seed)]
    cmd += ["--time-limit", str(time_limit)]
    timeout = SPOPT_TIMEOUT_S if method == "spopt" else 3 * time_limit + 120
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout:.0f} s"
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:80]
    return json.loads(lines[-1])


def _spopt_available() -> bool:
    probe = [sys.executable, "-c", "import spopt.locate, pulp"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def bench(regime: str, seed: int, time_limit: float, reference: float, only: list[str]) -> None:
    methods = list(METHODS[:4])
    if _spopt_available():
        methods.append("spopt")
    methods = [m for m in methods if not only or m in only]
    results = {m: _child(m, regime, seed, time_limit) for m in methods}
    if reference > 0:
        results["scip"] = _child("scip", regime, seed, reference)
    bounds = [r["bound"] for r in results.values() if isinstance(r, dict) and r["bound"]]
    best = min(bounds) if bounds else float("nan")
    print(
        f"\nRegime {regime}: {SIDES_KM[regime]:.0f} km x {SIDES_KM[regime]:.0f} km, "
        f"{N_DEMAND:,} demand points, {N_SITES:,} sites, {RADIUS:.0f} m, k={K}, seed {seed}; "
        f"best bound {best:,.0f}"
    )
    head = f"{'method':<24}{'covered':>11}{'% of bound':>12}{'seconds':>9}{'CPU s':>8}"
    print(head + f"{'peak MB':>9}  note")
    for m, r in results.items():
        if isinstance(r, str):
            print(f"{LABELS[m]:<24}{'-':>11}{'-':>12}{'-':>9}{'-':>8}{'-':>9}  {r}")
            continue
        note = r.get("method", "") + (f" ({r['status']})" if "status" in r else "")
        note += f"  bound {r['bound']:,.0f}" if r["bound"] else ""
        print(
            f"{LABELS[m]:<24}{r['covered']:>11,.0f}{100 * r['covered'] / best:>11.3f}%"
            f"{r['seconds']:>9.1f}{r['cpu']:>8.1f}{r['peak_mb']:>9.0f}  {note}"
        )
    if "spopt" not in results and not _spopt_available():
        print("spopt MCLP: not installed (pip install spopt to compare)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--regime", choices=["A", "B", "both"], default="both")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference", type=float, default=0.0, help="seconds of SCIP (0: none)")
    ap.add_argument("--only", default="", help="comma-separated methods, e.g. greedy,ours")
    ap.add_argument("--run", choices=METHODS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_method(args.run, args.regime, args.seed, args.time_limit)))
        return
    for regime in ("A", "B") if args.regime == "both" else (args.regime,):
        only = [m for m in args.only.split(",") if m]
        bench(regime, args.seed, args.time_limit, args.reference, only)


if __name__ == "__main__":
    main()
