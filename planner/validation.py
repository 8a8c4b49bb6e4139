"""Validation of asset, site and zone tables against the data contract.

Pure functions on (Geo)DataFrames: every problem is collected, then reported once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from planner import schema
from planner.errors import DataValidationError, Problem

__all__ = ["ValidationReport", "normalise_columns", "validate_frame"]

_TRUE = {"true", "t", "yes", "y", "1", "digital"}
_FALSE = {"false", "f", "no", "n", "0", "classic", ""}
_DIGITAL_FORMATS = {"d6", "d48", "d96", "digital_screen"}


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
        """Plain-words report for a council officer."""
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
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def normalise_columns(
    frame: pd.DataFrame, kind: str, columns: dict[str, str] | None, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename explicit mappings and recognised aliases to contract names; drop personal data.

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
        The renamed table and the problems found (missing mapped columns, dropped
        personal columns).
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
    return {
        "assets": schema.ASSET_COLUMNS,
        "sites": schema.SITE_COLUMNS,
        "zones": schema.ZONE_COLUMNS,
    }[kind]


def _required(kind: str) -> tuple[str, ...]:
    return {
        "assets": schema.ASSET_REQUIRED,
        "sites": schema.SITE_REQUIRED,
        "zones": schema.ZONE_REQUIRED,
    }[kind]


class _Collector:
    """Collects row problems and remembers which rows are unusable."""

    def __init__(self, source: str, labels: _Labels) -> None:
        self.source = source
        self.labels = labels
        self.problems: list[Problem] = []
        self.bad: set[int] = set()

    def row(self, i: int, column: str, found: str, fix: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.source, self.labels[i], column, found, fix, severity))
        if severity == "error":
            self.bad.add(i)

    def file(self, column: str, found: str, fix: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.source, "", column, found, fix, severity))


class _Labels:
    """Row labels such as ``row 7 (id A5)``, made only for the rows that have a problem."""

    def __init__(self, ids: list | None, first_row: int) -> None:
        self.ids = ids
        self.first_row = first_row

    def __getitem__(self, i: int) -> str:
        label = f"row {i + self.first_row}"
        if self.ids is not None and not pd.isna(self.ids[i]):
            label += f" (id {self.ids[i]})"
        return label


def _row_labels(frame: pd.DataFrame, id_col: str, first_row: int) -> _Labels:
    # A label per row up front cost a minute on a million rows; most rows have no problem.
    ids = frame[id_col].astype("string").tolist() if id_col in frame.columns else None
    return _Labels(ids, first_row)


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
        The valid table (contract columns first, extras kept) and the report.

    Raises
    ------
    DataValidationError
        When the file is unusable, or rows are invalid and ``drop_invalid`` is false.
    """
    id_col = {"assets": "asset_id", "sites": "site_id", "zones": "zone_id"}[kind]
    report = ValidationReport(source, kind, rows_read=len(frame), crs=source_crs.to_string())
    col = _Collector(source, _row_labels(frame, id_col, first_row))
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
    frame = _check_geometry(frame, kind, source_crs, col)
    _FIELD_CHECKS[kind](frame, col)
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


def _raise(report: ValidationReport, col: _Collector) -> None:
    report.problems = col.problems
    report.rows_valid = report.rows_read - len(col.bad) if col.bad else 0
    exc = DataValidationError(report.source, col.problems)
    exc.report = report
    raise exc


def _check_ids(frame: pd.DataFrame, id_col: str, col: _Collector) -> None:
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


