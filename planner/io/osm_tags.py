"""OpenStreetMap tags to contract rows: assets, sites, transit, footfall points and buildings.

Pure functions of a tag mapping; every mapping (and every default it relies on) is written
down in the tables below, with tags as the OSM wiki documents them (e.g. ``advertising=*``,
``highway=bus_stop``, ``amenity=school``). `planner.io.osm` reads the extract and applies
them through `CLASSIFIERS`.

Examples
--------
>>> CLASSIFIERS["assets"]({"highway": "bus_stop", "shelter": "yes"})
{'asset_type': 'bus_shelter', 'format': '6-sheet', 'faces': 2, 'digital': False}
>>> CLASSIFIERS["assets"]({"advertising": "billboard", "animated": "screen", "sides": "2"})
{'asset_type': 'billboard', 'format': 'd48', 'faces': 2, 'digital': True}
>>> CLASSIFIERS["sites"]({"amenity": "kindergarten"})
{'kind': 'nursery'}
>>> CLASSIFIERS["pois"]({"amenity": "cafe"})
{'kind': 'cafe', 'category': 'food_drink'}
>>> CLASSIFIERS["buildings"]({"building": "yes", "building:levels": "3"})
{'building': 'yes', 'levels': 3.0}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

__all__ = ["CLASSIFIERS"]

# Tag rules read like the OSM wiki: "key=value", "key=v1|v2" (any of them) or "key=*" (any
# value but "no"), several conditions separated by spaces; the first matching rule wins.
_Rule = tuple[tuple[tuple[str, frozenset[str] | None], ...], str]


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    """Compile ``(spec, label)`` pairs, e.g. ``("amenity=school", "school")``, into rules."""

    def condition(text: str) -> tuple[str, frozenset[str] | None]:
        key, _, values = text.partition("=")
        return key, None if values == "*" else frozenset(values.split("|"))

    return tuple((tuple(condition(c) for c in spec.split()), label) for spec, label in pairs)


# A bus shelter is sold as two 6-sheet faces; a bare stop (pole and flag) is taken as one
# 6-sheet face, the panel a stop usually gains. (asset_type, format, faces)
_SHELTER = ("bus_shelter", "6-sheet", 2)
_BUS_STOP = ("bus_stop", "6-sheet", 1)

# advertising=<value> -> (asset_type, format); other values -> ("other", "other"). Faces
# come from the `faces` or `sides` tag, else 1: never plan a face the street may not have.
_ADVERTISING = {
    "billboard": ("billboard", "48-sheet"),
    "hoarding": ("hoarding", "48-sheet"),
    "tarp": ("hoarding", "banner"),
    "column": ("advertising_column", "column"),
    "poster_box": ("poster_box", "6-sheet"),
    "screen": ("digital_screen", "d6"),
    "totem": ("totem", "6-sheet"),
}
_DIGITAL_FORMATS = {"6-sheet": "d6", "48-sheet": "d48", "96-sheet": "d96"}
_ANIMATED_DIGITAL = frozenset({"screen", "digital_display", "projection"})

# Other street furniture that carries advertising: rule -> (asset_type, format, faces).
_FURNITURE = {
    "highway=street_lamp": ("lamp_column", "banner", 1),
    "amenity=telephone": ("kiosk", "6-sheet", 1),
    "amenity=bicycle_rental": ("bike_dock", "6-sheet", 1),
}
_FURNITURE_RULES = _rules(*((spec, spec) for spec in _FURNITURE))

_SITE_RULES = _rules(
    ("amenity=school", "school"),
    ("amenity=kindergarten|childcare", "nursery"),
    ("amenity=college", "college"),
    ("amenity=university", "university"),
    ("amenity=hospital", "hospital"),
    ("healthcare=hospital", "hospital"),
    ("amenity=place_of_worship", "place_of_worship"),
    ("amenity=social_facility social_facility:for=child|juvenile", "childrens_centre"),
    ("amenity=community_centre community_centre=youth_centre", "youth_centre"),
    ("healthcare=counselling healthcare:counselling=addiction", "addiction_service"),
    ("leisure=playground", "playground"),
    ("leisure=sports_centre", "leisure_centre"),
    ("leisure=park", "park"),
)

# Kinds use the vocabulary of `planner.value.audience` (transit_weekly_passers and its aliases).
_TRANSIT_RULES = _rules(
    ("railway=station station=subway", "subway_station"),
    ("railway=station", "rail_station"),
    ("railway=halt", "halt"),
    ("railway=tram_stop", "tram_stop"),
    ("railway=subway_entrance", "subway_entrance"),
    ("amenity=bus_station", "bus_station"),
    ("public_transport=station", "station"),
    ("amenity=ferry_terminal", "ferry_terminal"),
    ("highway=bus_stop", "bus_stop"),
)

# Footfall generators: the rule gives the category; the kind is the first key's value.
_POI_RULES = _rules(
    ("shop=*", "retail"),
    ("amenity=restaurant|cafe|pub|bar|fast_food|food_court|ice_cream|biergarten", "food_drink"),
    ("amenity=cinema|theatre|arts_centre|library|nightclub", "culture_leisure"),
    ("leisure=fitness_centre", "culture_leisure"),
    ("amenity=bank|pharmacy|post_office|marketplace|doctors|dentist|clinic", "services"),
    ("tourism=museum|gallery|attraction|hotel|hostel", "tourism"),
)


def _classify_asset(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Map an object's tags to asset columns, or None when it carries no advertising.

    In order: a public-transport shelter or a bus stop (a shelter when ``shelter=yes``);
    any ``advertising`` value but no/none (digital for ``screen`` or an ``animated``
    display, with the digital format); then other street furniture (`_FURNITURE`).
    """
    shelter = tags.get("amenity") == "shelter" and tags.get("shelter_type") == "public_transport"
    if shelter or tags.get("highway") == "bus_stop":
        kind = _SHELTER if shelter or tags.get("shelter") == "yes" else _BUS_STOP
        return _asset(*kind, digital=False)
    advertising = tags.get("advertising")
    if advertising and advertising not in ("no", "none"):
        asset_type, fmt = _ADVERTISING.get(advertising, ("other", "other"))
        digital = advertising == "screen" or tags.get("animated") in _ANIMATED_DIGITAL
        fmt = _DIGITAL_FORMATS.get(fmt, fmt) if digital else fmt
        return _asset(asset_type, fmt, _faces_tag(tags), digital=digital)
    rule = _first_rule(tags, _FURNITURE_RULES)
    return _asset(*_FURNITURE[rule[1]], digital=False) if rule else None


