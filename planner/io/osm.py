"""Offline OpenStreetMap import: street assets, sensitive sites and audience layers from an extract.

Reads a ``.osm.pbf`` or ``.osm`` file with pyosmium and maps OSM tags onto the data contract;
every mapping (and every default it relies on) is written down in `planner.io.osm_tags`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
import shapely.ops
from osmium.osm.types import OSMEntity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from planner.errors import DataValidationError, Problem
from planner.geo import metric_crs, project
from planner.io.osm_tags import CLASSIFIERS, FALLBACK_SITE_RULES, LIFECYCLE_KEYS
from planner.io.source import FileSource, Source
from planner.schema import ASSET_COLUMNS, STORAGE_CRS

__all__ = [
    "ATTRIBUTION",
    "LAYERS",
    "SITE_MARGIN_M",
    "STOP_MERGE_M",
    "OsmImportReport",
    "import_osm",
    "import_osm_layers",
]

#: Attribution required by the ODbL wherever OSM-derived data are shown.
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"

#: Layers `import_osm_layers` can extract, in output order.
LAYERS = ("assets", "sites", "transit", "pois", "buildings")

_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".o5m")
_OSM_TYPES = {"n": "node", "w": "way", "r": "relation"}
_FORMAT_FIX = (
    "Give an OpenStreetMap extract saved as .osm.pbf or .osm (for example a county "
    "extract from download.geofabrik.de)"
)


_ASSET_KEYS = ("highway", "amenity", "advertising", "public_transport", *LIFECYCLE_KEYS)
#: Largest distance in metres between a standalone public-transport shelter and the bus stop
#: it is merged into. A shelter stands at its stop's flag, inside the kerbside box where one
#: bus (about 12 m) pulls in, so a shelter more than 15 m from every stop object is a shelter
#: of its own. A shelter joins its nearest stop only, and stops are never merged with each
#: other: stops on the two sides of a road can be 15 m apart.
STOP_MERGE_M = 15.0
#: Metres beyond ``bbox`` within which sensitive sites are still imported. A school just
#: outside the box still excludes advertising inside it up to a rule's distance: 400 m is
#: the widest distance UK councils draw around schools (hot-food takeaway exclusion zones
#: of 400 m, a ten-minute walk), four times the CAP Code's 100 m. A policy with a wider
#: exclusion needs a wider margin (``site_margin_m``).
SITE_MARGIN_M = 400.0
# layer -> (id column, its own columns, the tag keys it needs: pyosmium drops other objects)
_LAYER_SPECS = {
    "assets": (
        "asset_id",
        ("asset_type", "format", "faces", "digital", "status", "osm_rule"),
        _ASSET_KEYS,
    ),
    "sites": ("site_id", ("kind",), ("amenity", "healthcare", "leisure", "building", "landuse")),
    "transit": ("transit_id", ("kind",), ("railway", "public_transport", "amenity", "highway")),
    "pois": ("poi_id", ("kind", "category"), ("shop", "amenity", "tourism", "leisure")),
    "buildings": ("building_id", ("building", "levels"), ("building",)),
}
_OSM_COLUMNS = ("name", "osm_id", "osm_type", "tags")
_WKB = osmium.geom.WKBFactory()


@dataclass
class OsmImportReport:
    """What the import made of an extract: rows per tag rule, skips per reason, merges.

    Attributes
    ----------
    source
        The extract's file name.
    produced
        Per layer, how many objects each tag rule (``"highway=bus_stop shelter=yes"``)
        turned into rows, before merging and the bbox.
    skipped
        Per layer, how many objects were left out, by reason (``"amenity=telephone without
        an advertising tag"``, ``"public_transport=stop_position ..."``, lifecycle tags,
        no usable geometry, outside the bbox).
    merged
        One line per standalone public-transport shelter merged into its bus stop.
    merge_distance_m
        `STOP_MERGE_M`, the largest shelter-to-stop distance merged.
    notes
        One sentence per thing the user must know about a layer: sites kept beyond the
        bbox, multipolygon relations the extract holds only in part (and how each was
        imported).
    """

    source: str
    produced: dict[str, Counter] = field(default_factory=dict)
    skipped: dict[str, Counter] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    merge_distance_m: float = STOP_MERGE_M
    notes: list[str] = field(default_factory=list)

    def count(self, layer: str, rule: str) -> None:
        """Count one object turned into a row of ``layer`` by tag rule ``rule``."""
        self.produced.setdefault(layer, Counter())[rule] += 1

    def skip(self, layer: str, reason: str, n: int = 1) -> None:
        """Count ``n`` objects left out of ``layer`` for ``reason``."""
        if n:
            self.skipped.setdefault(layer, Counter())[reason] += n

    def to_text(self) -> str:
        """Return the report in plain words, one line per rule, reason and merge."""
        lines = [f"OpenStreetMap import of {self.source}"]
        for layer in dict.fromkeys([*self.produced, *self.skipped]):
            lines.append(f"  {layer}:")
            for rule, n in sorted(self.produced.get(layer, {}).items(), key=lambda x: -x[1]):
                lines.append(f"    {n:>6}  from {rule}")
            for reason, n in sorted(self.skipped.get(layer, {}).items(), key=lambda x: -x[1]):
                lines.append(f"    {n:>6}  skipped: {reason}")
        if self.merged:
            lines.append(
                f"  {len(self.merged)} public-transport shelter(s) merged into the bus stop "
                f"they stand at (within {self.merge_distance_m:g} m):"
            )
            lines += [f"    {m}" for m in self.merged]
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def import_osm(
    path: Source,
    *,
    filename: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    site_margin_m: float = SITE_MARGIN_M,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read street assets and sensitive sites from an OpenStreetMap extract, offline.

    Assets are rows of the data contract (bus stops and shelters, advertising devices,
    street lamps, bike docks; objects that carry no advertising are skipped): points for
    nodes, and the drawn line or area
    for ways, so exclusions are measured from their nearest point; a standalone
    public-transport shelter within `STOP_MERGE_M` of a bus stop is merged into that
    stop. Sites keep polygons for closed ways and multipolygon relations and points for
    nodes. Each frame's ``attrs["import_report"]`` is the `OsmImportReport` (rows per tag
    rule, skips per reason, merges). Both carry ``osm_id``, ``osm_type``,
    ``tags`` (JSON) and ``source`` (the ODbL attribution, also in ``attrs["attribution"]``).
    Ids are ``osm-`` plus the type's initial and the OSM id (``osm-n123``, ``osm-w45``,
    ``osm-r6``); ``attrs["clipped"]`` lists the ids of features the extract's edge cut.
    How tags map to asset types, formats, faces and site kinds, and the defaults used, is
    in `planner.io.osm_tags`. The frames are built in contract shape, not run through
    the loaders' validation.

    Parameters
    ----------
    path
        A ``.osm.pbf`` or ``.osm`` (optionally ``.gz``/``.bz2``) file: a path, its bytes
        or a binary file object.
    filename
        The file's name when ``path`` is bytes or a file object: its ending gives the
        format and messages name it (never used as a path). Ignored for a path.
    bbox
        Optional ``(min_lon, min_lat, max_lon, max_lat)``: keep only features touching it;
        sensitive sites are kept up to ``site_margin_m`` beyond it.
    site_margin_m
        Metres beyond ``bbox`` within which sites are kept (`SITE_MARGIN_M`, 400): a
        school just outside the box still protects the assets inside it. Give at least the
        largest ``within_m`` of the policy to be applied.

    Returns
    -------
    tuple of GeoDataFrame
        ``(assets, sites)`` in EPSG:4326.

    Raises
    ------
    DataValidationError
        When the file is missing, empty, truncated or not OpenStreetMap data, or ``bbox``
        is not four degrees with min < max.

    Warns
    -----
    UserWarning
        When features were skipped because the extract holds no usable geometry for
        them (e.g. a way whose nodes are all outside the extract).

    Examples
    --------
    >>> assets, sites = import_osm("rutland.osm.pbf")
    >>> assets["asset_type"].value_counts()["bus_stop"]
    25
    """
    layers = import_osm_layers(
        path, filename=filename, bbox=bbox, layers=("assets", "sites"), site_margin_m=site_margin_m
    )
    return layers["assets"], layers["sites"]