def _check_geometry(
    frame: gpd.GeoDataFrame, kind: str, source_crs: CRS, col: _Collector
) -> gpd.GeoDataFrame:
    geoms = frame.geometry.array
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        col.row(
            int(i),
            "geometry",
            "the location is missing",
            "Give the row coordinates (or a geometry)",
        )
    nonfinite, null_island = _bad_coordinates(geoms, missing, kind)
    for i in np.flatnonzero(nonfinite | null_island):
        if nonfinite[i]:
            col.row(
                int(i),
                "geometry",
                "a coordinate is not a finite number (NaN or infinite)",
                "Fix or remove the coordinates",
            )
        else:
            col.row(
                int(i),
                "geometry",
                "the point is at 0/0 ('null island'), a placeholder for a missing location",
                "Enter the real coordinates or remove the row",
            )
    usable = ~missing & ~nonfinite & ~null_island
    _check_extent(frame, usable, source_crs, col)
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        geoms = geoms.copy()
        geoms[invalid] = fixed
        col.file(
            "geometry",
            f"{int(invalid.sum())} invalid geometr(y/ies) (e.g. self-intersecting) were repaired",
            "Check the repaired shapes if exact boundaries matter",
            "warning",
        )
    if kind == "zones":
        geoms = _zone_shapes(geoms, usable, col)
    if kind == "assets":
        not_point = usable & (shapely.get_type_id(geoms) != 0)
        if not_point.any():
            geoms = geoms.copy()
            geoms[not_point] = shapely.point_on_surface(geoms[not_point])
            col.file(
                "geometry",
                f"{int(not_point.sum())} asset(s) had a line or polygon shape "
                "and were placed at a representative point",
                "Nothing to do",
                "warning",
            )
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=source_crs))


def _zone_shapes(geoms: np.ndarray, usable: np.ndarray, col: _Collector) -> np.ndarray:
    """Zones are polygons or points: a collection keeps its polygons, a line is an error."""
    kinds = shapely.get_type_id(geoms)
    collections = np.flatnonzero(usable & (kinds == 7))
    if len(collections):
        geoms = geoms.copy()
        for i in collections:
            parts = shapely.get_parts(geoms[i])
            polygons = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
            if len(polygons):
                geoms[i] = shapely.union_all(polygons)
        kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(usable & ~np.isin(kinds, [0, 3, 6])):
        col.row(
            int(i),
            "geometry",
            f"a zone must be a polygon or a point; this one is a {geoms[i].geom_type} "
            "(a line, or a polygon with no area)",
            "Draw the zone as a polygon with an area, or give its centre as a point",
        )
        usable[i] = False
    return geoms


