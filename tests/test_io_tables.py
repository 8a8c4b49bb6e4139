"""Kind 4: tables as councils really write them are read, or refused in one clear message.

UK standard column names (LGA/Transparency Code, NaPTAN, GIAS) and a per-row CRS column;
mappings before coordinates; OS grid references; decimal commas and thousands separators;
spreadsheet-mangled ids; integer GeoJSON feature ids; XLSX and ODS registers; detected and
explicit text encodings.
"""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import planner
from planner.errors import DataValidationError
from planner.io.encodings import detect_encoding
from planner.io.numbers import parse_numbers


def _csv(tmp_path, text: str, name: str = "data.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xy(frame, i: int, crs: str) -> tuple[float, float]:
    point = frame.to_crs(crs).geometry.iloc[i]
    return round(point.x, 1), round(point.y, 1)


# --- standard UK column names and the CRS column -------------------------------------------

LGA = (
    "OrganisationLabel,UPRN,AssetCode,PropertyName,CoordinateReferenceSystem,GeoX,GeoY\n"
    "Example Council,100012797623,C1,Town Hall,WGS84,-2.3520922,53.3879587\n"
    "Example Council,100012800714,C2,Depot,OSGB36,377000,388000\n"
)


def test_lga_register_reads_each_rows_crs(tmp_path):
    assets = planner.load_assets(_csv(tmp_path, LGA))

    assert assets["asset_id"].tolist() == ["C1", "C2"]
    assert assets["name"].tolist() == ["Town Hall", "Depot"]
    assert assets["UPRN"].tolist() == ["100012797623", "100012800714"]
    assert _xy(assets, 1, "EPSG:27700") == (377000.0, 388000.0)
    assert assets.geometry.iloc[0].equals_exact(shapely.Point(-2.3520922, 53.3879587), 1e-9)


def test_a_crs_column_that_contradicts_crs_is_refused(tmp_path):
    path = _csv(tmp_path, "AssetCode,CoordinateReferenceSystem,GeoX,GeoY\nC1,WGS84,-2.35,53.38\n")

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path, crs="EPSG:27700")

    assert "the 'CoordinateReferenceSystem' column says WGS84 but crs=EPSG:27700" in str(
        caught.value
    )


def test_an_unknown_crs_cell_names_its_row(tmp_path):
    path = _csv(tmp_path, "AssetCode,CRS,GeoX,GeoY\nC1,WGS84,-2.35,53.38\nC2,Mars 2000,1,2\n")

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)

    assert "data.csv, row 3, column 'CRS': 'Mars 2000' is not a coordinate reference system" in (
        str(caught.value)
    )


def test_naptan_stops_read_with_their_atco_codes(tmp_path):
    path = _csv(
        tmp_path,
        "ATCOCode,CommonName,Easting,Northing\n490000077A,Abbey Road,526500,183200\n",
    )

    assets = planner.load_assets(path, crs="EPSG:27700", defaults={"asset_type": "bus_stop"})

    assert assets[["asset_id", "name", "asset_type"]].values.tolist() == [
        ["490000077A", "Abbey Road", "bus_stop"]
    ]


def test_gias_urn_and_establishment_name(tmp_path):
    path = _csv(tmp_path, "URN,EstablishmentName,Easting,Northing\n100000,St Mary,530000,180000\n")

    sites = planner.load_sites(path, crs="EPSG:27700", defaults={"kind": "school"})

    assert sites[["site_id", "name", "kind"]].values.tolist() == [["100000", "St Mary", "school"]]


def test_a_mapping_names_the_coordinate_columns_before_they_are_looked_for(tmp_path):
    path = _csv(tmp_path, "ref,Xcoord,Ycoord\nA1,530000,180000\n")

    assets = planner.load_assets(path, crs="EPSG:27700", columns={"Xcoord": "x", "Ycoord": "y"})

    assert _xy(assets, 0, "EPSG:27700") == (530000.0, 180000.0)


def test_geox_geoy_in_degrees_without_a_crs_read_as_wgs84_with_a_warning(tmp_path):
    path = _csv(tmp_path, "AssetCode,GeoX,GeoY\nC1,-2.3520922,53.3879587\n")

    assets = planner.load_assets(path)

    assert assets.geometry.iloc[0].equals_exact(shapely.Point(-2.3520922, 53.3879587), 1e-9)
    assert any("read as WGS84" in p.found for p in assets.attrs["report"].warnings)


def test_eastings_without_a_crs_are_still_refused(tmp_path):
    path = _csv(tmp_path, "AssetCode,GeoX,GeoY\nC1,377000,388000\n")

    with pytest.raises(DataValidationError, match="no CRS was given"):
        planner.load_assets(path)


# --- OS grid references ----------------------------------------------------------------------


