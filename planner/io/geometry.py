"""Geometry checks of asset, site and zone tables, and the repairs that are safe to make.

Missing, non-finite or 0/0 locations, coordinates outside their CRS's area or with
longitude and latitude swapped, and degrees given a projected CRS are errors; invalid
shapes are repaired and non-point assets moved to a point, with a warning. Pure
functions on GeoDataFrames: problems go to the caller's `Collector`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

if TYPE_CHECKING:
    from planner.io.fields import Collector

__all__ = ["check_geometry"]


def check_geometry(
    frame: gpd.GeoDataFrame, kind: str, source_crs: CRS, col: Collector
) -> gpd.GeoDataFrame:
    """Record every geometry problem in ``col``; return the frame with shapes repaired.

    Invalid shapes are made valid, an asset's line or polygon becomes a representative
    point and a zone's collection keeps its polygons; the CRS stays ``source_crs``.

    Parameters
    ----------
    frame
        Table with a geometry in ``source_crs``; rows in file order.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``. Points at exactly 0/0 are errors for
        assets and sites; a zone must be a point or a polygon with an area.
    source_crs
        CRS the coordinates were read in. Geographic: longitudes beyond ±180 and
        latitudes beyond ±90 are errors, and a file lying wholly where Great Britain
        would be with x and y swapped is refused. Projected: values that look like
        degrees, and locations more than 1 degree outside the CRS's area of use, are errors.
    col
        Collector of the problems; rows with an error are added to ``col.bad``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` with its geometry replaced (same index, CRS ``source_crs``); bad rows
        are still present, for the caller to drop or report.

    Examples
    --------
    >>> col = Collector("assets.csv", row_labels(frame, "asset_id", 2))
    >>> frame = check_geometry(frame, "assets", CRS.from_user_input(27700), col)
    """
    # Heights (Z) and measures (M) play no part in any rule: dropped without a word.
    geoms = shapely.force_2d(np.asarray(frame.geometry.array, dtype=object))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        found = (
            "the location is missing"
            if shapely.is_missing(geoms[i])
            else f"the geometry is an empty {geoms[i].geom_type} (it has no coordinates)"
        )
        col.row(int(i), "geometry", found, "Give the row coordinates (or a geometry)")
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
        _check_part_ids(frame, geoms, usable, col)
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=source_crs))


def _zone_shapes(geoms: np.ndarray, usable: np.ndarray, col: Collector) -> np.ndarray:
    """Zones are polygons or points: a collection keeps its polygons, a line is an error.

    Marks a rejected zone unusable in ``usable`` (in place) and returns the geometries.
    """
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
    frame: gpd.GeoDataFrame, usable: np.ndarray, source_crs: CRS, col: Collector
) -> None:
    """Flag usable rows whose coordinates cannot be right for ``source_crs``.

    Geographic CRS: outside ±180/±90 (with a hint when longitude and latitude look
    swapped), then `_check_swapped`. Projected CRS: `_check_degrees`, then outside the
    CRS's area of use by more than 1 degree. Flagged rows are marked unusable in place.
    """
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


def _check_swapped(bounds: np.ndarray, usable: np.ndarray, col: Collector) -> None:
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


def _check_degrees(bounds: np.ndarray, usable: np.ndarray, source_crs: CRS, col: Collector) -> None:
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