def import_osm_layers(
    path: Source | FileSource,
    *,
    filename: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    layers: Iterable[str] = LAYERS,
    site_margin_m: float = SITE_MARGIN_M,
) -> dict[str, gpd.GeoDataFrame]:
    """Read the planner's layers from an OpenStreetMap extract in one pass.

    Besides ``assets`` and ``sites`` (see `import_osm`), ``transit`` holds stations and
    stops as points (``kind``), ``pois`` shops, food and drink and other footfall
    generators as points (``kind``, ``category``), and ``buildings`` every building
    polygon with its ``building`` tag and ``levels`` (NaN when untagged) — the raw
    material of a demand layer.

    Parameters
    ----------
    path
        A ``.osm.pbf`` or ``.osm`` file (optionally ``.gz``/``.bz2``): a path, its bytes or a
        binary file object (e.g. an upload).
    filename
        The file's name when ``path`` is bytes or a file object (see `import_osm`).
    bbox
        Optional ``(min_lon, min_lat, max_lon, max_lat)``: keep only features touching it
        (sites: touching it widened by ``site_margin_m``).
    layers
        Names from `LAYERS` to extract.
    site_margin_m
        Metres beyond ``bbox`` within which sites are kept (see `import_osm`).

    Returns
    -------
    dict of str to GeoDataFrame
        One EPSG:4326 frame per requested layer, in the order asked for, each with
        ``name``, ``osm_id``, ``osm_type``, ``tags`` (JSON), ``source`` (the ODbL
        attribution) and ``attrs["attribution"]`` and ``attrs["clipped"]`` as for
        `import_osm`. An object can appear in several layers (a bus stop is an asset and
        a transit stop). ``transit`` and ``pois`` are points; ``buildings`` keeps polygons
        only.

    Raises
    ------
    DataValidationError
        When a layer name is unknown or none is asked for, ``bbox`` or ``site_margin_m``
        is invalid, or the file is missing, empty, of another type, truncated or not
        OpenStreetMap data.

    Warns
    -----
    UserWarning
        When features were skipped for lack of usable geometry in the extract.

    Notes
    -----
    The file is streamed once with pyosmium, keeping only objects with a tag key some
    requested layer needs; multipolygon relations are assembled into areas. A site
    relation the extract holds only in part (no area assembles) is read again from its
    member ways present (a second pass) and imported from them, named in the report's
    notes. Nothing is downloaded. Data derived from OSM must be shown with `ATTRIBUTION` (ODbL 1.0).

    Examples
    --------
    >>> layers = import_osm_layers("rutland.osm.pbf", layers=("transit", "pois"))
    >>> sorted(layers)
    ['pois', 'transit']
    """
    path = FileSource.of(path, filename)
    wanted = _check_layers(path, layers)
    area = _check_bbox(path, bbox)
    if not (isinstance(site_margin_m, int | float) and 0 <= site_margin_m < math.inf):
        found = f"site_margin_m={site_margin_m!r} is not a distance in metres"
        raise _fail(path, "site_margin_m", found, "Give a number of metres, 0 or more")
    classifiers = {name: CLASSIFIERS[name] for name in wanted}
    report = OsmImportReport(path.name)
    rows, skipped = _scan(_check_file(path), classifiers, report)
    if skipped:
        warnings.warn(
            f"{path.name}: {len(skipped)} feature(s) skipped because the extract holds no "
            f"usable geometry for them (e.g. {skipped[0]}); use an extract made with "
            "complete ways and relations to include them",
            UserWarning,
            stacklevel=2,
        )
    frames = {name: _frame(name, rows[name]) for name in wanted}
    if "assets" in frames:
        frames["assets"] = _merge_shelters(frames["assets"], report)
    if "sites" in frames:
        frames["sites"] = _drop_covered(frames["sites"], report)
    if area is not None:
        frames = {
            name: _clip(frame, area, report, name, site_margin_m if name == "sites" else 0.0)
            for name, frame in frames.items()
        }
    for frame in frames.values():
        frame.attrs["import_report"] = report
    return frames


