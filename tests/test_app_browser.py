"""The app in a real headless Chromium, offline: data page, then solve, then the plan's map.

Starts ``streamlit run app.py`` on a free localhost port and aborts every request that
leaves localhost, so the map must draw from the app's own (inlined) Leaflet.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
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
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode}")
        health = f"{url}/_stcore/health"
        with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer at {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    port = free_port()
    folder = tmp_path_factory.mktemp("app")
    env = {
        **os.environ,
        "PLANNER_SCENARIOS_DIR": str(folder / "scenarios"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log = (folder / "streamlit.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chrome
        chrome.close()


def open_offline(browser: object, url: str) -> tuple[object, dict[str, list[str]]]:
    """A page whose every request beyond localhost is aborted (and recorded)."""
    seen: dict[str, list[str]] = {"blocked": [], "errors": []}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def route(r: object) -> None:
        if urlparse(r.request.url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
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
