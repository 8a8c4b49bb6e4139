"""File input and output: the entry point for reading and writing the user's files.

Readers turn GeoPackage, GeoJSON, Shapefile (plain or zipped), FlatGeobuf, GeoParquet and
CSV into validated contract tables in EPSG:4326; writers are atomic (temporary file, then
rename), so a failure never leaves a half-written output. The format work is done by its
edge modules `planner.io.geofiles`, `planner.io.tables` and `planner.io.writers` (re-exported here);
no other module touches the user's files.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from planner.errors import DataValidationError, PlannerError, Problem
from planner.io.database import DatabaseSource, database_source, read_database
from planner.io.geofiles import convertible, file_error, parse_crs, read_geo
from planner.io.geometry import coordinates_fit
from planner.io.source import FileSource, Source
from planner.io.tables import apply_mapping, read_geo_csv, read_plain_csv, read_sheet
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
    ".xlsx",
    ".xlsm",
    ".ods",
}


def load_assets(
    source: Source,
    *,
    filename: str | None = None,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str | None = None,
    defaults: Mapping[str, object] | None = None,
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Load council street assets from a file and validate them against the data contract.

    Parameters
    ----------
    source
        GeoPackage, GeoJSON, Shapefile (``.shp`` or ``.zip``), FlatGeobuf, GeoParquet, CSV
        (``.csv``, ``.txt``, ``.tsv``) or a spreadsheet (``.xlsx``, ``.xlsm``, ``.ods``);
        a table gives lon/lat, x/y, easting/northing (with a CRS column or ``crs``), OS
        grid reference or WKT columns: a path, the file's bytes or a binary file object
        (e.g. an upload, with ``filename``). Or a PostGIS table or query: a
        ``postgresql://`` URL with ``?table=`` or ``?sql=``, or a
        `planner.io.database.DatabaseSource`.
    filename
        The file's name when ``source`` is bytes or a file object: its ending gives the
        format and messages name it (never used as a path). Ignored for a path.
    crs
        CRS of the coordinates when the file does not state one (e.g. ``"EPSG:27700"`` for
        a CSV of eastings and northings). Never guessed; a CSV with ``lon``/``lat``
        columns is taken as EPSG:4326. Must agree with the file's own CRS if it has one,
        unless the file is a GeoJSON without a ``crs`` member, or its coordinates fit
        ``crs`` and not the CRS it states: then ``crs`` is used, with a warning.
    columns
        Mapping ``{file column: contract column}`` for names the aliases
        (`planner.schema.COLUMN_ALIASES`) do not cover; applied before anything else
        (coordinates are looked for after it, so ``{"GeoX": "x"}`` works) and always wins
        over an alias. It may also name the location columns: ``x``, ``y``, ``lon``,
        ``lat``, ``crs``, ``grid_ref``.
    drop_invalid
        Drop invalid rows (each still listed in the report) instead of raising; a file
        whose every row is invalid is refused all the same.
    layer
        Layer of a multi-layer file (GeoPackage), by name; without it the file's only
        layer with geometry, or its only one with rows, is read (the report says which),
        and a file with several layers that have rows is refused, naming each with its
        row count.
    encoding
        Text encoding of a CSV, Shapefile or GeoJSON file, e.g. ``"cp1252"`` for a
        Windows/Excel export. None detects it (UTF-8, else Windows-1252/ISO-8859-1/-15 by
        charset-normalizer; the report says which was used). Formats that store Unicode
        (GeoPackage, FlatGeobuf, GeoParquet, XLSX, ODS) ignore it, with a warning.
    defaults
        Values for contract columns the file lacks, e.g. ``{"asset_type": "bus_stop"}``;
        blank cells of an existing column are filled too. A default wins over an alias:
        with ``{"kind": "school"}`` no ``type`` column is taken for ``kind``.
    sheet
        Sheet of an XLSX or ODS workbook: its name or 0-based position. Without it a
        one-sheet workbook is read, or the only visible sheet with rows (the report names
        it); several sheets with rows, or a hidden one, are refused, naming each sheet
        with its row count.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per valid asset in EPSG:4326: the columns of
        `planner.schema.ASSET_COLUMNS` in contract order (defaults filled, ``faces`` and
        ``slots`` int64, ``digital`` bool, ``weekly_impacts`` and ``price_per_cycle``
        float64, NaN when absent), then the file's other columns, then the geometry: a
        point, or a line or polygon kept whole (a multi-part asset becomes one row per
        part, ids ``<id>#1``, ``<id>#2``, ..., see `planner.io.geometry.apply_shape_rules`).
        The `ValidationReport` (warnings included) is in ``.attrs["report"]``.

    Raises
    ------
    DataValidationError
        Listing every problem (file, row, column, what was found, how to fix it): the
        file is missing, empty, too large (`MAX_ROWS`, `MAX_UNZIPPED_BYTES`), unreadable or
        without a CRS; a required column is missing; or rows are invalid and
        ``drop_invalid`` is false.

    Examples
    --------
    >>> assets = load_assets("bus-stops.csv", crs="EPSG:27700",
    ...                      columns={"Stop_Code_LBSL": "asset_id"}, drop_invalid=True)
    """
    return _load(
        _source(source, filename),
        "assets",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
        sheet=sheet,
    )


