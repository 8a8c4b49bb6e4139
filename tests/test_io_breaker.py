"""Holes an independent tester found in issue 13's promise, each closed for its whole kind.

"No input may silently weaken a policy rule; when in doubt, refuse with a way out": several
layers or sheets, a CRS the numbers contradict, load warnings the commands hid, ambiguous
thousands dots, blank ``digital`` cells, spelled asset types, OSM sites outside a bbox or
in an incomplete relation or only tagged on a building, coarse or far-off locations, a
default that overrides a valid column, the 100 m boundary, curved and 3-D shapes, macOS
zips and kind suggestions. Every input is built here, in ``tmp_path``.
"""

from __future__ import annotations

import json
import struct
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

import planner
from planner.cli import main
from planner.errors import DataValidationError
from planner.io.osm import import_osm
from planner.io.readers import load_assets, load_sites, validate_file

SX, SY = 530_040, 180_040  # a school in central London, British National Grid metres
_TO_LL = Transformer.from_crs(27700, 4326, always_xy=True)
_TO_EN = Transformer.from_crs(4326, 27700, always_xy=True)


def _ll(x: float, y: float) -> tuple[float, float]:
    """Longitude/latitude of a British National Grid point."""
    return _TO_LL.transform(x, y)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _assets_csv(path: Path, points: list[tuple[float, float]], asset_type="bus_shelter") -> Path:
    """A lon/lat assets CSV with one shelter per BNG point, ids A0, A1, ..."""
    rows = "".join(
        "A{},{},6-sheet,{:.7f},{:.7f}\n".format(i, asset_type, *_ll(x, y))
        for i, (x, y) in enumerate(points)
    )
    return _write(path, "asset_id,asset_type,format,lon,lat\n" + rows)


def _sites(points: list[tuple[float, float]], crs=27700) -> gpd.GeoDataFrame:
    ids = [f"S{i}" for i in range(len(points))]
    return gpd.GeoDataFrame(
        {"site_id": ids, "kind": ["school"] * len(points)},
        geometry=[shapely.Point(p) for p in points],
        crs=crs,
    )


def _alcohol(assets, sites, policy="uk-cap-code") -> dict[str, bool]:
    policy = planner.load_policy(policy) if isinstance(policy, str) else policy
    table = planner.eligibility(assets, sites, policy)
    alcohol = table[table["category"] == "alcohol"]
    return dict(zip(alcohol["asset_id"], alcohol["allowed"], strict=True))


# --- r02, r01: several layers or sheets are never read first-only -----------------------------


def test_a_geopackage_with_two_filled_layers_is_refused_naming_them(tmp_path):
    path = tmp_path / "sites.gpkg"
    _sites([(SX, SY)]).to_file(path, layer="old", driver="GPKG")
    _sites([(SX, SY), (SX + 2000, SY)]).to_file(path, layer="schools", driver="GPKG", mode="a")

    with pytest.raises(DataValidationError) as caught:
        load_sites(path)

    text = str(caught.value)
    assert "2 layers with rows ('old' 1 row, 'schools' 2 rows)" in text
    assert "(--sites-layer old)" in text
    assert len(load_sites(path, layer="schools")) == 2


def test_an_empty_template_layer_is_skipped_for_the_one_with_rows(tmp_path):
    path = tmp_path / "sites.gpkg"
    empty = gpd.GeoDataFrame({"site_id": [], "kind": []}, geometry=gpd.GeoSeries([], crs=27700))
    empty.to_file(path, layer="template", driver="GPKG")
    _sites([(SX, SY), (SX + 2000, SY)]).to_file(path, layer="schools", driver="GPKG", mode="a")

    sites = load_sites(path)

    assert sites["site_id"].tolist() == ["S0", "S1"]  # not the empty first layer
    (note,) = [p.found for p in sites.attrs["report"].warnings if "layers" in p.found]
    assert note == (
        "the file has 2 layers with geometry ('template' 0 rows, 'schools' 2 rows); layer "
        "'schools' was read (the only one with rows)"
    )
    assets = tmp_path / "assets.csv"
    _assets_csv(assets, [(SX + 40, SY)])
    assert _alcohol(load_assets(assets), sites) == {"A0": False}  # 40 m from S0


