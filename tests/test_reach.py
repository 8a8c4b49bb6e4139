"""Reach and frequency: hand-computed cases, the trade's identities and a property test."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from conftest import make_assets, make_zones
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.campaigns import Area
from planner.errors import PlannerError
from planner.value.audience import AudienceParams
from planner.value.reach import (
    RF_COLUMNS,
    ReachParams,
    build_catchments,
    campaign_reach,
    campaign_universe,
    reach_curve,
    reach_frequency,
)

LOCAL = 1.0  # every impact from residents of the catchment


def nbd_reach(people: float, mean: float, k: float) -> float:
    """People seeing at least once under the NBD: P (1 - (1 + m/k)^-k)."""
    return people * (1 - (1 + mean / k) ** -k)


def test_hand_computed_tiny_case() -> None:
    # One zone of 1,000 people, one face on it with 500 impacts, NBD shape 1 (geometric).
    assets = make_assets([(0, 0)])
    zones = make_zones([(0, 0)], population=[1000.0])
    params = ReachParams(nbd_shape=1.0)
    catch = build_catchments(assets, zones, resident_share=[LOCAL], params=params)
    rf = reach_frequency(catch, ["A0"], [500.0], params=params)
    # m = 0.5: P(X >= j) = (m / (1 + m))^j = (1/3)^j.
    assert rf.universe == 1000
    assert rf.impacts == pytest.approx(500)
    assert rf.reach == pytest.approx(1000 / 3)
    assert rf.at_least[2] == pytest.approx(1000 / 9)
    assert rf.at_least[3] == pytest.approx(1000 / 27)
    assert rf.cover_pct == pytest.approx(100 / 3)
    assert rf.avg_frequency == pytest.approx(1.5)
    assert rf.grps == pytest.approx(50)


def test_one_face_reaches_its_catchments_reached_share() -> None:
    assets = make_assets([(0, 0)])
    # Two zones within the 800 m walk, one 5 km away.
    zones = make_zones([(0, 0), (300, 0), (5000, 0)], population=[1000.0, 500.0, 2000.0])
    params = ReachParams()
    catch = build_catchments(assets, zones, resident_share=[LOCAL], params=params)
    weights = np.array([1000.0, 500.0 * math.exp(-300 / 250)])
    share = weights / weights.sum()
    means = 900 * share / np.array([1000.0, 500.0])
    expected = sum(
        nbd_reach(p, m, params.nbd_shape) for p, m in zip([1000, 500], means, strict=True)
    )
    rf = reach_frequency(catch, ["A0"], [900.0], params=params)
    assert rf.reach == pytest.approx(expected)
    assert rf.universe == 3500  # the far zone is in the universe but not reached
    assert catch.weights.toarray()[0] == pytest.approx([*share, 0.0])


def test_impacts_on_visitors_are_outside_the_universe() -> None:
    assets = make_assets([(0, 0), (0, 0)])
    zones = make_zones([(0, 0), (5000, 0)], population=[1000.0, 3000.0])
    catch = build_catchments(assets, zones, resident_share=[0.0, 0.25])
    assert reach_frequency(catch, ["A0"], [400.0]).reach == 0
    rf = reach_frequency(catch, ["A1"], [400.0])
    assert rf.impacts == pytest.approx(100)
    assert rf.reach == pytest.approx(nbd_reach(1000, 0.1, ReachParams().nbd_shape))


def test_faces_sharing_a_catchment_reach_fewer_people_than_faces_far_apart() -> None:
    assets = make_assets([(0, 0), (0, 0), (3000, 0)])
    zones = make_zones([(0, 0), (3000, 0)], population=[1000.0, 1000.0])
    catch = build_catchments(assets, zones, resident_share=[LOCAL] * 3)
    same = reach_frequency(catch, ["A0", "A1"], [800.0, 800.0])
    apart = reach_frequency(catch, ["A0", "A2"], [800.0, 800.0])
    assert same.impacts == pytest.approx(apart.impacts)
    assert same.reach < apart.reach
    assert same.avg_frequency > apart.avg_frequency


def test_reach_and_frequency_grow_with_faces() -> None:
    assets = make_assets([(0, 0), (100, 0), (200, 0), (300, 0), (400, 0)])
    zones = make_zones([(0, 0), (200, 0), (400, 0)], population=[800.0, 1200.0, 600.0])
    catch = build_catchments(assets, zones)
    ids = list(assets["asset_id"])
    found = [reach_frequency(catch, ids[:n], [1000.0] * n) for n in range(1, 6)]
    reach = [rf.reach for rf in found]
    frequency = [rf.avg_frequency for rf in found]
    assert all(b > a for a, b in pairwise(reach))
    assert all(b > a for a, b in pairwise(frequency))
    curve = reach_curve(catch, ids, [1000.0] * 5)
    assert curve["faces"].tolist() == [1, 2, 3, 4, 5]
    assert curve["reach"].to_numpy() == pytest.approx(reach)
    assert curve["grps"].to_numpy() == pytest.approx(curve["cover_pct"] * curve["avg_frequency"])


def test_booking_a_face_twice_is_a_longer_flight_not_new_people() -> None:
    assets = make_assets([(0, 0)])
    zones = make_zones([(0, 0)], population=[1000.0])
    catch = build_catchments(assets, zones, resident_share=[LOCAL])
    one = reach_frequency(catch, ["A0"], [600.0])
    two = reach_frequency(catch, ["A0", "A0"], [600.0, 600.0])
    assert one.reach < two.reach < 2 * one.reach
    assert two.avg_frequency > one.avg_frequency


@st.composite
def bookings(draw):
    n_zones = draw(st.integers(1, 5))
    n_assets = draw(st.integers(1, 5))
    metres = st.integers(0, 40).map(lambda v: v * 50)
    zones = make_zones(
        [(draw(metres), draw(metres)) for _ in range(n_zones)],
        population=draw(st.lists(st.integers(0, 5000), min_size=n_zones, max_size=n_zones)),
    )
    assets = make_assets([(draw(metres), draw(metres)) for _ in range(n_assets)])
    share = draw(st.lists(st.floats(0, 1), min_size=n_assets, max_size=n_assets))
    booked = draw(st.lists(st.integers(0, n_assets - 1), min_size=0, max_size=8))
    impacts = draw(st.lists(st.floats(0, 1e6), min_size=len(booked), max_size=len(booked)))
    k = draw(st.sampled_from([0.2, 0.97, 5.0]))
    return assets, zones, share, booked, impacts, k


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bookings())
def test_reach_never_exceeds_the_universe_and_the_identities_hold(case) -> None:
    assets, zones, share, booked, impacts, k = case
    params = ReachParams(nbd_shape=k)
    catch = build_catchments(assets, zones, resident_share=share, params=params)
    ids = assets["asset_id"].to_numpy()[booked]
    rf = reach_frequency(catch, ids, impacts, params=params)
    assert rf.universe == pytest.approx(zones["population"].sum())
    assert -1e-9 <= rf.reach <= rf.universe * (1 + 1e-12)
    levels = [rf.at_least[j] for j in sorted(rf.at_least)]
    assert all(b <= a + 1e-9 for a, b in pairwise(levels))
    # Impacts on residents land on the universe when it is every zone; the rest do not.
    on_residents = sum(catch.resident_share[a] * i for a, i in zip(booked, impacts, strict=True))
    assert rf.impacts == pytest.approx(on_residents, rel=1e-9, abs=1e-6)
    if rf.universe > 0:
        assert rf.grps == pytest.approx(100 * rf.impacts / rf.universe)
    if rf.reach > 1e-6:
        assert rf.avg_frequency >= 1 - 1e-9
        assert rf.grps == pytest.approx(rf.cover_pct * rf.avg_frequency)


def test_a_campaigns_universe_is_its_area() -> None:
    assets = make_assets([(0, 0), (3000, 0)], ward=["North", "South"])
    zones = make_zones(
        [(0, 0), (600, 0), (3000, 0), (6000, 0)], population=[1000.0, 500.0, 2000.0, 4000.0]
    )
    catch = build_catchments(assets, zones)
    centre = assets.geometry.iloc[0]
    circle = campaign_universe(catch, Area(lon=centre.x, lat=centre.y, radius_m=300))
    assert circle.tolist() == [True, False, False, False]
    south = np.array([False, True])
    wards = campaign_universe(catch, Area(wards=("South",)), in_area=south)
    assert wards.tolist() == [False, False, True, False]
    assert campaign_universe(catch, Area()).all()
    booked = assets.assign(campaign_id=["C1", "C2"], impacts=[500.0, 500.0])
    table = campaign_reach(booked, catch, universes={"C1": circle})
    assert list(table.columns[: len(RF_COLUMNS) + 1]) == ["campaign_id", *RF_COLUMNS]
    rows = table.set_index("campaign_id")
    assert rows.loc["C1", "universe"] == 1000
    assert rows.loc["C2", "universe"] == 7500
    # Only the impacts on the area's residents count: A0's catchment reaches past it.
    on_residents = 500 * catch.resident_share[0]
    assert 0 < rows.loc["C1", "universe_impacts"] < on_residents
    assert "modelled" in table.attrs["note"]


def test_unknown_assets_and_bad_parameters_are_named() -> None:
    catch = build_catchments(make_assets([(0, 0)]), make_zones([(0, 0)]))
    with pytest.raises(PlannerError, match="X9"):
        reach_frequency(catch, ["X9"], [10.0])
    with pytest.raises(ValueError, match="nbd_shape"):
        ReachParams(nbd_shape=0)
    with pytest.raises(PlannerError, match="population"):
        build_catchments(make_assets([(0, 0)]), make_zones([(0, 0)]).drop(columns="population"))


def test_catchments_follow_the_audience_model() -> None:
    audience, reach = AudienceParams(), ReachParams()
    assert reach.catchment_radius_m == audience.walking_radius_m
    assert reach.catchment_decay_m == audience.distance_decay_m
    # A Poisson-like shape reaches more people with the same impacts than a skewed one.
    assets, zones = make_assets([(0, 0)]), make_zones([(0, 0)], population=[1000.0])
    even = replace(reach, nbd_shape=50.0)
    skewed = replace(reach, nbd_shape=0.3)
    reached = [
        reach_frequency(build_catchments(assets, zones, params=p), ["A0"], [2000.0], params=p).reach
        for p in (skewed, even)
    ]
    assert reached[0] < reached[1]
