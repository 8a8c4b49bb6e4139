"""Writing tables atomically as GeoPackage, GeoJSON, FlatGeobuf, GeoParquet, CSV or Excel.

Each file is written to a temporary file beside the target, then renamed over it, so a
failure never leaves a half-written output. The output edge of `planner.io.readers`,
which re-exports it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from planner.errors import PlannerError
from planner.io.layer_styles import write_layer_styles

__all__ = ["atomic_path", "write_booking_sheet", "write_layers", "write_report", "write_table"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    The temporary file is in the same folder (so the rename is atomic on one file system)
    and does not exist yet when yielded, so each writer creates it from scratch. On an
    exception ``path`` is left as it was; the temporary file and any SQLite ``-journal``
    or ``-wal`` file beside it are removed either way.

    Parameters
    ----------
    path
        The file to write; its parent folders are created.

    Yields
    ------
    pathlib.Path
        The temporary path, with the same ending as ``path``.

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

    Parameters
    ----------
    frame
        The table; a GeoDataFrame keeps its geometry and CRS in the GIS formats.
    path
        Output file; its ending chooses the format.
    layer
        GeoPackage layer or Excel sheet name; the file's stem by default.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PlannerError
        When the file type is not supported.

    Examples
    --------
    >>> write_table(values, "values.gpkg", layer="values")
    """
    return write_layers({layer or Path(path).stem: frame}, path)


def write_layers(layers: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write several named tables to one file atomically (GeoPackage layers, Excel sheets).

    Formats with a single table (CSV, GeoJSON, ...) take the first layer only. A
    GeoPackage also gets a ``layer_styles`` table, so QGIS opens each layer coloured as on
    the planner's maps (`planner.io.layer_styles`). In the GIS formats list and dict
    cells are written as text; in Excel, sheet names are cut to 31
    characters and text starting with ``=`` stays text, never a formula (a spreadsheet
    injection guard). GeoParquet drops ``frame.attrs`` (a loader's report).

    Parameters
    ----------
    layers
        ``{layer name: table}``, in the order to write them.
    path
        Output file: ``.gpkg``, ``.geojson``/``.json``, ``.fgb``, ``.parquet``, ``.csv`` or
        ``.xlsx``.

    Returns
    -------
    pathlib.Path
        ``path``.

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
            write_layer_styles(tmp, layers)  # QGIS opens each layer styled as on the maps
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


def write_booking_sheet(sheet: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a booking sheet atomically as Excel (ready to send) or CSV.

    In Excel the header row is bold, frozen and filtered; each column is as wide as its
    longest value (at most 45 characters); ``price`` has thousands separators, two
    decimals and the currency code, ``impacts`` and ``face``/``cycle`` are whole numbers
    and ``cycle_start``/``cycle_end`` are dates (``yyyy-mm-dd``). In CSV dates are ISO
    text. In both, text starting with ``=``, ``+``, ``-`` or ``@`` is kept as text, never a
    formula (a spreadsheet injection guard).

    Parameters
    ----------
    sheet
        A booking sheet (`planner.report.booking_sheet`); ``attrs["currency"]`` or a
        ``currency`` column names the price's currency.
    path
        Output ``.xlsx`` or ``.csv`` file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PlannerError
        When the file type is neither ``.xlsx`` nor ``.csv``.

    Examples
    --------
    >>> write_booking_sheet(booking_sheet(result, assets), "booking-sheet.xlsx")
    PosixPath('booking-sheet.xlsx')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        raise PlannerError(f"Cannot write the booking sheet '{path.name}': use .xlsx or .csv")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            _text_safe(sheet).to_csv(tmp, index=False)
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                sheet.to_excel(writer, sheet_name="booking sheet", index=False)
                _format_booking(writer.sheets["booking sheet"], sheet)
    return path


def write_report(page: str, path: str | os.PathLike[str]) -> Path:
    """Write a printable report (`planner.plan_report.plan_report`) atomically as HTML.

    The page is written as UTF-8, whole or not at all: an existing report is replaced only
    once the new one is complete. For a PDF, open the file in a browser and print it to
    PDF (the page is laid out for A4); no PDF library is needed or used.

    Parameters
    ----------
    page
        The HTML document.
    path
        Output ``.html`` or ``.htm`` file; its parent folders are created.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PlannerError
        When the file does not end in ``.html`` or ``.htm``.

    Examples
    --------
    >>> write_report(plan_report(result, values, policy=policy), "report.html")
    PosixPath('report.html')
    """
    path = Path(path)
    if path.suffix.lower() not in {".html", ".htm"}:
        raise PlannerError(
            f"Cannot write the report '{path.name}': use .html (print it to PDF from a browser)"
        )
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


#: Excel number formats of the booking sheet's columns (price gets its currency added).
_BOOKING_FORMATS = {
    "price": '#,##0.00 "{currency}"',
    "impacts": "#,##0",
    "face": "0",
    "cycle": "0",
    "cycle_start": "yyyy-mm-dd",
    "cycle_end": "yyyy-mm-dd",
}


def _format_booking(ws, sheet: pd.DataFrame) -> None:
    """Set a bold, frozen, filtered header, column widths, and number and date formats."""
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    currency = sheet.attrs.get("currency") or (
        str(sheet["currency"].iloc[0]) if "currency" in sheet and len(sheet) else ""
    )
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for j, name in enumerate(sheet.columns, start=1):
        letter = ws.cell(row=1, column=j).column_letter
        ws.cell(row=1, column=j).font = Font(bold=True)
        shown = sheet[name].map(lambda v: f"{v:,.2f}" if isinstance(v, float) else str(v))
        longest = max([len(str(name)), *shown.str.len().tolist()])
        ws.column_dimensions[letter].width = min(longest + 2, 45)
        number_format = _BOOKING_FORMATS.get(str(name), "").replace("{currency}", currency)
        if number_format:
            for row in range(2, len(sheet) + 2):
                ws.cell(row=row, column=j).number_format = number_format
    _formulas_as_text(ws, sheet)


def _text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (CSV has no types)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(
                lambda v: f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v
            )
    return out


def _plain(frame: pd.DataFrame, *, keep_geometry: bool) -> pd.DataFrame:
    """Make object columns writable by GDAL (lists and dicts become text).

    ``None``, str, int, float and bool values pass through; the geometry column is left
    alone, or dropped (returning a plain DataFrame) when ``keep_geometry`` is false.
    """
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
    """Return a GeoDataFrame as a plain table with a last, WKT ``geometry`` column (for CSV, Excel).

    Any other table is returned unchanged.
    """
    if isinstance(frame, gpd.GeoDataFrame):
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        out["geometry"] = frame.geometry.to_wkt()
        return out
    return frame
