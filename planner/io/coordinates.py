"""Coordinates that are wrong but in range: swapped in one row, or piled on one point.

One row's longitude and latitude (or easting and northing) swapped, and many rows on one
point (a location lost in an export).

Pure checks on a table's geometry in its own CRS; problems go to the caller's `Collector`.
Rows already found unusable (missing, out of range, or swapped in a whole-file check) are
not looked at again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS, Transformer

if TYPE_CHECKING:
    import geopandas as gpd

    from planner.io.fields import Collector

__all__ = [
    "COARSE_DECIMALS",
    "PILE_ERROR_ROWS",
    "PILE_WARNING_ROWS",
    "check_coordinates",
    "haversine_m",
]

#: Great Britain and Northern Ireland in longitude/latitude (west, south, east, north).
_GB = (-8.75, 49.75, 2.0, 61.0)
#: Rows at exactly one point that make a pile worth a warning.
PILE_WARNING_ROWS = 5
#: Rows at one point that stop the file when they are also at least half of it: a register
#: whose locations were replaced by one default point (a real council bus-stop file put all
#: its 1,025 stops on one point).
PILE_ERROR_ROWS = 10
#: A row is "near the others" within this many times the file's median distance from its
#: centre (and at least `_NEAR_MIN_M`), and "far" beyond `_FAR_FACTOR` times that.
_NEAR_SPREADS = 3.0
_NEAR_MIN_M = 25_000.0
_FAR_FACTOR = 10.0


def check_coordinates(
    frame: gpd.GeoDataFrame,
    source_crs: CRS,
    col: Collector,
    *,
    decimals: np.ndarray | None = None,
) -> None:
    """Record rows whose x and y look swapped and points that many rows share.

    A row is swapped when, as given, it lies far from the rest of the file (more than
    ten times the "near" distance from the median of the rows) while with x and y
    exchanged it lies among them (within three times the rows' median distance from
    that centre, at least 25 km), or when as given it lies where Great Britain would be
    with longitude and latitude exchanged (open sea in the Indian Ocean) and exchanged it
    lies in Great Britain. Each such row is an error naming its coordinates and the fix,
    whatever the other rows do. A point shared by at least `PILE_ERROR_ROWS` rows that are
    at least half the file is a file-level error; a smaller pile of at least
    `PILE_WARNING_ROWS` rows is a warning.

    Parameters
    ----------
    frame
        Table with its geometry in ``source_crs``.
    source_crs
        CRS of the geometry.
    col
        Collector of the table's problems; rows in ``col.bad`` are skipped.
    decimals
        Decimals each row's coordinates were written with (a CSV or spreadsheet: the
        fewer of x's and y's, NaN where none), shape (n_rows,); None judges the numbers
        themselves (a GIS file).

    Examples
    --------
    >>> check_coordinates(frame, CRS.from_epsg(4326), col)
    """
    geoms = frame.geometry.values  # the GeometryArray (as .array, but typed as one)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    usable[list(col.bad)] = False
    if not usable.any():
        return
    rows = np.flatnonzero(usable)
    bounds = shapely.bounds(geoms[rows])
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    _check_swapped_rows(rows, x, y, source_crs, col)
    _check_far_rows(rows, x, y, source_crs, col)
    points = shapely.get_type_id(geoms[rows]) == 0
    _check_piles(rows[points], x[points], y[points], col)
    if source_crs.is_geographic:
        written = None if decimals is None else np.asarray(decimals, dtype=float)[rows[points]]
        _check_coarse(rows[points], x[points], y[points], col, written)


def _lonlat(x: np.ndarray, y: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude of x, y in ``crs``; NaN where they are outside its range."""
    if crs.is_geographic:
        ok = (np.abs(x) <= 180) & (np.abs(y) <= 90)
        return np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(x, y, errcheck=False)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    return np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)


