"""Digital slot prices by format and environment: the classes, the card's multipliers, values."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import make_assets, make_points

from planner.errors import PricingError
from planner.value.environment import (
    EnvironmentParams,
    classify_environment,
    normalise_environment,
)
from planner.value.rates import load_rate_card, price_assets
from planner.value.valuation import value_assets


def _ring(n: int, radius: float, centre: tuple[float, float] = (0.0, 0.0)) -> list:
    """``n`` points on a circle of ``radius`` metres around ``centre``."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)) for a in angles]


def test_each_class_comes_from_the_file_else_from_the_surroundings():
    assets = make_assets(
        [(0, 0), (5_000, 0), (10_000, 0), (15_000, 0), (20_000, 0), (25_000, 0)],
        format=["d6", "d6", "d6", "d48", "d6", "d6"],
        digital=True,
        environment=[None, None, None, None, "High street", "nowhere"],
    )
    transit = make_points([(100, 0), (5_100, 0)], kind=["railway_station", "bus_stop"])
    pois = make_points(_ring(15, 100, (10_000, 0)) + _ring(14, 100, (25_000, 0)))
    table = classify_environment(assets, transit=transit, pois=pois)
    assert table["environment"].tolist() == [
        "transport_hub",  # a rail station 100 m away
        "residential",  # a bus stop alone makes no hub
        "town_centre",  # 15 points of interest within 150 m (ONS/OS high street)
        "roadside",  # a d48
        "town_centre",  # as the file says
        "residential",  # 14 points of interest: not a high street; the file's value unknown
    ]
    assert table["environment_source"].tolist() == ["modelled"] * 4 + ["asset file", "modelled"]


def test_without_surroundings_only_roadside_formats_and_the_file_are_known():
    assets = make_assets(3, format=["d6", "d48", "d6"], environment=[None, None, "station"])
    table = classify_environment(assets)
    assert table["environment"].tolist() == ["unknown", "roadside", "transport_hub"]
    assert table["environment_source"].tolist() == ["", "modelled", "asset file"]
    assert normalise_environment(float("nan")) == "unknown"
    wider = classify_environment(
        assets.iloc[:1],
        transit=make_points([(300, 0)], kind="rail_station"),
        params=EnvironmentParams(hub_radius_m=400),
    )
    assert wider["environment"].tolist() == ["transport_hub"]


def test_a_digital_slot_is_priced_by_format_and_environment():
    assets = make_assets(
        4,
        price=np.nan,
        format=["d6", "d6", "6-sheet", "d6"],
        digital=[True, True, False, True],
        environment=["town_centre", "residential", "town_centre", "transport_hub"],
    ).drop(columns="price_per_cycle")
    prices = price_assets(assets, None, "uk-default", pricing="rate card")
    assert prices["price_per_cycle"].tolist() == pytest.approx([72.0, 60.0, 92.0, 78.0])
    assert prices["environment_factor"].tolist() == [1.2, 1.0, 1.0, 1.3]
    # A price written in the asset file is the price: no multiplier.
    given = price_assets(assets.assign(price_per_cycle=50.0), None, "uk-default")
    assert given["price_per_cycle"].tolist() == [50.0] * 4
    assert given["environment_factor"].tolist() == [1.0] * 4


def test_a_cards_format_table_wins_and_bad_tables_are_refused(tmp_path):
    top = 'currency = "GBP"\nagency_commission = 0.15\n'
    rate = "[[rate]]\nprice_per_cycle = 100.0\n"
    path = tmp_path / "card.toml"
    path.write_text(
        top + rate + "[environment]\ntown_centre = 1.5\n[environment.d48]\ntown_centre = 2.0\n",
        encoding="utf-8",
    )
    card = load_rate_card(path)
    factors = card.environment_factor(
        np.array(["d6", "d48", "d48"]),
        np.array([True, True, True]),
        np.array(["town_centre", "town_centre", "roadside"]),
    )
    assert factors.tolist() == [1.5, 2.0, 1.0]
    for table, message in (
        ("[environment]\nbeach = 1.5\n", "unknown environment(s) 'beach'"),
        ("[environment]\ntown_centre = 0\n", "'town_centre' must be a positive multiplier"),
        ("[environment.d6]\nroadside = true\n", "'d6.roadside' must be a positive"),
        ('environment = "high"\n', "must be a table"),
    ):
        path.write_text(top + table + rate, encoding="utf-8")
        with pytest.raises(PricingError, match=re.escape(message)):
            load_rate_card(path)


def test_a_screen_by_a_station_is_worth_more_than_the_same_screen_in_a_side_street():
    assets = make_assets(
        [(0, 0), (3_000, 0)], price=np.nan, impacts=np.nan, format="d6", digital=True
    ).drop(columns=["price_per_cycle", "weekly_impacts"])
    station = make_points([(80, 0)], kind="rail_station")
    values = value_assets(assets, transit=station, pricing="rate card").set_index("asset_id")
    assert values["environment"].tolist() == ["transport_hub", "residential"]
    assert values["environment_source"].tolist() == ["modelled", "modelled"]
    ratio = values.loc["A0", "annual_value_central"] / values.loc["A1", "annual_value_central"]
    assert ratio == pytest.approx(1.3)
