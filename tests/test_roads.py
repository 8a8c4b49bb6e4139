"""Road-class proxy: without counts, a roadside face's vehicle audience from its road's class."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import BUILDER_CRS, ORIGIN, make_assets, make_points
from shapely.geometry import LineString

from planner.errors import DataValidationError, PlannerError
from planner.io.roads import load_roads
from planner.value.audience import (
    ROAD_CLASS_PROXY,
    TRAFFIC_COUNT,
    AudienceParams,
    estimate_impacts,
)
from planner.value.valuation import value_assets

# A 48-sheet's weekly people per vehicle a day: 7 days x 1.5 people x half facing x 0.55 seen.
PER_VEHICLE = 7 * 1.5 * 0.5 * 0.55


def make_roads(lines: list[tuple[tuple[float, float], tuple[float, float]]], **columns):
    """Roads as `load_roads` returns them: lines between (dx, dy) metres from `ORIGIN`."""
    x0, y0 = ORIGIN
    geometry = [LineString([(x0 + a[0], y0 + a[1]), (x0 + b[0], y0 + b[1])]) for a, b in lines]
    data = {k: v if isinstance(v, list) else [v] * len(lines) for k, v in columns.items()}
    frame = gpd.GeoDataFrame(data, geometry=geometry, crs=BUILDER_CRS)
    return frame.to_crs("EPSG:4326")


def test_a_roadside_face_takes_its_nearest_roads_class_as_a_labelled_proxy():
    assets = make_assets(
        [(0, 10), (5_000, 10), (10_000, 10), (15_000, 200)],
        impacts=np.nan,
        format=["48-sheet", "48-sheet", "6-sheet", "48-sheet"],
    )
    lines = [((x - 500, 0), (x + 500, 0)) for x in (0, 5_000, 10_000, 15_000)]
    roads = make_roads(
        lines,
        highway=["primary", "residential", "trunk", "motorway_link"],
    )
    without = estimate_impacts(assets)
    proxied = estimate_impacts(assets, roads=roads)
    assert proxied["vehicle_aadf"].tolist() == [18_700.0, 1_400.0, 0.0, 0.0]
    assert proxied["vehicle_source"].tolist() == [ROAD_CLASS_PROXY, ROAD_CLASS_PROXY, "", ""]
    added = proxied["weekly_impacts"] - without["weekly_impacts"]
    assert added.tolist() == pytest.approx([18_700 * PER_VEHICLE, 1_400 * PER_VEHICLE, 0, 0])
    # The proxy is a modelled audience, never a measured one.
    assert (proxied["impacts_source"] == "modelled").all()


def test_a_measured_count_wins_over_the_road_class():
    assets = make_assets([(0, 10), (3_000, 10)], impacts=np.nan, format="48-sheet")
    roads = make_roads([((-500, 0), (3_500, 0))], highway="motorway")
    traffic = make_points([(100, 0)], crs="EPSG:27700", aadf=50_000.0)
    impacts = estimate_impacts(assets, traffic=traffic, roads=roads)
    assert impacts["vehicle_source"].tolist() == [TRAFFIC_COUNT, ROAD_CLASS_PROXY]
    assert impacts["vehicle_aadf"].tolist() == [50_000.0, 80_000.0]


def test_unknown_classes_far_roads_and_bad_frames():
    assets = make_assets([(0, 10), (0, 500)], impacts=np.nan, format="d48", digital=True)
    roads = make_roads([((-500, 0), (500, 0))], highway="cycleway")
    assert estimate_impacts(assets, roads=roads)["vehicle_aadf"].tolist() == [0.0, 0.0]
    wide = AudienceParams(road_radius_m=600)
    motorway = roads.assign(highway="motorway")
    impacts = estimate_impacts(assets, roads=motorway, params=wide)
    assert impacts["vehicle_aadf"].tolist() == [80_000.0, 80_000.0]
    with pytest.raises(PlannerError, match="'roads' has no 'highway' column"):
        estimate_impacts(assets, roads=roads.drop(columns="highway"))
    with pytest.raises(ValueError, match="road_class_aadf"):
        AudienceParams(road_class_aadf={"motorway": -1.0})


def test_values_carry_the_vehicle_source_and_busier_roads_are_worth_more():
    assets = make_assets(
        [(0, 10), (5_000, 10)], price=np.nan, impacts=np.nan, format="48-sheet"
    ).drop(columns=["price_per_cycle", "weekly_impacts"])
    roads = make_roads([((-500, 0), (500, 0)), ((4_500, 0), (5_500, 0))])
    roads["highway"] = ["trunk", "residential"]
    values = value_assets(assets, roads=roads).set_index("asset_id")
    assert values["vehicle_source"].tolist() == [ROAD_CLASS_PROXY] * 2
    assert values.loc["A0", "annual_value_central"] > values.loc["A1", "annual_value_central"]


OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="51.5000" lon="-0.1000"/>
  <node id="2" lat="51.5000" lon="-0.0990"/>
  <node id="3" lat="51.5010" lon="-0.1000"/>
  <node id="4" lat="51.5010" lon="-0.0990"/>
  <node id="5" lat="52.5000" lon="-0.1000"/>
  <node id="6" lat="52.5000" lon="-0.0990"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/><tag k="ref" v="A1"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><tag k="highway" v="motorway_link"/></way>
  <way id="12"><nd ref="1"/><nd ref="3"/><tag k="highway" v="footway"/></way>
  <way id="13"><nd ref="2"/><nd ref="4"/><tag k="highway" v="service"/></way>
  <way id="14"><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/></way>
</osm>
"""


