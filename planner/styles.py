"""The planner's map colours, shared by its Folium maps and the QGIS styles of its GeoPackages.

One palette for both, so that a layer looks the same in the browser map and in QGIS and
the two legends agree: `planner.maps` draws with it and `planner.io.layer_styles` writes
it into each GeoPackage's ``layer_styles`` table. Plain constants and one colour ramp; no
drawing library is imported here.
"""

from __future__ import annotations

__all__ = [
    "ASSET_FILL_OPACITY",
    "ASSET_OUTLINE_COLOUR",
    "CAMPAIGN_PALETTE",
    "EXCLUSION_FILL_COLOUR",
    "EXCLUSION_FILL_OPACITY",
    "EXCLUSION_LEGEND_FILL",
    "EXCLUSION_LINE_COLOUR",
    "NOT_BOOKED_COLOUR",
    "NO_DATA_COLOUR",
    "OTHER_COLOUR",
    "SITE_FILL_COLOUR",
    "SITE_FILL_OPACITY",
    "SITE_LINE_COLOUR",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "YLORRD",
    "class_colours",
    "ramp_colour",
]

#: Asset colour by status, in legend order.
STATUS_COLOURS = {
    "booked": "#1f5fbf",
    "eligible": "#1a9850",
    "available": "#1a9850",
    "restricted": "#d73027",
    "unavailable": "#8c8c8c",
}
#: Legend text of each asset status.
STATUS_LABELS = {
    "booked": "booked",
    "eligible": "eligible",
    "available": "available (no policy applied)",
    "restricted": "restricted",
    "unavailable": "unavailable",
}
#: ColorBrewer "Paired"-like qualitative colours for campaigns, most-booked first.
CAMPAIGN_PALETTE = (
    "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
    "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#17becf",
)  # fmt: skip
#: Campaigns beyond the palette's twelve ("other campaigns").
OTHER_COLOUR = "#4d4d4d"
#: Assets no campaign books.
NOT_BOOKED_COLOUR = "#bdbdbd"
#: Zones or assets without a value ("no data").
NO_DATA_COLOUR = "#e0e0e0"
#: Asset markers: a white outline and an almost opaque fill (the map's circle markers).
ASSET_OUTLINE_COLOUR = "#ffffff"
ASSET_FILL_OPACITY = 0.9
#: Exclusion zones: a dashed dark-red edge over a light red fill (hatched in QGIS).
EXCLUSION_LINE_COLOUR = "#b2182b"
EXCLUSION_FILL_COLOUR = "#ef8a62"
EXCLUSION_FILL_OPACITY = 0.18
#: The exclusion fill as the legend shows it (the fill seen through at its opacity).
EXCLUSION_LEGEND_FILL = "#f7c4b0"
#: Sensitive sites: purple.
SITE_LINE_COLOUR = "#6a3d9a"
SITE_FILL_COLOUR = "#cab2d6"
SITE_FILL_OPACITY = 0.6
#: ColorBrewer YlOrRd with 9 classes (yellow, low, to dark red, high): the ramp of every
#: choropleth (population, annual value), the colours of branca's ``linear.YlOrRd_09``.
YLORRD = (
    "#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c",
    "#fc4e2a", "#e31a1c", "#bd0026", "#800026",
)  # fmt: skip


def ramp_colour(position: float) -> str:
    """Return the colour at ``position`` along `YLORRD`, interpolated linearly in RGB.

    The same arithmetic as branca's ``LinearColormap.rgb_hex_str`` on
    ``linear.YlOrRd_09`` (each channel as a float in [0, 1], to a byte by
    ``int(x * 255.9999)``), so the QGIS styles and the Folium maps agree to the byte.

    Parameters
    ----------
    position
        Where on the ramp, 0 (yellow) to 1 (dark red); values outside are clipped.

    Returns
    -------
    str
        CSS hex colour, e.g. ``"#ffffcc"`` at 0.

    Examples
    --------
    >>> ramp_colour(0.0), ramp_colour(1.0)
    ('#ffffcc', '#800026')
    """
    stops = [tuple(int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)) for c in YLORRD]
    last = len(stops) - 1
    x = min(max(position, 0.0), 1.0) * last
    i = min(int(x), last - 1)
    p = x - i
    rgb = ((1.0 - p) * a + p * b for a, b in zip(stops[i], stops[i + 1], strict=True))
    return "#" + "".join(f"{int(v * 255.9999):02x}" for v in rgb)


def class_colours(n_classes: int) -> list[str]:
    """Return the colours of ``n_classes`` ordered classes, low to high, along `YLORRD`.

    As the maps colour a choropleth: class ``i`` of ``n`` sits at ``i / max(n - 1, 1)``
    on the ramp, so one class is pale yellow and the highest of several is dark red.

    Parameters
    ----------
    n_classes
        How many classes (at least 1).

    Returns
    -------
    list of str
        ``n_classes`` CSS hex colours.

    Examples
    --------
    >>> class_colours(2)
    ['#ffffcc', '#800026']
    """
    top = max(n_classes - 1, 1)
    return [ramp_colour(i / top) for i in range(n_classes)]
