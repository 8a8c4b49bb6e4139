"""Numbers as councils' spreadsheets write them.

Decimal commas (``24,9384``), thousands separators (``1,634`` or ``1.634,5``) and ids a
spreadsheet turned into scientific notation (``1.00012E+11``).

Pure functions on text columns, used by the CSV, XLSX and ODS readers and the field checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ParsedNumbers", "ambiguity", "looks_mangled", "parse_numbers"]

#: 1,234 or 1,234,567.5: a thousands comma (British/American).
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
#: 24,9384 or 1.234,5 or 1 234,5: a decimal comma, perhaps with '.' or space thousands.
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}([. \u00a0\u202f]\d{3})+|\d+),\d+$")
#: 1 234 or 1 234.5: space thousands (SI style) with a decimal point or none.
_SPACE_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+(\.\d+)?$")
_SCIENTIFIC = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+?\d+$")
#: 1.634 or 532.040: a thousands dot, or a decimal point with three decimals.
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")


@dataclass
class ParsedNumbers:
    """A text column read as numbers.

    Attributes
    ----------
    values
        Float values, NaN where blank or unreadable (float64, same index as the input).
    style
        ``""`` (plain numbers), ``"decimal comma"``, ``"thousands separator"`` or
        ``"ambiguous"`` (values such as ``1,234`` that are 1234 with a thousands comma and
        1.234 with a decimal comma, and nothing in the file says which: left unread).
    example
        One value that showed the style (for the message).
    """

    values: pd.Series
    style: str = ""
    example: str = ""


def parse_numbers(raw: pd.Series, *, decimal_comma: bool | None = None) -> ParsedNumbers:
    """Read a column of numbers written with a decimal point, a decimal comma or thousands.

    Plain numbers are read as they are. Values that are not plain are tried as decimal-comma
    numbers (``24,9384``, ``1.234,5``) and as thousands-separated ones (``1,234.5``,
    ``1 234``); when every such value fits exactly one style the column is read in it.
    A value such as ``1,234`` fits both: ``decimal_comma`` (true when the file separates
    fields with ``;`` or tabs, as European exports that use decimal commas do) decides, and
    without it the column is reported ``"ambiguous"`` and those values left unread. In a
    file that writes decimal commas, a value such as ``532.040`` is 532040 with a thousands
    dot or 532.04 with a decimal point: when no other value of the column decides (a
    decimal comma, or a decimal point with other than three decimals), it is reported
    ``"ambiguous"`` too.

    Parameters
    ----------
    raw
        Column as read (text, numbers or a mix), shape (n,).
    decimal_comma
        Whether the file is known to write decimal commas (None: unknown).

    Returns
    -------
    ParsedNumbers
        The values and the style found.

    Examples
    --------
    >>> parse_numbers(pd.Series(["24,9384", "60,1699"])).values.tolist()
    [24.9384, 60.1699]
    >>> parse_numbers(pd.Series(["1,634", "12,250"])).style
    'ambiguous'
    >>> parse_numbers(pd.Series(["530040", "532.040"]), decimal_comma=True).style
    'ambiguous'
    """
    if pd.api.types.is_numeric_dtype(raw):
        return ParsedNumbers(pd.to_numeric(raw, errors="coerce").astype("float64"))
    text = raw.astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    rest = text.notna() & (text != "") & values.isna()
    if not rest.any():
        dotted = text.str.match(_DOTTED_THOUSANDS).fillna(False)
        decimals = text.str.contains(".", regex=False).fillna(False) & ~dotted
        if decimal_comma and dotted.any() and not decimals.any():
            # '532.040' in a file that writes decimal commas: 532040 with a thousands dot,
            # or 532.04 with a decimal point? Nothing in the column says: left unread.
            example = str(text[dotted].iloc[0])
            return ParsedNumbers(values.where(~dotted), "ambiguous", example)
        return ParsedNumbers(values)
    odd = text[rest]
    comma = odd.str.match(_DECIMAL_COMMA).fillna(False)
    thousands = odd.str.match(_THOUSANDS_COMMA).fillna(False) | odd.str.match(
        _SPACE_THOUSANDS
    ).fillna(False)
    if not (comma | thousands).any():
        return ParsedNumbers(values)
    both = comma & thousands
    if both.all():
        if decimal_comma is None:
            return ParsedNumbers(values, "ambiguous", str(odd[both].iloc[0]))
        style = "decimal comma" if decimal_comma else "thousands separator"
    elif comma.any() and not (thousands & ~comma).any():
        style = "decimal comma"
    elif thousands.any() and not (comma & ~thousands).any():
        style = "thousands separator"
    else:
        return ParsedNumbers(values, "ambiguous", str(odd[comma | thousands].iloc[0]))
    fits = comma if style == "decimal comma" else thousands
    example = str(odd[fits].iloc[0])
    converted = _convert(odd[fits], style)
    values.loc[converted.index] = converted
    if style == "decimal comma":
        # In a decimal-comma column '1.634' is 1634 written with a thousands dot.
        dotted = text.str.match(r"^[+-]?\d{1,3}(\.\d{3})+$").fillna(False) & ~rest
        values[dotted] = pd.to_numeric(text[dotted].str.replace(".", "", regex=False))
    return ParsedNumbers(values, style, example)


def ambiguity(example: str) -> tuple[str, str]:
    """Say why a column's numbers are ambiguous, and how to fix it: ``(found, fix)``.

    Parameters
    ----------
    example
        The `ParsedNumbers.example` of an ``"ambiguous"`` column (``'1,234'``, ``'532.040'``).

    Returns
    -------
    tuple of str
        What was found and the fix, for a `planner.errors.Problem`.

    Examples
    --------
    >>> ambiguity("532.040")[0]
    "numbers such as '532.040' could be read with a thousands separator (532040) or as a \
decimal (532.04) in a file that writes decimal commas, and nothing in the file says which"
    """
    if "," in example:
        return (
            f"numbers such as '{example}' could be read with a thousands separator or with a "
            "decimal comma, and nothing in the file says which",
            "Save the file with a decimal point and no thousands separators (or as a "
            "';'-separated file if it uses decimal commas)",
        )
    whole = example.replace(".", "")
    decimal = example.rstrip("0").rstrip(".")
    return (
        f"numbers such as '{example}' could be read with a thousands separator ({whole}) or "
        f"as a decimal ({decimal}) in a file that writes decimal commas, and nothing in the "
        "file says which",
        "Write the numbers without thousands separators, with a decimal comma for a fraction "
        f"('{whole}' or '{example.replace('.', ',')}'), and export the file again",
    )


def _convert(text: pd.Series, style: str) -> pd.Series:
    """Parse texts of one style: drop the grouping marks (and spaces), then read the number.

    ``"decimal comma"``: dots and spaces group, the comma is the decimal point
    (``1.234,5`` is 1234.5); otherwise commas and spaces group (``1,234.5``).
    """
    spaces = r"[ \u00a0\u202f]"
    if style == "decimal comma":
        text = text.str.replace(rf"[.]|{spaces}", "", regex=True).str.replace(",", ".")
    else:
        text = text.str.replace(rf",|{spaces}", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def looks_mangled(ids: pd.Series) -> np.ndarray:
    """Which ids a spreadsheet turned into scientific notation (``1.00012E+11``).

    Excel shows a long number such as a UPRN (up to 12 digits) in scientific notation and,
    when the sheet is saved as CSV, writes it so, losing all but the first 6 digits: several
    properties then share one id.

    Examples
    --------
    >>> looks_mangled(pd.Series(["1.00012E+11", "100012797623"])).tolist()
    [True, False]
    """
    text = ids.astype("string").str.strip()
    return text.str.match(_SCIENTIFIC).fillna(False).to_numpy(dtype=bool)
