"""Property tests: on random tiny instances every plan passes the audit and the specification.

A plan found must have no audit violation, no `plan_violations`, capacity and budgets held;
when no plan is found on an instance small enough, brute force must agree that none exists.
And the construction heuristic (greedy + repair) finds a valid plan whenever CP-SAT finds
the instance feasible, tight minimum faces with spacing included.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
from conftest import _campaign, _plan_instance, make_assets, make_sites, make_zones
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from planner.calendar import cycle_dates
from planner.optimise.construct import construct_plan
from planner.optimise.model import build_model
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.optimise.solve import solve_instance
from planner.optimise.verify import plan_violations
from planner.plan import plan
from planner.policy.audit import audit
from planner.policy.load import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
)

RULES = {
    "schools": ExclusionRule("schools-100m", ("hfss",), ("school",), within_m=100),
    "no-digital-alcohol": BanRule("no-digital-alcohol", ("alcohol",), digital=True),
    "density": DensityRule("max-2-in-100m", max_faces=2, within_m=100),
    "share": ShareRule("alcohol-half", ("alcohol",), 0.5),
    "purdah": PeriodRule("purdah", ("political",), *cycle_dates(2)),
}
SETTINGS = PlanSettings(competitor_separation_m=100, walk_m=200)
SOLVER = SolverSettings(time_limit=2)


@st.composite
def campaigns(draw, index: int):
    cycles = draw(st.sets(st.sampled_from([1, 2]), min_size=1))
    max_faces = draw(st.integers(1, 3))
    return _campaign(
        f"C{index}",
        category=draw(st.sampled_from(["general", "alcohol", "hfss", "political"])),
        budget=float(draw(st.integers(20, 300))),
        cycles=tuple(sorted(cycles)),
        min_faces=draw(st.sampled_from([0, 0, 0, 1])),
        max_faces=max_faces,
        digital=draw(st.sampled_from(["any", "only", "never"])),
        competitor_group=draw(st.sampled_from(["", "", "banks"])),
        min_spacing_m=float(draw(st.sampled_from([0, 0, 120]))),
        priority=draw(st.integers(1, 2)),
    )


@st.composite
def instances(draw):
    n = draw(st.integers(2, 6))
    metres = st.integers(0, 25).map(lambda v: v * 10)
    spot = st.tuples(metres, metres)
    offsets = draw(st.lists(spot, min_size=n, max_size=n, unique=True))
    assets = make_assets(
        offsets,
        price=draw(st.lists(st.integers(1, 50), min_size=n, max_size=n)),
        impacts=draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)),
        faces=draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
        digital=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        slots=draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
    )
    camps = [draw(campaigns(i)) for i in range(draw(st.integers(1, 4)))]
    chosen = draw(st.sets(st.sampled_from(sorted(RULES))))
    policy = Policy("random", rules=tuple(RULES[k] for k in sorted(chosen)))
    sites = make_sites([draw(spot)], site_id=["S1"], kind=["school"], name=["School"])
    zones = make_zones(
        [draw(spot) for _ in range(3)], zone_id=["Z0", "Z1", "Z2"], population=[100.0, 250.0, 50.0]
    )
    objective = draw(st.sampled_from(["revenue", "impacts", "reach", "revenue>reach"]))
    return assets, camps, policy, sites, zones, objective


def _candidates(inst, placements) -> np.ndarray:
    index = {
        (inst.asset_ids[a], inst.campaigns[c].campaign_id, int(t)): k
        for k, (a, c, t) in enumerate(
            zip(inst.cand_asset, inst.cand_campaign, inst.cand_cycle, strict=True)
        )
    }
    keys = zip(placements["asset_id"], placements["campaign_id"], placements["cycle"], strict=True)
    return np.array([index[(a, c, int(t))] for a, c, t in keys], dtype=np.int64)


def _no_plan_exists(inst) -> bool:
    n = inst.n_candidates
    subsets = itertools.chain.from_iterable(
        itertools.combinations(range(n), r) for r in range(n + 1)
    )
    return all(plan_violations(inst, np.array(s, dtype=np.int64)) for s in subsets)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(instances())
def test_random_plans_pass_the_audit(case) -> None:
    assets, camps, policy, sites, zones, objective = case
    result = plan(
        assets, camps, policy, sites=sites, zones=zones, objective=objective,
        settings=SETTINGS, solver=SOLVER,
    )  # fmt: skip
    inst = _plan_instance(assets, camps, policy, sites=sites, zones=zones, settings=SETTINGS)
    event(f"{result.status}, {len(result.placements)} placement(s)")
    if not result.ok:
        assert result.status == "INFEASIBLE"
        assert result.explanation
        if inst.n_candidates <= 10:
            assert _no_plan_exists(inst)
        return
    placements = result.placements
    assert audit(placements, assets, sites, policy, start=SETTINGS.start).empty
    assert plan_violations(inst, _candidates(inst, placements)) == []
    # Capacity, read from the assets table: faces, or faces x slots when digital.
    info = assets.set_index("asset_id")
    capacity = np.where(info["digital"], info["faces"] * info["slots"], info["faces"])
    limit = dict(zip(info.index, capacity.tolist(), strict=True))
    used = Counter(zip(placements["asset_id"], placements["cycle"], strict=True))
    assert all(n <= limit[a] for (a, _), n in used.items())
    # Budgets and faces per cycle, read from the campaigns.
    spend = placements.groupby("campaign_id")["price"].sum()
    per_cycle = Counter(zip(placements["campaign_id"], placements["cycle"], strict=True))
    for camp in camps:
        assert spend.get(camp.campaign_id, 0.0) <= camp.budget + 1e-9
        for t in camp.cycles:
            assert camp.min_faces <= per_cycle.get((camp.campaign_id, t), 0) <= camp.max_faces
    assert result.sales == placements["price"].sum()


# --- the construction heuristic ---------------------------------------------------------

TIGHT_RULES = {
    "density": DensityRule("max-2-in-100m", max_faces=2, within_m=100),
    "share": ShareRule("alcohol-third", ("alcohol",), 0.34),
}


@st.composite
def tight_instances(draw):
    """3-12 assets within 300 m, 1-5 campaigns needing 0-4 faces a cycle with 0-200 m
    spacing, rivals 80 m apart, a density and an alcohol share rule: minimums that often
    cannot all be met. Budgets buy the minimums at any price (packing a budget to the
    penny is left to CP-SAT)."""
    n = draw(st.integers(3, 12))
    metres = st.integers(0, 30).map(lambda v: v * 10)
    offsets = draw(st.lists(st.tuples(metres, metres), min_size=n, max_size=n, unique=True))
    prices = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    assets = make_assets(
        offsets,
        price=prices,
        faces=draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
        digital=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        slots=draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
        impacts=draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)),
    )
    camps = []
    for i in range(draw(st.integers(1, 5))):
        low = draw(st.integers(0, 4))
        cycles = tuple(sorted(draw(st.sets(st.sampled_from([1, 2]), min_size=1))))
        camps.append(
            _campaign(
                f"C{i}",
                category=draw(st.sampled_from(["general", "general", "alcohol"])),
                budget=float(max(draw(st.integers(10, 400)), low * len(cycles) * max(prices))),
                cycles=cycles,
                min_faces=low,
                max_faces=low + draw(st.integers(0, 3)),
                competitor_group=draw(st.sampled_from(["", "", "banks"])),
                min_spacing_m=float(draw(st.sampled_from([0, 60, 120, 200]))),
            )
        )
    chosen = draw(st.sets(st.sampled_from(sorted(TIGHT_RULES))))
    policy = Policy("tight", rules=tuple(TIGHT_RULES[k] for k in sorted(chosen)))
    settings = PlanSettings(competitor_separation_m=80)
    return _plan_instance(assets, camps, policy, settings=settings)


def _cp_sat_feasible(inst) -> bool:
    """Whether CP-SAT finds any plan (no objective; tiny instances are decided at once)."""
    cp = cp_model.CpSolver()
    cp.parameters.num_workers = 1
    cp.parameters.max_time_in_seconds = 20
    code = cp.solve(build_model(inst, objectives=()).model)
    assert code != cp_model.UNKNOWN, "CP-SAT did not decide a tiny instance"
    return code in (cp_model.OPTIMAL, cp_model.FEASIBLE)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tight_instances(), st.sampled_from(["revenue", "impacts"]), st.integers(0, 3))
def test_a_valid_plan_is_returned_whenever_one_exists(inst, objective, seed) -> None:
    # The heuristic (greedy + repair) finds most plans but not all: a share rule that
    # needs other campaigns to book more first can defeat it. The solve as a whole
    # (heuristic, then CP-SAT) must return a valid plan whenever one exists, and only
    # then; the heuristic's plan is never passed off as valid when it is not.
    feasible = _cp_sat_feasible(inst)
    chosen = construct_plan(inst, objective, seed=seed)
    heuristic_ok = not plan_violations(inst, chosen)
    event(f"CP-SAT: {'feasible' if feasible else 'infeasible'}")
    event(f"heuristic: {'valid' if heuristic_ok else 'no valid plan'}")
    result = solve_instance(inst, objective, solver=SolverSettings(time_limit=10, seed=seed))
    if feasible:
        assert result.ok
        assert plan_violations(inst, result.chosen) == []
        assert not result.fallback or heuristic_ok
    else:
        assert not heuristic_ok  # the specification agrees: nothing is valid
        assert not result.ok and result.status == "INFEASIBLE"
