"""The ethical promise checked end to end: no asset part near a protected site is allowed.

Awkward inputs are generated (every geometry type a GIS export produces, multi-parts, Z
values, rows in shuffled order with ids that sort oddly, sites whose kinds must be mapped,
rows with longitude and latitude swapped), written as real GeoPackage, GeoJSON and CSV files,
loaded with `planner.load_assets`/`planner.load_sites` and judged by `planner.eligibility`
with the uk-cap-code preset. Each (asset part, category) verdict is compared with a plain
computation on the raw file's geometry: every part separately, sites' closed rings as the
areas they enclose, `shapely.distance` in EPSG:27700, no spatial index, no planner code.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner

BNG = "EPSG:27700"
X0, Y0 = 530_000.0, 180_000.0  # central London
SIDE = 2_000.0  # metres: the square everything is drawn in
#: GIAS-style establishment types and the site kind each is mapped to.
KINDS = {
    "Community school": "school",
    "Academy converter": "school",
    "Special schools": "school",
    "Nursery": "nursery",
    "Park": "park",
}


def _xy(rng: np.random.Generator) -> tuple[float, float]:
    return float(X0 + rng.uniform(0, SIDE)), float(Y0 + rng.uniform(0, SIDE))


def _near(rng: np.random.Generator, x: float, y: float, spread: float) -> tuple[float, float]:
    return x + float(rng.uniform(-spread, spread)), y + float(rng.uniform(-spread, spread))


def _ring(x: float, y: float, r: float) -> list[tuple[float, float]]:
    return [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r), (x - r, y - r)]


def _asset_shape(kind: str, rng: np.random.Generator) -> shapely.Geometry:
    x, y = _xy(rng)
    near = [_near(rng, x, y, 400) for _ in range(3)]
    shapes = {
        "Point": lambda: shapely.Point(x, y),
        "PointZ": lambda: shapely.Point(x, y, float(rng.uniform(0, 60))),
        "MultiPoint1": lambda: shapely.MultiPoint([(x, y)]),
        "MultiPoint": lambda: shapely.MultiPoint(near[: int(rng.integers(2, 4))]),
        "MultiPointZ": lambda: shapely.MultiPoint([(a, b, 12.0) for a, b in near[:2]]),
        "LineString": lambda: shapely.LineString([(x, y), near[0]]),
        "ClosedLine": lambda: shapely.LineString(_ring(x, y, 30)),
        "Polygon": lambda: shapely.Polygon(_ring(x, y, 15)),
        "MultiLineString": lambda: shapely.MultiLineString([[(x, y), near[0]], [near[1], near[2]]]),
        "MultiPolygon": lambda: shapely.MultiPolygon(
            [shapely.Polygon(_ring(*near[0], 10)), shapely.Polygon(_ring(*near[1], 10))]
        ),
        "GeometryCollection": lambda: shapely.GeometryCollection(
            [shapely.Point(x, y), shapely.LineString([near[0], near[1]])]
        ),
    }
    return shapes[kind]()


ASSET_KINDS = (
    "Point",
    "PointZ",
    "MultiPoint1",
    "MultiPoint",
    "MultiPointZ",
    "LineString",
    "ClosedLine",
    "Polygon",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)


def _raw_assets(seed: int) -> gpd.GeoDataFrame:
    """Ten assets of each geometry type, shuffled, with ids that do not sort by row."""
    rng = np.random.default_rng(seed)
    kinds = [k for k in ASSET_KINDS for _ in range(10)]
    rng.shuffle(kinds)
    ids = [
        f"{rng.integers(1, 999)}-{i}" if i % 3 else f"A{len(kinds) - i}" for i in range(len(kinds))
    ]
    shapes = [_asset_shape(k, rng) for k in kinds]
    return gpd.GeoDataFrame(
        {"asset_id": ids, "asset_type": "poster_box", "format": "6-sheet", "shape": kinds},
        geometry=shapes,
        crs=BNG,
    )


def _raw_sites(seed: int) -> gpd.GeoDataFrame:
    """Schools as points, grounds, rings, multi-parts and collections; other kinds too."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for i in range(40):
        x, y = _xy(rng)
        shape = [
            shapely.Point(x, y),
            shapely.Point(x, y, 35.0),
            shapely.Polygon(_ring(x, y, 220)),  # grounds wider than the 100 m rule
            shapely.LineString(_ring(x, y, 250)),  # grounds drawn as a closed line
            shapely.MultiPolygon(
                [shapely.Polygon(_ring(x, y, 20)), shapely.Polygon(_ring(x + 150, y, 20))]
            ),
            shapely.MultiPoint([(x, y), (x, y + 200)]),
            shapely.GeometryCollection(
                [shapely.Point(x - 300, y), shapely.LineString(_ring(x, y, 230))]
            ),
            shapely.LineString([(x, y), (x + 120, y + 40)]),  # an open path
        ][i % 8]
        rows.append((f"{100_000 + i}", list(KINDS)[i % len(KINDS)], shape))
    return gpd.GeoDataFrame(
        {
            "URN": [r[0] for r in rows],
            "TypeOfEstablishment (name)": [r[1] for r in rows],
            "EstablishmentName": [f"Site {r[0]}" for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs=BNG,
    )


def _write(frame: gpd.GeoDataFrame, path) -> None:
    with warnings.catch_warnings():
        # GDAL notes that a GeoPackage layer of mixed types is not in the standard: it is
        # what GIS exports write, which is the point here.
        warnings.simplefilter("ignore", RuntimeWarning)
        frame.to_file(path)


# --- the plain computation on the raw file ---------------------------------------------------


def _plain_parts(geom: shapely.Geometry) -> list[shapely.Geometry]:
    if geom.geom_type in ("MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"):
        return [p for g in geom.geoms for p in _plain_parts(g)]
    return [geom]


def _plain_area(geom: shapely.Geometry) -> shapely.Geometry:
    """A site as the area it encloses: each closed line is the polygon inside it."""
    parts = []
    for part in _plain_parts(geom):
        closed = part.geom_type == "LineString" and part.is_closed and len(part.coords) >= 4
        parts.append(shapely.Polygon(part.coords) if closed else part)
    return shapely.GeometryCollection(parts)


def _outline(area: shapely.Geometry) -> shapely.Geometry:
    """The site with its areas reduced to their edges."""
    parts = [g.boundary if g.geom_type == "Polygon" else g for g in area.geoms]
    return shapely.GeometryCollection(parts)


def _expected(raw_assets_path, raw_sites_path) -> pd.DataFrame:
    """Per raw asset part and category: refused when within a rule's distance of its kind."""
    policy = planner.load_policy("uk-cap-code")
    assets = gpd.read_file(raw_assets_path).to_crs(BNG)
    sites = gpd.read_file(raw_sites_path).to_crs(BNG)
    kinds = sites["TypeOfEstablishment (name)"].map(KINDS).to_numpy()
    areas = [_plain_area(g) for g in sites.geometry]
    rows = []
    for asset_id, asset_type, geom in zip(
        assets["asset_id"], assets["asset_type"], assets.geometry, strict=True
    ):
        parts = _plain_parts(geom)
        for k, part in enumerate(parts, start=1):
            part_id = f"{asset_id}#{k}" if len(parts) > 1 else asset_id
            for category in policy.categories:
                refused, by_outline, margin = False, False, np.inf
                for rule in policy.exclusions:
                    if category not in rule.categories:
                        continue
                    if rule.asset_types is not None and asset_type not in rule.asset_types:
                        continue
                    for kind, area in zip(kinds, areas, strict=True):
                        if kind in rule.near:
                            d = shapely.distance(part, area)
                            refused |= d <= rule.within_m
                            margin = min(margin, abs(d - rule.within_m))
                            by_outline |= shapely.distance(part, _outline(area)) <= rule.within_m
                # refused only because a site is an area (inside it, far from its edge)
                deep = refused and not by_outline
                rows.append((part_id, category, not refused, margin, deep))
    columns = ["asset_id", "category", "expected_allowed", "margin_m", "deep_inside"]
    return pd.DataFrame(rows, columns=columns)


def _judged(assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    table = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    return table.assign(category=table["category"].astype(str))[["asset_id", "category", "allowed"]]


def _load_sites(path):
    return planner.load_sites(
        path,
        columns={
            "URN": "site_id",
            "TypeOfEstablishment (name)": "kind",
            "EstablishmentName": "name",
        },
        kinds=KINDS,
    )


def _compare(expected: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    both = expected.merge(judged, on=["asset_id", "category"], how="left", indicator=True)
    missing = both.loc[both["_merge"] != "both", "asset_id"].unique().tolist()
    assert not missing, f"asset parts with no verdict: {missing[:10]}"
    # A raw part within a rule's distance must never be allowed ...
    escaped = both[~both["expected_allowed"] & both["allowed"]]
    assert escaped.empty, f"allowed although within a rule's distance:\n{escaped.head(10)}"
    # ... and a part clearly outside every zone is not refused (a 1 cm margin for rounding).
    clear = both["margin_m"] > 0.01
    wrong = both[clear & (both["expected_allowed"] != both["allowed"])]
    assert wrong.empty, f"verdicts differ from the raw geometry:\n{wrong.head(10)}"
    return both


@pytest.mark.parametrize("seed", [13, 2027])
@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_every_asset_part_is_judged_as_its_raw_geometry_requires(tmp_path, seed, suffix):
    raw_assets, raw_sites = _raw_assets(seed), _raw_sites(seed)
    assets_path = tmp_path / f"assets{suffix}"
    sites_path = tmp_path / f"sites{suffix}"
    _write(raw_assets if suffix == ".gpkg" else raw_assets.to_crs(4326), assets_path)
    _write(raw_sites if suffix == ".gpkg" else raw_sites.to_crs(4326), sites_path)

    assets = planner.load_assets(assets_path)
    sites = _load_sites(sites_path)
    both = _compare(_expected(assets_path, sites_path), _judged(assets, sites))

    # Not vacuous: many parts refused, many allowed, every geometry type present.
    alcohol = both[both["category"] == "alcohol"]
    assert (~alcohol["allowed"]).sum() >= 10 and alcohol["allowed"].sum() >= 10
    assert alcohol["deep_inside"].sum() >= 3  # refused only because a site is an area
    assert len(assets) > len(raw_assets)  # multi-parts were split
    assert set(raw_assets["shape"]) == set(ASSET_KINDS)


def test_rows_with_longitude_and_latitude_swapped_are_refused_or_judged_where_they_are(tmp_path):
    seed = 7
    rng = np.random.default_rng(seed)
    raw_sites = _raw_sites(seed)
    sites_path = tmp_path / "sites.geojson"
    _write(raw_sites.to_crs(4326), sites_path)
    points = gpd.GeoSeries([shapely.Point(_xy(rng)) for _ in range(40)], crs=BNG).to_crs(4326)
    ids = [f"S{n}" for n in rng.permutation(40)]
    swapped = rng.random(40) < 0.2
    lon = np.where(swapped, points.y, points.x)
    lat = np.where(swapped, points.x, points.y)
    table = pd.DataFrame({"asset_id": ids, "asset_type": "poster_box", "lon": lon, "lat": lat})
    csv = tmp_path / "assets.csv"
    table.to_csv(csv, index=False, float_format="%.7f")

    assets = planner.load_assets(csv, drop_invalid=True)
    sites = _load_sites(sites_path)

    # The truth is where each panel stands: a swapped row's own coordinates, put right.
    truth = gpd.GeoDataFrame(
        {"asset_id": ids, "asset_type": "poster_box"},
        geometry=gpd.points_from_xy(points.x, points.y),
        crs=4326,
    )
    truth_path = tmp_path / "truth.gpkg"
    _write(truth, truth_path)
    expected = _expected(truth_path, sites_path)
    judged = _judged(assets, sites)
    kept = set(assets["asset_id"])
    refused_rows = {p.where for p in assets.attrs["report"].errors}
    for asset_id, was_swapped in zip(ids, swapped, strict=True):
        if asset_id not in kept:
            assert was_swapped, f"{asset_id} was dropped although its coordinates are right"
            assert any(f"(id {asset_id})" in where for where in refused_rows)
    _compare(expected[expected["asset_id"].isin(kept)], judged)
    assert swapped.sum() >= 4
