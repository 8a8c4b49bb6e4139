"""The solver-ready instance: integers and index arrays, with no geometry below this point.

`build_instance` turns assets, prices, eligibility, the policy, campaigns and demand zones
into the candidate (asset, campaign, cycle) triples the model may use, plus the spatial
neighbour lists its rules need. Money becomes pence and audiences whole impacts here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.calendar import DEFAULT_START, cycle_dates
from planner.campaigns import Campaign
from planner.errors import PlannerError
from planner.geo import metric_crs
from planner.policy.load import DensityRule, Policy, ShareRule

__all__ = ["Instance", "PlanSettings", "build_instance", "pairs_within", "restrict", "slot_ranks"]

PENCE = 100
WEEKS_PER_CYCLE = 2


@dataclass(frozen=True)
class PlanSettings:
    """Business settings of a plan (solver settings live in `planner.optimise.solve.SolverSettings`).

    Attributes
    ----------
    start
        First day of cycle 1 (for the policy's period rules).
    revenue_target
        Least council revenue the plan must earn, in the rate card's currency (0: none).
    competitor_separation_m
        Two campaigns of one competitor group are never on one asset, nor within this
        distance of each other, in the same cycle.
    walk_m
        A demand zone counts as reached by a campaign when one of its faces is within this
        walking distance of the zone's representative point.
    commission
        Agency commission deducted from gross price to give the media owner's net sales.
    skip_unplaceable
        Leave out campaigns that cannot be placed at all (e.g. a category the policy bans
        everywhere) and say so in the plan's notes, instead of declaring the plan infeasible.
    """

    start: date = DEFAULT_START
    revenue_target: float = 0.0
    competitor_separation_m: float = 100.0
    walk_m: float = 400.0
    commission: float = 0.15
    skip_unplaceable: bool = False


@dataclass
class Instance:
    """Candidate placements and everything the model's rules need, as plain arrays.

    Candidate ``k`` is asset ``cand_asset[k]`` for campaign ``cand_campaign[k]`` in cycle
    ``cand_cycle[k]``; it costs ``cand_price[k]`` pence and earns ``cand_impacts[k]``
    impacts. An asset carries at most ``capacity[a]`` campaigns per cycle: its faces for a
    classic asset, faces × slots for a digital one.
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
    """Index pairs ``(i, j)``, ``i < j``, of points within ``distance`` metres (STRtree).

    Examples
    --------
    >>> pairs_within(np.array([[0, 0], [50, 0], [500, 0]]), 100)
    array([[0, 1]])
    """
    idx = np.arange(len(xy)) if subset is None else np.asarray(subset)
    if distance <= 0 or len(idx) < 2:
        return np.empty((0, 2), dtype=np.int64)
    points = shapely.points(xy[idx])
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=distance)
    keep = left < right
    return np.column_stack([idx[left[keep]], idx[right[keep]]]).astype(np.int64)


def slot_ranks(inst: Instance, key: np.ndarray) -> np.ndarray:
    """Rank of each candidate within its (campaign, cycle) by ascending ``key`` (0 = first).

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
    """The instance with only the candidates ``keep`` (sorted indices), for a smaller model.

    Candidate ``i`` of the result is candidate ``keep[i]`` of ``inst``; asset-level data
    (neighbours, zones, eligible counts) is shared.
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
    points = shapely.points(xy)
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=distance)
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    bounds = np.searchsorted(left, np.arange(len(xy) + 1))
    return [right[bounds[i] : bounds[i + 1]] for i in range(len(xy))]


def _targeting_mask(assets: pd.DataFrame, campaign: Campaign, xy: np.ndarray, crs) -> np.ndarray:
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
        centre = gpd.GeoSeries(shapely.points([[area.lon, area.lat]]), crs="EPSG:4326").to_crs(crs)
        cx, cy = centre.x.iloc[0], centre.y.iloc[0]
        mask &= np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= area.radius_m
    return mask


def _period_blocked(policy: Policy, category: str, cycle: int, start: date) -> bool:
    first, last = cycle_dates(cycle, start)
    return any(
        category in r.categories and first <= r.end and last >= r.start for r in policy.periods
    )


def _prices(assets: pd.DataFrame, values: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Price (pence per face or slot per cycle) and impacts per cycle of every asset."""
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
    return np.rint(price * PENCE).astype(np.int64), np.rint(weekly * WEEKS_PER_CYCLE).astype(
        np.int64
    )


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
    """Prepare every number the model needs.

    Parameters
    ----------
    assets
        Contract assets.
    campaigns
        Parsed campaigns.
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
        Least gross sales (currency units) the plan must book.

    Raises
    ------
    PlannerError
        When a price is missing or a locked placement is not possible.
    """
    assets = assets.reset_index(drop=True)
    crs = metric_crs(assets)
    metric = assets.geometry.to_crs(crs)
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
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
        budget_pence=np.array([round(c.budget * PENCE) for c in campaigns], np.int64),
        eligible_counts=counts,
        removed_by_rule=removed,
        settings=settings,
        required_sales_pence=int(np.ceil(required_sales * PENCE)),
    )
    _spatial(inst, policy, settings)
    if zones is not None and len(zones):
        _reach(inst, zones, crs, settings.walk_m)
    if locked is not None and len(locked):
        inst.locked = _locked(inst, locked)
    return inst


def _allowed(eligibility: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    table = eligibility.pivot_table(
        index="asset_id", columns="category", values="allowed", aggfunc="all"
    )
    return table.reindex(ids).fillna(False).astype(bool)


def _candidates(assets, campaigns, policy, allowed, eligibility, xy, crs, settings):
    parts, counts, removed = [], {}, {}
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
    """One row per refused (asset position, category, rule id), read once for all campaigns."""
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
    hit = (refused["category"] == campaign.category).to_numpy() & target[refused["pos"].to_numpy()]
    for rid, n in refused.loc[hit, "rule_id"].value_counts(sort=False).items():
        removed[(ci, str(rid))] = removed.get((ci, str(rid)), 0) + int(n)


def _spatial(inst: Instance, policy: Policy, settings: PlanSettings) -> None:
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
    for rule in policy.shares:
        cats = np.array([c.category in rule.categories for c in inst.campaigns], dtype=bool)
        inst.shares.append((rule, cats))


def _reach(inst: Instance, zones: gpd.GeoDataFrame, crs, walk_m: float) -> None:
    points = zones.geometry.to_crs(crs).representative_point()
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
        try:
            t = int(rec.get("cycle"))
        except (TypeError, ValueError):
            t = None
        k = key.get((a, c, t)) if None not in (a, c, t) else None
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
