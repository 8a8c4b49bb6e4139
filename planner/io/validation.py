"""Validation of asset, site and zone tables against the data contract.

Pure functions on (Geo)DataFrames: every problem is collected, then reported once. The
column checks are in `planner.io.fields` and the geometry checks in `planner.io.geometry`;
this module renames columns to the contract, runs both, and finishes the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from planner import schema
from planner.errors import DataValidationError, Problem
from planner.geo import bounds_in
from planner.io.coordinates import check_coordinates
from planner.io.fields import (
    FIELD_CHECKS,
    YES_NO,
    Collector,
    map_kinds,
    normalise_words,
    row_labels,
)
from planner.io.geometry import apply_shape_rules, check_geometry
from planner.io.numbers import looks_mangled, parse_numbers
from planner.io.tables import apply_mapping

__all__ = [
    "SITE_GRID_SQUARE_M",
    "ValidationReport",
    "alias_fits",
    "check_grid_squares",
    "check_layers_overlap",
    "normalise_columns",
    "validate_frame",
    "value_counts_text",
]


@dataclass
class ValidationReport:
    """What validation found in one input.

    Attributes
    ----------
    source
        File name.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    rows_read, rows_valid
        Row counts before and after dropping invalid rows.
    problems
        Every problem found (errors and warnings).
    crs
        CRS the data was read in (as given by the file or the caller).
    encoding
        Text encoding the file was read with and how it was chosen (e.g.
        ``Windows-1252 (detected by charset-normalizer)``); empty when the format fixes it.
    """

    source: str
    kind: str
    rows_read: int = 0
    rows_valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    crs: str = ""
    encoding: str = ""

    @property
    def errors(self) -> list[Problem]:
        """Problems that make a row or the file unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that were repaired or only noted."""
        return [p for p in self.problems if p.severity == "warning"]

    def to_text(self) -> str:
        """Write the report in plain words for a council officer.

        Returns
        -------
        str
            A header (file, CRS, rows read and valid, counts), then one line per error
            and one per warning, errors first.

        Examples
        --------
        >>> bad = Problem("assets.csv", "row 4 (id A3)", "faces", "'two' is not a number",
        ...               "Enter a number")
        >>> report = ValidationReport("assets.csv", "assets", rows_read=3, rows_valid=2,
        ...                           problems=[bad], crs="EPSG:27700")
        >>> print(report.to_text())
        Assets file: assets.csv
          CRS: EPSG:27700
          rows read: 3
          rows valid: 2
          errors: 1, warnings: 0
          ERROR   assets.csv, row 4 (id A3), column 'faces': 'two' is not a number. Enter a number
        """
        lines = [
            f"{self.kind.capitalize()} file: {self.source}",
            f"  CRS: {self.crs or 'unknown'}",
            *([f"  encoding: {self.encoding}"] if self.encoding else []),
            f"  rows read: {self.rows_read}",
            f"  rows valid: {self.rows_valid}",
            f"  errors: {len(self.errors)}, warnings: {len(self.warnings)}",
        ]
        lines += [f"  ERROR   {p}" for p in self.errors]
        lines += [f"  WARNING {p}" for p in self.warnings]
        return "\n".join(lines)


def _key(name: str) -> str:
    """Return a column name lower-case without spaces, ``_`` or ``-``, for alias matching."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


_Frame = TypeVar("_Frame", bound=pd.DataFrame)  # a GeoDataFrame stays a GeoDataFrame


