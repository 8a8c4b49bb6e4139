"""What the tests share, defined once: the tiny geodata builders (`make_assets`, `make_sites`,
`make_zones`, `make_points`, `make_geo`), campaign and instance builders, the shared
real-data folder, `free_port`, a headless Chromium (`browser`) and a Streamlit server.

Import a builder with ``from conftest import make_assets`` or take it as a fixture.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
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


# --- Builders: tiny assets, sites, zones and points with an explicit metric CRS ---------------

#: Where the builders put ``(0, 0)``: central London, in metres on the British National Grid.
ORIGIN = (530_000.0, 180_000.0)
#: The metric CRS the builders' ``(dx, dy)`` offsets and shapes are given in.
BUILDER_CRS = "EPSG:27700"

Shape = Sequence[float] | shapely.Geometry


def _per_row(value: object, n: int) -> list:
    """``n`` values: ``value`` itself when it is a list, tuple, array or Series, else repeated."""
    return [value] * n if np.ndim(value) == 0 else list(value)


def _placed(shapes: Sequence[Shape]) -> list[shapely.Geometry]:
    """Shapes given in metres from `ORIGIN`: ``(dx, dy)`` pairs or shapely geometries."""
    x0, y0 = ORIGIN
    return [
        shapely.affinity.translate(s, x0, y0)
        if isinstance(s, shapely.Geometry)
        else shapely.Point(x0 + float(s[0]), y0 + float(s[1]))
        for s in shapes
    ]


def make_points(
    shapes: Sequence[Shape], *, crs: str | int = "EPSG:4326", **columns: object
) -> gpd.GeoDataFrame:
    """Any layer (transit stops, points of interest) at ``shapes`` metres from `ORIGIN`.

    ``make_points([(0, 50)], kind="bus_stop")``: each column is one value for every row
    or a list with one per row; the frame is built in `BUILDER_CRS` and returned in ``crs``.
    """
    n = len(shapes)
    data = {name: _per_row(value, n) for name, value in columns.items()}
    return gpd.GeoDataFrame(data, geometry=_placed(shapes), crs=BUILDER_CRS).to_crs(crs)


def _contract(defaults: dict[str, object], columns: dict[str, object], n: int) -> dict:
    """Contract columns in contract order (``columns`` override ``defaults``), then extras."""
    data = {name: _per_row(columns.pop(name, value), n) for name, value in defaults.items()}
    return data | {name: _per_row(value, n) for name, value in columns.items()}


def _as_loaded(frame: gpd.GeoDataFrame, types: dict[str, object]) -> gpd.GeoDataFrame:
    """The loaders' dtypes: ids and codes ``str``, free text ``object``, then ``types``."""
    codes = ("asset_id", "site_id", "zone_id", "asset_type", "format", "kind", "status")
    types = (
        {c: str for c in codes if c in frame}
        | {c: object for c in ("name", "ward") if c in frame}
        | types
    )
    return frame.astype(types)


def make_assets(
    points: int | Sequence[Shape],
    *,
    price: object = 10.0,
    impacts: object = 100.0,
    crs: str | int = "EPSG:4326",
    **columns: object,
) -> gpd.GeoDataFrame:
    """Contract assets A0, A1, ... as `planner.load_assets` returns them (EPSG:4326).

    ``make_assets([(0, 0), (120, 0)])`` is two bus shelters 120 m apart: points are
    ``(dx, dy)`` metres east and north of `ORIGIN` in `BUILDER_CRS`; an integer ``n`` is
    ``n`` assets 100 m apart in a row. ``price`` is ``price_per_cycle`` (GBP) and
    ``impacts`` is ``weekly_impacts``; any other contract column (``faces``, ``digital``,
    ``format``, ``status``, ...) or extra column is one value for all or a list with one
    per asset. ``crs`` is the CRS of the returned frame.
    """
    if isinstance(points, int):
        points = [(100.0 * i, 0.0) for i in range(points)]
    n = len(points)
    defaults = {
        "asset_id": [f"A{i}" for i in range(n)],
        "asset_type": "bus_shelter",
        "format": "6-sheet",
        "faces": 1,
        "digital": False,
        "slots": 6,
        "weekly_impacts": impacts,
        "price_per_cycle": price,
        "name": [f"Stop {i}" for i in range(n)],
        "ward": "Ward A",
        "status": "available",
    }
    frame = make_points(points, crs=crs, **_contract(defaults, dict(columns), n))
    numbers = {
        "faces": "int64",
        "slots": "int64",
        "weekly_impacts": float,
        "price_per_cycle": float,
    }
    return _as_loaded(frame, {**numbers, "digital": bool})


