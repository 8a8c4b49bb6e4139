"""One test (or a few) per business rule of the placement model, on instances of 1-6 assets.

Each verdict of the CP-SAT model is checked against brute force over the solver-independent
specification (`planner.optimise.verify.plan_violations`), so the model and the specification must
agree on every tiny instance here.
"""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest
from ortools.sat.python import cp_model

from planner.campaigns import Area
from planner.errors import PlannerError
from planner.optimise import constraints
from planner.optimise.model import build_model
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.optimise.solve import explain_infeasible, solve_instance
from planner.optimise.verify import plan_violations
from planner.plan import required_sales
from planner.policy.load import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
)
from planner.value.concession import ConcessionTerms

ROW = [(0, 0), (300, 0), (600, 0), (900, 0), (1200, 0), (1500, 0)]
FAST = SolverSettings(time_limit=2, workers=1)


def cand(inst, asset_id: str, campaign_id: str, cycle: int = 1) -> int:
    """Index of the candidate (asset, campaign, cycle); fails when it does not exist."""
    a = list(inst.asset_ids).index(asset_id)
    c = [camp.campaign_id for camp in inst.campaigns].index(campaign_id)
    hit = np.flatnonzero(
        (inst.cand_asset == a) & (inst.cand_campaign == c) & (inst.cand_cycle == cycle)
    )
    assert len(hit) == 1, f"no candidate {asset_id}/{campaign_id}/{cycle}"
    return int(hit[0])


def _solve(model: cp_model.CpModel) -> bool:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5
    status = solver.solve(model)
    # These models have no objective, so CP-SAT's only decided answers are OPTIMAL (a plan
    # exists) and INFEASIBLE; anything else (UNKNOWN, MODEL_INVALID) is a failed test.
    verdict = {cp_model.OPTIMAL: True, cp_model.INFEASIBLE: False}.get(status)
    assert verdict is not None, f"CP-SAT did not decide: {solver.status_name(status)}"
    return verdict


def _brute(inst, on=(), off=()) -> bool:
    free = [k for k in range(inst.n_candidates) if k not in set(on) | set(off)]
    assert len(free) <= 14, "instance too large for brute force"
    for r in range(len(free) + 1):
        for extra in itertools.combinations(free, r):
            if not plan_violations(inst, np.array([*on, *extra], dtype=np.int64)):
                return True
    return False


def feasible(inst, *, on=(), off=()) -> bool:
    """Whether the model has a plan with candidates ``on`` chosen and ``off`` not.

    Asserts that brute force over `plan_violations` gives the same verdict.
    """
    built = build_model(inst, objectives=())
    for k in on:
        built.model.add(built.x[k] == 1)
    for k in off:
        built.model.add(built.x[k] == 0)
    verdict = _solve(built.model)
    assert verdict == _brute(inst, on, off), "the model and plan_violations disagree"
    return verdict


# --- capacity -----------------------------------------------------------------------


@pytest.mark.parametrize(("faces", "ok"), [(1, False), (2, True)])
def test_a_classic_face_carries_one_campaign_per_cycle(
    make_assets, make_campaign, plan_instance, faces, ok
) -> None:
    camps = [make_campaign(c, min_faces=1) for c in ("C1", "C2")]
    inst = plan_instance(make_assets(ROW[:1], faces=faces), camps)
    assert inst.capacity.tolist() == [faces]
    assert feasible(inst) is ok


@pytest.mark.parametrize(
    ("faces", "slots", "n_campaigns", "ok"),
    [(1, 2, 2, True), (1, 2, 3, False), (2, 2, 4, True), (2, 2, 5, False)],
)
def test_a_digital_face_carries_one_campaign_per_slot(
    make_assets, make_campaign, plan_instance, faces, slots, n_campaigns, ok
) -> None:
    camps = [make_campaign(f"C{i}", min_faces=1) for i in range(n_campaigns)]
    assets = make_assets(ROW[:1], faces=faces, digital=True, slots=slots)
    inst = plan_instance(assets, camps)
    assert inst.capacity.tolist() == [faces * slots]
    assert feasible(inst) is ok


