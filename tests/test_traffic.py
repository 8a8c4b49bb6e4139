"""Roadside audience: the DfT AADF loader and the vehicle term of the audience model."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import make_assets, make_points

from planner.errors import DataValidationError, PlannerError
from planner.io.traffic import load_traffic_counts
from planner.value.audience import AudienceParams, estimate_impacts
from planner.value.valuation import value_assets

HEADER = "count_point_id,year,road_name,road_type,easting,northing,all_motor_vehicles\n"


def test_loader_keeps_each_count_points_latest_year(tmp_path):
    path = tmp_path / "aadf.csv"
    path.write_text(
        HEADER
        + "1,2018,A1,Major,530000,180000,20000\n"
        + "1,2019,A1,Major,530000,180000,21000\n"
        + "2,2019,U,Minor,531000,180000,800\n",
        encoding="utf-8",
    )
    counts = load_traffic_counts(path)
    assert counts.crs.to_epsg() == 27700
    assert counts.set_index("count_point_id")["aadf"].to_dict() == {"1": 21000.0, "2": 800.0}
    assert load_traffic_counts(path, year=2018)["aadf"].tolist() == [20000.0]
    with pytest.raises(PlannerError, match="no count for 2001"):
        load_traffic_counts(path, year=2001)


def test_loader_names_missing_columns_and_bad_rows(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("count_point_id,year,easting\n1,2019,530000\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="northing, all_motor_vehicles"):
        load_traffic_counts(path)
    path.write_text(HEADER + "1,2019,A1,Major,x,180000,-5\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        load_traffic_counts(path)
    found = {(p.column, p.where) for p in caught.value.problems}
    assert found == {("easting", "rows 2"), ("all_motor_vehicles", "rows 2")}


def test_roadside_formats_get_the_nearest_count_points_vehicles():
    assets = make_assets(
        [(0, 0), (0, 0), (1000, 0)], impacts=np.nan, format=["48-sheet", "6-sheet", "48-sheet"]
    )
    traffic = make_points([(50, 0)], crs="EPSG:27700", aadf=10_000.0)
    params = AudienceParams()
    without = estimate_impacts(assets, params=params)["weekly_impacts"].to_numpy()
    with_traffic = estimate_impacts(assets, params=params, traffic=traffic)
    added = with_traffic["weekly_impacts"].to_numpy() - without
    # 10,000 vehicles a day x 7 x 1.5 people x half the flow facing x 48-sheet visibility 0.55.
    assert added[0] == pytest.approx(10_000 * 7 * 1.5 * 0.5 * 0.55)
    assert added[1] == 0  # a 6-sheet is not a roadside format
    assert added[2] == 0  # 950 m from the count point, beyond the 300 m radius
    assert with_traffic["resident_share"].iloc[0] < with_traffic["resident_share"].iloc[1]
    with pytest.raises(PlannerError, match="aadf"):
        estimate_impacts(assets, traffic=traffic.drop(columns="aadf"))


@pytest.mark.shared_data
def test_leeds_billboards_by_busy_roads_are_worth_more(shared_data):
    counts = load_traffic_counts(
        shared_data / "uk_dft_traffic_counts" / "leeds_aadf_2000_2020.csv", year=2019
    )
    assert len(counts) == 369
    major = counts[counts["road_type"] == "Major"].nlargest(5, "aadf")
    minor = counts[counts["road_type"] == "Minor"].nsmallest(5, "aadf")
    sites = gpd.GeoDataFrame(
        {
            "asset_id": [f"M{i}" for i in range(5)] + [f"m{i}" for i in range(5)],
            "format": "48-sheet",
            "faces": 1,
            "digital": False,
        },
        geometry=list(major.geometry.translate(20, 0)) + list(minor.geometry.translate(20, 0)),
        crs="EPSG:27700",
    )
    values = value_assets(sites, traffic=counts).set_index("asset_id")
    busy = values.loc[[f"M{i}" for i in range(5)], "annual_value_central"]
    quiet = values.loc[[f"m{i}" for i in range(5)], "annual_value_central"]
    assert busy.min() > quiet.max()
    assert (values["price_source"].loc[busy.index] == "cpt").all()
