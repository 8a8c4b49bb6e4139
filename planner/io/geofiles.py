"""Reading GIS files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet) and checking a CRS.

An input edge of `planner.io.readers`, which calls it and sets the size limits it enforces.
GDAL (through pyogrio) reads the vector formats and pyarrow GeoParquet; every failure
becomes a `DataValidationError` naming the file.
"""

from __future__ import annotations

import codecs
import io
import re
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import NoReturn

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from planner import schema
from planner.errors import DataValidationError, PlannerError, Problem
from planner.io.encodings import TextEncoding, detect_encoding
from planner.io.source import FileSource

__all__ = ["choose_layer", "convertible", "file_error", "parse_crs", "read_geo"]


def file_error(source: str, found: str, fix: str, column: str = "") -> DataValidationError:
    """Build a file-level `DataValidationError`: what was found in ``source`` and how to fix it.

    Parameters
    ----------
    source
        File name.
    found
        What is wrong, in the user's words (e.g. ``"the file is empty (0 bytes)"``).
    fix
        How to fix it.
    column
        Column concerned, empty when the problem is the whole file.

    Returns
    -------
    DataValidationError
        With one error `Problem` and no row; the caller raises it.

    Examples
    --------
    >>> raise file_error("assets.gpkg", "the file is empty (0 bytes)", "Export the data again")
    Traceback (most recent call last):
    ...
    planner.errors.DataValidationError: assets.gpkg: 1 problem(s) must be fixed before ...
      - assets.gpkg: the file is empty (0 bytes). Export the data again
    """
    return DataValidationError(source, [Problem(source, "", column, found, fix)])


def parse_crs(crs: str | int | None, source: str) -> CRS | None:
    """Parse the CRS the caller gave (None when unset), once sure it converts to lon/lat.

    Parameters
    ----------
    crs
        Anything `pyproj.CRS.from_user_input` reads: ``"EPSG:27700"``, ``27700``, WKT or a
        PROJ string; None or ``""`` for unset.
    source
        File name for messages.

    Returns
    -------
    pyproj.CRS or None

    Raises
    ------
    DataValidationError
        When ``crs`` is not a CRS, or cannot be converted to EPSG:4326.

    Examples
    --------
    >>> parse_crs("EPSG:27700", "assets.csv").to_epsg()
    27700
    """
    if crs is None or crs == "":
        return None
    try:
        return convertible(CRS.from_user_input(crs), source)
    except CRSError:
        raise file_error(
            source,
            f"'{crs}' is not a coordinate reference system",
            "Use an EPSG code such as EPSG:4326 or EPSG:27700",
        ) from None


def convertible(crs: CRS, source: str) -> CRS:
    """Return the CRS once sure it converts to longitude/latitude (a local grid does not).

    Every table is stored in EPSG:4326, so a CRS with no transformation to it (a local
    or engineering grid) is refused before any row is read.

    Parameters
    ----------
    crs
        The file's or the caller's CRS.
    source
        File name for messages.

    Returns
    -------
    pyproj.CRS
        ``crs`` itself.

    Raises
    ------
    DataValidationError
        When pyproj has no transformation from ``crs`` to EPSG:4326.

    Examples
    --------
    >>> convertible(CRS.from_epsg(4326), "assets.gpkg").to_epsg()
    4326
    """
    try:
        Transformer.from_crs(crs, schema.STORAGE_CRS, always_xy=True)
    except (CRSError, ProjError):
        raise file_error(
            source,
            f"the CRS '{crs.name}' cannot be converted to longitude/latitude "
            "(a local or engineering grid)",
            "Reproject the file to a standard CRS such as EPSG:27700 or EPSG:4326 in your GIS",
        ) from None
    return crs