def load_sites(
    source: Source,
    *,
    filename: str | None = None,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str | None = None,
    defaults: Mapping[str, object] | None = None,
    sheet: str | int | None = None,
    kinds: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Load sensitive sites (schools, playgrounds, ...) as points or polygons.

    Reading and validation are as for `load_assets`; the site contract
    (`planner.schema.SITE_COLUMNS`) requires ``site_id`` and ``kind``.

    Parameters
    ----------
    source
        Any format and source `load_assets` reads. Polygons (school grounds) are kept as
        polygons: exclusion distances are then measured to the boundary.
    filename
        The file's name when ``source`` is bytes or a file object: its ending gives the
        format and messages name it (never used as a path). Ignored for a path.
    crs
        CRS of the coordinates when the file does not state one; e.g. ``"EPSG:27700"``
        for a GIAS schools export, whose ``Easting``/``Northing`` are British National Grid.
    columns
        Mapping ``{file column: contract column}``, e.g. ``{"URN": "site_id"}``.
    drop_invalid
        Drop invalid rows (each still listed in the report) instead of raising.
    layer
        Layer of a multi-layer file; chosen as for `load_assets` when None.
    encoding
        As for `load_assets` (detected when None).
    defaults
        Values for missing columns, e.g. ``{"kind": "school"}`` for a file of schools only;
        a default wins over an alias (a ``type`` column is then not taken for ``kind``).
    sheet
        Sheet of an XLSX or ODS workbook (name or 0-based position); without it, the only
        sheet, or the only one with rows (several with rows are refused).
    kinds
        Map of the file's kind values to site kinds, e.g. ``{"Local authority maintained
        schools": "school", "Special schools": "school"}`` (matched ignoring case and
        surrounding spaces), applied before the kinds are checked. Map a value to
        ``"other"`` to keep those sites unprotected on purpose.

    Returns
    -------
    geopandas.GeoDataFrame
        Valid sites in EPSG:4326: ``site_id``, ``kind`` (lower-case; unknown kinds are kept
        with a warning), ``name``, the file's other columns (personal-data columns such as
        a head teacher's name are dropped), geometry. The report is in ``.attrs["report"]``.

    Raises
    ------
    DataValidationError
        Listing every problem, as for `load_assets`.

    Examples
    --------
    >>> sites = load_sites("schools.csv", crs="EPSG:27700",
    ...                    columns={"URN": "site_id", "EstablishmentName": "name"})
    """
    return _load(
        _source(source, filename),
        "sites",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
        sheet=sheet,
        kinds=kinds,
    )


def load_zones(
    source: Source,
    *,
    filename: str | None = None,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    layer: str | None = None,
    encoding: str | None = None,
    defaults: Mapping[str, object] | None = None,
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Load demand zones (polygons or points with a ``population`` column).

    Reading and validation are as for `load_assets`; the zone contract
    (`planner.schema.ZONE_COLUMNS`) requires ``population``.

    Parameters
    ----------
    source
        Any format and source `load_assets` reads: e.g. ONS LSOA or output-area boundaries
        joined to their population, or their population-weighted centroids as points.
    filename
        The file's name when ``source`` is bytes or a file object: its ending gives the
        format and messages name it (never used as a path). Ignored for a path.
    crs
        CRS of the coordinates when the file does not state one.
    columns
        Mapping ``{file column: contract column}``; common spellings (``LSOA21CD``,
        ``Persons_All-Ages``, ``pop``) are recognised without it.
    drop_invalid
        Drop invalid rows (each still listed in the report) instead of raising.
    layer
        Layer of a multi-layer file; chosen as for `load_assets` when None.
    encoding
        As for `load_assets` (detected when None).
    sheet
        Sheet of an XLSX or ODS workbook (name or 0-based position); without it, the only
        sheet, or the only one with rows (several with rows are refused).
    defaults
        Values for missing columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Valid zones in EPSG:4326: ``zone_id`` (``zone-1``, ``zone-2``, ... when the file
        has none), ``population`` (people, float64, >= 0), ``name``, the file's other
        columns, geometry (polygon, multipolygon or point). The report is in
        ``.attrs["report"]``.

    Raises
    ------
    DataValidationError
        Listing every problem, as for `load_assets`; a zone with no population, or drawn
        as a line, is invalid.

    Examples
    --------
    >>> zones = load_zones("lsoa.gpkg", columns={"Persons_All-Ages": "population"})
    """
    return _load(
        _source(source, filename),
        "zones",
        crs=crs,
        columns=columns,
        drop_invalid=drop_invalid,
        layer=layer,
        encoding=encoding,
        defaults=defaults,
        sheet=sheet,
    )


