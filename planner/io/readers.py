"""File input and output: the entry point for reading and writing the user's files.

Readers turn GeoPackage, GeoJSON, Shapefile (plain or zipped), FlatGeobuf, GeoParquet and
CSV into validated contract tables in EPSG:4326; writers are atomic (temporary file, then
rename), so a failure never leaves a half-written output. The format work is done by its
edge modules `planner.io.geofiles`, `planner.io.tables` and `planner.io.writers` (re-exported here);
no other module touches the user's files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from planner.errors import DataValidationError, PlannerError, Problem
from planner.io.geofiles import convertible, file_error, parse_crs, read_geo
from planner.io.tables import read_geo_csv, read_plain_csv
from planner.io.validation import ValidationReport, normalise_columns, validate_frame
from planner.io.writers import atomic_path, write_layers, write_table
from planner.schema import STORAGE_CRS

__all__ = [
    "MAX_ROWS",
    "MAX_UNZIPPED_BYTES",
    "atomic_path",
    "load_assets",
    "load_campaigns",
    "load_layer",
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
        raise file_error(source, f"the file '{path}' does not exist", "Check the path")
    if path.is_dir():
        raise file_error(source, "this is a folder, not a file", "Choose a file inside it")
    suffix = path.suffix.lower()
    if suffix not in _GEO_SUFFIXES:
        raise file_error(
            source,
            f"files ending '{suffix or '(none)'}' are not supported",
            "Use GeoPackage, GeoJSON, Shapefile (.shp or .zip), FlatGeobuf, GeoParquet or CSV",
        )
    if path.stat().st_size == 0:
        raise file_error(source, "the file is empty (0 bytes)", "Export the data again")
    given = parse_crs(crs, source)
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, problems = read_geo_csv(path, given, encoding, max_rows=MAX_ROWS)
        return frame, frame.crs, 2, problems
    frame = read_geo(path, suffix, layer, max_rows=MAX_ROWS, max_unzipped_bytes=MAX_UNZIPPED_BYTES)
    if len(frame) > MAX_ROWS:
        raise file_error(
            source,
            f"the file has {len(frame):,} rows, more than the limit of {MAX_ROWS:,}",
            "Split the file by area",
        )
    if frame.crs is None:
        if given is None:
            raise file_error(
                source,
                "the file does not say which coordinate reference system (CRS) its coordinates use",
                "Pass crs='EPSG:4326' for longitude/"
                "latitude or crs='EPSG:27700' for British National Grid (--crs)",
            )
        frame = frame.set_crs(given)
    elif given is not None and CRS.from_user_input(frame.crs) != given:
        raise file_error(
            source,
            f"the file's CRS is {frame.crs.to_string()} but crs={given.to_string()} was passed",
            "Leave crs unset for this file, or fix the file's CRS",
        )
    return frame, convertible(CRS.from_user_input(frame.crs), source), 1, []


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
    table = read_plain_csv(path, encoding, "campaigns")
    return parse_campaigns(table, categories=categories or CATEGORIES, source=path.name)


def read_campaigns_table(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> pd.DataFrame:
    """A campaigns CSV as a table of text cells, unchecked (for editing before parsing).

    Raises
    ------
    CampaignError
        When the file is missing, not text in ``encoding``, or not a readable CSV.
    """
    return read_plain_csv(Path(path), encoding, "campaigns")


def load_layer(
    path: str | os.PathLike[str], *, crs: str | int | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a supporting layer (transit stops, points of interest) in EPSG:4326, unvalidated.

    The same formats and file checks as `load_assets`, without the asset contract.

    Raises
    ------
    DataValidationError
        When the file is missing, unreadable, or has no CRS and none is given.

    Examples
    --------
    >>> transit = load_layer("data/transit.gpkg")
    """
    frame, _, _, problems = read_table(Path(path), crs=crs, layer=layer)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(Path(path).name, problems)
    return frame.to_crs(STORAGE_CRS)


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
