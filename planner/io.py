"""File input and output: the only module that reads or writes the user's files.

Readers turn GeoPackage, GeoJSON, Shapefile (plain or zipped), FlatGeobuf, GeoParquet and
CSV into validated contract tables in EPSG:4326; writers are atomic (temporary file, then
rename), so a failure never leaves a half-written output.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from planner import schema
from planner.errors import DataValidationError, PlannerError, Problem
from planner.validation import ValidationReport, normalise_columns, validate_frame

__all__ = [
    "MAX_ROWS",
    "MAX_UNZIPPED_BYTES",
    "atomic_path",
    "load_assets",
    "load_campaigns",
    "load_placements",
    "load_sites",
    "load_zones",
    "read_campaigns_table",
    "read_table",
    "validate_file",
    "write_layers",
    "write_table",
]

#: Largest number of rows a single input may have (keeps memory bounded).
MAX_ROWS = 2_000_000
#: Largest total uncompressed size accepted inside a zip file (zip-bomb guard).
MAX_UNZIPPED_BYTES = 2 * 1024**3
_GEO_SUFFIXES = {
    ".gpkg",
    ".geojson",
    ".json",
    ".shp",
    ".fgb",
    ".zip",
    ".parquet",
    ".geoparquet",
    ".csv",
    ".txt",
    ".tsv",
}


def load_assets(
    path: str | os.PathLike[str],
    *,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str = "utf-8",
    defaults: Mapping[str, object] | None = None,
) -> gpd.GeoDataFrame:
    """Load council street assets from a file and validate them against the data contract.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile (``.shp`` or ``.zip``), FlatGeobuf, GeoParquet or CSV.
    crs
        CRS of the coordinates when the file does not state one (e.g. ``"EPSG:27700"`` for
        a CSV of eastings and northings). Never guessed.
    columns
        Mapping ``{file column: contract column}`` for names the aliases do not cover.
    drop_invalid
        Drop invalid rows (each still listed in the report) instead of raising.
    layer
        Layer of a multi-layer file (GeoPackage); the first by default.
    encoding
        Text encoding of a CSV file.
    defaults
        Values for contract columns the file lacks, e.g. ``{"asset_type": "bus_stop"}``.

    Returns
    -------
    geopandas.GeoDataFrame
        Assets in EPSG:4326; the `ValidationReport` is in ``.attrs["report"]``.

    Raises
    ------
    DataValidationError
        Listing every problem (file, row, column, what was found, how to fix it).

    Examples
    --------
    >>> assets = load_assets("bus-stops.csv", crs="EPSG:27700",
    ...                      columns={"Stop_Code_LBSL": "asset_id"}, drop_invalid=True)
    """
    return _load(
        path,
        "assets",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
    )


def load_sites(
    path: str | os.PathLike[str],
    *,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str = "utf-8",
    defaults: Mapping[str, object] | None = None,
) -> gpd.GeoDataFrame:
    """Load sensitive sites (schools, playgrounds, ...) as points or polygons.

    Parameters are as for `load_assets`; required columns are ``site_id`` and ``kind``.

    Examples
    --------
    >>> sites = load_sites("schools.csv", crs="EPSG:27700",
    ...                    columns={"URN": "site_id", "EstablishmentName": "name"})
    """
    return _load(
        path,
        "sites",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
    )


def load_zones(
    path: str | os.PathLike[str],
    *,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str = "utf-8",
    defaults: Mapping[str, object] | None = None,
) -> gpd.GeoDataFrame:
    """Load demand zones (polygons or points with a ``population`` column).

    Parameters are as for `load_assets`.

    Examples
    --------
    >>> zones = load_zones("lsoa.gpkg", columns={"Persons_All-Ages": "population"})
    """
    return _load(
        path,
        "zones",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
    )


def validate_file(
    path: str | os.PathLike[str],
    kind: str,
    *,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    encoding: str = "utf-8",
    defaults: Mapping[str, object] | None = None,
) -> ValidationReport:
    """Validate a file without raising: the report says what is wrong.

    Examples
    --------
    >>> print(validate_file("assets.csv", "assets", crs="EPSG:27700").to_text())
    """
    try:
        frame = _load(
            path,
            kind,
            crs=crs,
            columns=columns,
            drop_invalid=drop_invalid,
            layer=None,
            encoding=encoding,
            defaults=defaults,
        )
    except DataValidationError as exc:
        report = getattr(exc, "report", None)
        if report is None:
            report = ValidationReport(Path(path).name, kind, problems=exc.problems)
        return report
    return frame.attrs["report"]


def _load(
    path, kind, *, crs, columns, drop_invalid, layer, encoding, defaults=None
) -> gpd.GeoDataFrame:
    path = Path(path)
    source = path.name
    frame, source_crs, first_row, problems = read_table(
        path, crs=crs, layer=layer, encoding=encoding
    )
    frame, more = normalise_columns(frame, kind, dict(columns or {}), source)
    problems += more
    # Row problems found while reading (e.g. non-numeric coordinates) go on to validation,
    # so drop_invalid can drop those rows and every other problem is still collected.
    if any(p.severity == "error" and not p.where for p in problems):
        raise DataValidationError(source, problems)
    frame, _ = validate_frame(
        frame,
        kind,
        source=source,
        source_crs=source_crs,
        first_row=first_row,
        drop_invalid=drop_invalid,
        prior=problems,
        defaults=dict(defaults or {}),
    )
    return frame


def _fail(source: str, found: str, fix: str, column: str = "") -> DataValidationError:
    return DataValidationError(source, [Problem(source, "", column, found, fix)])


def read_table(
    path: Path,
    *,
    crs: str | int | None = None,
    layer: str | None = None,
    encoding: str = "utf-8",
) -> tuple[gpd.GeoDataFrame, CRS, int, list[Problem]]:
    """Read any supported file into a GeoDataFrame in its own CRS, without validation.

    Returns
    -------
    tuple
        ``(frame, crs, first_row, problems)`` where ``first_row`` is the row number a
        spreadsheet shows for the first record.

    Raises
    ------
    DataValidationError
        When the file is missing, empty, of an unsupported type or unreadable, or has no CRS.
    """
    source = path.name
    if not path.exists():
        raise _fail(source, f"the file '{path}' does not exist", "Check the path")
    if path.is_dir():
        raise _fail(source, "this is a folder, not a file", "Choose a file inside it")
    suffix = path.suffix.lower()
    if suffix not in _GEO_SUFFIXES:
        raise _fail(
            source,
            f"files ending '{suffix or '(none)'}' are not supported",
            "Use GeoPackage, GeoJSON, Shapefile (.shp or .zip), FlatGeobuf, GeoParquet or CSV",
        )
    if path.stat().st_size == 0:
        raise _fail(source, "the file is empty (0 bytes)", "Export the data again")
    given = _parse_crs(crs, source)
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, problems = _read_csv(path, given, encoding)
        return frame, frame.crs, 2, problems
    frame = _read_geo(path, suffix, layer)
    if len(frame) > MAX_ROWS:
        raise _fail(
            source,
            f"the file has {len(frame):,} rows, more than the limit of {MAX_ROWS:,}",
            "Split the file by area",
        )
    if frame.crs is None:
        if given is None:
            raise _fail(
                source,
                "the file does not say which coordinate reference system (CRS) its coordinates use",
                "Pass crs='EPSG:4326' for longitude/"
                "latitude or crs='EPSG:27700' for British National Grid (--crs)",
            )
        frame = frame.set_crs(given)
    elif given is not None and CRS.from_user_input(frame.crs) != given:
        raise _fail(
            source,
            f"the file's CRS is {frame.crs.to_string()} but crs={given.to_string()} was passed",
            "Leave crs unset for this file, or fix the file's CRS",
        )
    return frame, _convertible(CRS.from_user_input(frame.crs), source), 1, []


def _parse_crs(crs: str | int | None, source: str) -> CRS | None:
    if crs is None or crs == "":
        return None
    try:
        return _convertible(CRS.from_user_input(crs), source)
    except CRSError:
        raise _fail(
            source,
            f"'{crs}' is not a coordinate reference system",
            "Use an EPSG code such as EPSG:4326 or EPSG:27700",
        ) from None


def _convertible(crs: CRS, source: str) -> CRS:
    """The CRS, once sure it converts to longitude/latitude (a local grid does not)."""
    try:
        Transformer.from_crs(crs, schema.STORAGE_CRS, always_xy=True)
    except (CRSError, ProjError):
        raise _fail(
            source,
            f"the CRS '{crs.name}' cannot be converted to longitude/latitude "
            "(a local or engineering grid)",
            "Reproject the file to a standard CRS such as EPSG:27700 or EPSG:4326 in your GIS",
        ) from None
    return crs


def _read_geo(path: Path, suffix: str, layer: str | None) -> gpd.GeoDataFrame:
    source = path.name
    target = str(path)
    if suffix == ".zip":
        target = _zip_target(path)
    try:
        if suffix in {".parquet", ".geoparquet"}:
            _check_rows(source, pq.ParquetFile(path).metadata.num_rows)
            return gpd.read_parquet(path)
        # layer 0 rather than None: same first layer, without pyogrio's warning about
        # multi-layer files (warnings are errors under pytest and noise in the app).
        layer = 0 if layer is None else layer
        _check_rows(source, pyogrio.read_info(target, layer=layer)["features"])
        return pyogrio.read_dataframe(target, layer=layer)
    except PlannerError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise _fail(
            source,
            f"the file could not be read as {_FORMAT_NAMES.get(suffix, suffix)} ({first})",
            "Check that the file is complete and not damaged; export it again from your GIS",
        ) from None


def _check_rows(source: str, rows: int) -> None:
    """Refuse a file with too many rows from its header, before reading it into memory."""
    if rows > MAX_ROWS:
        raise _fail(
            source,
            f"the file has {rows:,} rows, more than the limit of {MAX_ROWS:,}",
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


def _zip_target(path: Path) -> str:
    """Check a zipped shapefile without unpacking it and return a GDAL /vsizip/ path."""
    source = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise _fail(
            source,
            "the file is not a valid zip archive",
            "Zip the shapefile's .shp, .shx, .dbf and .prj files again",
        ) from None
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
            raise _fail(
                source,
                f"the zip member '{info.filename}' points outside the archive's folder",
                "Re-create the zip from the shapefile's files only",
            )
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise _fail(
            source,
            f"the zip would unpack to {total / 1024**3:.1f} GB, more than the "
            f"{MAX_UNZIPPED_BYTES / 1024**3:.0f} GB limit",
            "Send a smaller extract",
        )
    shps = [i.filename for i in infos if i.filename.lower().endswith(".shp")]
    if not shps:
        raise _fail(
            source,
            "the zip holds no .shp file",
            "Include the .shp, .shx, .dbf and .prj files of the shapefile",
        )
    if len(shps) > 1:
        raise _fail(
            source,
            f"the zip holds {len(shps)} shapefiles ({', '.join(shps[:5])})",
            "Zip one shapefile per file",
        )
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def _read_csv(
    path: Path, given: CRS | None, encoding: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    source = path.name
    _check_text(path, encoding, _fail)
    try:
        frame = pd.read_csv(
            path,
            sep="\t" if path.suffix.lower() == ".tsv" else _separator(path, encoding),
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            nrows=MAX_ROWS + 1,
            skipinitialspace=True,
        )
    except UnicodeDecodeError as exc:
        raise _fail(
            source,
            f"the file is not {encoding} text (byte {exc.object[exc.start]:#x} "
            f"at position {exc.start})",
            "Save it as UTF-8 CSV, or pass "
            "encoding='cp1252' (--encoding cp1252) for a Windows/Excel export",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise _fail(
            source,
            f"the file could not be read as CSV ({str(exc)[:200]})",
            "Check that it is a comma-separated file with one header row",
        ) from None
    if len(frame) > MAX_ROWS:
        raise _fail(source, f"the file has more than {MAX_ROWS:,} rows", "Split it by area")
    if not isinstance(frame.index, pd.RangeIndex):
        raise _fail(source, *_RAGGED)
    frame.columns = [str(c).strip() for c in frame.columns]
    return _csv_geometry(frame, source, given)


#: pandas takes extra leading fields as an index, shifting every column: refuse instead.
_RAGGED = (
    "rows have more fields than the header row has column names",
    "Quote values that contain the separator, or remove the extra fields",
)


def _separator(path: Path, encoding: str) -> str:
    """The header row's most frequent separator (comma, semicolon, tab or bar), else spaces.

    Chosen here rather than by pandas' sniffer, which needs the slow python parser and
    takes a letter for the separator of a one-column file.
    """
    with path.open(encoding=encoding, newline="") as f:
        header = f.readline(1 << 16)
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    if counts[best]:
        return best
    return r"\s+" if header.strip().count(" ") else ","


def _check_text(path: Path, encoding: str, fail) -> None:
    """Refuse an unknown encoding, and NUL bytes (binary data, or UTF-16 read as UTF-8)."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise fail(
            path.name,
            f"'{encoding}' is not a text encoding",
            "Use utf-8, or cp1252 for a Windows/Excel export",
        ) from None
    if codec.startswith(("utf-16", "utf-32")):
        return
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if b"\x00" in chunk:
                raise fail(
                    path.name,
                    "the file contains NUL bytes, so it is not plain text: a binary file, "
                    "or UTF-16 text",
                    "Save it as UTF-8 CSV, or pass encoding='utf-16' (--encoding utf-16) "
                    "for a UTF-16 export",
                )


