"""OpenStreetMap tags to contract rows: assets, sites, transit, footfall points and buildings.

Pure functions of a tag mapping; every mapping (and every default it relies on) is written
down in the tables below, with tags as the OSM wiki documents them (e.g. ``advertising=*``,
``highway=bus_stop``, ``amenity=school``). `planner.io.osm` reads the extract and applies
them through `CLASSIFIERS`.

Examples
--------
>>> CLASSIFIERS["assets"]({"public_transport": "platform", "bus": "yes", "shelter": "yes"})
{'asset_type': 'bus_shelter', 'format': '6-sheet', 'faces': 2, 'digital': False, \
'rule': 'public_transport=platform bus=yes shelter=yes', 'role': 'stop', 'status': 'available'}
>>> CLASSIFIERS["assets"]({"advertising": "billboard", "animated": "screen", "sides": "2"})
{'asset_type': 'billboard', 'format': 'd48', 'faces': 2, 'digital': True, \
'rule': 'advertising=billboard', 'status': 'available'}
>>> CLASSIFIERS["assets"]({"amenity": "telephone"})
{'skip': 'amenity=telephone without an advertising tag'}
>>> CLASSIFIERS["sites"]({"amenity": "kindergarten"})
{'kind': 'nursery', 'rule': 'amenity=kindergarten|childcare'}
>>> CLASSIFIERS["pois"]({"amenity": "cafe"})
{'kind': 'cafe', 'category': 'food_drink', 'rule': \
'amenity=restaurant|cafe|pub|bar|fast_food|food_court|ice_cream|biergarten'}
>>> CLASSIFIERS["buildings"]({"building": "yes", "building:levels": "3"})
{'building': 'yes', 'levels': 3.0, 'rule': 'building=*'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

__all__ = ["CLASSIFIERS", "FALLBACK_SITE_RULES", "GONE_PREFIXES", "LIFECYCLE_KEYS"]

# Tag rules read like the OSM wiki: "key=value", "key=v1|v2" (any of them) or "key=*" (any
# value but "no"), several conditions separated by spaces; the first matching rule wins.
_Rule = tuple[tuple[tuple[str, frozenset[str] | None], ...], str, str]


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    """Compile ``(spec, label)`` pairs, e.g. ``("amenity=school", "school")``, into rules."""

    def condition(text: str) -> tuple[str, frozenset[str] | None]:
        key, _, values = text.partition("=")
        return key, None if values == "*" else frozenset(values.split("|"))

    return tuple((tuple(condition(c) for c in spec.split()), label, spec) for spec, label in pairs)


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

# Council street furniture let with its advertising rights under a concession, taken as an
# asset without an advertising tag: lighting columns carry the council's lamp-column
# banners, and bike-share docking stations the scheme's panels. rule -> (type, format, faces)
_FURNITURE = {
    "highway=street_lamp": ("lamp_column", "banner", 1),
    "amenity=bicycle_rental": ("bike_dock", "6-sheet", 1),
}
_FURNITURE_RULES = _rules(*((spec, spec) for spec in _FURNITURE))

#: Lifecycle prefixes (OSM wiki "Lifecycle prefix") of an object that is no longer, or not
#: yet, on the street: it gives no asset. ``disused:`` (still standing, not in use) gives an
#: unavailable asset instead.
GONE_PREFIXES = (
    "abandoned",
    "construction",
    "proposed",
    "planned",
    "was",
    "removed",
    "demolished",
    "razed",
    "destroyed",
)
_LIFECYCLE_KEYS = ("highway", "amenity", "advertising", "public_transport", "shelter")
#: Keys a lifecycle prefix is looked for on; `planner.io.osm` reads objects with these keys.
LIFECYCLE_KEYS = tuple(
    f"{prefix}:{key}" for prefix in (*GONE_PREFIXES, "disused") for key in _LIFECYCLE_KEYS
)
#: ``message=*`` values (OSM wiki Key:message) of a device that shows paid advertising;
#: the key is absent on most, and commercial is its documented default.
_COMMERCIAL_MESSAGES = frozenset({"commercial", "showbiz"})
#: Tags of an information or notice board (a council notice board, a map or a timetable
#: screen): an advertising tag on one is read as the board's display type, so it is an
#: asset only with ``message=commercial``.
_INFORMATION_BOARD = _rules(
    ("tourism=information", "information board"),
    ("information=*", "information board"),
    ("amenity=notice_board", "notice board"),
    ("board_type=*", "notice board"),
)
_BUS_STOP_RULES = _rules(
    ("amenity=shelter shelter_type=public_transport", "shelter"),
    ("highway=bus_stop", "stop"),
    ("public_transport=platform bus=yes", "stop"),
    ("public_transport=platform trolleybus=yes", "stop"),
)


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
    # A school mapped only by its building, or only by its grounds: an educational campus
    # whose kind is not tagged is taken as a school, the kind the strictest rules protect.
    ("building=school", "school"),
    ("building=kindergarten", "nursery"),
    ("landuse=education", "school"),
)

#: Site rules that find a school by its building or grounds only: such a site inside one
#: found by its own tags (``amenity=school``) is the same school, and `planner.io.osm`
#: drops it.
FALLBACK_SITE_RULES = frozenset({"building=school", "building=kindergarten", "landuse=education"})

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
    ("public_transport=platform bus=yes", "bus_stop"),
    ("public_transport=platform trolleybus=yes", "bus_stop"),
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
    """Map an object's tags to asset columns, ``{"skip": reason}``, or None (not an asset).

    The asset columns come with ``rule`` (the tag rule that matched), ``status``
    (``unavailable`` for a ``disused`` object) and, for a bus stop or a public-transport
    shelter, ``role`` (``"stop"`` or ``"shelter"``, used to merge the two). In order:

    1. lifecycle: a ``disused:`` key or ``disused=yes`` gives an unavailable asset; an
       ``abandoned:``, ``construction:``, ``proposed:`` (or other `GONE_PREFIXES`) key or
       ``abandoned|construction|proposed=yes`` gives none;
    2. ``public_transport=stop_position`` is where a bus halts on the road: none;
    3. ``physically_present=no`` and hail-and-ride stops (``hail_and_ride=yes``,
       ``bus_stop=hail_and_ride``) have nothing on the street: none;
    4. ``advertising=no|none``: none;
    5. a public-transport shelter, a bus stop (``highway=bus_stop``, or a platform with
       ``bus=yes``/``trolleybus=yes``): a shelter when ``shelter=yes``;
    6. ``advertising=*``: none when ``message=*`` says it is not commercial, or when the
       object is an information or notice board without ``message=commercial``; else
       the advertising device (digital for ``screen`` or an ``animated`` display);
    7. ``amenity=telephone`` without an advertising tag: none (a kiosk carries no
       advertising unless tagged so);
    8. council street furniture (`_FURNITURE`).
    """
    found = _classify_present(tags)
    if found is not None and "skip" not in found:
        for key in ("abandoned", "construction", "proposed"):
            if tags.get(key) == "yes":
                return {"skip": f"{key}=yes (not on the street)"}
        if tags.get("disused") == "yes":
            return found | {"status": "unavailable", "rule": f"disused=yes ({found['rule']})"}
        return found | {"status": "available"}
    if found is not None:
        return found
    return _lifecycle(tags)


def _lifecycle(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Classify an object whose asset tags all carry a lifecycle prefix (e.g. ``disused:``)."""
    for prefix in (*GONE_PREFIXES, "disused"):
        now = {key: tags[f"{prefix}:{key}"] for key in _LIFECYCLE_KEYS if f"{prefix}:{key}" in tags}
        found = _classify_present({**tags, **now}) if now else None
        if found is None or "skip" in found:
            continue
        tag = ", ".join(f"{prefix}:{k}={v}" for k, v in now.items())
        if prefix == "disused":
            return found | {"status": "unavailable", "rule": f"{tag} ({found['rule']})"}
        return {"skip": f"{tag} (lifecycle prefix {prefix}: not on the street)"}
    return None