def test_capacity_is_per_cycle(make_assets, make_campaign, plan_instance) -> None:
    camps = [make_campaign("C1", min_faces=1), make_campaign("C2", min_faces=1, cycles=(2,))]
    assert feasible(plan_instance(make_assets(ROW[:1]), camps))


# --- budget ---------------------------------------------------------------------------


@pytest.mark.parametrize(("budget", "ok"), [(29.99, False), (30.0, True)])
def test_budget_limits_spend(make_assets, make_campaign, plan_instance, budget, ok) -> None:
    camp = make_campaign(min_faces=3, budget=budget)
    inst = plan_instance(make_assets(ROW[:3], price=10), [camp])
    assert feasible(inst) is ok


@pytest.mark.parametrize(("budget", "ok"), [(19.0, False), (20.0, True)])
def test_budget_covers_every_cycle(make_assets, make_campaign, plan_instance, budget, ok) -> None:
    camp = make_campaign(min_faces=1, budget=budget, cycles=(1, 2))
    inst = plan_instance(make_assets(ROW[:1], price=10), [camp])
    assert feasible(inst) is ok


def test_budget_refuses_a_forced_overspend(make_assets, make_campaign, plan_instance) -> None:
    inst = plan_instance(make_assets(ROW[:2], price=10), [make_campaign(budget=15)])
    a0, a1 = cand(inst, "A0", "C1"), cand(inst, "A1", "C1")
    assert feasible(inst, on=[a0])
    assert not feasible(inst, on=[a0, a1])


# --- faces per cycle --------------------------------------------------------------------


@pytest.mark.parametrize(("min_faces", "ok"), [(3, True), (4, False)])
def test_min_faces_per_cycle(make_assets, make_campaign, plan_instance, min_faces, ok) -> None:
    camp = make_campaign(min_faces=min_faces, max_faces=5)
    assert feasible(plan_instance(make_assets(ROW[:3]), [camp])) is ok


@pytest.mark.parametrize(("max_faces", "ok"), [(2, False), (3, True)])
def test_max_faces_per_cycle(make_assets, make_campaign, plan_instance, max_faces, ok) -> None:
    inst = plan_instance(make_assets(ROW[:3]), [make_campaign(max_faces=max_faces)])
    assert feasible(inst, on=list(range(inst.n_candidates))) is ok


def test_min_faces_hold_in_each_cycle(make_assets, make_campaign, plan_instance) -> None:
    camps = [make_campaign("C1", min_faces=1, cycles=(1, 2)), make_campaign("C2", cycles=(2,))]
    inst = plan_instance(make_assets(ROW[:1]), camps)
    assert feasible(inst)
    assert not feasible(inst, on=[cand(inst, "A0", "C2", 2)])


# --- targeting (format, type, digital, area): candidates exist only where targeted ------


@pytest.fixture
def targeted(make_assets):
    return make_assets(
        [(0, 0), (500, 0), (2000, 0), (100, 100)],
        format=["6-sheet", "D6", "48-sheet", "6-sheet"],
        asset_type=["bus_shelter", "kiosk", "billboard", "bus_shelter"],
        digital=[False, True, False, False],
        ward=["Soho", "Mayfair", "soho", "Soho"],
        status=["available", "available", "available", "unavailable"],
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"A0", "A1", "A2"}),
        ({"formats": ("d6",)}, {"A1"}),
        ({"formats": ("6-sheet", "48-sheet")}, {"A0", "A2"}),
        ({"asset_types": ("bus_shelter", "billboard")}, {"A0", "A2"}),
        ({"digital": "only"}, {"A1"}),
        ({"digital": "never"}, {"A0", "A2"}),
        ({"digital": "any"}, {"A0", "A1", "A2"}),
        ({"area": ("wards", ("SOHO",))}, {"A0", "A2"}),
        ({"area": ("circle", 600.0)}, {"A0", "A1"}),
        ({"area": ("circle", 400.0)}, {"A0"}),
        ({"formats": ("d6",), "digital": "never"}, set()),
    ],
)
def test_targeting_limits_candidates(
    targeted, make_campaign, plan_instance, fields, expected
) -> None:
    fields = dict(fields)
    if "area" in fields:
        kind, value = fields.pop("area")
        centre = targeted.geometry.iloc[0]
        fields["area"] = (
            Area(wards=value)
            if kind == "wards"
            else Area(lon=centre.x, lat=centre.y, radius_m=value)
        )
    inst = plan_instance(targeted, [make_campaign(**fields)])
    assert set(inst.asset_ids[inst.cand_asset]) == expected
    assert inst.eligible_counts[(0, 1)] == len(expected)


