"""Eligibility and valuation partitioned over a Dask cluster, with one process's answers.

Each task (grid cells of assets packed together, `planner.scale.partition`) runs the project's own
`planner.policy.eligibility.eligibility` or `planner.value.valuation.value_assets` on its
assets and on the neighbours within a halo: the policy's largest exclusion distance for
sensitive sites; the audience model's reach (walking radius, transit and point-of-interest
radii of `planner.value.audience.AudienceParams`) for demand zones, transit and points of
interest. The tables come back in the assets' order, and what depends on the whole
portfolio (the warnings; council income, which concession terms set on total sales) is
worked out once on the gathered table, so the result equals the single-process one
exactly (``tests/test_scale.py``). Without a client both functions are the one-process
functions themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from planner.errors import PlannerError
from planner.geo import metric_crs
from planner.policy.eligibility import (
    Verdicts,
    eligibility,
    eligibility_ids,
    eligibility_table,
    verdicts,
)
from planner.policy.load import Policy
from planner.policy.sites import check_sites_against_policy
from planner.scale.cluster import ClusterSettings, gather_tasks, submit_tasks
from planner.scale.partition import (
    DEFAULT_CELL_M,
    Task,
    grid_cells,
    pack_cells,
    partition_crs,
)
from planner.value.audience import AudienceParams
from planner.value.concession import ConcessionTerms
from planner.value.environment import EnvironmentParams
from planner.value.rates import RateCard

# The portfolio-level steps of value_assets, redone once on the gathered table so that the
# partitioned result is the one-process result (kept private to valuation on purpose: they
# are not a user's verbs).
from planner.value.valuation import (
    DEFAULT_CATEGORY_SHARE,
    ValuationAssumptions,
    _council_income,
    _location_warnings,
    _status,
    _unavailable_warning,
    _uniform_audience,
    check_currency,
    terms_by_kind,
    value_assets,
)

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "partitioned_eligibility",
    "partitioned_eligibility_and_values",
    "partitioned_value_assets",
]

#: The columns `planner.policy.eligibility.eligibility` reads, besides the geometry: only
#: these travel to a task (the synthetic national file's other columns are three quarters
#: of the bytes: 27 MB against 7 MB at 100,000 assets).
ELIGIBILITY_ASSET_COLUMNS = ("asset_id", "asset_type", "digital")
ELIGIBILITY_SITE_COLUMNS = ("site_id", "kind", "name")


def partitioned_eligibility(
    assets: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    policy: Policy,
    *,
    client: Client | None = None,
    cluster: ClusterSettings = ClusterSettings(),
    cell_m: float = DEFAULT_CELL_M,
) -> pd.DataFrame:
    """Run `planner.eligibility` per grid cell on a Dask cluster; the same table as one process.

    Each cell's assets are checked against the sites within the policy's largest
    exclusion distance of them (their halo), so no rule is missed at a cell border. Site
    kinds and idle rules are checked once for all (`check_sites_against_policy`).

    Parameters
    ----------
    assets, sites, policy
        As for `planner.policy.eligibility.eligibility`.
    client
        A `distributed.Client` (`planner.scale.connect`); None runs
        `planner.policy.eligibility.eligibility` in this process.
    cluster
        Retries and progress bar of the tasks.
    cell_m
        Side of a grid cell, in metres.

    Returns
    -------
    pandas.DataFrame
        Exactly `planner.policy.eligibility.eligibility`'s table (rows, order, dtypes,
        ``attrs["warnings"]``).

    Raises
    ------
    DataValidationError
        As `planner.policy.eligibility.eligibility` (raised before any task when the
        inputs are wrong as a whole).

    Notes
    -----
    When some cell would be measured in another metric CRS than the whole (data that
    spans UTM zones outside Great Britain), the table is computed in this process
    instead, so that every distance stays that of one process.

    Examples
    --------
    >>> with connect(ClusterSettings("local")) as client:
    ...     table = partitioned_eligibility(assets, sites, policy, client=client)
    """
    if client is None or not _partitionable(assets):
        return eligibility(assets, sites, policy)
    # Whole-input checks before any task: columns, CRSs and site kinds, then unique ids.
    eligibility(assets.iloc[:0], sites, policy)
    if not assets["asset_id"].astype(str).is_unique:
        return eligibility(assets, sites, policy)  # raises, naming the repeated ids
    use_sites = sites if policy.exclusions else None
    crs = metric_crs(assets, *([use_sites] if use_sites is not None else []))
    cells = _tasks(assets, crs, cell_m, client)
    halo_m = max((r.within_m for r in policy.exclusions), default=0.0)
    site_pos: list[np.ndarray | None] = [None] * len(cells)
    if use_sites is not None:
        s_bounds = _bounds(use_sites, crs)
        site_pos = [c.halo(s_bounds, halo_m) for c in cells]
        if not _same_crs(cells, assets, crs, [(use_sites, site_pos)]):
            return eligibility(assets, sites, policy)
    task_assets = _only(assets, ELIGIBILITY_ASSET_COLUMNS)
    task_sites = None if use_sites is None else _only(use_sites, ELIGIBILITY_SITE_COLUMNS)
    payloads = (
        (cell_assets, None if p is None else task_sites.iloc[p])  # type: ignore[union-attr]
        for cell_assets, p in zip(_by_task(task_assets, cells), site_pos, strict=True)
    )
    futures = submit_tasks(client, _eligibility_task, payloads, cluster, policy=policy)
    check = check_sites_against_policy
    warnings = _while_tasks_run(client, futures, check, sites, policy, assets=assets)
    ids = _while_tasks_run(client, futures, _id_column, assets, policy)
    try:
        notes = gather_tasks(client, futures, cluster)
    except PlannerError:
        return eligibility(assets, sites, policy)  # the error, naming every row, not a task's
    return _gathered_table(notes, cells, assets, policy, warnings, ids)


def _id_column(assets: gpd.GeoDataFrame, policy: Policy) -> pd.Series:
    """Make the eligibility table's ``asset_id`` column (while the tasks run)."""
    return eligibility_ids(assets["asset_id"].astype(str), len(policy.categories))


