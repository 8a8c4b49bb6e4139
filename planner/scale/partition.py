"""Spatial partitions with halos: which assets each task gets, and which neighbours with them.

Partitions are the cells of a square grid in the metric CRS (`planner.geo.metric_crs`:
EPSG:27700 in Great Britain), anchored at multiples of the cell size, so a cell is the same
whatever the data; each asset belongs to the cell holding the centre of its bounding box.
A grid needs no boundary data and cuts dense cities into even pieces, where local
authorities range from 2,000 to 40,000 street assets. Each partition takes every
neighbour (sensitive site, demand zone, transit stop) whose bounding box comes within a
halo of the partition's own assets' bounding box: the largest distance any rule or model
reaches, so nothing that can affect an asset is left outside its partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from planner.geo import metric_crs

__all__ = [
    "DEFAULT_CELL_M",
    "TASK_ASSETS",
    "Partition",
    "Task",
    "grid_cells",
    "halo_members",
    "pack_cells",
    "partition_crs",
]

#: Default side of a grid cell, in metres: a town centre, some thousands of street assets.
DEFAULT_CELL_M = 10_000.0
#: Fewest and most assets in one task: a task costs a fixed ~0.5 s of pandas work and
#: pickling, so tiny cells are packed together; the most bounds a worker's memory.
TASK_ASSETS = (2_000, 50_000)
#: Metres added to every halo against rounding in the bounding-box test (never harmful:
#: a neighbour too many changes no result, one too few would).
_HALO_MARGIN_M = 1.0


@dataclass(frozen=True)
class Partition:
    """One spatial partition: its grid cell and the positions of its assets.

    Attributes
    ----------
    cell
        ``(column, row)`` of the grid cell (cell-size units from the CRS origin).
    positions
        Positions (``iloc``) of its assets in the whole asset table, ascending, shape
        (n_assets_in_cell,).
    bounds
        ``(minx, miny, maxx, maxy)`` of its assets' geometries in the metric CRS, metres.
    """

    cell: tuple[int, int]
    positions: np.ndarray
    bounds: tuple[float, float, float, float]


def grid_cells(bounds: np.ndarray, cell_m: float = DEFAULT_CELL_M) -> list[Partition]:
    """Group assets into the square grid cells that hold the centres of their bounding boxes.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` of each asset in a metric CRS, shape (n_assets, 4),
        metres (``GeoSeries.bounds`` as an array).
    cell_m
        Side of a cell, in metres (> 0).

    Returns
    -------
    list of Partition
        The non-empty cells, ordered by row then column; every asset in exactly one.

    Raises
    ------
    ValueError
        When ``cell_m`` is not above 0.

    Examples
    --------
    >>> cells = grid_cells(assets.to_crs(27700).bounds.to_numpy(), 1_000)
    >>> sum(len(c.positions) for c in cells) == len(assets)
    True
    """
    if not cell_m > 0:
        raise ValueError(f"cell_m must be above 0 metres; got {cell_m}")
    if not len(bounds):
        return []
    cx = np.floor((bounds[:, 0] + bounds[:, 2]) / 2 / cell_m).astype(np.int64)
    cy = np.floor((bounds[:, 1] + bounds[:, 3]) / 2 / cell_m).astype(np.int64)
    order = np.lexsort((cx, cy))
    key_x, key_y = cx[order], cy[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (key_x[1:] != key_x[:-1]) | (key_y[1:] != key_y[:-1])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(order))
    cells = []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        positions = np.sort(order[lo:hi])
        box = bounds[positions]
        extent = (
            float(box[:, 0].min()),
            float(box[:, 1].min()),
            float(box[:, 2].max()),
            float(box[:, 3].max()),
        )
        cells.append(Partition((int(key_x[lo]), int(key_y[lo])), positions, extent))
    return cells


@dataclass(frozen=True)
class Task:
    """Grid cells sent to a worker together, with their assets' positions.

    Attributes
    ----------
    cells
        The cells (each keeps its own bounds, so each gets its own halo).
    positions
        Positions of all their assets in the whole asset table, ascending.
    """

    cells: tuple[Partition, ...]
    positions: np.ndarray

    def halo(self, others: np.ndarray, halo_m: float) -> np.ndarray:
        """Positions of the neighbours within ``halo_m`` of any of its cells (`halo_members`).

        Parameters
        ----------
        others
            Bounding boxes of the neighbours, shape (n_others, 4), metres.
        halo_m
            Halo, metres.

        Returns
        -------
        numpy.ndarray
            Positions into ``others``, ascending and unique.
        """
        found = [halo_members(c.bounds, others, halo_m) for c in self.cells]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.intp)


def pack_cells(cells: list[Partition], n_workers: int) -> list[Task]:
    """Pack grid cells, in row order, into about four tasks per worker.

    Each task gets at least ``TASK_ASSETS[0]`` and, unless one cell is larger, at most
    ``TASK_ASSETS[1]`` assets, so a small estate is not cut into tasks that cost more to
    send than to compute, and a large one still spreads over every worker.

    Parameters
    ----------
    cells
        The grid cells (`grid_cells`).
    n_workers
        Workers of the cluster (>= 1).

    Returns
    -------
    list of Task
        Tasks covering every cell once.
    """
    total = sum(len(c.positions) for c in cells)
    low, high = TASK_ASSETS
    target = min(max(total / (4 * max(n_workers, 1)), low), high)
    tasks: list[Task] = []
    group: list[Partition] = []
    size = 0
    for cell in cells:
        group.append(cell)
        size += len(cell.positions)
        if size >= target:
            tasks.append(_task(group))
            group, size = [], 0
    if group:
        tasks.append(_task(group))
    return tasks


def _task(group: list[Partition]) -> Task:
    """Make the task of these cells."""
    return Task(tuple(group), np.sort(np.concatenate([c.positions for c in group])))


def halo_members(
    bounds: tuple[float, float, float, float], others: np.ndarray, halo_m: float
) -> np.ndarray:
    """Return the positions of the neighbours whose bounding box comes within ``halo_m``.

    A neighbour within ``halo_m`` of any of a partition's assets has its bounding box
    within ``halo_m`` of the partition's bounding box, so the test can take too many,
    never too few.

    Parameters
    ----------
    bounds
        The partition's ``(minx, miny, maxx, maxy)``, metres.
    others
        Bounding boxes of the neighbours in the same CRS, shape (n_others, 4).
    halo_m
        The largest distance at which a neighbour still counts, metres (>= 0).

    Returns
    -------
    numpy.ndarray
        Positions into ``others``, ascending (their order is kept, so ties resolved by
        position resolve as in one process), shape (n_members,).
    """
    h = halo_m + _HALO_MARGIN_M
    x0, y0, x1, y1 = bounds
    near = (
        (others[:, 0] <= x1 + h)
        & (others[:, 2] >= x0 - h)
        & (others[:, 1] <= y1 + h)
        & (others[:, 3] >= y0 - h)
    )
    return np.flatnonzero(near)


def partition_crs(*bounds_4326: np.ndarray) -> CRS:
    """Return the metric CRS `planner.geo.metric_crs` chooses for frames with these bounds.

    `metric_crs` reads only the combined longitude/latitude bounds of its frames, so two
    corner points standing for them get the same answer: the driver can check that every
    partition will be measured in the CRS of the whole, which makes the partitioned
    distances those of one process.

    Parameters
    ----------
    *bounds_4326
        Per-feature ``(minx, miny, maxx, maxy)`` in EPSG:4326 degrees, each of shape
        (n, 4); empty arrays are ignored.

    Returns
    -------
    pyproj.CRS
        The metric CRS.
    """
    boxes = [b for b in bounds_4326 if len(b)]
    if not boxes:
        return metric_crs()
    stacked = np.vstack(boxes)
    corners = shapely.points(
        [
            (stacked[:, 0].min(), stacked[:, 1].min()),
            (stacked[:, 2].max(), stacked[:, 3].max()),
        ]
    )
    return metric_crs(gpd.GeoDataFrame(geometry=corners, crs="EPSG:4326"))
