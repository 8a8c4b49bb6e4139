"""National supply: which assets each campaign may use, as arrays the national steps share.

`Supply` holds one row per asset (metric position, region, capacity, price, impacts) and,
per campaign, the mask of assets it may be booked on: allowed by the policy for its
category (the eligibility table), available, priced and matching its formats, asset
types, digital choice, wards and radius: the same targeting as
`planner.optimise.instance.build_instance`. Period rules are left to the regional models;
ignoring them only adds candidates, which keeps the national bound valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.calendar import cycle_dates
from planner.campaigns import Campaign
from planner.errors import PlannerError
from planner.geo import metric_crs, project
from planner.optimise.money import to_minor
from planner.policy.eligibility import allowed_matrix
from planner.policy.load import Policy

__all__ = ["Supply", "period_blocked"]

#: Weeks in a 2-week trading cycle (weekly impacts to impacts per cycle).
WEEKS_PER_CYCLE = 2


@dataclass
class Supply:
    """The national inventory as arrays, and each campaign's candidate assets.

    Attributes
    ----------
    asset_ids
        Asset ids, shape (n_assets,).
    region
        Region label of each asset, shape (n_assets,).
    xy
        Point on each asset in the metric CRS, shape (n_assets, 2), metres.
    capacity
        Campaigns an asset carries per cycle: faces, times slots when digital.
    price_pence
        Price of one placement (a face, or a slot of a digital face) per cycle, pence.
    impacts
        Impacts of one placement per cycle (weekly impacts x 2), whole impacts.
    campaigns
        The national campaigns.
    masks
        One boolean array per campaign, shape (n_assets,): the assets it may be booked on.
    """

    asset_ids: np.ndarray
    region: np.ndarray
    xy: np.ndarray
    capacity: np.ndarray
    price_pence: np.ndarray
    impacts: np.ndarray
    campaigns: list[Campaign]
    masks: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        assets: gpd.GeoDataFrame,
        region: np.ndarray,
        campaigns: Sequence[Campaign],
        eligibility: pd.DataFrame,
        values: pd.DataFrame,
    ) -> Supply:
        """Gather positions, prices and each campaign's candidate assets.

        Parameters
        ----------
        assets
            The national assets (``asset_id``, ``faces``, ``digital``, ``slots``,
            ``status``; ``format``, ``asset_type``, ``ward`` when targeted), with a CRS.
        region
            Region label of each asset, shape (n_assets,).
        campaigns
            The national campaigns.
        eligibility
            ``asset_id, category, allowed`` rows (`planner.eligibility`).
        values
            ``asset_id``, ``price_per_cycle`` and ``weekly_impacts`` per asset.

        Returns
        -------
        Supply
            The arrays and masks.

        Raises
        ------
        PlannerError
            When an asset has no price (naming up to five).
        """
        crs = metric_crs(assets)
        here = shapely.point_on_surface(project(assets.geometry, crs).to_numpy())
        xy = shapely.get_coordinates(here)
        ids = assets["asset_id"].astype(str).to_numpy()
        faces = assets["faces"].to_numpy(dtype=np.int64)
        digital = assets["digital"].to_numpy(dtype=bool)
        capacity = np.where(digital, faces * assets["slots"].to_numpy(dtype=np.int64), faces)
        by_id = values.drop_duplicates("asset_id").set_index("asset_id").reindex(ids)
        price = pd.to_numeric(by_id["price_per_cycle"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(price).any():
            missing = ", ".join(ids[np.isnan(price)][:5])
            raise PlannerError(
                f"{int(np.isnan(price).sum())} asset(s) have no price ({missing}...); value "
                "the assets first (planner.value_assets)"
            )
        raw = by_id.get("weekly_impacts")
        numeric = np.nan if raw is None else pd.to_numeric(raw, errors="coerce")
        weekly = np.nan_to_num(np.asarray(numeric, dtype=float), nan=0.0)
        allowed = allowed_matrix(eligibility).reindex(ids).fillna(False).astype(bool)
        supply = cls(
            asset_ids=ids,
            region=np.asarray(region, dtype=object),
            xy=xy,
            capacity=capacity,
            price_pence=np.asarray(to_minor(price), dtype=np.int64),
            impacts=np.rint(weekly * WEEKS_PER_CYCLE).astype(np.int64),
            campaigns=list(campaigns),
        )
        for camp in campaigns:
            ok = (
                allowed[camp.category].to_numpy(dtype=bool)
                if camp.category in allowed.columns
                else np.zeros(len(ids), dtype=bool)
            )
            supply.masks.append(ok & _targeting(assets, camp, xy, crs))
        return supply

    def score(self, objective: str) -> np.ndarray:
        """Value of one placement on each asset for ``objective`` (pence, or impacts)."""
        return self.price_pence if objective == "revenue" else self.impacts


def _targeting(assets: pd.DataFrame, camp: Campaign, xy: np.ndarray, crs) -> np.ndarray:
    """Assets a campaign may target: available and matching its formats, types, digital, area."""
    mask = (assets["status"].astype(str) == "available").to_numpy().copy()
    if camp.formats:
        mask &= assets["format"].astype(str).str.lower().isin(camp.formats).to_numpy()
    if camp.asset_types:
        mask &= assets["asset_type"].astype(str).str.lower().isin(camp.asset_types).to_numpy()
    digital = assets["digital"].to_numpy(dtype=bool)
    if camp.digital == "only":
        mask &= digital
    elif camp.digital == "never":
        mask &= ~digital
    if camp.area.wards:
        wards = {w.lower() for w in camp.area.wards}
        mask &= assets["ward"].astype(str).str.lower().isin(wards).to_numpy()
    if camp.area.radius_m is not None:
        assert camp.area.lon is not None and camp.area.lat is not None  # a radius has a centre
        centre = gpd.GeoSeries(shapely.points([[camp.area.lon, camp.area.lat]]), crs=4326)
        cx, cy = shapely.get_coordinates(centre.to_crs(crs).to_numpy())[0]
        mask &= np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= camp.area.radius_m
    return mask


def period_blocked(policy: Policy, category: str, cycle: int, start) -> bool:
    """Tell whether a period rule of ``policy`` bans ``category`` on any day of ``cycle``.

    Parameters
    ----------
    policy
        The policy.
    category
        An advertiser category.
    cycle
        A 2-week cycle number.
    start
        First day of cycle 1 (`datetime.date`).

    Returns
    -------
    bool
        True when some period rule listing ``category`` overlaps the cycle's dates.
    """
    first, last = cycle_dates(cycle, start)
    return any(
        category in r.categories and first <= r.end and last >= r.start for r in policy.periods
    )
