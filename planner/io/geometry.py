"""Geometry checks of asset, site and zone tables, and the repairs that are safe to make.

Missing, non-finite or 0/0 locations, coordinates outside their CRS's area or with
longitude and latitude swapped, and degrees given a projected CRS are errors; invalid
shapes are repaired. `apply_shape_rules` then makes every shape a rule can measure: one
asset per part of a multi-part asset, a site's closed ring read as the area it encloses,
collections exploded, each conversion counted in a warning. Pure functions on
GeoDataFrames: problems go to the caller's `Collector`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from planner.io.fields import Collector

__all__ = ["PART_SEPARATOR", "apply_shape_rules", "check_geometry", "shape_parts", "site_areas"]

#: Between an asset's id and the number of one of its parts: ``A17#2`` is part 2 of A17.
PART_SEPARATOR = "#"
_POINT, _LINE, _RING, _POLYGON, _COLLECTION = 0, 1, 2, 3, 7
#: How many ids a warning names before "and N more".
_SHOWN = 8


def check_geometry(
    frame: gpd.GeoDataFrame, kind: str, source_crs: CRS, col: Collector
) -> gpd.GeoDataFrame:
    """Record every geometry problem in ``col``; return the frame with shapes repaired.

    Z and M values are dropped, invalid shapes are made valid and a zone's collection keeps
    its polygons; the CRS stays ``source_crs``. An empty shape (an empty MultiPoint, say)
    is an error naming its type; so is a multi-part asset whose part ids (``A17#1``, ...,
    see `apply_shape_rules`) are already used by another row.

    Parameters
    ----------
    frame
        Table with a geometry in ``source_crs``; rows in file order.
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``. Points at exactly 0/0 are errors for
        assets and sites; a zone must be a point or a polygon with an area.
    source_crs
        CRS the coordinates were read in. Geographic: longitudes beyond ±180 and
        latitudes beyond ±90 are errors, and a file lying wholly where Great Britain
        would be with x and y swapped is refused. Projected: values that look like
        degrees, and locations more than 1 degree outside the CRS's area of use, are errors.
    col
        Collector of the problems; rows with an error are added to ``col.bad``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` with its geometry replaced (same index, CRS ``source_crs``); bad rows
        are still present, for the caller to drop or report.

    Examples
    --------
    >>> col = Collector("assets.csv", row_labels(frame, "asset_id", 2))
    >>> frame = check_geometry(frame, "assets", CRS.from_user_input(27700), col)
    """
    # Heights (Z) and measures (M) play no part in any rule: dropped without a word.
    geoms = shapely.force_2d(np.asarray(frame.geometry.array, dtype=object))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        found = (
            "the location is missing"
            if shapely.is_missing(geoms[i])
            else f"the geometry is an empty {geoms[i].geom_type} (it has no coordinates)"
        )
        col.row(int(i), "geometry", found, "Give the row coordinates (or a geometry)")
    nonfinite, null_island = _bad_coordinates(geoms, missing, kind)
    for i in np.flatnonzero(nonfinite | null_island):
        if nonfinite[i]:
            col.row(
                int(i),
                "geometry",
                "a coordinate is not a finite number (NaN or infinite)",
                "Fix or remove the coordinates",
            )
        else:
            col.row(
                int(i),
                "geometry",
                "the point is at 0/0 ('null island'), a placeholder for a missing location",
                "Enter the real coordinates or remove the row",
            )
    usable = ~missing & ~nonfinite & ~null_island
    _check_extent(frame, usable, source_crs, col)
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        geoms = geoms.copy()
        geoms[invalid] = fixed
        col.file(
            "geometry",
            f"{int(invalid.sum())} invalid geometr(y/ies) (e.g. self-intersecting) were repaired",
            "Check the repaired shapes if exact boundaries matter",
            "warning",
        )
    if kind == "zones":
        geoms = _zone_shapes(geoms, usable, col)
    if kind == "assets":
        _check_part_ids(frame, geoms, usable, col)
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=source_crs))


def _zone_shapes(geoms: np.ndarray, usable: np.ndarray, col: Collector) -> np.ndarray:
    """Keep zones polygons or points: a collection keeps its polygons, a line is an error.

    Marks a rejected zone unusable in ``usable`` (in place) and returns the geometries.
    """
    kinds = shapely.get_type_id(geoms)
    collections = np.flatnonzero(usable & (kinds == 7))
    if len(collections):
        geoms = geoms.copy()
        for i in collections:
            parts = shapely.get_parts(geoms[i])
            polygons = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
            if len(polygons):
                geoms[i] = shapely.union_all(polygons)
        kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(usable & ~np.isin(kinds, [0, 3, 6])):
        col.row(
            int(i),
            "geometry",
            f"a zone must be a polygon or a point; this one is a {geoms[i].geom_type} "
            "(a line, or a polygon with no area)",
            "Draw the zone as a polygon with an area, or give its centre as a point",
        )
        usable[i] = False
    return geoms


def _bad_coordinates(
    geoms: np.ndarray, missing: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Find rows with a NaN or infinite coordinate, and point rows at exactly 0/0 (not zones).

    Returns two boolean masks, shape (n_rows,): non-finite, and 0/0 ("null island", a
    common placeholder for a missing location) among the finite points.
    """
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.zeros(len(geoms), dtype=bool)
    nonfinite[index[~np.isfinite(coords).all(axis=1)]] = True
    nonfinite &= ~missing
    points = ~missing & (shapely.get_type_id(geoms) == 0)
    null_island = np.zeros(len(geoms), dtype=bool)
    if kind != "zones":
        x, y = shapely.get_x(geoms[points]), shapely.get_y(geoms[points])
        null_island[points] = (x == 0) & (y == 0)
    return nonfinite, null_island & ~nonfinite


def _check_extent(
    frame: gpd.GeoDataFrame, usable: np.ndarray, source_crs: CRS, col: Collector
) -> None:
    """Flag usable rows whose coordinates cannot be right for ``source_crs``.

    The checks of `_extent_failures`, each row under the first it fails. When every usable
    row fails the same check the file, not its rows, is wrong (a CRS that is not the
    coordinates', or columns swapped throughout): one file-level error names the CRS the
    numbers look like and how to read the file in it (`_wrong_crs`), so dropping rows is
    never the advice. Flagged rows are marked unusable in place.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    bounds = shapely.bounds(geoms)
    failures = _extent_failures(geoms, bounds, usable, source_crs)
    failing = [name for name, mask in failures.items() if mask.any()]
    if len(failing) == 1 and failures[failing[0]].sum() == usable.sum():
        _wrong_crs(failing[0], bounds[usable], source_crs, col)
        col.bad.update(int(i) for i in np.flatnonzero(usable))
        usable[:] = False
        return
    area = source_crs.area_of_use
    for name, mask in failures.items():
        for i in np.flatnonzero(mask):
            x, y = bounds[i, 0], bounds[i, 1]
            if name == "range":
                hint = (
                    " — it looks like longitude and latitude are swapped"
                    if abs(x) <= 90 < abs(y) <= 180
                    else ""
                )
                found = f"coordinates ({x:g}, {y:g}) are outside the valid longitude/latitude range"
                col.row(
                    int(i),
                    "geometry",
                    found + hint,
                    "Check the coordinate columns and the CRS (longitude is x, latitude is y)",
                )
            elif name == "degrees":
                col.row(
                    int(i),
                    "geometry",
                    f"coordinates ({x:g}, {y:g}) look like longitude/latitude degrees, not "
                    f"{source_crs.name} coordinates",
                    "Pass crs='EPSG:4326' (--crs EPSG:4326) if the file holds longitude and "
                    "latitude",
                )
            else:
                col.row(
                    int(i),
                    "geometry",
                    f"coordinates ({x:g}, {y:g}) are outside the area {source_crs.name} covers "
                    f"({area.name if area is not None else 'its area of use'})",
                    "Check the coordinates and that the CRS is right",
                )
        usable[mask] = False


#: Great Britain and Ireland with longitude and latitude swapped (x 49.8-61, y -11-2): open
#: sea in the Indian Ocean, where no UK asset register can be.
_SWAPPED_GB = (49.8, -11.0, 61.0, 2.0)


def _extent_failures(
    geoms: np.ndarray, bounds: np.ndarray, usable: np.ndarray, crs: CRS
) -> dict[str, np.ndarray]:
    """Masks of the usable rows failing each check of the coordinates against ``crs``.

    Geographic CRS: ``range`` (beyond ±180/±90), then ``swapped`` (every other row lies
    where Great Britain is with longitude and latitude exchanged). Projected CRS:
    ``degrees`` (within 180 x 90 units of the CRS's origin: open sea for British National
    Grid and outside every UTM zone, so degrees given the wrong CRS), then ``area`` (more
    than 1 degree outside the CRS's area of use). A row is in the mask of the first check
    it fails only.
    """
    left = usable.copy()
    out: dict[str, np.ndarray] = {}
    if crs.is_geographic:
        out["range"] = left & (
            (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
        )
        left &= ~out["range"]
        x0, y0, x1, y1 = _SWAPPED_GB
        inside = (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) & (bounds[:, 1] >= y0)
        inside &= bounds[:, 3] <= y1
        out["swapped"] = left & inside if left.any() and inside[left].all() else left & False
        return out
    degrees = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (
        np.abs(bounds[:, [1, 3]]) <= 90
    ).all(axis=1)
    out["degrees"] = left & degrees
    left &= ~degrees
    out["area"] = left & False
    area = crs.area_of_use
    if area is None or not left.any():
        return out
    wgs = gpd.GeoSeries(geoms[left], crs=crs).to_crs("EPSG:4326")
    b = wgs.bounds.to_numpy()
    margin = 1.0
    outside = (
        ~np.isfinite(b).all(axis=1)
        | (b[:, 0] < area.west - margin)
        | (b[:, 2] > area.east + margin)
        | (b[:, 1] < area.south - margin)
        | (b[:, 3] > area.north + margin)
    )
    out["area"][np.flatnonzero(left)[outside]] = True
    return out


def coordinates_fit(geoms: np.ndarray, crs: CRS) -> bool:
    """Tell whether every usable location passes the extent checks of ``crs``.

    The checks `check_geometry` makes (`_extent_failures`): inside the longitude/latitude
    range for a geographic CRS (and not Great Britain with x and y exchanged), not
    degrees and inside the CRS's area of use for a projected one. Used to decide whether
    a CRS the caller gave fits a file better than the one the file states.

    Parameters
    ----------
    geoms
        Shapely geometries, shape (n,), as read (None and empty shapes are skipped).
    crs
        The CRS to read them in.

    Returns
    -------
    bool
        True when no usable row fails (also when there is no usable row).

    Examples
    --------
    >>> coordinates_fit(np.array([shapely.Point(530040, 180040)]), CRS.from_epsg(4326))
    False
    """
    geoms = np.asarray(geoms, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if usable.any():
        coords, index = shapely.get_coordinates(geoms[usable], return_index=True)
        finite = np.ones(int(usable.sum()), dtype=bool)
        finite[index[~np.isfinite(coords).all(axis=1)]] = False
        usable[np.flatnonzero(usable)[~finite]] = False
    bounds = shapely.bounds(geoms)
    return not any(m.any() for m in _extent_failures(geoms, bounds, usable, crs).values())


#: What coordinates look like, by range: (test on x and y bounds, description, EPSG code).
_LOOKS_LIKE: tuple[tuple[tuple[float, float, float, float], str, str], ...] = (
    ((-180, -90, 180, 90), "longitude/latitude degrees", "EPSG:4326"),
    (
        (0, 0, 700_000, 1_300_000),
        "British National Grid eastings/northings in metres",
        "EPSG:27700",
    ),
    ((-1_000_000, 6_400_000, 250_000, 8_700_000), "Web Mercator metres (web maps)", "EPSG:3857"),
)


def _wrong_crs(check: str, bounds: np.ndarray, crs: CRS, col: Collector) -> None:
    """Record the one file-level error of a file whose every row fails extent check ``check``."""
    x, y = bounds[0, 0], bounds[0, 1]
    n = len(bounds)
    rows, have, are = (
        ("the file's only row", "has", "is") if n == 1 else (f"all {n} rows", "have", "are")
    )
    if check == "swapped":
        col.file(
            "geometry",
            f"{rows} {are} in the Indian Ocean (e.g. ({x:g}, {y:g})), where Great Britain "
            "would be with x and y exchanged: longitude and latitude look swapped in the "
            "whole file",
            "Swap the columns: longitude (east-west, about -8 to 2 in the UK) is x, latitude "
            "(about 50 to 61) is y",
        )
        return
    lo = bounds[:, :2].min(axis=0)
    hi = bounds[:, 2:].max(axis=0)
    if (
        check == "range"
        and np.all(np.abs(bounds[:, 0]) <= 90)
        and np.all((np.abs(bounds[:, 1]) > 90) & (np.abs(bounds[:, 1]) <= 180))
    ):
        col.file(
            "geometry",
            f"{rows} {have} coordinates outside the valid longitude/latitude range (e.g. "
            f"({x:g}, {y:g})): it looks like longitude and latitude are swapped in the whole "
            "file",
            "Swap the columns: longitude (east-west, -180 to 180) is x, latitude (north-south, "
            "-90 to 90) is y",
        )
        return
    guess = next(
        (
            (what, code)
            for (x0, y0, x1, y1), what, code in _LOOKS_LIKE
            if x0 <= lo[0]
            and hi[0] <= x1
            and y0 <= lo[1]
            and hi[1] <= y1
            and CRS.from_user_input(code) != crs
        ),
        None,
    )
    fails = {
        "range": "outside the valid longitude/latitude range",
        "degrees": f"the size of longitude/latitude degrees, not {crs.name} coordinates",
        "area": f"outside the area {crs.name} covers",
    }[check]
    found = (
        f"{rows} {have} coordinates {fails} (e.g. ({x:g}, {y:g})), so the CRS, not the "
        "rows, is wrong"
    )
    if guess is not None:
        found += f": the numbers look like {guess[0]} ({guess[1]})"
    code = guess[1] if guess is not None else "EPSG:<code>"
    col.file(
        "geometry",
        found,
        f"Read the file in its real CRS: pass crs='{code}' (--crs {code}), which is used when the "
        "file states no CRS (a CSV, or a GeoJSON file without a 'crs' member) and overrides "
        "a CRS the file states when the coordinates fit the one given and not the file's; "
        "or export the file again with its CRS set right in your GIS",
    )


def _check_part_ids(
    frame: gpd.GeoDataFrame, geoms: np.ndarray, usable: np.ndarray, col: Collector
) -> None:
    """Refuse a multi-part asset whose part ids would be taken by another row's id."""
    ids = frame["asset_id"].astype("string").fillna("").tolist()
    taken = set(ids)
    for i in np.flatnonzero(usable & (shapely.get_type_id(geoms) > _POLYGON)):
        n = len(shape_parts(geoms[i]))
        clash = [f"{ids[i]}{PART_SEPARATOR}{k}" for k in range(1, n + 1)] if n > 1 else []
        clash = [c for c in clash if c in taken]
        if clash:
            col.row(
                int(i),
                "geometry",
                f"this {geoms[i].geom_type} has {n} parts, one asset each, but the id(s) "
                f"{', '.join(clash)} they would get are already used by other rows",
                "Give each panel its own row and id, or rename the rows that use these ids",
            )


def shape_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """Return the non-empty single parts of a shape: collections flattened, a ring a line.

    Parameters
    ----------
    geom
        Any shapely geometry (2-D or not).

    Returns
    -------
    list of shapely.Geometry
        Points, LineStrings and Polygons in the order they are stored; ``[]`` for an
        empty shape. A LinearRing is returned as the closed LineString it is.

    Examples
    --------
    >>> shape_parts(shapely.from_wkt("MULTIPOINT ((0 0), (1 1))"))
    [<POINT (0 0)>, <POINT (1 1)>]
    """
    if geom is None or geom.is_empty:
        return []
    if shapely.get_type_id(geom) > _POLYGON:
        return [p for part in shapely.get_parts(geom) for p in shape_parts(part)]
    if shapely.get_type_id(geom) == _RING:
        return [shapely.LineString(geom.coords)]
    return [geom]


def site_areas(geoms: np.ndarray) -> np.ndarray:
    """Sites as the areas they enclose: a closed ring becomes the polygon inside it.

    A site drawn as a closed line (a LinearRing, or a LineString whose ends meet), alone
    or inside a multi-part shape or collection, protects the area it encloses: a point
    inside it is at 0 m. Other parts are kept as they are, so no part escapes a rule.

    Parameters
    ----------
    geoms
        Array of shapely geometries, shape (n,); None stays None.

    Returns
    -------
    numpy.ndarray
        Shape (n,): each site as one shape (a part alone, a Multi* of one type, else a
        GeometryCollection), with rings turned into valid polygons.

    Examples
    --------
    >>> ring = shapely.from_wkt("LINESTRING (0 0, 10 0, 10 10, 0 10, 0 0)")
    >>> site_areas(np.array([ring], dtype=object))[0].geom_type
    'Polygon'
    """
    out = np.array(geoms, dtype=object, copy=True)
    for i, geom in enumerate(out):
        if geom is None or geom.is_empty or not _has_ring(geom):
            continue
        out[i] = _combine([_area_of(p) for p in shape_parts(geom)])
    return out


def _has_ring(geom: BaseGeometry) -> bool:
    """Tell whether a shape is, or has a part that is, a closed line around an area."""
    kind = shapely.get_type_id(geom)
    if kind in (_LINE, _RING):
        return _encloses(geom)
    return bool(kind > _POLYGON) and any(_encloses(p) for p in shape_parts(geom))


def _encloses(part: BaseGeometry) -> bool:
    """Tell whether a part is a line whose ends meet around an area (3+ distinct corners)."""
    if shapely.get_type_id(part) not in (_LINE, _RING):
        return False
    coords = shapely.get_coordinates(part)
    closed = len(coords) >= 4 and bool((coords[0] == coords[-1]).all())
    return closed and len(np.unique(coords, axis=0)) >= 3


def _area_of(part: BaseGeometry) -> BaseGeometry:
    """Return a closed line's polygon (made valid; the line itself if it has no area)."""
    if not _encloses(part):
        return part
    polygon: BaseGeometry = shapely.Polygon(shapely.get_coordinates(part))
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    return polygon if polygon.area > 0 else part


def _combine(parts: list[BaseGeometry]) -> BaseGeometry:
    """One shape from parts: the part alone, a Multi* when all are one type, else a collection."""
    flat = [p for part in parts for p in shape_parts(part)]
    if len(flat) == 1:
        return flat[0]
    kinds = {shapely.get_type_id(p) for p in flat}
    # the casts record what the type ids say: every part is of that one type
    if kinds == {_POINT}:
        return shapely.MultiPoint(cast("list[shapely.Point]", flat))
    if kinds == {_LINE}:
        return shapely.MultiLineString(cast("list[shapely.LineString]", flat))
    if kinds == {_POLYGON}:
        return shapely.MultiPolygon(cast("list[shapely.Polygon]", flat))
    return shapely.GeometryCollection(flat)


def apply_shape_rules(frame: gpd.GeoDataFrame, kind: str, col: Collector) -> gpd.GeoDataFrame:
    """Give every asset and site a shape that no rule can miss, with a warning per conversion.

    Run on the rows that passed validation (any CRS). Z and M were dropped by
    `check_geometry`; here:

    - assets: a multi-part shape (MultiPoint, MultiLineString, MultiPolygon,
      GeometryCollection) becomes one asset per part, ids ``<id>#1``, ``<id>#2``, ...
      (``part_of`` keeps the original id), so each panel is judged where it stands; a
      single-part one becomes that part under its own id; a LinearRing is read as the
      closed line it is. Lines and polygons are kept whole: exclusion distances are
      measured from their nearest point, never from a representative point (a hoarding
      whose far end is 20 m from a school is 20 m from it).
    - sites: a closed ring (LinearRing, or a line whose ends meet), alone or as part of a
      multi-part shape, becomes the polygon it encloses (`site_areas`), so a point inside
      is at 0 m; collections keep every part; an open line is kept and flagged.
    - zones: unchanged (`check_geometry` already keeps a collection's polygons).

    Parameters
    ----------
    frame
        Validated rows, contract column names (``asset_id`` or ``site_id``).
    kind
        ``"assets"``, ``"sites"`` or ``"zones"``.
    col
        Collector that receives one warning per kind of conversion, naming the ids.

    Returns
    -------
    geopandas.GeoDataFrame
        The frame with the new shapes; for assets, one row per part (index reset) and a
        ``part_of`` column when an asset was split.

    Examples
    --------
    >>> frame = apply_shape_rules(frame, "assets", col)
    >>> frame["asset_id"].tolist()
    ['A1', 'A17#1', 'A17#2']
    """
    if kind == "assets":
        return _split_assets(frame, col)
    if kind == "sites":
        return _site_shapes(frame, col)
    return frame


def _split_assets(frame: gpd.GeoDataFrame, col: Collector) -> gpd.GeoDataFrame:
    """Give each part of a multi-part asset its own row (``<id>#k``); see `apply_shape_rules`.

    Returns ``frame`` itself when no asset is multi-part, single-part Multi* or a ring.
    """
    ids = frame["asset_id"].astype(str).tolist()
    positions: list[int] = []
    shapes: list[BaseGeometry] = []
    new_ids: list[str] = []
    part_of: list[str] = []
    split: dict[str, list[tuple[str, int]]] = {}
    single: dict[str, list[str]] = {}
    rings: list[str] = []
    for i, geom in enumerate(frame.geometry.to_numpy()):
        parts = shape_parts(geom)
        kind = geom.geom_type
        if len(parts) > 1:
            names = [f"{ids[i]}{PART_SEPARATOR}{k}" for k in range(1, len(parts) + 1)]
            split.setdefault(kind, []).append((ids[i], len(parts)))
        else:
            names = [ids[i]]
            if shapely.get_type_id(geom) > _POLYGON:
                single.setdefault(f"{kind} asset(s) read as a {parts[0].geom_type}", []).append(
                    ids[i]
                )
            elif shapely.get_type_id(geom) == _RING:
                rings.append(ids[i])
        positions += [i] * len(parts)
        shapes += parts
        new_ids += names
        part_of += [ids[i] if len(parts) > 1 else ""] * len(parts)
    _warn_asset_shapes(col, split, single, rings, shapes, new_ids)
    if not split and not single and not rings:
        return frame
    out = frame.iloc[positions].reset_index(drop=True)
    out["asset_id"] = new_ids
    if split:
        out["part_of"] = part_of
    return out.set_geometry(gpd.GeoSeries(shapes, crs=frame.crs))


def _warn_asset_shapes(
    col: Collector,
    split: dict[str, list[tuple[str, int]]],
    single: dict[str, list[str]],
    rings: list[str],
    shapes: list[BaseGeometry],
    ids: list[str],
) -> None:
    """Record one warning per kind of asset conversion, and for assets kept as lines or polygons."""
    for kind, split_ids in split.items():
        parts = sum(n for _, n in split_ids)
        names = [f"{i} -> {i}{PART_SEPARATOR}1..{PART_SEPARATOR}{n}" for i, n in split_ids]
        col.file(
            "geometry",
            f"{len(names)} {kind} asset(s) split into {parts} assets, one per part "
            f"(ids '<id>#1', '<id>#2', ...): {_listed(names)}",
            "Nothing to do if each part is a panel of its own; otherwise give the asset one "
            "point per panel in separate rows",
            "warning",
        )
    for kind, names in single.items():
        col.file(
            "geometry",
            f"{len(names)} single-part {kind}: {_listed(names)}",
            "Nothing to do",
            "warning",
        )
    if rings:
        col.file(
            "geometry",
            f"{len(rings)} LinearRing asset(s) read as closed lines: {_listed(rings)}",
            "Nothing to do",
            "warning",
        )
    kinds = shapely.get_type_id(np.asarray(shapes, dtype=object)) if shapes else np.zeros(0)
    for type_id, word in ((_LINE, "lines"), (_POLYGON, "polygons")):
        names = [ids[j] for j in np.flatnonzero(kinds == type_id)]
        if names:
            col.file(
                "geometry",
                f"{len(names)} asset(s) are {word} and are kept whole: exclusion distances "
                "are measured from their nearest point, and maps and the audience model "
                f"place them at a point on the shape: {_listed(names)}",
                "Nothing to do; give a point per panel if the shape is not where the panels are",
                "warning",
            )


def _site_shapes(frame: gpd.GeoDataFrame, col: Collector) -> gpd.GeoDataFrame:
    """Read sites' closed rings as areas; warn about rings, collections and open lines."""
    geoms = frame.geometry.to_numpy()
    ids = frame["site_id"].astype(str).tolist()
    kinds = shapely.get_type_id(geoms)
    areas = site_areas(geoms)
    rings = [ids[i] for i, (a, b) in enumerate(zip(geoms, areas, strict=True)) if a is not b]
    collections = [ids[i] for i in np.flatnonzero(kinds == _COLLECTION)]
    open_lines = [
        ids[i]
        for i, g in enumerate(areas)
        if any(shapely.get_type_id(p) == _LINE for p in shape_parts(g))
    ]
    if rings:
        col.file(
            "geometry",
            f"{len(rings)} site(s) drawn as closed lines were read as the areas they "
            f"enclose, so a point inside is at 0 m: {_listed(rings)}",
            "Nothing to do",
            "warning",
        )
    if collections:
        col.file(
            "geometry",
            f"{len(collections)} GeometryCollection site(s) kept with every part protected: "
            f"{_listed(collections)}",
            "Nothing to do",
            "warning",
        )
    if open_lines:
        col.file(
            "geometry",
            f"{len(open_lines)} site(s) are open lines, protected along the line only: "
            f"{_listed(open_lines)}",
            "If a line outlines the site, close it (or give the site as a polygon) so "
            "that its whole area is protected",
            "warning",
        )
    if not rings:
        return frame
    return frame.set_geometry(gpd.GeoSeries(areas, index=frame.index, crs=frame.crs))


def _listed(names: list[str]) -> str:
    """Join the first `_SHOWN` names, adding "and N more" for the rest."""
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