def test_targeting_can_make_min_faces_infeasible(targeted, make_campaign, plan_instance) -> None:
    assert feasible(plan_instance(targeted, [make_campaign(min_faces=2, digital="never")]))
    assert not feasible(plan_instance(targeted, [make_campaign(min_faces=2, digital="only")]))


# --- minimum spacing --------------------------------------------------------------------


@pytest.mark.parametrize(("distance", "ok"), [(99, False), (101, True)])
def test_min_spacing_between_faces_of_a_campaign(
    make_assets, make_campaign, plan_instance, distance, ok
) -> None:
    camp = make_campaign(min_faces=2, min_spacing_m=100)
    inst = plan_instance(make_assets([(0, 0), (distance, 0)]), [camp])
    assert feasible(inst) is ok


def test_min_spacing_leaves_other_campaigns_and_cycles_alone(
    make_assets, make_campaign, plan_instance
) -> None:
    camps = [
        make_campaign("C1", min_faces=1, min_spacing_m=100, cycles=(1, 2)),
        make_campaign("C2", min_faces=1, min_spacing_m=100),
    ]
    inst = plan_instance(make_assets([(0, 0), (50, 0)]), camps)
    both_cycles = [cand(inst, "A0", "C1", 1), cand(inst, "A0", "C1", 2)]
    assert feasible(inst, on=[*both_cycles, cand(inst, "A1", "C2")])
    assert not feasible(inst, on=[cand(inst, "A0", "C1"), cand(inst, "A1", "C1")])


# --- competitor separation -------------------------------------------------------------


@pytest.mark.parametrize(("groups", "ok"), [(("banks", "banks"), False), (("banks", "beer"), True)])
def test_competitors_never_share_an_asset(
    make_assets, make_campaign, plan_instance, groups, ok
) -> None:
    camps = [make_campaign(f"C{i}", min_faces=1, competitor_group=g) for i, g in enumerate(groups)]
    inst = plan_instance(make_assets(ROW[:1], faces=2), camps)
    assert feasible(inst) is ok


@pytest.mark.parametrize(("distance", "ok"), [(99, False), (101, True)])
def test_competitors_are_kept_apart(
    make_assets, make_campaign, plan_instance, distance, ok
) -> None:
    camps = [make_campaign(f"C{i}", min_faces=1, competitor_group="banks") for i in range(2)]
    settings = PlanSettings(competitor_separation_m=100)
    inst = plan_instance(make_assets([(0, 0), (distance, 0)]), camps, settings=settings)
    assert feasible(inst) is ok


def test_competitors_may_meet_in_different_cycles(
    make_assets, make_campaign, plan_instance
) -> None:
    camps = [
        make_campaign("C1", min_faces=1, competitor_group="banks"),
        make_campaign("C2", min_faces=1, competitor_group="banks", cycles=(2,)),
    ]
    assert feasible(plan_instance(make_assets(ROW[:1]), camps))


# --- density (policy) ----------------------------------------------------------------


DENSITY = Policy("density", rules=(DensityRule("max-1-in-100m", max_faces=1, within_m=100),))


@pytest.mark.parametrize(
    ("offsets", "ok"),
    [([(0, 0), (50, 0)], False), ([(0, 0), (150, 0)], True)],
)
def test_density_limits_faces_near_each_other(
    make_assets, make_campaign, plan_instance, offsets, ok
) -> None:
    inst = plan_instance(make_assets(offsets), [make_campaign(min_faces=2)], DENSITY)
    assert feasible(inst) is ok


