"""Reach and frequency of a campaign, the trade's way: a modelled estimate, not Route data.

From the impacts of the faces a campaign books over its flight, this module estimates the
five measures agencies buy out of home on (Route's definitions): **reach** (people who see
the campaign at least once), **cover** (reach over the universe), **impacts**, **average
frequency** (impacts over reach) and **GRPs** (100 x impacts over the universe, which is
cover % x frequency), with the frequency distribution (1+, 2+, 3+ ...) and a reach curve.

The model (``docs/valuation.md``, section 5) places each face's impacts on the people who
can see it, zone by zone, then counts how many people in each zone see the campaign with
the negative binomial distribution (NBD, the gamma-Poisson model of media exposure)::

    impacts on zone z   e_z = sum over faces f of  I_f * s_f * w_fz
    mean contacts       m_z = e_z / P_z
    P(X_z >= 1)         = 1 - (1 + m_z / k) ** (-k)           (NBD with shape k, mean m_z)
    reach               = sum over zones z in the universe of P_z * P(X_z >= 1)
    j+ reach            = sum of P_z * P(X_z >= j)
    universe U          = sum of P_z over the universe's zones
    cover % = 100 * reach / U;  frequency = e / reach;  GRPs = 100 * e / U = cover % x frequency

where ``I_f`` is face ``f``'s impacts over the flight, ``s_f`` the share of its passers who
live within walking distance (the audience model's residential term over all its passers,
`planner.value.audience.estimate_impacts`'s ``resident_share``), ``w_fz`` its catchment
weights (``P_z exp(-d / decay)`` over zones within the walking radius, normalised to 1),
and ``P_z`` a zone's population. Faces whose catchments overlap put their impacts on the
same people, so they reach fewer people than faces far apart. The universe is the zones'
residents: impacts on visitors and through traffic (``1 - s_f``: the audience model's base
passers, transit users and visitors to points of interest) are impacts on people from
outside it, as Route counts only a target audience's impacts, so they count in the
plan's booked impacts but not in ``e`` (a city-centre face whose passers mostly live
elsewhere adds little reach among the residents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse, stats

from planner.campaigns import Area
from planner.errors import PlannerError
from planner.geo import metric_crs, project

__all__ = [
    "RF_COLUMNS",
    "Catchments",
    "ReachFrequency",
    "ReachParams",
    "build_catchments",
    "campaign_reach",
    "campaign_universe",
    "reach_curve",
    "reach_frequency",
]

_NOTE = (
    "modelled reach and frequency: impacts placed on the residents of each face's "
    "catchment and spread by a negative binomial (gamma-Poisson) exposure model "
    "(ReachParams; docs/valuation.md section 5), not Route data"
)


def _param(default: Any, doc: str, unit: str = "") -> Any:
    """Declare a dataclass field whose metadata (``doc``, ``unit``) feeds ``assumptions_table``."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


