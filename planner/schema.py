"""The data contract: column names, defaults, aliases and vocabularies of the planner's inputs.

Three tables, each a GeoDataFrame stored in EPSG:4326 (`STORAGE_CRS`):

- assets (`ASSET_COLUMNS`): one row per council-owned asset, usually a point (a line or
  polygon is kept whole, so distances are from its nearest point). ``faces`` are the
  advertising faces (whole number >= 1); ``digital`` faces rotate ``slots`` advertisers
  per loop (default 6, so each gets a 1/slots share of time); ``weekly_impacts`` is a
  measured audience per face per week (e.g. from Route; else modelled in
  `planner.value.audience`); ``price_per_cycle`` is the price of one face (one slot if
  digital) for one 2-week cycle, in the rate card's currency (else from the rate card);
  ``status`` is ``available`` or ``unavailable``.
- sites (`SITE_COLUMNS`): sensitive sites, points or polygons, with a ``kind`` from
  `SITE_KINDS`; exclusion distances are measured to a polygon's edge.
- zones (`ZONE_COLUMNS`): demand zones, polygons or points with a resident
  ``population`` (e.g. ONS LSOA or output-area population, people).

The loaders in `planner.io` rename recognised spellings (`COLUMN_ALIASES`) to these names,
fill the defaults and drop `PERSONAL_COLUMNS`; the README documents the same contract.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ASSET_COLUMNS",
    "ASSET_TYPES",
    "CATEGORIES",
    "COLUMN_ALIASES",
    "DATA_DIR",
    "FORMATS",
    "PERSONAL_COLUMNS",
    "SITE_COLUMNS",
    "SITE_KINDS",
    "STORAGE_CRS",
    "ZONE_COLUMNS",
]

#: The bundled demo layers and campaigns: ``planner/demo_data`` in an installed wheel
#: (mapped from the repository's ``data/`` folder at build time), else ``data/`` in a checkout.
DATA_DIR = (
    Path(__file__).resolve().parent / "demo_data"
    if (Path(__file__).resolve().parent / "demo_data").is_dir()
    else Path(__file__).resolve().parents[1] / "data"
)

#: Every table is stored and shown in WGS84 longitude/latitude.
STORAGE_CRS = "EPSG:4326"

#: Asset columns in contract order, with their defaults (None: optional, no default).
ASSET_COLUMNS: dict[str, str | int | bool | None] = {
    "asset_id": None,
    "asset_type": None,
    "format": None,
    "faces": 1,
    "digital": False,
    "slots": 6,
    "weekly_impacts": None,
    "price_per_cycle": None,
    "name": "",
    "ward": "",
    "status": "available",
}
ASSET_REQUIRED = ("asset_id",)

#: Format assumed for an asset whose file gives no format, by asset type.
DEFAULT_FORMAT_BY_TYPE: dict[str, str] = {
    "bus_shelter": "6-sheet",
    "bus_stop": "6-sheet",
    "lamp_column": "banner",
    "kiosk": "6-sheet",
    "bike_dock": "6-sheet",
    "hoarding": "48-sheet",
    "billboard": "48-sheet",
    "advertising_column": "column",
    "digital_screen": "d6",
    "poster_box": "6-sheet",
    "totem": "d6",
    "bridge_banner": "banner",
    "phone_box": "6-sheet",
}

ASSET_TYPES = frozenset(
    {
        "bus_shelter",
        "bus_stop",
        "lamp_column",
        "kiosk",
        "bike_dock",
        "hoarding",
        "billboard",
        "advertising_column",
        "digital_screen",
        "poster_box",
        "totem",
        "bridge_banner",
        "phone_box",
        "other",
    }
)

#: Known advertising formats; others are accepted with a warning.
FORMATS = frozenset(
    {
        "6-sheet",
        "48-sheet",
        "96-sheet",
        "4-sheet",
        "12-sheet",
        "16-sheet",
        "banner",
        "column",
        "d6",
        "d48",
        "d96",
        "digital_screen",
        "other",
    }
)

STATUSES = frozenset({"available", "unavailable"})

SITE_COLUMNS: dict[str, str | int | bool | None] = {"site_id": None, "kind": None, "name": ""}
SITE_REQUIRED = ("site_id", "kind")

SITE_KINDS = frozenset(
    {
        "school",
        "nursery",
        "college",
        "university",
        "playground",
        "place_of_worship",
        "hospital",
        "childrens_centre",
        "leisure_centre",
        "youth_centre",
        "gambling_support",
        "addiction_service",
        "park",
        "other",
    }
)

ZONE_COLUMNS: dict[str, str | int | bool | None] = {"zone_id": None, "population": None, "name": ""}
ZONE_REQUIRED = ("population",)

#: Default advertiser taxonomy (a policy file may add more).
CATEGORIES = (
    "alcohol",
    "gambling",
    "hfss",
    "payday_loans",
    "tobacco_vaping",
    "fossil_fuels",
    "political",
    "adult",
    "general",
)

#: Recognised spellings of contract and coordinate columns (compared case-insensitively,
#: ignoring spaces, dashes and underscores), first match first; including the UK's standard
#: exports: the LGA/Transparency Code land and assets schema (``UPRN``, ``GeoX``, ``GeoY``,
#: ``CoordinateReferenceSystem``), NaPTAN stops (``ATCOCode``, ``CommonName``, ``Easting``,
#: ``Northing``) and GIAS schools (``URN``, ``EstablishmentName``). An alias claims a
#: column only when its values fit the contract column (see `planner.io.validation`).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "asset_id": (
        "asset_id",
        "id",
        "assetid",
        "asset_ref",
        "asset_code",
        "asset_reference",
        "ref",
        "site_ref",
        "frame_id",
        "atco_code",
        "naptan_code",
        "uprn",
    ),
    "asset_type": ("asset_type", "type", "assettype", "furniture_type"),
    "format": ("format", "ad_format", "panel_format", "size"),
    "faces": ("faces", "num_faces", "panels", "sides"),
    "digital": ("digital", "is_digital"),
    "slots": ("slots", "loop_slots", "spots"),
    "weekly_impacts": ("weekly_impacts", "impacts", "weekly_impressions"),
    "price_per_cycle": ("price_per_cycle", "price", "rate"),
    "name": (
        "name",
        "stop_name",
        "asset_name",
        "site_name",
        "common_name",
        "property_name",
        "establishment_name",
        "location",
    ),
    "ward": ("ward", "ward_name"),
    "status": ("status",),
    "site_id": ("site_id", "id", "urn", "siteid", "uprn"),
    "kind": ("kind", "site_kind", "site_type", "type"),
    "population": (
        "population",
        "pop",
        "persons_all_ages",
        "persons",
        "usual_residents",
        "all_ages",
    ),
    "zone_id": ("zone_id", "lsoa11cd", "lsoa21cd", "oa11cd", "oa21cd", "code", "id"),
    "x": ("lon", "lng", "long", "longitude", "x", "easting", "location_easting", "east", "geo_x"),
    "y": ("lat", "latitude", "y", "northing", "location_northing", "north", "geo_y"),
    "crs": ("crs", "coordinate_reference_system", "srid", "epsg", "spatial_reference"),
    "grid_ref": (
        "grid_ref",
        "grid_reference",
        "os_grid_ref",
        "os_grid_reference",
        "national_grid_reference",
        "ngr",
        "osgr",
    ),
}

#: Columns that hold personal data in common public exports (e.g. the head teacher's name
#: in GIAS). The loaders drop them with a warning: the planner keeps aggregate data only.
PERSONAL_COLUMNS = frozenset(
    {
        "headtitle",
        "headfirstname",
        "headlastname",
        "headpreferredjobtitle",
        "headtitlename",
        "telephonenum",
        "telephone",
        "phone",
        "email",
        "contactemail",
        "heademail",
    }
)