def test_density_counts_every_face_of_an_asset(make_assets, make_campaign, plan_instance) -> None:
    policy = Policy("d", rules=(DensityRule("max-2", max_faces=2, within_m=100),))
    camps = [make_campaign(f"C{i}", min_faces=1) for i in range(3)]
    assert not feasible(plan_instance(make_assets(ROW[:1], faces=3), camps, policy))
    assert feasible(plan_instance(make_assets(ROW[:1], faces=3), camps[:2], policy))


def test_density_is_measured_around_each_booked_asset(
    make_assets, make_campaign, plan_instance
) -> None:
    # A0 and A2 are 180 m apart, A1 between them: A0 + A2 is fine, anything with A1 is not.
    inst = plan_instance(
        make_assets([(0, 0), (90, 0), (180, 0)]), [make_campaign(min_faces=2)], DENSITY
    )
    assert feasible(inst)
    assert not feasible(inst, on=[cand(inst, "A1", "C1")])


# --- category share (policy) -------------------------------------------------------------


SHARE = Policy("share", rules=(ShareRule("alcohol-half", ("alcohol",), 0.5),))


@pytest.mark.parametrize(("general_max", "ok"), [(1, False), (2, True)])
def test_share_caps_a_category(make_assets, make_campaign, plan_instance, general_max, ok) -> None:
    camps = [
        make_campaign("BEER", category="alcohol", min_faces=2),
        make_campaign("SHOP", max_faces=general_max),
    ]
    inst = plan_instance(make_assets(ROW[:4]), camps, SHARE)
    assert feasible(inst) is ok


def test_share_needs_other_faces_booked(make_assets, make_campaign, plan_instance) -> None:
    camps = [make_campaign("BEER", category="alcohol", min_faces=1), make_campaign("SHOP")]
    inst = plan_instance(make_assets(ROW[:2]), camps, SHARE)
    assert feasible(inst)
    assert not feasible(inst, off=[cand(inst, "A0", "SHOP"), cand(inst, "A1", "SHOP")])


# --- period (policy): no candidates in an overlapping cycle ---------------------------


@pytest.mark.parametrize(
    ("start", "end", "blocked"),
    [
        (date(2027, 1, 20), date(2027, 1, 25), {2}),
        (date(2027, 1, 31), date(2027, 2, 1), {2, 3}),
        (date(2026, 12, 1), date(2027, 1, 4), {1}),
        (date(2027, 3, 1), date(2027, 3, 5), set()),
    ],
)
def test_period_removes_candidates_in_overlapping_cycles(
    make_assets, make_campaign, plan_instance, start, end, blocked
) -> None:
    policy = Policy("p", rules=(PeriodRule("purdah", ("political",), start, end),))
    camps = [
        make_campaign("VOTE", category="political", cycles=(1, 2, 3)),
        make_campaign("SHOP", cycles=(1, 2, 3)),
    ]
    inst = plan_instance(make_assets(ROW[:2]), camps, policy, settings=PlanSettings())
    political = set(inst.cand_cycle[inst.cand_campaign == 0].tolist())
    assert political == {1, 2, 3} - blocked
    assert set(inst.cand_cycle[inst.cand_campaign == 1].tolist()) == {1, 2, 3}
    assert all(inst.eligible_counts[(0, t)] == (0 if t in blocked else 2) for t in (1, 2, 3))


def test_period_follows_the_plan_start(make_assets, make_campaign, plan_instance) -> None:
    policy = Policy(
        "p", rules=(PeriodRule("purdah", ("political",), date(2027, 1, 20), date(2027, 1, 25)),)
    )
    camp = make_campaign("VOTE", category="political", min_faces=1)
    settings = PlanSettings(start=date(2027, 1, 18))
    inst = plan_instance(make_assets(ROW[:2]), [camp], policy, settings=settings)
    assert inst.n_candidates == 0
    assert not feasible(inst)


# --- bans and exclusions: ethics by construction ---------------------------------------


def test_a_ban_leaves_no_candidate(make_assets, make_campaign, plan_instance) -> None:
    policy = Policy("b", rules=(BanRule("no-gambling", ("gambling",)),))
    camps = [make_campaign("BET", category="gambling"), make_campaign("SHOP")]
    inst = plan_instance(make_assets(ROW[:3]), camps, policy)
    assert set(inst.cand_campaign.tolist()) == {1}
    assert inst.removed_by_rule == {(0, "no-gambling"): 3}