def _check_layers(path: FileSource, layers: Iterable[str]) -> list[str]:
    """Return the requested layer names, each once in the order given; refuse unknown ones."""
    wanted = list(dict.fromkeys(layers))
    unknown = [name for name in wanted if name not in LAYERS]
    if unknown or not wanted:
        found = f"unknown layer(s) {unknown}" if unknown else "no layer requested"
        raise _fail(path, "layers", found, f"Ask for some of {list(LAYERS)}")
    return wanted


def _check_bbox(path: FileSource, bbox: Iterable[float] | None) -> Polygon | None:
    """Return ``bbox`` as a lon/lat box polygon (None when unset), refusing an invalid one."""
    if bbox is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in bbox)
    except (TypeError, ValueError):
        x0 = y0 = x1 = y1 = math.nan
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        found = f"bbox {bbox!r} is not (min_lon, min_lat, max_lon, max_lat) in degrees"
        fix = "Give four numbers with min < max, longitudes in [-180, 180], latitudes in [-90, 90]"
        raise _fail(path, "bbox", found, fix)
    return box(x0, y0, x1, y1)


def _check_file(path: FileSource) -> FileSource:
    """Refuse a missing path, a folder, a non-OSM ending or an empty file before reading."""
    problem = None
    if not path.exists():
        problem = ("the file does not exist", f"Check the path. {_FORMAT_FIX}")
    elif not path.is_file():
        problem = ("this is a folder, not a file", _FORMAT_FIX)
    elif not path.name.lower().endswith(_SUFFIXES):
        problem = (f"'{path.suffix}' is not an OpenStreetMap file type", _FORMAT_FIX)
    elif path.size == 0:
        problem = ("the file is empty", f"Download the extract again. {_FORMAT_FIX}")
    if problem is not None:
        raise _fail(path, "", *problem)
    return path


