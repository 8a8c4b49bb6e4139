"""Write the binary files of the malformed-input corpus in ``tests/bad_inputs/``.

Run from the project root (the text files of the corpus are written by hand)::

    python scripts/make_bad_inputs.py            # into tests/bad_inputs/generated/
    python scripts/make_bad_inputs.py --out DIR  # elsewhere (the tests write to a temp dir)

The generated folder is git-ignored: ``tests/test_bad_inputs.py`` regenerates it for every
run, so the corpus cannot drift from this script. ``tests/bad_inputs/manifest.toml`` names
each generated file with ``generated = true``.

Every file is small: damaged copies of valid GeoPackage, Shapefile, FlatGeobuf, GeoParquet
and OpenStreetMap PBF files, zips that must be refused before they are unpacked (a zip
bomb whose headers declare more than `planner.io.readers.MAX_UNZIPPED_BYTES`, member names that
escape the folder), and geometries that are wrong in the ways real exports are wrong.
"""

from __future__ import annotations

import argparse
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio
import shapely

from planner.io.readers import MAX_UNZIPPED_BYTES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "bad_inputs" / "generated"

# Two London places (Westminster, Greenwich) in longitude/latitude and in British National Grid.
LONLAT = [(-0.1257, 51.5010), (-0.0098, 51.4826)]
BNG = [(530_270.0, 179_650.0), (538_400.0, 177_850.0)]


def _assets(points, crs: str | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "asset_id": [f"A{i + 1}" for i in range(len(points))],
            "asset_type": ["bus_shelter"] * len(points),
            "format": ["6-sheet"] * len(points),
        },
        geometry=[shapely.Point(p) if isinstance(p, tuple) else p for p in points],
        crs=crs,
    )


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])


def _shapefile(folder: Path, frame: gpd.GeoDataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "assets.shp"
    pyogrio.write_dataframe(frame, target)
    return target


def truncated_gpkg(out: Path) -> None:
    path = out / "assets" / "truncated.gpkg"
    pyogrio.write_dataframe(_assets(LONLAT, "EPSG:4326"), path, driver="GPKG")
    _truncate(path, 0.3)


def gpkg_without_crs(out: Path) -> None:
    pyogrio.write_dataframe(_assets(BNG, None), out / "assets" / "no_crs.gpkg", driver="GPKG")


def gpkg_bng(out: Path) -> None:
    """A valid file in EPSG:27700: bad only when the caller passes a different crs."""
    pyogrio.write_dataframe(_assets(BNG, "EPSG:27700"), out / "assets" / "bng.gpkg", driver="GPKG")


def gpkg_nan_coordinates(out: Path) -> None:
    frame = _assets([LONLAT[0], (float("nan"), 51.5)], "EPSG:4326")
    pyogrio.write_dataframe(frame, out / "assets" / "nan_coordinates.gpkg", driver="GPKG")


def gpkg_inf_coordinates(out: Path) -> None:
    frame = _assets([LONLAT[0], (float("inf"), 51.5)], "EPSG:4326")
    pyogrio.write_dataframe(frame, out / "assets" / "inf_coordinates.gpkg", driver="GPKG")


def gpkg_empty_layer(out: Path) -> None:
    frame = _assets(LONLAT, "EPSG:4326").iloc[:0]
    pyogrio.write_dataframe(frame, out / "assets" / "no_rows.gpkg", driver="GPKG")


def gpkg_duplicate_ids(out: Path) -> None:
    frame = _assets([*LONLAT, (-0.02, 51.49)], "EPSG:4326")
    frame["asset_id"] = ["A1", "A2", "A1"]
    pyogrio.write_dataframe(frame, out / "assets" / "duplicate_ids.gpkg", driver="GPKG")


def sqlite_not_gpkg(out: Path) -> None:
    import sqlite3

    path = out / "assets" / "plain_sqlite.gpkg"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("create table stops (id text, x real, y real)")
        db.execute("insert into stops values ('A1', -0.12, 51.5)")
    db.close()


def sites_mixed_geometry(out: Path) -> None:
    """Sites mixing points, polygons, a line and a geometry collection, with an empty one."""
    geoms = [
        shapely.Point(-0.12, 51.50),
        shapely.box(-0.11, 51.50, -0.10, 51.51),
        shapely.LineString([(-0.10, 51.50), (-0.09, 51.51)]),
        shapely.GeometryCollection([shapely.Point(-0.08, 51.5), shapely.box(0, 51, 0.01, 51.01)]),
        shapely.Polygon(),
    ]
    frame = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(geoms))], "kind": ["school"] * len(geoms)},
        geometry=geoms,
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(
        frame, out / "sites" / "mixed_geometry.geojson", driver="GeoJSON", geometry_type="Unknown"
    )