def test_the_cli_reads_the_layer_it_is_told(tmp_path, capsys):
    path = tmp_path / "sites.gpkg"
    _sites([(SX + 5000, SY)]).to_file(path, layer="old", driver="GPKG")
    _sites([(SX, SY)]).to_file(path, layer="schools", driver="GPKG", mode="a")
    assets = _assets_csv(tmp_path / "assets.csv", [(SX + 40, SY)])
    out = tmp_path / "e.csv"
    argv = ["eligibility", "--assets", str(assets), "--sites", str(path)]
    argv += ["--policy", "uk-cap-code", "--out", str(out)]

    assert main(argv) == 2  # two layers with rows: refused
    assert "--sites-layer" in capsys.readouterr().err
    assert main([*argv, "--sites-layer", "schools"]) == 0
    table = pd.read_csv(out)
    assert not table.loc[table["category"] == "alcohol", "allowed"].item()


def test_a_planner_geopackage_with_its_style_table_reads_without_a_note(tmp_path):
    path = planner.write_table(_sites([(SX, SY)]), tmp_path / "sites.gpkg", layer="sites")
    assert "layer_styles" in [name for name, _ in pyogrio.list_layers(path)]

    sites = load_sites(path)

    assert sites["site_id"].tolist() == ["S0"]
    assert not [p for p in sites.attrs["report"].warnings if "layer" in p.found]


def _workbook(path: Path, sheets: list[tuple[str, list[list], bool]], active: int = 0) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows, hidden in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if hidden:
            sheet.sheet_state = "hidden"
    book.active = active
    book.save(path)
    return path


def _site_rows(*points: tuple[float, float]) -> list[list]:
    return [["site_id", "kind", "lon", "lat"]] + [
        [f"S{i}", "school", *_ll(*p)] for i, p in enumerate(points)
    ]


def test_a_hidden_first_sheet_is_never_read_silently(tmp_path):
    path = _workbook(
        tmp_path / "schools.xlsx",
        [("old_2019", _site_rows((SX, SY)), True), ("Schools", _site_rows((SX, SY)) * 1, False)],
        active=1,
    )

    report = validate_file(path, "sites")

    (error,) = report.errors
    assert "'old_2019' (hidden) 1 row, 'Schools' 1 row" in error.found
    assert "sheet='Schools' (--sites-sheet Schools)" in error.fix  # a visible one first
    assert len(load_sites(path, sheet="Schools")) == 1


def test_the_only_visible_sheet_with_rows_is_read_and_named(tmp_path):
    path = _workbook(
        tmp_path / "schools.xlsx",
        [
            ("Notes", [["This register lists schools"]], False),
            ("Schools", _site_rows((SX, SY)), False),
        ],
    )

    sites = load_sites(path)

    assert sites["site_id"].tolist() == ["S0"]
    assert any("sheet 'Schools' was read" in p.found for p in sites.attrs["report"].warnings)


def test_a_hidden_ods_sheet_is_named_hidden(tmp_path):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableProperties
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    style = Style(name="hidden", family="table")
    style.addElement(TableProperties(display="false"))
    doc.automaticstyles.addElement(style)
    for name, hidden in (("old", True), ("Schools", False)):
        table = Table(name=name, stylename=style) if hidden else Table(name=name)
        for values in _site_rows((SX, SY)):
            row = TableRow()
            for value in values:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
                row.addElement(cell)
            table.addElement(row)
        doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "schools.ods"))

    (error,) = validate_file(tmp_path / "schools.ods", "sites").errors

    assert "'old' (hidden) 1 row, 'Schools' 1 row" in error.found


# --- r13, u01: a CRS the numbers contradict is a file problem with advice that works ----------