def validate_file(
    source: Source,
    kind: str,
    *,
    filename: str | None = None,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    encoding: str | None = None,
    defaults: Mapping[str, object] | None = None,
    sheet: str | int | None = None,
    kinds: Mapping[str, str] | None = None,
    layer: str | None = None,
) -> ValidationReport:
    """Validate a file without raising: the report says what is wrong.

    The same reading and checks as `load_assets`, `load_sites` and `load_zones`, for the
    app's and the CLI's ``validate`` step, which show the report rather than fail.

    Parameters
    ----------
    source
        The file to check, in any format and source `load_assets` reads.
    filename
        The file's name when ``source`` is bytes or a file object: its ending gives the
        format and messages name it (never used as a path). Ignored for a path.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``: the contract to check against.
    crs, columns, drop_invalid, encoding, defaults, sheet, layer
        As for `load_assets`.
    kinds
        As for `load_sites` (sites only).

    Returns
    -------
    ValidationReport
        Every error and warning found; ``rows_valid`` counts the usable rows (0 when the
        file itself could not be used). A `DataValidationError` is returned as its report,
        never raised.

    Examples
    --------
    >>> print(validate_file("assets.csv", "assets", crs="EPSG:27700").to_text())
    """
    file = _source(source, filename)
    try:
        frame = _load(
            file,
            kind,
            crs=crs,
            columns=columns,
            drop_invalid=drop_invalid,
            layer=layer,
            encoding=encoding,
            defaults=defaults,
            sheet=sheet,
            kinds=kinds,
        )
    except DataValidationError as exc:
        report = getattr(exc, "report", None)
        if report is None:
            report = ValidationReport(file.name, kind, problems=exc.problems)
        return report
    return frame.attrs["report"]


def _source(source, filename: str | None) -> FileSource | DatabaseSource:
    """Return the table a ``postgresql://`` URL names, else the file (`FileSource`)."""
    return database_source(source) or FileSource.of(source, filename)


def _load(
    path: FileSource | DatabaseSource,
    kind,
    *,
    crs,
    columns,
    drop_invalid,
    layer,
    encoding,
    defaults=None,
    sheet=None,
    kinds=None,
) -> gpd.GeoDataFrame:
    """Read, rename and validate one contract table; the body of every ``load_*`` function.

    The explicit ``columns`` mapping is applied by `read_table` before anything else; the
    aliases then claim only columns the mapping and ``defaults`` left free. A file-level
    error (one with no row) stops here, before validation; row problems found while
    reading travel on to `validate_frame`, which decides with ``drop_invalid``.
    """
    try:
        frame = _read_and_validate(
            path,
            kind,
            crs=crs,
            columns=columns,
            drop_invalid=drop_invalid,
            layer=layer,
            encoding=encoding,
            defaults=defaults,
            sheet=sheet,
            kinds=kinds,
        )
    except DataValidationError as exc:
        raise _own_options(exc, kind) from None
    report = frame.attrs.get("report")
    if report is not None:
        report.problems = _own_option_hints(report.problems, kind)
    return frame


#: Command-line options a hint names that each input file has its own copy of.
_FILE_OPTIONS = re.compile(r"(?<![\w-])--(crs|encoding|sheet|layer)\b(?!-)")


