"""Saved maps in a real headless Chromium with no network beyond localhost (issue 9)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import make_assets, make_sites, make_zones, offline_page, streamlit_server

from planner.maps.render import OFFLINE_NOTE, asset_map, save_map

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
EVIL_NAME = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def demo_scene(n: int = 300, seed: int = 7) -> dict[str, object]:
    """Assets on a Camden-sized patch, two schools with 100 m zones, demand, a plan."""
    rng = np.random.default_rng(seed)
    names = [f"Stop {i}" for i in range(n)]
    names[0] = EVIL_NAME
    assets = make_assets(
        rng.random((n, 2)) * 2800,
        asset_id=[f"A{i:04d}" for i in range(n)],
        name=names,
        ward="Camden Town",
        status=["unavailable" if i % 40 == 39 else "available" for i in range(n)],
    )
    sites = make_sites([(700, 1100), (2100, 1650)], site_id=["S1", "S2"],
                       name=["St Mary's", EVIL_NAME])  # fmt: skip
    zone = sites.to_crs(27700).buffer(100).to_crs(4326)
    exclusion = gpd.GeoDataFrame(
        {"rule_id": "schools-100m", "kind": "school", "site_id": ["S1", "S2"]},
        geometry=zone.to_numpy(),
        crs="EPSG:4326",
    )
    inside = assets.within(shapely.union_all(zone.to_numpy())).to_numpy().copy()
    inside[0] = True
    eligibility = pd.DataFrame(
        {"asset_id": np.repeat(assets["asset_id"], 2), "category": ["alcohol", "general"] * n,
         "allowed": np.ravel(np.column_stack([~inside, np.ones(n, bool)])),
         "reasons": np.ravel(np.column_stack([np.where(inside, "within 100 m of a school", ""),
                                              np.full(n, "")])),
         "rule_ids": np.ravel(np.column_stack([np.where(inside, "schools-100m", ""),
                                               np.full(n, "")]))},
    )  # fmt: skip
    placements = pd.DataFrame(
        {"asset_id": assets["asset_id"][1:40:3], "campaign_id": "C1", "campaign_name": EVIL_NAME,
         "cycle": 1, "category": "general"}
    )  # fmt: skip
    corners = [(x, y) for x in range(0, 2800, 700) for y in range(0, 2800, 560)]
    zones = make_zones(
        [shapely.box(x, y, x + 700, y + 560) for x, y in corners],
        population=rng.integers(900, 2500, len(corners)),
    )
    return {"assets": assets, "sites": sites, "exclusion_zones": exclusion,
            "eligibility": eligibility, "placements": placements, "zones": zones}  # fmt: skip


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """Serve ``tmp_path`` on a free localhost port; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def open_offline(browser: object, url: str) -> tuple[object, dict[str, list[str]]]:
    """Open ``url`` with every non-localhost request aborted and recorded."""
    page, seen = offline_page(browser)
    page.goto(url)
    page.wait_for_function(
        "() => window.L && document.querySelector('.leaflet-overlay-pane canvas')"
    )
    return page, seen


MAP_FACTS = """() => {
  const div = document.querySelector('.folium-map');
  const map = window[div.id];
  let markers = 0;
  map.eachLayer(l => { if (l instanceof L.CircleMarker && l.pmIndex !== undefined) markers++; });
  const canvas = document.querySelector('.leaflet-overlay-pane canvas');
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  return {leaflet: typeof L, version: L.version, height: div.getBoundingClientRect().height,
          markers, painted, canvasWidth: canvas.width};
}"""