def _fail(path: FileSource, column: str, found: str, fix: str) -> DataValidationError:
    """Build the `DataValidationError` of one file-level problem of the extract."""
    return DataValidationError(str(path), [Problem(path.name, "", column, found, fix)])


def _scan(
    path: FileSource,
    classifiers: Mapping[str, Callable[[Mapping[str, str]], dict[str, object] | None]],
    report: OsmImportReport,
) -> tuple[dict[str, list[dict[str, object]]], list[str]]:
    """Stream the file once; return the matching rows per layer and the skipped features."""
    keys = sorted({key for name in classifiers for key in _LAYER_SPECS[name][2]})
    processor = (
        osmium.FileProcessor(_osmium_input(path))
        .with_areas(osmium.filter.KeyFilter(*keys))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in classifiers}
    skipped: list[str] = []
    relations: dict[int, tuple[dict[str, str], list[int]]] = {}
    assembled: set[int] = set()
    try:
        for obj in processor:
            if isinstance(obj, osmium.osm.Relation) and "sites" in classifiers:
                _note_relation(obj, classifiers["sites"], relations)
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                assembled.add(obj.orig_id())
            _collect(obj, classifiers, rows, skipped, report)
        missing = {rid: info for rid, info in relations.items() if rid not in assembled}
        if missing:
            _incomplete_relations(path, missing, classifiers, rows, report)
    except RuntimeError as error:
        found = f"could not be read as OpenStreetMap data ({error})"
        fix = f"The file is truncated, damaged or not OSM data: download it again. {_FORMAT_FIX}"
        raise _fail(path, "", found, fix) from None
    return rows, skipped


def _note_relation(
    obj: osmium.osm.Relation,
    classify: Callable[[Mapping[str, str]], dict[str, object] | None],
    relations: dict[int, tuple[dict[str, str], list[int]]],
) -> None:
    """Remember a multipolygon relation that is a sensitive site: its tags and member ways."""
    tags = {tag.k: tag.v for tag in obj.tags}
    if tags.get("type") not in {"multipolygon", "boundary"}:
        return
    attrs = classify(tags)
    if attrs and "skip" not in attrs:
        ways = [m.ref for m in obj.members if m.type == "w"]
        relations[obj.id] = (tags, ways)


