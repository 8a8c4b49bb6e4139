"""Weekly audience (impacts) per asset face and advertiser: modelled from open data, or measured.

The model is deliberately simple and every parameter lives in `AudienceParams`; measured
audiences (e.g. from Route) override it and, when there are enough of them, calibrate it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import PlannerError
from planner.geo import metric_crs, project
from planner.value.text import lower_text, map_distinct

__all__ = [
    "MEASURED",
    "MODELLED",
    "ROAD_CLASS_PROXY",
    "TRAFFIC_COUNT",
    "AudienceParams",
    "Calibration",
    "calibrate",
    "estimate_impacts",
    "is_digital",
    "slots_of",
]

MODELLED = "modelled"
MEASURED = "measured"
#: ``vehicle_source`` of a roadside face whose vehicle audience comes from a traffic count.
TRAFFIC_COUNT = "modelled (DfT traffic count)"
#: ``vehicle_source`` of a roadside face whose vehicle audience comes from its road's class.
ROAD_CLASS_PROXY = "modelled (road-class proxy)"
_NOTE = (
    "weekly_impacts are per face and per advertiser (digital faces: 1/slots share of time); "
    "'modelled' figures are estimates from open data (see AudienceParams), not Route data"
)
_TRANSIT_ALIASES = {
    "railway_station": "rail_station",
    "train_station": "rail_station",
    "station": "rail_station",
    "halt": "rail_station",
    "underground": "subway_station",
    "tube_station": "subway_station",
    "metro_station": "subway_station",
    "tram": "tram_stop",
    "bus": "bus_stop",
    "platform": "bus_stop",
}


_POSITIVE = (
    "walking_radius_m",
    "distance_decay_m",
    "transit_decay_m",
    "poi_decay_m",
    "default_slots",
)
_NON_NEGATIVE = (
    "trips_per_resident_per_week",
    "base_weekly_passers",
    "no_zone_weekly_passers",
    "transit_radius_m",
    "poi_radius_m",
    "poi_weekly_visitors",
    "default_transit_passers",
    "traffic_radius_m",
    "vehicle_occupancy",
    "road_radius_m",
)


def _param(default: Any, doc: str, unit: str = "") -> Any:
    """Declare a dataclass field whose metadata (``doc``, ``unit``) feeds ``assumptions_table``."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


def _transit_defaults() -> dict[str, float]:
    return {
        "bus_stop": 3_000.0,
        "bus_station": 15_000.0,
        "tram_stop": 5_000.0,
        "rail_station": 25_000.0,
        "subway_station": 40_000.0,
        "subway_entrance": 8_000.0,
        "ferry_terminal": 2_000.0,
    }


def _road_class_defaults() -> dict[str, float]:
    return {
        "motorway": 80_000.0,
        "trunk": 18_700.0,
        "primary": 18_700.0,
        "secondary": 9_500.0,
        "tertiary": 2_200.0,
        "unclassified": 1_400.0,
        "residential": 1_400.0,
        "living_street": 500.0,
    }


def _visibility_defaults() -> dict[str, float]:
    return {
        "96-sheet": 0.65,
        "48-sheet": 0.55,
        "16-sheet": 0.45,
        "12-sheet": 0.45,
        "6-sheet": 0.40,
        "4-sheet": 0.30,
        "column": 0.35,
        "banner": 0.25,
        "d96": 0.70,
        "d48": 0.60,
        "d6": 0.45,
        "digital_screen": 0.45,
    }