@dataclass(frozen=True)
class ReachParams:
    """Every parameter of the reach-and-frequency model, with its source.

    Attributes
    ----------
    nbd_shape
        Shape ``k`` of the gamma distribution of people's exposure rates (the NBD's
        ``r``): small ``k`` means exposure concentrated on a few heavy passers, large
        ``k`` (towards a Poisson) spreads it evenly. Default 0.97: the NBD fitted to a
        panel's weekly exposures to a billboard showing (Fader and Hardie, *Applied
        Probability Models in Marketing Research*, ART Forum tutorial, 2000-2006 editions,
        r = 0.969). The NBD's shape does not change with the length of the period (only
        its mean does), so it holds over a flight of several cycles. Pooled over Great
        Britain, Route's June 2019 figures for digital screens (1.1bn impacts a week, 68%
        weekly cover of ~53m adults) imply k of about 0.26; that k also carries the
        country's geography, which this model resolves zone by zone.
    catchment_radius_m, catchment_decay_m
        Residents further than the radius are outside a face's catchment; within it a
        zone weighs ``population * exp(-d / decay)``, in metres (800 and 250: the audience
        model's ``walking_radius_m`` and ``distance_decay_m``, so that a face's impacts go
        to the residents the audience model counted).
    resident_share
        Share of a face's impacts from residents of its catchment when the values give no
        ``resident_share`` (0.67: the median of the audience model over Greenwich's 721
        TfL bus stops with LSOA populations and the stops as transit; 24-86% across them).
    frequency_levels
        The ``j`` of the reported ``j+`` reach (people who see the campaign at least
        ``j`` times): 1, 2, 3, 5 and 10.

    Raises
    ------
    ValueError
        From ``__post_init__`` when ``nbd_shape``, the radius or the decay is not > 0,
        ``resident_share`` is outside [0, 1], or a frequency level is below 1.

    Examples
    --------
    >>> from dataclasses import replace
    >>> poisson_like = replace(ReachParams(), nbd_shape=50.0)
    """

    nbd_shape: float = _param(
        0.97,
        "NBD (gamma-Poisson) shape of people's exposure rates: Fader & Hardie's billboard "
        "example, r = 0.969 (one week; the shape holds for any period)",
    )
    catchment_radius_m: float = _param(
        800.0, "Residents further than this are outside a face's catchment (audience model)", "m"
    )
    catchment_decay_m: float = _param(
        250.0, "e-folding distance of a zone's weight in a catchment (audience model)", "m"
    )
    resident_share: float = _param(
        0.67,
        "Share of a face's impacts from residents of its catchment when not given (median "
        "of the audience model over Greenwich's 721 bus stops)",
    )
    frequency_levels: tuple[int, ...] = _param((1, 2, 3, 5, 10), "Reported j+ reach levels")

    def __post_init__(self) -> None:
        """Check the ranges; raise `ValueError` naming the bad fields."""
        bad = [
            n
            for n in ("nbd_shape", "catchment_radius_m", "catchment_decay_m")
            if not getattr(self, n) > 0
        ]
        if not 0 <= self.resident_share <= 1:
            bad.append("resident_share")
        if not self.frequency_levels or min(self.frequency_levels) < 1:
            bad.append("frequency_levels")
        if bad:
            raise ValueError(
                f"ReachParams: invalid value for {', '.join(bad)}; nbd_shape, radius and "
                "decay must be > 0, resident_share in [0, 1], frequency levels >= 1"
            )


#: Columns `campaign_reach` adds per campaign (``reach_<j>plus`` per frequency level).
RF_COLUMNS = ("universe", "universe_impacts", "reach", "cover_pct", "avg_frequency", "grps")


@dataclass(frozen=True)
class Catchments:
    """Where each asset's audience lives: the zones within its walking catchment.

    Build it with `build_catchments`.

    Attributes
    ----------
    asset_ids
        Asset ids as text, shape (n_assets,).
    zone_ids
        Zone ids (or row numbers) as text, shape (n_zones,).
    population
        People in each zone, shape (n_zones,); missing or negative counts as 0.
    weights
        Share of an asset's residential audience living in each zone, a SciPy sparse
        array of shape (n_assets, n_zones) whose rows sum to 1, or to 0 for an asset with
        nobody within its catchment.
    resident_share
        Share of each asset's impacts from residents of its catchment, in [0, 1], shape
        (n_assets,); 0 where the catchment is empty.
    zone_xy
        Zone points (representative points of polygons) in ``crs``, shape (n_zones, 2).
    crs
        The metric CRS of ``zone_xy`` (`planner.geo.metric_crs`).
    """

    asset_ids: np.ndarray
    zone_ids: np.ndarray
    population: np.ndarray
    weights: sparse.csr_array
    resident_share: np.ndarray
    zone_xy: np.ndarray
    crs: Any

    def index(self, asset_ids: Sequence[object] | pd.Series) -> np.ndarray:
        """Return the row of each asset id, shape (n,).

        Raises
        ------
        PlannerError
            Naming up to five ids that are not in the catchments.
        """
        lookup = pd.Index(self.asset_ids)
        ids = pd.Series(asset_ids, dtype=object).astype(str).to_numpy()
        rows = lookup.get_indexer(ids)
        if (rows < 0).any():
            unknown = sorted(set(ids[rows < 0]))
            raise PlannerError(
                f"{len(unknown)} booked asset id(s) are not among the assets the catchments "
                f"were built from: {', '.join(unknown[:5])}; build them from the same assets"
            )
        return rows


