"""Where a map's scripts, stylesheets and base tiles come from: installed packages or CDNs.

Leaflet and its plugins are read from XStatic packages and inlined as ``data:`` URIs, so a
map works on networks that block CDNs and in files sent by email. No folium import here.
"""

from __future__ import annotations

import base64
import importlib
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from planner.errors import PlannerError

__all__ = [
    "ASSETS_ENV",
    "ASSETS_MODES",
    "TILES_ENV",
    "TILES_MODES",
    "LinkPlan",
    "data_uri",
    "local_resource",
    "localise_links",
    "planner_script",
    "resolve_assets_mode",
    "resolve_tiles",
    "tiles_reachable",
]

ASSETS_ENV = "PLANNER_MAP_ASSETS"
TILES_ENV = "PLANNER_MAP_TILES"
ASSETS_MODES = ("auto", "local", "cdn")
TILES_MODES = ("auto", "osm", "none")
TILE_HOST = "tile.openstreetmap.org"

# Resource name as folium and its plugins call it -> (XStatic package, file in its data/).
_LOCAL_FILES: dict[str, tuple[str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "leaflet.js"),
    "leaflet_css": ("xstatic.pkg.leaflet", "leaflet.css"),
    "markerclusterjs": ("xstatic.pkg.leaflet_markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("xstatic.pkg.leaflet_markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("xstatic.pkg.leaflet_markercluster", "MarkerCluster.Default.css"),
}
_BY_FILENAME = {file: name for name, (_, file) in _LOCAL_FILES.items()}

# folium's default page resources that only some elements use: resource -> the feature
# that needs it ("jquery": folium.Popup / keep_in_front; "icons": folium.Icon markers).
_OPTIONAL: dict[str, str] = {
    "jquery": "jquery",
    "bootstrap": "icons",
    "bootstrap_css": "icons",
    "glyphicons_css": "icons",
    "awesome_markers": "icons",
    "awesome_markers_font_css": "icons",
    "awesome_markers_css": "icons",
    "awesome_rotate_css": "icons",
}

_MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
_CSS_URL = re.compile(r"url\((['\"]?)(?!data:|#|https?:)([^)'\"]+)\1\)")
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)


def _choose(value: str | None, env: str, modes: tuple[str, ...], argument: str) -> str:
    """Return ``value``, else the environment variable ``env`` (lower-cased), else ``"auto"``.

    Raises
    ------
    PlannerError
        When the choice is not one of ``modes``; the message names the argument or the
        environment variable, the valid choices, and (for the variable) to unset it.
    """
    chosen = value if value is not None else os.environ.get(env, "").strip().lower() or "auto"
    if chosen not in modes:
        origin = f"{argument}={value!r}" if value is not None else f"environment variable {env}"
        raise PlannerError(
            f"{origin}: {chosen!r} is not a valid choice. Use one of {', '.join(modes)}"
            + ("" if value is not None else f", or unset {env}")
            + "."
        )
    return chosen


def resolve_assets_mode(mode: str | None = None) -> str:
    """Choose the asset mode: the argument, else ``$PLANNER_MAP_ASSETS``, else ``"auto"``.

    ``local`` inlines every library from installed packages and warns about any that cannot
    be; ``auto`` does the same silently, leaving only unknown plugins on their CDN; ``cdn``
    keeps folium's CDN links untouched.

    Parameters
    ----------
    mode
        ``"auto"``, ``"local"``, ``"cdn"`` or None (read the environment variable).

    Returns
    -------
    str
        One of `ASSETS_MODES`.

    Raises
    ------
    PlannerError
        When the argument or ``$PLANNER_MAP_ASSETS`` is not one of `ASSETS_MODES`.

    Examples
    --------
    >>> resolve_assets_mode("local")
    'local'
    """
    return _choose(mode, ASSETS_ENV, ASSETS_MODES, "assets_mode")