def _bng_geojson(path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"site_id": f"S{i}", "kind": "school"},
            "geometry": {"type": "Point", "coordinates": [SX + 2000 * i, SY]},
        }
        for i in range(2)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_eastings_in_a_geojson_without_crs_are_one_file_error_naming_the_grid(tmp_path):
    path = _bng_geojson(tmp_path / "schools.geojson")

    report = validate_file(path, "sites")

    (error,) = report.errors
    assert error.where == ""  # the file's, not the rows': dropping rows cannot help
    assert "all 2 rows have coordinates outside the valid longitude/latitude range" in error.found
    assert "British National Grid eastings/northings in metres (EPSG:27700)" in error.found
    assert "crs='EPSG:27700' (--sites-crs EPSG:27700)" in error.fix
    with pytest.raises(DataValidationError):  # --drop-invalid cannot empty the file either
        load_sites(path, drop_invalid=True)
    # The advice works: a GeoJSON without a 'crs' member is read in the CRS given.
    sites = load_sites(path, crs="EPSG:27700")
    east, north = _TO_EN.transform(*sites.geometry.iloc[0].coords[0])
    assert (round(east), round(north)) == (SX, SY)


def test_a_prj_the_coordinates_contradict_gives_way_to_the_crs_given(tmp_path):
    lon, lat = _ll(SX, SY)
    lies = gpd.GeoDataFrame(
        {"site_id": ["S1"], "kind": ["school"]}, geometry=[shapely.Point(lon, lat)], crs=27700
    )
    lies.to_file(tmp_path / "lies.shp")

    (error,) = validate_file(tmp_path / "lies.shp", "sites").errors
    sites = load_sites(tmp_path / "lies.shp", crs="EPSG:4326")

    assert "the numbers look like longitude/latitude degrees (EPSG:4326)" in error.found
    assert "crs='EPSG:4326'" in error.fix
    assert sites.geometry.iloc[0].coords[0] == pytest.approx((lon, lat))
    assert any("as crs= said" in p.found for p in sites.attrs["report"].warnings)
    # A CRS the coordinates do not fit, given for a file whose own CRS they fit, is refused.
    good = tmp_path / "good.gpkg"
    _sites([(SX, SY)]).to_file(good)
    with pytest.raises(DataValidationError, match="fit the file's own CRS"):
        load_sites(good, crs="EPSG:4326")


def test_drop_invalid_never_empties_a_sites_file(tmp_path):
    path = _write(tmp_path / "sites.csv", "site_id,kind,lon,lat\nS1,school,0,0\nS2,school,0,0\n")

    with pytest.raises(DataValidationError, match="would drop all 2 rows and leave no sites"):
        load_sites(path, drop_invalid=True)


def test_cli_validate_never_suggests_drop_invalid_for_a_crs_problem(tmp_path, capsys):
    path = _bng_geojson(tmp_path / "schools.geojson")

    assert main(["validate", "--sites", str(path)]) == 2

    out = capsys.readouterr().out
    assert "--sites-crs EPSG:27700" in out
    assert "--drop-invalid" not in out


# --- r08: every command prints the loaders' warnings ------------------------------------------


def test_eligibility_prints_that_an_empty_sites_file_protects_nothing(tmp_path, capsys):
    assets = _assets_csv(tmp_path / "assets.csv", [(SX + 40, SY)])
    sites = _write(tmp_path / "sites.csv", "site_id,kind,lon,lat\n")
    argv = ["eligibility", "--assets", str(assets), "--sites", str(sites)]
    argv += ["--policy", "uk-cap-code", "--out", str(tmp_path / "e.csv")]

    assert main(argv) == 0

    err = capsys.readouterr().err
    assert "warning: sites.csv: there are no sites, so every exclusion rule protects nothing" in err


def test_rows_dropped_by_drop_invalid_are_printed_with_their_ids(tmp_path, capsys):
    rows = "".join(
        "A{},bus_shelter,6-sheet,{:.7f},{:.7f}\n".format(i, *_ll(SX + 500 * i, SY))
        for i in range(3)
    )
    assets = _write(
        tmp_path / "assets.csv",
        "asset_id,asset_type,format,lon,lat\n" + rows + "BAD,kiosk,6-sheet,0,0\n",
    )
    argv = ["value", "--assets", str(assets), "--drop-invalid", "--out", str(tmp_path / "v.csv")]

    assert main(argv) == 0

    err = capsys.readouterr().err
    assert "assets.csv: --drop-invalid dropped 1 row(s)" in err
    assert "dropped assets.csv, row 5 (id BAD), column 'geometry': the point is at 0/0" in err