def test_os_grid_references_become_british_national_grid_points(tmp_path):
    path = _csv(tmp_path, "asset_id,OS Grid Reference\nA1,TQ 38123 79456\nA2,SU387148\nA3,ZZ 12\n")

    assets = planner.load_assets(path, drop_invalid=True)
    report = assets.attrs["report"]

    # 10 figures: the 1 m square's centre; 6 figures: the 100 m square's centre.
    assert _xy(assets, 0, "EPSG:27700") == (538123.5, 179456.5)
    assert _xy(assets, 1, "EPSG:27700") == (438750.0, 114850.0)
    assert assets["asset_id"].tolist() == ["A1", "A2"]
    assert "'ZZ 12' is not an OS grid reference" in report.errors[0].found
    assert any("1 grid reference(s) name a square of 100 m" in p.found for p in report.warnings)


# --- numbers and ids -------------------------------------------------------------------------


def test_semicolons_and_decimal_commas_are_read(tmp_path):
    path = _csv(tmp_path, "asset_id;lon;lat;faces\nH1;24,9384;60,1699;2\nH2;24,9458;60,1675;1\n")

    assets = planner.load_assets(path)

    assert assets.geometry.iloc[0].equals_exact(shapely.Point(24.9384, 60.1699), 1e-9)
    assert any(
        "numbers are written with a decimal comma (e.g. '24,9384')" in p.found
        for p in assets.attrs["report"].warnings
    )


def test_thousands_separators_are_read(tmp_path):
    path = _csv(
        tmp_path,
        'zone_id,population,lon,lat\nZ1,"1,634.5",-0.1,51.5\nZ2,"12,250",-0.2,51.5\nZ3,980,-0.3,51.5\n',
    )

    zones = planner.load_zones(path)

    assert zones["population"].tolist() == [1634.5, 12250.0, 980.0]


def test_numbers_that_could_be_either_are_named_in_one_message(tmp_path):
    path = _csv(tmp_path, 'zone_id,population,lon,lat\nZ1,"1,634",-0.1,51.5\n')

    with pytest.raises(DataValidationError) as caught:
        planner.load_zones(path)

    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1
    assert errors[0].column == "population"
    assert "numbers such as '1,634' could be read with a thousands separator" in errors[0].found


def test_parse_numbers_reads_european_thousands_dots():
    parsed = parse_numbers(pd.Series(["1.634,5", "12,25", "980"]))

    assert (parsed.style, parsed.values.tolist()) == ("decimal comma", [1634.5, 12.25, 980.0])


def test_spreadsheet_mangled_ids_say_how_to_export_them_again(tmp_path):
    path = _csv(
        tmp_path,
        "UPRN,PropertyName,lon,lat\n1.00012E+11,Town Hall,-2.35,53.38\n"
        "1.00012E+11,Library,-2.31,53.39\n1.00012E+11,Depot,-2.30,53.40\n",
    )

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)

    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1
    assert errors[0].where == ""
    assert "'1.00012E+11' were turned into scientific notation by a spreadsheet" in errors[0].found
    assert "so 3 rows now share an id" in errors[0].found
    assert "format the column as Text" in errors[0].fix
    assert "keep one of the duplicates" not in str(caught.value)


def test_integer_geojson_feature_ids_become_asset_ids(tmp_path):
    features = [
        {
            "type": "Feature",
            "id": fid,
            "properties": {"asset_type": "bus_shelter"},
            "geometry": {"type": "Point", "coordinates": [-0.1 - fid / 1e4, 51.5]},
        }
        for fid in (101, 205)
    ]
    path = tmp_path / "stops.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    assets = planner.load_assets(path)

    assert assets["asset_id"].tolist() == ["101", "205"]


# --- XLSX and ODS ----------------------------------------------------------------------------

REGISTER = pd.DataFrame(
    {
        "UPRN": [100012797623, 100012800714],
        "AssetCode": ["A1", "A2"],
        "GeoX": [-2.3520922, -2.306004],
        "GeoY": [53.3879587, 53.3914925],
    }
)


def test_xlsx_first_sheet_is_read_like_a_csv(tmp_path):
    path = tmp_path / "register.xlsx"
    REGISTER.to_excel(path, index=False)

    assets = planner.load_assets(path)

    assert assets["asset_id"].tolist() == ["A1", "A2"]
    assert assets["UPRN"].tolist() == ["100012797623", "100012800714"]
    assert assets.geometry.iloc[1].equals_exact(shapely.Point(-2.306004, 53.3914925), 1e-9)


def test_xlsx_named_sheet_and_a_missing_one(tmp_path):
    path = tmp_path / "register.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"note": ["read me"]}).to_excel(book, sheet_name="About", index=False)
        REGISTER.to_excel(book, sheet_name="Assets", index=False)

    assets = planner.load_assets(path, sheet="Assets")
    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path, sheet="Land")

    assert len(assets) == 2
    assert "the workbook has no sheet 'Land' (sheets: About, Assets)" in str(caught.value)


