"""Maximal covering: choose sites that put the most demand within walking distance.

Up to ``k`` candidate sites (or sites within a budget) that put the most demand weight
(population) within a walking radius of at least one chosen site: the maximal covering
location problem of Church & ReVelle (1974), solved with greedy and swap heuristics, an
LP bound from OR-Tools PDLP and CP-SAT large-neighbourhood search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely

from planner.errors import DataValidationError, InfeasibleError, PlannerError, Problem
from planner.geo import metric_crs, project
from planner.optimise._cover_instance import CoverResult, Instance
from planner.optimise._cover_lns import lns
from planner.optimise._cover_lp import lp_relaxation, round_lp
from planner.optimise._cover_search import greedy, swap_search
from planner.optimise.settings import Clock, SolverSettings

#: Maximal covering's default solver settings: a 10 s deterministic search.
DEFAULT_SOLVER = SolverSettings(time_limit=10.0)

__all__ = ["CoverResult", "coverage_from_frames", "coverage_matrix", "max_cover"]

Progress = Callable[[float, str], None]
# CPU seconds per coverage non-zero of validating, merging rows and finding dominated sites.
_PREP_CPU_PER_NNZ = 5e-7


def coverage_matrix(
    demand_points_xy: np.ndarray, site_points_xy: np.ndarray, radius: float
) -> sp.csr_array:
    """Find which candidate sites are within ``radius`` of each demand point.

    Coordinates must be in a metric CRS (see `planner.geo.metric_crs`); a site at exactly
    ``radius`` counts as within. Built with a spatial index, never a dense distance matrix.

    Parameters
    ----------
    demand_points_xy, site_points_xy
        Arrays of shape (n, 2) of x, y in metres.
    radius
        Walking radius in metres.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean demand x site incidence, shape (n_demand, n_sites), column indices
        sorted.

    Raises
    ------
    PlannerError
        When an array is not of shape (n, 2), has missing or infinite coordinates, or
        ``radius`` is not a finite number of metres, 0 or more.
    DataValidationError
        When the coordinates look like longitude/latitude degrees (`_refuse_degrees`).

    Examples
    --------
    >>> coverage_matrix(np.array([[0, 0]]), np.array([[0, 250], [0, 400]]), 300).toarray()
    array([[ True, False]])
    """
    demand = _points(demand_points_xy, "demand_points_xy")
    sites = _points(site_points_xy, "site_points_xy")
    if not (isinstance(radius, int | float) and math.isfinite(radius) and radius >= 0):
        raise PlannerError(f"'radius' must be a distance in metres, 0 or more; got {radius!r}")
    _refuse_degrees(demand, sites, radius)
    tree = shapely.STRtree(cast("np.ndarray", shapely.points(sites)))  # (n, 2) in: n points
    d_idx, s_idx = tree.query(shapely.points(demand), predicate="dwithin", distance=radius)
    data = np.ones(len(d_idx), dtype=bool)
    matrix = sp.csr_array((data, (d_idx, s_idx)), shape=(len(demand), len(sites)))
    matrix.sort_indices()
    return matrix


def coverage_from_frames(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, radius: float
) -> sp.csr_array:
    """Build the `coverage_matrix` of two GeoDataFrames, measured in their shared metric CRS.

    A polygon (e.g. a demand zone) is represented by a point inside it (shapely's
    ``point_on_surface``), so a zone counts as covered when that point is within reach.

    Parameters
    ----------
    demand, sites
        GeoDataFrames with a CRS (any; each is reprojected to `planner.geo.metric_crs`).
    radius
        Walking radius in metres.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean demand x site incidence, shape (len(demand), len(sites)), rows and
        columns in the frames' order.

    Raises
    ------
    PlannerError
        When a frame has no CRS or a row without a geometry, or ``radius`` is not a
        finite number of metres, 0 or more.

    Examples
    --------
    >>> cov = coverage_from_frames(zones, assets, 300)
    >>> max_cover(cov, zones["population"], k=40).covered_weight
    51234.0
    """
    for name, frame in (("demand", demand), ("sites", sites)):
        if frame.crs is None:
            raise PlannerError(
                f"'{name}' has no CRS; set it with frame.set_crs(...), e.g. EPSG:4326"
            )
        if frame.geometry.isna().any() or frame.geometry.is_empty.any():
            raise PlannerError(f"'{name}' has rows without a geometry; drop or fix them")
    crs = metric_crs(demand, sites)
    return coverage_matrix(_xy(project(demand, crs)), _xy(project(sites, crs)), radius)


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return one point inside each geometry, shape (n, 2), in the frame's CRS."""
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    return shapely.get_coordinates(points)


