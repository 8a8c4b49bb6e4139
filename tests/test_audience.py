"""Audience model: hand-computed impacts, share of time, measured overrides and calibration."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import shapely
from conftest import make_assets, make_points, make_zones

from planner.errors import PlannerError
from planner.value.audience import AudienceParams, calibrate, estimate_impacts

P = AudienceParams()
#: Assets with no measured impacts: the audience model estimates every one.
UNMEASURED = np.nan


def residents(population: float, distance: float) -> float:
    decay = math.exp(-distance / P.distance_decay_m)
    return population * decay * P.trips_per_resident_per_week * P.pass_probability


def test_one_zone_hand_computed():
    assets = make_assets([(0, 0)], impacts=UNMEASURED)
    zones = make_zones([(100, 0), (1000, 0)], population=[1000.0, 5000.0])
    got = estimate_impacts(assets, zones)
    # The second zone is 1,000 m away, beyond the 800 m walking radius.
    expected = 0.40 * (P.base_weekly_passers + residents(1000, 100))
    assert got.loc[0, "weekly_impacts"] == pytest.approx(expected)
    assert got.loc[0, "impacts_source"] == "modelled"
    assert got.loc[0, "modelled_impacts"] == pytest.approx(expected)


def test_polygon_zone_counts_from_its_centroid():
    assets = make_assets([(0, 0)], impacts=UNMEASURED)
    square = shapely.box(100, -50, 200, 50)  # centroid at (150, 0)
    zones = make_zones([square], population=800.0)
    got = estimate_impacts(assets, zones)["weekly_impacts"].iloc[0]
    assert got == pytest.approx(0.40 * (P.base_weekly_passers + residents(800, 150)))


def test_visibility_orders_formats_on_the_same_spot():
    spot = (0, 0)
    assets = make_assets([spot] * 3, impacts=UNMEASURED, format=["48-sheet", "6-sheet", "banner"])
    impacts = estimate_impacts(assets)["weekly_impacts"].to_numpy()
    assert impacts[0] > impacts[1] > impacts[2]
    total = P.base_weekly_passers + P.no_zone_weekly_passers
    assert impacts == pytest.approx([0.55 * total, 0.40 * total, 0.25 * total])


def test_digital_share_of_time_is_one_over_slots():
    spot = (0, 0)
    assets = make_assets(
        [spot] * 3,
        impacts=UNMEASURED,
        format=["d48", "d48", "48-sheet"],
        digital=[True, True, False],
        slots=[6, 3, 6],
    )
    impacts = estimate_impacts(assets)["weekly_impacts"].to_numpy()
    total = P.base_weekly_passers + P.no_zone_weekly_passers
    assert impacts[0] == pytest.approx(0.60 * total / 6)
    assert impacts[1] == pytest.approx(2 * impacts[0])
    assert impacts[2] == pytest.approx(0.55 * total)  # classic: slots ignored


def test_transit_and_poi_boosts_hand_computed():
    assets = make_assets([(0, 0)], impacts=UNMEASURED)
    transit = make_points(
        [(0, 0), (50, 0), (1000, 0)], fclass=["bus_stop", "railway_station", "bus_stop"]
    )
    pois = make_points([(100, 0), (0, 100)], weekly_visitors=[2000.0, np.nan])
    got = estimate_impacts(assets, transit=transit, pois=pois)["weekly_impacts"].iloc[0]
    transit_part = 3000 + 25000 * math.exp(-50 / P.transit_decay_m)  # third stop too far
    poi_part = (2000 + P.poi_weekly_visitors) * math.exp(-100 / P.poi_decay_m)
    base = P.base_weekly_passers + P.no_zone_weekly_passers
    assert got == pytest.approx(0.40 * (base + transit_part + poi_part))


def test_without_zones_every_asset_gets_the_documented_base():
    assets = make_assets([(0, 0), (5000, 0)], impacts=UNMEASURED)
    got = estimate_impacts(assets, None)
    base = 0.40 * (P.base_weekly_passers + P.no_zone_weekly_passers)
    assert got["weekly_impacts"].tolist() == pytest.approx([base, base])
    assert set(got["impacts_source"]) == {"modelled"}


def test_measured_impacts_override_the_model():
    assets = make_assets([(0, 0), (100, 0)], impacts=[1234.0, UNMEASURED])
    got = estimate_impacts(assets)
    assert got["impacts_source"].tolist() == ["measured", "modelled"]
    assert got.loc[0, "weekly_impacts"] == 1234.0
    assert got.loc[0, "modelled_impacts"] == pytest.approx(got.loc[1, "modelled_impacts"])
    assert got.attrs["calibration"] is None  # fewer than 10 measured: no calibration


def test_result_is_indexed_like_assets():
    assets = make_assets([(0, 0), (100, 0)], impacts=UNMEASURED).set_index(np.array([7, 3]))
    assert estimate_impacts(assets).index.tolist() == [7, 3]


def planted(n: int, scale: float, noise: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 4000, size=(n, 2))
    assets = make_assets([tuple(p) for p in xy], impacts=UNMEASURED)
    zone_xy = rng.uniform(-500, 4500, size=(60, 2))
    zones = make_zones([tuple(p) for p in zone_xy], population=rng.uniform(500, 3000, 60))
    modelled = estimate_impacts(assets, zones)["modelled_impacts"].to_numpy()
    measured = modelled * scale * np.exp(rng.normal(0, noise, n))
    return assets, zones, measured


def test_calibration_recovers_a_planted_scale_exactly():
    assets, zones, measured = planted(30, 2.5, noise=0.0)
    cal = calibrate(assets.assign(weekly_impacts=measured), zones)
    assert cal.scale == pytest.approx(2.5)
    assert cal.n_measured == 30
    assert cal.n_holdout == 9
    assert cal.median_abs_pct_error == pytest.approx(0.0, abs=1e-9)


def test_calibration_is_applied_automatically_with_ten_or_more_measured():
    assets, zones, measured = planted(40, 2.5, noise=0.1)
    # Measure only the first 20; the other 20 keep modelled (now calibrated) figures.
    measured[20:] = np.nan
    raw = estimate_impacts(assets, zones)["modelled_impacts"].to_numpy()
    got = estimate_impacts(assets.assign(weekly_impacts=measured), zones)
    cal = got.attrs["calibration"]
    assert cal["scale"] == pytest.approx(2.5, rel=0.08)
    assert 0 < cal["median_abs_pct_error"] < 0.2
    assert got["modelled_impacts"].to_numpy() == pytest.approx(raw * cal["scale"])
    assert (got["impacts_source"] == "measured").sum() == 20


def test_nine_measured_assets_do_not_calibrate():
    assets, zones, measured = planted(20, 2.5, noise=0.0)
    measured[9:] = np.nan
    got = estimate_impacts(assets.assign(weekly_impacts=measured), zones)
    assert got.attrs["calibration"] is None


def test_calibration_needs_two_measured_assets():
    assets = make_assets([(0, 0)], impacts=100.0)
    with pytest.raises(PlannerError, match="at least 2"):
        calibrate(assets)


def test_missing_crs_is_a_clear_error():
    assets = make_assets([(0, 0)], impacts=UNMEASURED).set_crs(None, allow_override=True)
    with pytest.raises(PlannerError, match="'assets' must have a CRS"):
        estimate_impacts(assets)


def test_zones_without_population_are_rejected():
    with pytest.raises(PlannerError, match="population"):
        estimate_impacts(
            make_assets([(0, 0)], impacts=UNMEASURED), make_points([(0, 0)], people=[5.0])
        )


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="walking_radius_m"):
        replace(P, walking_radius_m=0)
    with pytest.raises(ValueError, match="visibility"):
        replace(P, visibility={"6-sheet": 1.5})


def test_every_parameter_is_documented():
    from dataclasses import fields

    assert all(f.metadata.get("doc") for f in fields(AudienceParams))
