"""Validation of asset, site and zone tables against the data contract.

Pure functions on (Geo)DataFrames: every problem is collected, then reported once. The
column checks are in `planner.io.fields` and the geometry checks in `planner.io.geometry`;
this module renames columns to the contract, runs both, and finishes the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from planner import schema
from planner.errors import DataValidationError, Problem
from planner.io.fields import FIELD_CHECKS, Collector, row_labels
from planner.io.geometry import check_geometry

__all__ = ["ValidationReport", "normalise_columns", "validate_frame"]


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
    """

    source: str
    kind: str
    rows_read: int = 0
    rows_valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    crs: str = ""

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


def normalise_columns(
    frame: pd.DataFrame, kind: str, columns: dict[str, str] | None, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename explicit mappings and recognised aliases to contract names; drop personal data.

    Aliases (`planner.schema.COLUMN_ALIASES`) are matched ignoring case, spaces, ``_`` and
    ``-``, the first alias found wins, and only for a contract column the table lacks; a
    file column that already has a contract name is never renamed. Personal-data columns
    (`planner.schema.PERSONAL_COLUMNS`, matched the same way after dropping any
    ``(...)`` part) are removed.

    Parameters
    ----------
    frame
        Table as read from the file.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    columns
        Explicit ``{file column: contract column}`` mapping, applied first.
    source
        File name for messages.

    Returns
    -------
    tuple
        The renamed table and the problems found: an error per ``columns`` key not in the
        file, and one warning naming the dropped personal columns.

    Examples
    --------
    >>> frame = pd.DataFrame({"Ref": ["A1"], "Type": ["kiosk"], "HeadLastName": ["x"]})
    >>> out, problems = normalise_columns(frame, "assets", None, "assets.csv")
    >>> list(out.columns)
    ['asset_id', 'asset_type']
    >>> problems[0].found
    'personal data columns were dropped'
    """
    problems: list[Problem] = []
    columns = dict(columns or {})
    missing = [c for c in columns if c not in frame.columns]
    for col in missing:
        problems.append(
            Problem(
                source,
                "",
                col,
                f"column '{col}' named in columns= is not in the file",
                f"Use one of: {', '.join(map(str, frame.columns[:30]))}",
            )
        )
    frame = frame.rename(columns={k: v for k, v in columns.items() if k in frame.columns})
    contract = _contract(kind)
    by_key = {_key(c): c for c in frame.columns if c != "geometry"}
    renames: dict[str, str] = {}
    for target in list(contract):
        if target in frame.columns:
            continue
        for alias in schema.COLUMN_ALIASES.get(target, ()):
            found = by_key.get(_key(alias))
            if found and found not in renames and found not in contract:
                renames[found] = target
                break
    frame = frame.rename(columns=renames)
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


def _contract(kind: str) -> dict[str, object]:
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
    col = Collector(source, row_labels(frame, id_col, first_row))
    col.problems.extend(prior or [])
    if len(frame) == 0:
        col.file("", "the file has no rows", "Check that you chose the right file or layer")
        _raise(report, col)
    frame = frame.copy()
    for name, value in (defaults or {}).items():
        if name not in frame.columns:
            frame[name] = value
        else:
            frame[name] = frame[name].where(frame[name].notna() & (frame[name] != ""), value)
    missing = [c for c in _required(kind) if c not in frame.columns]
    for c in missing:
        aliases = ", ".join(schema.COLUMN_ALIASES.get(c, (c,)))
        col.file(
            c,
            f"required column '{c}' is missing (columns found: "
            f"{', '.join(map(str, [x for x in frame.columns if x != 'geometry'][:20]))})",
            f"Add it, rename a column to one of: {aliases}, or map it with "
            f"columns={{'your_column': '{c}'}}",
        )
    if missing:
        _raise(report, col)
    frame = frame.copy()
    if id_col not in frame.columns:
        frame[id_col] = [f"{kind[:-1]}-{i + 1}" for i in range(len(frame))]
    _check_ids(frame, id_col, col)
    frame = check_geometry(frame, kind, source_crs, col)
    FIELD_CHECKS[kind](frame, col)
    if col.bad and not drop_invalid:
        report.problems = col.problems
        _raise(report, col)
    keep = np.array([i not in col.bad for i in range(len(frame))], dtype=bool)
    frame = frame.loc[keep]
    frame = _finish(frame, kind)
    report.rows_valid = len(frame)
    report.problems = col.problems
    frame.attrs["report"] = report
    return frame, report


def _raise(report: ValidationReport, col: Collector) -> None:
    """Raise the collected problems, with the report attached as ``exc.report``."""
    report.problems = col.problems
    report.rows_valid = report.rows_read - len(col.bad) if col.bad else 0
    exc = DataValidationError(report.source, col.problems)
    exc.report = report
    raise exc


def _check_ids(frame: pd.DataFrame, id_col: str, col: Collector) -> None:
    """Flag empty and repeated ids (every copy of a repeat), then store the ids stripped."""
    ids = frame[id_col].astype("string").str.strip()
    for i in np.flatnonzero(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy()):
        col.row(int(i), id_col, "the id is empty", "Give every row a unique id")
    dup = ids.duplicated(keep=False) & ids.notna() & (ids != "")
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
