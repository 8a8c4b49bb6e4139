"""Motor roads from an OpenStreetMap extract with their ``highway`` class (road-class proxy).

Where no traffic counts are given, a roadside face's vehicle audience is modelled from the
class of its nearest road (`planner.value.audience.AudienceParams.road_class_aadf`);
`load_roads` reads those roads offline with pyosmium.
"""

from __future__ import annotations

import geopandas as gpd
import osmium
import shapely
from shapely.geometry import LineString

from planner.io.osm import _check_bbox, _check_file, _fail, _osmium_input
from planner.io.source import FileSource, Source
from planner.schema import STORAGE_CRS

__all__ = ["MOTOR_ROAD_CLASSES", "load_roads"]

#: OSM ``highway`` values of roads that carry motor traffic past a roadside panel, busiest
#: first; links take their road's class. Service roads, tracks, paths and footways are left
#: out: they carry too little traffic to sell a roadside panel on.
MOTOR_ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
)


def load_roads(
    path: Source,
    *,
    filename: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read the motor roads of an OpenStreetMap extract as lines with their ``highway`` class.

    Parameters
    ----------
    path
        A ``.osm.pbf`` or ``.osm`` extract: a path, its bytes or a binary file object.
    filename
        The file's name when ``path`` is bytes or a file object (its ending gives the format).
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees: keep roads touching this box.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per way in EPSG:4326: ``osm_id`` (``"w<id>"``), ``highway`` (a class of
        `MOTOR_ROAD_CLASSES`; ``motorway_link`` is ``motorway``, and so on), ``ref`` and
        ``name`` (empty when untagged) and the line. ``attrs["source"]`` is the file name
        and ``attrs["attribution"]`` the ODbL notice to show with it.

    Raises
    ------
    DataValidationError
        When the file is missing, empty, not an OpenStreetMap extract or damaged, or the
        ``bbox`` is not four numbers with min < max in degrees.

    Examples
    --------
    >>> roads = load_roads("rutland_uk_2018.osm.pbf")
    >>> roads["highway"].value_counts()
    """
    source = _check_file(FileSource.of(path, filename))
    area = _check_bbox(source, bbox)
    rows: list[tuple[dict[str, str], LineString]] = []
    processor = osmium.FileProcessor(_osmium_input(source)).with_locations()
    processor = processor.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    processor = processor.with_filter(osmium.filter.KeyFilter("highway"))
    try:
        for way in processor:
            road = _road(way) if isinstance(way, osmium.osm.Way) else None
            if road is not None:
                rows.append(road)
    except RuntimeError as error:
        raise _fail(
            source,
            "",
            f"could not be read as OpenStreetMap data ({error})",
            "The file is truncated, damaged or not OSM data: download it again",
        ) from None
    roads = gpd.GeoDataFrame(
        [tags for tags, _ in rows],
        columns=["osm_id", "highway", "ref", "name"],
        geometry=[line for _, line in rows],
        crs=STORAGE_CRS,
    )
    if area is not None and len(roads):
        roads = roads[shapely.intersects(roads.geometry.to_numpy(), area)].reset_index(drop=True)
    roads.attrs.update(source=source.name, attribution="© OpenStreetMap contributors, ODbL 1.0")
    return roads


def _road(way: osmium.osm.Way) -> tuple[dict[str, str], LineString] | None:
    """Return a motor road's columns (id, class, ref, name) and line; None for anything else."""
    highway = str(way.tags.get("highway", "")).removesuffix("_link")
    if highway not in MOTOR_ROAD_CLASSES or way.tags.get("area") == "yes":
        return None
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    if len(coords) < 2:
        return None
    tags = {
        "osm_id": f"w{way.id}",
        "highway": highway,
        "ref": str(way.tags.get("ref", "")),
        "name": str(way.tags.get("name", "")),
    }
    return tags, LineString(coords)
