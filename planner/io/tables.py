"""Reading CSV files: coordinates or WKT into points and shapes, and plain text tables.

Also the text checks every CSV passes first (known encoding, no NUL bytes, no ragged
rows). An input edge of `planner.io.readers`, which calls it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from planner import schema
from planner.errors import Problem
from planner.io.geofiles import file_error
from planner.io.source import FileSource

__all__ = ["read_geo_csv", "read_plain_csv"]


def read_geo_csv(
    path: Path | FileSource, given: CRS | None, encoding: str, *, max_rows: int
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a CSV of coordinates (or WKT shapes) in CRS ``given``, with its row problems.

    Longitude/latitude columns need no CRS; eastings/northings and WKT do. Rows whose
    coordinates are not numbers come back as problems (and no location), not as an error.

    Parameters
    ----------
    path
        A ``.csv``, ``.txt`` or ``.tsv`` file with one header row, on disk or in memory
        (`FileSource`). The separator is tab for ``.tsv``, else the header's most
        frequent of ``,`` ``;`` tab ``|`` (else spaces).
    given
        CRS of the coordinates, or None: then only lon/lat columns are accepted, as
        EPSG:4326.
    encoding
        Text encoding, e.g. ``"utf-8"`` or ``"cp1252"``.
    max_rows
        Most data rows accepted; one more is read to detect a larger file.

    Returns
    -------
    tuple
        ``(frame, problems)``: every cell as text (empty cells NaN) with the coordinate
        or WKT column replaced by the geometry in ``given`` (None where a row has no
        usable location; a WKT cell that does not parse gives None too), and one
        `Problem` per row whose coordinates are not numbers (rows numbered from 2).

    Raises
    ------
    DataValidationError
        When the encoding is unknown or wrong, the file holds NUL bytes or is not a
        readable CSV, has more than ``max_rows`` rows or rows longer than its header, has
        no coordinate or WKT column, or has eastings/northings or WKT but no ``given`` CRS.

    Examples
    --------
    >>> frame, problems = read_geo_csv(Path("stops.csv"), CRS.from_epsg(27700), "utf-8",
    ...                                max_rows=2_000_000)
    """
    path = FileSource.of(path)
    source = path.name
    _check_text(path, encoding, file_error)
    try:
        frame = pd.read_csv(
            path.readable,
            sep="\t" if path.suffix.lower() == ".tsv" else _separator(path, encoding),
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            nrows=max_rows + 1,
            skipinitialspace=True,
        )
    except UnicodeDecodeError as exc:
        raise file_error(
            source,
            f"the file is not {encoding} text (byte {exc.object[exc.start]:#x} "
            f"at position {exc.start})",
            "Save it as UTF-8 CSV, or pass "
            "encoding='cp1252' (--encoding cp1252) for a Windows/Excel export",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise file_error(
            source,
            f"the file could not be read as CSV ({str(exc)[:200]})",
            "Check that it is a comma-separated file with one header row",
        ) from None
    if len(frame) > max_rows:
        raise file_error(source, f"the file has more than {max_rows:,} rows", "Split it by area")
    if not isinstance(frame.index, pd.RangeIndex):
        raise file_error(source, *_RAGGED)
    frame.columns = [str(c).strip() for c in frame.columns]
    return _csv_geometry(frame, source, given)


#: pandas takes extra leading fields as an index, shifting every column: refuse instead.
_RAGGED = (
    "rows have more fields than the header row has column names",
    "Quote values that contain the separator, or remove the extra fields",
)


def _separator(path: FileSource, encoding: str) -> str:
    """Return the header row's most frequent separator (comma, semicolon, tab or bar), else spaces.

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


def _check_text(path: FileSource, encoding: str, fail) -> None:
    """Refuse an unknown encoding, and NUL bytes (binary data, or UTF-16 read as UTF-8).

    ``fail(source, found, fix)`` builds the exception to raise, so each reader raises its
    own domain error. UTF-16 and UTF-32 are not scanned (their text has NUL bytes); other
    files are scanned 1 MiB at a time.
    """
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
    """Turn a WKT column, else the first x/y alias columns, into the table's geometry.

    A ``geometry``, ``wkt`` or ``geom`` column wins over coordinates; column names are
    matched lower-case with spaces as ``_``. Return ``(GeoDataFrame, problems)``.
    """
    keys = {str(c).strip().lower().replace(" ", "_"): c for c in frame.columns}
    for wkt in ("geometry", "wkt", "geom"):
        if wkt in keys:
            if given is None:
                raise file_error(
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
        raise file_error(
            source,
            "no coordinate columns found (columns: "
            f"{', '.join(map(str, list(frame.columns)[:20]))})",
            "Add lon/lat (or easting/northing) columns, or a WKT 'geometry' column",
            "x/y",
        )
    lonlat = _key_of(keys, x) in {"lon", "lng", "long", "longitude"}
    if given is None:
        if not lonlat:
            raise file_error(
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
    """Return the file column of the first alias present (aliases in order of preference)."""
    for alias in aliases:
        if alias in keys:
            return keys[alias]
    return None


def _key_of(keys: dict[str, str], column: str) -> str:
    """Return the normalised key of a file column (the inverse of ``keys``)."""
    return next(k for k, v in keys.items() if v == column)


def read_plain_csv(path: Path | FileSource, encoding: str, what: str) -> pd.DataFrame:
    """Read a CSV as a table of text cells; ``what`` names the table in `CampaignError` messages.

    Parameters
    ----------
    path
        A ``.csv`` or ``.txt`` file, comma-separated, with one header row, on disk or in
        memory (`FileSource`).
    encoding
        Text encoding of the file.
    what
        The table's name in messages, e.g. ``"campaigns"``.

    Returns
    -------
    pandas.DataFrame
        Every cell as text, empty cells as ``""``; at most the first 100,001 rows.

    Raises
    ------
    CampaignError
        When the file is missing, not ``.csv``/``.txt``, in an unknown or wrong encoding,
        holds NUL bytes, is not a readable CSV, or has rows longer than its header.

    Examples
    --------
    >>> table = read_plain_csv(Path("campaigns.csv"), "utf-8", "campaigns")
    """
    from planner.errors import CampaignError

    path = FileSource.of(path)
    if not path.is_file():
        raise CampaignError(f"The {what} file '{path}' does not exist; check the path")
    if path.suffix.lower() not in {".csv", ".txt"}:
        raise CampaignError(f"{path.name}: the {what} table must be a .csv file")
    _check_text(path, encoding, lambda _, found, fix: CampaignError(f"{path.name}: {found}. {fix}"))
    try:
        table = pd.read_csv(
            path.readable, dtype=str, keep_default_na=False, encoding=encoding, nrows=100_001
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