def _incomplete_relations(
    path: FileSource,
    missing: dict[int, tuple[dict[str, str], list[int]]],
    classifiers: Mapping[str, Callable[[Mapping[str, str]], dict[str, object] | None]],
    rows: dict[str, list[dict[str, object]]],
    report: OsmImportReport,
) -> None:
    """Import the site relations whose area pyosmium could not assemble, from their parts.

    An extract cut at its edge (Geofabrik, osmium extract) keeps a school's multipolygon
    relation but not every member way, and the relation then yields no area at all: the
    school would vanish without a word. Its member ways present in the extract are read
    in a second pass; when they close around an area the site is that area, else the area
    its available nodes outline (their convex hull: a point inside the campus stays
    protected; a lone node or a straight line stays a point or line). Each is named in
    the report's notes, and marked clipped.
    """
    wanted = {way for _, ways in missing.values() for way in ways}
    coords: dict[int, list[tuple[float, float]]] = {}
    processor = osmium.FileProcessor(_osmium_input(path)).with_locations()
    for obj in processor:
        if isinstance(obj, osmium.osm.Way) and obj.id in wanted:
            coords[obj.id] = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
    for rid, (tags, ways) in sorted(missing.items()):
        parts = [coords[w] for w in ways if coords.get(w)]
        label = f"relation {rid}" + (f" ({tags['name']})" if tags.get("name") else "")
        geometry, how = _from_parts(parts)
        if geometry is None:
            report.skip("sites", "multipolygon relation with no member in the extract")
            report.notes.append(
                f"sites: {label} is a site, but none of its {len(ways)} member way(s) is in "
                "the extract, so it was left out: use an extract made with complete "
                "relations (osmium extract --strategy smart)"
            )
            continue
        attrs = dict(classifiers["sites"](tags) or {})
        rule = str(attrs.pop("rule", ""))
        report.count("sites", f"{rule} (incomplete relation)")
        report.notes.append(
            f"sites: {label} has {len(parts)} of its {len(ways)} member way(s) in the "
            f"extract; imported as {how}"
        )
        rows["sites"].append(
            {
                "id": f"osm-r{rid}",
                "name": tags.get("name", ""),
                "osm_id": rid,
                "osm_type": "relation",
                "tags": json.dumps(tags, ensure_ascii=False, sort_keys=True),
                "geometry": geometry,
                "clipped": True,
                **attrs,
            }
        )


def _from_parts(parts: list[list[tuple[float, float]]]) -> tuple[BaseGeometry | None, str]:
    """Shape of a relation from its available member ways, and how it was made (in words)."""
    lines = [LineString(p) for p in parts if len(p) >= 2]
    polygons = list(shapely.ops.polygonize(lines)) if lines else []
    if polygons:
        return _polygonal(shapely.union_all(polygons)), "the area its available ways close around"
    points = shapely.MultiPoint([c for p in parts for c in p])
    if points.is_empty:
        return None, ""
    hull = points.convex_hull
    if hull.geom_type == "Polygon":
        return hull, "the area its available ways' nodes outline (their convex hull)"
    return hull, f"the {hull.geom_type.lower()} its available nodes give"


def _osmium_input(path: FileSource) -> str | osmium.io.FileBuffer:
    """Return what pyosmium reads: the path, or the bytes with the format their ending names."""
    if path.data is None:
        return str(path)
    ending = next(s for s in _SUFFIXES if path.name.lower().endswith(s))
    return osmium.io.FileBuffer(path.data, ending.lstrip("."))


