"""Maximal covering: coverage from geometry, known optima by brute force, bounds, reductions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from conftest import make_assets, make_zones
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import PlannerError
from planner.optimise._cover_instance import _merge_rows
from planner.optimise._cover_lns import lns
from planner.optimise._cover_lp import dual_bound, lp_relaxation
from planner.optimise._cover_search import CoverProblem, greedy, swap_search
from planner.optimise.covering import coverage_from_frames, coverage_matrix, max_cover
from planner.optimise.settings import Clock, SolverSettings


def make_cover(seed: int, n: int = 25, m: int = 8, side: float = 1000.0, radius: float = 300.0):
    """A random tiny instance: (coverage, integer weights)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, side, (n, 2))
    sites = rng.uniform(0, side, (m, 2))
    return coverage_matrix(demand, sites, radius), rng.integers(0, 50, n).astype(float)


def brute_force(cov, w, *, k=None, costs=None, budget=None, locked=()) -> float:
    """Best covered weight over every subset of sites that fits k and the budget."""
    cov = sp.csr_array(cov)
    m = cov.shape[1]
    best = 0.0
    for size in range(m + 1):
        if k is not None and size > k:
            break
        for combo in itertools.combinations(range(m), size):
            if not set(locked) <= set(combo):
                continue
            if costs is not None and sum(costs[j] for j in combo) > budget + 1e-9:
                continue
            x = np.zeros(m)
            x[list(combo)] = 1
            best = max(best, float(w[(cov @ x) > 0].sum()))
    return best


def covered(cov, w, sites) -> float:
    x = np.zeros(cov.shape[1])
    x[list(sites)] = 1
    return float(w[(sp.csr_array(cov) @ x) > 0].sum())


# ---------------------------------------------------------------- coverage_matrix


def test_coverage_matrix_counts_a_site_at_exactly_the_radius():
    cov = coverage_matrix(np.array([[0.0, 0.0]]), np.array([[0, 300.0], [0, 300.5]]), 300)
    assert cov.toarray().tolist() == [[True, False]]


def test_coverage_from_frames_measures_in_metres_whatever_the_crs():
    zones = make_zones(
        [shapely.box(0, 0, 100, 100), (2000, 0)], population=[10.0, 20.0], crs="EPSG:27700"
    )
    assets = make_assets([(50, 350), (2000, 450)])  # in EPSG:4326
    cov = coverage_from_frames(zones, assets, 300)
    assert cov.toarray().tolist() == [[True, False], [False, False]]
    with pytest.raises(PlannerError, match="no CRS"):
        coverage_from_frames(zones.set_crs(None, allow_override=True), assets, 300)


def test_coverage_matrix_rejects_bad_shapes_and_radius():
    with pytest.raises(PlannerError, match="demand_points_xy"):
        coverage_matrix(np.zeros(3), np.zeros((2, 2)), 10)
    with pytest.raises(PlannerError, match="radius"):
        coverage_matrix(np.zeros((1, 2)), np.zeros((2, 2)), -1)
    with pytest.raises(PlannerError, match="missing or infinite"):
        coverage_matrix(np.array([[np.nan, 0]]), np.zeros((2, 2)), 10)


# ---------------------------------------------------------------- known optima


@pytest.mark.parametrize("seed", range(12))
def test_max_cover_matches_brute_force_with_k(seed):
    cov, w = make_cover(seed)
    k = 1 + seed % 4
    res = max_cover(cov, w, k=k, solver=SolverSettings(time_limit=5))
    best = brute_force(cov, w, k=k)
    assert res.covered_weight == pytest.approx(best)
    assert covered(cov, w, res.sites) == pytest.approx(best)
    assert len(res.sites) <= k
    assert res.status == "OPTIMAL" and res.gap == 0
    assert res.bound >= best - 1e-9
    assert res.greedy_weight <= best + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_max_cover_matches_brute_force_with_budget(seed):
    cov, w = make_cover(100 + seed)
    costs = np.random.default_rng(seed).integers(1, 9, cov.shape[1]).astype(float)
    k = None if seed % 2 else 3
    res = max_cover(cov, w, k=k, costs=costs, budget=10.0, solver=SolverSettings(time_limit=5))
    best = brute_force(cov, w, k=k, costs=costs, budget=10.0)
    assert res.covered_weight == pytest.approx(best)
    assert costs[list(res.sites)].sum() <= 10.0
    assert res.status == "OPTIMAL"


