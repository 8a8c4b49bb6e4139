"""Valuation: hand-computed annual values and council income, policy cost, real London data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import make_assets

from planner.errors import PlannerError, PricingError
from planner.policy.load import BanRule, ExclusionRule, Policy
from planner.value.concession import ConcessionTerms, council_income, load_terms
from planner.value.rates import load_rate_card
from planner.value.valuation import (
    DEFAULT_CATEGORY_SHARE,
    ValuationAssumptions,
    assumptions_table,
    check_currency,
    policy_value_at_risk,
    portfolio_summary,
    value_assets,
)

FLAT = ConcessionTerms.flat(0.5)


def asset_rows(rows, crs="EPSG:27700") -> gpd.GeoDataFrame:
    """`make_assets` 200 m apart with unmeasured impacts, one row per
    (asset_id, format, faces, digital, slots, price_per_cycle) tuple."""
    names = ("asset_id", "format", "faces", "digital", "slots", "price")
    columns = {
        name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)
    }
    points = [(200 * i, 0) for i in range(len(rows))]
    return make_assets(points, impacts=np.nan, crs=crs, **columns)


def eligibility(rows) -> pd.DataFrame:
    """rows: (asset_id, category, allowed, rule_ids)."""
    table = pd.DataFrame(rows, columns=["asset_id", "category", "allowed", "rule_ids"])
    return table.assign(reasons=np.where(table["allowed"], "", "blocked"))


def test_classic_and_digital_values_hand_computed():
    assets = asset_rows([("s", "6-sheet", 2, False, 6, 100.0), ("d", "d48", 1, True, 6, 1000.0)])
    values = value_assets(assets, terms=FLAT)
    s, d = values.iloc[0], values.iloc[1]
    assert s["annual_value_full"] == pytest.approx(2 * 100 * 26)
    assert d["annual_value_full"] == pytest.approx(1 * 6 * 1000 * 26)
    assert s["annual_value_central"] == pytest.approx(5200 * 0.6)
    assert (s["annual_value_low"], s["annual_value_high"]) == pytest.approx(
        (5200 * 0.4, 5200 * 0.8)
    )
    assert s["expected_sales_central"] == pytest.approx(5200 * 0.6 * 0.85)
    assert s["council_income_central"] == pytest.approx(5200 * 0.6 * 0.85 * 0.5)
    assert d["council_income_high"] == pytest.approx(156_000 * 0.8 * 0.85 * 0.5)
    assert values["price_source"].tolist() == ["asset file", "asset file"]


def test_every_output_is_labelled():
    values = value_assets(asset_rows([("s", "6-sheet", 1, False, 6, np.nan)]))
    assert values.crs.to_epsg() == 4326
    row = values.iloc[0]
    assert (row["estimate"], row["impacts_source"], row["price_source"]) == (
        "modelled",
        "modelled",
        "rate card",
    )
    assert row["currency"] == "GBP"
    assert "modelled estimate" in values.attrs["note"]
    for name in (
        "asset_id",
        "faces",
        "digital",
        "slots",
        "weekly_impacts",
        "price_per_cycle",
        "annual_value_low",
        "expected_sales_central",
        "council_income_high",
    ):
        assert name in values.columns


def test_guarantee_is_apportioned_by_expected_sales():
    terms = ConcessionTerms.flat(0.5, minimum_annual_guarantee=50_000)
    assets = asset_rows(
        [("a", "6-sheet", 1, False, 6, 100.0), ("b", "6-sheet", 3, False, 6, 100.0)]
    )
    values = value_assets(assets, terms=terms)
    income = values["council_income_central"].to_numpy()
    assert income.sum() == pytest.approx(50_000)  # the guarantee binds
    assert income[1] == pytest.approx(3 * income[0])
    summary = portfolio_summary(values, terms)
    assert summary["guarantee_binding_central"] is True
    assert summary["council_income_central"] == pytest.approx(50_000)
    assert summary["faces"] == 4


def test_portfolio_income_uses_bands_on_total_sales():
    assets = asset_rows([("d1", "d48", 1, True, 6, 1000.0), ("d2", "d48", 1, True, 6, 1000.0)])
    assets = assets.assign(asset_type="billboard")  # council-owned: not a shelter screen
    values = value_assets(assets)  # uk-default terms: 60/70/75% bands
    summary = portfolio_summary(values, "uk-default")
    total_sales = 2 * 156_000 * 0.6 * 0.85
    assert summary["expected_sales_central"] == pytest.approx(total_sales)
    expected = council_income(total_sales, load_terms("uk-default"))
    assert summary["council_income_central"] == pytest.approx(expected)
    assert values["council_income_central"].sum() == pytest.approx(expected)
    assert summary["units"] == 12


def test_cpm_priced_modelled_assets_get_an_audience_range():
    assets = asset_rows([("x", "other", 1, False, 6, np.nan)])
    row = value_assets(assets, terms=FLAT).iloc[0]
    assert row["price_source"] == "cpm"
    full = row["annual_value_full"]
    assert row["annual_value_low"] == pytest.approx(full * 0.4 * 0.7)
    assert row["annual_value_high"] == pytest.approx(full * 0.8 * 1.3)


def test_currency_mismatch_is_an_error():
    with pytest.raises(PricingError, match=r"GBP.*EUR"):
        value_assets(asset_rows([("s", "6-sheet", 1, False, 6, 1.0)]), terms="demo")


def test_custom_assumptions_change_sell_through():
    row = value_assets(
        asset_rows([("s", "6-sheet", 1, False, 6, 100.0)]),
        terms=FLAT,
        assumptions=ValuationAssumptions(sell_through_central=0.5),
    ).iloc[0]
    assert row["annual_value_central"] == pytest.approx(2600 * 0.5)
    with pytest.raises(ValueError, match="sell-through"):
        ValuationAssumptions(sell_through_low=0.9)


def two_assets_with_policy():
    assets = asset_rows(
        [("a", "6-sheet", 1, False, 6, 100.0), ("b", "6-sheet", 1, False, 6, 300.0)]
    )
    elig = eligibility(
        [
            ("a", "hfss", False, "schools"),
            ("a", "alcohol", False, "schools;no-alcohol"),
            ("a", "general", True, ""),
            ("b", "hfss", False, "schools"),
            ("b", "alcohol", True, ""),
        ]
    )
    return assets, elig


def test_value_out_of_reach_per_category_rule_and_total():
    assets, elig = two_assets_with_policy()
    values = value_assets(assets, terms=FLAT, eligibility=elig)
    va, vb = values["annual_value_central"].tolist()  # 1560 and 4680
    risk = policy_value_at_risk(values, elig, None).set_index(["level", "category", "rule_id"])
    hfss, alcohol = DEFAULT_CATEGORY_SHARE["hfss"], DEFAULT_CATEGORY_SHARE["alcohol"]
    col = "value_out_of_reach_central"
    assert risk.loc[("category", "hfss", ""), col] == pytest.approx((va + vb) * hfss)
    assert risk.loc[("category", "alcohol", ""), col] == pytest.approx(va * alcohol)
    assert risk.loc[("rule", "alcohol;hfss", "schools"), col] == pytest.approx(
        va * (hfss + alcohol) + vb * hfss
    )
    assert risk.loc[("rule", "alcohol", "no-alcohol"), col] == pytest.approx(va * alcohol)
    total = risk.loc[("total", "all", "")]
    assert total[col] == pytest.approx(va * (hfss + alcohol) + vb * hfss)
    assert total["assets"] == 2
    # Without terms, council income out of reach is apportioned: flat 50% of net sales.
    assert total["council_income_out_of_reach_central"] == pytest.approx(total[col] * 0.85 * 0.5)
    assert values["demand_share_out_of_reach"].tolist() == pytest.approx([hfss + alcohol, hfss])
    assert set(risk["estimate"]) == {"modelled"}


def test_binding_guarantee_means_no_council_income_out_of_reach():
    assets, elig = two_assets_with_policy()
    terms = ConcessionTerms.flat(0.5, minimum_annual_guarantee=1_000_000)
    values = value_assets(assets, terms=terms)
    risk = policy_value_at_risk(values, elig, None, terms=terms)
    assert (risk["council_income_out_of_reach_central"] == 0).all()
    assert (risk["value_out_of_reach_central"] > 0).all()


def test_rule_names_come_from_the_policy():
    assets, elig = two_assets_with_policy()
    policy = Policy(
        "p",
        rules=(
            ExclusionRule("schools", ("hfss", "alcohol"), ("school",), 400),
            BanRule("no-alcohol", ("alcohol",)),
        ),
    )
    risk = policy_value_at_risk(value_assets(assets, terms=FLAT), elig, policy)
    rules = risk[risk["level"] == "rule"].set_index("rule_id")["rule"]
    assert rules["schools"] == "exclusion: hfss, alcohol within 400 m of school"
    assert rules["no-alcohol"] == "ban: alcohol"


def test_category_shares_and_assumptions_table():
    assert sum(DEFAULT_CATEGORY_SHARE.values()) == pytest.approx(1.0)
    table = assumptions_table(rate_card="uk-default", terms="uk-default")
    assert list(table.columns) == ["group", "name", "value", "unit", "description"]
    names = set(table["name"])
    assert {
        "sell_through_central",
        "cycles_per_year",
        "walking_radius_m",
        "hfss",
        "agency_commission",
        "minimum_annual_guarantee",
    } <= names
    assert (table["description"].str.len() > 0).all()


# --- real London data ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def greenwich(shared_data):
    folder = shared_data / "london_lsoa_population"
    stops = pd.read_csv(shared_data / "london_tfl_bus_stops" / "bus-stops.csv")
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Location_Northing"] > 0)]
    points = gpd.GeoDataFrame(
        {"asset_id": stops["Stop_Code_LBSL"].astype(str), "name": stops["Stop_Name"]},
        geometry=gpd.points_from_xy(stops["Location_Easting"], stops["Location_Northing"]),
        crs="EPSG:27700",
    )
    boroughs = gpd.read_file(folder / "raw" / "london-2021-lad22-gen20.shp").to_crs(27700)
    borough = boroughs.loc[boroughs["LAD22NM"] == "Greenwich", ["geometry"]]
    inside = gpd.sjoin(points, borough, predicate="within").drop(columns="index_right")
    assets = inside.assign(
        asset_type="bus_stop",
        format="6-sheet",
        faces=2,
        digital=False,
        slots=6,
        weekly_impacts=np.nan,
        price_per_cycle=np.nan,
    )
    zones = gpd.read_file(folder / "london_lsoa2011_pop_mid2020.gpkg")
    zones = zones.rename(columns={"Persons_All-Ages": "population", "LSOA11CD": "zone_id"})
    transit = points[["geometry"]].assign(kind="bus_stop")
    return assets.to_crs(4326).reset_index(drop=True), zones, transit


@pytest.mark.shared_data
def test_greenwich_bus_stops_valued_end_to_end(greenwich):
    assets, zones, transit = greenwich
    values = value_assets(
        assets, zones=zones[["zone_id", "population", "geometry"]], transit=transit
    )
    assert len(values) == 721
    money = [
        c
        for c in values.columns
        if c.startswith(("annual_value", "expected_sales", "council_income"))
    ]
    numbers = values[["weekly_impacts", "price_per_cycle", *money]]
    assert numbers.notna().all().all()
    assert (numbers > 0).all().all()
    assert set(values["impacts_source"]) == {"modelled"}
    assert set(values["estimate"]) == {"modelled"}
    # Prices follow the audience (CPT) above the 6-sheet rate, which is the floor.
    assert set(values["price_source"]) == {"rate card", "cpt"}
    assert values["price_per_cycle"].min() == pytest.approx(92.0)
    cpt = values[values["price_source"] == "cpt"]
    assert cpt["price_per_cycle"].to_numpy() == pytest.approx(
        4.5 * cpt["weekly_impacts"].to_numpy() * 2 / 1000
    )
    # Denser places get more modelled impacts: the spread is real, not a constant.
    assert values["weekly_impacts"].max() > 2 * values["weekly_impacts"].min()
    assert values["annual_value_full"].nunique() > 100
    flat = value_assets(
        assets, zones=zones[["zone_id", "population", "geometry"]], transit=transit,
        pricing="rate card",
    )  # fmt: skip
    assert flat["annual_value_full"].nunique() == 1
    summary = portfolio_summary(values, "uk-default")
    assert (
        summary["annual_value_low"]
        < summary["annual_value_central"]
        < summary["annual_value_high"]
        < summary["annual_value_full"]
    )


def test_cpt_prices_follow_the_audience_and_flat_prices_do_not():
    assets = asset_rows([("quiet", "6-sheet", 1, False, 6, np.nan)] * 2)
    assets = assets.assign(asset_id=["quiet", "busy"], weekly_impacts=[5_000.0, 40_000.0])
    values = value_assets(assets, terms=FLAT).set_index("asset_id")
    # Busy: 4.5 per 1,000 x 80,000 impacts a cycle = 360 > the 92 floor; quiet stays at 92.
    assert values.loc["busy", "price_per_cycle"] == pytest.approx(360.0)
    assert values.loc["quiet", "price_per_cycle"] == pytest.approx(92.0)
    assert values.loc["busy", "price_source"] == "cpt"
    assert values.loc["busy", "annual_value_central"] > values.loc["quiet", "annual_value_central"]
    # Measured audiences are not uncertain: the range comes from sell-through only.
    assert values.loc["busy", "annual_value_high"] == pytest.approx(360 * 26 * 0.8)
    flat = value_assets(assets, terms=FLAT, pricing="rate card").set_index("asset_id")
    assert flat["price_per_cycle"].tolist() == [92.0, 92.0]
    with pytest.raises(PricingError, match="pricing must be"):
        value_assets(assets, terms=FLAT, pricing="auction")


def test_assets_without_faces_or_digital_columns_get_defaults():
    assets = asset_rows([("s", "d48", 1, True, 6, 10.0)]).drop(columns=["faces", "digital"])
    row = value_assets(assets, terms=FLAT).iloc[0]
    # d48 is recognised as digital from its format; faces default to 1.
    assert (row["faces"], bool(row["digital"]), row["slots"]) == (1, True, 6)
    assert row["annual_value_full"] == pytest.approx(6 * 10.0 * 26)


def test_cli_value_writes_the_table_and_prints_totals(tmp_path, capsys):
    from planner.cli import main

    assets = asset_rows(
        [("s1", "6-sheet", 2, False, 6, np.nan), ("d1", "d48", 1, True, 6, np.nan)]
    ).to_crs(4326)
    assets = assets.assign(asset_type=["bus_shelter", "billboard"])
    assets.to_file(tmp_path / "assets.gpkg", layer="assets")
    out = tmp_path / "values.gpkg"
    code = main(["value", "--assets", str(tmp_path / "assets.gpkg"), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "council income" in printed and "Modelled estimates, GBP" in printed
    written = gpd.read_file(out, layer="values")
    assert written["asset_id"].tolist() == ["s1", "d1"]
    expected = 2 * 92 * 26 + 6 * 1000 * 26
    assert written["annual_value_full"].sum() == pytest.approx(expected)
    assert set(written["estimate"]) == {"modelled"}
    assert len(gpd.read_file(out, layer="assumptions")) > 20


def test_cli_value_reports_a_bad_rate_card_plainly(tmp_path, capsys):
    from planner.cli import main

    assets = asset_rows([("s1", "6-sheet", 1, False, 6, np.nan)])
    assets.assign(asset_type="bus_shelter").to_file(tmp_path / "a.gpkg")
    code = main(
        [
            "value",
            "--assets",
            str(tmp_path / "a.gpkg"),
            "--rates",
            "nope",
            "--out",
            str(tmp_path / "v.csv"),
        ]
    )
    assert code == 2
    assert "rates file" in capsys.readouterr().err
    assert not (tmp_path / "v.csv").exists()


def test_check_currency_loads_both_and_names_both_when_they_differ():
    card, terms = check_currency("demo", {"name": "Mine", "currency": "EUR", "revenue_share": 0.4})
    assert (card.name, card.currency, terms.name, terms.bands) == (
        load_rate_card("demo").name, "EUR", "Mine", ((0.0, 0.4),),
    )  # fmt: skip
    uk = load_rate_card("uk-default")
    with pytest.raises(PricingError) as caught:
        check_currency(uk, "demo")
    assert str(caught.value) == (
        f"The rate card '{uk.name}' is in GBP but the concession terms "
        f"'{load_terms('demo').name}' are in EUR; choose a rate card and terms in the "
        "same currency (for these terms: rate_card='demo')"
    )


def test_digital_shelter_screens_are_operator_funded_by_default():
    assets = asset_rows(
        [
            ("screen", "d6", 2, True, 6, np.nan),
            ("poster", "6-sheet", 2, False, 6, np.nan),
            ("sign", "banner", 1, False, 6, np.nan),
        ]
    ).assign(weekly_impacts=1_000.0)
    assets["concession"] = ["", "", "fixed-fee"]
    values = value_assets(assets, pricing="rate card").set_index("asset_id")
    assert values["concession"].to_dict() == {
        "screen": "operator-funded",
        "poster": "council-owned",
        "sign": "fixed-fee",
    }
    # Operator-funded: max(£1,000 guarantee per asset, 20% of net sales).
    screen_sales = 2 * 6 * 60 * 26 * 0.6 * 0.8 * 0.85  # 0.8: d6 sell-through scale
    assert values.loc["screen", "expected_sales_central"] == pytest.approx(screen_sales)
    assert values.loc["screen", "council_income_central"] == pytest.approx(
        max(1000, 0.2 * screen_sales)
    )
    # Council-owned: the £25k guarantee of uk-default binds for one poster.
    assert values.loc["poster", "council_income_central"] == pytest.approx(25_000)
    # Fixed fee: £850 a site whatever is sold.
    assert values.loc["sign", "council_income_central"] == pytest.approx(850)
    summary = portfolio_summary(values.reset_index(), "uk-default")
    assert summary["council_income_central"] == pytest.approx(
        values["council_income_central"].sum()
    )
    with pytest.raises(PlannerError, match="concession"):
        value_assets(assets.assign(concession="leased"))


def test_share_of_time_comes_from_loop_and_spot_length():
    assets = asset_rows([("d", "d48", 1, True, 6, 1000.0)]).assign(asset_type="billboard")
    assets = assets.assign(loop_seconds=60, spot_seconds=15)
    row = value_assets(assets, terms=FLAT).iloc[0]
    assert row["slots"] == 4
    assert row["annual_value_full"] == pytest.approx(4 * 1000 * 26)


def test_policy_income_out_of_reach_is_per_contract():
    assets = asset_rows(
        [("screen", "d6", 2, True, 6, 300.0), ("poster", "6-sheet", 2, False, 6, 300.0)]
    )
    values = value_assets(assets)
    table = eligibility([("screen", "hfss", False, "r1"), ("poster", "hfss", False, "r1")])
    risk = policy_value_at_risk(values, table, terms="uk-default")
    total = risk[risk["level"] == "total"].iloc[0]
    # The operator-funded screen's £1,000 guarantee binds after the loss, the poster's £25k
    # guarantee binds before it: the council loses only the screen's share above £1,000.
    screen = values.set_index("asset_id").loc["screen"]
    sales = screen["expected_sales_central"]
    expected = 0.2 * sales - max(1000, 0.2 * sales * 0.9)
    assert total["council_income_out_of_reach_central"] == pytest.approx(max(expected, 0.0))
