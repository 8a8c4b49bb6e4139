"""Tests of planner.io.readers: every input format, CRS handling, zip safety and atomic writers."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import planner
import planner.io.readers as pio
from planner.errors import CampaignError, DataValidationError, PlannerError
from planner.io.readers import (
    atomic_path,
    load_assets,
    load_sites,
    load_zones,
    read_table,
    write_layers,
    write_table,
)

# Westminster station and Greenwich: two real London places, in longitude/latitude.
LONLAT = [(-0.1257, 51.5010), (-0.0098, 51.4826)]


@pytest.fixture
def assets_4326(make_geo) -> gpd.GeoDataFrame:
    return make_geo(
        LONLAT,
        crs="EPSG:4326",
        asset_id=["A1", "A2"],
        asset_type=["bus_shelter", "billboard"],
        faces=[2, 1],
    )


def _problem_text(exc: DataValidationError) -> str:
    return "\n".join(str(p) for p in exc.problems)


def _write_shapefile(frame: gpd.GeoDataFrame, folder: Path) -> Path:
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / "frames.shp")
    return folder / "frames.shp"


def _zip_folder(folder: Path, target: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, f"{prefix}{member.name}")
    return target


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".zip":
        _zip_folder(_write_shapefile(frame, path.parent / "shp").parent, path, prefix="data/")
    else:
        pyogrio.write_dataframe(frame, path)
    return path


# --- reading every format ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "crs"),
    [
        ("assets.gpkg", "EPSG:27700"),
        ("assets.geojson", "EPSG:4326"),
        ("assets.shp", "EPSG:27700"),
        ("assets.zip", "EPSG:27700"),
        ("assets.fgb", "EPSG:27700"),
        ("assets.parquet", "EPSG:27700"),
    ],
)
def test_every_geo_format_loads_to_lonlat(tmp_path, assets_4326, name, crs):
    path = _write(assets_4326.to_crs(crs), tmp_path / name)

    # FlatGeobuf stores features in spatial-index order, so compare in id order.
    assets = load_assets(path).sort_values("asset_id", ignore_index=True)

    assert assets.crs == "EPSG:4326"
    assert assets["asset_id"].tolist() == ["A1", "A2"]
    assert assets["asset_type"].tolist() == ["bus_shelter", "billboard"]
    assert assets["faces"].tolist() == [2, 1]
    assert assets["format"].tolist() == ["6-sheet", "48-sheet"]
    np.testing.assert_allclose(shapely.get_coordinates(assets.geometry.array), LONLAT, atol=1e-6)
    report = assets.attrs["report"]
    assert (report.rows_read, report.rows_valid, report.errors) == (2, 2, [])
    assert report.crs == crs


def test_sites_keep_polygons_and_zones_read_from_geopackage(tmp_path, make_geo):
    school = shapely.box(-0.13, 51.50, -0.12, 51.51)
    sites = make_geo([school, (-0.2, 51.4)], site_id=["S1", "S2"], kind=["school", "playground"])
    zones = make_geo([school], zone_id=["E01"], population=[1500])
    pyogrio.write_dataframe(sites, tmp_path / "sites.gpkg")
    pyogrio.write_dataframe(zones, tmp_path / "zones.gpkg")

    loaded = load_sites(tmp_path / "sites.gpkg")
    demand = load_zones(tmp_path / "zones.gpkg")

    assert loaded.geometry.geom_type.tolist() == ["Polygon", "Point"]
    assert loaded["kind"].tolist() == ["school", "playground"]
    assert demand["population"].tolist() == [1500.0]
    assert demand["zone_id"].tolist() == ["E01"]


def test_geopackage_layer_is_chosen_by_name(tmp_path, make_geo):
    path = tmp_path / "two.gpkg"
    first = make_geo(LONLAT[:1], asset_id=["first"], asset_type=["kiosk"])
    second = make_geo(LONLAT, asset_id=["x", "y"], asset_type=["kiosk", "kiosk"])
    pyogrio.write_dataframe(first, path, layer="a")
    pyogrio.write_dataframe(second, path, layer="b", append=True)

    # Both layers have rows: the first is never read silently (issue 13, breaker r02).
    with pytest.raises(DataValidationError, match=r"2 layers with rows \('a' 1 row, 'b' 2 rows"):
        load_assets(path)
    assert load_assets(path, layer="a")["asset_id"].tolist() == ["first"]
    assert load_assets(path, layer="b")["asset_id"].tolist() == ["x", "y"]


def test_csv_lon_lat_aliases_are_recognised(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text(
        "ID,Type,Stop Name,Longitude,Latitude,Num_Faces,Council Ref\n"
        "A1,Bus_Shelter,Parliament Sq,-0.1257,51.5010,2,K-1\n"
        "A2,billboard,Greenwich,-0.0098,51.4826,1,K-2\n"
    )

    assets = load_assets(path)

    assert assets.crs == "EPSG:4326"
    assert assets["asset_id"].tolist() == ["A1", "A2"]
    assert assets["asset_type"].tolist() == ["bus_shelter", "billboard"]
    assert assets["name"].tolist() == ["Parliament Sq", "Greenwich"]
    assert assets["faces"].tolist() == [2, 1]
    assert assets["Council Ref"].tolist() == ["K-1", "K-2"]  # extra columns are kept
    assert "Longitude" not in assets.columns
    np.testing.assert_allclose(shapely.get_coordinates(assets.geometry.array), LONLAT)
    assert assets.attrs["report"].rows_read == 2


def test_csv_easting_northing_needs_a_crs_and_is_reprojected(tmp_path, assets_4326):
    bng = shapely.get_coordinates(assets_4326.to_crs("EPSG:27700").geometry.array)
    path = tmp_path / "assets.csv"
    path.write_text(
        "asset_id,asset_type,Location_Easting,Location_Northing\n"
        + "".join(f"A{i + 1},kiosk,{x:.3f},{y:.3f}\n" for i, (x, y) in enumerate(bng))
    )

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)
    assets = load_assets(path, crs="EPSG:27700")

    assert "'Location_Easting'/'Location_Northing' but no CRS was given" in str(caught.value)
    assert "crs='EPSG:27700'" in str(caught.value)
    assert assets.crs == "EPSG:4326"
    assert assets.attrs["report"].crs == "EPSG:27700"
    np.testing.assert_allclose(shapely.get_coordinates(assets.geometry.array), LONLAT, atol=1e-6)


def test_csv_wkt_geometry_needs_a_crs(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        "site_id,kind,geometry\n"
        'S1,school,"POLYGON ((-0.13 51.5, -0.12 51.5, -0.12 51.51, -0.13 51.5))"\n'
        "S2,playground,POINT (-0.2 51.4)\n"
    )

    with pytest.raises(DataValidationError) as caught:
        load_sites(path)
    sites = load_sites(path, crs="EPSG:4326")

    assert "the 'geometry' column holds shapes but no CRS was given" in str(caught.value)
    assert sites.geometry.geom_type.tolist() == ["Polygon", "Point"]
    assert sites["site_id"].tolist() == ["S1", "S2"]


def test_tab_separated_text_is_read(tmp_path):
    path = tmp_path / "assets.tsv"
    path.write_text("asset_id\tasset_type\tlon\tlat\nA1\tkiosk\t-0.1\t51.5\n")

    assert load_assets(path)["asset_id"].tolist() == ["A1"]


def test_explicit_columns_mapping_and_defaults(tmp_path):
    path = tmp_path / "bus-stops.csv"
    path.write_text(
        "Stop_Code_LBSL,Stop_Name,Location_Easting,Location_Northing,Heading\n"
        "1000,WESTMINSTER STN,530171,179738,177\n"
        "10001,TREVOR CLOSE,515781,174783,78\n"
    )

    stops = load_assets(
        path,
        crs="EPSG:27700",
        columns={"Stop_Code_LBSL": "asset_id"},
        defaults={"asset_type": "bus_stop", "ward": "Westminster"},
    )

    assert stops["asset_id"].tolist() == ["1000", "10001"]
    assert stops["asset_type"].tolist() == ["bus_stop", "bus_stop"]
    assert stops["format"].tolist() == ["6-sheet", "6-sheet"]
    assert stops["ward"].tolist() == ["Westminster", "Westminster"]
    assert stops["name"].tolist() == ["WESTMINSTER STN", "TREVOR CLOSE"]
    assert stops["Heading"].tolist() == ["177", "78"]
    assert "Stop_Code_LBSL" not in stops.columns


def test_defaults_fill_blanks_of_an_existing_column(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,asset_type,lon,lat\nA1,,-0.1,51.5\nA2,kiosk,-0.2,51.5\n")

    assets = load_assets(path, defaults={"asset_type": "lamp_column"})

    assert assets["asset_type"].tolist() == ["lamp_column", "kiosk"]
    assert assets["format"].tolist() == ["banner", "6-sheet"]


def test_columns_mapping_names_a_column_the_file_lacks(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("Code,lon,lat\nA1,-0.1,51.5\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path, columns={"Stop_Code": "asset_id"})

    text = str(caught.value)
    assert "column 'Stop_Code' named in columns= is not in the file" in text
    assert "Use one of: Code" in text


# --- files that cannot be read -----------------------------------------------------------


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(DataValidationError, match=r"nothere\.gpkg' does not exist"):
        load_assets(tmp_path / "nothere.gpkg")
    folder = tmp_path / "folder.gpkg"
    folder.mkdir()
    with pytest.raises(DataValidationError, match="this is a folder, not a file"):
        load_assets(folder)


def test_unsupported_extension_lists_the_formats(tmp_path):
    path = tmp_path / "assets.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    text = str(caught.value)
    assert "files ending '.xls' are not supported" in text
    assert "Save it as .xlsx or CSV" in text


@pytest.mark.parametrize("name", ["assets.csv", "assets.gpkg", "assets.geojson"])
def test_zero_byte_file_is_empty(tmp_path, name):
    path = tmp_path / name
    path.touch()

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert (
        _problem_text(caught.value) == f"{name}: the file is empty (0 bytes). Export the data again"
    )


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("assets.gpkg", "could not be read as a GeoPackage"),
        ("assets.geojson", "could not be read as GeoJSON"),
        ("assets.fgb", "could not be read as FlatGeobuf"),
        ("assets.parquet", "could not be read as GeoParquet"),
        ("assets.zip", "the file is not a valid zip archive"),
    ],
)
def test_wrong_format_file_is_reported_not_raised_raw(tmp_path, name, found):
    path = tmp_path / name
    path.write_text("asset_id,lon,lat\nA1,-0.1,51.5\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert found in str(caught.value)
    assert len(caught.value.problems) == 1


def test_missing_crs_is_never_guessed(tmp_path, assets_4326):
    shp = _write_shapefile(assets_4326.to_crs("EPSG:27700"), tmp_path / "shp")
    shp.with_suffix(".prj").unlink()

    with pytest.raises(DataValidationError) as caught:
        load_assets(shp)
    assets = load_assets(shp, crs="EPSG:27700")

    assert "does not say which coordinate reference system (CRS)" in str(caught.value)
    assert "crs='EPSG:27700' for British National Grid" in str(caught.value)
    np.testing.assert_allclose(shapely.get_coordinates(assets.geometry.array), LONLAT, atol=1e-6)


def test_given_crs_contradicting_the_file_is_refused(tmp_path, assets_4326):
    path = _write(assets_4326, tmp_path / "assets.gpkg")

    with pytest.raises(DataValidationError, match="the file's CRS is EPSG:4326 but crs=EPSG:27700"):
        load_assets(path, crs="EPSG:27700")


def test_unknown_crs_text_is_refused(tmp_path, assets_4326):
    path = _write(assets_4326, tmp_path / "assets.gpkg")

    with pytest.raises(DataValidationError, match="'EPSG:999999' is not a coordinate reference"):
        load_assets(path, crs="EPSG:999999")


def test_csv_without_coordinate_columns(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,postcode\nA1,SW1A 0AA\n")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    text = str(caught.value)
    assert "no coordinate columns found (columns: asset_id, postcode)" in text
    assert "Add lon/lat (or easting/northing) columns" in text


def test_non_utf8_csv_suggests_the_encoding(tmp_path):
    path = tmp_path / "schools.csv"
    path.write_bytes("site_id,kind,name,lon,lat\nS1,school,St Mary’s,-0.1,51.5\n".encode("cp1252"))

    with pytest.raises(DataValidationError) as caught:
        load_sites(path, encoding="utf-8")
    sites = load_sites(path, encoding="cp1252")

    text = str(caught.value)
    assert "the file is not UTF-8 text (byte 0x92" in text
    assert "encoding='cp1252' (--sites-encoding cp1252)" in text
    assert sites["name"].tolist() == ["St Mary’s"]


def test_row_limit_is_enforced(tmp_path, monkeypatch, assets_4326):
    monkeypatch.setattr(pio, "MAX_ROWS", 1)
    csv = tmp_path / "assets.csv"
    csv.write_text("asset_id,lon,lat\nA1,-0.1,51.5\nA2,-0.2,51.5\n")
    gpkg = _write(assets_4326, tmp_path / "assets.gpkg")

    with pytest.raises(DataValidationError, match="more than 1 rows"):
        load_assets(csv)
    with pytest.raises(DataValidationError, match="the file has 2 rows, more than the limit of 1"):
        load_assets(gpkg)


def test_read_table_returns_frame_crs_and_first_row(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,easting,northing\nA1,530171,179738\n")

    frame, crs, first_row, problems = read_table(path, crs="EPSG:27700")

    assert (crs.to_epsg(), first_row, problems) == (27700, 2, [])
    assert frame.geometry.iloc[0].equals(shapely.Point(530171, 179738))


# --- zipped shapefiles -------------------------------------------------------------------


def test_zip_member_outside_the_folder_is_refused(tmp_path, assets_4326):
    folder = _write_shapefile(assets_4326, tmp_path / "shp").parent
    path = _zip_folder(folder, tmp_path / "evil.zip", prefix="../")

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert "the zip member '../frames.cpg' points outside the archive's folder" in str(caught.value)


def test_zip_without_shapefile_is_refused(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "no shapes here")

    with pytest.raises(DataValidationError, match=r"the zip holds no \.shp file"):
        load_assets(path)


def test_zip_with_two_shapefiles_is_refused(tmp_path, assets_4326):
    folder = _write_shapefile(assets_4326, tmp_path / "shp").parent
    path = _zip_folder(folder, tmp_path / "two.zip", prefix="a/")
    with zipfile.ZipFile(path, "a") as archive:
        archive.write(folder / "frames.shp", "b/frames.shp")

    with pytest.raises(DataValidationError, match="the zip holds 2 shapefiles"):
        load_assets(path)


def test_zip_bomb_refused_by_declared_size(tmp_path, monkeypatch, assets_4326):
    folder = _write_shapefile(assets_4326, tmp_path / "shp").parent
    path = _zip_folder(folder, tmp_path / "frames.zip")
    declared = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(pio, "MAX_UNZIPPED_BYTES", declared - 1)

    with pytest.raises(DataValidationError) as caught:
        load_assets(path)

    assert "the zip would unpack to" in str(caught.value)
    assert "Send a smaller extract" in str(caught.value)
    monkeypatch.setattr(pio, "MAX_UNZIPPED_BYTES", declared)
    assert len(load_assets(path)) == 2


# --- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".parquet"])
def test_write_table_round_trip_geodata(tmp_path, assets_4326, suffix):
    frame = assets_4326.assign(price=[1.5, np.nan], digital=[True, False])

    path = write_table(frame, tmp_path / f"out{suffix}")
    # layer 0: a GeoPackage also holds its QGIS layer_styles table
    back = gpd.read_parquet(path) if suffix == ".parquet" else pyogrio.read_dataframe(path, layer=0)
    back = back.sort_values("asset_id", ignore_index=True)  # FlatGeobuf reorders features

    assert path == tmp_path / f"out{suffix}"
    assert back.crs == "EPSG:4326"
    assert back["asset_id"].tolist() == ["A1", "A2"]
    assert back["faces"].tolist() == [2, 1]
    assert back["price"].iloc[0] == 1.5
    assert np.isnan(back["price"].iloc[1])
    assert back.geometry.geom_equals(frame.geometry).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out{suffix}"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_table_round_trip_text_geometry(tmp_path, assets_4326, suffix):
    path = write_table(assets_4326, tmp_path / f"out{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_excel(path)

    assert back.columns.tolist() == ["asset_id", "asset_type", "faces", "geometry"]
    assert back["asset_id"].tolist() == ["A1", "A2"]
    assert back["faces"].tolist() == [2, 1]
    assert shapely.from_wkt(back["geometry"]).tolist() == assets_4326.geometry.tolist()


def test_write_layers_geopackage_and_excel(tmp_path, assets_4326):
    values = pd.DataFrame({"asset_id": ["A1", "A2"], "value": [10.0, 20.0]})
    layers = {"assets": assets_4326, "values": values}

    gpkg = write_layers(layers, tmp_path / "plan.gpkg")
    xlsx = write_layers(layers, tmp_path / "plan.xlsx")

    assert [name for name, _ in pyogrio.list_layers(gpkg)] == ["assets", "values", "layer_styles"]
    assert pyogrio.read_dataframe(gpkg, layer="values")["value"].tolist() == [10.0, 20.0]
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["assets", "values"]
    assert sheets["values"]["value"].tolist() == [10.0, 20.0]


def test_write_table_names_the_layer_after_the_file_or_option(tmp_path, assets_4326):
    write_table(assets_4326, tmp_path / "assets.gpkg")
    write_table(assets_4326, tmp_path / "other.gpkg", layer="frames")

    assert pyogrio.list_layers(tmp_path / "assets.gpkg")[0][0] == "assets"
    assert pyogrio.list_layers(tmp_path / "other.gpkg")[0][0] == "frames"


def test_write_table_refuses_unknown_suffix(tmp_path, assets_4326):
    with pytest.raises(PlannerError, match=r"Cannot write 'out\.txt': use \.gpkg"):
        write_table(assets_4326, tmp_path / "out.txt")
    assert list(tmp_path.iterdir()) == []


def test_write_table_replaces_an_existing_file(tmp_path, assets_4326):
    path = tmp_path / "out.gpkg"
    write_table(assets_4326, path)

    write_table(assets_4326.iloc[:1], path)

    assert len(pyogrio.read_dataframe(path, layer="out")) == 1


def _boom_after_partial_write(*args, **kwargs):
    target = next(a for a in (*args, *kwargs.values()) if isinstance(a, Path))
    target.write_text("half a file")
    Path(f"{target}-journal").write_text("sqlite journal")
    raise OSError("disk full")


def test_failed_gpkg_write_keeps_the_previous_file(tmp_path, monkeypatch, assets_4326):
    path = write_table(assets_4326, tmp_path / "out.gpkg")
    before = path.read_bytes()
    monkeypatch.setattr(pyogrio, "write_dataframe", _boom_after_partial_write)

    with pytest.raises(OSError, match="disk full"):
        write_table(assets_4326.iloc[:1], path)

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


def test_failed_csv_write_keeps_the_previous_file(tmp_path, monkeypatch, assets_4326):
    path = write_table(assets_4326, tmp_path / "out.csv")
    before = path.read_text()

    def boom(self, target, **kwargs):
        _boom_after_partial_write(target)

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_table(assets_4326.iloc[:1], path)

    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_atomic_path_renames_only_on_success(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    with atomic_path(path) as tmp:
        assert tmp.parent == path.parent
        assert tmp != path
        tmp.write_text("new")
        assert not path.exists()
    assert path.read_text() == "new"

    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("broken")
        raise RuntimeError("stop")

    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]


# --- files in memory: bytes, BytesIO, open files (uploads) ----------------------------------


@pytest.mark.parametrize(
    "name",
    ["assets.gpkg", "assets.geojson", "assets.zip", "assets.fgb", "assets.parquet", "assets.csv"],
)
def test_every_format_loads_from_bytes_and_file_objects(tmp_path, assets_4326, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("asset_id,lon,lat,asset_type\nA1,-0.1257,51.501,bus_shelter\n"
                        "A2,-0.0098,51.4826,billboard\n", encoding="utf-8")  # fmt: skip
    else:
        _write(assets_4326.to_crs("EPSG:27700"), path)  # the zip holds data/frames.shp
    data = path.read_bytes()
    with path.open("rb") as opened:
        loaded = {
            "bytes": load_assets(data, filename=f"C:\\uploads\\{name}"),
            "BytesIO": load_assets(io.BytesIO(data), filename=name),
            "open file": load_assets(opened),
        }
    for how, assets in loaded.items():
        assets = assets.sort_values("asset_id", ignore_index=True)
        assert assets["asset_id"].tolist() == ["A1", "A2"], how
        assert assets["asset_type"].tolist() == ["bus_shelter", "billboard"], how
        np.testing.assert_allclose(shapely.get_coordinates(assets.geometry.array), LONLAT,
                                   atol=1e-6)  # fmt: skip
        assert assets.attrs["report"].source == name, how


def test_bytes_need_a_file_name_and_text_files_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"needs filename=, e\.g\. filename='assets\.gpkg'"):
        load_assets(b"asset_id,lon,lat\n")
    with pytest.raises(TypeError, match=r"needs filename="):
        load_assets(io.BytesIO(b"asset_id,lon,lat\n"))
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,lon,lat\n", encoding="utf-8")
    with path.open(encoding="utf-8") as text, pytest.raises(TypeError, match=r"binary mode"):
        load_assets(text)
    with pytest.raises(TypeError, match="got int"):
        load_assets(42)


@pytest.mark.parametrize(
    ("name", "data", "found"),
    [
        ("upload.gpkg", b"", "upload.gpkg: the file is empty (0 bytes)"),
        ("upload.gpkg", b"not a geopackage" * 8,
         "upload.gpkg: the file could not be read as a GeoPackage ('upload.gpkg' not recognized"),
        ("upload.zip", b"PK\x03\x04 truncated", "upload.zip: the file is not a valid zip archive"),
        ("upload.shp", b"\x00\x00\x27\x0a", "upload.shp: a Shapefile read from memory has no "
         ".shx, .dbf and .prj beside it. Zip the shapefile's"),
        ("upload.docx", b"PK", "upload.docx: files ending '.docx' are not supported"),
    ],
)  # fmt: skip
def test_problems_of_a_file_in_memory_name_the_file(name, data, found):
    with pytest.raises(DataValidationError) as caught:
        load_assets(data, filename=name)
    assert found in _problem_text(caught.value)
    assert "vsimem" not in str(caught.value)


def test_zip_checks_apply_in_memory(tmp_path, assets_4326):
    folder = _write_shapefile(assets_4326, tmp_path / "shp").parent
    evil = _zip_folder(folder, tmp_path / "evil.zip", prefix="../").read_bytes()
    with pytest.raises(DataValidationError, match="points outside the archive's folder"):
        load_assets(evil, filename="evil.zip")
    two = _zip_folder(folder, tmp_path / "two.zip", prefix="a/")
    with zipfile.ZipFile(two, "a") as archive:
        archive.write(folder / "frames.shp", "b/frames.shp")
    with pytest.raises(DataValidationError, match="the zip holds 2 shapefiles"):
        load_assets(two.read_bytes(), filename="two.zip")


def test_sites_zones_layers_and_validation_from_bytes(tmp_path, make_geo):
    square = shapely.box(-0.13, 51.50, -0.12, 51.51)
    sites = make_geo([square], crs="EPSG:4326", site_id=["S1"], kind=["school"])
    zones = make_geo([square], crs="EPSG:4326", zone_id=["Z1"], population=[1500])
    for frame, stem in ((sites, "sites"), (zones, "zones")):
        pyogrio.write_dataframe(frame, tmp_path / f"{stem}.gpkg")
    assert load_sites((tmp_path / "sites.gpkg").read_bytes(), filename="sites.gpkg")[
        "site_id"
    ].tolist() == ["S1"]
    loaded = load_zones(io.BytesIO((tmp_path / "zones.gpkg").read_bytes()), filename="z.gpkg")
    assert loaded["population"].tolist() == [1500]
    layer = planner.load_layer((tmp_path / "sites.gpkg").read_bytes(), filename="stops.gpkg")
    assert (len(layer), layer.crs) == (1, "EPSG:4326")
    report = planner.validate_file(b"asset_id,lon,lat\nA1,x,51.5\n", "assets", filename="mine.csv")
    assert report.source == "mine.csv"
    assert "coordinates 'x', '51.5' are not numbers" in report.to_text()


def test_campaigns_read_from_bytes_name_the_upload():
    text = (planner.DATA_DIR / "campaigns.csv").read_bytes()
    table = planner.read_campaigns_table(text, filename="my campaigns.csv")
    campaigns = planner.load_campaigns(io.BytesIO(text), filename="my campaigns.csv")
    assert len(table) == len(campaigns) == 10
    assert campaigns[0].campaign_id == table.loc[0, "campaign_id"]
    with pytest.raises(CampaignError, match=r"^bad\.csv: row 2, column 'budget'|^bad\.csv: "):
        planner.load_campaigns(
            b"campaign_id,advertiser,category,budget,cycles,min_faces,max_faces\n"
            b"C1,Acme,general,lots,1,1,2\n",
            filename="bad.csv",
        )


def test_a_file_of_another_format_or_without_geometry_is_refused_in_memory_too(tmp_path):
    import sqlite3

    plain = tmp_path / "plain.gpkg"
    with contextlib.closing(sqlite3.connect(plain)) as db, db:
        db.execute("CREATE TABLE stops (asset_id TEXT, lon REAL, lat REAL)")
    with pytest.raises(DataValidationError, match=r"could not be read as a GeoPackage \(it holds"
                       r" SQLite data\)"):  # fmt: skip
        load_assets(plain.read_bytes(), filename="plain.gpkg")
    table = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"asset_id": ["A1"], "asset_type": ["bus_stop"]}), table)
    for source in (table, table.read_bytes()):
        with pytest.raises(DataValidationError, match="the layer has no geometry"):
            load_assets(source, filename="table.gpkg")