@dataclass(frozen=True)
class AudienceParams:
    """Every parameter of the audience model, with its default (treat the dicts as read-only).

    Modelled weekly impacts of one face, for one advertiser::

        visibility[format] / (slots if digital else 1) * calibration scale * (
            base_weekly_passers
          + trips_per_resident_per_week * pass_probability
              * sum(population_z * exp(-d_z / distance_decay_m), d_z <= walking_radius_m)
          + sum(transit_weekly_passers[kind_s] * exp(-d_s / transit_decay_m),
                d_s <= transit_radius_m)
          + sum(poi_weekly_visitors * exp(-d_p / poi_decay_m), d_p <= poi_radius_m)
          + aadf * 7 * vehicle_occupancy * facing_share   (roadside formats: aadf of the
                        nearest traffic count point, else road_class_aadf of the nearest road))

    Without zones the residential sum is replaced by ``no_zone_weekly_passers``. Each
    field's ``metadata["doc"]`` gives its meaning and source (see ``docs/valuation.md``,
    section 1), and `planner.value.valuation.assumptions_table` lists them.

    Attributes
    ----------
    walking_radius_m
        Residents further than this from an asset are not counted, in metres (800: a
        10-minute walk).
    distance_decay_m
        e-folding distance of a resident's weight ``exp(-d / decay)``, in metres (250).
    trips_per_resident_per_week
        Trips a resident makes a week (18: National Travel Survey England 2016, 954 trips
        a year including short walks).
    pass_probability
        Chance that a trip by someone living at the asset passes it, in [0, 1] (0.5,
        assumption).
    base_weekly_passers
        Visitors and through traffic at every asset, in people a week (2,000, assumption).
    no_zone_weekly_passers
        Residential passers assumed when no zones are given, in people a week (12,000: the
        formula at about 4,000 residents/km², a typical English urban density).
    transit_radius_m, transit_decay_m
        Reach and e-folding distance of a transit stop, in metres (400 and 100).
    transit_weekly_passers
        People using a stop a week (boarding and alighting), by kind: bus_stop 3,000
        (London's ~2.2bn bus journeys a year over ~19,000 stops is ~2,200 boardings a
        week a stop, plus alightings), bus_station 15,000, tram_stop 5,000, rail_station
        25,000 (a suburban station of ~1.3m entries and exits a year, ORR station usage),
        subway_station 40,000, subway_entrance 8,000 (a fifth of a station's),
        ferry_terminal 2,000.
    default_transit_passers
        People a week at a transit point of unknown kind (1,000).
    poi_radius_m, poi_decay_m
        Reach and e-folding distance of a point of interest, in metres (200 and 100).
    poi_weekly_visitors
        Visitors a week of a point of interest without a ``weekly_visitors`` column (500,
        assumption).
    visibility
        Share of passers likely to see a face, by format, in (0, 1] (assumption: 96-sheet
        0.65, 48-sheet 0.55, 16/12-sheet 0.45, 6-sheet 0.40, 4-sheet 0.30, column 0.35,
        banner 0.25; d96 0.70, d48 0.60, d6 and digital_screen 0.45).
    default_visibility
        Visibility of a format not in ``visibility`` (0.30).
    default_slots
        Advertisers per digital loop when ``slots`` is missing (6).
    min_measured_for_calibration
        Measured assets needed before `estimate_impacts` calibrates the model (10).
    roadside_formats
        Formats seen from the road, which get a vehicle audience from traffic counts
        (48-sheet, 96-sheet, d48, d96).
    traffic_radius_m
        A roadside face takes the flow of the nearest count point within this distance,
        in metres (300, assumption: DfT count points stand one per road link, often
        several hundred metres long).
    vehicle_occupancy
        People per vehicle (1.5: about the National Travel Survey's average car
        occupancy, ~1.5-1.6 people per car trip).
    facing_share
        Share of the two-way flow that faces a panel (0.5: a face is seen from one
        direction of travel; AADF counts both).
    road_radius_m
        Without a count point within ``traffic_radius_m``, a roadside face takes the class
        of the nearest motor road within this distance, in metres (50, assumption: a
        roadside panel stands at or near the kerb of the road it faces).
    road_class_aadf
        Vehicles a day (both directions) assumed on a road of each OpenStreetMap
        ``highway`` class when no count is given: a proxy, labelled so. motorway 80,000
        (Leeds' 2019 DfT count points: median 83,093 on motorways; Great Britain: 68.6bn
        vehicle miles a year on ~2,300 miles of motorway, DfT road traffic estimates to
        March 2019, ~81,700 a day); trunk and primary 18,700 (Leeds' A-road median 18,727;
        the GB average A road, 149.7bn vehicle miles on ~30,000 miles, is ~13,700);
        secondary 9,500 (Leeds' B-road median 9,482); tertiary 2,200 (Leeds' median minor
        count point, 2,229, mostly C roads); unclassified and residential 1,400 (GB minor
        roads: 110.7bn vehicle miles on ~214,000 miles, ~1,400 a day); living_street 500
        (assumption).

    Raises
    ------
    ValueError
        From ``__post_init__`` when a radius, decay or ``default_slots`` is not > 0, a
        count or passer figure is negative, or ``pass_probability`` or a visibility is
        outside its range; the message names the fields.

    Examples
    --------
    >>> from dataclasses import replace
    >>> params = replace(AudienceParams(), walking_radius_m=600)
    """

    walking_radius_m: float = _param(
        800.0, "Residents further than this from an asset are not counted (10 min walk)", "m"
    )
    distance_decay_m: float = _param(
        250.0, "e-folding distance of the weight exp(-d/decay) given to residents", "m"
    )
    trips_per_resident_per_week: float = _param(
        18.0,
        "Trips a resident makes a week (NTS England 2016: 954 a year incl. short walks)",
        "trips/week",
    )
    pass_probability: float = _param(
        0.5, "Chance that a trip by someone living at the asset passes it (assumption)"
    )
    base_weekly_passers: float = _param(
        2_000.0,
        "Passers from outside the zones (visitors, through traffic) at every asset (assumption)",
        "people/week",
    )
    no_zone_weekly_passers: float = _param(
        12_000.0,
        "Residential passers assumed when no zones are given: the formula above at "
        "about 4,000 residents/km2 (a typical English urban density)",
        "people/week",
    )
    transit_radius_m: float = _param(400.0, "Transit stops further than this add nothing", "m")
    transit_decay_m: float = _param(
        100.0, "e-folding distance of a transit stop's contribution", "m"
    )
    transit_weekly_passers: dict[str, float] = field(
        default_factory=_transit_defaults,
        metadata={
            "unit": "people/week",
            "doc": "People using a stop per week, by kind (boarding + alighting); "
            "bus_stop: London's ~2.2bn bus journeys a year over ~19,000 stops is ~2,200 "
            "boardings/week/stop; rail: a suburban station of ~1.3m entries+exits a year "
            "(ORR station usage); a metro entrance gets a fifth of a station's",
        },
    )
    default_transit_passers: float = _param(
        1_000.0, "People per week for a transit point of unknown kind", "people/week"
    )
    poi_radius_m: float = _param(200.0, "Points of interest further than this add nothing", "m")
    poi_decay_m: float = _param(100.0, "e-folding distance of a point of interest", "m")
    poi_weekly_visitors: float = _param(
        500.0,
        "Visitors per week of a point of interest without a 'weekly_visitors' column (assumption)",
        "people/week",
    )
    visibility: dict[str, float] = field(
        default_factory=_visibility_defaults,
        metadata={
            "unit": "",
            "doc": "Share of passers likely to see a face, by format (assumption, "
            "ordered 96 > 48 > 16/12 > 6 > 4-sheet > banner; digital slightly above classic)",
        },
    )
    default_visibility: float = _param(0.30, "Visibility of a format not listed above")
    default_slots: int = _param(6, "Advertisers per digital loop when 'slots' is missing")
    min_measured_for_calibration: int = _param(
        10, "Measured assets needed before the model is calibrated to them", "assets"
    )
    roadside_formats: tuple[str, ...] = _param(
        ("48-sheet", "96-sheet", "d48", "d96"),
        "Formats seen from the road: they get a vehicle audience from traffic counts",
    )
    traffic_radius_m: float = _param(
        300.0,
        "A roadside face takes the flow of the nearest traffic count point within this "
        "distance (assumption: DfT count points stand one per road link)",
        "m",
    )
    vehicle_occupancy: float = _param(
        1.5, "People per vehicle (about the NTS average car occupancy, 1.5-1.6)", "people"
    )
    facing_share: float = _param(
        0.5, "Share of the two-way daily flow facing a panel (one direction of travel)"
    )
    road_radius_m: float = _param(
        50.0,
        "Without a count point, a roadside face takes the class of the nearest motor road "
        "within this distance (assumption: a roadside panel stands by the road it faces)",
        "m",
    )
    road_class_aadf: dict[str, float] = field(
        default_factory=_road_class_defaults,
        metadata={
            "unit": "vehicles/day",
            "doc": "Road-class proxy for roadside faces without a traffic count, by OSM "
            "highway class: motorway 80,000 (Leeds 2019 DfT median 83,093; GB ~81,700 from "
            "68.6bn vehicle miles on ~2,300 miles); trunk/primary 18,700 (Leeds A-road median "
            "18,727; GB average ~13,700); secondary 9,500 (Leeds B-road median 9,482); "
            "tertiary 2,200 (Leeds minor median 2,229); unclassified/residential 1,400 (GB "
            "minor roads: 110.7bn vehicle miles on ~214,000 miles); living_street 500 "
            "(assumption)",
        },
    )

    def __post_init__(self) -> None:
        """Check every parameter's range; raise `ValueError` naming the bad ones."""
        bad = [n for n in _POSITIVE if not getattr(self, n) > 0]
        bad += [n for n in _NON_NEGATIVE if not getattr(self, n) >= 0]
        if not 0 <= self.pass_probability <= 1:
            bad.append("pass_probability")
        if not 0 <= self.facing_share <= 1:
            bad.append("facing_share")
        if not all(0 < v <= 1 for v in [*self.visibility.values(), self.default_visibility]):
            bad.append("visibility")
        if not all(0 <= v < np.inf for v in self.road_class_aadf.values()):
            bad.append("road_class_aadf")
        if bad:
            raise ValueError(
                f"AudienceParams: invalid value for {', '.join(bad)}; distances and decays "
                "must be > 0, counts >= 0, probabilities and visibility in (0, 1]"
            )