def normalise_columns(
    frame: _Frame,
    kind: str,
    columns: dict[str, str] | None,
    source: str,
    *,
    keep: set[str] | frozenset[str] = frozenset(),
    kinds: dict[str, str] | None = None,
) -> tuple[_Frame, list[Problem]]:
    """Rename explicit mappings and fitting aliases to contract names; drop personal data.

    The explicit ``columns`` mapping is applied first and always wins. Aliases
    (`planner.schema.COLUMN_ALIASES`) are matched ignoring case, spaces, ``_`` and ``-``,
    only for a contract column the table lacks and ``keep`` does not name (a default was
    given for it), and an alias claims a column only when its values fit the contract
    column (`alias_fits`: e.g. a ``type`` column is taken for ``kind`` only when most of
    its values are site kinds). A column an alias found but did not claim is named in a
    warning, with its values and how to map it. Personal-data columns
    (`planner.schema.PERSONAL_COLUMNS`, matched the same way after dropping any
    ``(...)`` part) are removed.

    Parameters
    ----------
    frame
        Table as read from the file.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    columns
        Explicit ``{file column: contract column}`` mapping, applied first (None when the
        reader applied it already).
    source
        File name for messages.
    keep
        Contract columns no alias may fill (those given a default).
    kinds
        The caller's map of kind values to site kinds (sites), used to judge a kind column.

    Returns
    -------
    tuple
        The renamed table and the problems found: an error per ``columns`` key not in the
        file, a warning per column an alias did not claim, and one warning naming the
        dropped personal columns. ``frame.attrs["unclaimed"]`` maps each contract column
        left missing that way to the sentence saying why; ``frame.attrs["claimed"]`` maps
        each contract column an alias filled to the file column it took.

    Examples
    --------
    >>> frame = pd.DataFrame({"Ref": ["A1"], "Type": ["kiosk"], "HeadLastName": ["x"]})
    >>> out, problems = normalise_columns(frame, "assets", None, "assets.csv")
    >>> list(out.columns)
    ['asset_id', 'asset_type']
    >>> problems[0].found
    'personal data columns were dropped'
    """
    frame, problems = apply_mapping(frame, columns, source)
    contract = _contract(kind)
    by_key = {_key(c): c for c in frame.columns if c != "geometry"}
    renames: dict[str, str] = {}
    unclaimed: dict[str, tuple[str, str]] = {}
    for target in list(contract):
        if target in frame.columns:
            continue
        if target in keep:
            problems += _passed_over(frame, target, by_key, source, kinds)
            continue
        for alias in schema.COLUMN_ALIASES.get(target, ()):
            found = by_key.get(_key(alias))
            if not found or found in renames or found in contract:
                continue
            why = alias_fits(frame[found], target, kinds)
            if why is None:
                renames[found] = target
                unclaimed.pop(target, None)
                break
            unclaimed.setdefault(target, (found, why))
    notes = {}
    for target, (found, why) in unclaimed.items():
        notes[target] = f"column '{found}' was not taken for '{target}': {why}"
        values = " and its values with kinds={...} (--kind-map VALUE=KIND)"
        problems.append(
            Problem(
                source,
                "",
                found,
                notes[target],
                f"If it does hold the {target}, map it with columns={{'{found}': '{target}'}} "
                f"(--column {found}={target}){values if target == 'kind' else ''}",
                "warning",
            )
        )
    frame = frame.rename(columns=renames)
    frame.attrs["unclaimed"] = notes
    frame.attrs["claimed"] = {target: found for found, target in renames.items()}
    personal = [
        c for c in frame.columns if _key(re.sub(r"\(.*?\)", "", str(c))) in schema.PERSONAL_COLUMNS
    ]
    if personal:
        frame = frame.drop(columns=personal)
        problems.append(
            Problem(
                source,
                "",
                ", ".join(personal),
                "personal data columns were dropped",
                "The planner keeps aggregate data only; nothing to do",
                "warning",
            )
        )
    return frame, problems


def _passed_over(
    frame: pd.DataFrame,
    target: str,
    by_key: dict[str, str],
    source: str,
    kinds: dict[str, str] | None,
) -> list[Problem]:
    """Warn of a column an alias would have taken for ``target`` had no default been given.

    A default wins over an alias, so ``defaults={'kind': 'nursery'}`` gives every row
    that kind even when a ``site_type`` column holds other kinds: the column's valid values
    are then ignored, which can only be right if the user meant it.
    """
    for alias in schema.COLUMN_ALIASES.get(target, ()):
        found = by_key.get(_key(alias))
        if not found or alias_fits(frame[found], target, kinds) is not None:
            continue
        text = frame[found].astype("string").str.strip()
        filled = text[text.notna() & (text != "")]
        return [
            Problem(
                source,
                "",
                found,
                f"column '{found}' holds {target} values ({value_counts_text(filled)}) but was "
                f"not used: the default given for '{target}' goes to every row, so its "
                f"{len(filled)} value(s) were ignored",
                f"To use the column and fill only its blank cells with the default, map it "
                f"with columns={{'{found}': '{target}'}} (--column {found}={target}); else "
                "nothing to do",
                "warning",
            )
        ]
    return []