def test_an_exclusion_removes_assets_near_a_site(
    make_assets, make_sites, make_campaign, plan_instance
) -> None:
    policy = Policy(
        "e", rules=(ExclusionRule("schools-100m", ("hfss",), ("school",), within_m=100),)
    )
    sites = make_sites([(0, 60)], site_id=["S1"], kind=["school"], name=["St Mary's"])
    camps = [make_campaign("SNACK", category="hfss"), make_campaign("SHOP")]
    inst = plan_instance(make_assets(ROW[:3]), camps, policy, sites=sites)
    snack = inst.asset_ids[inst.cand_asset[inst.cand_campaign == 0]]
    assert sorted(snack) == ["A1", "A2"]
    assert (inst.cand_campaign == 1).sum() == 3
    assert inst.removed_by_rule == {(0, "schools-100m"): 1}


# --- revenue target --------------------------------------------------------------------


@pytest.mark.parametrize(("sales", "ok"), [(50.0, True), (50.01, False)])
def test_revenue_target_needs_enough_sales(
    make_assets, make_campaign, plan_instance, sales, ok
) -> None:
    inst = plan_instance(
        make_assets(ROW[:3], price=[10, 20, 30]), [make_campaign(max_faces=2)], required_sales=sales
    )
    assert inst.required_sales_pence == round(sales * 100)
    assert feasible(inst) is ok


def test_revenue_target_refuses_a_cheap_forced_face(
    make_assets, make_campaign, plan_instance
) -> None:
    inst = plan_instance(
        make_assets(ROW[:3], price=[10, 20, 30]), [make_campaign(max_faces=2)], required_sales=50
    )
    assert feasible(inst, on=[cand(inst, "A2", "C1")])
    assert not feasible(inst, on=[cand(inst, "A0", "C1")])


TIERED = ConcessionTerms(
    name="tiered", currency="GBP", bands=((0.0, 0.5), (1000.0, 0.7)), minimum_annual_guarantee=1e4
)


@pytest.mark.parametrize(
    ("target", "terms", "commission", "gross"),
    [
        # 0.5 * 1000 + 0.7 * (net - 1000) = 850  ->  net 1500  ->  gross 1500 / 0.85
        (850.0, TIERED, 0.15, 1500 / 0.85),
        # within the first band: 0.5 * net = 400  ->  net 800
        (400.0, TIERED, 0.15, 800 / 0.85),
        # exactly at the band edge: net 1000
        (500.0, TIERED, 0.0, 1000.0),
        # without terms the council gets all net sales
        (850.0, None, 0.15, 1000.0),
        (0.0, TIERED, 0.15, 0.0),
    ],
)
def test_required_sales_inverts_the_terms(target, terms, commission, gross) -> None:
    assert required_sales(target, terms, commission) == pytest.approx(gross, rel=1e-9, abs=1e-9)


def test_required_sales_refuses_an_unreachable_target() -> None:
    nothing = ConcessionTerms.flat(0.0)
    with pytest.raises(PlannerError, match="cannot be reached"):
        required_sales(100.0, nothing, 0.15)


# --- locked placements -----------------------------------------------------------------


def locks(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["asset_id", "campaign_id", "cycle"])


def test_locked_placements_are_kept(make_assets, make_campaign, plan_instance) -> None:
    assets = make_assets(ROW[:2], price=[10, 20])
    camp = make_campaign(max_faces=1)
    free = solve_instance(plan_instance(assets, [camp]), "revenue", solver=FAST)
    inst = plan_instance(assets, [camp], locked=locks(("A0", "C1", 1)))
    locked = solve_instance(inst, "revenue", solver=FAST)
    assert free.values["revenue"] == 2000
    assert locked.status == "OPTIMAL"
    assert locked.chosen.tolist() == [cand(inst, "A0", "C1")]
    assert inst.locked.tolist() == [cand(inst, "A0", "C1")]
    assert not feasible(inst, off=[cand(inst, "A0", "C1")])


