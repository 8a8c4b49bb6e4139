"""Compact JSON views of assets, sites and zones for the planner's maps (no folium here).

Text stays plain in these views; the map script shows it with DOM text nodes, and
`safe_json` escapes ``<``, ``>`` and ``&`` so no value can close a ``<script>`` element.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.colormap import linear

from planner.errors import PlannerError
from planner.geo import metric_crs
from planner.schema import STORAGE_CRS

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

STATUS_COLOURS = {
    "booked": "#1f5fbf",
    "eligible": "#1a9850",
    "available": "#1a9850",
    "restricted": "#d73027",
    "unavailable": "#8c8c8c",
}
#: ColorBrewer "Paired"-like qualitative colours for campaigns, most-booked first.
CAMPAIGN_PALETTE = (
    "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
    "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#17becf",
)  # fmt: skip
OTHER_COLOUR = "#4d4d4d"
NOT_BOOKED_COLOUR = "#bdbdbd"
NO_DATA_COLOUR = "#e0e0e0"
_DECIMALS = 5  # ~1 m at UK latitudes: plenty for a street map, and small


@dataclass(frozen=True)
class Category:
    """One class drawn in its own colour (a map layer and a legend line).

    ``key`` is the kind of class: a status (``booked``, ``eligible``, ...), ``campaign``,
    ``other`` or ``none`` for asset classes; a class number for choropleths.
    """

    key: str
    label: str
    colour: str
    count: int


def safe_json(obj: Any) -> str:
    """JSON that is safe inside an HTML ``<script>`` element.

    Examples
    --------
    >>> safe_json({"name": "</script>"})
    '{"name":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def as_wgs84(frame: gpd.GeoDataFrame | None, argument: str) -> gpd.GeoDataFrame | None:
    """``frame`` in EPSG:4326 without empty geometries; a frame without a CRS is refused."""
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
    """``[[south, west], [north, east]]`` around every frame, or None when all are empty."""
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return None
    arr = np.array(boxes)
    return [[float(arr[:, 1].min()), float(arr[:, 0].min())],
            [float(arr[:, 3].max()), float(arr[:, 2].max())]]  # fmt: skip


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: None for missing, int for whole numbers."""
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
    """A popup column: dictionary-encoded when values repeat, else a plain list.

    ``spec`` adds the column's ``label`` and format ``f`` (``text``, ``int``, ``money``,
    ``bool``) and anything else the map script reads (``cur``, ``flag``).

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
    """Cycles in the form `planner.calendar.parse_cycles` reads: ``"1-3;7"``.

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
    return shapely.transform(geoms, lambda xy: np.round(xy, _DECIMALS))


def _simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> np.ndarray:
    """Polygons simplified by ``tolerance_m`` metres (measured in the metric CRS)."""
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
    """A GeoJSON FeatureCollection with compact properties for the map script.

    Each feature's properties are ``p`` (the ``fields`` values in order) and ``c`` (its
    class index, for its colour). Polygons are simplified by ``tolerance_m`` metres and
    coordinates rounded to 5 decimals (about a metre).

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
    return f"{low:,.0f} – {high:,.0f}"


def choropleth(values: pd.Series, *, n_classes: int = 7) -> tuple[np.ndarray, list[Category]]:
    """Quantile classes of ``values`` (e.g. population) and their colours.

    Returns each value's class index (the last class is "no data") and the classes.

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
    scale = linear.YlOrRd_09.scale(0, max(n - 1, 1))
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
