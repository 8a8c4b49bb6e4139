"""The solver-ready instance: integers and index arrays, with no geometry below this point.

`build_instance` turns assets, prices, eligibility, the policy, campaigns and demand zones
into the candidate (asset, campaign, cycle) triples the model may use, plus the spatial
neighbour lists its rules need. Money becomes pence and audiences whole impacts here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.calendar import cycle_dates
from planner.campaigns import Campaign
from planner.errors import PlannerError
from planner.geo import metric_crs, project
from planner.optimise.money import to_minor
from planner.optimise.settings import PlanSettings
from planner.policy.load import DensityRule, Policy, ShareRule

__all__ = ["Instance", "build_instance", "pairs_within", "restrict", "slot_ranks"]

WEEKS_PER_CYCLE = 2


@dataclass
class Instance:
    """Candidate placements and everything the model's rules need, as plain arrays.

    Candidate ``k`` is asset ``cand_asset[k]`` for campaign ``cand_campaign[k]`` in cycle
    ``cand_cycle[k]``; it costs ``cand_price[k]`` pence and earns ``cand_impacts[k]``
    impacts. An asset carries at most ``capacity[a]`` campaigns per cycle: its faces for a
    classic asset, faces × slots for a digital one. Built by `build_instance`; nothing
    below this point sees geometry, money in pounds or campaign text.

    Attributes
    ----------
    asset_ids
        Asset id of each asset position, shape (n_assets,), as strings.
    capacity
        Campaigns an asset can carry in one cycle, shape (n_assets,): ``faces`` for a
        classic asset, ``faces * slots`` for a digital one.
    xy
        Asset positions in the instance's metric CRS, shape (n_assets, 2), metres.
    campaigns
        The campaigns; a campaign index ``c`` is a position in this list.
    cycles
        Every cycle any campaign runs in, ascending.
    cand_asset, cand_campaign, cand_cycle
        Asset position, campaign index and cycle number of each candidate, each of shape
        (n_candidates,). A candidate exists only for an (asset, campaign, cycle) the
        policy and the campaign's targeting allow.
    cand_price
        Price of each candidate in pence (minor units of the rate card's currency) per
        cycle, shape (n_candidates,).
    cand_impacts
        Impacts per cycle of each candidate's asset, shape (n_candidates,).
    budget_pence
        Budget of each campaign over all its cycles, in pence, shape (n_campaigns,).
    spacing_pairs
        For each campaign with ``min_spacing_m > 0``: asset pairs ``(i, j)``, ``i < j``,
        among its candidate assets that are within that spacing, shape (n_pairs, 2).
    competitor_pairs
        Asset pairs within ``settings.competitor_separation_m`` among the candidate
        assets of campaigns with a competitor group, shape (n_pairs, 2).
    density
        One entry per density rule of the policy: the rule and, for every asset, the
        positions of the assets within ``rule.within_m`` of it (itself included).
    shares
        One entry per share rule of the policy: the rule and a Boolean mask over the
        campaigns whose category it lists, shape (n_campaigns,).
    zone_pop
        Population of each demand zone (whole people), shape (n_zones,); empty without
        zones.
    asset_zones
        For every asset, the zones (with population above 0) whose representative point
        is within ``settings.walk_m`` of it; empty without zones.
    required_sales_pence
        Least gross sales, in pence, the plan must book (0: no revenue target).
    locked
        Candidate indices the plan must keep (existing contracts), sorted.
    eligible_counts
        ``(campaign index, cycle) -> number of assets`` the campaign may use in that
        cycle (0 in a cycle a period rule blocks); the quick infeasibility checks use it.
    removed_by_rule
        ``(campaign index, rule id) -> assets`` the rule refused for the campaign within
        its targeting, for explaining too few eligible faces.
    settings
        The business settings the instance was built with.
    """

    asset_ids: np.ndarray
    capacity: np.ndarray
    xy: np.ndarray
    campaigns: list[Campaign]
    cycles: tuple[int, ...]
    cand_asset: np.ndarray
    cand_campaign: np.ndarray
    cand_cycle: np.ndarray
    cand_price: np.ndarray
    cand_impacts: np.ndarray
    budget_pence: np.ndarray
    spacing_pairs: dict[int, np.ndarray] = field(default_factory=dict)
    competitor_pairs: np.ndarray = field(default_factory=lambda: np.empty((0, 2), int))
    density: list[tuple[DensityRule, list[np.ndarray]]] = field(default_factory=list)
    shares: list[tuple[ShareRule, np.ndarray]] = field(default_factory=list)
    zone_pop: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    asset_zones: list[np.ndarray] = field(default_factory=list)
    required_sales_pence: int = 0
    locked: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    eligible_counts: dict[tuple[int, int], int] = field(default_factory=dict)
    removed_by_rule: dict[tuple[int, str], int] = field(default_factory=dict)
    settings: PlanSettings = field(default_factory=PlanSettings)

    @property
    def n_candidates(self) -> int:
        """Number of candidate placements (model variables)."""
        return len(self.cand_asset)


def pairs_within(xy: np.ndarray, distance: float, subset: np.ndarray | None = None) -> np.ndarray:
    """Return index pairs ``(i, j)``, ``i < j``, of points within ``distance`` metres.

    A pair at exactly ``distance`` counts as within. Found with a shapely ``STRtree``
    ``dwithin`` query, never a dense distance matrix.

    Parameters
    ----------
    xy
        Point coordinates in a metric CRS, shape (n_points, 2), metres.
    distance
        Distance in metres; 0 or less gives no pairs.
    subset
        Point indices to consider (the others are ignored); all points when None.

    Returns
    -------
    numpy.ndarray
        Pairs of indices into ``xy``, shape (n_pairs, 2), ``int64``.

    Examples
    --------
    >>> pairs_within(np.array([[0, 0], [50, 0], [500, 0]]), 100)
    array([[0, 1]])
    """
    idx = np.arange(len(xy)) if subset is None else np.asarray(subset)
    if distance <= 0 or len(idx) < 2:
        return np.empty((0, 2), dtype=np.int64)
    points = cast("np.ndarray", shapely.points(xy[idx]))  # (n, 2) in: n points
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=distance)
    keep = left < right
    return np.column_stack([idx[left[keep]], idx[right[keep]]]).astype(np.int64)


def slot_ranks(inst: Instance, key: np.ndarray) -> np.ndarray:
    """Rank each candidate within its (campaign, cycle) by ascending ``key`` (0 = first).

    Ties keep candidate order. Used to keep each campaign's best candidates per cycle
    (objective ceiling, candidate pruning).

    Parameters
    ----------
    inst
        The instance.
    key
        Sort key of each candidate, shape (n_candidates,); negate a value to rank the
        largest first.

    Returns
    -------
    numpy.ndarray
        Rank of each candidate among those of its campaign and cycle, shape
        (n_candidates,), ``int64``.

    Examples
    --------
    >>> best_first = slot_ranks(inst, -inst.cand_price)
    """
    n = inst.n_candidates
    order = np.lexsort((np.asarray(key), inst.cand_cycle, inst.cand_campaign))
    campaign, cycle = inst.cand_campaign[order], inst.cand_cycle[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (campaign[1:] != campaign[:-1]) | (cycle[1:] != cycle[:-1])
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n) - first
    return ranks


def restrict(inst: Instance, keep: np.ndarray) -> Instance:
    """Return the instance with only the candidates ``keep``, for a smaller model.

    Candidate ``i`` of the result is candidate ``keep[i]`` of ``inst``; asset-level data
    (neighbours, zones, eligible counts) is shared, not copied. Locked candidates not in
    ``keep`` are dropped, so keep them (as `planner.optimise.solve` does).

    Parameters
    ----------
    inst
        The full instance.
    keep
        Candidate indices to keep, sorted ascending, shape (n_kept,).

    Returns
    -------
    Instance
        The restricted instance; map its chosen candidates back with ``keep[chosen]``.
    """
    keep = np.asarray(keep, dtype=np.int64)
    return replace(
        inst,
        cand_asset=inst.cand_asset[keep],
        cand_campaign=inst.cand_campaign[keep],
        cand_cycle=inst.cand_cycle[keep],
        cand_price=inst.cand_price[keep],
        cand_impacts=inst.cand_impacts[keep],
        locked=np.searchsorted(keep, inst.locked[np.isin(inst.locked, keep)]),
    )


def _neighbours(xy: np.ndarray, distance: float) -> list[np.ndarray]:
    """Return, for every point, the points within ``distance`` metres (itself included)."""
    points = cast("np.ndarray", shapely.points(xy))  # (n, 2) in: n points
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=distance)
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    bounds = np.searchsorted(left, np.arange(len(xy) + 1))
    return [right[bounds[i] : bounds[i + 1]] for i in range(len(xy))]


def _targeting_mask(assets: pd.DataFrame, campaign: Campaign, xy: np.ndarray, crs) -> np.ndarray:
    """Return which assets a campaign may target, shape (n_assets,).

    An asset must be ``available`` and match the campaign's formats, asset types, digital
    choice (``only``/``never``/``any``), wards and radius (metres around its lon/lat
    centre, measured in ``crs``); the policy is applied separately.
    """
    mask = (assets["status"].astype(str) == "available").to_numpy().copy()
    if campaign.formats:
        mask &= assets["format"].astype(str).str.lower().isin(campaign.formats).to_numpy()
    if campaign.asset_types:
        mask &= assets["asset_type"].astype(str).str.lower().isin(campaign.asset_types).to_numpy()
    digital = assets["digital"].to_numpy(dtype=bool)
    if campaign.digital == "only":
        mask &= digital
    elif campaign.digital == "never":
        mask &= ~digital
    area = campaign.area
    if area.wards:
        wards = {w.lower() for w in area.wards}
        mask &= assets["ward"].astype(str).str.lower().isin(wards).to_numpy()
    if area.radius_m is not None:
        assert area.lon is not None and area.lat is not None  # a radius comes with a centre
        centre = gpd.GeoSeries(shapely.points([[area.lon, area.lat]]), crs="EPSG:4326").to_crs(crs)
        cx, cy = centre.x.iloc[0], centre.y.iloc[0]
        mask &= np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= area.radius_m
    return mask


def _period_blocked(policy: Policy, category: str, cycle: int, start: date) -> bool:
    """Tell whether a period rule bans ``category`` on any day of ``cycle``."""
    first, last = cycle_dates(cycle, start)
    return any(
        category in r.categories and first <= r.end and last >= r.start for r in policy.periods
    )


def _prices(assets: pd.DataFrame, values: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the price and impacts per cycle of every asset, as integers.

    Price is ``price_per_cycle`` (currency units per face or slot per cycle) in pence;
    impacts are ``weekly_impacts`` times the two weeks of a cycle (0 where missing).
    Read from ``values`` when given (aligned on ``asset_id``), else from ``assets``.

    Raises
    ------
    PlannerError
        When an asset has no price, naming up to five of them.
    """
    source = assets.set_index("asset_id")
    if values is not None:
        source = values.set_index("asset_id").reindex(assets["asset_id"])
    price = pd.to_numeric(source["price_per_cycle"], errors="coerce").to_numpy(dtype=float)
    weekly = pd.to_numeric(
        source.get("weekly_impacts", pd.Series(np.nan, index=source.index)), errors="coerce"
    ).to_numpy(dtype=float)
    missing = np.flatnonzero(np.isnan(price))
    if len(missing):
        ids = ", ".join(assets["asset_id"].astype(str).iloc[missing[:5]])
        raise PlannerError(
            f"{len(missing)} asset(s) have no price ({ids}...). Value the assets "
            "first (planner.value_assets) or give a price_per_cycle column"
        )
    weekly = np.nan_to_num(weekly, nan=0.0)
    return to_minor(price), np.rint(weekly * WEEKS_PER_CYCLE).astype(np.int64)


def build_instance(
    assets: gpd.GeoDataFrame,
    campaigns: Sequence[Campaign],
    policy: Policy,
    eligibility: pd.DataFrame,
    *,
    values: pd.DataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    locked: pd.DataFrame | None = None,
    settings: PlanSettings = PlanSettings(),
    required_sales: float = 0.0,
) -> Instance:
    """Prepare every number the model needs: candidates, prices, neighbours and zones.

    Positions are measured in `planner.geo.metric_crs` of the assets. Prices, budgets
    and the sales target become pence (`planner.optimise.money.to_minor`) and weekly
    impacts whole impacts per two-week cycle, here and only here.

    Parameters
    ----------
    assets
        Contract assets with a CRS, one row per asset: ``asset_id``, ``faces``,
        ``digital``, ``slots``, ``status``, and ``format``, ``asset_type`` or ``ward``
        when a campaign targets them.
    campaigns
        Parsed campaigns (`planner.campaigns.Campaign`); budgets in currency units.
    policy
        The ethical-use policy (its density, share and period rules are used here; bans
        and exclusions arrive through ``eligibility``).
    eligibility
        ``asset_id, category, allowed`` rows from `planner.eligibility`.
    values
        Per-asset ``price_per_cycle`` and ``weekly_impacts`` (e.g. from
        `planner.value_assets`); the assets' own columns when None.
    zones
        Demand zones with ``population``, for the reach objective.
    locked
        Placements the plan must keep: ``asset_id, campaign_id, cycle``.
    settings
        Business settings.
    required_sales
        Least gross sales (currency units) the plan must book, e.g. from
        `planner.plan.required_sales`; rounded up to whole pence.

    Returns
    -------
    Instance
        The solver-ready instance.

    Raises
    ------
    PlannerError
        When a price is missing (naming the assets), or a locked placement is not
        possible (naming each row, counted from 2 as in the CSV).
    """
    assets = assets.reset_index(drop=True)
    crs = metric_crs(assets)
    metric = project(assets.geometry, crs)
    # A line or polygon asset (kept whole for the exclusion check) is located at a point on it.
    xy = shapely.get_coordinates(shapely.point_on_surface(metric.to_numpy()))
    faces = assets["faces"].to_numpy(dtype=np.int64)
    digital = assets["digital"].to_numpy(dtype=bool)
    capacity = np.where(digital, faces * assets["slots"].to_numpy(dtype=np.int64), faces)
    price, impacts = _prices(assets, values)
    ids = assets["asset_id"].astype(str).to_numpy()
    allowed = _allowed(eligibility, ids)
    cycles = tuple(sorted({t for c in campaigns for t in c.cycles}))
    parts, counts, removed = _candidates(
        assets, campaigns, policy, allowed, eligibility, xy, crs, settings
    )
    cand = np.concatenate(parts, axis=1) if parts else np.empty((3, 0), dtype=np.int64)
    inst = Instance(
        asset_ids=ids,
        capacity=capacity,
        xy=xy,
        campaigns=list(campaigns),
        cycles=cycles,
        cand_asset=cand[0],
        cand_campaign=cand[1],
        cand_cycle=cand[2],
        cand_price=price[cand[0]],
        cand_impacts=impacts[cand[0]],
        budget_pence=to_minor([c.budget for c in campaigns]).reshape(-1),
        eligible_counts=counts,
        removed_by_rule=removed,
        settings=settings,
        required_sales_pence=to_minor(required_sales, rounding="up"),
    )
    _spatial(inst, policy, settings)
    if zones is not None and len(zones):
        _reach(inst, zones, crs, settings.walk_m)
    if locked is not None and len(locked):
        inst.locked = _locked(inst, locked)
    return inst


def _allowed(eligibility: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Return an asset x category table of eligibility, rows in ``ids`` order.

    An asset missing from ``eligibility`` is refused for every category.
    """
    table = eligibility.pivot_table(
        index="asset_id", columns="category", values="allowed", aggfunc="all"
    )
    return table.reindex(ids).fillna(False).astype(bool)


def _candidates(assets, campaigns, policy, allowed, eligibility, xy, crs, settings):
    """Return the candidate triples, eligible counts and refusals by rule.

    For each campaign, the assets its targeting picks and the policy allows, in every
    cycle of the campaign that no period rule blocks. Returns the ``(3, n)`` blocks of
    (asset, campaign, cycle), ``eligible_counts`` and ``removed_by_rule`` of `Instance`.
    """
    parts: list[np.ndarray] = []
    counts: dict[tuple[int, int], int] = {}
    removed: dict[tuple[int, str], int] = {}
    refused = _refusals(eligibility, assets["asset_id"].astype(str).to_numpy())
    for ci, campaign in enumerate(campaigns):
        target = _targeting_mask(assets, campaign, xy, crs)
        ok = (
            allowed[campaign.category].to_numpy()
            if campaign.category in allowed
            else (np.zeros(len(assets), bool))
        )
        mask = target & ok
        _count_removed(removed, ci, campaign, target, refused)
        chosen = np.flatnonzero(mask)
        for t in campaign.cycles:
            blocked = _period_blocked(policy, campaign.category, t, settings.start)
            counts[(ci, t)] = 0 if blocked else int(mask.sum())
            if blocked or not len(chosen):
                continue
            parts.append(np.vstack([chosen, np.full_like(chosen, ci), np.full_like(chosen, t)]))
    return parts, counts, removed


def _refusals(eligibility: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Return one row per refused (asset position, category, rule id), for all campaigns."""
    refused = eligibility.loc[~eligibility["allowed"].astype(bool)]
    rule_ids = refused.get("rule_ids", pd.Series("", index=refused.index)).astype(str)
    table = pd.DataFrame(
        {
            "pos": pd.Index(ids).get_indexer(refused["asset_id"].astype(str)),
            "category": refused["category"].to_numpy(),
            "rule_id": rule_ids.str.split(";").to_numpy(),
        }
    ).explode("rule_id")
    return table[(table["pos"] >= 0) & (table["rule_id"].fillna("") != "")]


def _count_removed(removed, ci, campaign, target, refused) -> None:
    """Add to ``removed`` the campaign's targeted assets each policy rule refused."""
    hit = (refused["category"] == campaign.category).to_numpy() & target[refused["pos"].to_numpy()]
    for rid, n in refused.loc[hit, "rule_id"].value_counts(sort=False).items():
        removed[(ci, str(rid))] = removed.get((ci, str(rid)), 0) + int(n)


def _spatial(inst: Instance, policy: Policy, settings: PlanSettings) -> None:
    """Fill the instance's spacing and competitor pairs, density neighbours and shares.

    Pairs are searched only among assets that some relevant campaign can use.
    """
    for ci, campaign in enumerate(inst.campaigns):
        if campaign.min_spacing_m > 0:
            used = np.unique(inst.cand_asset[inst.cand_campaign == ci])
            inst.spacing_pairs[ci] = pairs_within(inst.xy, campaign.min_spacing_m, used)
    grouped = [ci for ci, c in enumerate(inst.campaigns) if c.competitor_group]
    if grouped:
        used = np.unique(inst.cand_asset[np.isin(inst.cand_campaign, grouped)])
        inst.competitor_pairs = pairs_within(inst.xy, settings.competitor_separation_m, used)
    for rule in policy.densities:
        inst.density.append((rule, _neighbours(inst.xy, rule.within_m)))
    for share in policy.shares:
        cats = np.array([c.category in share.categories for c in inst.campaigns], dtype=bool)
        inst.shares.append((share, cats))


def _reach(inst: Instance, zones: gpd.GeoDataFrame, crs, walk_m: float) -> None:
    """Fill ``zone_pop`` and ``asset_zones``: zones within ``walk_m`` metres of each asset.

    A zone is represented by a point inside it; zones with no population are left out.
    """
    points = project(zones.geometry, crs).representative_point()
    pop = np.rint(zones["population"].to_numpy(dtype=float)).astype(np.int64)
    keep = pop > 0
    tree = shapely.STRtree(points.to_numpy()[keep])
    zone_idx = np.flatnonzero(keep)
    left, right = tree.query(shapely.points(inst.xy), predicate="dwithin", distance=walk_m)
    order = np.argsort(left, kind="stable")
    left, right = left[order], zone_idx[right[order]]
    bounds = np.searchsorted(left, np.arange(len(inst.xy) + 1))
    inst.zone_pop = pop
    inst.asset_zones = [right[bounds[i] : bounds[i + 1]] for i in range(len(inst.xy))]


def _locked(inst: Instance, locked: pd.DataFrame) -> np.ndarray:
    """Return the candidate index of every locked placement, sorted and unique.

    Raises
    ------
    PlannerError
        Listing (up to ten) rows whose asset, campaign or cycle is unknown, or whose
        placement is refused by the policy or the campaign's targeting.
    """
    index = {cid: i for i, cid in enumerate(c.campaign_id for c in inst.campaigns)}
    asset_index = {a: i for i, a in enumerate(inst.asset_ids)}
    key = {
        (int(a), int(c), int(t)): k
        for k, (a, c, t) in enumerate(
            zip(inst.cand_asset, inst.cand_campaign, inst.cand_cycle, strict=True)
        )
    }
    chosen, problems = [], []
    for row, rec in enumerate(locked.to_dict("records"), start=2):
        a = asset_index.get(str(rec.get("asset_id")))
        c = index.get(str(rec.get("campaign_id")))
        cycle = rec.get("cycle")
        try:
            t = None if cycle is None else int(cycle)
        except (TypeError, ValueError):
            t = None
        k = key.get((a, c, t)) if a is not None and c is not None and t is not None else None
        if k is None:
            problems.append(
                f"row {row}: {rec.get('campaign_id')} on {rec.get('asset_id')} in "
                f"cycle {rec.get('cycle')} is not possible (unknown asset or "
                "campaign, cycle outside the campaign, or refused by the policy "
                "or the campaign's targeting)"
            )
        else:
            chosen.append(k)
    if problems:
        raise PlannerError(
            "Locked placements: " + "; ".join(problems[:10]) + ". Fix or remove these rows."
        )
    return np.array(sorted(set(chosen)), dtype=np.int64)