@dataclass(frozen=True)
class Calibration:
    """How the model was scaled to measured audiences.

    Attributes
    ----------
    scale
        Factor applied to modelled impacts (median ratio measured/modelled, all measured).
    n_measured
        Measured assets used (positive measured and modelled impacts).
    n_train, n_holdout
        Split used to estimate the error.
    train_scale
        Factor fitted on the training assets only.
    median_abs_pct_error
        Median absolute percentage error of ``train_scale * modelled`` on held-out assets
        (NaN with no held-out asset).
    """

    scale: float
    n_measured: int
    n_train: int
    n_holdout: int
    train_scale: float
    median_abs_pct_error: float

    def __str__(self) -> str:
        """Return the calibration in one sentence: assets, scale and held-out error.

        Examples
        --------
        >>> print(Calibration(2.5, 12, 8, 4, 2.48, 0.07))
        calibrated on 12 measured assets: scale 2.5, median absolute error 7% on 4 held-out assets
        """
        return (
            f"calibrated on {self.n_measured} measured assets: scale {self.scale:.3g}, "
            f"median absolute error {self.median_abs_pct_error:.0%} on "
            f"{self.n_holdout} held-out assets"
        )


def estimate_impacts(
    assets: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None = None,
    *,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    params: AudienceParams = AudienceParams(),
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Estimate weekly impacts per face and per advertiser for every asset, labelled by source.

    The model is `AudienceParams`'s formula, computed in the assets' metric CRS
    (`planner.geo.metric_crs`: EPSG:27700 in Great Britain, else the local UTM zone).
    A non-missing, non-negative ``weekly_impacts`` in ``assets`` (e.g. Route impacts at
    the loop's share of time) is used as is and labelled ``"measured"``. With at least
    ``params.min_measured_for_calibration`` measured assets the model is scaled to them
    (see `calibrate`: median of measured/modelled, error on a random 30% held out, seed 0).

    Parameters
    ----------
    assets
        Contract assets (``format``, ``digital``, ``slots``, optional measured
        ``weekly_impacts`` in impacts per week per face and advertiser), any CRS; a
        polygon or line asset stands at a point on it (`shapely.point_on_surface`).
    zones
        Demand zones with ``population`` (people; polygons use their centroid). ``None``:
        the residential term is ``params.no_zone_weekly_passers`` everywhere.
    transit
        Transit points with a ``kind`` (or OSM ``fclass``, or ``type``) such as
        ``bus_stop``; ``railway_station``, ``station`` and ``halt`` count as rail stations.
    pois
        Points of interest, optionally with ``weekly_visitors`` (people a week).
    params
        Model parameters.
    traffic
        Road traffic count points with ``aadf`` (vehicles a day, both directions), e.g.
        `planner.io.traffic.load_traffic_counts` of a DfT file: roadside formats
        (``params.roadside_formats``) add ``aadf x 7 x vehicle_occupancy x facing_share``
        people a week from the nearest point within ``params.traffic_radius_m``.
    roads
        Motor roads with their OpenStreetMap ``highway`` class
        (`planner.io.roads.load_roads`): a roadside face with no count point within
        ``params.traffic_radius_m`` takes ``params.road_class_aadf`` of the nearest road
        within ``params.road_radius_m`` as its flow (a proxy; measured counts win).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``assets``: ``weekly_impacts`` (measured where given, else modelled),
        ``impacts_source`` (``"measured"``/``"modelled"``) and ``modelled_impacts``, all in
        impacts per week per face and per advertiser (a digital face's share of time is
        ``1/slots``); and ``resident_share``, the modelled share of the passers who live
        within walking distance (the residential term over all passers, in [0, 1]; used by
        `planner.value.reach` to send that part of the impacts to the face's catchment);
        ``vehicle_aadf`` (the flow a roadside face's vehicle audience was modelled from,
        vehicles a day, 0 where none) and ``vehicle_source`` (`TRAFFIC_COUNT`,
        `ROAD_CLASS_PROXY` or ``""``): a measured count wins over the road-class proxy.
        With ``params.min_measured_for_calibration`` or more measured assets the
        modelled figures are calibrated; ``attrs["calibration"]`` is then the
        `Calibration` as a dict (else None) and ``attrs["note"]`` says what the figures are.

    Raises
    ------
    PlannerError
        When ``assets``, ``zones``, ``transit`` or ``pois`` has no CRS, ``zones`` has no
        ``population`` column, or calibration finds fewer than 2 assets with positive
        measured and modelled impacts.

    Examples
    --------
    >>> impacts = estimate_impacts(assets, zones, transit=stops)
    >>> impacts["weekly_impacts"].median()
    """
    modelled, resident_share, vehicles = _modelled(
        assets, zones, transit, pois, params, traffic, roads
    )
    measured = _measured(assets)
    has_measured = ~np.isnan(measured)
    calibration = None
    if has_measured.sum() >= params.min_measured_for_calibration:
        calibration = _fit_scale(modelled, measured, holdout=0.3, seed=0)
        modelled = modelled * calibration.scale
    out = pd.DataFrame(
        {
            "weekly_impacts": np.where(has_measured, measured, modelled),
            "impacts_source": np.where(has_measured, MEASURED, MODELLED),
            "modelled_impacts": modelled,
            "resident_share": resident_share,
            "vehicle_aadf": vehicles[0],
            "vehicle_source": vehicles[1],
        },
        index=assets.index,
    )
    out.attrs["note"] = _NOTE
    out.attrs["calibration"] = asdict(calibration) if calibration else None
    return out


def calibrate(
    assets: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None = None,
    *,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    params: AudienceParams = AudienceParams(),
    holdout: float = 0.3,
    seed: int = 0,
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> Calibration:
    """Fit the scale of the model to the assets' measured ``weekly_impacts``.

    The scale is the median of measured/modelled (robust to a few odd frames); its error is
    estimated by fitting on a random ``1 - holdout`` of the measured assets and scoring the
    rest. The returned ``scale`` is then refitted on all of them. A test plants a factor of
    2.5 and recovers it exactly without noise, and within 8% with 10% noise
    (``docs/valuation.md``, section 1).

    Parameters
    ----------
    assets, zones, transit, pois, params, traffic, roads
        As for `estimate_impacts`; ``assets`` needs ``weekly_impacts`` for some rows.
    holdout
        Share of the measured assets held out to estimate the error, in [0, 1); at least
        one and at most all but one are held out when it is > 0; 0 holds none out.
    seed
        Seed of the random split (`numpy.random.default_rng`).

    Returns
    -------
    Calibration
        The scale, the split and the median absolute percentage error on held-out assets.

    Raises
    ------
    PlannerError
        When ``holdout`` is outside [0, 1), with fewer than 2 assets that have a positive
        measured ``weekly_impacts`` (and a positive modelled audience), or as for
        `estimate_impacts` (missing CRS or ``population``).

    Examples
    --------
    >>> cal = calibrate(assets, zones, holdout=0.3)
    >>> print(cal)
    """
    if not 0 <= holdout < 1:
        raise PlannerError(f"holdout must be in [0, 1); got {holdout}")
    modelled, _, _ = _modelled(assets, zones, transit, pois, params, traffic, roads)
    return _fit_scale(modelled, _measured(assets), holdout=holdout, seed=seed)


def _fit_scale(
    modelled: np.ndarray, measured: np.ndarray, *, holdout: float, seed: int
) -> Calibration:
    """Fit ``scale = exp(median(log(measured / modelled)))`` over assets where both are > 0.

    Working on log ratios makes the median symmetric for over- and under-estimates. The
    held-out error is ``median(|train_scale * modelled / measured - 1|)``.

    Parameters
    ----------
    modelled, measured
        Impacts per week, shape (n_assets,); ``measured`` is NaN where not measured.
    holdout, seed
        As for `calibrate`.

    Raises
    ------
    PlannerError
        With fewer than 2 usable assets.
    """
    ok = (measured > 0) & (modelled > 0)
    log_ratio = np.log(measured[ok] / modelled[ok])
    n = len(log_ratio)
    if n < 2:
        raise PlannerError(
            f"Calibration needs at least 2 assets with a positive measured 'weekly_impacts'; "
            f"found {n}. Add measured audiences (e.g. Route impacts) to the asset file."
        )
    n_hold = min(n - 1, max(1, round(n * holdout))) if holdout > 0 else 0
    order = np.random.default_rng(seed).permutation(n)
    hold, train = order[:n_hold], order[n_hold:]
    train_scale = float(np.exp(np.median(log_ratio[train])))
    error = float("nan")
    if n_hold:
        # |s m - y| / y  ==  |s * exp(-log_ratio) - 1|
        error = float(np.median(np.abs(train_scale * np.exp(-log_ratio[hold]) - 1)))
    return Calibration(
        scale=float(np.exp(np.median(log_ratio))),
        n_measured=n,
        n_train=len(train),
        n_holdout=n_hold,
        train_scale=train_scale,
        median_abs_pct_error=error,
    )


def _measured(assets: pd.DataFrame) -> np.ndarray:
    """Return measured ``weekly_impacts``, shape (n_assets,); NaN where missing, text or < 0."""
    if "weekly_impacts" not in assets.columns:
        return np.full(len(assets), np.nan)
    values = pd.to_numeric(assets["weekly_impacts"], errors="coerce").to_numpy(dtype=float)
    return np.where(values >= 0, values, np.nan)


def _modelled(
    assets: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None,
    transit: gpd.GeoDataFrame | None,
    pois: gpd.GeoDataFrame | None,
    params: AudienceParams,
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Compute uncalibrated modelled impacts per face and per advertiser, shape (n_assets,).

    Passers a week (base + residential + transit + POI terms) times the format's
    visibility, divided by the slots of a digital face (share of time). Also the share of
    the passers that is the residential term (people living within walking distance),
    shape (n_assets,), which `planner.value.reach` uses to send that part of a face's
    impacts to its catchment. And the roadside faces' vehicle flow with its source
    (`_vehicle_flow`).

    Raises
    ------
    PlannerError
        When a given frame has no CRS, or ``zones`` has no ``population`` column.
    """
    frames = {"assets": assets, "zones": zones, "transit": transit, "pois": pois}
    frames["traffic"] = traffic
    frames["roads"] = roads
    for name, frame in frames.items():
        if frame is not None and frame.crs is None:
            raise PlannerError(
                f"'{name}' must have a CRS; got None. Set it with "
                "frame.set_crs('EPSG:4326') (or the CRS of its coordinates)"
            )
    crs = metric_crs(assets)
    # A line or polygon asset stands at a point on it (as in the optimiser and on maps).
    here = shapely.point_on_surface(project(assets, crs).geometry.to_numpy())
    residents = _residential(here, zones, crs, params)
    passers = params.base_weekly_passers + residents
    if transit is not None and len(transit):
        transit_m = project(transit, crs)
        kinds = _transit_kind(transit_m)
        weight = kinds.map(params.transit_weekly_passers).fillna(params.default_transit_passers)
        passers += _decayed_sum(
            here,
            _points(transit_m),
            weight.to_numpy(dtype=float),
            radius=params.transit_radius_m,
            decay=params.transit_decay_m,
        )
    if pois is not None and len(pois):
        pois_m = project(pois, crs)
        visitors = _column(pois_m, "weekly_visitors", params.poi_weekly_visitors)
        passers += _decayed_sum(
            here, _points(pois_m), visitors, radius=params.poi_radius_m, decay=params.poi_decay_m
        )
    traffic_m = project(traffic, crs) if traffic is not None else None
    roads_m = project(roads, crs) if roads is not None else None
    aadf, source = _vehicle_flow(here, assets, traffic_m, roads_m, params)
    passers += aadf * 7 * params.vehicle_occupancy * params.facing_share
    impacts = passers * _visibility(assets, params) / _share_of_time_slots(assets, params)
    resident_share = np.divide(residents, passers, out=np.zeros(len(here)), where=passers > 0)
    return impacts, resident_share, (aadf, source)


def _vehicle_flow(
    here: np.ndarray,
    assets: pd.DataFrame,
    traffic: gpd.GeoDataFrame | None,
    roads: gpd.GeoDataFrame | None,
    params: AudienceParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the daily vehicle flow past each roadside face and where it comes from.

    For the formats of ``params.roadside_formats``: the ``aadf`` of the nearest count point
    within ``traffic_radius_m`` (`_nearest`: the first of equally near ones), labelled
    `TRAFFIC_COUNT`; else ``road_class_aadf`` of the class of the nearest road within
    ``road_radius_m``, labelled `ROAD_CLASS_PROXY`; else 0 and ``""``. Other formats: 0.
    ``traffic`` and ``roads`` are in the metric CRS of ``here``.

    Returns
    -------
    tuple
        ``(aadf, source)``: vehicles a day (both directions) and labels, shape (n_assets,).

    Raises
    ------
    PlannerError
        When ``traffic`` has no ``aadf`` column, or ``roads`` no ``highway`` column.
    """
    roadside = _text(assets, "format", "other").isin(params.roadside_formats).to_numpy()
    daily = np.zeros(len(here))
    source = np.full(len(here), "", dtype=object)
    if traffic is not None and len(traffic):
        if "aadf" not in traffic.columns:
            raise PlannerError(
                "'traffic' has no 'aadf' column (vehicles a day); load a DfT AADF file with "
                "planner.io.traffic.load_traffic_counts(...)"
            )
        near, point = _nearest(here, _points(traffic), params.traffic_radius_m)
        daily[near] = _column(traffic, "aadf", 0.0)[point]
        source[near] = TRAFFIC_COUNT
    if roads is not None and len(roads):
        if "highway" not in roads.columns:
            raise PlannerError(
                "'roads' has no 'highway' column (the OpenStreetMap road class); read an "
                "extract with planner.io.roads.load_roads(...)"
            )
        todo = np.flatnonzero(roadside & (source == ""))
        near, road = _nearest(here[todo], roads.geometry.to_numpy(), params.road_radius_m)
        classes = _text(roads, "highway", "").map(lambda h: h.removesuffix("_link"))
        flow = classes.map(params.road_class_aadf).to_numpy(dtype=float)
        known = ~np.isnan(flow[road])
        daily[todo[near[known]]] = flow[road[known]]
        source[todo[near[known]]] = ROAD_CLASS_PROXY
    return np.where(roadside, daily, 0.0), np.where(roadside, source, "")


def _nearest(
    here: np.ndarray, there: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pair each point of ``here`` with its nearest of ``there`` within ``max_distance``.

    Of several equally near (count points at one site, a face at a junction), the first
    in ``there``'s order: the same choice whatever else the tree holds, so a partition
    that holds a subset of ``there`` in the same order chooses as the whole does.

    Returns
    -------
    tuple of numpy.ndarray
        Positions in ``here`` with a neighbour, and the position of that neighbour in
        ``there``, each of shape (n_matched,).
    """
    near, found = shapely.STRtree(there).query_nearest(
        here, max_distance=max_distance, all_matches=True
    )
    order = np.lexsort((found, near))
    near, found = near[order], found[order]
    first = np.ones(len(near), dtype=bool)
    first[1:] = near[1:] != near[:-1]
    return near[first], found[first]


def _residential(
    here: np.ndarray, zones: gpd.GeoDataFrame | None, crs: Any, params: AudienceParams
) -> np.ndarray:
    """Return residential passers a week at each point of ``here``, shape (n_assets,).

    ``trips_per_resident_per_week * pass_probability * sum(population * exp(-d / decay))``
    over zone centroids within ``walking_radius_m``; ``no_zone_weekly_passers`` everywhere
    without zones. A missing or negative population counts as 0.

    Raises
    ------
    PlannerError
        When ``zones`` has no ``population`` column.
    """
    if zones is None:
        return np.full(len(here), params.no_zone_weekly_passers)
    if "population" not in zones.columns:
        raise PlannerError(
            "'zones' has no 'population' column; load it with load_zones(...) "
            "or rename the population column to 'population'"
        )
    zones_m = project(zones, crs)
    population = _column(zones_m, "population", 0.0)
    reached = _decayed_sum(
        here,
        _points(zones_m),
        population,
        radius=params.walking_radius_m,
        decay=params.distance_decay_m,
    )
    return reached * params.trips_per_resident_per_week * params.pass_probability


def _decayed_sum(
    here: np.ndarray, there: np.ndarray, weight: np.ndarray, *, radius: float, decay: float
) -> np.ndarray:
    """Sum ``weight * exp(-d / decay)`` over points of ``there`` within ``radius`` of each ``here``.

    Pairs come from a `shapely.STRtree` ``dwithin`` query and are summed with
    `numpy.bincount`: no dense distance matrix and no Python loop (all 20,399 London TfL
    stops against 4,835 LSOAs and the stops themselves take 0.65 s, ``docs/valuation.md``).

    Parameters
    ----------
    here
        Points (shapely geometries) in a metric CRS, shape (n_here,).
    there
        Points in the same CRS, shape (n_there,).
    weight
        Weight of each point of ``there`` (people, or people a week), shape (n_there,).
    radius, decay
        Cut-off distance and e-folding distance, in metres.

    Returns
    -------
    numpy.ndarray
        Shape (n_here,); 0 where nothing is within ``radius``.
    """
    if len(there) == 0 or len(here) == 0:
        return np.zeros(len(here))
    near, far = shapely.STRtree(there).query(here, predicate="dwithin", distance=radius)
    # Add each asset's terms in the order of ``there``, not the tree's internal order, so
    # the float sum is the same whichever other points share the tree (as in a spatial
    # partition with a halo, `planner.scale`).
    order = np.argsort(near * np.int64(len(there)) + far, kind="stable")
    near, far = near[order], far[order]
    distance = shapely.distance(here[near], there[far])
    return np.bincount(near, weights=weight[far] * np.exp(-distance / decay), minlength=len(here))


def _points(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return the frame's geometries as points: points as they are, anything else its centroid."""
    geoms = frame.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.all():
        return geoms
    return np.where(is_point, geoms, shapely.centroid(geoms))


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """Return a numeric column as floats; ``default`` where it is absent, missing, text or < 0."""
    if name not in frame.columns:
        return np.full(len(frame), float(default))
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(values) | (values < 0), default, values)


def _text(frame: pd.DataFrame, name: str, default: str) -> pd.Series:
    """Return a text column stripped and lower-cased; ``default`` where absent, missing or blank."""
    return pd.Series(lower_text(frame, name, default), index=frame.index, dtype=object)


def _transit_kind(transit: pd.DataFrame) -> pd.Series:
    """Return each transit point's kind as a key of ``transit_weekly_passers``.

    Read from the first of ``kind``, ``fclass`` (OSM shapefile exports) or ``type``;
    aliases such as ``railway_station`` or ``tube_station`` are mapped to the model's
    kinds; ``"unknown"`` without any of these columns.
    """
    column = next((c for c in ("kind", "fclass", "type") if c in transit.columns), None)
    if column is None:
        return pd.Series("unknown", index=transit.index, dtype=object)
    kinds = _text(transit, column, "unknown")
    aliases = map_distinct(kinds, lambda k: _TRANSIT_ALIASES.get(k, k), "unknown")
    return pd.Series(aliases, index=transit.index, dtype=object)


def is_digital(assets: pd.DataFrame) -> np.ndarray:
    """Flag the digital assets: from the ``digital`` column, else from the format.

    Parameters
    ----------
    assets
        Assets with ``digital`` (true/false, 1/0, yes/no as text or numbers; missing is
        False) or, without that column, ``format``: ``d6``, ``d48``, ``d96`` and
        ``digital_screen`` are digital.

    Returns
    -------
    numpy.ndarray
        Booleans, shape (n_assets,).

    Examples
    --------
    >>> is_digital(pd.DataFrame({"format": ["d48", "6-sheet"]})).tolist()
    [True, False]
    """
    if "digital" in assets.columns:
        flag = assets["digital"]
        if pd.api.types.is_bool_dtype(flag.dtype) and not flag.isna().any():
            return flag.to_numpy(dtype=bool)
        yes = {"true", "1", "yes", "y", "1.0"}
        return map_distinct(flag, lambda v: str(v).strip().lower() in yes, False).astype(bool)
    formats = lower_text(assets, "format", "other")
    return np.isin(formats, ["d6", "d48", "d96", "digital_screen"])


def slots_of(assets: pd.DataFrame, default: int = 6) -> np.ndarray:
    """Count the advertisers per loop of each asset: its share of time is ``1 / slots``.

    Digital screens are sold by share of time: a loop of ``loop_seconds`` shows spots of
    ``spot_seconds`` in turn (Route reports screens playing 10-second spots in a
    60-second loop: 6 slots). Where both columns are given, slots are
    ``floor(loop_seconds / spot_seconds)``; else the ``slots`` column; else ``default``.

    Parameters
    ----------
    assets
        Assets, optionally with ``loop_seconds`` and ``spot_seconds`` (seconds, > 0) or
        ``slots``; a value below 1, missing or not a number gives ``default``, and
        fractions are rounded down.
    default
        Slots when not given (`AudienceParams.default_slots` is 6).

    Returns
    -------
    numpy.ndarray
        Whole numbers >= 1 as floats, shape (n_assets,); classic faces get a value too,
        which callers ignore.

    Examples
    --------
    >>> slots_of(pd.DataFrame({"slots": [4, None, 0.5]})).tolist()
    [4.0, 6.0, 6.0]
    >>> slots_of(pd.DataFrame({"loop_seconds": [60, 60], "spot_seconds": [10, 15]})).tolist()
    [6.0, 4.0]
    """
    slots = _column(assets, "slots", float(default))
    if {"loop_seconds", "spot_seconds"} <= set(assets.columns):
        loop = _column(assets, "loop_seconds", np.nan)
        spot = _column(assets, "spot_seconds", np.nan)
        per_loop = np.divide(loop, spot, out=np.full(len(loop), np.nan), where=spot > 0)
        slots = np.where(np.isfinite(per_loop) & (per_loop >= 1), per_loop, slots)
    return np.where(slots >= 1, np.floor(slots), float(default))


def _share_of_time_slots(assets: pd.DataFrame, params: AudienceParams) -> np.ndarray:
    """Return the divisor of each face's audience: its slots if digital, else 1."""
    return np.where(is_digital(assets), slots_of(assets, params.default_slots), 1.0)


def _visibility(assets: pd.DataFrame, params: AudienceParams) -> np.ndarray:
    """Return each asset's visibility share from its (lower-cased) ``format``."""
    formats = _text(assets, "format", "other")
    return formats.map(params.visibility).fillna(params.default_visibility).to_numpy(float)
