"""Frequency in a dense borough is plausible: 2-week 6-sheet campaigns against the trade's rule.

The baseline is the outdoor trade's published rule for poster showings, the Gallup math
model of the OAAA's *Outdoor Media Math Formulas* (2006): frequency = GRPs / 100 + 2 and
reach % = GRPs / frequency. `bench/bench_frequency.py` prints the whole comparison.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planner.calendar import CYCLE_DAYS
from planner.value.reach import build_catchments, reach_frequency
from planner.value.valuation import value_assets


def _greenwich(shared) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Greenwich's TfL stops as one classic 6-sheet face each, LSOAs, the borough's mask."""
    stops = pd.read_csv(shared / "london_tfl_bus_stops" / "bus-stops.csv")
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Location_Northing"] > 0)]
    points = gpd.GeoDataFrame(
        {"asset_id": stops["Stop_Code_LBSL"].astype(str)},
        geometry=gpd.points_from_xy(stops["Location_Easting"], stops["Location_Northing"]),
        crs="EPSG:27700",
    )
    raw = shared / "london_lsoa_population" / "raw" / "london-2021-lad22-gen20.shp"
    boroughs = gpd.read_file(raw).to_crs(27700)
    area = boroughs.loc[boroughs["LAD22NM"] == "Greenwich"].geometry.union_all()
    assets = points[points.within(area)].drop_duplicates("asset_id").reset_index(drop=True)
    assets = assets.assign(format="6-sheet", faces=1, digital=False, slots=1)
    zones = gpd.read_file(shared / "london_lsoa_population" / "london_lsoa2011_pop_mid2020.gpkg")
    zones = zones.rename(columns={"Persons_All-Ages": "population"})[["population", "geometry"]]
    universe = zones.to_crs(27700).geometry.centroid.within(area).to_numpy()
    return assets, zones, universe


@pytest.mark.shared_data
def test_two_week_6_sheet_frequency_in_greenwich_follows_the_trades_rule(shared_data):
    assets, zones, universe = _greenwich(shared_data)
    transit = assets[["geometry"]].assign(kind="bus_stop")
    values = value_assets(assets, zones=zones, transit=transit)
    catchments = build_catchments(values, zones)
    cycle = values["weekly_impacts"] * CYCLE_DAYS / 7
    rng = np.random.default_rng(0)
    for faces in (50, 100, 200):
        pick = rng.choice(len(values), faces, replace=False)
        rf = reach_frequency(
            catchments, values["asset_id"].iloc[pick], cycle.iloc[pick], universe=universe
        )
        trade_frequency = rf.grps / 100 + 2
        assert rf.avg_frequency == pytest.approx(trade_frequency, rel=0.15)
        assert rf.cover_pct == pytest.approx(rf.grps / trade_frequency, abs=10)
        assert 3 < rf.avg_frequency < 15  # a 2-week poster campaign, not hundreds
