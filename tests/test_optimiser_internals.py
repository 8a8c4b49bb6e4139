"""Optimiser internals: spacing cliques cover every close pair and only close pairs, the
objective ceiling bounds the brute-force optimum, and candidate pruning keeps the greedy plan."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from conftest import _campaign, _plan_instance, make_assets
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.optimise.bound import dual_bound, linear_program, lp_relaxation
from planner.optimise.constraints import sector_cliques
from planner.optimise.greedy import greedy_plan
from planner.optimise.instance import Instance, restrict
from planner.optimise.model import candidate_values, objective_ceiling, objective_value
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.optimise.solve import _kept, solve_instance
from planner.optimise.verify import plan_violations
from planner.policy.load import DensityRule, Policy, ShareRule

FAST = SolverSettings(time_limit=2)
TOLERANCE = 1e-9


# --- sector_cliques -------------------------------------------------------------------


def close_pairs(xy: np.ndarray, radius: float) -> np.ndarray:
    """Every pair ``(i, j)``, ``i < j``, at most ``radius`` apart, by brute force."""
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    i, j = np.nonzero(np.triu(d <= radius, k=1))
    return np.column_stack([i, j]).astype(np.int64)


def cliques(xy: np.ndarray, pairs: np.ndarray) -> list[list[int]]:
    """The cliques of `sector_cliques` as lists: head first, then its members."""
    heads, members, starts = sector_cliques(xy, pairs)
    ends = np.append(starts[1:], len(members))[: len(starts)]
    return [
        [int(h), *members[s:e].tolist()]
        for h, s, e in zip(heads.tolist(), starts.tolist(), ends.tolist(), strict=True)
    ]


def assert_cliques_exact(xy: np.ndarray, radius: float) -> None:
    """Every close pair is in a clique; every clique is pairwise close; nothing repeats."""
    pairs = close_pairs(xy, radius)
    found = cliques(xy, pairs)
    covered = set()
    for clique in found:
        assert len(clique) == len(set(clique)) >= 2, f"clique {clique} repeats a point or is empty"
        for a, b in itertools.combinations(clique, 2):
            gap = float(np.hypot(*(xy[a] - xy[b])))
            assert gap <= radius * (1 + TOLERANCE), (
                f"clique {clique} joins {a} and {b}, {gap:.3f} m apart (radius {radius})"
            )
            covered.add((min(a, b), max(a, b)))
    missing = {(int(a), int(b)) for a, b in pairs} - covered
    assert not missing, f"close pairs in no clique: {sorted(missing)[:5]}"
    assert sum(len(c) - 1 for c in found) == len(pairs), "each pair is a member once"


@pytest.mark.parametrize("seed", range(40))
def test_sector_cliques_cover_close_pairs_only(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 61))
    layout = seed % 3
    if layout == 0:  # uniform
        xy = rng.uniform(0, 1000, size=(n, 2))
    elif layout == 1:  # clusters, many close pairs
        centres = rng.uniform(0, 1000, size=(3, 2))
        xy = centres[rng.integers(0, 3, n)] + rng.normal(0, 60, size=(n, 2))
    else:  # a street grid: ties, vertical and horizontal pairs, exact distances
        xy = rng.integers(0, 12, size=(n, 2)).astype(float) * 25
    for radius in (10.0, 50.0, 120.0, 300.0, 2000.0):
        assert_cliques_exact(xy, radius)


@settings(max_examples=150, deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(-6, 6), st.integers(-6, 6)), min_size=2, max_size=40),
    radius=st.sampled_from([0.5, 1.0, 1.5, 2.0, 5.0, 12.0]),
)
def test_sector_cliques_on_integer_points(points: list[tuple[int, int]], radius: float) -> None:
    # Integer points hit every edge case: duplicates, due-north pairs, 45-degree diagonals
    # and pairs exactly ``radius`` apart (3-4-5 triangles).
    assert_cliques_exact(np.array(points, dtype=float), radius)


def test_sector_cliques_split_a_wide_fan() -> None:
    # Three partners due east, north-east and north of the origin: no two of them may
    # share the origin's clique when they are far apart from each other.
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [70.0, 70.0], [0.0, 100.0]])
    found = cliques(xy, close_pairs(xy, 100.0))
    assert all(not {1, 3} <= set(c) for c in found)
    assert_cliques_exact(xy, 100.0)


# --- objective_ceiling ----------------------------------------------------------------


def tiny_instance(seed: int):
    """Four to six assets, two campaigns (one over two cycles): at most 12 candidates."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 7))
    assets = make_assets(
        [tuple(p) for p in rng.uniform(0, 250, size=(n, 2)).round(1)],
        price=rng.integers(5, 60, n).tolist(),
        impacts=rng.integers(10, 500, n).tolist(),
        faces=rng.integers(1, 3, n).tolist(),
    )
    two_cycles = n <= 4
    camps = [
        _campaign(
            "C1",
            budget=float(rng.integers(30, 150)),
            max_faces=int(rng.integers(1, 4)),
            min_spacing_m=float(rng.choice([0, 80])),
            competitor_group="g",
            priority=int(rng.integers(1, 4)),
            cycles=(1, 2) if two_cycles else (1,),
        ),
        _campaign(
            "C2",
            budget=float(rng.integers(30, 150)),
            max_faces=int(rng.integers(1, 4)),
            competitor_group="g" if seed % 2 else "",
        ),
    ]
    policy = Policy("p", rules=(DensityRule("max-3-in-100m", max_faces=3, within_m=100),))
    return _plan_instance(assets, camps, policy, settings=PlanSettings(competitor_separation_m=50))