@pytest.mark.parametrize(
    "row",
    [("A9", "C1", 1), ("A0", "C9", 1), ("A0", "C1", 2), ("A0", "BET", 1), ("A0", "C1", "x")],
)
def test_an_impossible_lock_is_an_error(make_assets, make_campaign, plan_instance, row) -> None:
    policy = Policy("b", rules=(BanRule("no-gambling", ("gambling",)),))
    camps = [make_campaign(), make_campaign("BET", category="gambling")]
    with pytest.raises(PlannerError, match=r"Locked placements: row 2: .* is not possible"):
        plan_instance(make_assets(ROW[:2]), camps, policy, locked=locks(row))


def test_conflicting_locks_are_explained(make_assets, make_campaign, plan_instance) -> None:
    camps = [make_campaign("C1"), make_campaign("C2")]
    inst = plan_instance(
        make_assets(ROW[:1]), camps, locked=locks(("A0", "C1", 1), ("A0", "C2", 1))
    )
    assert not feasible(inst)
    text = " ".join(explain_infeasible(inst, FAST))
    assert "2 locked placement(s)" in text
    assert "each face carries one campaign per cycle" in text


# --- each add_<rule> on its own -------------------------------------------------------


def _rule_cases(make_assets, make_campaign, plan_instance):
    """Per rule: an instance and a forced choice that breaks that rule (and no other)."""
    two = make_assets([(0, 0), (50, 0)])
    rivals = [make_campaign(f"C{i}", competitor_group="g") for i in (1, 2)]
    return {
        "add_face_capacity": (
            plan_instance(make_assets(ROW[:1]), [make_campaign("C1"), make_campaign("C2")]),
            [("A0", "C1"), ("A0", "C2")],
        ),
        "add_campaign_budget": (
            plan_instance(make_assets(ROW[:2]), [make_campaign(budget=15)]),
            [("A0", "C1"), ("A1", "C1")],
        ),
        "add_faces_per_cycle": (
            plan_instance(make_assets(ROW[:2]), [make_campaign(max_faces=1)]),
            [("A0", "C1"), ("A1", "C1")],
        ),
        "add_min_spacing": (
            plan_instance(two, [make_campaign(min_spacing_m=100)]),
            [("A0", "C1"), ("A1", "C1")],
        ),
        "add_competitor_separation": (
            plan_instance(two, rivals),
            [("A0", "C1"), ("A1", "C2")],
        ),
        "add_density_rule": (
            plan_instance(two, [make_campaign()], DENSITY),
            [("A0", "C1"), ("A1", "C1")],
        ),
        "add_category_share": (
            plan_instance(two, [make_campaign(category="alcohol")], SHARE),
            [("A0", "C1")],
        ),
        "add_revenue_target": (
            plan_instance(make_assets(ROW[:2]), [make_campaign()], required_sales=20),
            [],
        ),
        "add_locked_placements": (
            plan_instance(make_assets(ROW[:1]), [make_campaign()], locked=locks(("A0", "C1", 1))),
            [],
        ),
    }


def _only(inst, rules, forced) -> bool:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(inst.n_candidates)]
    for add in rules:
        add(model, x, inst, lambda key, words: None)
    for k in range(inst.n_candidates):
        model.add(x[k] == int(k in forced))
    return _solve(model)


def test_every_rule_is_tested_on_its_own(make_assets, make_campaign, plan_instance) -> None:
    """Each rule alone refuses its forced choice, and every other rule together accepts it.

    The forced choice fixes every candidate (the listed ones on, the rest off).
    """
    cases = _rule_cases(make_assets, make_campaign, plan_instance)
    names = {n for n in constraints.__all__ if n.startswith("add_")}
    assert set(cases) == names, "add a case for every add_<rule> function"
    for name, (inst, chosen) in cases.items():
        forced = {cand(inst, a, c) for a, c in chosen}
        others = [getattr(constraints, n) for n in sorted(names - {name})]
        assert not _only(inst, [getattr(constraints, name)], forced), name
        assert _only(inst, others, forced), name
        assert plan_violations(inst, np.array(sorted(forced), dtype=np.int64)), name
