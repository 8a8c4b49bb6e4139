"""Reading road traffic counts: the Department for Transport's annual average daily flows.

DfT publishes, per local authority, one row per count point and year with the point's
British National Grid ``easting``/``northing``, its road and the **annual average daily
flow** (AADF) of every motor vehicle, both directions together
(https://roadtraffic.dft.gov.uk/downloads). `load_traffic_counts` turns such a file into
count points for the roadside audience of `planner.value.audience.estimate_impacts`.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from planner.errors import DataValidationError, PlannerError, Problem

__all__ = ["TRAFFIC_COLUMNS", "load_traffic_counts"]

#: Columns a DfT AADF file must have, and what the loader keeps them as.
TRAFFIC_COLUMNS = {
    "count_point_id": "count point id",
    "year": "year of the count",
    "easting": "British National Grid easting, metres (EPSG:27700)",
    "northing": "British National Grid northing, metres",
    "all_motor_vehicles": "annual average daily flow, vehicles a day, both directions",
}
_OPTIONAL = ("road_name", "road_type", "estimation_method")


def load_traffic_counts(
    path: str | os.PathLike[str], *, year: int | None = None
) -> gpd.GeoDataFrame:
    """Read a DfT AADF file into count points: each point's latest year, or ``year``.

    Parameters
    ----------
    path
        A DfT AADF CSV (``dft_aadf_local_authority_id_<n>.csv``, or a region's or the
        country's file): ``count_point_id``, ``year``, ``easting``, ``northing`` and
        ``all_motor_vehicles`` (`TRAFFIC_COLUMNS`); ``road_name``, ``road_type`` and
        ``estimation_method`` are kept when present.
    year
        Keep only this year's counts; None keeps each count point's latest year (the
        file's points are not all counted every year).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per count point in EPSG:27700: ``count_point_id`` (text), ``year``,
        ``aadf`` (vehicles a day, both directions) and the optional columns;
        ``attrs["source"]`` is the file name.

    Raises
    ------
    PlannerError
        When the file cannot be read, or has no row for ``year``.
    DataValidationError
        Listing every problem at once: missing columns, or rows whose easting, northing,
        year or flow is not a number (or a flow below 0), by row number.

    Examples
    --------
    >>> counts = load_traffic_counts("leeds_aadf_2000_2020.csv")
    >>> counts[["count_point_id", "road_name", "aadf"]].head()
    """
    name = Path(path).name
    try:
        table = pd.read_csv(path, dtype={"count_point_id": str}, low_memory=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PlannerError(f"Cannot read the traffic counts '{name}': {exc}") from None
    missing = [c for c in TRAFFIC_COLUMNS if c not in table.columns]
    if missing:
        raise DataValidationError(
            name,
            [
                Problem(
                    name,
                    "",
                    ", ".join(missing),
                    "missing column(s) of a DfT annual average daily flow file",
                    "Download the AADF file (not the raw counts) from "
                    "roadtraffic.dft.gov.uk/downloads; it has " + ", ".join(TRAFFIC_COLUMNS),
                )
            ],
        )
    numbers = {
        c: pd.to_numeric(table[c], errors="coerce")
        for c in ("year", "easting", "northing", "all_motor_vehicles")
    }
    problems = _bad_rows(name, table, numbers)
    if problems:
        raise DataValidationError(name, problems)
    frame = pd.DataFrame(
        {
            "count_point_id": table["count_point_id"].astype(str),
            "year": numbers["year"].astype(int),
            "aadf": numbers["all_motor_vehicles"].astype(float),
        }
    )
    for column in _OPTIONAL:
        if column in table.columns:
            frame[column] = table[column]
    frame = frame.assign(easting=numbers["easting"], northing=numbers["northing"])
    if year is not None:
        frame = frame[frame["year"] == year]
        if frame.empty:
            raise PlannerError(f"'{name}' has no count for {year}; choose another year")
    latest = frame.sort_values("year").drop_duplicates("count_point_id", keep="last")
    points = gpd.points_from_xy(latest["easting"], latest["northing"])
    counts = gpd.GeoDataFrame(
        latest.drop(columns=["easting", "northing"]).reset_index(drop=True),
        geometry=points,
        crs="EPSG:27700",
    )
    counts.attrs["source"] = name
    return counts


def _bad_rows(name: str, table: pd.DataFrame, numbers: dict[str, pd.Series]) -> list[Problem]:
    """Return one problem per column with rows that are not usable numbers (first 10 rows)."""
    problems = []
    for column, values in numbers.items():
        bad = values.isna() | ((values < 0) if column == "all_motor_vehicles" else False)
        if bad.any():
            rows = [str(i + 2) for i in table.index[bad][:10]]  # +2: header line, 1-based
            more = f" and {int(bad.sum()) - len(rows)} more" if bad.sum() > len(rows) else ""
            problems.append(
                Problem(
                    name,
                    f"rows {', '.join(rows)}{more}",
                    column,
                    "not a number" + (" >= 0" if column == "all_motor_vehicles" else ""),
                    "Correct or delete these rows",
                )
            )
    return problems
