"""Geometry a GIS export really produces: Z/M points, multi-parts, lines, polygons, rings,
collections and empties, as the loaders, eligibility and the audit read them.

Every shape is written to a real file in ``tmp_path`` and loaded with the public loaders; the
assertions are the asset refused, the id given, the warning's words.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.affinity

import planner
from planner.errors import DataValidationError
from planner.io.geometry import shape_parts, site_areas
from planner.policy.audit import audit

# British National Grid metres, central London: 100 m is 100 units.
X0, Y0 = 530_000.0, 180_000.0
BNG = "EPSG:27700"


def _assets_file(tmp_path, rows: list[tuple[str, str]], name: str = "assets.gpkg"):
    """Write ``(asset_id, WKT in metres from X0, Y0)`` rows as a GeoPackage in EPSG:27700."""
    shapes = [_shift(shapely.from_wkt(wkt)) for _, wkt in rows]
    frame = gpd.GeoDataFrame(
        {"asset_id": [i for i, _ in rows], "asset_type": "poster_box", "format": "6-sheet"},
        geometry=shapes,
        crs=BNG,
    )
    path = tmp_path / name
    frame.to_file(path)
    return path


def _sites_file(tmp_path, rows: list[tuple[str, str]], name: str = "sites.gpkg"):
    shapes = [_shift(shapely.from_wkt(wkt)) for _, wkt in rows]
    frame = gpd.GeoDataFrame(
        {
            "site_id": [i for i, _ in rows],
            "kind": "school",
            "name": [f"School {i}" for i, _ in rows],
        },
        geometry=shapes,
        crs=BNG,
    )
    path = tmp_path / name
    frame.to_file(path)
    return path


def _shift(geom):
    """Move a shape drawn around (0, 0) to London, keeping its Z values."""
    return shapely.affinity.translate(geom, X0, Y0)


def _warnings(frame) -> list[str]:
    return [p.found for p in frame.attrs["report"].warnings]


def _alcohol(assets, sites) -> dict[str, bool]:
    table = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    table = table[table["category"] == "alcohol"]
    return dict(zip(table["asset_id"], table["allowed"], strict=True))


# --- assets -----------------------------------------------------------------------------


def test_z_values_are_dropped_without_a_word(tmp_path):
    path = _assets_file(tmp_path, [("Z1", "POINT Z (0 0 41.7)"), ("Z2", "POINT Z (50 0 40)")])
    assert gpd.read_file(path).geometry.has_z.all()
    assets = planner.load_assets(path)
    assert not assets.geometry.has_z.any()
    assert assets["asset_id"].tolist() == ["Z1", "Z2"]
    assert not [w for w in _warnings(assets) if "geometry" in w or "Z" in w]


def test_m_values_in_a_wkt_column_are_dropped(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text(
        f"asset_id,geometry\nM1,POINT M ({X0} {Y0} 7)\nM2,POINT ZM ({X0 + 10} {Y0} 1 2)\n"
    )
    assets = planner.load_assets(path, crs=BNG)
    assert assets.geometry.geom_type.tolist() == ["Point", "Point"]
    assert not assets.geometry.has_z.any()
    assert not shapely.has_m(assets.geometry.to_numpy()).any()


def test_a_multipoint_becomes_one_asset_per_part_and_the_far_panel_is_judged(tmp_path):
    # Two poster boxes 1 km apart in one feature; the second is 17 m from a school.
    assets = planner.load_assets(
        _assets_file(tmp_path, [("A1", "POINT (-500 0)"), ("A17", "MULTIPOINT ((0 0), (1000 0))")])
    )
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", "POINT (1000 17)")]))
    assert assets["asset_id"].tolist() == ["A1", "A17#1", "A17#2"]
    assert assets["part_of"].tolist() == ["", "A17", "A17"]
    assert _alcohol(assets, sites) == {"A1": True, "A17#1": True, "A17#2": False}
    assert (
        "1 MultiPoint asset(s) split into 2 assets, one per part (ids '<id>#1', '<id>#2', "
        "...): A17 -> A17#1..#2"
    ) in _warnings(assets)


def test_every_split_is_counted_with_the_ids(tmp_path):
    rows = [
        ("P1", "MULTIPOINT ((0 0), (10 0))"),
        ("P2", "MULTIPOINT ((0 50), (10 50), (20 50))"),
        ("L1", "MULTILINESTRING ((0 100, 10 100), (0 110, 10 110))"),
    ]
    path = tmp_path / "assets.geojson"
    frame = gpd.GeoDataFrame(
        {"asset_id": [r[0] for r in rows]},
        geometry=[_shift(shapely.from_wkt(w)) for _, w in rows],
        crs=BNG,
    ).to_crs(4326)
    frame.to_file(path)
    assets = planner.load_assets(path)
    assert len(assets) == 7
    found = _warnings(assets)
    assert any(w.startswith("2 MultiPoint asset(s) split into 5 assets") for w in found)
    assert any(w.startswith("1 MultiLineString asset(s) split into 2 assets") for w in found)
    assert any("P2 -> P2#1..#3" in w for w in found)
    assert not any("line or polygon" in w and "MultiPoint" in w for w in found)


def test_a_single_part_multipoint_is_read_as_its_point_under_its_own_id(tmp_path):
    path = _assets_file(tmp_path, [("T2", "MULTIPOINT Z ((5 5 40))")])
    assert gpd.read_file(path).geometry.has_z.all()
    assets = planner.load_assets(path)
    assert assets["asset_id"].tolist() == ["T2"]
    assert assets.geometry.geom_type.tolist() == ["Point"]
    assert "1 single-part MultiPoint asset(s) read as a Point: T2" in _warnings(assets)


def test_a_collection_is_exploded_into_its_parts(tmp_path):
    rows = [("C1", "GEOMETRYCOLLECTION (POINT (0 0), LINESTRING (100 0, 200 0))")]
    path = tmp_path / "assets.geojson"
    gpd.GeoDataFrame(
        {"asset_id": ["C1"]}, geometry=[_shift(shapely.from_wkt(rows[0][1]))], crs=BNG
    ).to_crs(4326).to_file(path)
    assets = planner.load_assets(path)
    assert assets["asset_id"].tolist() == ["C1#1", "C1#2"]
    assert assets.geometry.geom_type.tolist() == ["Point", "LineString"]
    assert any(
        w.startswith("1 GeometryCollection asset(s) split into 2 assets") for w in _warnings(assets)
    )


def test_a_long_hoarding_is_measured_from_its_nearest_point_not_its_middle(tmp_path):
    # A 600 m hoarding whose far end is 20 m from a school: its middle is 300 m away.
    assets = planner.load_assets(_assets_file(tmp_path, [("H1", "LINESTRING (0 0, 600 0)")]))
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", "POINT (620 0)")]))
    assert assets.geometry.geom_type.tolist() == ["LineString"]
    assert _alcohol(assets, sites) == {"H1": False}
    table = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    assert table.loc[table["category"] == "alcohol", "reasons"].iloc[0].endswith("at 20 m")
    assert any(w.startswith("1 asset(s) are lines and are kept whole") for w in _warnings(assets))


def test_a_polygon_asset_keeps_its_footprint(tmp_path):
    assets = planner.load_assets(
        _assets_file(tmp_path, [("B1", "POLYGON ((0 0, 300 0, 300 10, 0 10, 0 0))")])
    )
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", "POINT (390 5)")]))
    assert _alcohol(assets, sites) == {"B1": False}  # 90 m from the footprint's edge


def test_line_and_polygon_assets_get_a_location_for_plans_and_audiences(tmp_path):
    assets = planner.load_assets(
        _assets_file(
            tmp_path,
            [
                ("H1", "LINESTRING (0 0, 600 0)"),
                ("B1", "POLYGON ((0 50, 30 50, 30 60, 0 60, 0 50))"),
            ],
        )
    )
    impacts = planner.estimate_impacts(assets)
    assert impacts["weekly_impacts"].gt(0).all()
    values = planner.value_assets(assets.assign(faces=1))
    assert values["annual_value_central"].gt(0).all()


def test_an_empty_geometry_is_refused_naming_the_row(tmp_path):
    path = tmp_path / "assets.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"asset_id": "A1"}, '
        '"geometry": {"type": "Point", "coordinates": [-0.1, 51.5]}},'
        '{"type": "Feature", "properties": {"asset_id": "E1"}, '
        '"geometry": {"type": "MultiPoint", "coordinates": []}}]}'
    )
    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)
    message = str(caught.value)
    assert "row 2 (id E1)" in message
    assert "the geometry is an empty MultiPoint" in message


def test_part_ids_that_clash_with_another_row_are_refused(tmp_path):
    path = _assets_file(
        tmp_path, [("A17", "MULTIPOINT ((0 0), (1000 0))"), ("A17#2", "POINT (5 5)")]
    )
    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)
    assert "row 1 (id A17)" in str(caught.value)
    assert "A17#2 they would get are already used" in str(caught.value)


def test_shape_parts_flattens_nested_collections_and_drops_empties():
    geom = shapely.from_wkt(
        "GEOMETRYCOLLECTION (MULTIPOINT ((0 0), (1 1)), GEOMETRYCOLLECTION (LINESTRING (0 0, 1 0)),"
        " POINT EMPTY)"
    )
    assert [p.wkt for p in shape_parts(geom)] == [
        "POINT (0 0)",
        "POINT (1 1)",
        "LINESTRING (0 0, 1 0)",
    ]
    ring = shapely.LinearRing([(0, 0), (1, 0), (1, 1), (0, 0)])
    assert shape_parts(ring)[0].geom_type == "LineString"


# --- sites --------------------------------------------------------------------------------


RING = "LINESTRING (0 0, 400 0, 400 400, 0 400, 0 0)"


def test_a_site_drawn_as_a_closed_line_protects_the_area_it_encloses(tmp_path):
    # The asset stands in the middle of a school's grounds, 200 m from the boundary line.
    assets = planner.load_assets(_assets_file(tmp_path, [("A1", "POINT (200 200)")]))
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", RING)]))
    assert sites.geometry.geom_type.tolist() == ["Polygon"]
    table = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    alcohol = table[table["category"] == "alcohol"].iloc[0]
    assert not alcohol["allowed"] and alcohol["reasons"].endswith("at 0 m")
    assert (
        "1 site(s) drawn as closed lines were read as the areas they enclose, so a point "
        "inside is at 0 m: S1"
    ) in _warnings(sites)


def test_eligibility_and_audit_read_rings_given_in_memory_as_areas():
    assets = gpd.GeoDataFrame(
        {"asset_id": ["A1"]}, geometry=[shapely.Point(X0 + 200, Y0 + 200)], crs=BNG
    )
    ring = _shift(shapely.LinearRing([(0, 0), (400, 0), (400, 400), (0, 400)]))
    collection = _shift(shapely.from_wkt(f"GEOMETRYCOLLECTION (POINT (5000 5000), {RING})"))
    policy = planner.load_policy("uk-cap-code")
    for shape in (ring, collection):
        sites = gpd.GeoDataFrame({"site_id": ["S"], "kind": ["school"]}, geometry=[shape], crs=BNG)
        assert _alcohol(assets, sites) == {"A1": False}
        placements = pd.DataFrame({"asset_id": ["A1"], "category": ["alcohol"], "cycle": [1]})
        found = audit(placements, assets, sites, policy)
        assert found["reason"].str.endswith("at 0 m").tolist() == [True]


def test_site_areas_turns_rings_inside_collections_into_polygons():
    shapes = site_areas(
        [
            shapely.from_wkt("MULTILINESTRING ((0 0, 1 0, 1 1, 0 1, 0 0), (5 5, 6 6))"),
            shapely.from_wkt("POINT (3 3)"),
        ]
    )
    assert shapes[0].geom_type == "GeometryCollection"
    assert [p.geom_type for p in shapes[0].geoms] == ["Polygon", "LineString"]
    assert shapes[1].wkt == "POINT (3 3)"


def test_an_open_line_site_is_kept_and_flagged(tmp_path):
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", "LINESTRING (0 0, 400 0)")]))
    assert sites.geometry.geom_type.tolist() == ["LineString"]
    assert any(w.startswith("1 site(s) are open lines") for w in _warnings(sites))


def test_a_multipoint_site_protects_every_part(tmp_path):
    assets = planner.load_assets(
        _assets_file(tmp_path, [("A1", "POINT (0 0)"), ("A2", "POINT (2000 50)")])
    )
    sites = planner.load_sites(_sites_file(tmp_path, [("S1", "MULTIPOINT ((5000 0), (2000 0))")]))
    assert _alcohol(assets, sites) == {"A1": True, "A2": False}