def brute_force_best(inst, name: str) -> int:
    """The best value of a valid plan: subsets from the highest value down, first valid wins."""
    n = inst.n_candidates
    assert 1 <= n <= 12
    masks = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    values = masks @ candidate_values(inst, name)
    for row in np.argsort(-values, kind="stable"):
        chosen = np.flatnonzero(masks[row])
        if not plan_violations(inst, chosen):
            assert objective_value(inst, chosen, name) == values[row]
            return int(values[row])
    raise AssertionError("no valid plan, not even the empty one")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", ["revenue", "impacts"])
def test_ceiling_bounds_the_brute_force_optimum(seed: int, name: str) -> None:
    inst = tiny_instance(seed)
    ceiling = objective_ceiling(inst, name)
    assert ceiling is not None
    assert ceiling >= brute_force_best(inst, name)


def test_ceiling_is_tight_without_interactions() -> None:
    # One campaign, two faces, a budget that fits the best two: the ceiling is the optimum.
    assets = make_assets([(0, 0), (500, 0), (1000, 0), (1500, 0)], price=[10, 40, 25, 30])
    inst = _plan_instance(assets, [_campaign(max_faces=2, budget=100.0)])
    assert objective_ceiling(inst, "revenue") == 7000 == brute_force_best(inst, "revenue")
    # A budget of 65 with prices 10, 25, 30, 40 (gcd 5): 65 itself is reachable.
    inst = _plan_instance(assets, [_campaign(max_faces=2, budget=67.0)])
    assert objective_ceiling(inst, "revenue") == 6500 == brute_force_best(inst, "revenue")


def test_ceiling_is_none_for_reach() -> None:
    inst = tiny_instance(0)
    assert objective_ceiling(inst, "reach") is None


# --- candidates_per_face --------------------------------------------------------------


def crowded_instance(seed: int):
    """Sixty assets, the most valuable packed in a corner closer than the spacing, two
    campaigns of at most three faces: pruning to the top few leaves only clustered faces."""
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, 60, size=(20, 2))
    spread = rng.uniform(0, 3000, size=(40, 2))
    offsets = [tuple(p) for p in np.vstack([corner, spread]).round(1)]
    price = np.concatenate([rng.integers(80, 100, 20), rng.integers(10, 60, 40)])
    impacts = np.concatenate([rng.integers(800, 1000, 20), rng.integers(50, 600, 40)])
    assets = make_assets(offsets, price=price.tolist(), impacts=impacts.tolist())
    camps = [
        _campaign("C1", max_faces=3, min_spacing_m=150, cycles=(1, 2), budget=10_000.0),
        _campaign("C2", max_faces=3, min_faces=1, budget=float(rng.integers(100, 250))),
    ]
    return _plan_instance(assets, camps)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", ["revenue", "impacts"])
def test_pruning_keeps_the_greedy_plan(seed: int, name: str) -> None:
    inst = crowded_instance(seed)
    greedy = greedy_plan(inst, name)
    assert plan_violations(inst, greedy) == []
    solver = SolverSettings(time_limit=2, candidates_per_face=1.0, seed=seed)
    keep = _kept(inst, name, greedy, solver)
    assert keep is not None
    assert np.isin(greedy, keep).all(), "a greedy candidate was pruned"
    assert plan_violations(restrict(inst, keep), np.searchsorted(keep, greedy)) == []

    result = solve_instance(inst, name, solver=solver)
    # Optimal among the candidates kept (proved in ~0.05 s); the bound covers them all.
    full = solve_instance(inst, name, solver=FAST)
    assert full.status == "OPTIMAL"
    assert result.bound_source in ("lp relaxation", "per-campaign ceiling")
    assert result.bound >= full.objective >= result.objective
    assert (result.status == "OPTIMAL") == (result.gap == 0.0)
    assert result.pruned == inst.n_candidates - len(keep) > 0
    assert plan_violations(inst, result.chosen) == []
    assert result.values[name] == objective_value(inst, result.chosen, name)
    assert result.values[name] >= objective_value(inst, greedy, name)
    assert result.values[name] >= result.greedy_values[name]
    assert np.isin(result.chosen, np.arange(inst.n_candidates)).all()