def test_load_roads_keeps_motor_roads_with_their_class(tmp_path):
    path = tmp_path / "streets.osm"
    path.write_text(OSM, encoding="utf-8")
    roads = load_roads(path)
    assert roads.crs.to_epsg() == 4326
    assert roads[["osm_id", "highway", "ref"]].values.tolist() == [
        ["w10", "primary", "A1"],
        ["w11", "motorway", ""],
        ["w14", "residential", ""],
    ]
    boxed = load_roads(path.read_bytes(), filename="streets.osm", bbox=(-0.2, 51.4, 0.0, 51.6))
    assert boxed["osm_id"].tolist() == ["w10", "w11"]
    with pytest.raises(DataValidationError, match="does not exist"):
        load_roads(tmp_path / "missing.osm.pbf")
    with pytest.raises(DataValidationError, match="bbox"):
        load_roads(path, bbox=(1, 1, 0, 0))


@pytest.mark.shared_data
def test_the_class_defaults_match_leeds_dft_counts(shared_data):
    """motorway, A, B and minor defaults within 5% of Leeds' 2019 medians (the stated source)."""
    table = pd.read_csv(shared_data / "uk_dft_traffic_counts" / "leeds_aadf_2000_2020.csv")
    table = table[table["year"] == 2019]
    first = table["road_name"].str[0]
    road = first.where(first.isin(["M", "A", "B"]), "minor")
    medians = table.groupby(road)["all_motor_vehicles"].median()
    aadf = AudienceParams().road_class_aadf
    for osm_class, dft in (("motorway", "M"), ("primary", "A"), ("secondary", "B")):
        assert aadf[osm_class] == pytest.approx(medians[dft], rel=0.05)
    assert aadf["tertiary"] == pytest.approx(medians["minor"], rel=0.05)


@pytest.mark.shared_data
def test_rutland_billboards_by_the_a1_outvalue_those_in_side_streets(shared_data):
    roads = load_roads(shared_data / "osm" / "rutland_uk_2018.osm.pbf")
    assert {"trunk", "primary", "residential"} <= set(roads["highway"])
    a1 = roads[roads["highway"] == "trunk"].to_crs(27700).geometry.iloc[:5]
    side = roads[roads["highway"] == "residential"].to_crs(27700).geometry.iloc[:5]
    points = [g.interpolate(0.5, normalized=True) for g in [*a1, *side]]
    assets = gpd.GeoDataFrame(
        {"asset_id": [f"S{i}" for i in range(10)], "format": "48-sheet", "faces": 1},
        geometry=points,
        crs="EPSG:27700",
    )
    values = value_assets(assets, roads=roads)
    assert (values["vehicle_source"] == ROAD_CLASS_PROXY).all()
    assert values["vehicle_aadf"].iloc[:5].min() == 18_700.0
    assert (
        values["annual_value_central"].iloc[:5].min()
        > values["annual_value_central"].iloc[5:].max()
    )