def make_sites(
    shapes: Sequence[Shape], *, kind: object = "school", crs: str | int = "EPSG:4326", **columns
) -> gpd.GeoDataFrame:
    """Contract sensitive sites S0, S1, ... as `planner.load_sites` returns them.

    ``make_sites([(0, 50), shapely.box(200, 0, 300, 100)], kind=["school", "park"])``:
    points or polygons in metres from `ORIGIN`; each is named after its kind ("School 0").
    """
    n = len(shapes)
    kinds = _per_row(kind, n)
    defaults = {
        "site_id": [f"S{i}" for i in range(n)],
        "kind": kinds,
        "name": [f"{str(k).replace('_', ' ').capitalize()} {i}" for i, k in enumerate(kinds)],
    }
    return _as_loaded(make_points(shapes, crs=crs, **_contract(defaults, dict(columns), n)), {})


def make_zones(
    shapes: Sequence[Shape], *, population: object = 1000.0, crs: str | int = "EPSG:4326", **columns
) -> gpd.GeoDataFrame:
    """Contract demand zones Z0, Z1, ... (points or polygons) as `planner.load_zones` returns."""
    n = len(shapes)
    defaults = {"zone_id": [f"Z{i}" for i in range(n)], "population": population, "name": ""}
    frame = make_points(shapes, crs=crs, **_contract(defaults, dict(columns), n))
    return _as_loaded(frame, {"population": float})


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


@pytest.fixture(name="make_assets", scope="session")
def _make_assets_fixture() -> Callable[..., gpd.GeoDataFrame]:
    """`make_assets` for tests that take their builders as fixtures."""
    return make_assets


@pytest.fixture(name="make_sites", scope="session")
def _make_sites_fixture() -> Callable[..., gpd.GeoDataFrame]:
    """`make_sites` for tests that take their builders as fixtures."""
    return make_sites


@pytest.fixture(scope="session")
def make_campaign() -> Callable[..., object]:
    """Builder of campaigns: ``make_campaign("C2", category="alcohol", min_faces=2)``."""
    return _campaign


@pytest.fixture(scope="session")
def plan_instance() -> Callable[..., object]:
    """Builder of instances: ``plan_instance(assets, [campaign], policy, sites=sites)``."""
    return _plan_instance


# --- A real headless browser, free ports and a Streamlit server ------------------------------

#: Debian's Chromium, driven through Playwright (no browser download).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Hosts an offline page may reach.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session; skips when Chromium or Playwright is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chrome
        chrome.close()


def offline_page(browser: object, *, width: int = 1100, height: int = 750):
    """A new page whose every request beyond localhost is aborted and recorded.

    Returns ``(page, seen)``: ``seen["blocked"]`` lists the aborted URLs,
    ``seen["errors"]`` the page's uncaught errors and ``seen["dialogs"]`` the messages of
    dialogs (``alert`` ...), which are dismissed.
    """
    seen: dict[str, list[str]] = {"blocked": [], "errors": [], "dialogs": []}
    page = browser.new_page(viewport={"width": width, "height": height})

    def route(r: object) -> None:
        if urlparse(r.request.url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    return page, seen


def _wait_until_healthy(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer at {url} within {seconds:.0f} s")


@contextlib.contextmanager
def streamlit_server(
    script: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None, log: Path
) -> Iterator[str]:
    """Run ``streamlit run script`` on a free localhost port; yields its URL once healthy.

    The server's output goes to ``log``; it is stopped (then killed) on exit.
    """
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless",
               "true", "--server.port", str(port), "--server.address", "127.0.0.1"]  # fmt: skip
    environment = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, proc, seconds=120)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def stalled_solver(monkeypatch):
    """CP-SAT stopped before it starts, as when the time limit runs out at once."""
    import planner.optimise.solve

    original = planner.optimise.solve._solver

    def stalled(settings, seconds):
        cp = original(settings, seconds)
        cp.parameters.max_time_in_seconds = 0.0
        cp.parameters.max_deterministic_time = 0.0
        return cp

    monkeypatch.setattr(planner.optimise.solve, "_solver", stalled)
