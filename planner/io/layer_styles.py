"""QGIS layer styles for the planner's GeoPackages: the ``layer_styles`` table read on open.

QGIS looks for a table named ``layer_styles`` in a GeoPackage and applies the default
style it finds for each layer, so the planner's layers open coloured as on its Folium
maps (`planner.styles` holds the one palette): placements by campaign, assets by status
or by annual value, demand zones by population, exclusion zones hatched, sensitive sites
by kind. Each style is stored twice, as QGIS's own QML and as OGC SLD 1.1 (for GeoServer
and other SLD readers); tables without geometry get a QML of their field aliases only.
The XML is built with the standard library's `xml.etree.ElementTree`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner.schema import SITE_KINDS
from planner.styles import (
    ASSET_FILL_OPACITY,
    ASSET_OUTLINE_COLOUR,
    CAMPAIGN_PALETTE,
    EXCLUSION_FILL_COLOUR,
    EXCLUSION_FILL_OPACITY,
    EXCLUSION_LINE_COLOUR,
    NO_DATA_COLOUR,
    OTHER_COLOUR,
    SITE_FILL_COLOUR,
    SITE_FILL_OPACITY,
    SITE_LINE_COLOUR,
    STATUS_COLOURS,
    STATUS_LABELS,
    class_colours,
)

__all__ = ["STYLE_TABLE", "LayerStyle", "layer_style", "style_table", "write_layer_styles"]

#: The table QGIS reads styles from (its OGR provider's name for it).
STYLE_TABLE = "layer_styles"
#: QGIS version whose QML dialect is written; QGIS 3.22 and later read it.
QGIS_VERSION = "3.22.16"
_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("sld", _SLD), ("se", _SE), ("ogc", _OGC), ("xsi", _XSI)):
    ET.register_namespace(_prefix, _uri)
#: Leaflet pixels (96 dpi) in millimetres, QGIS's unit for symbol sizes.
_MM_PER_PX = 25.4 / 96
#: Classes of a choropleth, as the maps draw demand zones.
_N_CLASSES = 7
#: Marker shapes for site kinds, in turn (QGIS name, SLD well-known name).
_SHAPES = (
    ("circle", "circle"),
    ("square", "square"),
    ("triangle", "triangle"),
    ("star", "star"),
    ("cross_fill", "cross"),
    ("cross2", "x"),
)
#: Columns holding an asset's annual value, first found first (`planner.value.valuation`).
_VALUE_COLUMNS = ("annual_value_central", "annual_value")


@dataclass(frozen=True)
class LayerStyle:
    """The style of one layer, as a row of the ``layer_styles`` table.

    Attributes
    ----------
    layer
        Layer (table) name.
    geometry_column
        The layer's geometry column in the GeoPackage (``"geom"``); ``""`` for a table
        without geometry.
    description
        What the style shows, e.g. ``"placements coloured by campaign"``.
    qml
        The QGIS style (QML document): symbology and field aliases.
    sld
        The same symbology as OGC SLD 1.1; ``""`` for a table without geometry.
    """

    layer: str
    geometry_column: str
    description: str
    qml: str
    sld: str


@dataclass(frozen=True)
class _Class:
    """One legend entry: features whose ``attr`` equals ``value`` or lies in ``low``-``high``.

    ``other`` marks the catch-all class ("all other values"); ``shape`` is an index into
    `_SHAPES`; ``last`` closes the range at ``high`` (else ``high`` is excluded).
    """

    label: str
    colour: str
    value: str | None = None
    low: float | None = None
    high: float | None = None
    last: bool = False
    other: bool = False
    shape: int = 0


@dataclass(frozen=True)
class _Design:
    """How a layer is drawn: the renderer, its field, its classes and the look of symbols."""

    renderer: str  # "categorizedSymbol", "graduatedSymbol" or "singleSymbol"
    attr: str
    classes: list[_Class]
    look: str  # "asset", "booked", "zone", "site", "exclusion" or "plain"
    description: str


def layer_style(name: str, frame: pd.DataFrame, *, geometry_column: str = "geom") -> LayerStyle:
    """Design the style of one layer from its columns, colours as on the planner's maps.

    The first rule that fits decides: a ``campaign_id`` column colours by campaign (the
    12 campaigns booking the most assets in `planner.styles.CAMPAIGN_PALETTE`, the rest
    "other campaigns"); ``rule_id`` on polygons is exclusion zones, hatched; ``site_id``
    and ``kind`` are sensitive sites, purple with one marker shape per kind; ``asset_id``
    with an annual value (``annual_value_central``) is graduated by value, and
    ``population`` by population, in 7 quantile classes of `planner.styles.YLORRD` (as
    the maps' choropleth); ``asset_id`` alone is coloured by ``status``; anything else
    gets one grey symbol.

    Parameters
    ----------
    name
        Layer name.
    frame
        The layer as written, shape (n_features, n_columns); a GeoDataFrame when it has
        geometry (its geometry types choose marker, line or fill symbols).
    geometry_column
        Name of the geometry column in the GeoPackage (pyogrio writes ``"geom"``).

    Returns
    -------
    LayerStyle
        The QML and SLD documents; a table without geometry gets a QML of field aliases
        only and no SLD.

    Examples
    --------
    >>> style = layer_style("placements", plan.placements)
    >>> style.description
    'placements coloured by campaign (12 most-booked campaigns, then "other campaigns")'
    """
    spatial = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    fields = [str(c) for c in frame.columns if not (spatial and c == frame.geometry.name)]
    if not spatial:
        qml = _qml(fields, None, None)
        return LayerStyle(name, "", "field aliases (a table without geometry)", qml, "")
    assert isinstance(frame, gpd.GeoDataFrame)
    symbols = _symbol_types(frame.geometry)
    design = _design(frame, symbols[0])
    return LayerStyle(
        name,
        geometry_column,
        design.description,
        _qml(fields, design, symbols),
        _sld(name, design, symbols),
    )


def style_table(styles: list[LayerStyle]) -> pd.DataFrame:
    """Return the rows of the ``layer_styles`` table, as QGIS writes them, one per layer.

    Parameters
    ----------
    styles
        One style per layer.

    Returns
    -------
    pandas.DataFrame
        Columns ``f_table_catalog``, ``f_table_schema`` (both ``""`` in a GeoPackage),
        ``f_table_name``, ``f_geometry_column``, ``styleName``, ``styleQML``,
        ``styleSLD``, ``useAsDefault`` (True), ``description``, ``owner``, ``ui`` and
        ``update_time`` (UTC, now).
    """
    now = pd.Timestamp(datetime.now(UTC))  # written as the GeoPackage's 2024-05-01T09:30:00.123Z
    return pd.DataFrame(
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": s.layer,
            "f_geometry_column": s.geometry_column,
            "styleName": s.layer,
            "styleQML": s.qml,
            "styleSLD": s.sld,
            "useAsDefault": True,
            "description": s.description,
            "owner": "",
            "ui": "",
            "update_time": now,
        }
        for s in styles
    )


def write_layer_styles(path: str | os.PathLike[str], layers: Mapping[str, pd.DataFrame]) -> None:
    """Add a ``layer_styles`` table with one default style per layer to a GeoPackage.

    Written through GDAL (registered in ``gpkg_contents`` as attributes, with an ``id``
    key, as QGIS itself creates it), so QGIS applies each style when the layer is opened.

    Parameters
    ----------
    path
        A GeoPackage holding ``layers`` (as just written by
        `planner.io.writers.write_layers`).
    layers
        ``{layer name: table}`` as written.
    """
    if STYLE_TABLE in layers:
        return  # a layer of the user's own has the name: leave it alone
    styles = [
        layer_style(
            name,
            frame,
            geometry_column=pyogrio.read_info(path, layer=name)["geometry_name"] or "",
        )
        for name, frame in layers.items()
    ]
    pyogrio.write_dataframe(
        style_table(styles),
        path,
        layer=STYLE_TABLE,
        driver="GPKG",
        append=True,
        layer_options={"FID": "id"},
    )


# --- design: which classes, which colours ---------------------------------------------------


def _symbol_types(geometry: gpd.GeoSeries) -> list[str]:
    """Return the symbol types the geometries need (``marker``, ``line``, ``fill``), most first.

    A layer mixing points and polygons (sites drawn as grounds where mapped) needs two.
    """
    type_ids = shapely.get_type_id(np.asarray(geometry.dropna(), dtype=object))
    kinds = pd.Series(type_ids).map(_SYMBOL_OF_TYPE).dropna()
    counts = kinds.value_counts(sort=False).sort_values(ascending=False, kind="stable")
    return [str(k) for k in counts.index] or ["marker"]


#: Symbol type by shapely geometry type id (points, lines and rings, polygons; multi too).
_SYMBOL_OF_TYPE = {0: "marker", 4: "marker", 1: "line", 2: "line", 5: "line", 3: "fill", 6: "fill"}


def _design(frame: gpd.GeoDataFrame, symbol: str) -> _Design:
    """Choose the renderer of a layer from its columns (see `layer_style`)."""
    design = _design_by_columns(frame, symbol)
    if design.classes:
        return design
    return _Design("singleSymbol", "", [_Class("features", OTHER_COLOUR)], "plain", "no rows")


def _design_by_columns(frame: gpd.GeoDataFrame, symbol: str) -> _Design:
    """Return the design the first fitting rule of `layer_style` gives."""
    columns = set(frame.columns)
    value = next((c for c in _VALUE_COLUMNS if c in columns), None)
    if "campaign_id" in columns:
        return _by_campaign(frame)
    if "rule_id" in columns and symbol == "fill":
        classes = [_Class("exclusion zone", EXCLUSION_LINE_COLOUR)]
        return _Design("singleSymbol", "", classes, "exclusion", "exclusion zones, hatched")
    if {"site_id", "kind"} <= columns:
        return _by_kind(frame)
    if "asset_id" in columns and value is not None:
        return _graduated(frame[value], value, "asset", f"assets by {value}")
    if "population" in columns:
        return _graduated(frame["population"], "population", "zone", "zones by population")
    if "asset_id" in columns:
        return _by_status(frame)
    return _Design("singleSymbol", "", [_Class("features", OTHER_COLOUR)], "plain", "one colour")


def _by_campaign(frame: pd.DataFrame) -> _Design:
    """Colour by campaign: the 12 booking the most assets first, as the maps do."""
    ids = frame["campaign_id"].astype(str)
    label_of = dict(zip(ids, _campaign_labels(frame), strict=True))
    assets = frame["asset_id"].astype(str) if "asset_id" in frame.columns else frame.index
    pairs = pd.DataFrame({"asset": np.asarray(assets), "id": ids.to_numpy()}).drop_duplicates()
    pairs["label"] = pairs["id"].map(label_of)
    sizes = pairs.groupby("label", sort=True).size().sort_values(ascending=False, kind="stable")
    by_label = {label: i for i, label in label_of.items()}
    top = list(sizes.index[: len(CAMPAIGN_PALETTE)])
    classes = [
        _Class(str(label), colour, value=by_label[label])
        for colour, label in zip(CAMPAIGN_PALETTE, top, strict=False)
    ]
    if len(sizes) > len(top):
        classes.append(_Class("other campaigns", OTHER_COLOUR, other=True))
    return _Design(
        "categorizedSymbol",
        "campaign_id",
        classes,
        "booked",
        'placements coloured by campaign (12 most-booked campaigns, then "other campaigns")',
    )


def _campaign_labels(frame: pd.DataFrame) -> pd.Series:
    """``name (id)`` from ``campaign_name`` or else ``advertiser``; the id alone without."""
    ids = frame["campaign_id"].astype(str)
    column = next((c for c in ("campaign_name", "advertiser") if c in frame.columns), None)
    if column is None:
        return ids
    names = frame[column].fillna("").astype(str).str.strip()
    named = (names != "") & (names != ids)
    return ids.where(~named, names + " (" + ids + ")")


def _by_status(frame: pd.DataFrame) -> _Design:
    """Colour assets by their ``status`` (available, unavailable, ...)."""
    if "status" not in frame.columns:
        classes = [_Class(STATUS_LABELS["available"], STATUS_COLOURS["available"])]
        return _Design("singleSymbol", "", classes, "asset", "assets (no status column)")
    raw = pd.Series(frame["status"].dropna().astype(str).unique())
    known = {v: v.strip().lower() for v in raw if v.strip().lower() in STATUS_COLOURS}
    order = list(STATUS_COLOURS)
    classes = [
        _Class(STATUS_LABELS[key], STATUS_COLOURS[key], value=value)
        for value, key in sorted(known.items(), key=lambda kv: (order.index(kv[1]), kv[0]))
    ]
    classes.append(_Class("other status", OTHER_COLOUR, other=True))
    return _Design("categorizedSymbol", "status", classes, "asset", "assets by status")


def _by_kind(frame: pd.DataFrame) -> _Design:
    """Sensitive sites in the maps' purple, one marker shape per kind."""
    kinds = sorted(
        frame["kind"].dropna().astype(str).unique(),
        key=lambda k: (k not in SITE_KINDS, k),
    )
    classes = [
        _Class(kind.replace("_", " "), SITE_LINE_COLOUR, value=kind, shape=i % len(_SHAPES))
        for i, kind in enumerate(kinds)
    ]
    classes.append(_Class("other kinds", SITE_LINE_COLOUR, other=True))
    return _Design("categorizedSymbol", "kind", classes, "site", "sensitive sites by kind")


def _graduated(values: pd.Series, attr: str, look: str, description: str) -> _Design:
    """Quantile classes coloured along YlOrRd, with the maps' breaks and labels.

    The maps put a value equal to a break in the class above it; QGIS puts it in the
    first class whose range contains it, so each upper bound but the last is set just
    below the next break (the labels keep the break).
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = numbers[~np.isnan(numbers)]
    if not len(known):
        classes = [_Class("no data", NO_DATA_COLOUR)]
        return _Design("singleSymbol", "", classes, look, f"{description} (no values)")
    breaks = np.unique(np.quantile(known, np.linspace(0, 1, _N_CLASSES + 1)))
    if len(breaks) == 1:
        breaks = np.array([breaks[0], breaks[0]])
    n = len(breaks) - 1
    classes = [
        _Class(
            f"{breaks[i]:,.0f} – {breaks[i + 1]:,.0f}",
            colour,
            low=float(breaks[i]),
            high=float(breaks[i + 1]),
            last=i == n - 1,
        )
        for i, colour in enumerate(class_colours(n))
    ]
    return _Design("graduatedSymbol", attr, classes, look, f"{description}, {n} quantile classes")


# --- QML: QGIS's own style document ----------------------------------------------------------


def _qml(fields: list[str], design: _Design | None, symbols: list[str] | None) -> str:
    """Return the QML document: the renderer (spatial layers) and the field aliases.

    One kind of geometry gets the renderer QGIS itself would use (categorised,
    graduated or single symbol); a layer mixing kinds gets a rule-based renderer with a
    branch per kind, and geometry type "unknown", so QGIS applies it to each of the
    layer's point, line and polygon sublayers.
    """
    categories = "Symbology|Fields" if design is not None else "Fields"
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories=categories)
    if design is None or not symbols:
        kind = "4"
    elif len(symbols) == 1:
        root.append(_renderer(design, symbols[0]))
        kind = {"marker": "0", "line": "1", "fill": "2"}[symbols[0]]
    else:
        root.append(_rule_renderer(design, symbols))
        kind = "3"
    aliases = ET.SubElement(root, "aliases")
    for i, name in enumerate(fields):
        alias = name.replace("_", " ").capitalize()
        ET.SubElement(aliases, "alias", field=name, index=str(i), name=alias)
    ET.SubElement(root, "layerGeometryType").text = kind
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n{body}\n"


def _renderer(design: _Design, symbol: str) -> ET.Element:
    """Return the ``renderer-v2`` element of a design."""
    renderer = ET.Element(
        "renderer-v2",
        type=design.renderer,
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
        referencescale="-1",
    )
    symbols = ET.Element("symbols")
    if design.renderer == "singleSymbol":
        symbols.append(_qml_symbol(design.classes[0], design.look, symbol, "0"))
    else:
        renderer.set("attr", design.attr)
        if design.renderer == "graduatedSymbol":
            renderer.set("graduatedMethod", "GraduatedColor")
        group = ET.SubElement(
            renderer, "categories" if design.renderer == "categorizedSymbol" else "ranges"
        )
        for i, c in enumerate(design.classes):
            group.append(_qml_class(c, str(i)))
            symbols.append(_qml_symbol(c, design.look, symbol, str(i)))
    renderer.append(symbols)
    if design.renderer != "singleSymbol":
        source = ET.SubElement(renderer, "source-symbol")
        source.append(_qml_symbol(design.classes[0], design.look, symbol, "0"))
    if design.renderer == "graduatedSymbol":
        ET.SubElement(renderer, "classificationMethod", id="Quantile")
    return renderer


#: QGIS's name of each symbol type's geometries (``geometry_type($geometry)``).
_GEOMETRY_NAMES = {"marker": "Point", "line": "Line", "fill": "Polygon"}


def _rule_renderer(design: _Design, symbols: list[str]) -> ET.Element:
    """Return a rule-based ``renderer-v2``: a branch per kind of geometry, a rule per class."""
    renderer = ET.Element(
        "renderer-v2",
        type="RuleRenderer",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
        referencescale="-1",
    )
    rules = ET.SubElement(renderer, "rules", key="root")
    drawn = ET.Element("symbols")
    for symbol in symbols:
        kind = _GEOMETRY_NAMES[symbol]
        branch = ET.SubElement(
            rules, "rule", key=kind, label=kind, filter=f"geometry_type($geometry) = '{kind}'"
        )
        for c in design.classes:
            index = str(len(drawn))
            drawn.append(_qml_symbol(c, design.look, symbol, index))
            rule = ET.SubElement(branch, "rule", key=f"{kind}-{index}", symbol=index)
            rule.set("label", c.label)
            if design.renderer != "singleSymbol":
                rule.set("filter", _expression(c, design.attr))
    renderer.append(drawn)
    return renderer


def _expression(c: _Class, attr: str) -> str:
    """Return the QGIS expression selecting a class's features (``ELSE`` for the rest)."""
    field = '"' + attr.replace('"', '""') + '"'
    if c.other:
        return "ELSE"
    if c.low is None:
        return f"{field} = '" + str(c.value).replace("'", "''") + "'"
    upper = "<=" if c.last else "<"
    return f"{field} >= {c.low!r} AND {field} {upper} {c.high!r}"


def _qml_class(c: _Class, index: str) -> ET.Element:
    """Return a ``category`` (a value; ``""`` for all other values) or a ``range``."""
    if c.low is None:
        value = "" if c.other else str(c.value)
        return ET.Element("category", symbol=index, value=value, label=c.label, render="true")
    assert c.high is not None
    upper = c.high if c.last else float(np.nextafter(c.high, -np.inf))
    return ET.Element(
        "range", symbol=index, lower=repr(c.low), upper=repr(upper), label=c.label, render="true"
    )


def _qml_symbol(c: _Class, look: str, symbol: str, name: str) -> ET.Element:
    """Return a QGIS ``symbol``: its symbol layers with the look's colours and sizes."""
    element = ET.Element(
        "symbol", type=symbol, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    for cls, props in _symbol_layers(c, look, symbol):
        attributes = {"class": cls, "enabled": "1", "locked": "0", "pass": "0"}
        layer = ET.SubElement(element, "layer", attributes)
        options = ET.SubElement(layer, "Option", type="Map")
        for key, value in props.items():
            ET.SubElement(options, "Option", type="QString", name=key, value=value)
    return element


def _symbol_layers(c: _Class, look: str, symbol: str) -> list[tuple[str, dict[str, str]]]:
    """Return ``(symbol layer class, properties)`` pairs drawing class ``c`` in ``look``."""
    if symbol == "marker":
        return [("SimpleMarker", _marker(c, look))]
    if symbol == "line":
        line = {
            "line_color": _rgba(c.colour, 1.0),
            "line_style": "solid",
            "line_width": _mm(4.0 if look == "booked" else 3.0),
            "line_width_unit": "MM",
            "capstyle": "round",
        }
        return [("SimpleLine", line)]
    if look == "exclusion":
        return [
            ("SimpleFill", _fill(EXCLUSION_FILL_COLOUR, EXCLUSION_FILL_OPACITY, "solid", None)),
            ("SimpleFill", _fill(EXCLUSION_LINE_COLOUR, 1.0, "b_diagonal", (c.colour, 1, "dash"))),
        ]
    if look == "site":
        return [("SimpleFill", _fill(SITE_FILL_COLOUR, SITE_FILL_OPACITY, "solid",
                                     (SITE_LINE_COLOUR, 1.5, "solid")))]  # fmt: skip
    if look == "zone":
        return [("SimpleFill", _fill(c.colour, 0.45, "solid", ("#777777", 0.6, "solid")))]
    return [("SimpleFill", _fill(c.colour, SITE_FILL_OPACITY, "solid", (c.colour, 1, "solid")))]


def _marker(c: _Class, look: str) -> dict[str, str]:
    """Properties of a simple marker: the maps' circle markers (Leaflet radius in px)."""
    if look == "site":
        shape, fill, alpha = _SHAPES[c.shape][0], SITE_FILL_COLOUR, SITE_FILL_OPACITY
        outline, width, radius = SITE_LINE_COLOUR, 1.5, 5.0
    else:
        shape, fill, alpha = "circle", c.colour, ASSET_FILL_OPACITY
        outline, width = ASSET_OUTLINE_COLOUR, 1.0
        radius = 6.0 if look == "booked" else 4.5
    return {
        "name": shape,
        "color": _rgba(fill, alpha),
        "outline_color": _rgba(outline, 1.0),
        "outline_style": "solid",
        "outline_width": _mm(width),
        "outline_width_unit": "MM",
        "size": _mm(2 * radius),
        "size_unit": "MM",
        "scale_method": "diameter",
    }


def _fill(
    colour: str, alpha: float, style: str, outline: tuple[str, float, str] | None
) -> dict[str, str]:
    """Properties of a simple fill; ``outline`` is (colour, width in px, style) or None."""
    props = {"color": _rgba(colour, alpha), "style": style, "outline_style": "no"}
    if outline is not None:
        line, width, line_style = outline
        props |= {
            "outline_color": _rgba(line, 1.0),
            "outline_style": line_style,
            "outline_width": _mm(width),
            "outline_width_unit": "MM",
        }
    return props


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` and an opacity as QGIS's ``r,g,b,a`` (0-255 each)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _mm(px: float) -> str:
    """Leaflet pixels as millimetres, two decimals."""
    return f"{px * _MM_PER_PX:.2f}"


# --- SLD: the same symbology for other map servers --------------------------------------------


def _sld(name: str, design: _Design, symbols: list[str]) -> str:
    """Return the OGC SLD 1.1 document: one rule per class (``ElseFilter`` for the rest)."""
    root = ET.Element(
        f"{{{_SLD}}}StyledLayerDescriptor",
        {
            "version": "1.1.0",
            f"{{{_XSI}}}schemaLocation": f"{_SLD} "
            "http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
        },
    )
    layer = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(layer, f"{{{_SE}}}Name").text = name
    user = ET.SubElement(layer, f"{{{_SLD}}}UserStyle")
    ET.SubElement(user, f"{{{_SE}}}Name").text = name
    feature_style = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
    for c in design.classes:
        rule = ET.SubElement(feature_style, f"{{{_SE}}}Rule")
        ET.SubElement(rule, f"{{{_SE}}}Name").text = c.label
        description = ET.SubElement(rule, f"{{{_SE}}}Description")
        ET.SubElement(description, f"{{{_SE}}}Title").text = c.label
        if design.renderer != "singleSymbol":
            _sld_filter(rule, c, design.attr)
        for symbol in symbols:
            for symbolizer in _sld_symbolizers(c, design.look, symbol):
                rule.append(symbolizer)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _sld_filter(rule: ET.Element, c: _Class, attr: str) -> None:
    """Add the rule's filter: equal to the value, in the range, or else."""
    if c.other:
        ET.SubElement(rule, f"{{{_SE}}}ElseFilter")
        return
    where = ET.SubElement(rule, f"{{{_OGC}}}Filter")
    if c.low is None:
        _comparison(where, "PropertyIsEqualTo", attr, str(c.value))
        return
    both = ET.SubElement(where, f"{{{_OGC}}}And")
    _comparison(both, "PropertyIsGreaterThanOrEqualTo", attr, repr(c.low))
    upper = "PropertyIsLessThanOrEqualTo" if c.last else "PropertyIsLessThan"
    _comparison(both, upper, attr, repr(c.high))


def _comparison(parent: ET.Element, operator: str, attr: str, literal: str) -> None:
    """Add ``<ogc:operator><ogc:PropertyName>attr</...><ogc:Literal>literal</...>``."""
    element = ET.SubElement(parent, f"{{{_OGC}}}{operator}")
    ET.SubElement(element, f"{{{_OGC}}}PropertyName").text = attr
    ET.SubElement(element, f"{{{_OGC}}}Literal").text = literal


def _sld_symbolizers(c: _Class, look: str, symbol: str) -> list[ET.Element]:
    """Return the SLD symbolizers matching `_symbol_layers`."""
    out = []
    for cls, props in _symbol_layers(c, look, symbol):
        if cls == "SimpleMarker":
            out.append(_sld_point(props))
        elif cls == "SimpleLine":
            element = ET.Element(f"{{{_SE}}}LineSymbolizer")
            element.append(_stroke(props["line_color"], props["line_width"], props["line_style"]))
            out.append(element)
        else:
            out.append(_sld_polygon(props))
    return out


def _sld_point(props: dict[str, str]) -> ET.Element:
    """Return a ``PointSymbolizer`` for simple-marker properties."""
    element = ET.Element(f"{{{_SE}}}PointSymbolizer")
    graphic = ET.SubElement(element, f"{{{_SE}}}Graphic")
    mark = ET.SubElement(graphic, f"{{{_SE}}}Mark")
    shape = dict(_SHAPES).get(props["name"], "circle")
    ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = shape
    mark.append(_paint("Fill", "fill", props["color"]))
    mark.append(_stroke(props["outline_color"], props["outline_width"], "solid"))
    size = float(props["size"]) / _MM_PER_PX
    ET.SubElement(graphic, f"{{{_SE}}}Size").text = f"{size:g}"
    return element


def _sld_polygon(props: dict[str, str]) -> ET.Element:
    """Return a ``PolygonSymbolizer``: a plain fill, or a hatch of slashes, and its edge."""
    element = ET.Element(f"{{{_SE}}}PolygonSymbolizer")
    if props["style"] == "b_diagonal":
        fill = ET.SubElement(element, f"{{{_SE}}}Fill")
        graphic = ET.SubElement(ET.SubElement(fill, f"{{{_SE}}}GraphicFill"), f"{{{_SE}}}Graphic")
        mark = ET.SubElement(graphic, f"{{{_SE}}}Mark")
        ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = "shape://slash"
        mark.append(_stroke(props["color"], "0.26", "solid"))
        ET.SubElement(graphic, f"{{{_SE}}}Size").text = "8"
    else:
        element.append(_paint("Fill", "fill", props["color"]))
    if props["outline_style"] != "no":
        element.append(
            _stroke(props["outline_color"], props["outline_width"], props["outline_style"])
        )
    return element


def _paint(tag: str, name: str, rgba: str) -> ET.Element:
    """Return ``<se:Fill>`` (or another tag) with a colour and its opacity."""
    element = ET.Element(f"{{{_SE}}}{tag}")
    r, g, b, a = (int(v) for v in rgba.split(","))
    _parameter(element, name, f"#{r:02x}{g:02x}{b:02x}")
    _parameter(element, f"{name}-opacity", f"{a / 255:.2f}")
    return element


def _stroke(rgba: str, width_mm: str, style: str) -> ET.Element:
    """Return ``<se:Stroke>``: colour, opacity, width in pixels, dashes when dashed."""
    element = _paint("Stroke", "stroke", rgba)
    _parameter(element, "stroke-width", f"{float(width_mm) / _MM_PER_PX:.1f}")
    if style == "dash":
        _parameter(element, "stroke-dasharray", "4 3")
    return element


def _parameter(parent: ET.Element, name: str, value: str) -> None:
    """Add ``<se:SvgParameter name="...">value</se:SvgParameter>``."""
    ET.SubElement(parent, f"{{{_SE}}}SvgParameter", name=name).text = value
