"""End-to-end planning: the `Plan` tables, faces, delivery, revenue and the options of `plan`."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import _campaign, _plan_instance, make_assets, make_sites, make_zones

from planner.errors import CampaignError, PlannerError
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.plan import PLACEMENT_COLUMNS, plan, selection_kpis
from planner.policy.audit import audit
from planner.policy.eligibility import eligibility
from planner.policy.load import BanRule, ExclusionRule, Policy
from planner.value.concession import ConcessionTerms
from planner.value.rates import load_rate_card

FAST = SolverSettings(time_limit=2)
OPEN = Policy("open")
ROW = [(0, 0), (300, 0), (600, 0)]


def test_placements_table() -> None:
    assets = make_assets(ROW[:2], price=[10, 20], impacts=[100, 300], faces=[2, 1])
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
    assets = make_assets(ROW[:1], faces=2)
    camps = [_campaign("C1", min_faces=1), _campaign("C2", min_faces=1)]
    table = plan(assets, camps, OPEN, solver=FAST).placements
    assert table["face"].tolist() == [1, 2]
    assert table["campaign_id"].tolist() == ["C1", "C2"]


def test_digital_slots_share_a_face() -> None:
    assets = make_assets(ROW[:1], digital=True, slots=3)
    camps = [_campaign(f"C{i}", min_faces=1) for i in range(3)]
    table = plan(assets, camps, OPEN, solver=FAST).placements
    assert table["face"].tolist() == [1, 1, 1]


def test_delivery_per_campaign() -> None:
    assets = make_assets(ROW, price=[10, 20, 30], impacts=[1, 2, 3])
    zones = make_zones(ROW, zone_id=["Z0", "Z1", "Z2"], population=[100.0, 200.0, 400.0])
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
    assert rows.loc["C2", "faces_booked"] == 1
    assert rows.loc["C2", "spend"] == 30.0
    assert result.impacts == int(result.placements["impacts"].sum())
    # Modelled reach and frequency: people, never more than live in the zones.
    assert (rows["universe"] == 700).all()
    assert (rows["reach"] <= rows["universe"]).all()
    assert (rows["reach"] > 0).all()
    assert (rows["avg_frequency"] >= 1).all()
    assert (rows["universe_impacts"] <= rows["impacts"]).all()
    assert rows["grps"].to_numpy() == pytest.approx(100 * rows["universe_impacts"] / 700)
    assert rows["grps"].to_numpy() == pytest.approx(rows["cover_pct"] * rows["avg_frequency"])
    assert set(rows["reach_estimate"]) == {"modelled"}
    # The plan's reach is de-duplicated: at least each campaign's, at most their sum.
    assert result.universe == 700
    assert rows["reach"].max() - 1 <= result.reach <= rows["reach"].sum() + 1
    assert result.grps == pytest.approx(100 * rows["universe_impacts"].sum() / 700)
    summary = result.summary().iloc[0]
    assert summary["reach"] == result.reach
    assert summary["reach_1plus"] >= summary["reach_2plus"] >= summary["reach_10plus"]


def test_reach_needs_zones_and_is_never_a_sum_over_campaigns() -> None:
    assets = make_assets(ROW, price=10, impacts=[1000, 2000, 3000], faces=2)
    zones = make_zones(ROW, population=[100.0, 200.0, 400.0])
    # Two campaigns on the same faces reach the same people: the plan reach is not doubled.
    camps = [_campaign("C1", min_faces=3), _campaign("C2", min_faces=3)]
    result = plan(assets, camps, OPEN, zones=zones, solver=FAST)
    rows = result.campaigns.set_index("campaign_id")
    assert rows.loc["C1", "reach"] == pytest.approx(rows.loc["C2", "reach"])
    assert result.reach < rows["reach"].sum()
    assert result.reach <= result.universe == 700
    without = plan(assets, camps, OPEN, solver=FAST)
    assert without.reach == 0 and without.universe == 0
    assert math.isnan(without.grps) and math.isnan(without.cover_pct)


def test_summary_is_one_row() -> None:
    result = plan(make_assets(ROW, price=10), [_campaign()], OPEN, solver=FAST)
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
    assets = make_assets(ROW[:2], price=500)
    result = plan(assets, [_campaign()], OPEN, terms=terms, solver=FAST)
    assert result.sales == 1000.0
    assert result.council_revenue == pytest.approx(revenue)


def test_the_revenue_target_overrides_the_objective() -> None:
    # Impacts alone pick A1; a target of 50 can only be met with A0.
    assets = make_assets(ROW[:2], price=[100, 1], impacts=[1, 100])
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
    assets = make_assets(ROW[:1])
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
    result = plan(make_assets(ROW), table, OPEN, solver=FAST)
    assert result.ok
    assert sorted(set(result.placements["cycle"])) == [1, 2]
    with pytest.raises(CampaignError, match="row 2, column 'budget'"):
        plan(make_assets(ROW), table.assign(budget=-1), OPEN, solver=FAST)


def test_values_replace_the_asset_prices() -> None:
    assets = make_assets(ROW[:2], price=[10, 20], impacts=[1, 1])
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
    assets = make_assets(ROW[:2], price=[10.0, float("nan")])
    with pytest.raises(PlannerError, match=r"1 asset\(s\) have no price \(A1"):
        plan(assets, [_campaign()], OPEN, solver=FAST)


def test_reach_needs_zones() -> None:
    with pytest.raises(PlannerError, match="demand zones"):
        plan(make_assets(ROW), [_campaign()], OPEN, objective="reach", solver=FAST)


def test_an_unknown_objective_is_an_error() -> None:
    with pytest.raises(PlannerError, match="not understood"):
        plan(make_assets(ROW), [_campaign()], OPEN, objective="profit", solver=FAST)


def test_a_precomputed_eligibility_gives_the_same_plan() -> None:
    policy = Policy("e", rules=(ExclusionRule("schools-100m", ("hfss",), ("school",), 100),))
    sites = make_sites([(0, 40)], site_id=["S1"], kind=["school"], name=["St Mary's"])
    assets = make_assets(ROW, price=[90, 20, 10])
    camps = [_campaign("SNACK", category="hfss", max_faces=2)]
    table = eligibility(assets, sites, policy)
    direct = plan(assets, camps, policy, sites=sites, solver=FAST)
    given = plan(assets, camps, policy, eligibility=table, solver=FAST)
    assert direct.placements.to_csv() == given.placements.to_csv()
    assert "A0" not in set(direct.placements["asset_id"])
    assert audit(direct.placements, assets, sites, policy).empty


def test_progress_is_reported() -> None:
    seen: list[float] = []
    plan(make_assets(ROW), [_campaign()], OPEN, solver=FAST, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


# --- fill rate, audit log and the KPIs of any selection ----------------------------------


def test_fill_rate_is_booked_over_offered_face_cycles() -> None:
    # Offer: A0's 2 faces + A1's 3 digital slots (A2 is unavailable) in cycles 1, 2 and 3.
    assets = make_assets(
        ROW, faces=[2, 1, 4], digital=[False, True, False], slots=3,
        status=["available", "available", "unavailable"],
    )  # fmt: skip
    camps = [
        _campaign("C1", cycles=(1, 2), min_faces=1, max_faces=1),
        _campaign("C2", cycles=(2, 3), min_faces=1, max_faces=1),
    ]
    result = plan(assets, camps, OPEN, solver=FAST)
    assert result.units_on_offer == (2 + 3) * 3
    assert len(result.placements) == 4
    assert result.fill_rate == pytest.approx(4 / 15)
    assert math.isnan(replace(result, units_on_offer=0).fill_rate)  # offer not recorded


def test_audit_log_lists_every_rule_then_every_violation() -> None:
    policy = Policy(
        "log",
        rules=(
            BanRule("no-alcohol", ("alcohol",)),
            ExclusionRule("schools-100m", ("hfss",), ("school",), 100),
        ),
    )
    sites = make_sites([(0, 40)])
    assets = make_assets(ROW)
    result = plan(assets, [_campaign("C1", min_faces=2, max_faces=2)], policy, sites=sites,
                  solver=FAST)  # fmt: skip
    clean = result.audit_log(policy, audit(result.placements, assets, sites, policy))
    assert clean.to_dict("records") == [
        {"rule_id": "no-alcohol", "rule_type": "ban", "result": "pass", "violations": 0,
         "placements_checked": 2},
        {"rule_id": "schools-100m", "rule_type": "exclusion", "result": "pass",
         "violations": 0, "placements_checked": 2},
    ]  # fmt: skip

    booked = result.placements.assign(category="alcohol")
    log = result.audit_log(policy, audit(booked, assets, sites, policy))
    assert log["result"].tolist() == ["fail", "pass", "violation", "violation"]
    assert log["violations"].iloc[:2].tolist() == [2, 0]
    assert sorted(log["asset_id"].iloc[2:]) == sorted(result.placements["asset_id"])
    assert set(log["rule_id"].iloc[2:]) == {"no-alcohol"}


def test_audit_log_needs_the_audit_of_a_plan_with_placements() -> None:
    policy = Policy("ban", rules=(BanRule("no-alcohol", ("alcohol",)),))
    result = plan(make_assets(ROW), [_campaign("C1", min_faces=1)], policy, solver=FAST)
    with pytest.raises(PlannerError, match=r"planner\.audit\(plan\.placements"):
        result.audit_log(policy, None)
    empty = replace(result, placements=result.placements.iloc[:0])
    assert empty.audit_log(policy, None).to_dict("records") == [
        {"rule_id": "no-alcohol", "rule_type": "ban", "result": "pass", "violations": 0,
         "placements_checked": 0}
    ]  # fmt: skip


def test_selection_kpis_measure_any_selection_as_a_plan_does() -> None:
    assets = make_assets(ROW, price=[10, 20, 30], impacts=[1, 2, 3])
    # Z0 is within the 400 m walk of A0 and A1 only, Z1 of A1 and A2 only.
    zones = make_zones([(0, 0), (600, 0)], population=[1000, 500])
    inst = _plan_instance(assets, [_campaign("C1", cycles=(1,))], zones=zones)
    ends = np.flatnonzero(np.isin(inst.cand_asset, [0, 2]))
    assert selection_kpis(inst, ends) == {
        "placements": 2, "sales": 40.0, "impacts": (1 + 3) * 2, "catchment": 1500,
    }  # fmt: skip
    middle = np.flatnonzero(inst.cand_asset == 1)
    assert selection_kpis(inst, middle) == {
        "placements": 1, "sales": 20.0, "impacts": 4, "catchment": 1500,
    }  # fmt: skip
    empty = {"placements": 0, "sales": 0.0, "impacts": 0, "catchment": 0}
    assert selection_kpis(inst, []) == empty


@pytest.mark.parametrize("suffix", [".gpkg", ".xlsx"])
def test_plan_files_and_summary_carry_modelled_reach_and_frequency(tmp_path, suffix, capsys):
    import geopandas as gpd

    from planner.cli.plan import _report_plan

    assets = make_assets(ROW, price=10, impacts=[1000, 2000, 3000], faces=2)
    zones = make_zones(ROW, population=[100.0, 200.0, 400.0])
    result = plan(assets, [_campaign("C1", min_faces=2)], OPEN, zones=zones, solver=FAST)
    out = tmp_path / f"plan{suffix}"
    assert _report_plan(result, str(out)) == 0
    printed = capsys.readouterr().out
    assert f"of {result.universe:,} people" in printed and "GRPs" in printed
    assert "C1: reach" in printed
    if suffix == ".gpkg":
        delivery = gpd.read_file(out, layer="campaigns")
        summary = gpd.read_file(out, layer="summary")
    else:
        delivery = pd.read_excel(out, sheet_name="campaigns")
        summary = pd.read_excel(out, sheet_name="summary")
    for column in ("universe", "reach", "cover_pct", "avg_frequency", "grps", "reach_3plus"):
        assert column in delivery.columns
    assert set(delivery["reach_estimate"]) == {"modelled"}
    assert summary.loc[0, "reach"] == result.reach
    assert summary.loc[0, "reach_estimate"] == "modelled"


def test_reach_curve_of_a_plan_rises_with_faces() -> None:
    from planner.plan import plan_reach_curve

    assets = make_assets(4, price=10, impacts=[1000, 2000, 3000, 4000])
    zones = make_zones([(0, 0), (300, 0)], population=[500.0, 800.0])
    camps = [_campaign("C1", min_faces=4, cycles=(1, 2))]
    result = plan(assets, camps, OPEN, zones=zones, solver=FAST)
    curve = plan_reach_curve(result, assets, zones, campaign_id="C1", campaigns=camps)
    assert curve["faces"].tolist() == [1, 2, 3, 4]
    assert curve["reach"].is_monotonic_increasing
    assert curve["reach"].iloc[-1] == pytest.approx(result.campaigns["reach"].iloc[0])
    with pytest.raises(PlannerError, match="C9"):
        plan_reach_curve(result, assets, zones, campaign_id="C9")