# --- r03: a thousands dot in a ';' file is ambiguous ------------------------------------------


def test_a_thousands_dot_in_a_semicolon_file_is_refused_not_read_as_a_decimal(tmp_path):
    path = _write(
        tmp_path / "sites.csv",
        "site_id;kind;easting;northing\nS0;school;530040;180040\nS1;school;532.040;180.040\n",
    )

    with pytest.raises(DataValidationError) as caught:
        load_sites(path, crs="EPSG:27700")

    (problem,) = caught.value.problems
    assert problem.column == "easting"
    assert problem.found.startswith(
        "numbers such as '532.040' could be read with a thousands separator (532040) or as a "
        "decimal (532.04)"
    )


def test_a_decimal_point_elsewhere_in_the_column_settles_it(tmp_path):
    path = _write(
        tmp_path / "sites.csv",
        "site_id;kind;lon;lat\nS0;school;-0.127;51.507\nS1;school;-0.12765;51.50712\n",
    )

    sites = load_sites(path)

    assert sites.geometry.iloc[0].coords[0] == pytest.approx((-0.127, 51.507))


# --- r06: a blank digital cell takes the type's and format's default --------------------------


def test_a_blank_digital_cell_is_digital_for_a_digital_format(tmp_path):
    x, y = _ll(SX + 50, SY)
    path = _write(
        tmp_path / "assets.csv",
        "asset_id,asset_type,format,digital,lon,lat\n"
        f"SCR1,digital_screen,d6,,{x:.7f},{y:.7f}\n"
        f"P1,bus_shelter,6-sheet,,{x:.7f},{y:.7f}\n"
        f"P2,bus_shelter,d6,no,{x:.7f},{y:.7f}\n",
    )

    assets = load_assets(path)

    assert assets["digital"].tolist() == [True, False, False]
    policy = planner.policy_from_text(
        'name = "digital"\n[[rules]]\nid = "d"\ntype = "exclusion"\ncategories = ["hfss"]\n'
        'near = ["school"]\nwithin_m = 200\ndigital = true\n'
    )
    table = planner.eligibility(assets, load_sites_frame(), policy)
    hfss = table[table["category"] == "hfss"].set_index("asset_id")["allowed"]
    assert hfss.to_dict() == {"SCR1": False, "P1": True, "P2": True}


def load_sites_frame() -> gpd.GeoDataFrame:
    """The school at (SX, SY) as `load_sites` returns it."""
    sites = _sites([(SX, SY)]).to_crs(4326)
    sites["name"] = ""
    return sites


# --- r07: asset types spelled as people write them --------------------------------------------


def test_asset_types_are_normalised_like_kinds(tmp_path):
    rows = "".join(
        "A{},{},{:.7f},{:.7f}\n".format(i, t, *_ll(SX + 50, SY + i))
        for i, t in enumerate(["bus_shelter", "Bus Shelter", "bus-shelter", "BUS SHELTER"])
    )
    assets = load_assets(_write(tmp_path / "assets.csv", "asset_id,asset_type,lon,lat\n" + rows))

    assert assets["asset_type"].tolist() == ["bus_shelter"] * 4
    assert assets["format"].tolist() == ["6-sheet"] * 4  # the type's format, found again
    policy = planner.policy_from_text(
        'name = "shelters"\n[[rules]]\nid = "s"\ntype = "exclusion"\ncategories = ["alcohol"]\n'
        'near = ["school"]\nwithin_m = 100\nasset_types = ["bus_shelter"]\n'
    )
    assert set(_alcohol(assets, load_sites_frame(), policy).values()) == {False}


