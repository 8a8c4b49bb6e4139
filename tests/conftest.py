"""Shared pytest fixtures: tiny hand-built geodata builders and the shared real-data folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

#: Real public data kept beside the project (never copied into it); see its README.md.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _make_geo(
    shapes: Sequence[tuple[float, float] | shapely.Geometry | None],
    *,
    crs: str | int | None = "EPSG:4326",
    **columns: Sequence[object],
) -> gpd.GeoDataFrame:
    """Build a GeoDataFrame from ``(x, y)`` pairs or shapely shapes, one per row."""
    geoms = [shapely.Point(s) if isinstance(s, tuple) else s for s in shapes]
    return gpd.GeoDataFrame(dict(columns), geometry=geoms, crs=crs)


@pytest.fixture
def make_geo() -> Callable[..., gpd.GeoDataFrame]:
    """Builder of tiny GeoDataFrames with an explicit CRS.

    ``make_geo([(0, 0), (120, 0)], crs="EPSG:27700", asset_id=["a", "b"])``
    """
    return _make_geo


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; skips the test when it is absent (e.g. a fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA}")
    return SHARED_DATA