def test_max_cover_keeps_locked_sites_and_is_optimal_around_them():
    cov, w = make_cover(7, m=7)
    res = max_cover(cov, w, k=3, locked=[5], solver=SolverSettings(time_limit=5))
    assert 5 in res.sites and len(res.sites) <= 3
    assert res.covered_weight == pytest.approx(brute_force(cov, w, k=3, locked=(5,)))


def test_max_cover_with_every_site_locked_returns_them():
    cov, w = make_cover(8, m=6)
    res = max_cover(cov, w, k=2, locked=[1, 4])
    assert res.sites == (1, 4) and res.status == "OPTIMAL"
    assert res.covered_weight == pytest.approx(covered(cov, w, (1, 4)))


def test_max_cover_accepts_index_arrays():
    cov, w = make_cover(3)
    coo = sp.coo_array(cov)
    res = max_cover((coo.row, coo.col), w, k=2, solver=SolverSettings(time_limit=5))
    assert res.covered_weight == pytest.approx(brute_force(cov, w, k=2))


def test_max_cover_with_fractional_weights_reports_caller_units():
    cov, w = make_cover(4)
    w = w / 7.0
    res = max_cover(cov, w, k=2, solver=SolverSettings(time_limit=5))
    assert res.covered_weight == pytest.approx(brute_force(cov, w, k=2))
    assert res.bound >= res.covered_weight


# ---------------------------------------------------------------- errors


def test_max_cover_raises_when_no_site_covers_any_demand():
    cov = coverage_matrix(np.array([[0.0, 0.0]]), np.array([[5000.0, 0.0]]), 300)
    with pytest.raises(PlannerError, match="no candidate site covers any demand"):
        max_cover(cov, [10.0], k=1)


def test_max_cover_reports_no_choice_when_locked_sites_exceed_k_or_budget():
    cov, w = make_cover(1)
    res = max_cover(cov, w, k=1, locked=[0, 1])
    assert not res.ok and res.status == "INFEASIBLE" and res.sites == ()
    assert "exceed k=1" in res.explanation[0]
    costs = np.full(cov.shape[1], 5.0)
    res = max_cover(cov, w, costs=costs, budget=8.0, locked=[0, 1])
    assert not res.ok and "over the budget" in res.explanation[0]


def test_max_cover_reports_no_choice_when_no_site_fits_the_budget():
    cov, w = make_cover(2)
    costs = np.full(cov.shape[1], 50.0)
    res = max_cover(cov, w, costs=costs, budget=10.0)
    assert not res.ok and res.status == "INFEASIBLE"
    assert "fits the budget" in res.explanation[0]


def test_max_cover_rejects_inconsistent_inputs():
    cov, w = make_cover(2)
    with pytest.raises(PlannerError, match="'weights'"):
        max_cover(cov, w[:-1], k=2)
    with pytest.raises(PlannerError, match="give 'k'"):
        max_cover(cov, w)
    with pytest.raises(PlannerError, match="together"):
        max_cover(cov, w, k=2, costs=np.ones(cov.shape[1]))
    with pytest.raises(PlannerError, match=r"0 or more"):
        max_cover(cov, -w, k=2)


# ---------------------------------------------------------------- reductions and parts


def test_merging_identical_rows_preserves_every_objective():
    cov, w = make_cover(5, n=40)
    doubled = sp.csr_array(sp.vstack([cov, cov]))
    halves = np.concatenate([w / 2, w / 2])
    merged, mw = _merge_rows(sp.csr_array(doubled, dtype=np.int32), halves)
    assert merged.shape[0] <= cov.shape[0]
    assert mw.sum() == pytest.approx(w.sum())
    for combo in itertools.combinations(range(cov.shape[1]), 2):
        assert covered(merged, mw, combo) == pytest.approx(covered(cov, w, combo))
    res = max_cover(doubled, halves, k=2, solver=SolverSettings(time_limit=5))
    assert res.covered_weight == pytest.approx(brute_force(cov, w, k=2))