def _asset(asset_type: str, fmt: str, faces: int, *, digital: bool) -> dict[str, object]:
    """Return the asset columns OSM tags can give: type, format, faces, digital."""
    return {"asset_type": asset_type, "format": fmt, "faces": faces, "digital": digital}


def _faces_tag(tags: Mapping[str, str]) -> int:
    """Return the faces from the ``faces`` or ``sides`` tag (first number >= 1), else 1."""
    for key in ("faces", "sides"):
        number = _first_number(tags.get(key, ""))
        if number is not None and number >= 1:
            return int(number)
    return 1


def _first_number(text: str) -> float | None:
    """Return the first number in a tag value (``"2;3"`` is 2, ``"2,5"`` is 2.5), or None."""
    match = re.search(r"\d+(?:[.,]\d+)?", text)
    return float(match.group().replace(",", ".")) if match else None


def _first_rule(tags: Mapping[str, str], rules: tuple[_Rule, ...]) -> _Rule | None:
    """Return the first rule all of whose conditions hold (a ``no`` value never matches)."""
    for rule in rules:
        values = [(tags.get(key), wanted) for key, wanted in rule[0]]
        if all(v not in (None, "no") and (w is None or v in w) for v, w in values):
            return rule
    return None


def _kind_by(rules: tuple[_Rule, ...]) -> Callable[[Mapping[str, str]], dict[str, object] | None]:
    """Build a classifier returning ``{"kind": label}`` of the first matching rule."""

    def classify(tags: Mapping[str, str]) -> dict[str, object] | None:
        rule = _first_rule(tags, rules)
        return {"kind": rule[1]} if rule else None

    return classify


def _classify_poi(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Map a footfall generator to its ``kind`` (the tag value) and ``category`` (the rule)."""
    rule = _first_rule(tags, _POI_RULES)
    return {"kind": tags[rule[0][0][0]], "category": rule[1]} if rule else None


def _classify_building(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Return ``building`` and ``levels`` (from ``building:levels``, NaN when untagged)."""
    building = tags.get("building")
    if not building or building == "no":
        return None
    levels = _first_number(tags.get("building:levels", ""))
    return {"building": building, "levels": math.nan if levels is None else levels}


#: Layer name -> classifier: OSM tags to the layer's columns, or None to skip the object.
CLASSIFIERS: dict[str, Callable[[Mapping[str, str]], dict[str, object] | None]] = {
    "assets": _classify_asset,
    "sites": _kind_by(_SITE_RULES),
    "transit": _kind_by(_TRANSIT_RULES),
    "pois": _classify_poi,
    "buildings": _classify_building,
}