def test_an_unknown_asset_type_under_a_type_scoped_rule_stops_the_run(tmp_path):
    path = _write(
        tmp_path / "assets.csv",
        "asset_id,asset_type,format,lon,lat\nA1,shelter,6-sheet,{:.7f},{:.7f}\n".format(
            *_ll(SX + 50, SY)
        ),
    )
    assets = load_assets(path)
    scoped = planner.policy_from_text(
        'name = "shelters"\n[[rules]]\nid = "s"\ntype = "exclusion"\ncategories = ["alcohol"]\n'
        'near = ["school"]\nwithin_m = 100\nasset_types = ["bus_shelter"]\n'
    )

    with pytest.raises(DataValidationError) as caught:
        planner.eligibility(assets, load_sites_frame(), scoped)

    assert "1 asset(s) have an asset type no rule knows ('shelter' 1)" in str(caught.value)
    assert "s: bus_shelter" in str(caught.value)
    # A policy that scopes no rule by type is not stopped: every asset is in every rule.
    assert _alcohol(assets, load_sites_frame()) == {"A1": False}


# --- r04, r05, r14: OpenStreetMap sites near the box, in broken relations, on buildings -------


def _osm(path: Path, body: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        + body
        + "</osm>\n"
    )
    return path


def _node(i: int, dx: float, dy: float, **tags: str) -> str:
    lon, lat = _ll(530_000 + dx, 180_000 + dy)
    inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}" version="1">{inner}</node>\n'


def test_a_bbox_keeps_a_school_just_outside_it_and_names_it(tmp_path):
    path = _osm(
        tmp_path / "area.osm",
        _node(1, 0, 0, amenity="school", name="Border School")
        + _node(2, 0, 60, highway="bus_stop", shelter="yes")
        + _node(3, 0, -1000, amenity="school", name="Far School"),
    )
    s = _ll(530_000, 180_000 + 30)[1]  # the box starts 30 m north of the school
    w, n = _ll(530_000 - 2000, 180_000 + 2000)
    e = _ll(530_000 + 2000, 180_000)[0]

    assets, sites = import_osm(path, bbox=(w, s, e, n))

    assert sites["name"].tolist() == ["Border School"]  # 30 m out: kept; 1,030 m out: not
    report = sites.attrs["import_report"]
    assert report.skipped["sites"]["outside the bbox by more than 400 m"] == 1
    assert any("osm-n1 (Border School)" in note for note in report.notes)
    assert _alcohol(assets, sites) == {"osm-n2": False}  # 60 m from the school


def test_a_school_relation_missing_a_way_is_imported_from_its_parts(tmp_path):
    corners = "".join(
        _node(i + 1, dx, dy) for i, (dx, dy) in enumerate([(-150, -150), (150, -150), (150, 150)])
    )
    path = _osm(
        tmp_path / "area.osm",
        corners
        + _node(10, 0, 0, highway="bus_stop", shelter="yes")
        + '<way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>\n'
        '<relation id="900" version="1"><member type="way" ref="100" role="outer"/>'
        '<member type="way" ref="101" role="outer"/><tag k="type" v="multipolygon"/>'
        '<tag k="amenity" v="school"/><tag k="name" v="Campus School"/></relation>\n',
    )

    assets, sites = import_osm(path)

    assert sites["site_id"].tolist() == ["osm-r900"]
    assert sites.attrs["clipped"] == ["osm-r900"]
    (note,) = sites.attrs["import_report"].notes
    assert note.startswith("sites: relation 900 (Campus School) has 1 of its 2 member way(s)")
    assert _alcohol(assets, sites) == {"osm-n10": False}  # the stop inside the campus