def read_geo(
    path: Path | FileSource,
    suffix: str,
    layer: str | None,
    *,
    max_rows: int,
    max_unzipped_bytes: int,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a GIS file in its own CRS, refusing one over ``max_rows`` from its header first.

    A zipped shapefile is checked (one .shp, no member outside the archive, at most
    ``max_unzipped_bytes`` unpacked) and read in place, never unpacked to disk. A shapefile
    whose attributes' encoding is stated nowhere (no ``.cpg``, no code page in the
    ``.dbf``), which GDAL would read as ISO-8859-1, and a GeoJSON file that is not UTF-8
    have their encoding detected (`planner.io.encodings.detect_encoding`). Integer feature
    ids of a GeoJSON file (``"id": 101``), which GDAL keeps as feature ids, come back as an
    ``id`` column when the properties have none.

    Parameters
    ----------
    path
        The file, on disk or in memory (`FileSource`; a ``.shp`` needs its sidecar files
        on disk).
    suffix
        Its lower-case ending (``".gpkg"``, ``".geojson"``, ``".json"``, ``".shp"``,
        ``".zip"``, ``".fgb"``, ``".parquet"``, ``".geoparquet"``), as checked by the caller.
    layer
        Layer name (or 0-based position) of a multi-layer file; None chooses it with
        `choose_layer` (the only layer, or the only one with rows; several with rows are
        refused).
    max_rows
        Most features accepted, checked from the file's header (GDAL feature count or
        Parquet metadata) before the data are read.
    max_unzipped_bytes
        Most bytes a zip may unpack to (zip-bomb guard).
    encoding
        Encoding of a Shapefile's or GeoJSON file's text, as the caller gave it; None
        detects it where the file does not say.

    Returns
    -------
    geopandas.GeoDataFrame
        The features in the file's own CRS (None when the file states none);
        ``.attrs["encoding"]`` is the `TextEncoding` a Shapefile or GeoJSON was read with
        when it was given or detected, and ``.attrs["layer_note"]`` says which layer was
        read when the file has others.

    Raises
    ------
    DataValidationError
        When the file has too many rows, is an unsafe or unusable zip, cannot be read
        as its format (damaged, truncated, or not what its ending says), has no layer
        ``layer``, or has several layers with rows and none was named.

    Examples
    --------
    >>> frame = read_geo(Path("assets.gpkg"), ".gpkg", None, max_rows=2_000_000,
    ...                  max_unzipped_bytes=2 * 1024**3)
    """
    path = FileSource.of(path)
    source = path.name
    target = str(path) if path.data is None else path.data
    try:
        if suffix == ".zip":
            target = _zip_target(path, max_unzipped_bytes, layer)
            layer = None  # it chose the zip's shapefile: a single layer from here
        if suffix in {".parquet", ".geoparquet"}:
            _check_rows(source, pq.ParquetFile(path.readable).metadata.num_rows, max_rows)
            # geopandas reads file objects too; types-geopandas only allows paths
            return gpd.read_parquet(path.readable)  # type: ignore[arg-type]
        used = _text_encoding(path, suffix, encoding, max_unzipped_bytes)
        geojson = suffix in {".geojson", ".json"}
        with warnings.catch_warnings():
            # GDAL calls a GeoPackage read from memory "non conformant": it has no ending.
            warnings.filterwarnings("ignore", _GPKG_IN_MEMORY, RuntimeWarning)
            which, note = choose_layer(target, source, layer)
            info = pyogrio.read_info(target, layer=which)
            _check_rows(source, info["features"], max_rows)
            _check_driver(path, suffix, info["driver"])
            frame = pyogrio.read_dataframe(
                target,
                layer=which,
                encoding=used.codec if used else None,
                fid_as_index=geojson,
            )
        if not isinstance(frame, gpd.GeoDataFrame):
            raise file_error(
                source,
                "the layer has no geometry: a table without points or shapes",
                "Export the layer with its geometry, or give a CSV with coordinate columns",
            )
        if geojson:
            frame = _feature_ids(frame)
        if used is not None:
            frame.attrs["encoding"] = used
        if note:
            frame.attrs["layer_note"] = note
        return frame
    except PlannerError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        first = _VSIMEM.sub(source, first)  # a file read from memory, by its own name
        wkb = re.search(r"Unknown WKB type (\d+)", first)
        if wkb is not None:
            raise _unsupported_type(source, int(wkb.group(1))) from None
        raise file_error(
            source,
            f"the file could not be read as {_FORMAT_NAMES.get(suffix, suffix)} ({first})",
            "Check that the file is complete and not damaged; export it again from your GIS",
        ) from None


#: Tables a GIS writes beside the data that are never the data: QGIS's layer styles.
_STYLE_TABLES = frozenset({"layer_styles"})


def choose_layer(
    target: str | bytes, source: str, layer: str | int | None
) -> tuple[str | int, str]:
    """Choose the layer of a GIS file to read: the one named, else the only one with rows.

    A GeoPackage may hold several layers (this year's schools, last year's, an empty
    template). Reading the first would silently take the wrong one, so without ``layer``
    the file's layers with geometry are counted: with one, or with exactly one that has
    rows, that one is read (and, when there are others, the note says which); with several
    that have rows the file is refused, naming each with its row count. Tables without
    geometry (QGIS's ``layer_styles``) are never the data and are not counted.

    Parameters
    ----------
    target
        What GDAL opens: a path, a ``/vsizip/`` path or the file's bytes.
    source
        File name for messages.
    layer
        The layer the caller named (or its 0-based position), None or ``""`` for unset.

    Returns
    -------
    tuple
        ``(layer, note)``: the layer name (when named) or 0-based position to read, and a
        sentence for the report when the file had other layers (empty otherwise).

    Raises
    ------
    DataValidationError
        When the named layer is not in the file, or no layer is named and several have
        rows.

    Examples
    --------
    >>> choose_layer("sites.gpkg", "sites.gpkg", None)
    (1, "the file has 2 layers with geometry ('template' 0 rows, 'schools' 3 rows); ...")
    """
    layers = [(str(name), kind) for name, kind in pyogrio.list_layers(target)]
    names = [name for name, _ in layers]
    if layer is not None and layer != "":
        if str(layer) in names:
            return str(layer), ""
        if isinstance(layer, int) and not isinstance(layer, bool) and 0 <= layer < len(names):
            return names[layer], ""
        raise file_error(
            source,
            f"the file has no layer '{layer}' (layers: {', '.join(names) or 'none'})",
            "Give one of those names with layer= (--layer NAME)",
        )
    spatial = [name for name, kind in layers if kind is not None and name not in _STYLE_TABLES]
    # Positions, not names: a GeoJSON read from memory is named after a temporary file
    # that changes from one GDAL call to the next.
    if len(spatial) <= 1:
        return (names.index(spatial[0]) if spatial else 0), ""
    rows = {name: int(pyogrio.read_info(target, layer=name)["features"]) for name in spatial}
    listing = ", ".join(f"'{name}' {n:,} row{'s' if n != 1 else ''}" for name, n in rows.items())
    filled = [name for name in spatial if rows[name] != 0]
    if len(filled) > 1:
        raise file_error(
            source,
            f"the file has {len(filled)} layers with rows ({listing}) and no layer was chosen: "
            "reading only the first could leave the others' rows out of every rule",
            f"Choose the layer to read: pass layer='{filled[0]}' (--layer {filled[0]}), or "
            "another of those names",
        )
    chosen = filled[0] if filled else spatial[0]
    why = "the only one with rows" if filled else "every layer is empty"
    return names.index(chosen), (
        f"the file has {len(spatial)} layers with geometry ({listing}); layer '{chosen}' "
        f"was read ({why})"
    )


#: ISO WKB type codes (modulo 1000: Z, M and ZM add 1000, 2000, 3000) GEOS cannot read.
_WKB_SURFACES = {15: "PolyhedralSurface", 16: "TIN", 17: "Triangle"}


def _unsupported_type(source: str, code: int) -> DataValidationError:
    """Build the error of a file whose shapes are of a type GEOS cannot read (3-D surfaces)."""
    name = _WKB_SURFACES.get(code % 1000, f"WKB type {code}")
    return file_error(
        source,
        f"the file holds {name} shapes (3-D surfaces, e.g. from a city or building model): an "
        "unsupported geometry type",
        "Export the footprints as polygons, e.g. ogr2ogr -nlt MULTIPOLYGON -dim XY out.gpkg "
        "in.gpkg (or QGIS's Save As with geometry type MultiPolygon)",
        "geometry",
    )


def _text_encoding(
    path: FileSource, suffix: str, encoding: str | None, max_unzipped_bytes: int
) -> TextEncoding | None:
    """Choose the encoding of a Shapefile's or GeoJSON's text; None lets GDAL decide.

    GDAL follows a shapefile's ``.cpg`` or the code page byte of its ``.dbf``; only when
    neither says does it fall back to ISO-8859-1, which turns UTF-8 names into mojibake:
    then the ``.dbf`` records are detected. GeoJSON is UTF-8 by its standard; bytes that
    are not are detected.
    """
    if suffix not in {".shp", ".zip", ".geojson", ".json"}:
        return None
    if encoding:
        return TextEncoding(codecs.lookup(encoding).name, "given")
    if suffix in {".geojson", ".json"}:
        with path.open("rb") as f:
            used = detect_encoding(f.read())
        return None if used.is_utf8 else used
    dbf = _dbf_records(path, max_unzipped_bytes)
    return None if dbf is None else detect_encoding(dbf)


def _dbf_records(path: FileSource, max_unzipped_bytes: int) -> bytes | None:
    """Return a shapefile's ``.dbf`` records when nothing states their encoding, else None."""
    if path.data is None and path.suffix.lower() == ".shp":
        disk = path.disk_path
        siblings = {p.suffix.lower(): p for p in disk.parent.glob(disk.stem + ".*")}
        if ".cpg" in siblings or ".dbf" not in siblings:
            return None
        data = siblings[".dbf"].read_bytes()
    else:
        with zipfile.ZipFile(path.readable) as archive:
            members = {m.filename.lower(): m for m in _data_members(archive.infolist())}
            shp = next(n for n in members if n.endswith(".shp"))
            stem = shp[: -len(".shp")]
            dbf = members.get(stem + ".dbf")
            if stem + ".cpg" in members or dbf is None or dbf.file_size > max_unzipped_bytes:
                return None
            data = archive.read(dbf)
    if len(data) < 32 or data[29] != 0:
        return None  # a code page byte (LDID) in the header: GDAL follows it
    return data[int.from_bytes(data[8:10], "little") :]


def _feature_ids(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn a GeoJSON's integer feature ids (GDAL's index) into an ``id`` column.

    Features without ids are numbered 0, 1, 2, ... by GDAL: that index is dropped.
    """
    ids = frame.index
    frame = frame.reset_index(drop=True)
    explicit = not ids.equals(pd.RangeIndex(len(ids)))
    if explicit and "id" not in {str(c).lower() for c in frame.columns}:
        frame.insert(0, "id", [str(i) for i in ids])
    return frame


#: GDAL drivers that may read a file of each ending: a file in memory has no ending for GDAL
#: to go by, so a plain SQLite file sent as ``.gpkg`` would otherwise open as SQLite.
_DRIVERS = {
    ".gpkg": {"GPKG"},
    ".geojson": {"GeoJSON", "GeoJSONSeq", "ESRIJSON", "TopoJSON"},
    ".json": {"GeoJSON", "GeoJSONSeq", "ESRIJSON", "TopoJSON"},
    ".fgb": {"FlatGeobuf"},
    ".zip": {"ESRI Shapefile"},
}


def _check_driver(path: FileSource, suffix: str, driver: str) -> None:
    """Refuse a file in memory that GDAL opens as another format than its ending says."""
    if path.data is not None and driver not in _DRIVERS.get(suffix, {driver}):
        raise file_error(
            path.name,
            f"the file could not be read as {_FORMAT_NAMES.get(suffix, suffix)} (it holds "
            f"{driver} data)",
            "Check that the file is complete and not damaged; export it again from your GIS",
        )


def _check_rows(source: str, rows: int, max_rows: int) -> None:
    """Refuse a file with too many rows from its header, before reading it into memory."""
    if rows > max_rows:
        raise file_error(
            source,
            f"the file has {rows:,} rows, more than the limit of {max_rows:,}",
            "Split the file by area",
        )


_VSIMEM = re.compile(r"(/vsizip/)?/vsimem/pyogrio_[0-9a-f]+(\.zip)?")
_GPKG_IN_MEMORY = r"File /vsimem/.* has GPKG application_id, but non conformant file extension"
_FORMAT_NAMES = {
    ".gpkg": "a GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "a Shapefile",
    ".zip": "a zipped Shapefile",
    ".fgb": "FlatGeobuf",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
}


def _zip_target(
    path: FileSource, max_unzipped_bytes: int, layer: str | int | None = None
) -> str | bytes:
    """Check a zipped shapefile without unpacking it and return what GDAL should open.

    Refuses a file that is not a zip, a member with an absolute path, ``..`` or a
    backslash (zip slip), a total unpacked size over ``max_unzipped_bytes``, and a zip
    with no .shp; with several, ``layer`` (a shapefile's name without ``.shp``) chooses
    one, else the zip is refused naming each with its row count (macOS's ``__MACOSX/`` and
    ``._*`` files not counted). Returns a /vsizip/ path into a zip on disk, or for one in
    memory the shapefile's own members zipped again at the root (GDAL opens only the root
    of a zip in memory).
    """
    source = path.name
    try:
        with zipfile.ZipFile(path.readable) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise file_error(
            source,
            "the file is not a valid zip archive",
            "Zip the shapefile's .shp, .shx, .dbf and .prj files again",
        ) from None
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
            raise file_error(
                source,
                f"the zip member '{info.filename}' points outside the archive's folder",
                "Re-create the zip from the shapefile's files only",
            )
        total += info.file_size
    if total > max_unzipped_bytes:
        raise file_error(
            source,
            f"the zip would unpack to {total / 1024**3:.1f} GB, more than the "
            f"{max_unzipped_bytes / 1024**3:.0f} GB limit",
            "Send a smaller extract",
        )
    shps = [i.filename for i in _data_members(infos) if i.filename.lower().endswith(".shp")]
    if not shps:
        raise file_error(
            source,
            "the zip holds no .shp file",
            "Include the .shp, .shx, .dbf and .prj files of the shapefile",
        )
    stems = [PurePosixPath(shp).stem for shp in shps]
    names = stems if len(set(stems)) == len(stems) else [shp[: -len(".shp")] for shp in shps]
    if len(shps) == 1:
        chosen = shps[0]
    elif layer is not None and str(layer) in names:
        chosen = shps[names.index(str(layer))]
    else:
        _refuse_shapefiles(path, dict(zip(names, shps, strict=True)))
    if path.data is None:
        return f"/vsizip/{path.disk_path.resolve()}/{chosen}"
    return _shapefile_zip(path.data, chosen)


def _refuse_shapefiles(path: FileSource, shps: dict[str, str]) -> NoReturn:
    """Refuse a zip of several shapefiles, naming each (by ``layer=`` name) with its rows."""
    listing = []
    for name, shp in shps.items():
        try:
            target = (
                f"/vsizip/{path.disk_path.resolve()}/{shp}"
                if path.data is None
                else _shapefile_zip(path.data, shp)
            )
            n = int(pyogrio.read_info(target)["features"])
            listing.append(f"'{name}' {n:,} row{'s' if n != 1 else ''}")
        except Exception:  # an incomplete member (no .shx): named all the same
            listing.append(f"'{name}' (unreadable)")
    first = next(iter(shps))
    source = path.name
    raise file_error(
        source,
        f"the zip holds {len(shps)} shapefiles ({', '.join(listing)}) and none was chosen",
        f"Choose the shapefile to read: pass layer='{first}' (--layer {first}), or another of "
        "those names; or zip one shapefile per file",
    )


def _data_members(infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """Drop what macOS Finder adds to a zip: ``__MACOSX/`` and ``._name`` AppleDouble files.

    They hold the Mac's file metadata, not data: a ``__MACOSX/._schools.shp`` is no
    second shapefile.
    """
    return [
        i
        for i in infos
        if not i.filename.startswith("__MACOSX/")
        and not PurePosixPath(i.filename).name.startswith("._")
    ]


def _shapefile_zip(data: bytes, shp: str) -> bytes:
    """Zip again, at the root, the members of ``data`` beside ``shp`` with its name."""
    stem = str(PurePosixPath(shp).with_suffix("")).lower()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(out, "w") as flat:
        for info in _data_members(archive.infolist()):
            member = PurePosixPath(info.filename)
            if not info.is_dir() and str(member.with_suffix("")).lower() == stem:
                flat.writestr(member.name, archive.read(info))
    return out.getvalue()
