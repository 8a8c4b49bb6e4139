"""Values that depend on where the data is: the rate card's country, its currency, unavailable
assets, audiences without demand zones and an empty sites file.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import make_assets, make_sites, make_zones

import planner
from planner.errors import PricingError
from planner.value.rates import card_for_location, load_rate_card, outside_card_area

NEW_YORK = (-73.99, 40.75)
MONACO = (7.42, 43.74)
HELSINKI = (24.94, 60.17)


def _at(lon: float, lat: float, n: int = 2) -> gpd.GeoDataFrame:
    """``n`` priced assets a few metres apart around ``(lon, lat)``."""
    assets = make_assets(n)
    xy = gpd.points_from_xy([lon + 0.001 * i for i in range(n)], [lat] * n, crs="EPSG:4326")
    return assets.set_geometry(xy)


def _location_warnings(values) -> list[str]:
    return [w for w in values.attrs["warnings"] if "lie outside" in w]


@pytest.mark.parametrize("place", [NEW_YORK, MONACO])
def test_assets_outside_the_cards_country_are_flagged_naming_what_to_do(place):
    values = planner.value_assets(_at(*place))
    (warning,) = _location_warnings(values)
    assert warning.startswith(
        "2 of 2 asset(s) (A0, A1) lie outside GB of rate card 'UK default (public figures, "
        "2021-2024)', so they are priced in GBP at its prices."
    )
    assert "No bundled rate card covers them: write one for their country" in warning
    assert set(values["currency"]) == {"GBP"}  # still valued, never silently


def test_assets_in_another_bundled_cards_country_are_told_which_card_to_choose():
    values = planner.value_assets(_at(*HELSINKI))
    (warning,) = _location_warnings(values)
    assert "Choose rate_card='demo' (bundled) for them" in warning
    assert card_for_location(_at(*HELSINKI)) == ["demo"]
    fitting = planner.value_assets(_at(*HELSINKI), rate_card="demo", terms="demo")
    assert _location_warnings(fitting) == []


def test_only_the_assets_outside_are_counted():
    london = make_assets(3)
    mixed = london.set_geometry(
        gpd.GeoSeries(
            [*london.geometry[:2], gpd.points_from_xy([NEW_YORK[0]], [NEW_YORK[1]])[0]], crs=4326
        )
    )
    assert outside_card_area(mixed, load_rate_card("uk-default")).tolist() == [False, False, True]
    (warning,) = _location_warnings(planner.value_assets(mixed))
    assert warning.startswith("1 of 3 asset(s) (A2) lie outside GB")


def test_assets_inside_the_card_area_get_no_location_warning():
    values = planner.value_assets(make_assets(3), zones=make_zones([(0, 0)]))
    assert values.attrs["warnings"] == []


def test_a_card_in_another_currency_than_the_terms_is_refused_naming_the_card_to_choose():
    with pytest.raises(PricingError, match=r"same currency \(for these terms: rate_card='demo'\)"):
        planner.value_assets(_at(*HELSINKI), rate_card="uk-default", terms="demo")


def test_a_card_area_must_be_boxes_in_degrees(tmp_path):
    card = tmp_path / "card.toml"
    card.write_text(
        'currency = "USD"\nagency_commission = 0.15\ncountry = "US"\n'
        "area = [[-80, 40, -70]]\n[[rate]]\nprice_per_cycle = 100.0\n"
    )
    with pytest.raises(PricingError, match=r"card.toml: key 'area', box 1: give \[west, south"):
        load_rate_card(card)
    card.write_text(card.read_text().replace("[[-80, 40, -70]]", "[[-80, 40, -70, 45]]"))
    assert load_rate_card(card).area == ((-80.0, 40.0, -70.0, 45.0),)
    values = planner.value_assets(
        _at(*NEW_YORK), rate_card=card, terms={"currency": "USD", "revenue_share": 0.5}
    )
    assert _location_warnings(values) == []


# --- unavailable assets -------------------------------------------------------------------


def test_unavailable_assets_have_no_value():
    assets = make_assets(3, status=["available", "unavailable", "available"])
    values = planner.value_assets(assets, zones=make_zones([(0, 0)]))
    assert values["status"].tolist() == ["available", "unavailable", "available"]
    assert values.loc[
        1, ["annual_value_full", "annual_value_central", "council_income_central"]
    ].tolist() == [0, 0, 0]
    assert (values.loc[[0, 2], "annual_value_central"] > 0).all()
    assert values.attrs["warnings"] == [
        "1 asset(s) have status 'unavailable' (A1): they are in no plan, so their annual "
        "value, sales and council income are 0"
    ]


def test_unavailable_assets_are_never_planned(make_campaign):
    assets = make_assets(3, status=["unavailable", "available", "unavailable"])
    campaign = make_campaign("C1", min_faces=1, max_faces=3)
    policy = planner.load_policy("uk-cap-code")
    result = planner.plan(assets, [campaign], policy, sites=make_sites([(5000, 5000)]))
    assert result.ok
    assert result.placements["asset_id"].tolist() == ["A1"]


# --- audiences without demand zones -------------------------------------------------------


def test_without_zones_every_asset_gets_the_same_audience_and_it_is_said():
    values = planner.value_assets(make_assets(3, impacts=np.nan))
    assert values["uniform_audience"].tolist() == [True, True, True]
    assert values["weekly_impacts"].nunique() == 1
    (warning,) = values.attrs["warnings"]
    assert warning.startswith(
        "No demand zones were given, so every asset's modelled audience counts the same "
        "12,000 residents passing a week"
    )
    assert "differ only by format, not by where people live" in warning


def test_with_zones_the_audience_follows_them_and_measured_audiences_are_not_flagged():
    assets = make_assets(2, impacts=[np.nan, 5000.0])
    with_zones = planner.value_assets(assets, zones=make_zones([(0, 0)], population=5000.0))
    assert with_zones["uniform_audience"].tolist() == [False, False]
    assert with_zones.attrs["warnings"] == []
    without = planner.value_assets(assets)
    assert without["uniform_audience"].tolist() == [True, False]


# --- an empty sites file --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("sites.csv", "site_id,kind,lon,lat\n"),
        ("sites.geojson", '{"type": "FeatureCollection", "features": []}'),
    ],
)
def test_an_empty_sites_file_is_accepted_with_a_warning(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    sites = planner.load_sites(path)
    assert len(sites) == 0 and {"site_id", "kind", "name"} <= set(sites.columns)
    (warning,) = sites.attrs["report"].warnings
    assert "there are no sites, so every exclusion rule protects nothing" in warning.found
    table = planner.eligibility(make_assets(2), sites, planner.load_policy("uk-cap-code"))
    assert table["allowed"].all()