def _collect(
    obj: OSMEntity,
    classifiers: Mapping[str, Callable[[Mapping[str, str]], dict[str, object] | None]],
    rows: dict[str, list[dict[str, object]]],
    skipped: list[str],
    report: OsmImportReport,
) -> None:
    """Classify one OSM object and append a row to every layer it belongs to.

    Objects with no usable geometry are named in ``skipped`` instead. Each row has the
    common columns (id, name, OSM id and type, JSON tags, geometry, clipped) plus what
    the layer's classifier returned; ``report`` counts the rule of each row and the
    reason of each object a layer refused.
    """
    kind = obj.type_str()
    # Closed ways are read as ways; relations only arrive assembled as areas.
    if kind == "r" or (isinstance(obj, osmium.osm.Area) and obj.from_way()):
        return
    tags = {tag.k: tag.v for tag in obj.tags}
    found = {}
    for name, classify in classifiers.items():
        attrs = classify(tags)
        if attrs and "skip" in attrs:
            report.skip(name, str(attrs["skip"]))
        elif attrs:
            found[name] = dict(attrs)
    if not found:
        return
    osm_type = "relation" if kind == "a" else _OSM_TYPES[kind]
    osm_id = obj.orig_id() if isinstance(obj, osmium.osm.Area) else obj.id
    geometry, clipped = _geometry(obj)
    if geometry is None:
        skipped.append(f"{osm_type} {osm_id}")
        for name in found:
            report.skip(name, "no usable geometry in the extract")
        return
    common = {
        "id": f"osm-{osm_type[0]}{osm_id}",
        "name": tags.get("name", ""),
        "osm_id": osm_id,
        "osm_type": osm_type,
        "tags": json.dumps(tags, ensure_ascii=False, sort_keys=True),
        "geometry": geometry,
        "clipped": clipped,
    }
    for name, attrs in found.items():
        rule = str(attrs.pop("rule", ""))
        report.count(name, rule)
        if name == "assets":
            attrs["osm_rule"] = rule
        if name == "sites":
            attrs["fallback"] = rule in FALLBACK_SITE_RULES
        rows[name].append({**common, **attrs})


def _geometry(obj: OSMEntity) -> tuple[BaseGeometry | None, bool]:
    """Return the object's shape (point, line or polygon) and whether the extract's edge cut it.

    A way cut by the edge of the extract keeps the part whose nodes are inside: a site
    half outside the extract still excludes advertising near the half inside.
    """
    try:
        if isinstance(obj, osmium.osm.Node):
            location = obj.location
            return (Point(location.lon, location.lat) if location.valid() else None), False
        if isinstance(obj, osmium.osm.Way):
            return _way_geometry(obj)
        assert isinstance(obj, osmium.osm.Area)  # `_collect` passes no relation
        return _polygonal(shapely.from_wkb(_WKB.create_multipolygon(obj))), False
    except (osmium.InvalidLocationError, RuntimeError, shapely.errors.GEOSException):
        return None, False


def _way_geometry(way: osmium.osm.Way) -> tuple[BaseGeometry | None, bool]:
    """Return a way as a polygon (closed, 3+ distinct nodes), a line, or a point, and if cut.

    Only nodes with a location in the extract count; a closed way keeps its polygon
    shape even when some of its nodes are missing.
    """
    coords = [(node.lon, node.lat) for node in way.nodes if node.location.valid()]
    clipped = len(coords) < len(way.nodes)
    if way.ends_have_same_id() and len(set(coords)) >= 3:
        return _polygonal(Polygon(coords)), clipped
    if len(coords) >= 2:
        return LineString(coords), clipped
    return (Point(coords[0]) if coords else None), clipped


def _polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """Return the polygon parts of a shape, made valid first; None when it has none."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    parts = [p for p in parts if not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _frame(layer: str, rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Build one layer's rows into a contract-shaped GeoDataFrame in EPSG:4326."""
    id_column, columns, _ = _LAYER_SPECS[layer]
    extra = {"assets": ["role"], "sites": ["fallback"]}.get(layer, [])
    table = pd.DataFrame(
        rows, columns=["id", *columns, *_OSM_COLUMNS, *extra, "geometry", "clipped"]
    )
    table = table.rename(columns={"id": id_column})
    clipped = table.loc[table.pop("clipped").astype(bool), id_column].tolist()
    table["source"] = ATTRIBUTION
    if layer == "assets":
        table = _asset_defaults(table)
    geometry = gpd.GeoSeries(list(table.pop("geometry")), crs=STORAGE_CRS)
    # Assets keep their lines and areas: an exclusion is measured from the nearest point
    # of a billboard drawn as a way, never from its middle.
    if layer in ("transit", "pois"):
        geometry = _points(geometry)
    elif layer == "buildings":
        polygonal = geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        # types-geopandas types a masked GeoSeries as a plain Series; it is a GeoSeries
        table, geometry = table[polygonal], geometry[polygonal]  # type: ignore[assignment]
    table = table.astype({"osm_id": "int64"})
    frame = gpd.GeoDataFrame(
        table.reset_index(drop=True), geometry=geometry.to_numpy(), crs=STORAGE_CRS
    )
    frame.attrs["attribution"] = ATTRIBUTION
    frame.attrs["clipped"] = clipped
    return frame