def resolve_tiles(tiles: str | None = None) -> str:
    """Choose the base tiles, ``"osm"`` or ``"none"``.

    The argument, else ``$PLANNER_MAP_TILES``, else ``"auto"``: OpenStreetMap when its
    tile server answers within a second (checked at most every 5 minutes, see
    `tiles_reachable`), else none.

    Parameters
    ----------
    tiles
        ``"auto"``, ``"osm"``, ``"none"`` or None (read the environment variable).

    Returns
    -------
    str
        ``"osm"`` or ``"none"``; ``"auto"`` is resolved here.

    Raises
    ------
    PlannerError
        When the argument or ``$PLANNER_MAP_TILES`` is not one of `TILES_MODES`.

    Examples
    --------
    >>> resolve_tiles("none")
    'none'
    """
    chosen = _choose(tiles, TILES_ENV, TILES_MODES, "tiles")
    if chosen != "auto":
        return chosen
    return "osm" if tiles_reachable() else "none"


@dataclass
class _Probe:
    """The last answer of the tile-server probe, shared by every map in the process.

    Attributes
    ----------
    checked_at
        `time.monotonic` seconds of the last check (long ago at first).
    answer
        Whether the server accepted a connection then.
    lock
        Serialises checks, so concurrent maps (e.g. Streamlit sessions) probe once.
    """

    checked_at: float = -1e9
    answer: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_PROBE = _Probe()
_PROBE_TTL_S = 300.0


def tiles_reachable(*, host: str = TILE_HOST, timeout_s: float = 1.0) -> bool:
    """Tell whether the tile server accepts a TCP connection within ``timeout_s`` (cached 5 min).

    The check runs in a daemon thread so a slow DNS lookup cannot hold the caller longer
    than ``timeout_s`` (plus 0.2 s). The answer is cached for every host alike.

    Parameters
    ----------
    host
        Server to connect to on port 443 (default ``tile.openstreetmap.org``).
    timeout_s
        Seconds to wait for the connection.

    Returns
    -------
    bool
        True when the connection succeeded; False on any `OSError` or timeout.

    Examples
    --------
    >>> tiles_reachable()  # doctest: +SKIP
    True
    """
    with _PROBE.lock:
        if time.monotonic() - _PROBE.checked_at < _PROBE_TTL_S:
            return _PROBE.answer
        result: list[bool] = []

        def connect() -> None:
            try:
                with socket.create_connection((host, 443), timeout=timeout_s):
                    result.append(True)
            except OSError:
                result.append(False)

        worker = threading.Thread(target=connect, daemon=True)
        worker.start()
        worker.join(timeout_s + 0.2)
        _PROBE.answer = bool(result and result[0])
        _PROBE.checked_at = time.monotonic()
        return _PROBE.answer