def _csv_geometry(frame: pd.DataFrame, source: str, given: CRS | None):
    keys = {str(c).strip().lower().replace(" ", "_"): c for c in frame.columns}
    for wkt in ("geometry", "wkt", "geom"):
        if wkt in keys:
            if given is None:
                raise _fail(
                    source,
                    f"the '{keys[wkt]}' column holds shapes but no CRS was given",
                    "Pass crs='EPSG:4326' or the right EPSG code (--crs)",
                )
            geoms = shapely.from_wkt(
                frame.pop(keys[wkt]).fillna("").replace("", None), on_invalid="ignore"
            )
            return gpd.GeoDataFrame(frame, geometry=geoms, crs=given), []
    x = _find(keys, schema.COLUMN_ALIASES["x"])
    y = _find(keys, schema.COLUMN_ALIASES["y"])
    if x is None or y is None:
        raise _fail(
            source,
            "no coordinate columns found (columns: "
            f"{', '.join(map(str, list(frame.columns)[:20]))})",
            "Add lon/lat (or easting/northing) columns, or a WKT 'geometry' column",
            "x/y",
        )
    lonlat = _key_of(keys, x) in {"lon", "lng", "long", "longitude"}
    if given is None:
        if not lonlat:
            raise _fail(
                source,
                f"coordinates are in '{x}'/'{y}' but no CRS was given",
                "Pass crs='EPSG:27700' for British National Grid eastings/northings "
                "(--crs EPSG:27700), or the EPSG code of your data",
            )
        given = CRS.from_user_input(schema.STORAGE_CRS)
    problems = []
    xs = pd.to_numeric(frame[x], errors="coerce")
    ys = pd.to_numeric(frame[y], errors="coerce")
    for i in (xs.isna() & frame[x].notna() | ys.isna() & frame[y].notna()).to_numpy().nonzero()[0]:
        problems.append(
            Problem(
                source,
                f"row {i + 2}",
                f"{x}/{y}",
                f"coordinates '{frame[x].iloc[i]}', '{frame[y].iloc[i]}' are not numbers",
                "Fix or remove the row",
            )
        )
    geoms = shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float))
    geoms[xs.isna().to_numpy() | ys.isna().to_numpy()] = None
    frame = frame.drop(columns=[x, y])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=given), problems