def _asset_defaults(table: pd.DataFrame) -> pd.DataFrame:
    """Add the asset contract's other columns with their defaults, in contract order.

    OSM says nothing about loop slots, audiences, prices or wards: ``slots`` is 6,
    ``status`` available, and ``weekly_impacts``, ``price_per_cycle`` and ``ward`` are
    left empty (modelled, priced from the rate card or matched later).
    """
    for column in ("slots", "weekly_impacts", "price_per_cycle", "ward"):
        default = ASSET_COLUMNS[column]
        table[column] = math.nan if default is None else default
    table = table.astype({"faces": "int64", "digital": "bool", "slots": "int64"})
    extra = [c for c in table.columns if c not in ASSET_COLUMNS]
    return table[[*ASSET_COLUMNS, *extra]]


def _points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Reduce shapes to points: a line gives its midpoint, an area a point inside it."""
    shapes = geometry.to_numpy().copy()
    kinds = shapely.get_type_id(shapes)
    lines, areas = kinds == 1, kinds >= 3
    # Degrees are fine here: the midpoint of a street-furniture line metres long.
    shapes[lines] = shapely.line_interpolate_point(shapes[lines], 0.5, normalized=True)
    shapes[areas] = shapely.point_on_surface(shapes[areas])
    return gpd.GeoSeries(shapes, crs=geometry.crs)


def _clip(
    frame: gpd.GeoDataFrame,
    area: Polygon,
    report: OsmImportReport,
    layer: str,
    margin_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Keep the features touching ``area`` widened by ``margin_m`` (whole, not cut), and attrs.

    Features kept only thanks to the margin are named in a note of ``report``.
    """
    inside = frame.intersects(area).to_numpy(dtype=bool)
    wide = _widened(area, margin_m)
    near = frame.intersects(wide).to_numpy(dtype=bool) & ~inside if margin_m > 0 else inside & False
    kept = frame[inside | near].reset_index(drop=True)
    report.skip(
        layer,
        "outside the bbox" + (f" by more than {margin_m:g} m" if margin_m > 0 else ""),
        len(frame) - len(kept),
    )
    if near.any():
        id_column = frame.columns[0]
        names = [
            f"{i}" + (f" ({n})" if n else "")
            for i, n in zip(frame.loc[near, id_column], frame.loc[near, "name"], strict=True)
        ]
        report.notes.append(
            f"{layer}: {len(names)} kept outside the bbox, within {margin_m:g} m of it (a rule's "
            f"distance reaches into the box): {', '.join(names[:8])}"
            + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        )
    id_column = kept.columns[0]
    kept.attrs["attribution"] = ATTRIBUTION
    kept.attrs["clipped"] = [i for i in frame.attrs["clipped"] if i in set(kept[id_column])]
    return kept


def _drop_covered(sites: gpd.GeoDataFrame, report: OsmImportReport) -> gpd.GeoDataFrame:
    """Drop sites found only by a fallback tag that lie inside a site already imported.

    A school's ``building=school`` buildings and its ``landuse=education`` grounds usually
    sit inside its ``amenity=school`` area: they add nothing to its protection, so they
    are dropped (counted in the report). One mapped only by its building or grounds stays.
    """
    fallback = np.array([v is True for v in sites.pop("fallback")], dtype=bool)
    if not fallback.any() or fallback.all():
        return sites
    geoms = sites.geometry.to_numpy()
    areas = np.flatnonzero(~fallback & np.isin(shapely.get_type_id(geoms), [3, 6]))
    if not len(areas):
        return sites
    tree = shapely.STRtree(geoms[areas])
    inner, _ = tree.query(geoms[fallback], predicate="covered_by")
    drop = np.flatnonzero(fallback)[np.unique(inner)]
    report.skip("sites", "building=school|kindergarten, landuse=education inside a site", len(drop))
    attrs = dict(sites.attrs)
    kept = sites.drop(index=sites.index[drop]).reset_index(drop=True)
    kept.attrs.update(attrs)
    kept.attrs["clipped"] = [i for i in attrs.get("clipped", []) if i in set(kept["site_id"])]
    return kept