def _bad_coordinates(
    geoms: np.ndarray, missing: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a NaN or infinite coordinate, and point rows at exactly 0/0 (not zones)."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.zeros(len(geoms), dtype=bool)
    nonfinite[index[~np.isfinite(coords).all(axis=1)]] = True
    nonfinite &= ~missing
    points = ~missing & (shapely.get_type_id(geoms) == 0)
    null_island = np.zeros(len(geoms), dtype=bool)
    if kind != "zones":
        x, y = shapely.get_x(geoms[points]), shapely.get_y(geoms[points])
        null_island[points] = (x == 0) & (y == 0)
    return nonfinite, null_island & ~nonfinite


def _check_extent(
    frame: gpd.GeoDataFrame, usable: np.ndarray, source_crs: CRS, col: _Collector
) -> None:
    bounds = shapely.bounds(frame.geometry.array)
    if source_crs.is_geographic:
        lon_bad = (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
        lat_bad = (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
        for i in np.flatnonzero(usable & (lon_bad | lat_bad)):
            x, y = bounds[i, 0], bounds[i, 1]
            hint = (
                " — it looks like longitude and latitude are swapped"
                if abs(x) <= 90 < abs(y) <= 180
                else ""
            )
            col.row(
                int(i),
                "geometry",
                f"coordinates ({x:g}, {y:g}) are outside the valid longitude/latitude range{hint}",
                "Check the coordinate columns and the CRS (longitude is x, latitude is y)",
            )
            usable[i] = False
        _check_swapped(bounds, usable, col)
        return
    _check_degrees(bounds, usable, source_crs, col)
    area = source_crs.area_of_use
    if area is None:
        return
    wgs = gpd.GeoSeries(frame.geometry.array[usable], crs=source_crs).to_crs("EPSG:4326")
    b = wgs.bounds.to_numpy()
    margin = 1.0
    outside = (
        ~np.isfinite(b).all(axis=1)
        | (b[:, 0] < area.west - margin)
        | (b[:, 2] > area.east + margin)
        | (b[:, 1] < area.south - margin)
        | (b[:, 3] > area.north + margin)
    )
    for j, i in enumerate(np.flatnonzero(usable)):
        if outside[j]:
            x, y = bounds[i, 0], bounds[i, 1]
            col.row(
                int(i),
                "geometry",
                f"coordinates ({x:g}, {y:g}) are outside the area "
                f"{source_crs.name} covers ({area.name})",
                "Check the coordinates and that the CRS is right",
            )
            usable[i] = False


#: Great Britain and Ireland with longitude and latitude swapped (x 49.8-61, y -11-2): open
#: sea in the Indian Ocean, where no UK asset register can be.
_SWAPPED_GB = (49.8, -11.0, 61.0, 2.0)


def _check_swapped(bounds: np.ndarray, usable: np.ndarray, col: _Collector) -> None:
    """Flag a file whose every location is where Great Britain is with lon/lat swapped."""
    x0, y0, x1, y1 = _SWAPPED_GB
    inside = (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) & (bounds[:, 1] >= y0)
    inside &= bounds[:, 3] <= y1
    if not usable.any() or not inside[usable].all():
        return
    for i in np.flatnonzero(usable):
        col.row(
            int(i),
            "geometry",
            f"coordinates ({bounds[i, 0]:g}, {bounds[i, 1]:g}) are in the Indian Ocean, where "
            "Great Britain would be with x and y exchanged: longitude and latitude look swapped",
            "Swap the columns: longitude (east-west, about -8 to 2 in the UK) is x, "
            "latitude (about 50 to 61) is y",
        )
        usable[i] = False


def _check_degrees(
    bounds: np.ndarray, usable: np.ndarray, source_crs: CRS, col: _Collector
) -> None:
    """Flag longitude/latitude values read with a projected CRS (e.g. crs='EPSG:27700')."""
    # Within 180 x 90 units of a projected CRS's origin is open sea for British National
    # Grid and outside every UTM zone: such values are degrees given the wrong CRS.
    degrees = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (
        np.abs(bounds[:, [1, 3]]) <= 90
    ).all(axis=1)
    for i in np.flatnonzero(usable & degrees):
        col.row(
            int(i),
            "geometry",
            f"coordinates ({bounds[i, 0]:g}, {bounds[i, 1]:g}) look like longitude/latitude "
            f"degrees, not {source_crs.name} coordinates",
            "Pass crs='EPSG:4326' (--crs EPSG:4326) if the file holds longitude and latitude",
        )
        usable[i] = False


def _numeric(
    frame: pd.DataFrame,
    name: str,
    col: _Collector,
    *,
    minimum: float,
    integer: bool,
    default: object,
) -> None:
    if name not in frame.columns:
        if default is not None:
            frame[name] = default
        elif name in frame.columns or default is None:
            frame[name] = np.nan
        return
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | (raw.astype("string").str.strip() == "").fillna(True)
    for i in np.flatnonzero((values.isna() & ~blank).to_numpy()):
        col.row(int(i), name, f"'{raw.iloc[i]}' is not a number", f"Enter a number in '{name}'")
    bad = values.notna() & ((values < minimum) | ~np.isfinite(values))
    if integer:
        bad |= values.notna() & np.isfinite(values) & (values != np.round(values))
    for i in np.flatnonzero(bad.to_numpy()):
        kind = "a whole number " if integer else "a number "
        col.row(int(i), name, f"{raw.iloc[i]} is not allowed", f"Use {kind}of at least {minimum:g}")
    if default is not None:
        values = values.where(~blank, default)
    frame[name] = values


def _fill_type_and_format(frame: pd.DataFrame, col: _Collector) -> None:
    if "asset_type" not in frame.columns:
        frame["asset_type"] = "other"
        col.file(
            "asset_type",
            "the file has no 'asset_type' column; every asset was set to 'other'",
            "Add the column, or give a default such as "
            "defaults={'asset_type': 'bus_stop'} (--default asset_type=bus_stop)",
            "warning",
        )
    if "format" not in frame.columns:
        types = frame["asset_type"].astype("string").str.strip().str.lower()
        frame["format"] = types.map(schema.DEFAULT_FORMAT_BY_TYPE).fillna("other")
        col.file(
            "format",
            "the file has no 'format' column; formats were assumed from the "
            "asset type (e.g. bus_shelter: 6-sheet, billboard: 48-sheet, lamp_column: "
            "banner)",
            "Add the column, or give a default such as defaults={'format': '6-sheet'}",
            "warning",
        )


def _check_assets(frame: pd.DataFrame, col: _Collector) -> None:
    _fill_type_and_format(frame, col)
    for name in ("asset_type", "format"):
        frame[name] = frame[name].astype("string").str.strip().str.lower()
        for i in np.flatnonzero((frame[name].isna() | (frame[name] == "")).to_numpy()):
            col.row(int(i), name, f"'{name}' is empty", f"Give every asset a {name}")
    _numeric(frame, "faces", col, minimum=1, integer=True, default=1)
    _numeric(frame, "slots", col, minimum=1, integer=True, default=6)
    _numeric(frame, "weekly_impacts", col, minimum=0, integer=False, default=None)
    _numeric(frame, "price_per_cycle", col, minimum=0, integer=False, default=None)
    _check_digital(frame, col)
    _check_status(frame, col)
    _vocabulary(frame, "asset_type", schema.ASSET_TYPES, col)
    _vocabulary(frame, "format", schema.FORMATS, col)


def _check_digital(frame: pd.DataFrame, col: _Collector) -> None:
    if "digital" not in frame.columns:
        frame["digital"] = frame["format"].isin(_DIGITAL_FORMATS) | (
            frame["asset_type"] == "digital_screen"
        )
        return
    text = frame["digital"].astype("string").str.strip().str.lower().fillna("")
    known = text.isin(_TRUE | _FALSE)
    for i in np.flatnonzero((~known).to_numpy()):
        col.row(
            int(i),
            "digital",
            f"'{frame['digital'].iloc[i]}' is not yes/no",
            "Write true or false (yes/no, 1/0)",
        )
    frame["digital"] = text.isin(_TRUE).astype(bool)


def _check_status(frame: pd.DataFrame, col: _Collector) -> None:
    if "status" not in frame.columns:
        frame["status"] = "available"
        return
    text = frame["status"].astype("string").str.strip().str.lower().fillna("available")
    text = text.where(text != "", "available")
    for i in np.flatnonzero((~text.isin(schema.STATUSES)).to_numpy()):
        col.row(
            int(i),
            "status",
            f"status '{text.iloc[i]}' is unknown",
            "Use 'available' or 'unavailable'",
        )
    frame["status"] = text


def _vocabulary(frame: pd.DataFrame, name: str, known: frozenset[str], col: _Collector) -> None:
    values = frame[name]
    unknown = values.notna() & (values != "") & ~values.isin(known)
    if unknown.any():
        names = sorted(set(values[unknown].astype(str)))
        col.file(
            name,
            f"{int(unknown.sum())} row(s) have an unrecognised {name} "
            f"({', '.join(names[:8])}); they are kept",
            f"Known values: {', '.join(sorted(known))}",
            "warning",
        )


def _check_sites(frame: pd.DataFrame, col: _Collector) -> None:
    frame["kind"] = frame["kind"].astype("string").str.strip().str.lower()
    for i in np.flatnonzero((frame["kind"].isna() | (frame["kind"] == "")).to_numpy()):
        col.row(int(i), "kind", "'kind' is empty", "Give every site a kind such as school")
    _vocabulary(frame, "kind", schema.SITE_KINDS, col)


def _check_zones(frame: pd.DataFrame, col: _Collector) -> None:
    _numeric(frame, "population", col, minimum=0, integer=False, default=None)
    for i in np.flatnonzero(frame["population"].isna().to_numpy()):
        if i not in col.bad:
            col.row(
                int(i),
                "population",
                "population is empty",
                "Enter the zone's population (0 if nobody lives there)",
            )


_FIELD_CHECKS = {"assets": _check_assets, "sites": _check_sites, "zones": _check_zones}


def _finish(frame: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
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
