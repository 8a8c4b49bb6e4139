"""Tests of the validation rules: each problem is found, worded for a person, and counted."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from planner.errors import DataValidationError
from planner.io.readers import load_assets, load_sites, load_zones, validate_file
from planner.io.validation import ValidationReport, normalise_columns, validate_frame

WGS84 = CRS.from_epsg(4326)
BNG = CRS.from_epsg(27700)
# Bow-tie: its edges cross, so the polygon is invalid until repaired.
BOWTIE = shapely.Polygon([(-0.10, 51.50), (-0.09, 51.51), (-0.09, 51.50), (-0.10, 51.51)])


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _errors(exc: DataValidationError) -> list[str]:
    return [str(p) for p in exc.problems if p.severity == "error"]


def _warnings(report: ValidationReport) -> list[str]:
    return [str(p) for p in report.warnings]


ASSET_HEADER = "asset_id,asset_type,format,lon,lat"


# --- columns -----------------------------------------------------------------------------


def test_missing_required_column_names_it_and_the_fix(tmp_path):
    path = _csv(tmp_path, "site_id,name,lon,lat\nS1,St Mary,-0.1,51.5\n")

    with pytest.raises(DataValidationError) as caught:
        load_sites(path)

    assert _errors(caught.value) == [
        "data.csv, column 'kind': required column 'kind' is missing (columns found: site_id, "
        "name). Add it (names recognised: kind, site_kind, site_type, type) or map a column to "
        "it with columns={'your_column': 'kind'} (--column your_column=kind), mapping its "
        "values with kinds={'Your value': 'school'} (--kind-map 'Your value=school'); or give "
        "every row one kind with defaults={'kind': 'school'} (--default kind=school)"
    ]


def test_zones_need_a_population(tmp_path):
    path = _csv(tmp_path, "code,lon,lat\nE1,-0.1,51.5\n")

    with pytest.raises(DataValidationError, match="required column 'population' is missing"):
        load_zones(path)


def test_assets_without_type_or_format_get_them_with_warnings(tmp_path):
    path = _csv(tmp_path, "asset_id,lon,lat\nA1,-0.1,51.5\n")

    assets = load_assets(path)

    assert (assets["asset_type"].iloc[0], assets["format"].iloc[0]) == ("other", "other")
    text = "\n".join(_warnings(assets.attrs["report"]))
    assert "the file has no 'asset_type' column; every asset was set to 'other'" in text
    assert "defaults={'asset_type': 'bus_stop'}" in text
    assert "the file has no 'format' column; formats were assumed from the asset type" in text


def test_personal_columns_are_dropped_with_a_warning(tmp_path):
    path = _csv(
        tmp_path,
        "URN,kind,HeadTitle (name),HeadFirstName,HeadLastName,TelephoneNum,Easting,Northing\n"
        "100000,school,Ms,Jo,Bloggs,020 7946 0000,530171,179738\n",
    )

    sites = load_sites(path, crs="EPSG:27700")

    assert sites.columns.tolist() == ["site_id", "kind", "name", "geometry"]
    assert sites["site_id"].tolist() == ["100000"]
    assert _warnings(sites.attrs["report"]) == [
        "data.csv, column 'HeadTitle (name), HeadFirstName, HeadLastName, TelephoneNum': "
        "personal data columns were dropped. The planner keeps aggregate data only; nothing to do"
    ]


def test_normalise_columns_prefers_explicit_mapping_over_aliases():
    frame = pd.DataFrame({"ID": ["x"], "Stop_Code_LBSL": ["1000"], "Type": ["kiosk"]})

    out, problems = normalise_columns(frame, "assets", {"Stop_Code_LBSL": "asset_id"}, "f.csv")

    assert out.columns.tolist() == ["ID", "asset_id", "asset_type"]
    assert out["asset_id"].tolist() == ["1000"]
    assert problems == []


# --- ids ---------------------------------------------------------------------------------


def test_duplicate_ids_are_each_reported(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER}\nA1,kiosk,6-sheet,-0.1,51.5\nA1,kiosk,6-sheet,-0.2,51.5\n"
        "A2,kiosk,6-sheet,-0.3,51.5\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)
    kept = load_assets(path, drop_invalid=True)

    assert _errors(caught.value) == [
        f"data.csv, row {n} (id A1), column 'asset_id': id 'A1' is used by more than one row. "
        "Make every id unique (or keep one of the duplicates)"
        for n in (2, 3)
    ]
    assert kept["asset_id"].tolist() == ["A2"]


def test_empty_id_is_an_error_and_ids_are_trimmed_text(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER}\n007,kiosk,6-sheet,-0.1,51.5\n,kiosk,6-sheet,-0.2,51.5\n"
        " 8 ,kiosk,6-sheet,-0.3,51.5\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)
    kept = load_assets(path, drop_invalid=True)

    assert _errors(caught.value) == [
        "data.csv, row 3, column 'asset_id': the id is empty. Give every row a unique id"
    ]
    assert kept["asset_id"].tolist() == ["007", "8"]


def test_zones_without_ids_are_numbered(tmp_path):
    path = _csv(tmp_path, "population,lon,lat\n10,-0.1,51.5\n20,-0.2,51.5\n")

    assert load_zones(path)["zone_id"].tolist() == ["zone-1", "zone-2"]


# --- empty input -------------------------------------------------------------------------


def test_header_only_csv_has_no_rows(tmp_path):
    path = _csv(tmp_path, f"{ASSET_HEADER}\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert _errors(caught.value) == [
        "data.csv: the file has no rows. Check that you chose the right file or layer"
    ]


def test_geopackage_without_features_has_no_rows(tmp_path, make_geo):
    path = tmp_path / "empty.gpkg"
    pyogrio.write_dataframe(make_geo([], asset_id=[]), path)

    report = validate_file(path, "assets")

    assert [p.found for p in report.errors] == ["the file has no rows"]
    assert (report.rows_read, report.rows_valid) == (0, 0)


# --- geometry ----------------------------------------------------------------------------


def test_blank_coordinates_are_a_missing_location(tmp_path):
    path = _csv(tmp_path, f"{ASSET_HEADER}\nA1,kiosk,6-sheet,,\nA2,kiosk,6-sheet,-0.2,51.5\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert _errors(caught.value) == [
        "data.csv, row 2 (id A1), column 'geometry': the location is missing. "
        "Give the row coordinates (or a geometry)"
    ]


def test_null_geometry_in_geojson_is_reported_by_id(tmp_path, make_geo):
    path = tmp_path / "sites.geojson"
    sites = make_geo([(-0.1, 51.5), None], site_id=["S1", "S2"], kind=["school", "school"])
    pyogrio.write_dataframe(sites, path)

    report = validate_file(path, "sites")

    assert [(p.where, p.found) for p in report.errors] == [
        ("row 2 (id S2)", "the location is missing")
    ]


def test_invalid_polygons_are_repaired_with_a_count(tmp_path, make_geo):
    path = tmp_path / "sites.gpkg"
    square = shapely.box(-0.2, 51.4, -0.19, 51.41)
    sites = make_geo(
        [BOWTIE, square, BOWTIE], site_id=["S1", "S2", "S3"], kind=["school", "park", "nursery"]
    )
    pyogrio.write_dataframe(sites, path)

    loaded = load_sites(path)

    assert loaded.geometry.is_valid.all()
    # Both lobes of the bow-tie survive the repair: two triangles of 0.01 x 0.005 degrees.
    assert loaded.geometry.geom_type.tolist() == ["MultiPolygon", "Polygon", "MultiPolygon"]
    assert loaded.geometry.iloc[0].area == pytest.approx(2 * 0.01 * 0.005 / 2)
    assert loaded.geometry.iloc[1].equals(square)
    assert _warnings(loaded.attrs["report"]) == [
        "sites.gpkg, column 'geometry': 2 invalid geometr(y/ies) (e.g. self-intersecting) were "
        "repaired. Check the repaired shapes if exact boundaries matter"
    ]


def test_asset_polygons_and_lines_are_kept_whole(tmp_path, make_geo):
    # Exclusions are measured from a shape's nearest point, never from a representative one.
    path = tmp_path / "assets.gpkg"
    hoarding = shapely.box(-0.2, 51.4, -0.19, 51.41)
    banner = shapely.LineString([(-0.1, 51.5), (-0.1, 51.51), (-0.09, 51.51)])
    frames = make_geo(
        [hoarding, banner, (-0.3, 51.5)],
        asset_id=["H1", "B1", "K1"],
        asset_type=["hoarding", "bridge_banner", "kiosk"],
    )
    pyogrio.write_dataframe(frames, path)

    assets = load_assets(path)

    assert assets.geometry.geom_type.tolist() == ["Polygon", "LineString", "Point"]
    assert assets.geometry.iloc[0].equals(hoarding)
    assert assets.geometry.iloc[1].equals(banner)
    warnings = _warnings(assets.attrs["report"])
    assert any(
        w.startswith("assets.gpkg, column 'geometry': 1 asset(s) are lines and are kept whole")
        and w.endswith(
            ": B1. Nothing to do; give a point per panel if the shape is not where the panels are"
        )
        for w in warnings
    )
    assert any("1 asset(s) are polygons and are kept whole" in w for w in warnings)


def test_lonlat_outside_range_and_swapped_hint(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER}\nA1,kiosk,6-sheet,200,51\nA2,kiosk,6-sheet,-33.87,151.21\n"
        "A3,kiosk,6-sheet,-0.1,51.5\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    first, second = _errors(caught.value)
    assert first.startswith("data.csv, row 2 (id A1), column 'geometry': coordinates (200, 51) ")
    assert "outside the valid longitude/latitude range." in first
    assert "swapped" not in first
    assert "(-33.87, 151.21) are outside the valid longitude/latitude range — it looks like " in (
        second
    )
    assert "longitude and latitude are swapped" in second


def test_degrees_given_as_british_national_grid_are_caught(tmp_path):
    path = _csv(
        tmp_path,
        "asset_id,asset_type,format,easting,northing\nA1,kiosk,6-sheet,-0.1257,51.501\n"
        "A2,kiosk,6-sheet,530171,179738\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path, crs="EPSG:27700")

    assert _errors(caught.value) == [
        "data.csv, row 2 (id A1), column 'geometry': coordinates (-0.1257, 51.501) look like "
        "longitude/latitude degrees, not OSGB36 / British National Grid coordinates. "
        "Pass crs='EPSG:4326' (--assets-crs EPSG:4326) if the file holds longitude and latitude"
    ]


def test_projected_coordinates_outside_the_crs_area(tmp_path):
    path = _csv(
        tmp_path,
        "asset_id,asset_type,format,easting,northing\nA1,kiosk,6-sheet,9000000,9000000\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path, crs="EPSG:27700")

    # The file's only row fails: a file-level CRS problem, never "drop the row".
    (error,) = _errors(caught.value)
    assert (
        "the file's only row has coordinates outside the area OSGB36 / British National Grid "
        "covers" in error
    )
    assert "(e.g. (9e+06, 9e+06)), so the CRS, not the rows, is wrong" in error
    assert "Read the file in its real CRS" in error


@pytest.mark.parametrize("loader", [load_assets, load_sites])
def test_null_island_is_an_error(tmp_path, loader):
    path = _csv(
        tmp_path,
        "id,asset_type,format,kind,lon,lat\nX1,kiosk,6-sheet,school,0,0\n"
        "X2,kiosk,6-sheet,school,-0.1,51.5\n",
    )

    with pytest.raises(DataValidationError) as caught:
        loader(path)

    assert _errors(caught.value) == [
        "data.csv, row 2 (id X1), column 'geometry': the point is at 0/0 ('null island'), a "
        "placeholder for a missing location. Enter the real coordinates or remove the row"
    ]


# --- numbers and vocabularies ------------------------------------------------------------


def test_non_numeric_values_are_named_by_row_and_column(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER},faces,price,weekly_impacts\n"
        "A1,kiosk,6-sheet,-0.1,51.5,two,£5,1000\n"
        "A2,kiosk,6-sheet,-0.2,51.5,1,100,lots\n"
        "A3,kiosk,6-sheet,-0.3,51.5,,,\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)
    kept = load_assets(path, drop_invalid=True)

    assert sorted(_errors(caught.value)) == [
        "data.csv, row 2 (id A1), column 'faces': 'two' is not a number. Enter a number in 'faces'",
        "data.csv, row 2 (id A1), column 'price_per_cycle': '£5' is not a number. "
        "Enter a number in 'price_per_cycle'",
        "data.csv, row 3 (id A2), column 'weekly_impacts': 'lots' is not a number. "
        "Enter a number in 'weekly_impacts'",
    ]
    assert kept["asset_id"].tolist() == ["A3"]
    assert kept["faces"].tolist() == [1]
    assert np.isnan(kept["price_per_cycle"].iloc[0])


def test_non_numeric_coordinates_are_reported_and_dropped(tmp_path):
    path = _csv(
        tmp_path, f"{ASSET_HEADER}\nA1,kiosk,6-sheet,abc,51.5\nA2,kiosk,6-sheet,-0.2,51.5\n"
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)
    kept = load_assets(path, drop_invalid=True)

    assert (
        "data.csv, row 2, column 'lon/lat': coordinates 'abc', '51.5' are not numbers. "
        "Fix or remove the row"
    ) in _errors(caught.value)
    assert kept["asset_id"].tolist() == ["A2"]
    assert kept.attrs["report"].rows_valid == 1


@pytest.mark.parametrize(
    ("column", "value", "found", "fix"),
    [
        ("faces", "0", "0 is not allowed", "Use a whole number of at least 1"),
        ("faces", "1.5", "1.5 is not allowed", "Use a whole number of at least 1"),
        ("faces", "-2", "-2 is not allowed", "Use a whole number of at least 1"),
        ("slots", "0", "0 is not allowed", "Use a whole number of at least 1"),
        ("price_per_cycle", "-1", "-1 is not allowed", "Use a number of at least 0"),
        ("digital", "maybe", "'maybe' is not yes/no", "Write true or false (yes/no, 1/0)"),
        ("status", "sold", "status 'sold' is unknown", "Use 'available' or 'unavailable'"),
    ],
)
def test_out_of_rule_values(tmp_path, column, value, found, fix):
    path = _csv(tmp_path, f"{ASSET_HEADER},{column}\nA1,kiosk,6-sheet,-0.1,51.5,{value}\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert _errors(caught.value) == [f"data.csv, row 2 (id A1), column '{column}': {found}. {fix}"]


def test_population_problems(tmp_path):
    path = _csv(
        tmp_path,
        "LSOA11CD,Persons_All-Ages,lon,lat\nE1,1500,-0.1,51.5\nE2,,-0.1,51.6\n"
        "E3,-4,-0.1,51.6\nE4,many,-0.1,51.6\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_zones(path)

    assert sorted(_errors(caught.value)) == [
        "data.csv, row 3 (id E2), column 'population': population is empty. "
        "Enter the zone's population (0 if nobody lives there)",
        "data.csv, row 4 (id E3), column 'population': -4 is not allowed. "
        "Use a number of at least 0",
        "data.csv, row 5 (id E4), column 'population': 'many' is not a number. "
        "Enter a number in 'population'",
    ]


def test_unknown_asset_type_and_format_are_warnings_and_rows_kept(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER}\nA1,Spaceship,6-sheet,-0.10001,51.50001\n"
        "A2,kiosk,giant,-0.20001,51.50001\nA3,kiosk,6-sheet,-0.30001,51.50001\n",
    )

    assets = load_assets(path)

    assert assets["asset_type"].tolist() == ["spaceship", "kiosk", "kiosk"]
    warned = _warnings(assets.attrs["report"])
    assert len(warned) == 2
    assert warned[0].startswith(
        "data.csv, column 'asset_type': 1 row(s) have an unrecognised asset_type (spaceship); "
        "they are kept. Known values: advertising_column, bike_dock"
    )
    assert "1 row(s) have an unrecognised format (giant); they are kept" in warned[1]


def test_unknown_site_kind_is_a_warning_and_row_kept(tmp_path):
    path = _csv(
        tmp_path, "site_id,kind,lon,lat\nS1,Casino,-0.10001,51.50001\nS2,school,-0.20001,51.50001\n"
    )

    sites = load_sites(path)

    assert sites["kind"].tolist() == ["casino", "school"]
    assert [p.found for p in sites.attrs["report"].warnings] == [
        "1 site(s) have a kind no built-in rule knows ('Casino' 1); an exclusion rule "
        "protects them only if its policy lists that kind"
    ]


def test_empty_site_kind_is_an_error(tmp_path):
    path = _csv(tmp_path, "site_id,kind,lon,lat\nS1,,-0.1,51.5\n")

    with pytest.raises(
        DataValidationError, match=r"row 2 \(id S1\), column 'kind': 'kind' is empty"
    ):
        load_sites(path)


# --- drop_invalid and the report ---------------------------------------------------------


def test_drop_invalid_drops_bad_rows_and_still_reports_each(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER},faces\nA1,kiosk,6-sheet,0,0,1\nA2,kiosk,6-sheet,-0.2,51.5,1\n"
        "A3,kiosk,6-sheet,,,1\nA4,kiosk,6-sheet,-0.4,51.5,0\nA5,kiosk,6-sheet,-0.5,51.5,2\n",
    )

    assets = load_assets(path, drop_invalid=True)

    report = assets.attrs["report"]
    assert assets["asset_id"].tolist() == ["A2", "A5"]
    assert assets["faces"].tolist() == [1, 2]
    assert (report.rows_read, report.rows_valid) == (5, 2)
    assert sorted((p.where, p.column) for p in report.errors) == [
        ("row 2 (id A1)", "geometry"),
        ("row 4 (id A3)", "geometry"),
        ("row 5 (id A4)", "faces"),
    ]


def test_valid_table_matches_the_contract(tmp_path):
    path = _csv(
        tmp_path,
        f"{ASSET_HEADER},digital,price,status,extra\n"
        "A1,digital_screen,d6,-0.1,51.5,yes,250.5,Unavailable,x\n"
        "A2,bus_shelter,6-sheet,-0.2,51.5,,,,y\n",
    )

    assets = load_assets(path)

    assert assets.columns.tolist() == [
        "asset_id", "asset_type", "format", "faces", "digital", "slots", "weekly_impacts",
        "price_per_cycle", "name", "ward", "status", "extra", "geometry",
    ]  # fmt: skip
    assert assets["digital"].tolist() == [True, False]
    assert assets["slots"].tolist() == [6, 6]
    assert assets["status"].tolist() == ["unavailable", "available"]
    assert assets["price_per_cycle"].iloc[0] == 250.5
    assert assets["faces"].dtype == np.int64
    assert assets["weekly_impacts"].isna().all()
    assert assets["name"].tolist() == ["", ""]


def test_digital_is_derived_from_format_when_absent(tmp_path):
    path = _csv(tmp_path, f"{ASSET_HEADER}\nA1,totem,d6,-0.1,51.5\nA2,kiosk,6-sheet,-0.2,51.5\n")

    assert load_assets(path)["digital"].tolist() == [True, False]


def test_report_text_lists_counts_errors_and_warnings(tmp_path):
    path = _csv(tmp_path, "asset_id,lon,lat\nA1,0,0\nA2,-0.20001,51.50001\n")

    report = validate_file(path, "assets", drop_invalid=True)

    lines = report.to_text().splitlines()
    assert lines[:6] == [
        "Assets file: data.csv",
        "  CRS: EPSG:4326",
        "  encoding: UTF-8",
        "  rows read: 2",
        "  rows valid: 1",
        "  errors: 1, warnings: 2",
    ]
    assert lines[6].startswith("  ERROR   data.csv, row 2 (id A1), column 'geometry': the point")
    assert all(line.startswith("  WARNING ") for line in lines[7:])
    assert len(lines) == 9


def test_validate_file_reports_instead_of_raising(tmp_path):
    bad = _csv(tmp_path, f"{ASSET_HEADER}\nA1,kiosk,6-sheet,0,0\nA2,kiosk,6-sheet,-0.2,51.5\n")
    unreadable = _csv(tmp_path, "not a geopackage", name="bad.gpkg")

    report = validate_file(bad, "assets")
    broken = validate_file(unreadable, "assets")

    assert (report.rows_read, report.rows_valid, len(report.errors)) == (2, 1, 1)
    assert report.crs == "EPSG:4326"
    assert (broken.source, broken.rows_read, broken.crs) == ("bad.gpkg", 0, "")
    assert broken.errors[0].found.startswith("the file could not be read as a GeoPackage")


def test_error_message_shows_twenty_problems_then_a_count(tmp_path):
    rows = "".join(f"A{i},kiosk,6-sheet,0,0\n" for i in range(25))
    path = _csv(tmp_path, f"{ASSET_HEADER}\n{rows}")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    message = str(caught.value).splitlines()
    assert message[0] == "data.csv: 25 problem(s) must be fixed before this file can be used:"
    assert len(message) == 22
    assert message[-1] == "  ... and 5 more (see .problems)"
    assert len(caught.value.problems) == 25


def test_validate_frame_on_an_in_memory_table(make_geo):
    frame = make_geo(
        [(530171, 179738), (0, 0)],
        crs="EPSG:27700",
        asset_id=["A1", "A2"],
        asset_type=["bus_stop", "bus_stop"],
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, report = validate_frame(
            frame, "assets", source="data", source_crs=BNG, drop_invalid=True
        )

    assert out.crs == "EPSG:4326"
    assert out["asset_id"].tolist() == ["A1"]
    assert out.geometry.iloc[0].x == pytest.approx(-0.1257, abs=1e-3)
    assert [p.where for p in report.errors] == ["row 2 (id A2)"]
    assert out.attrs["report"] is report
    [dropped] = report.errors
    assert (dropped.source, dropped.column, dropped.severity) == ("data", "geometry", "error")
    assert "null island" in dropped.found
