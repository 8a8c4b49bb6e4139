"""Folium maps of assets, sensitive sites, exclusion zones, demand and plans.

The only module that imports folium. Layers are drawn on a canvas by the planner's own
script (``planner/maps/maps.js``) from compact JSON, so 50,000 assets stay a few megabytes,
and Leaflet is inlined from installed packages (`planner.maps.web_resources`) so maps work offline.
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import branca
import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from planner.errors import PlannerError
from planner.maps import web_resources as mapassets
from planner.maps.layers import (
    CAMPAIGN_PALETTE,
    as_wgs84,
    bounds_of,
    choropleth,
    feature_collection,
    safe_json,
)
from planner.maps.view import AssetView, asset_view
from planner.styles import (
    EXCLUSION_FILL_COLOUR,
    EXCLUSION_FILL_OPACITY,
    EXCLUSION_LEGEND_FILL,
    EXCLUSION_LINE_COLOUR,
    SITE_FILL_COLOUR,
    SITE_FILL_OPACITY,
    SITE_LINE_COLOUR,
)

__all__ = ["OFFLINE_NOTE", "OSM_ATTRIBUTION", "asset_map", "localise_map", "map_html", "save_map"]

OFFLINE_NOTE = "Base map tiles unavailable (offline) — layers drawn on a plain background"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_UK_CENTRE = (54.0, -2.5)
_ZONE_FIELDS = {"name": "Zone", "zone_id": "Zone id", "population": "Population"}

_CSS = """
.pm-popup { font: 13px/1.35 system-ui, sans-serif; min-width: 220px; }
.pm-title { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
.pm-table { border-collapse: collapse; }
.pm-table th { text-align: left; font-weight: normal; color: #555;
  padding: 1px 10px 1px 0; vertical-align: top; }
.pm-table td { padding: 1px 0; }
.pm-head { font-weight: 600; margin-top: 6px; }
.pm-sub { margin-top: 2px; }
.pm-list { margin: 2px 0 0 18px; padding: 0; }
.pm-refused { color: #a50f15; }
.pm-legend { background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font: 12px/1.45 system-ui, sans-serif;
  max-height: 75vh; max-width: 45vw; overflow-y: auto; }
.pm-legend .pm-head:first-child { margin-top: 0; }
.pm-row { display: flex; align-items: center; gap: 6px; }
.pm-swatch { display: inline-block; width: 12px; height: 12px; border: 2px solid;
  box-sizing: border-box; flex: none; }
.pm-circle { border-radius: 50%; }
.pm-note { background: #fff8e1; border: 1px solid #d9a400; padding: 4px 8px;
  border-radius: 4px; font: 12px/1.3 system-ui, sans-serif; max-width: 40vw; }
.leaflet-container.pm-plain { background: #f2f0eb; }
"""


class _Support(JSCSSMixin, MacroElement):
    """The planner's map script (a ``data:`` URI, so Streamlit's component loads it too)."""

    _template = Template(
        "{% macro header(this, kwargs) %}<style>" + _CSS + "</style>{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PlannerSupport"
        self.default_js = [("planner_map", mapassets.planner_script())]
        self.default_css = []


class _Script(MacroElement):
    """A statement of JavaScript run once the map and earlier layers exist."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str, *, name: str = "PlannerScript") -> None:
        super().__init__()
        self._name = name
        self.code = code


class _JsLayer(Layer):
    """An overlay built by a ``PlannerMap`` function; listed in the layer control."""

    _template = Template(
        "{% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.call }};{% endmacro %}"
    )

    def __init__(self, call: str, *, name: str, show: bool = True) -> None:
        # Leaflet writes layer names into the control with innerHTML: escape them here.
        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "PlannerLayer"
        self.call = call


def _base_map(tiles: str) -> folium.Map:
    """Start a canvas-rendered map centred on Great Britain, with a scale bar and our script.

    With ``tiles == "osm"`` it has OpenStreetMap tiles, and the offline note
    (`OFFLINE_NOTE`) appears if they fail to load; with ``"none"`` the note shows from the
    start on a plain background, and the OpenStreetMap attribution is added anyway.
    """
    m = folium.Map(
        location=_UK_CENTRE, zoom_start=6, tiles=None, prefer_canvas=True, control_scale=True
    )
    layer = folium.TileLayer("OpenStreetMap", control=False).add_to(m) if tiles == "osm" else None
    m.add_child(_Support(), name="planner_support")
    args = ", ".join(
        [m.get_name(), layer.get_name() if layer else "null", safe_json(OFFLINE_NOTE),
         safe_json(OSM_ATTRIBUTION)]
    )  # fmt: skip
    m.add_child(_Script(f"PlannerMap.tileNote({args});"))
    return m


def _feature_layer(m: folium.Map, fc: dict, spec: dict, *, name: str, show: bool = True) -> None:
    """Add an overlay drawn by ``PlannerMap.featureLayer`` from a FeatureCollection.

    ``spec`` holds the popup ``title`` and ``fields`` (labels in the order of each
    feature's ``p``), the Leaflet ``style``, optional ``colours`` (fill per class index
    ``c``) and ``point`` (circle-marker options for point features).
    """
    call = f"PlannerMap.featureLayer({safe_json(fc)}, {safe_json(spec)})"
    m.add_child(_JsLayer(call, name=name, show=show))


def _add_zones(m: folium.Map, zones: gpd.GeoDataFrame) -> dict:
    """Add the demand choropleth (quantile classes of ``population``); return its legend.

    Zones without a ``population`` column all fall in "no data". Polygons are simplified
    by 10 m.
    """
    index, classes = choropleth(zones.get("population", pd.Series(float("nan"), zones.index)))
    spec = {
        "title": "Demand zone",
        "fields": list(_ZONE_FIELDS.values()),
        "colours": [c.colour for c in classes],
        "style": {"color": "#777777", "weight": 0.6, "fillOpacity": 0.45},
        "point": {"radius": 5},
    }
    fc = feature_collection(zones, fields=_ZONE_FIELDS, classes=index, tolerance_m=10.0)
    _feature_layer(m, fc, spec, name="Demand (population)")
    items = [{"label": c.label, "colour": c.colour, "shape": "square"} for c in classes if c.count]
    return {"title": "Population per zone", "items": items}


def _add_reach(m: folium.Map, zones: gpd.GeoDataFrame, reach: pd.DataFrame) -> None:
    """Add a hidden layer per campaign of the zones it reaches (the first 12 campaigns).

    Raises
    ------
    PlannerError
        When ``reach`` lacks ``campaign_id`` or ``zone_id``, or ``zones`` lacks
        ``zone_id``.
    """
    missing = [c for c in ("campaign_id", "zone_id") if c not in reach.columns]
    if missing or "zone_id" not in zones.columns:
        raise PlannerError(
            "'reach' needs columns campaign_id and zone_id, and 'zones' a zone_id column; "
            f"missing {', '.join(missing) or 'zones.zone_id'}."
        )
    zone_ids = zones["zone_id"].astype(str)
    campaigns = list(dict.fromkeys(reach["campaign_id"].astype(str)))[: len(CAMPAIGN_PALETTE)]
    for colour, campaign in zip(CAMPAIGN_PALETTE, campaigns, strict=False):
        chosen = reach["campaign_id"].astype(str) == campaign
        subset = zones[zone_ids.isin(set(reach.loc[chosen, "zone_id"].astype(str)))]
        spec = {
            "title": f"Reached by {campaign}",
            "fields": list(_ZONE_FIELDS.values()),
            "style": {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.25},
            "point": {"radius": 6},
        }
        fc = feature_collection(subset, fields=_ZONE_FIELDS, tolerance_m=10.0)
        _feature_layer(m, fc, spec, name=f"Reach: {campaign}", show=False)


def _add_exclusions(
    m: folium.Map, zones: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None
) -> dict | None:
    """Add one dashed red layer per rule of its exclusion zones; return the legend section.

    Popups give the rule, its categories, the distance in metres, the kind of site and,
    when ``sites`` has ``site_id`` and ``name``, the site's name.

    Raises
    ------
    PlannerError
        When ``zones`` lacks ``rule_id`` (not the output of
        `planner.policy.eligibility.exclusion_zones`).
    """
    if "rule_id" not in zones.columns:
        raise PlannerError("'exclusion_zones' lacks column rule_id; pass planner exclusion zones.")
    zones = zones.copy()
    if sites is not None and {"site_id", "name"} <= set(sites.columns) and "site_id" in zones:
        names = dict(zip(sites["site_id"].astype(str), sites["name"], strict=False))
        zones["site_name"] = zones["site_id"].astype(str).map(names)
    fields = {"rule_id": "Rule", "categories": "Categories", "within_m": "Within (m)",
              "kind": "Near", "site_name": "Site", "site_id": "Site id"}  # fmt: skip
    spec = {
        "title": "Exclusion zone",
        "fields": list(fields.values()),
        "style": {"color": EXCLUSION_LINE_COLOUR, "weight": 1, "dashArray": "4 3",
                  "fillColor": EXCLUSION_FILL_COLOUR, "fillOpacity": EXCLUSION_FILL_OPACITY},
    }  # fmt: skip
    for rule, rows in zones.groupby(zones["rule_id"].astype(str), sort=True):
        # types-geopandas types the groups as DataFrames; groups of a GeoDataFrame are GeoDataFrames
        fc = feature_collection(rows, fields=fields, tolerance_m=2.0)  # type: ignore[arg-type]
        _feature_layer(m, fc, spec, name=f"Exclusion zone: {rule}")
    item = {"label": "exclusion zone", "colour": EXCLUSION_LINE_COLOUR,
            "fill": EXCLUSION_LEGEND_FILL, "shape": "square"}  # fmt: skip
    return {"title": "Policy", "items": [item]}


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame) -> dict:
    """Add the sensitive sites in purple (name, kind, id in popups); return its legend item."""
    fields = {"name": "Name", "kind": "Kind", "site_id": "Site id"}
    spec = {
        "title": "Sensitive site",
        "fields": list(fields.values()),
        "style": {
            "color": SITE_LINE_COLOUR,
            "weight": 1.5,
            "fillColor": SITE_FILL_COLOUR,
            "fillOpacity": SITE_FILL_OPACITY,
        },
        "point": {"radius": 5},
    }
    _feature_layer(m, feature_collection(sites, fields=fields), spec, name="Sensitive sites")
    return {
        "label": "sensitive site",
        "colour": SITE_LINE_COLOUR,
        "fill": SITE_FILL_COLOUR,
        "count": len(sites),
    }


_DRAW_ORDER = ("none", "other", "campaign", "value", "eligible", "available", "unavailable",
               "restricted", "booked")  # fmt: skip


def _add_assets(m: folium.Map, view: AssetView, *, color_by: str) -> dict:
    """Add the assets: their payload once, then one canvas layer per class; return the legend.

    Booked assets and campaigns are drawn larger (radius 6 px, else 4.5) and on top.
    """
    data = _Script("", name="PlannerAssets")
    data.code = f"var {data.get_name()} = {safe_json(view.data)};"  # the name needs the id
    m.add_child(data)
    layers = []
    for k, c in enumerate(view.classes):
        emphasis = c.key in ("booked", "campaign", "other")
        style = {"radius": 6 if emphasis else 4.5, "fillColor": c.colour}
        call = f"PlannerMap.assetLayer({data.get_name()}, {k}, {safe_json(style)})"
        layers.append(_JsLayer(call, name=f"Assets: {c.label} ({c.count:,})", show=False))
        m.add_child(layers[-1])
    # Canvas draws in the order layers are added: plain assets first, so booked, restricted
    # and small campaigns stay on top (stable sort: campaigns keep largest-first).
    order = sorted(range(len(layers)), key=lambda k: _DRAW_ORDER.index(view.classes[k].key))
    names = ", ".join(layers[k].get_name() for k in order)
    m.add_child(_Script(f"[{names}].forEach(l => l.addTo({m.get_name()}));"))
    items = [{"label": c.label, "colour": c.colour, "count": c.count} for c in view.classes]
    return {"title": _TITLES[color_by], "items": items}


#: The asset legend's title for each ``color_by``.
_TITLES = {
    "status": "Assets by status",
    "campaign": "Assets by campaign",
    "value": "Assets by annual value (central estimate, a year)",
}


def _layer_control_last(m: folium.Map) -> None:
    """Keep one layer control, rendered after every layer it lists."""
    keys = [k for k, child in m._children.items() if isinstance(child, folium.LayerControl)]
    if not keys:
        m.add_child(folium.LayerControl(collapsed=True))
        return
    for key in keys:
        m._children.move_to_end(key)


def asset_map(
    assets: gpd.GeoDataFrame,
    *,
    sites: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    eligibility: pd.DataFrame | None = None,
    exclusion_zones: gpd.GeoDataFrame | None = None,
    placements: pd.DataFrame | None = None,
    values: pd.DataFrame | None = None,
    reach: pd.DataFrame | None = None,
    color_by: str = "status",
    category: str | None = None,
    m: folium.Map | None = None,
    assets_mode: str | None = None,
    tiles: str | None = None,
) -> folium.Map:
    """Draw assets by status or campaign, with sites, exclusion zones and demand.

    Every frame is reprojected to EPSG:4326 for the map, without changing the caller's
    (as geopandas' ``explore`` does). Assets are circles on canvas layers drawn by the
    planner's script from one compact JSON payload, so 50,000 assets stay a few megabytes.

    Parameters
    ----------
    assets
        Assets (data contract); each is a circle on a canvas layer, one layer per colour.
    sites
        Sensitive sites, drawn in purple.
    zones
        Demand zones, a choropleth of ``population`` in quantile classes.
    eligibility
        ``asset_id, category, allowed, reasons, rule_ids`` (from
        `planner.policy.eligibility.eligibility`); popups list every refusal and its reason.
    exclusion_zones
        ``rule_id`` plus polygons (`planner.policy.eligibility.exclusion_zones`), a layer per rule.
    placements
        ``asset_id, campaign_id`` (optional ``campaign_name, cycle, category``): booked
        assets, listed in popups.
    values
        Per asset ``weekly_impacts, impacts_source, price_per_cycle, currency,
        annual_value_central``; modelled impacts are labelled "modelled estimate".
    reach
        ``campaign_id, zone_id`` pairs: a hidden layer per campaign of the zones it reaches.
    color_by
        ``"status"`` (booked, eligible, restricted, unavailable), ``"campaign"`` or
        ``"value"`` (up to five classes of ``values["annual_value_central"]``, growing by
        a constant ratio).
    category
        Colour eligibility for this advertiser category; None: restricted when any
        category is refused.
    m
        Add the layers to this map instead of a new one (``tiles`` is then ignored).
    assets_mode
        ``"auto"``, ``"local"`` or ``"cdn"`` (see `planner.maps.web_resources.resolve_assets_mode`);
        None reads ``$PLANNER_MAP_ASSETS``, defaulting to ``"auto"``.
    tiles
        ``"auto"``, ``"osm"`` or ``"none"``; None reads ``$PLANNER_MAP_TILES``. Without
        tiles the map shows a plain background and says so.

    Returns
    -------
    folium.Map
        Fitted to the assets (else the other layers; zoom at most 17), with a legend and
        a layer control, its scripts localised as ``assets_mode`` says.

    Raises
    ------
    PlannerError
        When a frame is not a GeoDataFrame or has no CRS; a table lacks a needed column
        (``asset_id``; ``allowed`` and ``category`` in ``eligibility``; ``campaign_id``
        in ``placements`` when colouring by campaign; ``rule_id`` in
        ``exclusion_zones``; ``campaign_id`` and ``zone_id`` in ``reach``); ``values``
        has two rows for one asset; ``category`` is not in the eligibility table;
        ``color_by``, ``assets_mode`` or ``tiles`` (or their environment variables) is
        not a valid choice.

    Examples
    --------
    >>> m = asset_map(assets, sites=sites, eligibility=elig, category="alcohol")
    >>> save_map(m, "alcohol.html")
    """
    mode = mapassets.resolve_assets_mode(assets_mode)
    assets = as_wgs84(assets, "assets")
    sites, zones = as_wgs84(sites, "sites"), as_wgs84(zones, "zones")
    exclusion_zones = as_wgs84(exclusion_zones, "exclusion_zones")
    view = asset_view(
        assets, eligibility=eligibility, placements=placements, values=values,
        color_by=color_by, category=category,
    )  # fmt: skip
    if m is None:
        m = _base_map(mapassets.resolve_tiles(tiles))
    else:
        m.add_child(_Support(), name="planner_support")
    sections = []
    if zones is not None and len(zones):
        sections.append(_add_zones(m, zones))
        if reach is not None and len(reach):
            _add_reach(m, zones, reach)
    policy = _add_exclusions(m, exclusion_zones, sites) if exclusion_zones is not None else None
    if sites is not None and len(sites):
        policy = policy or {"title": "Policy", "items": []}
        policy["items"].append(_add_sites(m, sites))
    sections.insert(0, _add_assets(m, view, color_by=color_by))
    if policy:
        sections.insert(1, policy)
    m.add_child(_Script(f"PlannerMap.legend({m.get_name()}, {safe_json(sections)});"))
    _layer_control_last(m)
    bounds = bounds_of([assets]) or bounds_of([sites, zones, exclusion_zones])
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20), max_zoom=17)
    localise_map(m, assets_mode=mode)
    return m