def test_greedy_and_swap_never_beat_the_optimum_and_swap_never_hurts():
    for seed in range(10):
        cov, w = make_cover(200 + seed, m=9)
        p = CoverProblem(cov=sp.csr_array(cov, dtype=np.int32), w=w.astype(np.int64), k=3)
        x0 = greedy(p)
        x1 = swap_search(p, x0)
        best = brute_force(cov, w, k=3)
        assert p.value(x0) <= p.value(x1) <= best
        assert x1.sum() <= 3


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 4),
    use_budget=st.booleans(),
    mu=st.floats(0, 60),
    nu=st.floats(0, 20),
)
def test_dual_bound_is_an_upper_bound_for_any_duals(seed, k, use_budget, mu, nu):
    cov, w = make_cover(seed, n=15, m=6)
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0, 1, len(w)) * w * rng.integers(0, 2)
    costs = rng.integers(1, 6, cov.shape[1]).astype(float) if use_budget else None
    budget = 7.0 if use_budget else None
    bound = dual_bound(cov, w, lam, k=k, costs=costs, budget=budget, mu=mu, nu=nu)
    assert bound >= brute_force(cov, w, k=k, costs=costs, budget=budget) - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_lp_bound_from_pdlp_duals_is_valid_and_tight_on_small_instances(seed):
    cov, w = make_cover(300 + seed, m=9)
    costs = np.random.default_rng(seed).integers(1, 6, cov.shape[1]).astype(float)
    for k, c, b in ((3, None, None), (None, costs, 8.0), (3, costs, 8.0)):
        best = brute_force(cov, w, k=k, costs=c, budget=b)
        res = lp_relaxation(sp.csr_array(cov, dtype=np.int32), w, k=k, costs=c, budget=b)
        assert best - 1e-6 <= res.bound <= w.sum() + 1e-6
        assert res.bound <= 1.25 * best + 1e-6  # the relaxation is not vacuous


@pytest.mark.parametrize("workers", [1, 2])
def test_lns_is_deterministic_for_a_seed(workers):
    cov, w = make_cover(9, n=400, m=120, side=3000)
    p = CoverProblem(cov=sp.csr_array(cov, dtype=np.int32), w=w.astype(np.int64), k=12)
    start = greedy(p)
    clock = lambda: Clock(0.5, True, watchdog=1000)  # noqa: E731
    runs = [lns(p, start, clock=clock(), seed=3, window=30, workers=workers) for _ in range(2)]
    assert np.array_equal(runs[0][0], runs[1][0])
    assert p.value(runs[0][0]) >= p.value(start)
    assert runs[0][1].windows >= 2


def test_max_cover_is_deterministic_and_reports_progress():
    cov, w = make_cover(11, n=300, m=60, side=2500)
    seen = []
    first = max_cover(
        cov, w, k=8, solver=SolverSettings(time_limit=5), progress=lambda f, m: seen.append(f)
    )
    second = max_cover(cov, w, k=8, solver=SolverSettings(time_limit=5))
    assert first.sites == second.sites
    assert seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


@pytest.mark.shared_data
def test_real_london_population_within_300_m_of_200_bus_stops(shared_data):
    lsoa = shared_data / "london_lsoa_population" / "london_lsoa2011_pop_mid2020_centroids.csv"
    stops_csv = shared_data / "london_tfl_bus_stops" / "bus-stops.csv"
    if not (lsoa.is_file() and stops_csv.is_file()):
        pytest.skip("London LSOA centroids or TfL bus stops not in the shared data")
    import pandas as pd

    zones = pd.read_csv(lsoa)
    stops = pd.read_csv(stops_csv)
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Virtual_Bus_Stop"] == 0)]
    demand = zones[["centroid_x", "centroid_y"]].to_numpy(float)  # EPSG:27700 metres
    sites = stops[["Location_Easting", "Location_Northing"]].to_numpy(float)
    people = zones["Persons_All-Ages"].to_numpy(float)
    cov = coverage_matrix(demand, sites, 300)
    res = max_cover(cov, people, k=200, solver=SolverSettings(time_limit=10))
    assert len(res.sites) <= 200
    assert res.covered_weight == pytest.approx(covered(cov, people, res.sites))
    assert res.greedy_weight <= res.covered_weight <= res.bound
    assert res.gap <= 0.001