def _own_option_hints(problems: list[Problem], kind: str) -> list[Problem]:
    """Name the file's own command-line options in hints: ``--sites-crs``, not ``--crs``.

    A hint for one file must not break another: ``--crs EPSG:4326`` given for a lon/lat
    assets file would apply to the sites file too, ``--assets-crs EPSG:4326`` does not.
    """
    if kind not in {"assets", "sites", "zones"}:
        return problems
    own = rf"--{kind}-\1"
    return [
        replace(p, found=_FILE_OPTIONS.sub(own, p.found), fix=_FILE_OPTIONS.sub(own, p.fix))
        for p in problems
    ]


def _own_options(exc: DataValidationError, kind: str) -> DataValidationError:
    """Return the same error with hints naming the file's own options (`_own_option_hints`)."""
    out = DataValidationError(exc.source, _own_option_hints(exc.problems, kind))
    report = getattr(exc, "report", None)
    if report is not None:
        report.problems = out.problems
        out.report = report
    return out


def _read_and_validate(
    path: FileSource | DatabaseSource,
    kind,
    *,
    crs,
    columns,
    drop_invalid,
    layer,
    encoding,
    defaults,
    sheet,
    kinds,
) -> gpd.GeoDataFrame:
    """Read one table, rename its columns and validate it: the body of `_load`."""
    source = path.name
    if kinds and kind != "sites":
        raise file_error(source, "kinds= maps site kinds; this is not a sites file", "Drop kinds=")
    frame, source_crs, first_row, problems = read_table(
        path, crs=crs, layer=layer, encoding=encoding, sheet=sheet, columns=columns
    )
    read_info = dict(frame.attrs)
    frame, more = normalise_columns(
        frame, kind, None, source, keep=set(dict(defaults or {})), kinds=kinds
    )
    frame.attrs.update(read_info)
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
        kinds=dict(kinds or {}),
    )
    return frame


def read_table(
    path: Path | FileSource | DatabaseSource,
    *,
    crs: str | int | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, CRS, int, list[Problem]]:
    """Read any supported file into a GeoDataFrame in its own CRS, without validation.

    Parameters
    ----------
    path
        The file, on disk or in memory (`FileSource`); its ending chooses the reader
        (CSV-like: `read_geo_csv`, else `planner.io.geofiles.read_geo`). A PostGIS table
        or query (`planner.io.database.DatabaseSource`) is read by
        `planner.io.database.read_database`.
    crs
        CRS to assume when the file states none (EPSG code, ``"EPSG:27700"`` or any
        pyproj input). A GIS file that states a different CRS is refused, not reprojected.
    layer
        Layer of a multi-layer file; chosen as for `load_assets` when None.
    encoding
        Text encoding of a CSV, Shapefile or GeoJSON file; None detects it.
    sheet
        Sheet of an XLSX or ODS workbook (name or 0-based position); without it, the only
        sheet, or the only one with rows (several with rows are refused).
    columns
        Explicit ``{file column: contract column}`` mapping, applied before coordinates
        are looked for (`planner.io.tables.apply_mapping`).

    Returns
    -------
    tuple
        ``(frame, crs, first_row, problems)``: the table with its geometry (None where a
        CSV row had no usable coordinates), its CRS, the row number a spreadsheet shows
        for the first record (2 for a CSV below its header, 1 otherwise) and the row
        problems found while reading (non-numeric coordinates in a CSV).

    Raises
    ------
    DataValidationError
        When the file is missing, a folder, empty, of an unsupported type, unreadable,
        over `MAX_ROWS` rows (or a zip over `MAX_UNZIPPED_BYTES` unpacked), or has no CRS
        and none is given, or a CRS other than the one given that its coordinates fit
        (a given CRS is used instead of a GeoJSON file's implied WGS84 when the file has no
        ``crs`` member, and of a stated CRS the coordinates do not fit while they fit the
        given one, with a warning), or one that cannot be converted to longitude/latitude.
    """
    if isinstance(path, DatabaseSource):
        return read_database(
            path, crs=crs, columns=columns, layer=layer, encoding=encoding, sheet=sheet,
            max_rows=MAX_ROWS,
        )  # fmt: skip
    path = FileSource.of(path)
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
            "Save it as .xlsx or CSV"
            if suffix == ".xls"
            else "Use GeoPackage, GeoJSON, Shapefile (.shp or .zip), FlatGeobuf, GeoParquet, "
            "CSV, XLSX or ODS",
        )
    if path.size == 0:
        raise file_error(source, "the file is empty (0 bytes)", "Export the data again")
    if suffix == ".shp" and path.data is not None:
        raise file_error(
            source,
            "a Shapefile read from memory has no .shx, .dbf and .prj beside it",
            "Zip the shapefile's .shp, .shx, .dbf and .prj files and give the .zip",
        )
    given = parse_crs(crs, source)
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, problems = read_geo_csv(path, given, encoding, max_rows=MAX_ROWS, columns=columns)
        assert frame.crs is not None  # read_geo_csv refuses coordinates without a CRS
        return frame, frame.crs, 2, problems
    problems = _unused_encoding(source, suffix, encoding)
    if suffix in {".xlsx", ".xlsm", ".ods"}:
        frame, more = read_sheet(path, given, sheet=sheet, max_rows=MAX_ROWS, columns=columns)
        assert frame.crs is not None  # read_sheet refuses coordinates without a CRS
        return frame, frame.crs, 2, problems + more
    frame = read_geo(
        path,
        suffix,
        layer,
        max_rows=MAX_ROWS,
        max_unzipped_bytes=MAX_UNZIPPED_BYTES,
        encoding=encoding,
    )
    note = frame.attrs.pop("layer_note", "")
    if note:
        problems.append(
            Problem(
                source,
                "",
                "",
                note,
                "If another layer holds the data, name it with layer= (--layer NAME)",
                "warning",
            )
        )
    read_info = dict(frame.attrs)
    frame, mapped = apply_mapping(frame, columns, source)
    frame.attrs.update(read_info)
    problems += mapped
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
        frame = _given_crs(path, frame, given, problems)
    return frame, convertible(CRS.from_user_input(frame.crs), source), 1, problems


