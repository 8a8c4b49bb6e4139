"""Coordinate reference systems: the one metric CRS used for every distance computation."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

__all__ = ["metric_crs", "to_metric"]

BRITISH_NATIONAL_GRID = "EPSG:27700"
# Great Britain (not Northern Ireland), in degrees: where EPSG:27700 is the right metric CRS.
_GB_BOUNDS = (-8.75, 49.75, 2.0, 61.0)


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
    and latitude 49.75 to 61.0 (Northern Ireland is outside it and gets a UTM zone).
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
    bounds = [f.to_crs("EPSG:4326").total_bounds for f in frames if len(f) and f.crs is not None]
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
    return frame.to_crs(crs if crs is not None else metric_crs(frame))
