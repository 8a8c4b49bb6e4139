"""End-to-end planning: the `Plan` tables, faces, delivery, revenue and the options of `plan`."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from conftest import _campaign, _plan_assets, _plan_points

from planner.errors import CampaignError, PlannerError
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.plan import PLACEMENT_COLUMNS, plan
from planner.policy.audit import audit
from planner.policy.eligibility import eligibility
from planner.policy.load import ExclusionRule, Policy
from planner.value.concession import ConcessionTerms
from planner.value.rates import load_rate_card

FAST = SolverSettings(time_limit=2)
OPEN = Policy("open")
ROW = [(0, 0), (300, 0), (600, 0)]


def test_placements_table() -> None:
    assets = _plan_assets(ROW[:2], price=[10, 20], impacts=[100, 300], faces=[2, 1])
    camps = [_campaign("C1", max_faces=1), _campaign("C2", max_faces=1)]
    # Each campaign takes one face: one gets A1 (20), the other a face of A0 (10).
    result = plan(assets, camps, OPEN, solver=FAST)
    assert result.ok
    table = result.placements
    assert list(table.columns) == [*PLACEMENT_COLUMNS, "geometry"]
    assert table.crs == "EPSG:4326"
    assert len(table) == 2
    assert sorted(table["asset_id"]) == ["A0", "A1"]
    assert sorted(table["price"]) == [10.0, 20.0]
    assert sorted(table["impacts"]) == [200, 600]  # two weeks of weekly impacts
    assert set(table["impacts_source"]) == {"modelled"}
    a1 = table.set_index("asset_id").loc["A1"]
    assert a1.geometry.equals_exact(assets.geometry.iloc[1], 1e-12)
    assert result.sales == 30.0


def test_faces_are_numbered_within_each_asset() -> None:
    assets = _plan_assets(ROW[:1], faces=2)
    camps = [_campaign("C1", min_faces=1), _campaign("C2", min_faces=1)]
    table = plan(assets, camps, OPEN, solver=FAST).placements
    assert table["face"].tolist() == [1, 2]
    assert table["campaign_id"].tolist() == ["C1", "C2"]


def test_digital_slots_share_a_face() -> None:
    assets = _plan_assets(ROW[:1], digital=True, slots=3)
    camps = [_campaign(f"C{i}", min_faces=1) for i in range(3)]
    table = plan(assets, camps, OPEN, solver=FAST).placements
    assert table["face"].tolist() == [1, 1, 1]


def test_delivery_per_campaign() -> None:
    assets = _plan_assets(ROW, price=[10, 20, 30], impacts=[1, 2, 3])
    zones = _plan_points(ROW, zone_id=["Z0", "Z1", "Z2"], population=[100.0, 200.0, 400.0])
    camps = [
        _campaign("C1", cycles=(1, 2), max_faces=2, budget=100, priority=3),
        _campaign("C2", cycles=(3,), max_faces=1),
    ]
    walk = PlanSettings(walk_m=100)
    result = plan(assets, camps, OPEN, zones=zones, settings=walk, solver=FAST)
    rows = result.campaigns.set_index("campaign_id")
    # C1 books A1 and A2 in both cycles (100 of budget), C2 the dearest face in cycle 3.
    assert rows.loc["C1", "faces_booked"] == 4
    assert rows.loc["C1", "min_faces_per_cycle"] == rows.loc["C1", "max_faces_per_cycle"] == 2
    assert rows.loc["C1", "spend"] == 100.0
    assert rows.loc["C1", "budget_used"] == 1.0
    assert rows.loc["C1", "impacts"] == 2 * (4 + 6)
    assert rows.loc["C1", "reach"] == 600  # population once, whatever the priority
    assert rows.loc["C2", "faces_booked"] == 1
    assert rows.loc["C2", "spend"] == 30.0
    assert rows.loc["C2", "reach"] == 400
    assert result.reach == 1000
    assert result.impacts == int(result.placements["impacts"].sum())


def test_summary_is_one_row() -> None:
    result = plan(_plan_assets(ROW, price=10), [_campaign()], OPEN, solver=FAST)
    summary = result.summary()
    assert len(summary) == 1
    row = summary.iloc[0]
    assert row["status"] == "OPTIMAL"
    assert row["objective"] == "revenue"
    assert row["objective_value"] == 3000  # pence
    assert row["gap"] == 0.0
    assert row["placements"] == 3
    assert row["sales"] == 30.0
    assert row["council_revenue"] == pytest.approx(30 * 0.85)
    assert row["currency"] == "GBP"
    assert row["explanation"] == ""


@pytest.mark.parametrize(
    ("terms", "revenue"),
    [
        (None, 1000 * 0.85),
        (ConcessionTerms.flat(0.5), 1000 * 0.85 * 0.5),
        # 50% of the first 500 of net sales, 70% of the other 350.
        (
            ConcessionTerms("t", "GBP", ((0.0, 0.5), (500.0, 0.7)), minimum_annual_guarantee=1e6),
            250 + 0.7 * 350,
        ),
    ],
)
def test_council_revenue_follows_the_terms(terms, revenue: float) -> None:
    assets = _plan_assets(ROW[:2], price=500)
    result = plan(assets, [_campaign()], OPEN, terms=terms, solver=FAST)
    assert result.sales == 1000.0
    assert result.council_revenue == pytest.approx(revenue)


def test_the_revenue_target_overrides_the_objective() -> None:
    # Impacts alone pick A1; a target of 50 can only be met with A0.
    assets = _plan_assets(ROW[:2], price=[100, 1], impacts=[1, 100])
    camps = [_campaign(max_faces=1)]
    free = plan(assets, camps, OPEN, objective="impacts", solver=FAST)
    assert free.placements["asset_id"].tolist() == ["A1"]
    settings = PlanSettings(revenue_target=50)
    no_commission = replace(load_rate_card("uk-default"), agency_commission=0.0)
    bound = plan(
        assets,
        camps,
        OPEN,
        objective="impacts",
        settings=settings,
        solver=FAST,
        rate_card=no_commission,
    )
    assert bound.placements["asset_id"].tolist() == ["A0"]
    assert bound.council_revenue >= 50


def test_priority_weights_impacts() -> None:
    assets = _plan_assets(ROW[:1])
    camps = [_campaign("LOW"), _campaign("HIGH", priority=3)]
    result = plan(assets, camps, OPEN, objective="impacts", solver=FAST)
    assert result.placements["campaign_id"].tolist() == ["HIGH"]
    assert result.objective == 600  # 200 impacts x priority 3


def test_campaigns_may_be_a_table() -> None:
    table = pd.DataFrame(
        [
            {"campaign_id": "T1", "advertiser": "Acme", "category": "general", "budget": 100,
             "cycles": "1-2", "min_faces": 1, "max_faces": 2},
        ]
    )  # fmt: skip
    result = plan(_plan_assets(ROW), table, OPEN, solver=FAST)
    assert result.ok
    assert sorted(set(result.placements["cycle"])) == [1, 2]
    with pytest.raises(CampaignError, match="row 2, column 'budget'"):
        plan(_plan_assets(ROW), table.assign(budget=-1), OPEN, solver=FAST)


def test_values_replace_the_asset_prices() -> None:
    assets = _plan_assets(ROW[:2], price=[10, 20], impacts=[1, 1])
    values = pd.DataFrame(
        {
            "asset_id": ["A1", "A0"],
            "price_per_cycle": [5.0, 50.0],
            "weekly_impacts": [30.0, 20.0],
            "impacts_source": ["measured", "modelled"],
            "currency": ["EUR", "EUR"],
        }
    )
    camps = [_campaign(max_faces=1)]
    dear = plan(assets, camps, OPEN, values=values, solver=FAST)
    row = dear.placements.iloc[0]
    assert (row["asset_id"], row["price"], row["impacts"]) == ("A0", 50.0, 40)
    assert row["impacts_source"] == "modelled"
    assert dear.currency == "EUR"
    seen = plan(assets, camps, OPEN, values=values, objective="impacts", solver=FAST)
    row = seen.placements.iloc[0]
    assert (row["asset_id"], row["price"], row["impacts"]) == ("A1", 5.0, 60)
    assert row["impacts_source"] == "measured"


def test_a_missing_price_is_an_error() -> None:
    assets = _plan_assets(ROW[:2], price=[10.0, float("nan")])
    with pytest.raises(PlannerError, match=r"1 asset\(s\) have no price \(A1"):
        plan(assets, [_campaign()], OPEN, solver=FAST)


def test_reach_needs_zones() -> None:
    with pytest.raises(PlannerError, match="demand zones"):
        plan(_plan_assets(ROW), [_campaign()], OPEN, objective="reach", solver=FAST)


def test_an_unknown_objective_is_an_error() -> None:
    with pytest.raises(PlannerError, match="not understood"):
        plan(_plan_assets(ROW), [_campaign()], OPEN, objective="profit", solver=FAST)


def test_a_precomputed_eligibility_gives_the_same_plan() -> None:
    policy = Policy("e", rules=(ExclusionRule("schools-100m", ("hfss",), ("school",), 100),))
    sites = _plan_points([(0, 40)], site_id=["S1"], kind=["school"], name=["St Mary's"])
    assets = _plan_assets(ROW, price=[90, 20, 10])
    camps = [_campaign("SNACK", category="hfss", max_faces=2)]
    table = eligibility(assets, sites, policy)
    direct = plan(assets, camps, policy, sites=sites, solver=FAST)
    given = plan(assets, camps, policy, eligibility=table, solver=FAST)
    assert direct.placements.to_csv() == given.placements.to_csv()
    assert "A0" not in set(direct.placements["asset_id"])
    assert audit(direct.placements, assets, sites, policy).empty


def test_progress_is_reported() -> None:
    seen: list[float] = []
    plan(_plan_assets(ROW), [_campaign()], OPEN, solver=FAST, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