def _gathered_table(
    notes: list[Verdicts],
    cells: list[Task],
    assets: gpd.GeoDataFrame,
    policy: Policy,
    warnings: list[str],
    ids: pd.Series,
) -> pd.DataFrame:
    """Make the eligibility table of the tasks' verdicts, in the assets' order.

    The tasks send their verdicts (`planner.policy.eligibility.Verdicts`: codes, and each
    text once), not tables: a tenth of the bytes, and the table is then made once, by
    the function that makes the one-process table.
    """
    n_cat = len(policy.categories)
    order = _assets_order(cells)
    rows = (order[:, None] * n_cat + np.arange(n_cat)).ravel()
    asset_ids = assets["asset_id"].astype(str)
    joined = Verdicts.joined(notes, rows)
    table = eligibility_table(asset_ids, policy.categories, joined, id_column=ids)
    table.attrs = {"warnings": warnings}
    return table


def _eligibility_task(
    assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, policy: Policy
) -> Verdicts:
    """One task's verdicts (on a worker); the inputs were checked as a whole before."""
    return verdicts(assets, sites, policy)


def partitioned_value_assets(
    assets: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    rate_card: RateCard | str | os.PathLike[str] = "uk-default",
    terms: ConcessionTerms | str | os.PathLike[str] = "uk-default",
    eligibility: pd.DataFrame | None = None,
    params: AudienceParams = AudienceParams(),
    assumptions: ValuationAssumptions = ValuationAssumptions(),
    category_share: dict[str, float] = DEFAULT_CATEGORY_SHARE,
    client: Client | None = None,
    cluster: ClusterSettings = ClusterSettings(),
    cell_m: float = DEFAULT_CELL_M,
    pricing: str | None = None,
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Run `planner.value_assets` per grid cell on a Dask cluster; the same table as one process.

    Each cell is valued with the demand zones, transit points, points of interest and
    traffic count points within the audience model's reach of its assets
    (``walking_radius_m``, ``transit_radius_m``, ``poi_radius_m``, ``traffic_radius_m``).
    Council income is then apportioned over the whole portfolio's sales, as the
    concession terms apply to the whole contract, and the warnings are those of the whole
    portfolio.

    Parameters
    ----------
    assets, zones, transit, pois, rate_card, terms, eligibility, params, assumptions, category_share
        As for `planner.value.valuation.value_assets`.
    pricing, traffic, roads
        As for `planner.value.valuation.value_assets`: ``"cpt"``, ``"rate card"`` or None
        (the card's own), DfT count points with ``aadf`` (vehicles a day) and OpenStreetMap
        roads with ``highway`` (the road-class proxy, within ``road_radius_m``).
    client
        A `distributed.Client`; None runs `value_assets` in this process.
    cluster
        Retries and progress bar of the tasks.
    cell_m
        Side of a grid cell, in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        Exactly `value_assets`'s table (rows in the assets' order, columns, ``attrs``).

    Raises
    ------
    PlannerError, PricingError
        As `value_assets`.

    Notes
    -----
    Computed in this process instead (same table): when the audience model is to be
    calibrated to measured audiences (the scale is fitted over the whole portfolio),
    when a frame has no CRS or an asset no location (so that `value_assets` names the
    problem), and when some cell would be measured in another metric CRS than the whole.

    Examples
    --------
    >>> with connect(ClusterSettings("local")) as client:
    ...     values = partitioned_value_assets(assets, zones=zones, client=client)
    """
    options: dict[str, Any] = {
        "rate_card": rate_card,
        "terms": terms,
        "eligibility": eligibility,
        "params": params,
        "assumptions": assumptions,
        "category_share": category_share,
        "pricing": pricing,
    }
    neighbours = {"zones": zones, "transit": transit, "pois": pois, "traffic": traffic}
    neighbours["roads"] = roads
    options.update(neighbours)
    if client is None or _stays_here(assets, neighbours, params):
        return value_assets(assets, **options)
    card, deal = check_currency(rate_card, terms)
    crs = metric_crs(assets)
    cells = _tasks(assets, crs, cell_m, client)
    if not _same_crs(cells, assets, crs, []):
        return value_assets(assets, **options)
    members = _neighbour_halos(cells, neighbours, crs, params)
    elig_parts = _split_eligibility(eligibility, assets, cells)
    payloads = (
        (cell_assets, _halo_frames(neighbours, members, i), elig_parts[i])
        for i, cell_assets in enumerate(_by_task(assets, cells))
    )
    common = {
        "rate_card": card,
        "terms": deal,
        "params": params,
        "assumptions": assumptions,
        "category_share": category_share,
        "pricing": pricing,
    }
    futures = submit_tasks(client, _value_task, payloads, cluster, **common)
    warnings = _while_tasks_run(client, futures, _location_warnings, assets, card)
    try:
        frames = gather_tasks(client, futures, cluster)
    except PlannerError:
        return value_assets(assets, **options)  # the error, naming every row, not a task's
    return _gathered_values(frames, cells, assets, card, deal, options, warnings)


def _value_task(
    assets: gpd.GeoDataFrame,
    neighbours: dict[str, Any],  # zones, transit and pois GeoDataFrames, by keyword
    eligibility: pd.DataFrame | None,
    **options: Any,
) -> gpd.GeoDataFrame:
    """One cell's valuation (on a worker), with its halo of zones, transit, POIs and traffic."""
    return value_assets(assets, eligibility=eligibility, **neighbours, **options)


def partitioned_eligibility_and_values(
    assets: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    policy: Policy,
    *,
    zones: gpd.GeoDataFrame | None = None,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    rate_card: RateCard | str | os.PathLike[str] = "uk-default",
    terms: ConcessionTerms | str | os.PathLike[str] = "uk-default",
    params: AudienceParams = AudienceParams(),
    assumptions: ValuationAssumptions = ValuationAssumptions(),
    category_share: dict[str, float] = DEFAULT_CATEGORY_SHARE,
    pricing: str | None = None,
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    client: Client | None = None,
    cluster: ClusterSettings = ClusterSettings(),
    cell_m: float = DEFAULT_CELL_M,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Check and value the assets in one pass over a Dask cluster; the one-process tables.

    The same two tables as `partitioned_eligibility` followed by `partitioned_value_assets`
    with its eligibility table (which are the same as `planner.policy.eligibility.eligibility`
    followed by `planner.value.valuation.value_assets`), in half the traffic: each task
    gets its assets once, with the sites, zones, transit, points of interest and traffic
    in their halos, checks them and values them with its own eligibility rows, and sends
    both tables back; the eligibility table never travels to a worker.

    Parameters
    ----------
    assets, sites, policy
        As for `planner.policy.eligibility.eligibility`.
    zones, transit, pois, rate_card, terms, params, assumptions, category_share
        As for `planner.value.valuation.value_assets`.
    pricing, traffic, roads
        As for `planner.value.valuation.value_assets`.
    client
        A `distributed.Client` (`planner.scale.connect`); None computes both tables in
        this process.
    cluster
        Retries and progress bar of the tasks.
    cell_m
        Side of a grid cell, in metres.

    Returns
    -------
    tuple of (pandas.DataFrame, geopandas.GeoDataFrame)
        The eligibility table (one row per asset and category, ``attrs["warnings"]``) and
        the values (one row per asset, in the assets' order, with ``attrs``), exactly as in
        one process.

    Raises
    ------
    DataValidationError, PolicyError
        As `planner.policy.eligibility.eligibility` (before any task).
    PlannerError, PricingError
        As `planner.value.valuation.value_assets`.

    Notes
    -----
    Computed in this process instead (same tables) in the cases named by
    `partitioned_eligibility` and `partitioned_value_assets`, and when the sites would
    move the assets' metric CRS (data outside Great Britain).

    Examples
    --------
    >>> with connect(ClusterSettings("local")) as client:
    ...     table, values = partitioned_eligibility_and_values(
    ...         assets, sites, policy, zones=zones, client=client
    ...     )
    """
    neighbours = {"zones": zones, "transit": transit, "pois": pois, "traffic": traffic}
    neighbours["roads"] = roads
    options: dict[str, Any] = {"rate_card": rate_card, "terms": terms, "params": params}
    options.update(assumptions=assumptions, category_share=category_share, pricing=pricing)
    options.update(neighbours)
    if client is None or _stays_here(assets, neighbours, params):
        return _in_process(assets, sites, policy, options)
    eligibility(assets.iloc[:0], sites, policy)  # columns, CRSs and site kinds
    if not assets["asset_id"].astype(str).is_unique:
        return _in_process(assets, sites, policy, options)  # raises, naming the ids
    card, deal = check_currency(rate_card, terms)
    use_sites = sites if policy.exclusions else None
    crs = metric_crs(assets)
    if use_sites is not None and metric_crs(assets, use_sites) != crs:
        return _in_process(assets, sites, policy, options)
    cells = _tasks(assets, crs, cell_m, client)
    site_pos: list[np.ndarray | None] = [None] * len(cells)
    if use_sites is not None:
        halo_m = max((r.within_m for r in policy.exclusions), default=0.0)
        s_bounds = _bounds(use_sites, crs)
        site_pos = [c.halo(s_bounds, halo_m) for c in cells]
    sited = [] if use_sites is None else [(use_sites, site_pos)]
    if not _same_crs(cells, assets, crs, sited):
        return _in_process(assets, sites, policy, options)
    members = _neighbour_halos(cells, neighbours, crs, params)
    task_sites = None if use_sites is None else _only(use_sites, ELIGIBILITY_SITE_COLUMNS)

    def payloads() -> Iterator[tuple]:
        for i, cell_assets in enumerate(_by_task(assets, cells)):
            cell_sites = None if task_sites is None else task_sites.iloc[site_pos[i]]  # type: ignore[index]
            yield cell_assets, cell_sites, _halo_frames(neighbours, members, i)

    common = {
        "policy": policy,
        "rate_card": card,
        "terms": deal,
        "params": params,
        "assumptions": assumptions,
        "category_share": category_share,
        "pricing": pricing,
    }
    futures = submit_tasks(client, _eligibility_and_value_task, payloads(), cluster, **common)
    ids = _while_tasks_run(client, futures, _id_column, assets, policy)
    try:
        results = gather_tasks(client, futures, cluster)
    except PlannerError:
        return _in_process(assets, sites, policy, options)  # the error for every row
    frames = [r[1] for r in results]
    values = _gathered_values(frames, cells, assets, card, deal, options, [])
    # The whole portfolio's warnings, read off the gathered values: their geometry is the
    # assets' own in EPSG:4326 (the same coordinates `outside_card_area` and the layers'
    # overlap check would project the assets to), so only the sites are projected here.
    located = assets.set_geometry(
        gpd.GeoSeries(values.geometry.to_numpy(), index=assets.index, crs=values.crs)
    )
    site_warnings = check_sites_against_policy(sites, policy, assets=located)
    values.attrs["warnings"] = _location_warnings(located, card) + values.attrs["warnings"]
    table = _gathered_table([r[0] for r in results], cells, assets, policy, site_warnings, ids)
    return table, values


def _in_process(
    assets: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    policy: Policy,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Eligibility then valuation in this process (the definition of both tables)."""
    table = eligibility(assets, sites, policy)
    return table, value_assets(assets, eligibility=table, **options)


def _eligibility_and_value_task(
    assets: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    neighbours: dict[str, Any],  # zones, transit, pois, traffic and roads, by keyword
    policy: Policy,
    **options: Any,
) -> tuple[Verdicts, gpd.GeoDataFrame]:
    """One task's verdicts and values (on a worker), valued with its own eligibility."""
    notes = verdicts(assets, sites, policy)
    table = eligibility_table(assets["asset_id"].astype(str), policy.categories, notes)
    return notes, value_assets(assets, eligibility=table, **neighbours, **options)


def _gathered_values(
    frames: list[gpd.GeoDataFrame],
    cells: list[Task],
    assets: gpd.GeoDataFrame,
    card: RateCard,
    deal: ConcessionTerms,
    options: dict[str, Any],
    warnings: list[str],
) -> gpd.GeoDataFrame:
    """Put the tasks' values back in the assets' order; redo what is portfolio-wide.

    Council income and the warnings depend on the whole portfolio; ``warnings`` are the
    location warnings of the whole portfolio (`_location_warnings`).
    """
    values = pd.concat(frames).iloc[_assets_order(cells)]
    values = gpd.GeoDataFrame(values, geometry="geometry", crs="EPSG:4326")
    attrs = frames[0].attrs
    assumptions: ValuationAssumptions = options["assumptions"]
    _, unavailable = _status(assets)
    deals = terms_by_kind(deal, currency=card.currency)
    _council_income(values, deals, ~unavailable, assumptions.contract_year)
    warnings = warnings + _unavailable_warning(values["asset_id"], unavailable)
    _, uniform = _uniform_audience(
        values, options["zones"], options["transit"], options["pois"], options["params"]
    )
    values.attrs = {**attrs, "warnings": warnings + uniform}
    return values


def _stays_here(
    assets: gpd.GeoDataFrame,
    neighbours: dict[str, gpd.GeoDataFrame | None],
    params: AudienceParams,
) -> bool:
    """Tell whether valuation must run in this process (it cannot be partitioned)."""
    return (
        not _partitionable(assets, *neighbours.values())
        or "asset_id" not in assets.columns
        or _calibrates(assets, params)
    )


def _partitionable(assets: gpd.GeoDataFrame, *others: gpd.GeoDataFrame | None) -> bool:
    """Tell whether the frames can be cut into cells: rows, CRSs and every asset located.

    Otherwise the one-process function runs, and names the problem if there is one.
    """
    if not isinstance(assets, gpd.GeoDataFrame) or not len(assets) or assets.crs is None:
        return False
    if (assets.geometry.isna() | assets.geometry.is_empty).any():
        return False
    return all(
        isinstance(f, gpd.GeoDataFrame) and f.crs is not None for f in others if f is not None
    )


def _calibrates(assets: pd.DataFrame, params: AudienceParams) -> bool:
    """Tell whether `estimate_impacts` will scale the model to the measured audiences."""
    if "weekly_impacts" not in assets.columns:
        return False
    measured = pd.to_numeric(assets["weekly_impacts"], errors="coerce")
    return int((measured >= 0).sum()) >= params.min_measured_for_calibration


def _tasks(assets: gpd.GeoDataFrame, crs: CRS, cell_m: float, client: Client) -> list[Task]:
    """Grid cells of ``cell_m`` packed into about four tasks per worker of ``client``."""
    workers = len(client.scheduler_info().get("workers", {})) or 1
    return pack_cells(grid_cells(_bounds(assets, crs), cell_m), workers)


def _bounds(frame: gpd.GeoDataFrame, crs: CRS) -> np.ndarray:
    """Bounding box of each feature in ``crs``, shape (n, 4), metres.

    A frame already in ``crs`` is not reprojected: geopandas reprojects (every
    coordinate) whenever the two definitions differ in their text, as a GeoParquet file's
    EPSG:27700 does from pyproj's.
    """
    geometry = frame.geometry
    if geometry.crs != crs:
        geometry = geometry.to_crs(crs)
    return geometry.bounds.to_numpy()


def _only(frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Keep only these of the frame's columns, and its geometry (what a task reads)."""
    keep = [c for c in frame.columns if c in columns or c == frame.geometry.name]
    return frame[keep]


def _while_tasks_run(
    client: Client, futures: list, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Call ``function`` here while the tasks run; cancel them if it raises."""
    try:
        return function(*args, **kwargs)
    except BaseException:
        client.cancel(futures)
        raise


def _same_crs(
    cells: list[Task],
    assets: gpd.GeoDataFrame,
    crs: CRS,
    neighbours: list[tuple[gpd.GeoDataFrame, list]],
) -> bool:
    """Tell whether every cell, with its halo, gets ``crs`` from `planner.geo.metric_crs`.

    Always so in Great Britain (any part of British data is British); elsewhere a cell
    may fall in another UTM zone than the centre of the whole.
    """
    if crs.to_epsg() == 27700:
        return True
    a_deg = assets.geometry.to_crs("EPSG:4326").bounds.to_numpy()
    n_deg = [(f.geometry.to_crs("EPSG:4326").bounds.to_numpy(), pos) for f, pos in neighbours]
    for i, cell in enumerate(cells):
        parts = [a_deg[cell.positions]] + [deg[pos[i]] for deg, pos in n_deg]
        if partition_crs(*parts) != crs:
            return False
    return True


def _neighbour_halos(
    cells: list[Task],
    neighbours: dict[str, gpd.GeoDataFrame | None],
    crs: CRS,
    params: AudienceParams,
) -> dict[str, list[np.ndarray]]:
    """Positions of each given neighbour frame's features within the audience model's reach.

    The reach of each frame is its radius in ``params`` (walking for zones, transit,
    points of interest, traffic count points and roads), and for transit and points of
    interest at least the environment classification's (hub and town-centre radii).
    """
    # value_assets also classifies environments (default EnvironmentParams) from the
    # stations and points of interest within their own radii.
    env = EnvironmentParams()
    reach = {
        "zones": params.walking_radius_m,
        "transit": max(params.transit_radius_m, env.hub_radius_m),
        "pois": max(params.poi_radius_m, env.town_centre_radius_m),
        "traffic": params.traffic_radius_m,
        "roads": params.road_radius_m,
    }
    return {
        name: _halo_positions(cells, frame, crs, reach[name], keep_one=name == "zones")
        for name, frame in neighbours.items()
        if frame is not None
    }


def _halo_frames(
    neighbours: dict[str, gpd.GeoDataFrame | None], members: dict[str, list[np.ndarray]], i: int
) -> dict[str, gpd.GeoDataFrame]:
    """Take the rows of each neighbour frame in task ``i``'s halo (`_neighbour_halos`)."""
    return {
        name: frame.iloc[members[name][i]]
        for name, frame in neighbours.items()
        if frame is not None and name in members
    }


def _halo_positions(
    cells: list[Task], frame: gpd.GeoDataFrame, crs: CRS, halo_m: float, *, keep_one: bool
) -> list[np.ndarray]:
    """Positions of ``frame``'s features within ``halo_m`` of each cell's assets.

    With ``keep_one``, a cell with none still gets the first feature (too far to count):
    the audience model tells "no zones given" from "none nearby" by the frame's length.
    """
    bounds = _bounds(frame, crs)
    out = []
    for cell in cells:
        pos = cell.halo(bounds, halo_m)
        if keep_one and not len(pos) and len(frame):
            pos = np.array([0])
        out.append(pos)
    return out


def _split_eligibility(
    table: pd.DataFrame | None, assets: pd.DataFrame, cells: list[Task]
) -> list[pd.DataFrame | None]:
    """Cut an eligibility table into the rows of each cell's assets, in the table's order."""
    if table is None:
        return [None] * len(cells)
    # value_assets reads only these columns of it (the reasons would be sent for nothing).
    table = table[[c for c in ("asset_id", "category", "allowed") if c in table.columns]]
    cell_of = np.full(len(assets), -1, dtype=np.int64)
    for i, cell in enumerate(cells):
        cell_of[cell.positions] = i
    pos = _asset_positions(assets["asset_id"].astype(str), table["asset_id"].astype(str))
    owner = np.where(pos >= 0, cell_of[pos], -1)
    order = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[order], np.arange(len(cells) + 1))
    return [table.iloc[order[starts[i] : starts[i + 1]]] for i in range(len(cells))]


def _asset_positions(ids: pd.Series, table_ids: pd.Series) -> np.ndarray:
    """Position in ``ids`` of each row's asset in ``table_ids``, -1 for an unknown asset.

    An eligibility table (`planner.policy.eligibility.eligibility`) lists the categories of
    each asset together, assets in their input order: then the positions follow from the
    table's length, checked on every row (a third of the time of looking each row up).
    """
    if len(ids) and len(table_ids) % len(ids) == 0:
        guess = np.repeat(np.arange(len(ids)), len(table_ids) // len(ids))
        same = table_ids.reset_index(drop=True) == ids.take(guess).reset_index(drop=True)
        if same.all():
            return guess
    return pd.Index(ids).get_indexer(pd.Index(table_ids))


def _by_task(frame: gpd.GeoDataFrame, cells: list[Task]) -> Iterator[gpd.GeoDataFrame]:
    """Yield each task's rows of ``frame`` (in ``cells``' order), as slices of one copy.

    One reordering of the whole frame, then a slice per task: taking each task's rows
    apart costs a pass over every text column per task (Arrow strings), and a slice
    travels as its own rows only.
    """
    ordered = frame.take(np.concatenate([c.positions for c in cells]))
    start = 0
    for cell in cells:
        yield ordered.iloc[start : start + len(cell.positions)]
        start += len(cell.positions)


def _assets_order(cells: list[Task]) -> np.ndarray:
    """Positions, in the gathered (cell by cell) table, of the assets in their input order."""
    return np.argsort(np.concatenate([c.positions for c in cells]), kind="stable")
