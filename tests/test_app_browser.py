"""The app in a real headless Chromium, offline: data page, then solve, then the plan's map.

Starts ``streamlit run app.py`` on a free localhost port and aborts every request that
leaves localhost, so the map must draw from the app's own (inlined) Leaflet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import LOCAL_HOSTS, offline_page, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
MAP_READY = "() => window.L && document.querySelector('.leaflet-overlay-pane canvas')"
MAP_FACTS = """() => {
  const map = window.map_div;
  let markers = 0;
  const colours = new Set();
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker && l.pmIndex !== undefined) {
      markers++;
      colours.add(l.options.fillColor);
    }
  });
  const canvas = document.querySelector('.leaflet-overlay-pane canvas');
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  return {leaflet: typeof L, markers, painted, colours: colours.size,
          height: document.getElementById('map_div').getBoundingClientRect().height};
}"""


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory) -> Iterator[str]:
    """The app on a free localhost port (started only when there is a browser to drive it)."""
    folder = tmp_path_factory.mktemp("app")
    env = {"PLANNER_SCENARIOS_DIR": str(folder / "scenarios")}
    with streamlit_server(ROOT / "app.py", cwd=ROOT, env=env, log=folder / "streamlit.log") as url:
        yield url


def open_offline(browser: object, url: str) -> tuple[object, dict[str, list[str]]]:
    """A page whose every request beyond localhost is aborted (and recorded)."""
    page, seen = offline_page(browser, width=1400, height=1000)
    page.goto(url, timeout=60_000)
    return page, seen


def ready_map(page: object) -> tuple[object, object]:
    """The map component's iframe element and frame, once Leaflet has drawn in it."""
    element = page.wait_for_selector(MAP_FRAME, timeout=120_000)
    frame = element.content_frame()
    frame.wait_for_function(MAP_READY, timeout=120_000)
    return element, frame


def page_trouble(page: object) -> list[str]:
    """Error boxes and tracebacks on the page."""
    body = page.inner_text("body")
    found = [t for t in ("Traceback", "Something unexpected went wrong") if t in body]
    found += page.locator('[data-testid="stException"]').all_inner_texts()
    found += page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    return found


def test_data_then_plan_then_map_offline(browser, server):
    # The server's first page request is a deep link: it must still run app.py first.
    page, seen = open_offline(browser, f"{server}/plan")
    page.get_by_text("No plan yet: press Solve.").wait_for(timeout=120_000)
    assert page_trouble(page) == []

    page.goto(server, timeout=60_000)
    page.get_by_text("Validation reports").wait_for(timeout=120_000)
    _, data_frame = ready_map(page)
    assert data_frame.evaluate(MAP_FACTS)["markers"] == 710

    page.get_by_role("link", name="Plan").click()
    page.get_by_role("button", name="Solve").wait_for(timeout=60_000)
    limit = page.get_by_label("Time limit (s)")
    limit.fill("1")
    limit.press("Tab")
    page.get_by_text("Reproducible").click()  # off: a 1 s wall-clock limit
    page.get_by_role("button", name="Solve").click()
    page.get_by_text("Audit passed").wait_for(timeout=240_000)
    element, frame = ready_map(page)
    frame.wait_for_function("() => window.map_div !== undefined", timeout=60_000)
    facts = frame.evaluate(MAP_FACTS)
    box = element.bounding_box()
    element.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_plan.png"), full_page=True)

    assert page_trouble(page) == []
    assert seen["errors"] == []
    assert all(urlparse(u).hostname not in LOCAL_HOSTS for u in seen["blocked"])
    assert facts["leaflet"] == "object"
    # Every asset is drawn, booked ones once per campaign, in the campaigns' colours.
    assert facts["markers"] >= 710 and facts["painted"] > 1000
    assert facts["colours"] >= 3
    assert box["height"] > 100 and facts["height"] > 100
    assert page.get_by_text("Council revenue").first.is_visible()
    page.close()
