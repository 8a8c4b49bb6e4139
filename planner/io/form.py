"""What a form that maps a user's file before loading it needs: a preview, suggestions, words.

A person loading a raw export (TfL's bus stops, a GIAS schools list) in a browser sees its
first rows (`preview_file`), the columns the loaders would take for each contract column
(`suggest_columns`), and every fix hint of the loaders in the form's own words
(`for_form`): the loaders write their hints for Python and the CLI (``crs='EPSG:27700'``,
``--crs EPSG:27700``), which a browser user cannot act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import pandas as pd

from planner import schema
from planner.errors import PlannerError
from planner.io.geofiles import file_error, read_geo
from planner.io.readers import _GEO_SUFFIXES, MAX_ROWS, MAX_UNZIPPED_BYTES
from planner.io.source import FileSource, Source
from planner.io.tables import _find, _separator, _sheet, _squash, _text_encoding
from planner.io.validation import normalise_columns

__all__ = ["FORM_LABELS", "for_form", "mapping_targets", "preview_file", "suggest_columns"]

_TEXT = {".csv", ".txt", ".tsv"}
_SHEETS = {".xlsx", ".xlsm", ".ods"}

#: The loader options a form offers, by keyword, with the label of the control that sets
#: each (the default wording of `for_form`).
FORM_LABELS: dict[str, str] = {
    "crs": "CRS",
    "columns": "Columns of this file",
    "defaults": "Values for missing columns",
    "kinds": "Site kinds",
    "encoding": "Text encoding",
    "sheet": "Sheet",
    "layer": "Layer",
    "drop_invalid": "Drop invalid rows",
    "rate_card": "Rate card",
    "terms": "Concession terms",
}


def preview_file(
    source: Source,
    *,
    filename: str | None = None,
    rows: int = 5,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """Read the first rows of a file as it is, before any mapping, CRS or validation.

    CSV and spreadsheet cells come back as text (ids keep their leading zeros); a GIS
    file's attributes come back without the geometry. Encoding and separator are detected
    as `planner.load_assets` detects them.

    Parameters
    ----------
    source
        A path, the file's bytes or a binary file object, in any format `load_assets` reads.
    filename
        The file's name when ``source`` is bytes or a file object; its ending gives the format.
    rows
        Most rows returned.
    encoding
        Text encoding of a CSV (None detects it).
    sheet
        Sheet of an XLSX/ODS workbook (name or 0-based position; None for the first).
    layer
        Layer of a multi-layer GIS file (None for the first).

    Returns
    -------
    pandas.DataFrame
        At most ``rows`` rows, every column of the file under its own name (stripped);
        ``attrs["rows_read"]`` is the number of rows returned.

    Raises
    ------
    DataValidationError
        When the file type is not supported, or the file cannot be read as its type.

    Examples
    --------
    >>> preview_file("bus-stops.csv").columns[:3].tolist()
    ['Stop_Code_LBSL', 'Bus_Stop_Code', 'Naptan_Atco']
    """
    file = FileSource.of(source, filename)
    suffix = file.suffix.lower()
    if suffix not in _GEO_SUFFIXES:
        raise file_error(
            file.name,
            f"files ending '{suffix or '(none)'}' are not supported",
            "Use GeoPackage, GeoJSON, zipped Shapefile, FlatGeobuf, GeoParquet, CSV, XLSX or ODS",
        )
    if suffix in _TEXT:
        table = _preview_text(file, rows, encoding)
    elif suffix in _SHEETS:
        table = _preview_sheet(file, rows, sheet)
    else:
        frame = read_geo(
            file, suffix, layer, max_rows=MAX_ROWS, max_unzipped_bytes=MAX_UNZIPPED_BYTES
        )
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).head(rows)
    table.columns = [str(c).strip() for c in table.columns]
    table.attrs["rows_read"] = len(table)
    return table.reset_index(drop=True)


def _preview_text(file: FileSource, rows: int, encoding: str | None) -> pd.DataFrame:
    """Return the first ``rows`` rows of a CSV, every cell as text."""
    used = _text_encoding(file, encoding)
    sep = "\t" if file.suffix.lower() == ".tsv" else _separator(file, used.codec)
    try:
        return pd.read_csv(
            file.readable,
            sep=sep,
            encoding=used.codec,
            dtype=str,
            keep_default_na=False,
            nrows=rows,
            skipinitialspace=True,
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        raise file_error(
            file.name,
            f"the file could not be read as CSV in {used.codec}",
            "Check that it is a comma-separated file with one header row, and its text encoding",
        ) from None


def _preview_sheet(file: FileSource, rows: int, sheet: str | int | None) -> pd.DataFrame:
    """Return the first ``rows`` rows of a workbook's sheet, every cell as text."""
    engine: Literal["odf", "openpyxl"] = "odf" if file.suffix.lower() == ".ods" else "openpyxl"
    try:
        with pd.ExcelFile(file.readable, engine=engine) as book:
            chosen = _sheet(sheet, [str(n) for n in book.sheet_names], file.name)
            return pd.read_excel(
                book, sheet_name=chosen, dtype=str, keep_default_na=False, nrows=rows
            )
    except PlannerError:
        raise
    except Exception:
        raise file_error(
            file.name,
            "the file could not be read as a spreadsheet",
            "Save it again from the spreadsheet, or as CSV",
        ) from None