def _given_crs(
    path: FileSource, frame: gpd.GeoDataFrame, given: CRS, problems: list[Problem]
) -> gpd.GeoDataFrame:
    """Read a GIS file in the CRS the caller gave instead of the one it states, when right.

    The given CRS wins, with a warning, over a GeoJSON file's implied WGS84 when the file
    has no ``crs`` member (RFC 7946 makes WGS84 the default, and many tools write British
    National Grid without saying so), and over a stated CRS that the coordinates do not
    fit while they fit the given one (a ``.prj`` copied from another layer). Otherwise the
    two disagree with the coordinates on the file's side and the file is refused.
    """
    stated = CRS.from_user_input(frame.crs)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    silent = path.suffix.lower() in {".geojson", ".json"} and not _has_crs_member(path)
    if silent:
        why = "a GeoJSON file without a 'crs' member is longitude/latitude by its standard"
    elif not coordinates_fit(geoms, stated) and coordinates_fit(geoms, given):
        why = f"the file states {stated.name}, which its coordinates do not fit"
    else:
        raise file_error(
            path.name,
            f"the file's CRS is {stated.to_string()} but crs={given.to_string()} was passed, "
            "and the coordinates fit the file's own CRS",
            "Leave crs unset for this file, or fix the file's CRS",
        )
    problems.append(
        Problem(
            path.name,
            "",
            "",
            f"the coordinates were read in {given.name} ({given.to_string()}) as crs= said ({why})",
            "Nothing to do if that is their CRS",
            "warning",
        )
    )
    return frame.set_crs(given, allow_override=True)


def _has_crs_member(path: FileSource) -> bool:
    """Tell whether a GeoJSON file has a top-level ``crs`` member (GeoJSON 2008)."""
    with path.open("rb") as f:
        data = f.read()
    if b'"crs"' not in data:
        return False
    try:
        return "crs" in json.loads(data)
    except (ValueError, TypeError):
        return True  # unreadable here: keep the CRS GDAL read


#: Formats whose text is Unicode by definition: an ``encoding`` given for them is not used.
_UNICODE_FORMATS = {
    ".gpkg": "a GeoPackage",
    ".fgb": "FlatGeobuf",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".xlsx": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".ods": "an OpenDocument spreadsheet",
}


def _unused_encoding(source: str, suffix: str, encoding: str | None) -> list[Problem]:
    """Warn when an encoding other than UTF-8 is given for a format that stores Unicode."""
    if not encoding:
        return []
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise file_error(
            source,
            f"'{encoding}' is not a text encoding",
            "Use utf-8, or cp1252 for a Windows/Excel export",
        ) from None
    if suffix not in _UNICODE_FORMATS or codec in {"utf-8", "utf-8-sig"}:
        return []
    return [
        Problem(
            source,
            "",
            "",
            f"encoding='{encoding}' was not used: {_UNICODE_FORMATS[suffix]} stores its text "
            "as Unicode, so its names read the same whatever the encoding",
            "Leave the encoding unset for this file",
            "warning",
        )
    ]