def build_catchments(
    assets: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    resident_share: Sequence[float] | np.ndarray | pd.Series | None = None,
    params: ReachParams = ReachParams(),
) -> Catchments:
    """Find each asset's catchment: the zones within walking distance, weighted by people.

    Zone ``z`` weighs ``population_z * exp(-d / catchment_decay_m)`` for an asset ``d``
    metres away (``d <= catchment_radius_m``), normalised so that an asset's weights sum
    to 1. Distances are measured in `planner.geo.metric_crs`; an asset stands at a point
    on its geometry and a zone at its representative point. Pairs come from a
    `shapely.STRtree` query: no dense distance matrix.

    Parameters
    ----------
    assets
        Assets with ``asset_id`` and a CRS, shape (n_assets,).
    zones
        Demand zones with ``population`` (people) and a CRS, shape (n_zones,); ``zone_id``
        when present.
    resident_share
        Share of each asset's impacts from its residents, shape (n_assets,) (e.g. the
        ``resident_share`` column of `planner.value.valuation.value_assets`); missing
        values and None take ``params.resident_share``.
    params
        Model parameters.

    Returns
    -------
    Catchments
        The weights, populations and shares.

    Raises
    ------
    PlannerError
        When ``assets`` lacks ``asset_id``, ``zones`` lacks ``population``, or either has
        no CRS.

    Examples
    --------
    >>> catch = build_catchments(assets, zones)
    >>> catch.weights.shape
    (721, 4835)
    """
    _check_inputs(assets, zones)
    crs = metric_crs(assets)
    here = shapely.point_on_surface(project(assets, crs).geometry.to_numpy())
    points = project(zones, crs).geometry.representative_point().to_numpy()
    people = pd.to_numeric(zones["population"], errors="coerce").to_numpy(dtype=float)
    people = np.where(np.isfinite(people) & (people > 0), people, 0.0)
    near, far = shapely.STRtree(points).query(
        here, predicate="dwithin", distance=params.catchment_radius_m
    )
    weight = people[far] * np.exp(
        -shapely.distance(here[near], points[far]) / params.catchment_decay_m
    )
    matrix = sparse.csr_array((weight, (near, far)), shape=(len(assets), len(zones)))
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    matrix = sparse.csr_array(sparse.diags_array(scale) @ matrix)
    share = _resident_share(resident_share, len(assets), params.resident_share)
    zone_ids = zones["zone_id"] if "zone_id" in zones.columns else pd.Series(range(len(zones)))
    return Catchments(
        asset_ids=assets["asset_id"].astype(str).to_numpy(),
        zone_ids=zone_ids.astype(str).to_numpy(),
        population=people,
        weights=matrix,
        resident_share=np.where(totals > 0, share, 0.0),
        zone_xy=np.column_stack([shapely.get_x(points), shapely.get_y(points)]),
        crs=crs,
    )