def zones_self_intersecting(out: Path) -> None:
    """A bow-tie zone and a zero-area zone: both invalid polygons."""
    geoms = [
        shapely.Polygon([(0, 0), (500, 500), (500, 0), (0, 500)]),  # bow tie
        shapely.Polygon([(0, 0), (100, 0), (200, 0)]),  # all on one line
    ]
    geoms = [shapely.transform(g, lambda xy: xy + BNG[0]) for g in geoms]
    frame = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"], "population": [100.0, 50.0]}, geometry=geoms, crs="EPSG:27700"
    )
    pyogrio.write_dataframe(frame, out / "zones" / "self_intersecting.gpkg", driver="GPKG")


def zones_mixed_geometry(out: Path) -> None:
    geoms = [
        shapely.box(-0.12, 51.50, -0.11, 51.51),
        shapely.LineString([(-0.10, 51.50), (-0.09, 51.51)]),
        shapely.Point(-0.08, 51.50),
    ]
    frame = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2", "Z3"], "population": [10.0, 20.0, 30.0]},
        geometry=geoms,
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(
        frame, out / "zones" / "mixed_geometry.gpkg", driver="GPKG", geometry_type="Unknown"
    )


def assets_mixed_geometry(out: Path) -> None:
    """Assets of every shape: a line, a collection, a multipoint (split) and a zero-length line."""
    geoms = [
        shapely.Point(-0.12, 51.50),
        shapely.LineString([(-0.10, 51.50), (-0.09, 51.51)]),
        shapely.GeometryCollection([shapely.LineString([(-0.08, 51.5), (-0.08, 51.51)])]),
        shapely.MultiPoint([(-0.07, 51.5), (-0.06, 51.5)]),
        shapely.LineString([(-0.05, 51.5), (-0.05, 51.5)]),  # zero length
    ]
    frame = _assets(geoms, "EPSG:4326")
    pyogrio.write_dataframe(
        frame, out / "assets" / "mixed_geometry.geojson", driver="GeoJSON", geometry_type="Unknown"
    )


def truncated_shapefile(out: Path) -> None:
    shp = _shapefile(out / "assets" / "truncated_shp", _assets(BNG * 20, "EPSG:27700"))
    _truncate(shp, 0.5)


def shapefile_without_shx(out: Path) -> None:
    shp = _shapefile(out / "assets" / "no_shx", _assets(BNG, "EPSG:27700"))
    shp.with_suffix(".shx").unlink()


def shapefile_local_crs(out: Path) -> None:
    """A .prj naming an engineering (local) CRS that cannot be turned into longitude/latitude."""
    shp = _shapefile(out / "assets" / "local_crs", _assets(BNG, None))
    shp.with_suffix(".prj").write_text(
        'LOCAL_CS["site grid",LOCAL_DATUM["arbitrary",0],UNIT["metre",1],'
        'AXIS["X",EAST],AXIS["Y",NORTH]]'
    )


def shapefile_garbage_prj(out: Path) -> None:
    shp = _shapefile(out / "assets" / "garbage_prj", _assets(BNG, None))
    shp.with_suffix(".prj").write_text("this is not a projection")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _shapefile_members(tmp: Path) -> dict[str, bytes]:
    shp = _shapefile(tmp, _assets(BNG, "EPSG:27700"))
    files = {p.suffix: p.read_bytes() for p in shp.parent.iterdir()}
    for p in shp.parent.iterdir():
        p.unlink()
    shp.parent.rmdir()
    return files


def zips(out: Path) -> None:
    parts = _shapefile_members(out / "assets" / "_tmp_shp")
    folder = out / "assets"
    _zip(folder / "zip_without_shp.zip", {f"stops{s}": d for s, d in parts.items() if s != ".shp"})
    _zip(folder / "zip_slip.zip", {f"../../stops{s}": d for s, d in parts.items()})
    _zip(folder / "zip_absolute.zip", {f"/srv/stops{s}": d for s, d in parts.items()})
    _zip(folder / "zip_two_shapefiles.zip", {f"{n}{s}": d for s, d in parts.items() for n in "ab"})
    whole = _zip(folder / "truncated.zip", {f"stops{s}": d for s, d in parts.items()})
    _truncate(whole, 0.6)
    zip_bomb(folder / "zip_bomb.zip", parts)