def load_campaigns(
    source: Source,
    *,
    filename: str | None = None,
    categories=None,
    encoding: str = "utf-8",
) -> list:
    """Read and check a campaigns CSV (columns in `planner.campaigns.CAMPAIGN_COLUMNS`).

    Parameters
    ----------
    source
        A ``.csv`` (or ``.txt``) file with one header row and one row per campaign: a path,
        the file's bytes or a binary file object.
    filename
        The file's name when ``source`` is bytes or a file object (never used as a path).
    categories
        Known advertiser categories; pass ``policy.categories`` when the policy adds its
        own. Default: `planner.schema.CATEGORIES`.
    encoding
        Text encoding of the file.

    Returns
    -------
    list of planner.campaigns.Campaign
        In file order; row numbers in messages are as a spreadsheet shows them.

    Raises
    ------
    CampaignError
        When the file is missing, not a CSV, not text in ``encoding`` or unreadable, or
        naming every bad row and column of a readable one.

    Examples
    --------
    >>> campaigns = load_campaigns("data/campaigns.csv")
    """
    from planner.campaigns import parse_campaigns
    from planner.schema import CATEGORIES

    file = FileSource.of(source, filename)
    table = read_plain_csv(file, encoding, "campaigns")
    return parse_campaigns(table, categories=categories or CATEGORIES, source=file.name)


def read_campaigns_table(
    source: Source, *, filename: str | None = None, encoding: str = "utf-8"
) -> pd.DataFrame:
    """Read a campaigns CSV as a table of text cells, unchecked (for editing before parsing).

    Parameters
    ----------
    source
        A ``.csv`` (or ``.txt``) file with one header row: a path, the file's bytes or a
        binary file object.
    filename
        The file's name when ``source`` is bytes or a file object (never used as a path).
    encoding
        Text encoding of the file.

    Returns
    -------
    pandas.DataFrame
        Every cell as text (empty cells as ``""``, never NaN), columns as in the file;
        check it with `planner.campaigns.parse_campaigns` once edited.

    Raises
    ------
    CampaignError
        When the file is missing, not text in ``encoding``, or not a readable CSV.

    Examples
    --------
    >>> table = read_campaigns_table("data/campaigns.csv")
    >>> campaigns = parse_campaigns(table, source="campaigns.csv")
    """
    return read_plain_csv(FileSource.of(source, filename), encoding, "campaigns")


def load_layer(
    source: Source,
    *,
    filename: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a supporting layer (transit stops, points of interest) in EPSG:4326, unvalidated.

    The same formats and file checks as `load_assets`, without the asset contract: no
    column is required, renamed or converted, and no row is dropped.

    Parameters
    ----------
    source
        Any format and source `load_assets` reads (a path, bytes or a file object).
    filename
        The file's name when ``source`` is bytes or a file object (never used as a path).
    crs
        CRS of the coordinates when the file does not state one.
    layer
        Layer of a multi-layer file; chosen as for `load_assets` when None.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns and geometry, reprojected to EPSG:4326.

    Raises
    ------
    DataValidationError
        When the file is missing, unreadable, or has no CRS and none is given, or a CSV
        has coordinates that are not numbers.

    Examples
    --------
    >>> transit = load_layer("data/transit.gpkg")
    """
    file = _source(source, filename)
    frame, _, _, problems = read_table(file, crs=crs, layer=layer)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(file.name, problems)
    return frame.to_crs(STORAGE_CRS)


def load_placements(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the placements of a plan: a CSV, or the ``placements`` layer of a plan GeoPackage.

    For auditing a plan against a policy, or locking its bookings in a new plan.

    Parameters
    ----------
    path
        A placements ``.csv`` or a plan ``.gpkg`` as written by the CLI and the app.

    Returns
    -------
    pandas.DataFrame
        One row per booked face and cycle (columns as written, e.g.
        `planner.plan.PLACEMENT_COLUMNS`), without geometry; ``asset_id``,
        ``campaign_id`` and ``category`` are read as text so ids such as ``007`` survive.

    Raises
    ------
    PlannerError
        When the file does not exist, is neither ``.csv`` nor ``.gpkg``, a GeoPackage has
        no ``placements`` layer, or the file cannot be read.

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
