"""Reading GIS files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet) and checking a CRS.

An input edge of `planner.io.readers`, which calls it and sets the size limits it enforces.
GDAL (through pyogrio) reads the vector formats and pyarrow GeoParquet; every failure
becomes a `DataValidationError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from planner import schema
from planner.errors import DataValidationError, PlannerError, Problem

__all__ = ["convertible", "file_error", "parse_crs", "read_geo"]


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
    path: Path, suffix: str, layer: str | None, *, max_rows: int, max_unzipped_bytes: int
) -> gpd.GeoDataFrame:
    """Read a GIS file in its own CRS, refusing one over ``max_rows`` from its header first.

    A zipped shapefile is checked (one .shp, no member outside the archive, at most
    ``max_unzipped_bytes`` unpacked) and read in place, never unpacked to disk.

    Parameters
    ----------
    path
        The file.
    suffix
        Its lower-case ending (``".gpkg"``, ``".geojson"``, ``".json"``, ``".shp"``,
        ``".zip"``, ``".fgb"``, ``".parquet"``, ``".geoparquet"``), as checked by the caller.
    layer
        Layer name of a multi-layer file; None for the first.
    max_rows
        Most features accepted, checked from the file's header (GDAL feature count or
        Parquet metadata) before the data are read.
    max_unzipped_bytes
        Most bytes a zip may unpack to (zip-bomb guard).

    Returns
    -------
    geopandas.GeoDataFrame
        The features in the file's own CRS (None when the file states none).

    Raises
    ------
    DataValidationError
        When the file has too many rows, is an unsafe or unusable zip, or cannot be read
        as its format (damaged, truncated, or not what its ending says).

    Examples
    --------
    >>> frame = read_geo(Path("assets.gpkg"), ".gpkg", None, max_rows=2_000_000,
    ...                  max_unzipped_bytes=2 * 1024**3)
    """
    source = path.name
    target = str(path)
    if suffix == ".zip":
        target = _zip_target(path, max_unzipped_bytes)
    try:
        if suffix in {".parquet", ".geoparquet"}:
            _check_rows(source, pq.ParquetFile(path).metadata.num_rows, max_rows)
            return gpd.read_parquet(path)
        # layer 0 rather than None: same first layer, without pyogrio's warning about
        # multi-layer files (warnings are errors under pytest and noise in the app).
        layer = 0 if layer is None else layer
        _check_rows(source, pyogrio.read_info(target, layer=layer)["features"], max_rows)
        return pyogrio.read_dataframe(target, layer=layer)
    except PlannerError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise file_error(
            source,
            f"the file could not be read as {_FORMAT_NAMES.get(suffix, suffix)} ({first})",
            "Check that the file is complete and not damaged; export it again from your GIS",
        ) from None


def _check_rows(source: str, rows: int, max_rows: int) -> None:
    """Refuse a file with too many rows from its header, before reading it into memory."""
    if rows > max_rows:
        raise file_error(
            source,
            f"the file has {rows:,} rows, more than the limit of {max_rows:,}",
            "Split the file by area",
        )


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


def _zip_target(path: Path, max_unzipped_bytes: int) -> str:
    """Check a zipped shapefile without unpacking it and return a GDAL /vsizip/ path.

    Refuses a file that is not a zip, a member with an absolute path, ``..`` or a
    backslash (zip slip), a total unpacked size over ``max_unzipped_bytes``, and a zip
    with no .shp or more than one.
    """
    source = path.name
    try:
        with zipfile.ZipFile(path) as archive:
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
    shps = [i.filename for i in infos if i.filename.lower().endswith(".shp")]
    if not shps:
        raise file_error(
            source,
            "the zip holds no .shp file",
            "Include the .shp, .shx, .dbf and .prj files of the shapefile",
        )
    if len(shps) > 1:
        raise file_error(
            source,
            f"the zip holds {len(shps)} shapefiles ({', '.join(shps[:5])})",
            "Zip one shapefile per file",
        )
    return f"/vsizip/{path.resolve()}/{shps[0]}"