def zip_bomb(path: Path, parts: dict[str, bytes]) -> None:
    """A few kilobytes whose headers declare more than MAX_UNZIPPED_BYTES once unpacked.

    Compressing gigabytes of zeros would take seconds and megabytes; the guard reads the
    declared sizes, so the sizes in the central directory are enlarged instead. Nothing
    may ever unpack this file (its CRCs no longer match).
    """
    members = {f"stops{s}": d for s, d in parts.items()}
    _zip(path, members)
    data = bytearray(path.read_bytes())
    per_member = min(0xFFFF_FFFE, MAX_UNZIPPED_BYTES // len(members) + 1)
    start = 0
    while (at := data.find(b"PK\x01\x02", start)) != -1:
        struct.pack_into("<I", data, at + 24, per_member)  # uncompressed size
        start = at + 4
    path.write_bytes(bytes(data))


def truncated_fgb(out: Path) -> None:
    path = out / "assets" / "truncated.fgb"
    pyogrio.write_dataframe(_assets(BNG * 50, "EPSG:27700"), path, driver="FlatGeobuf")
    _truncate(path, 0.5)


def parquet_files(out: Path) -> None:
    path = out / "assets" / "truncated.parquet"
    _assets(LONLAT, "EPSG:4326").to_parquet(path)
    _truncate(path, 0.5)
    plain = pd.DataFrame(_assets(LONLAT, "EPSG:4326"))
    plain["geometry"] = shapely.to_wkt(plain["geometry"].to_numpy())
    plain.to_parquet(out / "assets" / "no_geo_metadata.parquet")


def text_encodings(out: Path) -> None:
    """CSV files whose bytes are not UTF-8 (Windows-1252, UTF-16) or not text at all."""
    text = "asset_id,asset_type,format,name,lon,lat\nA1,kiosk,6-sheet,Café Röyal,-0.12,51.5\n"
    (out / "assets" / "cp1252.csv").write_bytes(text.encode("cp1252"))
    (out / "assets" / "utf16.csv").write_bytes(text.encode("utf-16"))
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    (out / "assets" / "image_named.csv").write_bytes(png)
    (out / "assets" / "nul_bytes.csv").write_bytes(
        b"asset_id,asset_type,format,lon,lat\nA1\x00,kiosk,6-sheet,-0.12,51.5\n"
    )
    campaigns = (
        "campaign_id,advertiser,category,budget,cycles,min_faces,max_faces\n"
        "C1,Brasserie Zoë,general,1000,1,0,5\n"
    )
    (out / "campaigns" / "cp1252.csv").write_bytes(campaigns.encode("cp1252"))
    (out / "policy" / "cp1252.toml").write_bytes('name = "Politique réservée"\n'.encode("cp1252"))


def osm_files(out: Path) -> None:
    folder = out / "osm"
    good = folder / "_whole.osm.pbf"
    good.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(good)) as writer:
        for i in range(1, 2001):
            tags = {"highway": "bus_stop", "name": f"Stop {i}"} if i % 2 else {}
            lon, lat = -0.2 + i * 1e-4, 51.5 + i * 1e-5
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lon, lat), tags=tags))
    data = good.read_bytes()
    good.unlink()
    (folder / "truncated.osm.pbf").write_bytes(data[: len(data) // 2])
    (folder / "header_only.osm.pbf").write_bytes(data[:40])
    rng = np.random.default_rng(8)
    (folder / "random_bytes.osm.pbf").write_bytes(rng.integers(0, 256, 4096, np.uint8).tobytes())
    import gzip

    xml = b'<?xml version="1.0"?>\n<osm version="0.6">\n' + b'<node id="1" lat="51.5" lon="-0.1">'
    (folder / "truncated.osm.gz").write_bytes(gzip.compress(xml * 50)[:200])


def placements_gpkg(out: Path) -> None:
    """A GeoPackage given as a plan that has no 'placements' layer."""
    path = out / "plans" / "no_placements_layer.gpkg"
    pyogrio.write_dataframe(_assets(LONLAT, "EPSG:4326"), path, layer="assets", driver="GPKG")


#: Every generator, each writing the files named in its docstring or body.
GENERATORS: tuple[Callable[[Path], None], ...] = (
    truncated_gpkg,
    gpkg_without_crs,
    gpkg_bng,
    gpkg_nan_coordinates,
    gpkg_inf_coordinates,
    gpkg_empty_layer,
    gpkg_duplicate_ids,
    sqlite_not_gpkg,
    sites_mixed_geometry,
    zones_self_intersecting,
    zones_mixed_geometry,
    assets_mixed_geometry,
    truncated_shapefile,
    shapefile_without_shx,
    shapefile_local_crs,
    shapefile_garbage_prj,
    zips,
    truncated_fgb,
    parquet_files,
    text_encodings,
    osm_files,
    placements_gpkg,
)


def make_all(out: Path) -> list[Path]:
    """Write every binary input under ``out``; return the files written, sorted."""
    for folder in ("assets", "sites", "zones", "campaigns", "policy", "osm", "plans"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with warnings.catch_warnings():
        # Files without a CRS are the point of some inputs: GDAL's warning is expected.
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        for make in GENERATORS:
            make(out)
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    return sorted(p for p, stamp in after.items() if before.get(p) != stamp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder")
    args = parser.parse_args()
    written = make_all(args.out)
    for path in written:
        print(f"{path.relative_to(args.out)} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
