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
    the WGS84 UTM zone of the data's centre.

    Parameters
    ----------
    *frames
        GeoDataFrames with a CRS; empty ones are ignored.

    Returns
    -------
    pyproj.CRS
        The projected CRS, in metres.

    Examples
    --------
    >>> metric_crs(assets).to_epsg()
    27700
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
    """Return ``frame`` projected to ``crs`` (by default its own `metric_crs`)."""
    return frame.to_crs(crs if crs is not None else metric_crs(frame))