@pytest.mark.parametrize("per_face", [0.5, 1.0, 2.5])
def test_pruned_plan_is_never_better_than_the_full_one(per_face: float) -> None:
    inst = crowded_instance(7)
    full = solve_instance(inst, "revenue", solver=FAST)
    pruned = solve_instance(
        inst, "revenue", solver=SolverSettings(time_limit=2, candidates_per_face=per_face)
    )
    assert full.pruned == 0 and pruned.pruned > 0
    assert plan_violations(inst, pruned.chosen) == []
    assert full.status == "OPTIMAL"
    assert pruned.greedy_values["revenue"] <= pruned.values["revenue"] <= full.values["revenue"]
    assert full.values["revenue"] <= objective_ceiling(inst, "revenue")


def test_no_pruning_when_every_candidate_fits() -> None:
    inst = tiny_instance(3)
    result = solve_instance(
        inst, "revenue", solver=SolverSettings(time_limit=2, candidates_per_face=100.0)
    )
    assert result.pruned == 0
    assert result.values["revenue"] == brute_force_best(inst, "revenue")


# --- the LP relaxation's bound --------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", ["revenue", "impacts"])
def test_lp_bound_bounds_the_brute_force_optimum(seed: int, name: str) -> None:
    inst = tiny_instance(seed)
    best = brute_force_best(inst, name)
    lp = lp_relaxation(inst, {name: 1.0})
    assert lp.converged and lp.x is not None
    assert lp.bound >= best
    # The Lagrangian bound is valid at any duals, not only PDLP's.
    program = linear_program(inst, {name: 1.0})
    rng = np.random.default_rng(seed)
    for _ in range(5):
        y = rng.normal(scale=float(program.c.max(initial=1.0)), size=len(program.lo))
        assert dual_bound(program, y) >= best - 1e-6


def test_lp_bound_is_tight_on_a_budget_bound_campaign() -> None:
    # One campaign whose budget buys two of four faces: the LP spends the budget exactly.
    assets = make_assets([(0, 0), (500, 0), (1000, 0), (1500, 0)], price=[10, 40, 25, 30])
    inst = _plan_instance(assets, [_campaign(max_faces=2, budget=70.0)])
    assert lp_relaxation(inst, {"revenue": 1.0}).bound == 7000 == brute_force_best(inst, "revenue")


# --- the check at scale ----------------------------------------------------------------


def grid_instance(side: int) -> Instance:
    """``side`` x ``side`` assets 200 m apart, two faces each, and two campaigns booked on
    every asset in one cycle: a valid plan of ``2 side^2`` placements (spacing 150 m,
    rivals in different groups, at most 2 faces within 50 m, alcohol half the faces)."""
    n = side * side
    xy = np.column_stack([np.arange(n) % side, np.arange(n) // side]).astype(float) * 200.0
    camps = [
        _campaign("ALC", category="alcohol", max_faces=n, min_spacing_m=150.0,
                  competitor_group="drinks", budget=1e9),
        _campaign("BANK", max_faces=n, competitor_group="banks", budget=1e9),
    ]  # fmt: skip
    assets = np.tile(np.arange(n), 2)
    return Instance(
        asset_ids=np.array([f"A{i}" for i in range(n)], dtype=object),
        capacity=np.full(n, 2),
        xy=xy,
        campaigns=camps,
        cycles=(1,),
        cand_asset=assets,
        cand_campaign=np.repeat([0, 1], n),
        cand_cycle=np.ones(2 * n, dtype=np.int64),
        cand_price=np.full(2 * n, 100),
        cand_impacts=np.full(2 * n, 10),
        budget_pence=np.array([10**11, 10**11]),
        density=[(DensityRule("max-2-in-50m", max_faces=2, within_m=50), [])],
        shares=[(ShareRule("alcohol-half", ("alcohol",), 0.5), np.array([True, False]))],
    )


def test_the_check_handles_a_50000_placement_plan() -> None:
    inst = grid_instance(159)  # 25,281 assets: 50,562 placements
    every = np.arange(inst.n_candidates)
    assert len(every) > 50_000
    assert plan_violations(inst, every) == []
    # Plant two breaches: asset A1 100 m from A0 breaks the alcohol spacing, and a third
    # face on A500 (capacity raised to 3) breaks the density rule there.
    inst.xy[1] = inst.xy[0] + [100.0, 0.0]
    inst.capacity[500] = 3
    more = replace(
        inst,
        campaigns=[*inst.campaigns, _campaign("SHOP", budget=1e9)],
        cand_asset=np.r_[inst.cand_asset, 500],
        cand_campaign=np.r_[inst.cand_campaign, 2],
        cand_cycle=np.r_[inst.cand_cycle, 1],
        cand_price=np.r_[inst.cand_price, 100],
        cand_impacts=np.r_[inst.cand_impacts, 10],
        budget_pence=np.r_[inst.budget_pence, 10**11],
        shares=[(rule, np.r_[mask, False]) for rule, mask in inst.shares],
    )
    assert plan_violations(more, np.arange(more.n_candidates)) == [
        "spacing: ALC on A0 and A1 100 m apart in cycle 1",
        "density max-2-in-50m: 3 faces near A500 in cycle 1",
    ]
