"""Coordinate reference systems: the one metric CRS used for every distance computation."""

from __future__ import annotations

import functools
from typing import TypeVar

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

__all__ = ["bounds_in", "metric_crs", "points_in", "project", "to_metric"]

_Geo = TypeVar("_Geo", gpd.GeoDataFrame, gpd.GeoSeries)

BRITISH_NATIONAL_GRID = "EPSG:27700"
# Great Britain's bounding box, in degrees: where EPSG:27700 is used as the metric CRS.
_GB_BOUNDS = (-8.75, 49.75, 2.0, 61.0)
# How far inside those bounds a densified bounding box must lie to settle the question
# without projecting every vertex (degrees; densified edges miss far less).
_GB_MARGIN_DEG = 0.05


def metric_crs(*frames: gpd.GeoDataFrame) -> CRS:
    """Choose the metric CRS for distance work on these frames.

    British National Grid (EPSG:27700) when the data lie inside Great Britain, otherwise
    the WGS84 UTM zone of the data's centre (EPSG:326zz north of the equator, 327zz
    south). Every frame counts, so assets and sites measured together share one CRS.

    Parameters
    ----------
    *frames
        GeoDataFrames with a CRS; empty ones and ones without a CRS are ignored.

    Returns
    -------
    pyproj.CRS
        The projected CRS, in metres; EPSG:27700 when no frame has rows and a CRS.

    Notes
    -----
    "Inside Great Britain" means the combined bounds lie within longitude -8.75 to 2.0
    and latitude 49.75 to 61.0. The box also holds most of Northern Ireland and the east of
    Ireland, measured in EPSG:27700 too (its scale there is within 0.25% of true).
    The UTM zone is the standard 6-degree zone of the centre's longitude, clamped to
    1-60; data spanning several zones is measured in the centre's zone.

    Examples
    --------
    >>> metric_crs(assets).to_epsg()
    27700
    >>> import geopandas as gpd, shapely
    >>> helsinki = gpd.GeoDataFrame(geometry=[shapely.Point(24.94, 60.17)], crs=4326)
    >>> metric_crs(helsinki).to_epsg()
    32635
    """
    located = [f for f in frames if len(f) and f.crs is not None]
    if located and all(_surely_in_great_britain(f) for f in located):
        return CRS.from_user_input(BRITISH_NATIONAL_GRID)
    bounds = [bounds_in(f, "EPSG:4326") for f in located]
    bounds = [b for b in bounds if np.isfinite(b).all()]
    if not bounds:
        return CRS.from_user_input(BRITISH_NATIONAL_GRID)
    minx = min(b[0] for b in bounds)
    miny = min(b[1] for b in bounds)
    maxx = max(b[2] for b in bounds)
    maxy = max(b[3] for b in bounds)
    gx0, gy0, gx1, gy1 = _GB_BOUNDS
    if minx >= gx0 and maxx <= gx1 and miny >= gy0 and maxy <= gy1:
        return CRS.from_user_input(BRITISH_NATIONAL_GRID)
    lon = (minx + maxx) / 2
    lat = (miny + maxy) / 2
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + min(max(zone, 1), 60))


def _surely_in_great_britain(frame: gpd.GeoDataFrame) -> bool:
    """Tell, from its bounding box alone, that a frame lies well inside Great Britain.

    The box is projected with its edges densified (`pyproj.Transformer.transform_bounds`),
    which encloses the projected features; when it lies inside Great Britain's bounds by
    a margin of `_GB_MARGIN_DEG` (far more than the densification can miss), the features'
    own bounds do too, and `metric_crs` answers without projecting every vertex. Any other
    case (near an edge, outside, not finite) is left to the exact test.
    """
    minx, miny, maxx, maxy = (float(v) for v in frame.geometry.total_bounds)
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return False
    target = CRS.from_user_input("EPSG:4326")
    box = (minx, miny, maxx, maxy)
    if frame.crs != target:
        box = _transformer(frame.crs, target).transform_bounds(
            minx, miny, maxx, maxy, densify_pts=21
        )
    gx0, gy0, gx1, gy1 = _GB_BOUNDS
    m = _GB_MARGIN_DEG
    if not box[0] < box[2]:  # a box across the antimeridian comes back west > east
        return False
    return bool(box[0] >= gx0 + m and box[2] <= gx1 - m and box[1] >= gy0 + m and box[3] <= gy1 - m)