def _check_inputs(assets: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> None:
    """Raise `PlannerError` when a frame lacks its id or population column or a CRS."""
    if "asset_id" not in assets.columns:
        raise PlannerError("'assets' has no 'asset_id' column; load it with load_assets(...)")
    if "population" not in zones.columns:
        raise PlannerError(
            "'zones' has no 'population' column; load it with load_zones(...) or rename "
            "the population column to 'population'"
        )
    for name, frame in (("assets", assets), ("zones", zones)):
        if frame.crs is None:
            raise PlannerError(
                f"'{name}' must have a CRS; got None. Set it with frame.set_crs('EPSG:4326')"
            )


def _resident_share(given: Any, n: int, default: float) -> np.ndarray:
    """Return the given shares clipped to [0, 1], ``default`` where missing; shape (n,)."""
    if given is None:
        return np.full(n, default)
    values = pd.to_numeric(pd.Series(np.asarray(given)), errors="coerce").to_numpy(dtype=float)
    return np.clip(np.where(np.isnan(values), default, values), 0.0, 1.0)


@dataclass(frozen=True)
class ReachFrequency:
    """The trade's five measures of one campaign (or a whole plan), modelled.

    Attributes
    ----------
    universe
        People in the universe (the campaign's area, or every zone).
    impacts
        Impacts on the universe over the flight.
    reach
        People who see it at least once (<= ``universe``).
    at_least
        ``{j: people who see it at least j times}`` for each frequency level.
    """

    universe: float
    impacts: float
    reach: float
    at_least: dict[int, float]

    @property
    def cover_pct(self) -> float:
        """Reach as a percentage of the universe (NaN with an empty universe)."""
        return 100.0 * self.reach / self.universe if self.universe > 0 else float("nan")

    @property
    def avg_frequency(self) -> float:
        """Impacts per person reached, >= 1 (NaN when nobody is reached)."""
        return self.impacts / self.reach if self.reach > 0 else float("nan")

    @property
    def grps(self) -> float:
        """Gross rating points: ``100 * impacts / universe`` (= cover % x frequency)."""
        return 100.0 * self.impacts / self.universe if self.universe > 0 else float("nan")

    def as_row(self) -> dict[str, float]:
        """Return the measures as one table row: `RF_COLUMNS` and ``reach_<j>plus``.

        Examples
        --------
        >>> ReachFrequency(1000.0, 300.0, 200.0, {1: 200.0, 2: 60.0}).as_row()["grps"]
        30.0
        """
        row = {
            "universe": self.universe,
            "universe_impacts": self.impacts,
            "reach": self.reach,
            "cover_pct": self.cover_pct,
            "avg_frequency": self.avg_frequency,
            "grps": self.grps,
        }
        return row | {f"reach_{j}plus": v for j, v in self.at_least.items()}


def reach_frequency(
    catchments: Catchments,
    asset_ids: Sequence[object] | pd.Series,
    impacts: Sequence[float] | np.ndarray | pd.Series,
    *,
    universe: np.ndarray | None = None,
    params: ReachParams = ReachParams(),
) -> ReachFrequency:
    """Estimate reach, cover, frequency, GRPs and the frequency distribution of a booking.

    The module's formula: each booked face's impacts on residents (its
    ``resident_share``) go to its catchment, the rest are on people from outside the
    universe; in each zone the NBD with shape ``params.nbd_shape`` and the zone's mean
    contacts gives the share who see it at least ``j`` times.

    Parameters
    ----------
    catchments
        From `build_catchments`.
    asset_ids
        The asset of each booked face-cycle (repeats allowed), shape (n,).
    impacts
        Impacts of each booked face-cycle (per advertiser: a digital slot's share of
        time), shape (n,).
    universe
        Boolean mask over the zones, shape (n_zones,): the campaign's universe (e.g.
        `campaign_universe`); None for every zone.
    params
        Model parameters (``nbd_shape``, ``frequency_levels``).

    Returns
    -------
    ReachFrequency
        Universe, impacts on it, reach and the ``j+`` reach.

    Raises
    ------
    PlannerError
        When an asset id is not in ``catchments``.

    Examples
    --------
    >>> rf = reach_frequency(catch, placements["asset_id"], placements["impacts"])
    >>> rf.reach, rf.cover_pct, rf.avg_frequency, rf.grps
    """
    contacts = _zone_impacts(catchments, asset_ids, impacts)
    mask = np.ones(len(contacts), dtype=bool) if universe is None else np.asarray(universe, bool)
    people = catchments.population[mask]
    levels = params.frequency_levels
    seen = _at_least(contacts[mask], people, params.nbd_shape, sorted({1, *levels}))
    return ReachFrequency(
        universe=float(people.sum()),
        impacts=float(contacts[mask].sum()),
        reach=seen[1],
        at_least={int(j): seen[j] for j in levels},
    )


def _zone_impacts(
    catchments: Catchments, asset_ids: Sequence[object] | pd.Series, impacts: Any
) -> np.ndarray:
    """Return the impacts on each zone's residents, shape (n_zones,) (the module's ``e_z``)."""
    rows = catchments.index(asset_ids)
    amount = np.nan_to_num(np.asarray(impacts, dtype=float), nan=0.0).clip(min=0.0)
    local = amount * catchments.resident_share[rows]
    contacts = np.zeros(len(catchments.population))
    if len(rows):
        contacts += catchments.weights[rows].T @ local
    return contacts


def _at_least(
    contacts: np.ndarray, people: np.ndarray, k: float, levels: Sequence[int]
) -> dict[int, float]:
    """Return ``{j: sum of P_z * P(X_z >= j)}`` with ``X_z`` NBD of shape ``k``, mean ``e_z/P_z``.

    ``contacts`` and ``people`` have shape (n_zones,).
    """
    mean = np.divide(contacts, people, out=np.zeros_like(contacts), where=people > 0)
    out = {}
    for j in levels:
        # NBD(n=k, p=k/(k+m)) has mean m; sf(j - 1) = P(X >= j).
        share = stats.nbinom.sf(j - 1, k, k / (k + mean))
        out[int(j)] = float((people * share).sum())
    return out


def campaign_universe(
    catchments: Catchments,
    area: Area,
    *,
    in_area: np.ndarray | None = None,
) -> np.ndarray:
    """Return the zones of a campaign's universe: its area's residents, or every zone.

    A circle keeps the zones whose point is within its radius; wards keep the zones in
    the catchment of an asset in those wards (``in_area``; zones rarely carry wards);
    anywhere keeps every zone.

    Parameters
    ----------
    catchments
        From `build_catchments`.
    area
        The campaign's `planner.campaigns.Area`.
    in_area
        Boolean mask over the catchments' assets in the campaign's wards, shape
        (n_assets,); needed only for a ward area.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the zones, shape (n_zones,).

    Examples
    --------
    >>> campaign_universe(catch, Area(lon=-0.01, lat=51.48, radius_m=1500)).sum()
    """
    n_zones = len(catchments.population)
    keep = np.ones(n_zones, dtype=bool)
    if area.radius_m is not None and area.lon is not None and area.lat is not None:
        centre = gpd.GeoSeries(shapely.points([[area.lon, area.lat]]), crs="EPSG:4326")
        cx, cy = shapely.get_coordinates(centre.to_crs(catchments.crs).to_numpy())[0]
        xy = catchments.zone_xy
        keep &= np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= area.radius_m
    if area.wards and in_area is not None:
        rows = np.flatnonzero(np.asarray(in_area, dtype=bool))
        reached = np.asarray(catchments.weights[rows].sum(axis=0)).ravel() > 0
        keep &= reached
    return keep


def campaign_reach(
    bookings: pd.DataFrame,
    catchments: Catchments,
    *,
    universes: Mapping[str, np.ndarray] | None = None,
    params: ReachParams = ReachParams(),
) -> pd.DataFrame:
    """Tabulate reach and frequency per campaign from its booked face-cycles.

    Parameters
    ----------
    bookings
        One row per booked face and cycle: ``campaign_id``, ``asset_id`` and ``impacts``
        (over the cycle, per advertiser), e.g. `planner.plan.Plan.placements`.
    catchments
        From `build_catchments`.
    universes
        Campaign id -> zone mask (`campaign_universe`); every zone for a campaign not in it.
    params
        Model parameters.

    Returns
    -------
    pandas.DataFrame
        One row per campaign in ``bookings`` order of first appearance: ``campaign_id``,
        `RF_COLUMNS` (universe in people, impacts on it, reach in people, cover %,
        average frequency, GRPs) and ``reach_<j>plus`` per frequency level (people);
        ``attrs["note"]`` says they are modelled.

    Raises
    ------
    PlannerError
        When a booked asset is not in ``catchments``.

    Examples
    --------
    >>> campaign_reach(plan.placements, build_catchments(assets, zones))
    """
    rows = []
    for campaign_id, group in bookings.groupby("campaign_id", sort=False):
        mask = (universes or {}).get(str(campaign_id))
        rf = reach_frequency(
            catchments, group["asset_id"], group["impacts"], universe=mask, params=params
        )
        rows.append({"campaign_id": campaign_id} | rf.as_row())
    columns = ["campaign_id", *RF_COLUMNS, *(f"reach_{j}plus" for j in params.frequency_levels)]
    table = pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(columns[1:], float))
    table.attrs["note"] = _NOTE
    return table