def test_saved_map_draws_without_network(browser, serve, tmp_path):
    scene = demo_scene()
    save_map(asset_map(**scene, tiles="none", assets_mode="local"), tmp_path / "map.html")
    page, seen = open_offline(browser, f"{serve}/map.html")
    facts = page.evaluate(MAP_FACTS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_offline.png"))

    assert seen["blocked"] == []  # nothing outside localhost was even asked for
    assert seen["errors"] == []
    assert facts["leaflet"] == "object" and facts["version"] == "1.9.3"
    assert facts["height"] > 300
    assert facts["markers"] == len(scene["assets"])
    assert facts["painted"] > 1000
    assert page.get_by_text(OFFLINE_NOTE).is_visible()
    assert page.get_by_text("OpenStreetMap contributors").is_visible()
    page.close()


def test_popup_shows_hostile_name_as_text(browser, serve, tmp_path):
    scene = demo_scene()
    save_map(asset_map(**scene, tiles="none"), tmp_path / "map.html")
    page, seen = open_offline(browser, f"{serve}/map.html")
    point = page.evaluate("""() => {
      const div = document.querySelector('.folium-map');
      const map = window[div.id];
      let target = null;
      map.eachLayer(l => { if (l.pmIndex === 0) target = l; });
      const p = map.latLngToContainerPoint(target.getLatLng());
      const box = div.getBoundingClientRect();
      return {x: box.left + p.x, y: box.top + p.y};
    }""")
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    page.wait_for_function(  # the popup fades in; screenshot it once opaque
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_popup.png"))

    assert EVIL_NAME in popup.inner_text()
    assert popup.locator("img, script").count() == 0
    assert "within 100 m of a school" in popup.inner_text()
    assert seen["dialogs"] == [] and seen["errors"] == []
    page.close()


def test_blocked_tiles_leave_layers_and_a_note(browser, serve, tmp_path):
    scene = demo_scene()
    save_map(asset_map(**scene, tiles="osm", assets_mode="auto"), tmp_path / "map.html")
    page, seen = open_offline(browser, f"{serve}/map.html")
    page.get_by_text(OFFLINE_NOTE).wait_for()
    facts = page.evaluate(MAP_FACTS)

    assert seen["blocked"], "the OpenStreetMap tiles should have been requested"
    assert {urlparse(u).hostname for u in seen["blocked"]} == {"tile.openstreetmap.org"}
    assert facts["markers"] == len(scene["assets"]) and facts["painted"] > 1000
    page.close()


@pytest.mark.slow
def test_twenty_thousand_assets_render(browser, serve, tmp_path):
    scene = demo_scene(n=20_000)
    save_map(asset_map(**scene, tiles="none"), tmp_path / "big.html")
    page, seen = open_offline(browser, f"{serve}/big.html")
    facts = page.evaluate(MAP_FACTS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_20k.png"))

    assert facts["markers"] == 20_000
    assert seen["errors"] == [] and seen["blocked"] == []
    page.close()


STREAMLIT_APP = """
import geopandas as gpd
import numpy as np
import streamlit as st
from streamlit_folium import st_folium

from planner.maps.render import asset_map

rng = np.random.default_rng(1)
assets = gpd.GeoDataFrame(
    {"asset_id": [f"A{i}" for i in range(120)], "name": "Stop"},
    geometry=gpd.points_from_xy(-0.16 + 0.04 * rng.random(120), 51.53 + 0.02 * rng.random(120)),
    crs="EPSG:4326",
)
st_folium(asset_map(assets, tiles="none"), height=480, use_container_width=True,
          returned_objects=[])
"""


@pytest.mark.slow
def test_streamlit_folium_component_draws_without_network(browser, tmp_path):
    app = tmp_path / "map_app.py"
    app.write_text(STREAMLIT_APP, encoding="utf-8")
    with streamlit_server(app, log=tmp_path / "streamlit.log") as url:
        page, seen = offline_page(browser, width=1100, height=800)
        page.goto(url, timeout=60_000)
        frame = page.wait_for_selector("iframe", timeout=90_000).content_frame()
        frame.wait_for_function(
            "() => window.L && document.querySelector('.leaflet-overlay-pane canvas')",
            timeout=90_000,
        )
        markers = frame.evaluate(
            "() => { let n = 0;"
            " window.map_div.eachLayer(l => { if (l.pmIndex !== undefined) n++; }); return n; }"
        )
        height = frame.evaluate("() => document.getElementById('map_div').offsetHeight")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map_streamlit.png"))

        assert markers == 120 and height > 300
        assert seen["blocked"] == []
        page.close()