def _walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and all its descendants, depth first."""
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _features(elements: list[Element]) -> frozenset[str]:
    """Find the optional folium page resources the map's elements really use.

    ``"jquery"`` for a `folium.Popup` or a layer control keeping layers in front,
    ``"icons"`` for a `folium.Icon`; the planner's own layers need neither.
    """
    found = set()
    for el in elements:
        if isinstance(el, folium.Popup) or getattr(el, "objects_to_stay_in_front", None):
            found.add("jquery")
        if isinstance(el, folium.Icon):
            found.add("icons")
    return frozenset(found)


def localise_map(m: folium.Map, *, assets_mode: str | None = None) -> list[str]:
    """Point every script and stylesheet of ``m`` at local copies; return those left remote.

    Leaflet (and marker clustering) come from the XStatic packages as ``data:`` URIs;
    folium's jQuery, Bootstrap and icon fonts are dropped unless an element needs them.
    In ``"local"`` mode a resource that no installed package provides triggers a warning.
    Links are changed on each element instance, never on folium's classes.

    Parameters
    ----------
    m
        The map; changed in place.
    assets_mode
        ``"auto"``, ``"local"`` or ``"cdn"`` (nothing changes); None reads
        ``$PLANNER_MAP_ASSETS``, defaulting to ``"auto"``.

    Returns
    -------
    list of str
        URLs still loaded from a CDN (e.g. d3 for a branca colormap legend); empty in
        ``"cdn"`` mode.

    Raises
    ------
    PlannerError
        When ``assets_mode`` or ``$PLANNER_MAP_ASSETS`` is not a valid choice.

    Warns
    -----
    UserWarning
        In ``"local"`` mode, listing the resources left on their CDN.

    Examples
    --------
    >>> localise_map(m, assets_mode="local")
    []
    """
    mode = mapassets.resolve_assets_mode(assets_mode)
    if mode == "cdn":
        return []
    elements = list(_walk(m.get_root()))
    features = _features(elements)
    remote: list[str] = []
    for el in elements:
        if isinstance(el, branca.colormap.ColorMap):
            remote.append("https://cdnjs.cloudflare.com/ajax/libs/d3/ (branca colormap legend)")
        if isinstance(el, JSCSSMixin):
            js = mapassets.localise_links(el.default_js, mode=mode, features=features)
            css = mapassets.localise_links(el.default_css, mode=mode, features=features)
            el.default_js, el.default_css = js.links, css.links  # per instance, not the class
            remote += js.remote + css.remote
    remote = list(dict.fromkeys(remote))
    if remote and mode == "local":
        warnings.warn(
            "map resources not available from installed packages stay on their CDN: "
            + ", ".join(remote),
            stacklevel=2,
        )
    return remote


def map_html(m: folium.Map, *, assets_mode: str | None = None) -> str:
    """Render the map as one standalone HTML page, its libraries inlined unless mode is ``cdn``.

    Parameters
    ----------
    m
        The map (localised in place first, see `localise_map`).
    assets_mode
        As for `localise_map`.

    Returns
    -------
    str
        The whole page, e.g. for ``streamlit.components.v1.html``.

    Raises
    ------
    PlannerError
        When ``assets_mode`` or ``$PLANNER_MAP_ASSETS`` is not a valid choice.

    Examples
    --------
    >>> st.components.v1.html(map_html(m), height=600)  # doctest: +SKIP
    """
    localise_map(m, assets_mode=assets_mode)
    return m.get_root().render()


def save_map(
    m: folium.Map, path: str | os.PathLike[str], *, assets_mode: str | None = None
) -> Path:
    """Write the map as a standalone HTML file (atomically) that opens offline.

    The page is written to a temporary file beside ``path`` and renamed over it, so an
    error never leaves half a map; missing folders are created.

    Parameters
    ----------
    m
        The map.
    path
        Output ``.html`` file.
    assets_mode
        As for `localise_map`; ``"cdn"`` pages need the network to open.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PlannerError
        When ``assets_mode`` or ``$PLANNER_MAP_ASSETS`` is not a valid choice.
    OSError
        When the file cannot be written (shown as a plain message by the CLI).

    Examples
    --------
    >>> save_map(asset_map(assets), "out/assets.html")
    PosixPath('out/assets.html')
    """
    from planner.io.readers import atomic_path

    text = map_html(m, assets_mode=assets_mode)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
