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


# --- Builders for the placement optimiser's tests (campaigns, instances, plans) ---

#: Origin of the planner test layouts: central London in British National Grid metres.
PLAN_ORIGIN = (530_000.0, 180_000.0)


def _per_row(value: object, n: int) -> list:
    """A list of ``n`` values: ``value`` itself when it is a list, else repeated."""
    return list(value) if isinstance(value, list | tuple) else [value] * n


def _plan_assets(
    offsets: Sequence[tuple[float, float]],
    *,
    price: object = 10.0,
    impacts: object = 100.0,
    faces: object = 1,
    digital: object = False,
    slots: object = 6,
    fmt: object = "6-sheet",
    asset_type: object = "bus_shelter",
    ward: object = "Ward A",
    status: object = "available",
) -> gpd.GeoDataFrame:
    """Contract assets at ``(dx, dy)`` metres from `PLAN_ORIGIN` (EPSG:27700), in EPSG:4326.

    Every keyword is one value for all assets or a list with one per asset;
    ``price`` is ``price_per_cycle`` and ``impacts`` is ``weekly_impacts``.
    """
    n = len(offsets)
    x0, y0 = PLAN_ORIGIN
    return gpd.GeoDataFrame(
        {
            "asset_id": [f"A{i}" for i in range(n)],
            "asset_type": _per_row(asset_type, n),
            "format": _per_row(fmt, n),
            "faces": _per_row(faces, n),
            "digital": _per_row(digital, n),
            "slots": _per_row(slots, n),
            "weekly_impacts": [float(v) for v in _per_row(impacts, n)],
            "price_per_cycle": [float(v) for v in _per_row(price, n)],
            "name": [f"Stop {i}" for i in range(n)],
            "ward": _per_row(ward, n),
            "status": _per_row(status, n),
        },
        geometry=[shapely.Point(x0 + dx, y0 + dy) for dx, dy in offsets],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")


def _plan_points(
    offsets: Sequence[tuple[float, float]], *, crs_out: str = "EPSG:4326", **columns
) -> gpd.GeoDataFrame:
    """Points (sites or zones) at ``(dx, dy)`` metres from `PLAN_ORIGIN`, in EPSG:4326."""
    x0, y0 = PLAN_ORIGIN
    return gpd.GeoDataFrame(
        dict(columns),
        geometry=[shapely.Point(x0 + dx, y0 + dy) for dx, dy in offsets],
        crs="EPSG:27700",
    ).to_crs(crs_out)


def _campaign(campaign_id: str = "C1", **fields: object):
    """A `planner.campaigns.Campaign` with easy defaults (general, 1 cycle, 0-10 faces)."""
    from planner.campaigns import Campaign

    values: dict[str, object] = {
        "advertiser": f"Advertiser {campaign_id}",
        "category": "general",
        "budget": 1_000_000.0,
        "cycles": (1,),
        "min_faces": 0,
        "max_faces": 10,
    }
    values.update(fields)
    return Campaign(campaign_id=campaign_id, **values)


def _plan_instance(assets, campaigns, policy=None, *, sites=None, **options):
    """`planner.optimise.instance.build_instance` with the eligibility computed from ``policy``."""
    from planner.optimise.instance import build_instance
    from planner.policy.eligibility import eligibility
    from planner.policy.load import Policy

    policy = policy if policy is not None else Policy("test")
    table = eligibility(assets, sites, policy)
    return build_instance(assets, list(campaigns), policy, table, **options)


@pytest.fixture(scope="session")
def plan_assets() -> Callable[..., gpd.GeoDataFrame]:
    """Builder of priced assets: ``plan_assets([(0, 0), (101, 0)], price=[10, 20])``."""
    return _plan_assets


@pytest.fixture(scope="session")
def plan_points() -> Callable[..., gpd.GeoDataFrame]:
    """Builder of sites or zones: ``plan_points([(0, 50)], site_id=["S1"], kind=["school"])``."""
    return _plan_points


@pytest.fixture(scope="session")
def make_campaign() -> Callable[..., object]:
    """Builder of campaigns: ``make_campaign("C2", category="alcohol", min_faces=2)``."""
    return _campaign


@pytest.fixture(scope="session")
def plan_instance() -> Callable[..., object]:
    """Builder of instances: ``plan_instance(assets, [campaign], policy, sites=sites)``."""
    return _plan_instance