#: Share of a column's non-blank values that must fit a contract column for an alias to
#: claim it: most of a column of site kinds are kinds, even with a few misspellings.
FIT_SHARE = 0.5
_NUMBERS = frozenset({"faces", "slots", "weekly_impacts", "price_per_cycle", "population"})
_VOCABULARIES = {
    "kind": schema.SITE_KINDS,
    "asset_type": schema.ASSET_TYPES,
    "format": schema.FORMATS,
    "status": schema.STATUSES,
}


def alias_fits(values: pd.Series, target: str, kinds: dict[str, str] | None = None) -> str | None:
    """Whether a column's values fit a contract column: None when they do, else why not.

    Vocabulary columns (``kind``, ``asset_type``, ``format``, ``status``) fit when at least
    `FIT_SHARE` of the non-blank values are known words (site kinds after the caller's
    ``kinds`` map); number columns when that share reads as numbers; ``digital`` when it
    reads as yes/no; ids when at least that share is filled in. Names and wards take any
    text.

    Parameters
    ----------
    values
        The column, shape (n,).
    target
        The contract column an alias would fill.
    kinds
        The caller's map of kind values to site kinds (for ``kind``).

    Returns
    -------
    str or None
        None when the column fits; else the reason, listing its commonest values.

    Examples
    --------
    >>> alias_fits(pd.Series(["Local authority maintained schools"]), "kind")
    "its values are not site kinds ('Local authority maintained schools' 1)"
    >>> alias_fits(pd.Series(["school", "playground"]), "kind") is None
    True
    """
    text = values.astype("string").str.strip()
    filled = text[text.notna() & (text != "")]
    if target in {"name", "ward"}:
        return None
    if filled.empty:
        return "it is empty"
    if target in _VOCABULARIES:
        words = normalise_words(filled)
        if target == "kind" and kinds:
            words = map_kinds(filled, kinds)
        fit = words.isin(_VOCABULARIES[target]).mean()
        what = {"kind": "site kinds", "asset_type": "asset types"}.get(target, f"{target}s")
    elif target in _NUMBERS:
        fit = parse_numbers(filled).values.notna().mean()
        what = "numbers"
    elif target == "digital":
        fit = filled.str.lower().isin(YES_NO).mean()
        what = "yes/no values"
    else:
        fit = len(filled) / max(len(text), 1)
        what = "filled in"
    if fit >= FIT_SHARE:
        return None
    return f"its values are not {what} ({value_counts_text(filled)})"


def value_counts_text(values: pd.Series, most: int = 8) -> str:
    """List the commonest distinct values with their counts: ``'Special schools' 3, 'x' 1``.

    Examples
    --------
    >>> value_counts_text(pd.Series(["a", "b", "a"]))
    "'a' 2, 'b' 1"
    """
    counts = values.astype("string").value_counts()
    text = ", ".join(f"'{v}' {n}" for v, n in counts.head(most).items())
    return text + (f", and {len(counts) - most} more" if len(counts) > most else "")


def _contract(kind: str) -> dict[str, str | int | bool | None]:
    """Return the contract columns (name: default) of ``"assets"``, ``"sites"`` or ``"zones"``."""
    return {
        "assets": schema.ASSET_COLUMNS,
        "sites": schema.SITE_COLUMNS,
        "zones": schema.ZONE_COLUMNS,
    }[kind]


def _required(kind: str) -> tuple[str, ...]:
    """Return the columns a table of this kind must have (after renaming and defaults)."""
    return {
        "assets": schema.ASSET_REQUIRED,
        "sites": schema.SITE_REQUIRED,
        "zones": schema.ZONE_REQUIRED,
    }[kind]