def test_schools_tagged_only_on_a_building_or_grounds_are_sites(tmp_path):
    square = [(-50, -50), (50, -50), (50, 50), (-50, 50)]
    far = [(x + 3000, y) for x, y in square]
    nodes = "".join(_node(i + 1, *p) for i, p in enumerate(square + far))
    inside = [(x / 5, y / 5) for x, y in square]
    nodes += "".join(_node(i + 20, *p) for i, p in enumerate(inside))
    ring = "".join(f'<nd ref="{i}"/>' for i in (1, 2, 3, 4, 1))
    grounds = "".join(f'<nd ref="{i}"/>' for i in (5, 6, 7, 8, 5))
    block = "".join(f'<nd ref="{i}"/>' for i in (20, 21, 22, 23, 20))
    path = _osm(
        tmp_path / "area.osm",
        nodes
        + _node(40, 0, 90, highway="bus_stop", shelter="yes")
        + _node(41, 3000, 100, highway="bus_stop", shelter="yes")
        + f'<way id="100" version="1">{ring}<tag k="amenity" v="school"/></way>\n'
        + f'<way id="101" version="1">{block}<tag k="building" v="school"/></way>\n'
        + f'<way id="102" version="1">{grounds}<tag k="landuse" v="education"/></way>\n',
    )

    assets, sites = import_osm(path)

    # The building inside the amenity=school area adds nothing; the lone grounds are a school.
    assert sorted(sites["site_id"]) == ["osm-w100", "osm-w102"]
    assert set(sites["kind"]) == {"school"}
    report = sites.attrs["import_report"]
    assert (
        report.skipped["sites"]["building=school|kindergarten, landuse=education inside a site"]
        == 1
    )
    assert _alcohol(assets, sites) == {"osm-n40": False, "osm-n41": False}


# --- r10, r11: coarse and far-off locations ---------------------------------------------------


def test_longitude_latitude_with_two_decimals_are_named(tmp_path):
    lon, lat = _ll(SX, SY)
    path = _write(
        tmp_path / "sites.csv",
        f"site_id,kind,lon,lat\nS1,school,{lon:.2f},{lat:.2f}\nS2,school,{lon:.5f},{lat:.5f}\n",
    )

    (warning,) = [p for p in load_sites(path).attrs["report"].warnings if "decimals" in p.found]

    assert warning.found.startswith("1 row(s) give longitude and latitude with 2 decimals")
    assert warning.found.endswith(": row 2 (id S1)")


def test_a_grid_reference_coarser_than_100_m_is_refused_for_a_site(tmp_path):
    text = "site_id,kind,grid_ref\nS1,school,TQ 30 80\nS2,school,TQ\nS3,school,TQ 300 800\n"
    path = _write(tmp_path / "sites.csv", text)

    report = validate_file(path, "sites")

    assert [(p.where, p.found.split(",")[0]) for p in report.errors] == [
        ("row 2 (id S1)", "'TQ 30 80' names a 1 km square"),
        ("row 3 (id S2)", "'TQ' names a 100 km square"),
    ]
    assert "6-, 8- or 10-figure grid reference" in report.errors[0].fix
    # An asset placed by the same reference is kept, with the warning.
    assets = load_assets(path, columns={"site_id": "asset_id"}, defaults={"asset_type": "kiosk"})
    assert len(assets) == 3


def test_a_row_far_from_the_others_is_named(tmp_path):
    rows = [(SX + 2000 * i, SY + 1000 * (i % 2)) for i in range(5)]
    text = "site_id,kind,easting,northing\n" + "".join(
        f"S{i},school,{x // 10 if i == 2 else x},{y}\n" for i, (x, y) in enumerate(rows)
    )

    sites = load_sites(_write(tmp_path / "sites.csv", text), crs="EPSG:27700")

    (far,) = [p for p in sites.attrs["report"].warnings if "middle of the file" in p.found]
    assert far.where == "row 4 (id S2)"
    assert far.found.startswith("coordinates (53404, 180040) lie 477 km from the middle")


def test_two_rows_one_with_easting_and_northing_swapped_are_an_error(tmp_path):
    text = f"site_id,kind,easting,northing\nS0,school,{SY},{SX}\nS1,school,{SX + 2000},{SY}\n"

    (error,) = validate_file(_write(tmp_path / "s.csv", text), "sites", crs="EPSG:27700").errors

    assert "row 2 (id S0) (180040, 530040) and row 3 (id S1) (532040, 180040)" in error.found
    assert error.found.endswith("one of them has x and y swapped")


