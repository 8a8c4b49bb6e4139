"""Where a screen stands, in the trade's classes: roadside, town centre, hub, residential.

Digital slots are sold by format *and* environment (a screen in a station concourse or on a
high street sells above the same screen on a residential street); the rate card's
``[environment]`` table (`planner.value.rates.RateCard.environment`) turns the class into a
price multiplier. The class is the asset file's ``environment`` where given, else modelled
from what the asset and its surroundings already tell (`classify_environment`), else
``"unknown"`` (multiplier 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.geo import metric_crs, project
from planner.value.audience import AudienceParams, _points, _text, _transit_kind

__all__ = [
    "ENVIRONMENTS",
    "UNKNOWN",
    "EnvironmentParams",
    "classify_environment",
    "normalise_environment",
]

#: Environment classes a rate card's ``[environment]`` table may price.
ENVIRONMENTS = ("roadside", "town_centre", "transport_hub", "residential")
#: The class of an asset nothing tells about; always priced at multiplier 1.
UNKNOWN = "unknown"
_ALIASES = {
    "high_street": "town_centre",
    "high street": "town_centre",
    "town centre": "town_centre",
    "city_centre": "town_centre",
    "retail": "town_centre",
    "transport hub": "transport_hub",
    "station": "transport_hub",
    "rail": "transport_hub",
    "road": "roadside",
    "suburban": "residential",
}


def _hub_kinds() -> tuple[str, ...]:
    return ("rail_station", "subway_station", "bus_station", "ferry_terminal")


@dataclass(frozen=True)
class EnvironmentParams:
    """Thresholds of `classify_environment`, each with its source.

    Attributes
    ----------
    hub_radius_m
        An asset within this distance of a station is in a transport hub, in metres (150,
        assumption: a station's forecourt and the street in front of its entrances).
    hub_kinds
        Transit kinds that make a hub (rail, metro and bus stations, ferry terminals; a bus
        or tram stop alone does not).
    town_centre_radius_m, town_centre_min_pois
        An asset with at least ``town_centre_min_pois`` points of interest within
        ``town_centre_radius_m`` is on a high street or in a town centre (15 within 150 m:
        ONS and Ordnance Survey's definition of a high street, "High streets in Great
        Britain", ONS 2020: a cluster of 15 or more retail addresses within 150 m; here
        OpenStreetMap shops and amenities stand in for retail addresses).
    roadside_formats
        Formats sold as roadside (48- and 96-sheets, d48, d96: `AudienceParams`).
    """

    hub_radius_m: float = field(
        default=150.0,
        metadata={"doc": "A station within this distance makes a transport hub (assumption)",
                  "unit": "m"},
    )  # fmt: skip
    hub_kinds: tuple[str, ...] = field(
        default_factory=_hub_kinds,
        metadata={"doc": "Transit kinds that make a hub (a bus or tram stop alone does not)"},
    )
    town_centre_radius_m: float = field(
        default=150.0,
        metadata={"doc": "High street: POIs counted within this distance (ONS/OS 2020: 150 m)",
                  "unit": "m"},
    )  # fmt: skip
    town_centre_min_pois: int = field(
        default=15,
        metadata={"doc": "High street: at least this many POIs (ONS/OS 2020: 15 retail "
                  "addresses within 150 m)", "unit": "POIs"},
    )  # fmt: skip
    roadside_formats: tuple[str, ...] = field(
        default=AudienceParams().roadside_formats,
        metadata={"doc": "Formats sold as roadside"},
    )


def classify_environment(
    assets: gpd.GeoDataFrame,
    *,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    params: EnvironmentParams = EnvironmentParams(),
) -> pd.DataFrame:
    """Put each asset in an environment class, from its file, else from its surroundings.

    In this order, the first that applies::

        the asset file's ``environment`` (one of `ENVIRONMENTS`; "high street" and a few
            other spellings are understood)                         -> as given
        a station (``hub_kinds``) within ``hub_radius_m``             -> transport_hub
        a roadside format (48/96-sheet, d48, d96)                    -> roadside
        >= ``town_centre_min_pois`` POIs within ``town_centre_radius_m`` -> town_centre
        transit or POIs were given (so the surroundings are known)   -> residential
        otherwise                                                    -> unknown

    Parameters
    ----------
    assets
        Assets with a geometry and a CRS, optional ``format`` and ``environment``.
    transit
        Transit points with a ``kind`` (or ``fclass``/``type``), as for
        `planner.value.audience.estimate_impacts`; any CRS.
    pois
        Points of interest (shops, amenities), any CRS.
    params
        Thresholds.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``assets``: ``environment`` (a class of `ENVIRONMENTS` or
        ``"unknown"``) and ``environment_source`` (``"asset file"``, ``"modelled"`` or
        ``""`` for unknown). A modelled class is an estimate from open data.

    Examples
    --------
    >>> classify_environment(assets, transit=stops, pois=shops)["environment"].value_counts()
    """
    given = _given(assets)
    modelled = np.full(len(assets), UNKNOWN, dtype=object)
    if not len(assets):
        return _table(assets, given, modelled)
    crs = metric_crs(assets)
    here = shapely.point_on_surface(project(assets, crs).geometry.to_numpy())
    if transit is not None or pois is not None:
        modelled[:] = "residential"
    if pois is not None and len(pois):
        count = _count_within(here, _points(project(pois, crs)), params.town_centre_radius_m)
        modelled[count >= params.town_centre_min_pois] = "town_centre"
    roadside = _text(assets, "format", "other").isin(params.roadside_formats).to_numpy()
    modelled[roadside] = "roadside"
    if transit is not None and len(transit):
        hubs = transit[_transit_kind(transit).isin(params.hub_kinds).to_numpy()]
        if len(hubs):
            near = _count_within(here, _points(project(hubs, crs)), params.hub_radius_m) > 0
            modelled[near] = "transport_hub"
    return _table(assets, given, modelled)


def _table(assets: pd.DataFrame, given: np.ndarray, modelled: np.ndarray) -> pd.DataFrame:
    """Return `classify_environment`'s table: the file's class where given, else the model's."""
    has_given = given != UNKNOWN
    return pd.DataFrame(
        {
            "environment": np.where(has_given, given, modelled),
            "environment_source": np.where(
                has_given, "asset file", np.where(modelled == UNKNOWN, "", "modelled")
            ),
        },
        index=assets.index,
    )


def normalise_environment(value: Any) -> str:
    """Return an environment class for a value written in an asset file; ``"unknown"`` if none.

    Examples
    --------
    >>> normalise_environment("High street"), normalise_environment("motorway")
    ('town_centre', 'unknown')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return UNKNOWN
    text = str(value).strip().lower().replace("-", "_")
    text = _ALIASES.get(text, _ALIASES.get(text.replace("_", " "), text))
    return text if text in ENVIRONMENTS else UNKNOWN


def _given(assets: pd.DataFrame) -> np.ndarray:
    """Return the asset file's ``environment`` as classes, ``"unknown"`` where absent or unknown."""
    if "environment" not in assets.columns:
        return np.full(len(assets), UNKNOWN, dtype=object)
    return assets["environment"].map(normalise_environment).to_numpy(dtype=object)


def _count_within(here: np.ndarray, there: np.ndarray, radius: float) -> np.ndarray:
    """Count the points of ``there`` within ``radius`` metres of each point of ``here``."""
    near, _ = shapely.STRtree(there).query(here, predicate="dwithin", distance=radius)
    return np.bincount(near, minlength=len(here))