def _widened(area: Polygon, margin_m: float) -> Polygon:
    """Return a lon/lat box widened by ``margin_m`` metres on every side (never narrower).

    Degrees of longitude shrink towards the poles: the box's widest latitude gives the
    (largest) longitude margin, so the margin is at least ``margin_m`` everywhere.
    """
    if margin_m <= 0:
        return area
    x0, y0, x1, y1 = area.bounds
    dy = margin_m / 110_574.0  # the shortest degree of latitude (at the equator), in metres
    lat = min(max(abs(y0), abs(y1)) + dy, 89.0)
    dx = margin_m / (111_320.0 * math.cos(math.radians(lat)))  # 111.32 km at the equator
    return box(max(x0 - dx, -180.0), max(y0 - dy, -90.0), min(x1 + dx, 180.0), min(y1 + dy, 90.0))


def _merge_shelters(assets: gpd.GeoDataFrame, report: OsmImportReport) -> gpd.GeoDataFrame:
    """Merge each standalone public-transport shelter into the bus stop it stands at.

    One physical stop is often mapped as a stop (``highway=bus_stop`` or a bus platform,
    perhaps with ``shelter=yes``) and a separate ``amenity=shelter`` +
    ``shelter_type=public_transport``. A shelter within `STOP_MERGE_M` metres of a stop
    object joins the nearest one (each stop takes its nearest shelter only): the asset
    keeps the stop's id and name, becomes a ``bus_shelter`` with the larger of the two
    face counts, is unavailable when either is, and stands where the shelter is, the
    structure that carries the panels. ``merged_osm`` names the shelter; ``role`` goes.
    """
    roles = np.array([r if isinstance(r, str) else "" for r in assets.pop("role")], dtype=object)
    assets["merged_osm"] = ""
    stops, shelters = np.flatnonzero(roles == "stop"), np.flatnonzero(roles == "shelter")
    if not len(stops) or not len(shelters):
        return assets
    metric = project(assets.geometry, metric_crs(assets)).to_numpy()
    tree = shapely.STRtree(metric[stops])
    near_shelter, near_stop = tree.query(
        metric[shelters], predicate="dwithin", distance=STOP_MERGE_M
    )
    dist = shapely.distance(metric[shelters][near_shelter], metric[stops][near_stop])
    taken: set[int] = set()
    drop = []
    for k in np.lexsort((near_stop, dist)):  # nearest pairs first
        shelter, stop = shelters[near_shelter[k]], stops[near_stop[k]]
        if shelter in drop or stop in taken:
            continue
        into: dict[Any, Any] = assets.loc[stop].to_dict()
        named = f", {into['name']!r}" if into["name"] else ""
        report.merged.append(
            f"{assets.loc[shelter, 'asset_id']} (public-transport shelter) into "
            f"{into['asset_id']} ({into['osm_rule']}{named}), {dist[k]:.0f} m apart"
        )
        _absorb(assets, stop, shelter)
        taken.add(stop)
        drop.append(shelter)
    return assets.drop(index=drop).reset_index(drop=True)


def _absorb(assets: gpd.GeoDataFrame, stop: int, shelter: int) -> None:
    """Turn row ``stop`` into the asset of the stop and row ``shelter`` together."""
    row: dict[Any, Any] = assets.loc[shelter].to_dict()
    into: dict[Any, Any] = assets.loc[stop].to_dict()
    assets.loc[stop, "asset_type"] = "bus_shelter"
    assets.loc[stop, "faces"] = max(int(into["faces"]), int(row["faces"]))
    assets.loc[stop, "digital"] = bool(into["digital"]) or bool(row["digital"])
    if row["status"] == "unavailable":
        assets.loc[stop, "status"] = "unavailable"
    if not into["name"]:
        assets.loc[stop, "name"] = row["name"]
    assets.loc[stop, "osm_rule"] = f"{into['osm_rule']} + {row['osm_rule']}"
    assets.loc[stop, "merged_osm"] = f"{row['osm_type']} {row['osm_id']}"
    assets.loc[[stop], "geometry"] = gpd.GeoSeries([row["geometry"]], index=[stop], crs=assets.crs)
