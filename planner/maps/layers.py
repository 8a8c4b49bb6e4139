"""Compact JSON views of assets, sites and zones for the planner's maps (no folium here).

Text stays plain in these views; the map script shows it with DOM text nodes, and
`safe_json` escapes ``<``, ``>`` and ``&`` so no value can close a ``<script>`` element.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.colormap import linear

from planner.errors import PlannerError
from planner.geo import metric_crs
from planner.schema import STORAGE_CRS
from planner.styles import CAMPAIGN_PALETTE, NO_DATA_COLOUR, STATUS_COLOURS

__all__ = [
    "CAMPAIGN_PALETTE",
    "STATUS_COLOURS",
    "Category",
    "as_wgs84",
    "bounds_of",
    "choropleth",
    "feature_collection",
    "format_cycles",
    "safe_json",
    "text_column",
]

# The colours live in `planner.styles`, shared with the QGIS styles of the GeoPackages;
# STATUS_COLOURS, CAMPAIGN_PALETTE and the class colours are re-exported from here.
_DECIMALS = 5  # ~1 m at UK latitudes: plenty for a street map, and small


@dataclass(frozen=True)
class Category:
    """One class drawn in its own colour (a map layer and a legend line).

    Attributes
    ----------
    key
        The kind of class: a status (``booked``, ``eligible``, ...), ``campaign``,
        ``other`` or ``none`` for asset classes; a class number (``"0"``, ``"1"``, ...) or
        ``nodata`` for choropleths.
    label
        Text of the layer control and the legend, e.g. ``"restricted"`` or
        ``"1,200 – 1,850"``.
    colour
        CSS hex colour, e.g. ``"#d73027"``.
    count
        Assets (or zones) in the class.
    """

    key: str
    label: str
    colour: str
    count: int


def safe_json(obj: Any) -> str:
    r"""Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\u003c``, ``\u003e`` and ``\u0026``, so no value can
    close the element or start a comment; the JSON still parses to the same data.

    Parameters
    ----------
    obj
        Plain data: dicts, lists, text, numbers, bools and None.

    Returns
    -------
    str
        Compact ASCII JSON (no spaces after separators).

    Raises
    ------
    ValueError
        When ``obj`` holds NaN or infinity (``allow_nan=False``); convert them to None.
    TypeError
        When ``obj`` holds a value JSON cannot represent.

    Examples
    --------
    >>> safe_json({"name": "</script>"})
    '{"name":"\\u003c/script\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@overload
def as_wgs84(frame: gpd.GeoDataFrame, argument: str) -> gpd.GeoDataFrame: ...
@overload
def as_wgs84(frame: None, argument: str) -> None: ...
@overload
def as_wgs84(frame: gpd.GeoDataFrame | None, argument: str) -> gpd.GeoDataFrame | None: ...


def as_wgs84(frame: gpd.GeoDataFrame | None, argument: str) -> gpd.GeoDataFrame | None:
    """Return ``frame`` in EPSG:4326 without missing or empty geometries.

    A frame without a CRS is refused rather than guessed.

    Parameters
    ----------
    frame
        A GeoDataFrame in any CRS, or None.
    argument
        The argument's name, used in error messages (e.g. ``"sites"``).

    Returns
    -------
    geopandas.GeoDataFrame or None
        The rows with a geometry, reprojected; None when ``frame`` is None.

    Raises
    ------
    PlannerError
        When ``frame`` is not a GeoDataFrame or has no CRS.
    """
    if frame is None:
        return None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise PlannerError(
            f"'{argument}' must be a GeoDataFrame; got {type(frame).__name__}. "
            "Load it with planner.io.readers or build it with geopandas.GeoDataFrame(..., crs=...)."
        )
    if frame.crs is None:
        raise PlannerError(
            f"'{argument}' must have a CRS; got None. Set it with {argument}.set_crs(...)."
        )
    keep = frame.geometry.notna() & ~frame.geometry.is_empty
    return frame.loc[keep].to_crs(STORAGE_CRS)