def test_xlsx_rows_get_the_same_validation_as_csv(tmp_path):
    path = tmp_path / "register.xlsx"
    bad = REGISTER.assign(GeoX=[-2.35, None])
    bad.to_excel(path, index=False)

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)

    assert "register.xlsx, row 3 (id A2), column 'geometry': the location is missing" in str(
        caught.value
    )


def test_ods_register_is_read(tmp_path):
    path = tmp_path / "register.ods"
    REGISTER.to_excel(path, index=False, engine="odf")

    assets = planner.load_assets(path)

    assert assets["asset_id"].tolist() == ["A1", "A2"]


# --- encodings -------------------------------------------------------------------------------


def test_a_windows_1252_csv_is_detected_and_the_report_says_so(tmp_path):
    path = _csv(
        tmp_path,
        "site_id,kind,name,lon,lat\nS1,school,St Mary’s Café,-0.1,51.5\n",
        encoding="cp1252",
    )

    sites = planner.load_sites(path)
    report = sites.attrs["report"]

    assert sites["name"].tolist() == ["St Mary’s Café"]
    assert report.encoding == "Windows-1252 (detected by charset-normalizer)"
    assert "  encoding: Windows-1252 (detected by charset-normalizer)" in report.to_text()


def test_an_explicit_encoding_is_honoured(tmp_path):
    # Latin-1 bytes of 'Ørsted' read as Latin-1 when asked, whatever detection would say.
    path = _csv(
        tmp_path, "site_id,kind,name,lon,lat\nS1,school,Ørsted,-0.1,51.5\n", "d.csv", "latin-1"
    )

    sites = planner.load_sites(path, encoding="latin-1")

    assert sites["name"].tolist() == ["Ørsted"]
    assert sites.attrs["report"].encoding == "ISO-8859-1 (Latin-1) (as given)"


def test_utf8_is_never_taken_for_a_legacy_code_page():
    assert detect_encoding("1,Ørsted ÅÄÖ\n".encode()).codec == "utf-8"
    assert detect_encoding("a,b\n1,Crème\n".encode("cp1252")).codec == "cp1252"


def _shapefile(tmp_path, encoding: str, name: str = "stops"):
    frame = gpd.GeoDataFrame(
        {"asset_id": ["A1", "A2"], "name": ["St Mary’s Café", "Crème brûlée"]},
        geometry=[shapely.Point(-0.1, 51.5), shapely.Point(-0.11, 51.5)],
        crs="EPSG:4326",
    )
    frame.to_file(tmp_path / f"{name}.shp", encoding=encoding)
    (tmp_path / f"{name}.cpg").unlink()
    return tmp_path / f"{name}.shp"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_shapefile_attributes_without_a_cpg_are_detected(tmp_path, encoding):
    path = _shapefile(tmp_path, encoding)

    assets = planner.load_assets(path)

    assert assets["name"].tolist() == ["St Mary’s Café", "Crème brûlée"]
    assert assets.attrs["report"].encoding.startswith(
        {"utf-8": "UTF-8", "cp1252": "Windows-1252"}[encoding]
    )


def test_zipped_shapefile_without_a_cpg_is_detected_in_memory_too(tmp_path):
    shp = _shapefile(tmp_path, "cp1252")
    archive = tmp_path / "stops.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(shp.with_suffix(f".{ext}"), f"stops.{ext}")

    assets = planner.load_assets(archive.read_bytes(), filename="stops.zip")

    assert assets["name"].tolist() == ["St Mary’s Café", "Crème brûlée"]


def test_an_explicit_encoding_is_honoured_for_a_shapefile(tmp_path):
    path = _shapefile(tmp_path, "cp1252")

    assets = planner.load_assets(path, encoding="latin-1")

    # Latin-1 reads 0x92 as a control character: the caller's choice, not a guess.
    assert assets["name"].tolist()[0] == "St Mary\x92s Café"
    assert assets.attrs["report"].encoding == "ISO-8859-1 (Latin-1) (as given)"


def test_an_encoding_given_for_a_geopackage_is_unused_with_a_warning(tmp_path):
    path = tmp_path / "assets.gpkg"
    gpd.GeoDataFrame(
        {"asset_id": ["A1"], "name": ["Café"]}, geometry=[shapely.Point(-0.1, 51.5)], crs=4326
    ).to_file(path)

    assets = planner.load_assets(path, encoding="cp1252")

    assert assets["name"].tolist() == ["Café"]
    assert any(
        "encoding='cp1252' was not used: a GeoPackage stores its text as Unicode" in p.found
        for p in assets.attrs["report"].warnings
    )
