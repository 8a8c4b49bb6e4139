"""The loaders on real London data from ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest

from planner.errors import DataValidationError
from planner.io.readers import load_assets, load_sites, load_zones

pytestmark = pytest.mark.shared_data

# Greater London and the TfL network's reach just beyond it, as (west, south, east, north).
LONDON_BOX = (-0.80, 51.20, 0.40, 51.75)
NULL_ISLAND_STOPS = {"BP6163", "OC326", "OC327", "OC329", "OC723"}
BUS_STOP_OPTIONS = {
    "crs": "EPSG:27700",
    "columns": {"Stop_Code_LBSL": "asset_id"},
    "defaults": {"asset_type": "bus_stop"},
}
SCHOOL_OPTIONS = {
    "encoding": "cp1252",
    "crs": "EPSG:27700",
    "columns": {"EstablishmentName": "name"},
    "defaults": {"kind": "school"},
    "drop_invalid": True,
}


def _inside_london(frame) -> bool:
    west, south, east, north = frame.total_bounds
    box_west, box_south, box_east, box_north = LONDON_BOX
    return box_west < west < east < box_east and box_south < south < north < box_north


@pytest.fixture(scope="module")
def bus_stops_csv(shared_data):
    return shared_data / "london_tfl_bus_stops" / "bus-stops.csv"


@pytest.fixture(scope="module")
def bus_stops(bus_stops_csv):
    return load_assets(bus_stops_csv, drop_invalid=True, **BUS_STOP_OPTIONS)


def test_tfl_bus_stops_every_row_read_and_null_island_reported_by_id(bus_stops):
    report = bus_stops.attrs["report"]

    assert (report.rows_read, report.rows_valid, len(bus_stops)) == (20_404, 20_399, 20_399)
    assert report.crs == "EPSG:27700"
    assert len(report.errors) == 5
    assert {p.where.split("(id ")[1].rstrip(")") for p in report.errors} == NULL_ISLAND_STOPS
    assert all("null island" in p.found and p.column == "geometry" for p in report.errors)
    assert NULL_ISLAND_STOPS.isdisjoint(bus_stops["asset_id"])


def test_tfl_bus_stops_kept_rows_are_london_points(bus_stops):
    assert bus_stops.crs == "EPSG:4326"
    assert _inside_london(bus_stops)
    assert bus_stops["asset_id"].is_unique
    assert set(bus_stops.geometry.geom_type) == {"Point"}
    assert set(bus_stops["asset_type"]) == {"bus_stop"}
    assert set(bus_stops["format"]) == {"6-sheet"}
    assert bus_stops.loc[bus_stops["asset_id"] == "1000", "name"].item() == (
        "WESTMINSTER STN <> / PARLIAMENT SQUARE"
    )


def test_tfl_bus_stops_without_drop_invalid_name_the_five(bus_stops_csv):
    with pytest.raises(DataValidationError) as caught:
        load_assets(bus_stops_csv, **BUS_STOP_OPTIONS)

    message = str(caught.value)
    assert message.startswith("bus-stops.csv: 5 problem(s) must be fixed")
    for stop in NULL_ISLAND_STOPS:
        assert f"(id {stop}), column 'geometry': the point is at 0/0" in message


def test_london_schools_load_as_sites(shared_data):
    path = shared_data / "london_schools_gias" / "london_nurseries_edubase_2019.csv"
    raw = pd.read_csv(path, encoding="cp1252", usecols=["URN", "Easting", "Northing"])

    schools = load_sites(path, **SCHOOL_OPTIONS)

    located = raw.dropna(subset=["Easting", "Northing"])
    report = schools.attrs["report"]
    assert (report.rows_read, len(schools)) == (len(raw), len(located)) == (2352, 2351)
    assert [p.found for p in report.errors] == ["the location is missing"]
    assert schools.crs == "EPSG:4326"
    assert _inside_london(schools)
    assert sorted(schools["site_id"].astype(int)) == sorted(located["URN"])
    assert set(schools["kind"]) == {"school"}
    assert (schools["name"] != "").all()
    assert not {"HeadFirstName", "HeadLastName", "TelephoneNum"} & set(schools.columns)


def test_london_lsoa_population_loads_as_zones(shared_data):
    path = shared_data / "london_lsoa_population" / "london_lsoa2011_pop_mid2020.gpkg"
    direct = pyogrio.read_dataframe(path)

    zones = load_zones(path)  # Persons_All-Ages and LSOA11CD are recognised aliases

    assert len(zones) == len(direct) == 4835
    assert zones.crs == "EPSG:4326"
    assert zones.attrs["report"].crs == "EPSG:27700"
    assert zones.attrs["report"].problems == []
    assert zones["population"].sum() == direct["Persons_All-Ages"].sum() == 9_002_488
    assert zones["zone_id"].tolist() == direct["LSOA11CD"].tolist()
    np.testing.assert_allclose(zones.total_bounds, direct.to_crs(4326).total_bounds)
    assert _inside_london(zones)