def bounds_of(frames: Iterable[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    """Return the box around every frame as Leaflet wants it: ``[[south, west], [north, east]]``.

    Parameters
    ----------
    frames
        GeoDataFrames in EPSG:4326; None and empty ones are skipped.

    Returns
    -------
    list or None
        Degrees of latitude and longitude, for `folium.Map.fit_bounds`; None when every
        frame is None or empty.
    """
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return None
    arr = np.array(boxes)
    return [[float(arr[:, 1].min()), float(arr[:, 0].min())],
            [float(arr[:, 3].max()), float(arr[:, 2].max())]]  # fmt: skip


def _plain(value: Any) -> Any:
    """Return a JSON-ready scalar: None for missing, int for whole numbers.

    Other floats are rounded to 2 decimals, numpy scalars become Python ones, bools and
    ints stay, and anything else becomes its text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 2)
    if isinstance(value, bool | int):
        return value
    return str(value)


def text_column(values: Sequence[Any] | pd.Series, **spec: Any) -> dict[str, Any]:
    """Encode a popup column: dictionary-encoded when values repeat, else a plain list.

    Dictionary encoding (``d`` the distinct values, ``c`` each row's code, -1 for
    missing) is used when there are at most a third as many distinct values as rows;
    it keeps repeated wards, types and statuses small in the page.

    Parameters
    ----------
    values
        One value per asset, in the asset layer's order.
    **spec
        The column's ``label`` and format ``f`` (``text``, ``int``, ``money``, ``bool``)
        and anything else the map script reads: ``cur`` (the currency, text or a column
        of its own), ``flag`` (0/1 per row) and ``flagText`` (shown in brackets when
        flagged).

    Returns
    -------
    dict
        ``spec`` with either ``d`` and ``c``, or ``v`` (every value, JSON-ready).

    Examples
    --------
    >>> text_column(["a", "b", "a", "a", "a", "b"], label="Ward")
    {'label': 'Ward', 'd': ['a', 'b'], 'c': [0, 1, 0, 0, 0, 1]}
    """
    series = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) * 3 <= len(series):
        return {**spec, "d": [_plain(u) for u in uniques], "c": codes.tolist()}
    return {**spec, "v": [_plain(v) for v in series]}


def format_cycles(cycles: Iterable[int]) -> str:
    """Write cycles in the form `planner.calendar.parse_cycles` reads: ``"1-3;7"``.

    Parameters
    ----------
    cycles
        Cycle numbers in any order, repeats allowed.

    Returns
    -------
    str
        Runs of consecutive cycles as ``first-last``, single cycles alone, ``;``-joined
        in ascending order; empty for no cycles.

    Examples
    --------
    >>> format_cycles([3, 1, 2, 7])
    '1-3;7'
    """
    ordered = sorted({int(c) for c in cycles})
    runs: list[list[int]] = []
    for c in ordered:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ";".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _rounded(geoms: np.ndarray) -> np.ndarray:
    """Round every coordinate to `_DECIMALS` (5) decimals of a degree, about a metre."""
    return shapely.transform(geoms, lambda xy: np.round(xy, _DECIMALS))


def _simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> np.ndarray:
    """Simplify polygons by ``tolerance_m`` metres (measured in the metric CRS).

    Points and lines are left as they are; topology is preserved. The simplification runs
    in `planner.geo.metric_crs` (EPSG:27700 in Great Britain, else the UTM zone) and the
    result comes back in EPSG:4326.
    """
    geoms = frame.geometry.to_numpy()
    is_area = np.isin(shapely.get_type_id(geoms), (3, 6))
    if tolerance_m <= 0 or not is_area.any():
        return geoms
    metric = frame.loc[is_area].to_crs(metric_crs(frame))
    simple = metric.geometry.simplify(tolerance_m, preserve_topology=True).to_crs(STORAGE_CRS)
    out = geoms.copy()
    out[is_area] = simple.to_numpy()
    return out


def feature_collection(
    frame: gpd.GeoDataFrame,
    *,
    fields: dict[str, str],
    classes: Sequence[int] | np.ndarray | None = None,
    tolerance_m: float = 2.0,
) -> dict[str, Any]:
    """Build a GeoJSON FeatureCollection with compact properties for the map script.

    Each feature's properties are ``p`` (the ``fields`` values in order) and ``c`` (its
    class index, for its colour). Polygons are simplified by ``tolerance_m`` metres and
    coordinates rounded to 5 decimals (about a metre).

    Parameters
    ----------
    frame
        Features in EPSG:4326 (see `as_wgs84`).
    fields
        ``{column: popup label}``, in popup order; a column the frame lacks gives None
        (the popup leaves it out).
    classes
        Class index of each row, shape (n_rows,), e.g. from `choropleth`; all 0 when None.
    tolerance_m
        Simplification tolerance of polygons, in metres; 0 keeps them as they are.

    Returns
    -------
    dict
        A GeoJSON ``FeatureCollection``; rows without geometry are left out.

    Examples
    --------
    >>> fc = feature_collection(sites, fields={"name": "Site", "kind": "Kind"})
    >>> fc["features"][0]["properties"]
    {'p': ['St Mary', 'school'], 'c': 0}
    """
    geoms = _rounded(_simplified(frame, tolerance_m))
    columns = [
        frame[col].tolist() if col in frame.columns else [None] * len(frame) for col in fields
    ]
    klass = np.zeros(len(frame), dtype=int) if classes is None else np.asarray(classes)
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom),
            "properties": {"p": [_plain(col[i]) for col in columns], "c": int(klass[i])},
        }
        for i, geom in enumerate(geoms)
        if geom is not None and not geom.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _class_label(low: float, high: float) -> str:
    """Label a class by its bounds as whole numbers with thousands separators."""
    return f"{low:,.0f} – {high:,.0f}"


def choropleth(values: pd.Series, *, n_classes: int = 7) -> tuple[np.ndarray, list[Category]]:
    """Split ``values`` (e.g. population) into quantile classes and colour them.

    Class breaks are the quantiles at ``0, 1/n, ..., 1`` of the known values; equal
    breaks merge, so there may be fewer classes than ``n_classes``. Colours run along
    ColorBrewer's YlOrRd (yellow, low, to red, high) via `branca`; missing or
    non-numeric values go to a grey "no data" class.

    Parameters
    ----------
    values
        One number per feature, shape (n_features,).
    n_classes
        Most classes, besides "no data".

    Returns
    -------
    tuple
        ``(index, classes)``: each value's class index, shape (n_features,), and the
        `Category` list, the last being "no data".

    Examples
    --------
    >>> index, classes = choropleth(pd.Series([10.0, 20.0, 30.0, None]), n_classes=2)
    >>> index.tolist(), [c.label for c in classes]
    ([0, 1, 1, 2], ['10 – 20', '20 – 30', 'no data'])
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = numbers[~np.isnan(numbers)]
    if len(known):
        breaks = np.unique(np.quantile(known, np.linspace(0, 1, n_classes + 1)))
    else:
        breaks = np.array([0.0])
    if len(breaks) == 1:
        breaks = np.array([breaks[0], breaks[0]])
    n = len(breaks) - 1
    # branca adds its colormaps with setattr, so its type hints do not list them
    scale = linear.YlOrRd_09.scale(0, max(n - 1, 1))  # type: ignore[attr-defined]
    index = np.clip(np.searchsorted(breaks, numbers, side="right") - 1, 0, n - 1)
    index[np.isnan(numbers)] = n
    classes = [
        Category(
            key=str(i),
            label=_class_label(breaks[i], breaks[i + 1]),
            colour=scale.rgb_hex_str(i),
            count=int((index == i).sum()),
        )
        for i in range(n)
    ]
    classes.append(Category("nodata", "no data", NO_DATA_COLOUR, int((index == n).sum())))
    return index, classes