def validate_frame(
    frame: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str,
    source_crs: CRS,
    first_row: int = 1,
    drop_invalid: bool = False,
    prior: list[Problem] | None = None,
    defaults: dict[str, object] | None = None,
    kinds: dict[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Check a table against the contract and return it cleaned, in EPSG:4326.

    Parameters
    ----------
    frame
        Table with contract column names and a geometry in ``source_crs``.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    source
        File name for messages.
    source_crs
        CRS of the geometry as read.
    first_row
        Row number a spreadsheet shows for the first record (2 for a CSV with a header).
    drop_invalid
        Drop unusable rows (each still reported) instead of raising.
    prior
        Problems already found while reading.
    defaults
        Values for contract columns the file lacks (e.g. ``{"asset_type": "bus_stop"}``);
        blanks in an existing column are filled too.
    kinds
        Map of the file's kind values to site kinds (sites), applied before the kinds are
        checked; each mapping used is counted in a warning.

    Returns
    -------
    tuple
        The valid table and the report (also in the table's ``.attrs["report"]``). The
        table has the contract columns first, in contract order, with defaults filled
        and types fixed (see `planner.io.readers.load_assets`), then the extra columns,
        then the geometry, reprojected to EPSG:4326 with a fresh 0..n-1 index. A
        missing id column is filled as ``asset-1``, ``site-1``, ``zone-1``, ...

    Raises
    ------
    DataValidationError
        When the file is unusable, or rows are invalid and ``drop_invalid`` is false.
    """
    id_col = {"assets": "asset_id", "sites": "site_id", "zones": "zone_id"}[kind]
    report = ValidationReport(source, kind, rows_read=len(frame), crs=source_crs.to_string())
    used = frame.attrs.get("encoding")
    report.encoding = used.describe() if used is not None else ""
    unclaimed = dict(frame.attrs.get("unclaimed", {}))
    grid = {
        k: frame.attrs[k] for k in ("grid_refs", "grid_squares", "grid_column") if k in frame.attrs
    }
    decimals = frame.attrs.get("coordinate_decimals")
    col = Collector(source, row_labels(frame, id_col, first_row))
    col.decimal_comma = frame.attrs.get("decimal_comma")
    col.problems.extend(prior or [])
    if len(frame) == 0 and kind == "sites":
        return _no_sites(frame, report, col, source_crs)
    if len(frame) == 0:
        col.file("", "the file has no rows", "Check that you chose the right file or layer")
        _raise(report, col)
    frame = frame.copy()
    for name, value in (defaults or {}).items():
        if name not in frame.columns:
            # pandas sets a column to any scalar; pandas-stubs lists only its known types
            frame[name] = value  # type: ignore[call-overload]
        else:
            frame[name] = frame[name].where(frame[name].notna() & (frame[name] != ""), value)
    missing = [c for c in _required(kind) if c not in frame.columns]
    for c in missing:
        aliases = ", ".join(schema.COLUMN_ALIASES.get(c, (c,)))
        why = f"; {unclaimed[c]}" if c in unclaimed else ""
        fix = (
            f"Add it (names recognised: {aliases}) or map a column to it with "
            f"columns={{'your_column': '{c}'}} (--column your_column={c})"
        )
        if c == "kind":
            fix += (
                ", mapping its values with kinds={'Your value': 'school'} (--kind-map "
                "'Your value=school'); or give every row one kind with "
                "defaults={'kind': 'school'} (--default kind=school)"
            )
        col.file(
            c,
            f"required column '{c}' is missing (columns found: "
            f"{', '.join(map(str, [x for x in frame.columns if x != 'geometry'][:20]))}){why}",
            fix,
        )
    if missing:
        _raise(report, col)
    if kind == "sites" and kinds:
        _map_kinds(frame, kinds, col)
    frame = frame.copy()
    if id_col not in frame.columns:
        frame[id_col] = [f"{kind[:-1]}-{i + 1}" for i in range(len(frame))]
    _check_ids(frame, id_col, col)
    frame = check_geometry(frame, kind, source_crs, col)
    check_coordinates(frame, source_crs, col, decimals=decimals)
    if grid:
        check_grid_squares(grid["grid_refs"], grid["grid_squares"], grid["grid_column"], kind, col)
    FIELD_CHECKS[kind](frame, col)
    if any(p.severity == "error" and not p.where for p in col.problems):
        _raise(report, col)  # a file-level error: dropping rows cannot help
    if col.bad and not drop_invalid:
        report.problems = col.problems
        _raise(report, col)
    keep = np.array([i not in col.bad for i in range(len(frame))], dtype=bool)
    if not keep.any():
        # Every row bad: a file-level problem that dropping rows would hide (a sites file
        # emptied this way would protect nothing, with no error).
        col.file(
            "",
            f"every row has an error, so drop_invalid=True (--drop-invalid) would drop all "
            f"{len(frame)} rows and leave {'no sites' if kind == 'sites' else 'nothing'}",
            "Fix the errors listed: when every row fails, the cause is usually the file's "
            "CRS, its columns or its export settings, not the rows",
        )
        _raise(report, col)
    frame = frame.loc[keep]
    if kind == "sites" and not len(frame):
        return _no_sites(frame, report, col, source_crs)
    frame = apply_shape_rules(frame, kind, col)
    frame = _finish(frame, kind)
    report.rows_valid = len(frame)
    report.problems = col.problems
    for key in _READ_NOTES:  # what the readers told validation; the report now says it
        frame.attrs.pop(key, None)
    frame.attrs["report"] = report
    if col.mapped_kinds:
        frame.attrs["kinds_mapped"] = col.mapped_kinds
    return frame, report


#: Keys the readers leave in ``frame.attrs`` for validation (encoding used, decimal commas,
#: columns an alias did not claim, sheet read, grid references and their squares).
_READ_NOTES = (
    "encoding",
    "decimal_comma",
    "unclaimed",
    "sheet",
    "grid_refs",
    "grid_squares",
    "grid_column",
    "coordinate_decimals",
)

#: Largest square (metres) an OS grid reference of a site may name: 6 figures, 100 m. A
#: coarser one (a 1 km or 10 km square) cannot place a site within an exclusion distance.
SITE_GRID_SQUARE_M = 100.0


def _metres(value: float) -> str:
    """Write a length as ``100 m`` or ``10 km``."""
    return f"{value / 1000:g} km" if value >= 1000 else f"{value:g} m"


def check_grid_squares(
    refs: list, squares: np.ndarray, column: str, kind: str, col: Collector
) -> None:
    """Refuse sites placed by a grid square coarser than 100 m; warn of coarse squares.

    A grid reference names a square and the row is placed at its centre. For sites a
    square over `SITE_GRID_SQUARE_M` (``TQ``, ``TQ 3 8``, ``TQ 30 80``) is an error of
    its row: the school could stand anywhere in it, kilometres from the point, so no
    exclusion distance means anything. Squares of 100 m (sites), or coarser than 10 m
    (assets, zones), are counted in one warning.

    Parameters
    ----------
    refs
        Each row's grid reference as written (None where blank), length n.
    squares
        Each row's square size in metres, NaN where the row has no reference, shape (n,).
    column
        The grid reference column's name.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    col
        Collector of the problems; refused rows are marked bad.

    Examples
    --------
    >>> check_grid_squares(["TQ 3 8"], np.array([10_000.0]), "grid_ref", "sites", col)
    >>> col.problems[0].found
    "'TQ 3 8' names a 10 km square, and the site is placed at its centre: ..."
    """
    squares = np.asarray(squares, dtype=float)
    too_coarse = (squares > SITE_GRID_SQUARE_M) if kind == "sites" else np.zeros(len(squares), bool)
    for i in np.flatnonzero(too_coarse):
        half = squares[i] * 0.707  # half the square's diagonal, centre to corner
        far = f"{half / 1000:,.1f} km" if half >= 1000 else f"{half:,.0f} m"
        col.row(
            int(i),
            column,
            f"'{refs[i]}' names a {_metres(squares[i])} square, and the site would be placed at "
            f"its centre: the site may stand up to {far} from that point, so no exclusion "
            "distance can be measured from it",
            "Give the site's 6-, 8- or 10-figure grid reference (e.g. TQ 38123 79456), or its "
            "coordinates",
        )
    coarse = (squares > 10) & ~too_coarse
    if coarse.any():
        col.file(
            column,
            f"{int(coarse.sum())} grid reference(s) name a square of 100 m or more (6 figures "
            "or fewer); each was placed at its square's centre",
            "Give 8- or 10-figure references where distances to sites matter",
            "warning",
        )


def _no_sites(
    frame: pd.DataFrame, report: ValidationReport, col: Collector, source_crs: CRS
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Accept a sites file with no (valid) rows, warning that exclusion rules protect nothing."""
    col.file(
        "",
        "there are no sites, so every exclusion rule protects nothing: no school, "
        "playground or other sensitive site keeps any advertising category away",
        "Load the sensitive sites of the area the assets cover; if it truly has none, "
        "nothing to do",
        "warning",
    )
    empty = gpd.GeoDataFrame(
        {name: pd.Series(dtype=object) for name in schema.SITE_COLUMNS},
        geometry=gpd.GeoSeries([], crs=source_crs),
    ).to_crs(schema.STORAGE_CRS)
    report.rows_valid, report.problems = 0, col.problems
    empty.attrs["report"] = report
    return empty, report


def _raise(report: ValidationReport, col: Collector) -> None:
    """Raise the collected problems, with the report attached as ``exc.report``."""
    report.problems = col.problems
    report.rows_valid = report.rows_read - len(col.bad) if col.bad else 0
    exc = DataValidationError(report.source, col.problems)
    exc.report = report
    raise exc


def _map_kinds(frame: pd.DataFrame, kinds: dict[str, str], col: Collector) -> None:
    """Apply the caller's kind map in place, counting what it changed in one warning."""
    before = frame["kind"].astype("string").str.strip()
    after = map_kinds(before, kinds)
    changed = before.str.lower() != after
    for source, target in kinds.items():
        col.mapped_kinds.setdefault(str(target).strip().lower(), []).append(str(source))
    if changed.any():
        pairs = pd.DataFrame({"from": before[changed], "to": after[changed]}).value_counts()
        # count per (from, to) pair; pandas-stubs types an index label as any Hashable
        top = cast("Iterable[tuple[tuple[str, str], int]]", pairs.head(12).items())
        text = ", ".join(f"'{a}' -> {b} ({n})" for (a, b), n in top)
        col.file("kind", f"kinds were mapped as given: {text}", "Nothing to do", "warning")
    unused = sorted(
        k for k in kinds if str(k).strip().lower() not in set(before.str.lower().dropna())
    )
    if unused:
        col.file(
            "kind",
            f"kinds= maps {', '.join(repr(k) for k in unused)}, which no site has",
            "Check the spelling against the file's kind values",
            "warning",
        )
    frame["kind"] = after


def _check_ids(frame: pd.DataFrame, id_col: str, col: Collector) -> None:
    """Flag empty and repeated ids (every copy of a repeat), then store the ids stripped.

    Ids a spreadsheet turned into scientific notation (``1.00012E+11``) that now repeat
    are one file-level error saying how to export them again, not a duplicate per row.
    """
    ids = frame[id_col].astype("string").str.strip()
    for i in np.flatnonzero(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy()):
        col.row(int(i), id_col, "the id is empty", "Give every row a unique id")
    dup = ids.duplicated(keep=False) & ids.notna() & (ids != "")
    mangled = looks_mangled(ids)
    if mangled.any():
        examples = ", ".join(f"'{v}'" for v in ids[mangled].unique()[:3])
        shared = int((dup & mangled).sum())
        col.file(
            id_col,
            f"{int(mangled.sum())} id(s) such as {examples} were turned into scientific "
            "notation by a spreadsheet, which kept only their first digits"
            + (f", so {shared} rows now share an id" if shared else ""),
            "Export the ids again as text: from the source system, or in Excel format the "
            "column as Text (or import the CSV with Data > From Text/CSV, setting the column "
            "to Text) before saving; do not save the file from Excel with the column as a "
            "number",
            "error" if shared else "warning",
        )
        dup &= ~mangled
    for i in np.flatnonzero(dup.to_numpy()):
        col.row(
            int(i),
            id_col,
            f"id '{ids.iloc[i]}' is used by more than one row",
            "Make every id unique (or keep one of the duplicates)",
        )
    frame[id_col] = ids


def _finish(frame: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Fill missing contract columns, fix their types, order the columns, go to EPSG:4326."""
    contract = _contract(kind)
    for name, default in contract.items():
        if name not in frame.columns:
            frame[name] = default if default is not None else np.nan
    for name in ("name", "ward"):
        if name in frame.columns:
            frame[name] = frame[name].astype("string").fillna("").astype(object)
    if kind == "assets":
        frame["faces"] = frame["faces"].astype("int64")
        frame["slots"] = frame["slots"].astype("int64")
        frame["digital"] = frame["digital"].astype(bool)
        for name in ("weekly_impacts", "price_per_cycle"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if kind == "zones":
        frame["population"] = frame["population"].astype("float64")
    id_col = next(iter(contract))
    for name in (id_col, "asset_type", "format", "kind", "status"):
        if name in frame.columns:
            frame[name] = frame[name].astype(str)
    extras = [c for c in frame.columns if c not in contract and c != frame.geometry.name]
    frame = frame[[*contract, *extras, frame.geometry.name]]
    frame = frame.to_crs(schema.STORAGE_CRS).reset_index(drop=True)
    return frame


def check_layers_overlap(
    layers: dict[str, gpd.GeoDataFrame | None], *, reference: str = "assets", margin_m: float = 2000
) -> list[str]:
    """Warnings for layers that lie nowhere near the ``reference`` layer (the assets).

    A sites file for another town, or one read with x and y swapped or in the wrong CRS,
    protects no asset at all without any row being wrong on its own; so does a demand
    layer that reaches no asset. Each layer whose bounding box, widened by ``margin_m``,
    does not meet the reference layer's is named with both boxes.

    Parameters
    ----------
    layers
        ``{name: GeoDataFrame}`` (e.g. ``{"assets": assets, "sites": sites}``); None and
        empty layers, and layers without a CRS, are skipped.
    reference
        Name of the layer the others must overlap.
    margin_m
        Metres by which boxes may miss each other and still count as overlapping (a site
        just outside the assets' box can still be within a rule's distance).

    Returns
    -------
    list of str
        One warning per layer apart from the reference, empty when all overlap.

    Examples
    --------
    >>> check_layers_overlap({"assets": assets, "sites": sites_of_another_town})
    ["the sites (bounding box -0.2, 51.4 to -0.1, 51.5) do not overlap the assets ..."]
    """
    boxes = {}
    for name, frame in layers.items():
        if frame is None or not len(frame) or frame.crs is None:
            continue
        b = bounds_in(frame, schema.STORAGE_CRS)
        if np.isfinite(b).all():
            boxes[name] = b
    if reference not in boxes:
        return []
    ref = boxes[reference]
    lat = float(np.clip((ref[1] + ref[3]) / 2, -80, 80))
    dy = margin_m / 111_320.0
    dx = dy / np.cos(np.radians(lat))
    out = []
    for name, b in boxes.items():
        if name == reference:
            continue
        apart = b[0] > ref[2] + dx or b[2] < ref[0] - dx or b[1] > ref[3] + dy or b[3] < ref[1] - dy
        if apart:
            out.append(
                f"the {name} (bounding box {_box(b)}) do not overlap the {reference} "
                f"(bounding box {_box(ref)}) at all, so no {name[:-1]} is near any "
                f"{reference[:-1]}: check that both files cover the same area, and the "
                "{name} file's coordinate columns and CRS (x and y swapped? eastings read "
                "as degrees?)".replace("{name}", name)
            )
    return out


def _box(b: np.ndarray) -> str:
    """Write a bounding box as ``lon, lat to lon, lat``."""
    return f"{b[0]:.4f}, {b[1]:.4f} to {b[2]:.4f}, {b[3]:.4f} (lon, lat)"