def mapping_targets(kind: str) -> list[str]:
    """List the columns a form lets the user map for a layer: the contract's, then x and y.

    Parameters
    ----------
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.

    Returns
    -------
    list of str
        Contract columns in contract order (`planner.schema`), then ``x`` and ``y``
        (longitude or easting, latitude or northing).

    Raises
    ------
    KeyError
        When ``kind`` is not one of the three.

    Examples
    --------
    >>> mapping_targets("zones")
    ['zone_id', 'population', 'name', 'x', 'y']
    """
    contract = {
        "assets": schema.ASSET_COLUMNS,
        "sites": schema.SITE_COLUMNS,
        "zones": schema.ZONE_COLUMNS,
    }[kind]
    return [*contract, "x", "y"]


def suggest_columns(
    table: pd.DataFrame, kind: str, *, kinds: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which file column the loader would take for each contract column, as a form's defaults.

    The same choice as `planner.load_assets` makes without a mapping: a column already
    named after the contract column, else the first alias (`planner.schema.COLUMN_ALIASES`)
    whose values fit (`planner.io.validation.alias_fits`); coordinates by their aliases.
    Judge on a few hundred rows of `preview_file`, not five: fit is a share of values.

    Parameters
    ----------
    table
        The file's columns and some rows (e.g. ``preview_file(..., rows=200)``).
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    kinds
        The user's map of kind values to site kinds (sites), used to judge a kind column.

    Returns
    -------
    dict
        ``{contract column or "x"/"y": file column}`` for every column found; a contract
        column the file lacks is left out.

    Examples
    --------
    >>> suggest_columns(preview_file("bus-stops.csv", rows=200), "assets")
    {'name': 'Stop_Name', 'x': 'Location_Easting', 'y': 'Location_Northing'}
    """
    targets = mapping_targets(kind)
    renamed, _ = normalise_columns(table, kind, None, "preview", kinds=dict(kinds or {}))
    claimed = renamed.attrs.get("claimed", {})
    found = {t: claimed.get(t, t) for t in targets if t in renamed.columns}
    keys = {_squash(c): c for c in table.columns}
    for axis in ("x", "y"):
        column = _find(keys, schema.COLUMN_ALIASES[axis])
        if column is not None and column not in found.values():
            found[axis] = column
    return found


_CODE_NAME = re.compile(r"\s*\((?:[A-Z]\w*\.)+\w+\)")
_OPTION_HINT = re.compile(r"\s*\((\w+)=\.\.\., --[a-z][\w-]*\)")
_CLI_HINT = re.compile(r"\s*\([^()]*--[a-z][^()]*\)")
_CLI_OR = re.compile(r"\s+or\s+--[a-z][\w-]*(?:\s+'[^']*'|\s+\S+)?")
_CALL = re.compile(r"\b(?:load|value)_\w+\(\.\.\.,\s*(\w+=\{[^{}]*\})\)")
_DICT = re.compile(r"\b(columns|defaults|kinds)=\{([^{}]*)\}")
_PAIR = re.compile(r"'([^']*)'\s*:\s*'([^']*)'")
_VALUE = re.compile(r"\b([a-z_]+)=(?:'([^']*)'|(True|False|[\w:.-]+))")
_BARE = re.compile(r"\b([a-z_]+)=(?:\{\.\.\.\}|\.\.\.)?(?=[\s,.;)]|$)")


def for_form(text: str, labels: Mapping[str, str] = FORM_LABELS) -> str:
    """Rewrite the loaders' Python and CLI hints as instructions for a form's controls.

    ``crs='EPSG:27700' (--crs EPSG:27700)`` becomes ``EPSG:27700 in the box 'CRS'``;
    ``columns={'your_column': 'asset_id'}`` becomes ``your column chosen for 'asset_id'
    under 'Columns of this file'``; ``defaults={'kind': 'school'}`` becomes ``'kind =
    school' in 'Values for missing columns'``; ``drop_invalid=True`` becomes ``tick 'Drop
    invalid rows'``; CLI options and names of code (``(AudienceParams.x)``) in parentheses
    are dropped. Options without a label are left as they are.

    Parameters
    ----------
    text
        A message, a `Problem`'s ``fix`` or ``found``.
    labels
        ``{loader keyword: the form control's label}`` (see `FORM_LABELS`).

    Returns
    -------
    str
        The text in the form's words.

    Examples
    --------
    >>> for_form("Pass crs='EPSG:27700' for British National Grid (--crs EPSG:27700)")
    "Enter EPSG:27700 in the box 'CRS' for British National Grid"
    """
    text = _CODE_NAME.sub("", text)
    text = _OPTION_HINT.sub(lambda m: _hint_in_words(m, labels), text)
    text = _CLI_HINT.sub("", text)
    text = _CLI_OR.sub("", text)
    text = _CALL.sub(r"\1", text)
    text = _DICT.sub(lambda m: _pairs_in_words(m[1], m[2], labels), text)
    text = re.sub(r"\b[Ll]eave crs unset", lambda m: _leave(m[0], labels), text)
    text = re.sub(r"\bcrs=(\S+) was passed", lambda m: _box_says(m[1], labels), text)
    text = _VALUE.sub(lambda m: _value_in_words(m, labels), text)
    text = _BARE.sub(lambda m: _bare_in_words(m, labels), text)
    text = re.sub(r"\b([Pp])ass (?=\S+ in the box)", lambda m: "Ee"[m[1] == "p"] + "nter ", text)
    text = re.sub(r"\b([Pp])ass (?=the box)", lambda m: "Uu"[m[1] == "p"] + "se ", text)
    return re.sub(r"\bwith (?=the box)", "in ", text)


def _hint_in_words(match: re.Match[str], labels: Mapping[str, str]) -> str:
    """Say ``(encoding=..., --encoding)`` in words, or leave it when unlabelled."""
    name = match[1]
    return f" (the box '{labels[name]}')" if name in labels else match[0]


def _pairs_in_words(option: str, body: str, labels: Mapping[str, str]) -> str:
    """Say ``columns={'a': 'b'}`` and its kin in words, or leave them when unlabelled."""
    if option not in labels:
        return f"{option}={{{body}}}"
    label = labels[option]
    pairs = _PAIR.findall(body)
    if not pairs:
        return f"the box '{label}'"
    if option == "columns":
        parts = [f"{_placeholder(a)} chosen for '{b}'" for a, b in pairs]
        return f"{' and '.join(parts)} under '{label}'"
    if option == "defaults":
        parts = [f"'{a} = {b}'" for a, b in pairs]
        return f"{' and '.join(parts)} in '{label}'"
    parts = [f"'{a}' set to '{b}'" for a, b in pairs]
    return f"{' and '.join(parts)} under '{label}'"


def _placeholder(name: str) -> str:
    """Write ``your_column`` (a placeholder) as words, and quote a real column name."""
    return name.replace("_", " ") if name.startswith("your") else f"'{name}'"


def _leave(found: str, labels: Mapping[str, str]) -> str:
    """Say 'Leave crs unset' in words."""
    if "crs" not in labels:
        return found
    return f"{found[0]}eave the box '{labels['crs']}' empty"


def _box_says(value: str, labels: Mapping[str, str]) -> str:
    """Say 'crs=X was passed' in words."""
    if "crs" not in labels:
        return f"crs={value} was passed"
    return f"the box '{labels['crs']}' says {value}"


def _value_in_words(match: re.Match[str], labels: Mapping[str, str]) -> str:
    """Say ``name='value'`` in words when ``name`` has a label."""
    name, value = match[1], match[2] if match[2] is not None else match[3]
    if name not in labels:
        return match[0]
    if name == "drop_invalid":
        return f"tick '{labels[name]}'" if value == "True" else f"untick '{labels[name]}'"
    return f"{value} in the box '{labels[name]}'"


def _bare_in_words(match: re.Match[str], labels: Mapping[str, str]) -> str:
    """Say ``name=`` (no value given) in words when ``name`` has a label."""
    name = match[1]
    if name not in labels:
        return match[0]
    return f"the box '{labels[name]}'"