def _find(keys: dict[str, str], aliases: tuple[str, ...]) -> str | None:
    for alias in aliases:
        if alias in keys:
            return keys[alias]
    return None


def _key_of(keys: dict[str, str], column: str) -> str:
    return next(k for k, v in keys.items() if v == column)


def load_campaigns(
    path: str | os.PathLike[str], *, categories=None, encoding: str = "utf-8"
) -> list:
    """Read and check a campaigns CSV (columns in `planner.campaigns.CAMPAIGN_COLUMNS`).

    Raises
    ------
    CampaignError
        Naming every bad row and column.

    Examples
    --------
    >>> campaigns = load_campaigns("data/campaigns.csv")
    """
    from planner.campaigns import parse_campaigns
    from planner.schema import CATEGORIES

    path = Path(path)
    table = _plain_csv(path, encoding, "campaigns")
    return parse_campaigns(table, categories=categories or CATEGORIES, source=path.name)


def read_campaigns_table(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> pd.DataFrame:
    """A campaigns CSV as a table of text cells, unchecked (for editing before parsing).

    Raises
    ------
    CampaignError
        When the file is missing, not text in ``encoding``, or not a readable CSV.
    """
    return _plain_csv(Path(path), encoding, "campaigns")


def _plain_csv(path: Path, encoding: str, what: str) -> pd.DataFrame:
    from planner.errors import CampaignError

    if not path.is_file():
        raise CampaignError(f"The {what} file '{path}' does not exist; check the path")
    if path.suffix.lower() not in {".csv", ".txt"}:
        raise CampaignError(f"{path.name}: the {what} table must be a .csv file")
    _check_text(path, encoding, lambda _, found, fix: CampaignError(f"{path.name}: {found}. {fix}"))
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding=encoding, nrows=100_001
        )
    except UnicodeDecodeError:
        raise CampaignError(
            f"{path.name}: the file is not {encoding} text; save it as UTF-8 CSV"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise CampaignError(
            f"{path.name}: not a readable CSV ({str(exc)[:150]}); save it as "
            "comma-separated values with one header row"
        ) from None
    if not isinstance(table.index, pd.RangeIndex):
        raise CampaignError(f"{path.name}: {_RAGGED[0]}. {_RAGGED[1]}")
    return table


def load_placements(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The placements of a plan: a CSV, or the ``placements`` layer of a plan GeoPackage.

    Examples
    --------
    >>> placements = load_placements("plan.gpkg")
    """
    path = Path(path)
    if not path.is_file():
        raise PlannerError(
            f"The plan '{path}' does not exist; give a placements CSV or a plan .gpkg"
        )
    text_columns = {"asset_id": str, "campaign_id": str, "category": str}
    try:
        if path.suffix.lower() == ".gpkg":
            layers = [name for name, _ in pyogrio.list_layers(path)]
            if "placements" not in layers:
                raise PlannerError(
                    f"{path.name} has no 'placements' layer (layers: {', '.join(layers)})"
                )
            frame = pyogrio.read_dataframe(path, layer="placements", read_geometry=False)
            return frame.astype({c: str for c in text_columns if c in frame.columns})
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=text_columns)
    except PlannerError:
        raise
    except Exception as exc:
        raise PlannerError(f"{path.name} could not be read: {str(exc)[:200]}") from None
    raise PlannerError(f"'{path.name}': give the plan as a .csv file or a plan .gpkg")


# --- writing ---------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    Examples
    --------
    >>> with atomic_path("out.csv") as tmp:
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()
    try:
        yield tmp_path
        tmp_path.replace(path)
    finally:
        for leftover in (tmp_path, Path(f"{tmp_path}-journal"), Path(f"{tmp_path}-wal")):
            leftover.unlink(missing_ok=True)


def write_table(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, layer: str | None = None
) -> Path:
    """Write one table atomically; the format follows the file's ending.

    Supports ``.gpkg``, ``.geojson``, ``.fgb``, ``.parquet``, ``.csv`` and ``.xlsx``.
    Geometry is written as WKT in CSV and Excel.

    Examples
    --------
    >>> write_table(values, "values.gpkg", layer="values")
    """
    return write_layers({layer or Path(path).stem: frame}, path)


def write_layers(layers: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write several named tables to one file atomically (GeoPackage layers, Excel sheets).

    Formats with a single table (CSV, GeoJSON, ...) take the first layer only.

    Raises
    ------
    PlannerError
        When the file type is not supported.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".gpkg", ".geojson", ".json", ".fgb", ".parquet", ".csv", ".xlsx"}:
        raise PlannerError(
            f"Cannot write '{path.name}': use .gpkg, .geojson, .fgb, .parquet, .csv or .xlsx"
        )
    with atomic_path(path) as tmp:
        if suffix == ".gpkg":
            for name, frame in layers.items():
                pyogrio.write_dataframe(
                    _plain(frame, keep_geometry=True),
                    tmp,
                    layer=name,
                    driver="GPKG",
                    append=tmp.exists(),
                )
        elif suffix == ".xlsx":
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for name, frame in layers.items():
                    table = _as_text_geometry(frame)
                    table.to_excel(writer, sheet_name=name[:31], index=False)
                    _formulas_as_text(writer.sheets[name[:31]], table)
        else:
            frame = next(iter(layers.values()))
            if suffix == ".csv":
                _as_text_geometry(frame).to_csv(tmp, index=False)
            elif suffix == ".parquet":
                frame = frame.copy()
                frame.attrs = {}  # a loader's report is not parquet metadata
                frame.to_parquet(tmp, index=False)
            else:
                driver = "FlatGeobuf" if suffix == ".fgb" else "GeoJSON"
                pyogrio.write_dataframe(_plain(frame, keep_geometry=True), tmp, driver=driver)
    return path


def _plain(frame: pd.DataFrame, *, keep_geometry: bool) -> pd.DataFrame:
    """Make object columns writable by GDAL (lists and dicts become text)."""
    frame = frame.copy()
    for name in frame.columns:
        if isinstance(frame, gpd.GeoDataFrame) and name == frame.geometry.name:
            continue
        if frame[name].dtype == object:
            frame[name] = frame[name].map(
                lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)
            )
    if not keep_geometry and isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return frame


def _formulas_as_text(sheet, table: pd.DataFrame) -> None:
    """Keep text such as ``=HYPERLINK(...)`` from names as text, never a live formula."""
    for j, name in enumerate(table.columns, start=1):
        values = table[name]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        starts = values.map(lambda v: isinstance(v, str) and v.startswith("="))
        for i in starts.to_numpy().nonzero()[0]:
            sheet.cell(row=int(i) + 2, column=j).data_type = "s"


def _as_text_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    if isinstance(frame, gpd.GeoDataFrame):
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        out["geometry"] = frame.geometry.to_wkt()
        return out
    return frame