def haversine_m(
    lon1: np.ndarray | float, lat1: np.ndarray | float, lon2: float, lat2: float
) -> np.ndarray:
    """Great-circle distance in metres (sphere of radius 6,371 km) from points to a point.

    Examples
    --------
    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)))
    111195
    """
    x1, y1, x2, y2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _in_gb(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return a mask of the points inside the `_GB` box (degrees, edges included)."""
    west, south, east, north = _GB
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _check_swapped_rows(
    rows: np.ndarray, x: np.ndarray, y: np.ndarray, crs: CRS, col: Collector
) -> None:
    """Flag each row that lies among the others (or in Great Britain) only when swapped.

    Two tests, each on the row's longitude/latitude as given and with x and y exchanged:
    in a geographic CRS, a row in the Indian Ocean where Great Britain would be swapped
    and inside `_GB` when swapped back; with 3 or more usable rows, a row more than
    `_FAR_FACTOR` times "near" from the rows' median point that is within "near" of it
    when swapped. Each flagged row is an error naming both readings.
    """
    lon, lat = _lonlat(x, y, crs)
    slon, slat = _lonlat(y, x, crs)
    given_ok = np.isfinite(lon)
    swapped_ok = np.isfinite(slon)
    swapped = given_ok & swapped_ok & ~_in_gb(lon, lat) & _in_gb(slon, slat)
    if crs.is_geographic:
        # As given in the Indian Ocean where GB would be with x and y exchanged.
        swapped &= (x >= 49.75) & (x <= 61.0) & (y >= -8.75) & (y <= 2.0)
    else:
        swapped[:] = False
    if given_ok.sum() >= 3:
        centre_lon = float(np.nanmedian(lon))
        centre_lat = float(np.nanmedian(lat))
        dist = haversine_m(lon, lat, centre_lon, centre_lat)
        near = max(_NEAR_SPREADS * float(np.nanmedian(dist)), _NEAR_MIN_M)
        dist_swapped = haversine_m(slon, slat, centre_lon, centre_lat)
        far = np.nan_to_num(dist, nan=0.0) > _FAR_FACTOR * near
        swapped |= given_ok & swapped_ok & far & (np.nan_to_num(dist_swapped, nan=np.inf) <= near)
    for j in np.flatnonzero(swapped):
        col.row(
            int(rows[j]),
            "geometry",
            f"coordinates ({x[j]:g}, {y[j]:g}) lie far from the file's other rows, and with "
            f"x and y exchanged ({y[j]:g}, {x[j]:g}) they lie among them: x and y look "
            "swapped in this row",
            f"Swap this row's values: x (longitude or easting) {y[j]:g}, y (latitude or "
            f"northing) {x[j]:g}",
        )


def _check_far_rows(
    rows: np.ndarray, x: np.ndarray, y: np.ndarray, crs: CRS, col: Collector
) -> None:
    """Warn of rows far from all the others (a digit dropped or added), not already flagged.

    With 3 or more usable rows, a row more than `_FAR_FACTOR` times "near" from the rows'
    median point (see `check_coordinates`) is named, with its distance. With exactly 2,
    rows more than `_FAR_FACTOR` x `_NEAR_MIN_M` apart are an error when exchanging x and
    y in one of them brings it within `_NEAR_MIN_M` of the other (one row is swapped,
    which one cannot be told), else both are named in a warning.
    """
    lon, lat = _lonlat(x, y, crs)
    ok = np.isfinite(lon) & np.array([int(r) not in col.bad for r in rows], dtype=bool)
    if ok.sum() == 2:
        _check_two_rows(rows[ok], x[ok], y[ok], lon[ok], lat[ok], crs, col)
        return
    if ok.sum() < 3:
        return
    centre_lon, centre_lat = float(np.median(lon[ok])), float(np.median(lat[ok]))
    dist = np.where(ok, haversine_m(lon, lat, centre_lon, centre_lat), np.nan)
    near = max(_NEAR_SPREADS * float(np.nanmedian(dist)), _NEAR_MIN_M)
    for j in np.flatnonzero(np.nan_to_num(dist, nan=0.0) > _FAR_FACTOR * near):
        col.row(
            int(rows[j]),
            "geometry",
            f"coordinates ({x[j]:g}, {y[j]:g}) lie {dist[j] / 1000:,.0f} km from the middle "
            f"of the file's rows, most of which lie within {near / 1000:,.0f} km of it: a "
            "digit missing or extra, perhaps",
            "Check this row's coordinates; nothing to do if it really stands there",
            "warning",
        )


def _check_two_rows(
    rows: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    crs: CRS,
    col: Collector,
) -> None:
    """Check two rows far apart: an error if one is swapped, else a warning (`_check_far_rows`)."""
    apart = float(haversine_m(lon[0], lat[0], float(lon[1]), float(lat[1])))
    if apart <= _FAR_FACTOR * _NEAR_MIN_M:
        return
    slon, slat = _lonlat(y[:1], x[:1], crs)
    swapped = float(haversine_m(slon, slat, float(lon[1]), float(lat[1]))[0])
    both = " and ".join(
        f"{col.labels[int(r)]} ({a:g}, {b:g})" for r, a, b in zip(rows, x, y, strict=True)
    )
    if np.isfinite(swapped) and swapped <= _NEAR_MIN_M:
        col.file(
            "geometry",
            f"the file's 2 rows, {both}, lie {apart / 1000:,.0f} km apart, and with x and y "
            f"exchanged in either they would lie {swapped / 1000:,.1f} km apart: one of them "
            "has x and y swapped",
            "Check both rows and swap the x and y (longitude/latitude or easting/northing) of "
            "the wrong one",
        )
        return
    col.file(
        "geometry",
        f"the file's 2 rows, {both}, lie {apart / 1000:,.0f} km apart: a digit missing or "
        "extra in one of them, perhaps",
        "Check both rows' coordinates; nothing to do if the two really are that far apart",
        "warning",
    )


#: Decimals of a longitude/latitude at or below which a location is coarse: 2 decimals
#: are a cell of about 1.1 km (north-south) by 0.7 km (east-west in Britain).
COARSE_DECIMALS = 2


def _check_coarse(
    rows: np.ndarray, x: np.ndarray, y: np.ndarray, col: Collector, written: np.ndarray | None
) -> None:
    """Warn of points whose longitude and latitude have `COARSE_DECIMALS` decimals or fewer.

    A register rounded to 2 decimals (a spreadsheet's number format, a privacy rounding)
    puts each row up to about 700 m from where it stands: far more than an exclusion
    distance. Judged on the decimals written when the file is a table (``written``),
    else on the numbers (both whole hundredths). The rows are named (up to 8).
    """
    if written is not None:
        coarse = written <= COARSE_DECIMALS
    else:
        scale = 10.0**COARSE_DECIMALS
        coarse = (np.abs(x * scale - np.round(x * scale)) < 1e-6) & (
            np.abs(y * scale - np.round(y * scale)) < 1e-6
        )
    if not coarse.any():
        return
    names = [col.labels[int(i)] for i in rows[coarse]]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    col.file(
        "geometry",
        f"{len(names)} row(s) give longitude and latitude with {COARSE_DECIMALS} decimals or "
        f"fewer, a cell of about 1.1 km by 0.7 km, so each may stand hundreds of metres "
        f"from its point and distances to it are that far off: {shown}",
        "Export the coordinates with at least 5 decimals (about 1 m), e.g. from the source "
        "system rather than a spreadsheet formatted to 2 decimals",
        "warning",
    )


def _check_piles(rows: np.ndarray, x: np.ndarray, y: np.ndarray, col: Collector) -> None:
    """Report points shared by many rows: an error for a file mostly on one point.

    Coordinates are compared exactly. A point shared by `PILE_WARNING_ROWS` rows or more
    is a warning naming up to three such piles; when the biggest has `PILE_ERROR_ROWS`
    rows or more and is at least half the file, it is a file error instead.
    """
    if len(rows) < PILE_WARNING_ROWS:
        return
    pairs = np.stack([x, y], axis=1)
    unique, inverse, counts = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(-counts, kind="stable")
    piles = [k for k in order if counts[k] >= PILE_WARNING_ROWS]
    if not piles:
        return
    top = piles[0]
    n, biggest = len(rows), int(counts[top])
    where = f"({unique[top, 0]:g}, {unique[top, 1]:g})"
    members = rows[inverse == top]
    sample = ", ".join(col.labels[int(i)] for i in members[:3])
    fix = (
        "Export each row's own location (check the coordinate columns and the export's "
        "settings: a default point is often written where the real location was missing)"
    )
    if biggest >= PILE_ERROR_ROWS and biggest * 2 >= n:
        col.file(
            "geometry",
            f"{biggest} of {n} rows are at exactly the same point {where} ({sample}, ...): "
            "their real locations were lost, so distances to them mean nothing",
            fix,
        )
        return
    listing = "; ".join(
        f"{int(counts[k])} rows at ({unique[k, 0]:g}, {unique[k, 1]:g})" for k in piles[:3]
    )
    col.file(
        "geometry",
        f"several rows share exactly one point ({listing}; e.g. {sample}): a postcode "
        "centre or a default location rather than each row's own",
        fix + "; if they really stand together, nothing to do",
        "warning",
    )