def _classify_present(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Apply steps 2-8 of `_classify_asset` to an object's current tags."""
    stop = _first_rule(tags, _BUS_STOP_RULES)
    advertising = tags.get("advertising")
    telephone = tags.get("amenity") == "telephone"
    furniture = _first_rule(tags, _FURNITURE_RULES)
    if tags.get("public_transport") == "stop_position":
        relevant = stop or advertising or telephone or furniture
        return (
            {"skip": "public_transport=stop_position (the road position, not the stop)"}
            if relevant
            else None
        )
    if not (stop or advertising or telephone or furniture):
        return None
    if tags.get("physically_present") == "no":
        return {"skip": "physically_present=no (nothing on the street)"}
    if (
        tags.get("hail_and_ride") in ("yes", "designated")
        or tags.get("bus_stop") == "hail_and_ride"
    ):
        return {"skip": "hail-and-ride stop (no fixed stop on the street)"}
    if advertising in ("no", "none"):
        return {"skip": f"advertising={advertising}"}
    if stop:
        kind = _SHELTER if stop[1] == "shelter" or tags.get("shelter") == "yes" else _BUS_STOP
        rule = stop[2] + (" shelter=yes" if stop[1] == "stop" and kind is _SHELTER else "")
        return _asset(*kind, digital=False) | {"rule": rule, "role": stop[1]}
    if advertising:
        return _advertising(tags, advertising)
    if telephone:
        return {"skip": "amenity=telephone without an advertising tag"}
    assert furniture is not None  # the only one of the four left
    return _asset(*_FURNITURE[furniture[1]], digital=False) | {"rule": furniture[2]}


def _advertising(tags: Mapping[str, str], advertising: str) -> dict[str, object]:
    """Describe the device an ``advertising=*`` object is, or skip it when it shows no ads."""
    messages = {m.strip() for m in tags.get("message", "").split(";") if m.strip()}
    if messages and not messages & _COMMERCIAL_MESSAGES:
        return {"skip": f"message={tags['message']} (no commercial advertising)"}
    board = _first_rule(tags, _INFORMATION_BOARD)
    if board and not messages & _COMMERCIAL_MESSAGES:
        return {"skip": f"{board[1]} ({board[2]}) without message=commercial"}
    asset_type, fmt = _ADVERTISING.get(advertising, ("other", "other"))
    digital = advertising == "screen" or tags.get("animated") in _ANIMATED_DIGITAL
    fmt = _DIGITAL_FORMATS.get(fmt, fmt) if digital else fmt
    rule = f"advertising={advertising if advertising in _ADVERTISING else '*'}"
    return _asset(asset_type, fmt, _faces_tag(tags), digital=digital) | {"rule": rule}


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
    """Build a classifier returning the first matching rule's ``kind`` and ``rule`` (its spec).

    A ``public_transport=stop_position`` (where a vehicle halts on the road) is never
    classified: the platform or pole is the stop.
    """

    def classify(tags: Mapping[str, str]) -> dict[str, object] | None:
        if tags.get("public_transport") == "stop_position":
            return None  # where a vehicle halts on the road; its platform is the stop
        rule = _first_rule(tags, rules)
        return {"kind": rule[1], "rule": rule[2]} if rule else None

    return classify


def _classify_poi(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Map a footfall generator to its ``kind`` (the tag value) and ``category`` (the rule)."""
    rule = _first_rule(tags, _POI_RULES)
    return {"kind": tags[rule[0][0][0]], "category": rule[1], "rule": rule[2]} if rule else None


def _classify_building(tags: Mapping[str, str]) -> dict[str, object] | None:
    """Return ``building`` and ``levels`` (from ``building:levels``, NaN when untagged)."""
    building = tags.get("building")
    if not building or building == "no":
        return None
    levels = _first_number(tags.get("building:levels", ""))
    levels = math.nan if levels is None else levels
    return {"building": building, "levels": levels, "rule": "building=*"}


#: Layer name -> classifier: OSM tags to the layer's columns and the ``rule`` that matched;
#: ``{"skip": reason}`` for an object the layer refuses (counted in the import report);
#: None for an object the layer has nothing to do with.
CLASSIFIERS: dict[str, Callable[[Mapping[str, str]], dict[str, object] | None]] = {
    "assets": _classify_asset,
    "sites": _kind_by(_SITE_RULES),
    "transit": _kind_by(_TRANSIT_RULES),
    "pois": _classify_poi,
    "buildings": _classify_building,
}