def reach_curve(
    catchments: Catchments,
    asset_ids: Sequence[object] | pd.Series,
    impacts: Sequence[float] | np.ndarray | pd.Series,
    *,
    universe: np.ndarray | None = None,
    points: int = 20,
    params: ReachParams = ReachParams(),
) -> pd.DataFrame:
    """Trace reach against faces booked: the first 1, 2, ... faces in the order given.

    Parameters
    ----------
    catchments
        From `build_catchments`.
    asset_ids, impacts
        One row per face with its impacts over the flight, shape (n_faces,), in the order
        faces are added (e.g. by impacts, largest first).
    universe
        Zone mask of the universe; None for every zone.
    points
        Most rows: face counts evenly spaced from 1 to ``n_faces`` (all of them when
        there are fewer faces).
    params
        Model parameters.

    Returns
    -------
    pandas.DataFrame
        ``faces`` (booked so far), ``impacts`` (on the universe), ``reach`` (people),
        ``cover_pct``, ``avg_frequency`` and ``grps``: reach rises, ever more slowly, as
        faces are added.

    Examples
    --------
    >>> reach_curve(catch, faces["asset_id"], faces["impacts"], points=10)
    """
    ids = pd.Series(asset_ids, dtype=object).reset_index(drop=True)
    amounts = np.asarray(impacts, dtype=float)
    n = len(ids)
    counts: np.ndarray | list[int] = []
    if n:
        counts = np.unique(np.linspace(1, n, num=min(points, n)).round().astype(int))
    rows = []
    for count in counts:
        rf = reach_frequency(
            catchments, ids[:count], amounts[:count], universe=universe, params=params
        )
        rows.append(
            {
                "faces": int(count),
                "impacts": rf.impacts,
                "reach": rf.reach,
                "cover_pct": rf.cover_pct,
                "avg_frequency": rf.avg_frequency,
                "grps": rf.grps,
            }
        )
    table = pd.DataFrame(
        rows, columns=["faces", "impacts", "reach", "cover_pct", "avg_frequency", "grps"]
    )
    table.attrs["note"] = _NOTE
    return table