def to_metric(frame: gpd.GeoDataFrame, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """Return ``frame`` projected to ``crs`` (by default its own `metric_crs`).

    Parameters
    ----------
    frame
        GeoDataFrame with a CRS.
    crs
        Target CRS; None chooses ``metric_crs(frame)``.

    Returns
    -------
    geopandas.GeoDataFrame
        A reprojected copy; coordinates in the CRS's units (metres for a metric CRS).
    """
    return project(frame, crs if crs is not None else metric_crs(frame))


def project(frame: _Geo, crs: CRS | str) -> _Geo:
    """Return ``frame`` in ``crs``: itself when it is already there, else reprojected.

    geopandas reprojects every coordinate whenever two CRS definitions differ in their
    text (a GeoParquet file's EPSG:27700 is PROJJSON, pyproj's is not), although the
    transformation is then the identity; this compares the CRSs themselves
    (`pyproj.CRS.equals`) and skips that work, which gives the same coordinates.

    Parameters
    ----------
    frame
        GeoDataFrame or GeoSeries with a CRS, shape (n,).
    crs
        The target CRS (anything `pyproj.CRS.from_user_input` takes).

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        ``frame`` itself (not a copy) when its CRS equals ``crs``; else ``frame.to_crs(crs)``.
    """
    if frame.crs is not None and frame.crs == CRS.from_user_input(crs):
        return frame
    return frame.to_crs(crs)


def bounds_in(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | str) -> np.ndarray:
    """Return the total bounds of ``frame`` once projected to ``crs``, without reprojecting it.

    The same numbers as ``frame.to_crs(crs).total_bounds`` (geopandas reprojects the
    vertices, and bounds are their extremes): the vertices are projected as coordinate
    arrays, with no new geometries built, which takes a fifth of the time.

    Parameters
    ----------
    frame
        GeoDataFrame or GeoSeries with a CRS, shape (n,).
    crs
        The CRS the bounds are wanted in.

    Returns
    -------
    numpy.ndarray
        ``[minx, miny, maxx, maxy]`` in ``crs``'s units, shape (4,); NaN when the frame
        has no coordinates.
    """
    if shapely.has_z(np.asarray(frame.geometry.array)).any():
        # Heights move a datum shift: only the full reprojection gives its numbers.
        return np.asarray(project(frame.geometry, crs).total_bounds, dtype=float)
    coords = _xy_in(frame, crs)
    if not len(coords[0]):
        return np.full(4, np.nan)
    x, y = coords
    return np.array([np.nanmin(x), np.nanmin(y), np.nanmax(x), np.nanmax(y)])


def points_in(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | str) -> np.ndarray | None:
    """Return the x and y of a frame of points in ``crs``, as arrays; None when not all points.

    The same numbers as ``shapely.get_x``/``get_y`` of ``frame.to_crs(crs)``, without
    building new geometries.

    Parameters
    ----------
    frame
        GeoDataFrame or GeoSeries with a CRS, shape (n,).
    crs
        The target CRS.

    Returns
    -------
    numpy.ndarray or None
        Shape (2, n): x then y in ``crs``'s units; None when some geometry is missing,
        empty, not a point or 3-D (then project the frame itself).
    """
    geometry = np.asarray(frame.geometry.array)
    if not len(geometry):
        return np.empty((2, 0))
    points = shapely.get_type_id(geometry) == shapely.GeometryType.POINT
    if not points.all() or shapely.is_empty(geometry).any() or shapely.has_z(geometry).any():
        return None
    return np.asarray(_xy_in(frame, crs))


def _xy_in(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | str) -> tuple[np.ndarray, ...]:
    """Every vertex of ``frame`` (2-D, in order) projected to ``crs``: (x, y) arrays."""
    coords = shapely.get_coordinates(np.asarray(frame.geometry.array))
    x, y = coords[:, 0], coords[:, 1]
    target = CRS.from_user_input(crs)
    if frame.crs is None or frame.crs == target or not len(x):
        return x, y
    return _transformer(frame.crs, target).transform(x, y)


@functools.lru_cache(maxsize=32)
def _transformer(source: CRS, target: CRS) -> Transformer:
    """Build (once per pair) the transformer geopandas' ``to_crs`` uses, in x, y order."""
    return Transformer.from_crs(source, target, always_xy=True)
