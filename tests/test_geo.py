"""The CRS helpers give the numbers geopandas' own reprojection gives, with less work."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from planner.geo import bounds_in, metric_crs, points_in, project
from planner.value.text import lower_text, map_distinct

# A GeoParquet file's CRS is PROJJSON: equal to EPSG:27700, but not the same text.
BNG_JSON = CRS.from_user_input("EPSG:27700").to_json()


def _frame(points: list[tuple[float, float]], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.Point(p) for p in points], crs=crs)


def test_project_returns_the_frame_itself_when_the_crs_is_the_same_in_other_words():
    frame = _frame([(530_000.0, 180_000.0), (531_000.5, 181_000.25)], BNG_JSON)
    assert not frame.crs.is_exact_same(CRS.from_user_input("EPSG:27700"))
    assert project(frame, "EPSG:27700") is frame
    moved = project(frame, "EPSG:4326")
    assert moved is not frame
    assert_same_coords(moved, frame.to_crs("EPSG:4326"))


def assert_same_coords(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    np.testing.assert_array_equal(
        shapely.get_coordinates(a.geometry.to_numpy()),
        shapely.get_coordinates(b.geometry.to_numpy()),
    )


coords = st.tuples(
    st.floats(100_000, 650_000, allow_nan=False), st.floats(10_000, 1_200_000, allow_nan=False)
)


@settings(max_examples=40, deadline=None)
@given(st.lists(coords, min_size=1, max_size=30))
def test_bounds_and_points_equal_those_of_the_reprojected_frame(points):
    frame = _frame(points, BNG_JSON)
    wgs = frame.to_crs("EPSG:4326")
    np.testing.assert_array_equal(bounds_in(frame, "EPSG:4326"), wgs.total_bounds)
    xy = points_in(frame, "EPSG:4326")
    np.testing.assert_array_equal(xy[0], shapely.get_x(wgs.geometry.to_numpy()))
    np.testing.assert_array_equal(xy[1], shapely.get_y(wgs.geometry.to_numpy()))


def test_points_in_declines_lines_and_empty_points():
    line = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326)
    assert points_in(line, "EPSG:27700") is None
    empty = gpd.GeoDataFrame(geometry=[shapely.Point(), shapely.Point(0, 51)], crs=4326)
    assert points_in(empty, "EPSG:27700") is None
    assert np.isnan(bounds_in(gpd.GeoDataFrame(geometry=[], crs=4326), "EPSG:27700")).all()


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (-0.1, 51.5, 27700),  # London
        (-1.27, 60.4, 27700),  # Shetland, near the top of the box
        (-8.70, 57.8, 27700),  # St Kilda, 0.05 degrees inside the west edge
        (-6.0, 54.6, 27700),  # Belfast: inside the box as well (the box, not the law)
        (1.99, 51.0, 27700),  # just inside the east edge: the exact test decides
        (2.35, 48.86, 32631),  # Paris
        (24.94, 60.17, 32635),  # Helsinki
        (151.2, -33.87, 32756),  # Sydney
    ],
)
def test_metric_crs_is_the_same_by_box_or_by_every_vertex(lon, lat, epsg):
    # The quick test on a densified box only ever settles "well inside Great Britain";
    # near an edge and outside it the exact test on every vertex decides.
    frame = _frame([(lon, lat), (lon + 0.01, lat + 0.01)], "EPSG:4326")
    assert metric_crs(frame).to_epsg() == epsg
    assert metric_crs(frame.to_crs(BNG_JSON) if epsg == 27700 else frame).to_epsg() == epsg


def test_a_frame_straddling_the_edge_of_great_britain_gets_a_utm_zone():
    # One asset in Great Britain and one in France: the box leaves Great Britain.
    frame = _frame([(-0.1, 51.5), (2.35, 48.86)], "EPSG:4326")
    assert metric_crs(frame.to_crs(BNG_JSON)).to_epsg() == 32631


def test_text_is_read_once_per_distinct_value_with_the_same_result():
    column = pd.Series([" Bus_Shelter", "KIOSK ", None, "", "kiosk"] * 3, dtype="str")
    expected = [
        str(v).strip().lower() or "other" if isinstance(v, str) else "other" for v in column
    ]
    assert list(lower_text(pd.DataFrame({"t": column}), "t", "other")) == expected
    calls = []
    map_distinct(column, lambda v: calls.append(v), None)
    assert len(calls) == 4  # four distinct texts, each once


def test_mixed_columns_keep_each_value_its_own_result():
    # True, 1 and 1.0 compare equal in Python: they must not share a result.
    column = pd.Series([True, 1, 1.0, "yes", None], dtype=object)
    assert list(map_distinct(column, lambda v: str(v), "-")) == ["True", "1", "1.0", "yes", "-"]