def data_uri(content: str | bytes, mime: str) -> str:
    """Wrap ``content`` in a base64 ``data:`` URI.

    Parameters
    ----------
    content
        Text (encoded as UTF-8) or bytes.
    mime
        MIME type, e.g. ``"text/javascript"`` or ``"image/png"``.

    Returns
    -------
    str
        ``data:<mime>;base64,<content>``.

    Examples
    --------
    >>> data_uri("a{}", "text/css")
    'data:text/css;base64,YXt9'
    """
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _package_dir(package: str) -> Path | None:
    """Return an XStatic package's data folder (its ``BASE_DIR``), or None when not installed."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    return Path(module.BASE_DIR)


def _inline_css_urls(css: str, folder: Path) -> str:
    """Replace relative ``url(...)`` references (Leaflet's control images) by data URIs."""

    def replace(match: re.Match[str]) -> str:
        target = folder / match.group(2)
        mime = _MIME.get(target.suffix.lower())
        if mime is None or not target.is_file():
            return match.group(0)
        return f"url({data_uri(target.read_bytes(), mime)})"

    return _CSS_URL.sub(replace, css)


@cache
def local_resource(name: str) -> str | None:
    """Return the ``data:`` URI of a known library file from its installed package, else None.

    Stylesheet images are inlined too; source-map comments are dropped so browsers never
    ask for them. Cached for the life of the process.

    Parameters
    ----------
    name
        Folium's resource name: ``"leaflet"`` and ``"leaflet_css"`` (XStatic-Leaflet),
        ``"markerclusterjs"``, ``"markerclustercss"`` and ``"markerclusterdefaultcss"``
        (XStatic-Leaflet-MarkerCluster).

    Returns
    -------
    str or None
        The file as a ``data:`` URI; None for another name, or when the package or file
        is not installed.

    Examples
    --------
    >>> local_resource("leaflet")[:30]
    'data:text/javascript;base64,LyogQHByZXNl'
    """
    if name not in _LOCAL_FILES:
        return None
    package, filename = _LOCAL_FILES[name]
    folder = _package_dir(package)
    if folder is None or not (folder / filename).is_file():
        return None
    text = (folder / filename).read_text(encoding="utf-8")
    if filename.endswith(".css"):
        text = _inline_css_urls(text, folder)
    text = _SOURCE_MAP.sub("", text)
    return data_uri(text, _MIME[Path(filename).suffix])


@cache
def planner_script() -> str:
    """Return the ``data:`` URI of the planner's own map script (``planner/maps/maps.js``).

    The script defines ``window.PlannerMap`` (``assetLayer``, ``assetPopup``,
    ``featureLayer``, ``legend``, ``tileNote``), which the map's layers call. It ships as
    package data and is read with `importlib.resources`; cached for the process.

    Returns
    -------
    str
        ``data:text/javascript;base64,...``; a ``data:`` URI, so Streamlit's HTML
        component loads it too.
    """
    text = resources.files("planner.maps").joinpath("maps.js").read_text(encoding="utf-8")
    return data_uri(text, "text/javascript")


@dataclass(frozen=True)
class LinkPlan:
    """What to load for one element's resources.

    Attributes
    ----------
    links
        ``(name, url)`` pairs to keep, local ones as ``data:`` URIs.
    remote
        URLs left on a CDN because no installed package provides them.
    """

    links: list[tuple[str, str]]
    remote: list[str]


def _local_name(name: str, url: str) -> str | None:
    """Return the `_LOCAL_FILES` name of a resource: by its folium name, else by its file name."""
    if name in _LOCAL_FILES:
        return name
    return _BY_FILENAME.get(url.rsplit("/", 1)[-1].split("?", 1)[0])


def localise_links(
    links: list[tuple[str, str]], *, mode: str, features: frozenset[str] = frozenset()
) -> LinkPlan:
    """Swap CDN links for local ``data:`` URIs and drop optional resources nobody uses.

    Parameters
    ----------
    links
        An element's ``(name, url)`` resource pairs, as folium's ``default_js`` or
        ``default_css``.
    mode
        ``"local"`` or ``"auto"`` (``"cdn"`` returns the links unchanged).
    features
        Optional features the map uses: ``"jquery"`` (folium popups) and ``"icons"``
        (folium's awesome-marker icons); their resources are kept.

    Returns
    -------
    LinkPlan
        The links to keep, in order (``data:`` links unchanged), and the URLs left on
        their CDN because no installed package provides them.

    Examples
    --------
    >>> plan = localise_links([("leaflet", "https://cdn/leaflet.js")], mode="local")
    >>> plan.links[0][1].startswith("data:text/javascript")
    True
    """
    if mode == "cdn":
        return LinkPlan(list(links), [])
    kept: list[tuple[str, str]] = []
    remote: list[str] = []
    for name, url in links:
        if url.startswith("data:"):
            kept.append((name, url))
            continue
        local = _local_name(name, url)
        uri = local_resource(local) if local else None
        if uri is not None:
            kept.append((name, uri))
        elif name in _OPTIONAL and _OPTIONAL[name] not in features:
            continue
        else:
            kept.append((name, url))
            remote.append(url)
    return LinkPlan(kept, remote)