# --- r09: a default that overrides a column of valid values is named --------------------------


def test_a_default_that_overrides_a_column_of_kinds_is_a_warning(tmp_path):
    a, b = _ll(SX, SY), _ll(SX + 3000, SY)
    path = _write(
        tmp_path / "sites.csv",
        "site_id,site_type,lon,lat\nS1,school,{:.6f},{:.6f}\nS2,,{:.6f},{:.6f}\n".format(*a, *b),
    )

    sites = load_sites(path, defaults={"kind": "nursery"})

    (warning,) = [p for p in sites.attrs["report"].warnings if p.column == "site_type"]
    assert warning.found == (
        "column 'site_type' holds kind values ('school' 1) but was not used: the default given "
        "for 'kind' goes to every row, so its 1 value(s) were ignored"
    )
    assert "columns={'site_type': 'kind'}" in warning.fix
    mapped = load_sites(path, defaults={"kind": "nursery"}, columns={"site_type": "kind"})
    assert mapped["kind"].tolist() == ["school", "nursery"]  # the default fills the blank only


# --- r12: "within 100 m" includes 100 m, in eligibility and the audit alike -------------------


def test_an_asset_exactly_100_m_away_is_refused_and_the_reason_says_99_5(tmp_path):
    sites = load_sites(
        _write(tmp_path / "s.csv", f"site_id,kind,easting,northing\nS1,school,{SX},{SY}\n"),
        crs="EPSG:27700",
    )
    text = "asset_id,asset_type,format,easting,northing\n" + "".join(
        f"D{d},bus_shelter,6-sheet,{SX + d},{SY}\n" for d in (99.5, 100.0, 100.4)
    )
    assets = load_assets(_write(tmp_path / "a.csv", text), crs="EPSG:27700")
    policy = planner.load_policy("uk-cap-code")

    table = planner.eligibility(assets, sites, policy)

    alcohol = table[table["category"] == "alcohol"].set_index("asset_id")
    assert alcohol["allowed"].to_dict() == {"D99.5": False, "D100.0": False, "D100.4": True}
    assert alcohol.loc["D99.5", "reasons"].endswith("at 99.5 m")
    assert alcohol.loc["D100.0", "reasons"].endswith("at 100 m")
    booked = pd.DataFrame(
        {"asset_id": ["D100.0", "D100.4"], "campaign_id": "C1", "cycle": 1, "category": "alcohol"}
    )
    violations = planner.audit(booked, assets, sites, policy)
    assert violations["asset_id"].tolist() == ["D100.0"]
    assert violations["reason"].item().endswith("at 100 m")


# --- u04, u02, u05, u06: messages that leave nobody stuck -------------------------------------


def test_curved_and_3d_wkt_in_a_csv_are_named_without_a_traceback(tmp_path):
    ring = f"{SX - 200} {SY}, {SX} {SY + 200}, {SX + 200} {SY}, {SX} {SY - 200}, {SX - 200} {SY}"
    curve = f"CURVEPOLYGON (CIRCULARSTRING ({ring}))"
    solid = f"POLYHEDRALSURFACE Z ((({SX} {SY} 0, {SX + 9} {SY} 0, {SX} {SY + 9} 0, {SX} {SY} 0)))"
    path = _write(
        tmp_path / "sites.csv",
        f'site_id,kind,geometry\nS1,school,"{curve}"\nS2,school,"{solid}"\nS3,school,"POINT (1"\n'
        f'S4,school,"POINT ({SX} {SY})"\n',
    )

    report = validate_file(path, "sites", crs="EPSG:27700")

    found = [p.found for p in report.errors if p.column == "geometry" and "missing" not in p.found]
    assert found == [
        "the shape is a CURVEPOLYGON, a curved geometry the planner cannot measure",
        "the shape is a POLYHEDRALSURFACE, a 3-D surface: an unsupported geometry type",
        "'POINT (1' is not a WKT shape",
    ]