def _refuse_degrees(demand: np.ndarray, sites: np.ndarray, radius: float) -> None:
    """Refuse coordinates that are degrees (lon/lat) given with a radius in metres.

    All within -180..180 and -90..90 while the radius is at least ten times their whole
    extent: read as metres every site would cover every demand point (a field case gave
    "100% covered" where the truth was 0). Real metric data never fits in a box a tenth
    of a walking radius.
    """
    xy = np.concatenate([demand, sites])
    span = float(np.ptp(xy, axis=0).max()) if len(xy) else 0.0
    in_degrees = bool((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all())
    if not (in_degrees and span > 0 and radius >= 10 * span):
        return
    raise DataValidationError(
        "coordinates",
        [
            Problem(
                "coordinates",
                "",
                "demand_points_xy/site_points_xy",
                f"every coordinate lies within longitude/latitude range and all of them span "
                f"only {span:.3g} units, while the radius is {radius:g} m: they look like "
                "degrees, not metres, and every site would cover every point",
                "Project both layers to metres first: planner.to_metric(frame) before taking "
                "the coordinates, or use coverage_from_frames(demand, sites, radius), which "
                "does it",
            )
        ],
    )


def _points(xy: np.ndarray, name: str) -> np.ndarray:
    """Return ``xy`` as a float (n, 2) array, or raise `PlannerError` naming ``name``."""
    arr = np.asarray(xy, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PlannerError(f"'{name}' must be an (n, 2) array of x, y; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise PlannerError(f"'{name}' has missing or infinite coordinates; drop those rows")
    return arr


def max_cover(
    coverage: sp.sparray | sp.spmatrix | tuple[np.ndarray, np.ndarray],
    weights: Sequence[float] | np.ndarray,
    *,
    k: int | None = None,
    costs: Sequence[float] | np.ndarray | None = None,
    budget: float | None = None,
    locked: Sequence[int] | None = None,
    progress: Progress | None = None,
    solver: SolverSettings | None = None,
) -> CoverResult:
    """Choose at most ``k`` sites (and/or sites within ``budget``) covering the most weight.

    Steps: merge demand rows covered by the same sites and drop rows no site covers; drop
    sites whose cover is contained in a no-dearer site's; greedy, then 1-swap local search;
    an LP relaxation (OR-Tools PDLP) gives an upper bound (re-derived from its duals, so it
    is a proven bound) and a rounded start; then windows of nearby sites are re-solved
    exactly with CP-SAT, each hinted completely with the current choice. Small instances
    are solved exactly as one window.

    The model is the maximal covering location problem (Church & ReVelle 1974): maximise
    ``sum_i w_i y_i`` subject to ``y_i <= sum_{j covers i} x_j``, ``sum_j x_j <= k`` and
    ``sum_j cost_j x_j <= budget``, with ``x, y`` Boolean. The bound reported is the
    least of the weight any site can cover, the LP bound and (when the whole instance
    was one window) CP-SAT's own bound.

    Parameters
    ----------
    coverage
        Demand x site incidence (any scipy sparse matrix, see `coverage_matrix`), or a
        pair of index arrays ``(demand_index, site_index)``.
    weights
        Demand weight (e.g. population) per row, 0 or more.
    k
        Most sites to choose (locked ones included); give ``k``, ``budget`` or both.
    costs, budget
        Cost per site and the budget they must fit in (locked sites included).
    locked
        Site indices that must be chosen (existing contracts).
    progress
        Called as ``progress(fraction, message)``.
    solver
        Solver settings, as for every optimiser (default: a 10 s limit, 2 workers, seed 0,
        deterministic). ``time_limit`` is the seconds to spend: in ``deterministic`` mode each
        step is charged a deterministic estimate of the CPU seconds it needs (from CP-SAT's
        deterministic time and problem sizes, calibrated on the benchmark), so runs stop at
        the same point whatever the load (a wall-clock watchdog still stops the search at
        twice the limit); on an idle 2-core machine that is about ``time_limit`` wall-clock
        seconds. ``workers`` are the threads of the LP relaxation and the windows re-solved
        at once; ``seed`` seeds the window search.

    Returns
    -------
    CoverResult
        Check ``result.ok``: when the request cannot be met (the locked sites exceed ``k``
        or the budget, or no site fits the budget) it is False, ``status`` is
        ``INFEASIBLE`` and ``explanation`` says why — every optimiser's convention.

    Raises
    ------
    PlannerError
        Bad input (shapes, negative weights, neither ``k`` nor ``budget``), or no site
        covers any demand.

    Examples
    --------
    >>> cov = coverage_matrix(demand_xy, sites_xy, 300)
    >>> res = max_cover(cov, population, k=50, solver=SolverSettings(time_limit=5))
    >>> res.covered_weight, res.gap
    (40512.0, 0.0)
    """
    settings = solver if solver is not None else DEFAULT_SOLVER
    time_limit, workers, seed = settings.time_limit, settings.workers, settings.seed
    clock = Clock(time_limit, settings.deterministic)
    say = progress or (lambda fraction, message: None)
    try:
        inst = Instance.build(coverage, weights, k, costs, budget, locked)
        p = inst.problem
        if p is None:
            return inst.trivial_result(clock.wall())
    except InfeasibleError as why:
        return _no_choice(why, clock.wall())
    clock.charge(_PREP_CPU_PER_NNZ * (inst.stats["nnz_in"] + p.cov.nnz))
    say(0.05, f"{p.cov.shape[0]:,} demand groups x {p.n_sites:,} sites")
    x_greedy = greedy(p)
    if not x_greedy.any():
        try:
            return inst.no_site_fits()
        except InfeasibleError as why:
            return _no_choice(why, clock.wall())
    x = swap_search(p, x_greedy, clock=clock, until=0.7 * time_limit)
    say(0.15, f"greedy {inst.weight_of(x_greedy):,.0f}, local search {inst.weight_of(x):,.0f}")
    x, lp_bound, method = _lp_start(inst, x, clock, workers)
    bounds = {"coverable": inst.total_coverable, "lp": lp_bound}
    say(0.3, f"start {inst.weight_of(x):,.0f}, LP bound {lp_bound:,.0f}")
    stats = dict(inst.stats)
    if inst.weight_of(x) < min(bounds.values()) * (1 - 1e-12):
        x, found = lns(
            p,
            x,
            clock=clock,
            seed=seed,
            workers=workers,
            on_improve=lambda v: say(
                0.3 + 0.7 * min(clock.wall() / max(time_limit, 1e-9), 0.99),
                f"improved to {inst.weight_of_int(v):,.0f}",
            ),
        )
        method += "+lns"
        stats |= {"windows": found.windows, "improved": found.improved}
        if found.whole and found.whole_bound is not None:
            method = "cp-sat"
            bounds["cp-sat"] = inst.bound_from_int(found.whole_bound)
            if found.whole_optimal:
                bounds["cp-sat"] = inst.weight_of(x)
    say(1.0, "done")
    return inst.result(x, x_greedy, bounds, method, stats, clock.wall())


def _no_choice(why: InfeasibleError, seconds: float) -> CoverResult:
    """Return the answer to a request that cannot be met: no sites, ``INFEASIBLE``, why.

    Bound, gap and total weight are NaN; ``explanation`` is the error's message, then
    its reasons.
    """
    nan = float("nan")
    return CoverResult(
        sites=(),
        covered_weight=0.0,
        bound=nan,
        gap=nan,
        status="INFEASIBLE",
        seconds=seconds,
        method="none",
        greedy_weight=0.0,
        total_weight=nan,
        explanation=(str(why), *why.reasons),
    )


def _lp_start(
    inst: Instance, x: np.ndarray, clock: Clock, workers: int
) -> tuple[np.ndarray, float, str]:
    """Return the better start, the LP bound and the method that gave the start.

    The LP relaxation (`planner.optimise._cover_lp.lp_relaxation`) gets at most 30% of the time
    limit; its values rounded and improved by swaps replace ``x`` when they cover more.
    The bound is in the caller's units with the locked sites' weight included.
    """
    p = inst.problem
    assert p is not None  # called only when a problem is left to solve
    lp = lp_relaxation(
        p.cov, inst.weights, workers=workers, seconds=0.3 * clock.limit, **inst.float_limits()
    )
    clock.charge(lp.cpu)
    method = "greedy+swap"
    if lp.x is not None:
        x_lp = swap_search(p, round_lp(p, lp.x), clock=clock, until=0.5 * clock.limit)
        if p.value(x_lp) > p.value(x):
            x, method = x_lp, "lp-round+swap"
    return x, lp.bound + inst.fixed_weight, method