def _polyhedral_wkb(x: float, y: float) -> bytes:
    """ISO WKB of a one-face PolyhedralSurface (type 15): a triangle at (x, y)."""
    ring = [(x, y), (x + 9, y), (x, y + 9), (x, y)]
    polygon = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring))
    polygon += b"".join(struct.pack("<dd", *p) for p in ring)
    return struct.pack("<BII", 1, 15, 1) + polygon


def test_a_geopackage_of_3d_surfaces_names_the_unsupported_type(tmp_path):
    path = tmp_path / "schools.gpkg"
    with warnings.catch_warnings():  # GDAL registers its non-standard surface extension
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.raw.write(
            path,
            geometry=np.array([_polyhedral_wkb(SX, SY)], dtype=object),
            field_data=[np.array(["S1"], dtype=object)],
            fields=["site_id"],
            geometry_type="Unknown",
            crs="EPSG:27700",
            driver="GPKG",
        )

    (error,) = validate_file(path, "sites").errors

    assert error.found.startswith("the file holds PolyhedralSurface shapes")
    assert "unsupported geometry type" in error.found
    assert "ogr2ogr -nlt MULTIPOLYGON" in error.fix


def test_macos_resource_forks_in_a_zip_are_not_a_second_shapefile(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    _sites([(SX, SY)]).to_file(source / "schools.shp")
    path = tmp_path / "schools.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(source.iterdir()):
            archive.write(member, f"schools/{member.name}")
            archive.writestr(f"__MACOSX/schools/._{member.name}", b"\x00\x05\x16\x07Mac OS X")

    assert load_sites(path)["site_id"].tolist() == ["S0"]
    assert load_sites(path.read_bytes(), filename="schools.zip")["site_id"].tolist() == ["S0"]


def test_a_crs_hint_names_the_files_own_option(tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", [(SX, SY), (SX + 500, SY)])

    with pytest.raises(DataValidationError) as caught:
        load_assets(path, crs="EPSG:27700")  # a shared --crs meant for the sites

    assert "crs='EPSG:4326' (--assets-crs EPSG:4326)" in str(caught.value)
    assert "(--crs " not in str(caught.value)


def test_kind_suggestions_name_only_file_values_and_never_default_to_school(tmp_path):
    lon, lat = _ll(SX, SY)
    text = "site_id,kind,lon,lat\n" + "".join(
        f"S{i},{k},{lon + i / 100:.6f},{lat:.6f}\n"
        for i, k in enumerate(["kindergarten", "Children’s centre", "Hospice"])
    )

    (warning,) = [
        p
        for p in load_sites(_write(tmp_path / "s.csv", text)).attrs["report"].warnings
        if p.column == "kind"
    ]

    assert (
        "kinds={'kindergarten': 'nursery', 'Children’s centre': 'childrens_centre'}" in warning.fix
    )
    assert "'Hospice'" not in warning.fix.split("Known kinds")[0]  # nothing fits: not suggested
    mapped = load_sites(
        _write(tmp_path / "a.csv", text.replace("kindergarten", "Academy")),
        kinds={"Academy": "schools"},
    )
    with pytest.raises(DataValidationError) as caught:
        planner.check_sites_against_policy(mapped, planner.load_policy("uk-cap-code"))
    message = str(caught.value)
    assert "Your kind map gives 'schools' (for 'Academy'), which is not a site kind" in message
    assert "kinds={'Academy': 'school'" in message
    assert "{'schools':" not in message  # never a key that is not in the file


def test_a_zip_of_two_shapefiles_names_each_with_its_rows_and_reads_the_one_named(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    _sites([(SX, SY)]).to_file(folder / "old.shp")
    _sites([(SX, SY), (SX + 2000, SY)]).to_file(folder / "schools.shp")
    path = tmp_path / "both.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, member.name)

    (error,) = validate_file(path, "sites").errors

    assert (
        error.found
        == "the zip holds 2 shapefiles ('old' 1 row, 'schools' 2 rows) and none was chosen"
    )
    assert "layer='old' (--sites-layer old)" in error.fix
    assert len(load_sites(path, layer="schools")) == 2
    assert len(load_sites(path.read_bytes(), filename="both.zip", layer="schools")) == 2
