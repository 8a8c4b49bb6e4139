"""Rate cards: the gross price of one face (or one digital slot) for one 2-week cycle.

A rate card is a TOML file (a bundled preset ``planner/presets/rates/<name>.toml``, or any
path) with an explicit currency, the agency commission and one ``[[rate]]`` per format,
classic/digital and area tier: either a fixed ``price_per_cycle`` or a ``cpm`` applied to
the asset's weekly impacts. The figures of the bundled ``uk-default`` card and their
sources (Darlington, Adur, airoutdoor.co.uk, derived CPM) are in ``docs/valuation.md``,
section 2, and in each ``[[rate]]``'s ``source``.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.calendar import CYCLE_DAYS
from planner.errors import PricingError
from planner.geo import points_in
from planner.presets import preset_file, preset_names
from planner.value.audience import is_digital
from planner.value.environment import ENVIRONMENTS, UNKNOWN, normalise_environment
from planner.value.text import lower_text, map_distinct

__all__ = [
    "PRICING",
    "RateCard",
    "RateEntry",
    "card_for_location",
    "load_rate_card",
    "outside_card_area",
    "price_assets",
]

# Keys a rate card may have at the top level and in each [[rate]]; any other is refused.
_CARD_KEYS = {
    "name",
    "currency",
    "agency_commission",
    "default_tier",
    "tier_column",
    "ward_tiers",
    "rate",
    "notes",
    "sources",
    "country",
    "area",
    "pricing",
    "cpt",
    "environment",
}
#: How a card prices: flat from its rates, or by audience with its rates as the floor.
PRICING = ("rate card", "cpt")
_RATE_KEYS = {"format", "digital", "tier", "price_per_cycle", "cpm", "source"}


@dataclass(frozen=True)
class RateEntry:
    """One line of a rate card; ``"*"`` (or ``digital=None``) matches anything.

    Exactly one of ``price_per_cycle`` (gross, per face, or per slot for digital faces)
    and ``cpm`` (gross price per 1,000 impacts) is set.

    Attributes
    ----------
    format
        Format it prices, lower case (``"6-sheet"``, ``"d48"``, ...), or ``"*"``.
    digital
        True for digital faces only, False for classic only, None for both.
    tier
        Area tier it prices, lower case (e.g. ``"prime"``), or ``"*"``.
    price_per_cycle
        Gross price of one face (one slot if digital) for one 14-day cycle, in the card's
        currency (major units, e.g. pounds), or None.
    cpm
        Gross price per 1,000 impacts, in the card's currency, or None. The price per
        cycle is then ``cpm * weekly_impacts * 14 / 7 / 1000``.
    source
        Where the figure comes from (shown by `planner.value.valuation.assumptions_table`).
    """

    format: str = "*"
    digital: bool | None = None
    tier: str = "*"
    price_per_cycle: float | None = None
    cpm: float | None = None
    source: str = ""

    @property
    def specificity(self) -> int:
        """How many of format, digital and tier this entry pins down (more wins)."""
        return (self.format != "*") + (self.digital is not None) + (self.tier != "*")

    @property
    def label(self) -> str:
        """Short description such as ``d48/digital/prime``."""
        kind = {None: "*", True: "digital", False: "classic"}[self.digital]
        return f"{self.format}/{kind}/{self.tier}"


@dataclass(frozen=True)
class RateCard:
    """A validated rate card; build it with `load_rate_card`.

    Attributes
    ----------
    name
        The card's ``name``, else its file name without ``.toml``.
    currency
        ISO code of every price (e.g. ``"GBP"``), upper case.
    agency_commission
        Share of the gross price kept by the buying agency, in [0, 1) (0.15 for 15%).
    entries
        The rates, in file order (ties in specificity go to the first).
    default_tier, tier_column, ward_tiers
        An asset's tier is its ``tier_column`` value, else its ward's tier in
        ``ward_tiers`` (``{ward name: tier}``, both lower case), else ``default_tier``.
    source
        Path of the file read.
    notes, sources
        The card's own ``notes`` and ``sources`` (citations), as written.
    country
        Where its prices hold, e.g. ``"GB"`` (ISO 3166-1 code); empty when not said.
    area
        That country as ``(west, south, east, north)`` boxes in degrees (EPSG:4326); an
        asset in none of them is outside the card's market (`outside_card_area`). Empty:
        not checked.
    pricing
        ``"rate card"``: every face at its rate (flat); ``"cpt"``: by audience, the gross
        cost per thousand impacts in ``cpt`` times the face's impacts over the cycle, with
        the rate as the floor (see `price_assets`).
    cpt
        Gross price per 1,000 impacts for ``"cpt"`` pricing, by format (e.g. ``"d48"``),
        else by ``"digital"`` or ``"classic"``, in the card's currency.
    environment
        Multiplier of a digital slot's price by environment class
        (`planner.value.environment.ENVIRONMENTS`): ``{"*": {class: factor}}`` for every
        digital format, and ``{format: {class: factor}}`` for one format, which wins. A
        class not listed, ``"unknown"`` and classic faces get 1.
    environment_source
        Where the multipliers come from (the ``[environment]`` table's ``source``).
    """

    name: str
    currency: str
    agency_commission: float
    entries: tuple[RateEntry, ...]
    default_tier: str = "standard"
    tier_column: str = "tier"
    ward_tiers: dict[str, str] = field(default_factory=dict)
    source: str = ""
    notes: str = ""
    sources: tuple[str, ...] = ()
    country: str = ""
    area: tuple[tuple[float, float, float, float], ...] = ()
    pricing: str = "rate card"
    cpt: dict[str, float] = field(default_factory=dict)
    environment: dict[str, dict[str, float]] = field(default_factory=dict)
    environment_source: str = ""

    def environment_factor(
        self, formats: np.ndarray, digital: np.ndarray, environments: np.ndarray
    ) -> np.ndarray:
        """Return each asset's price multiplier for its environment: 1 unless digital and listed.

        Parameters
        ----------
        formats, digital, environments
            Lower-case formats, digital flags and environment classes, shape (n_assets,).

        Returns
        -------
        numpy.ndarray
            Multipliers > 0, shape (n_assets,).

        Examples
        --------
        >>> card = load_rate_card("uk-default")
        >>> card.environment_factor(np.array(["d6"]), np.array([True]), np.array(["town_centre"]))
        array([1.2])
        """
        every = self.environment.get("*", {})
        factors = [
            self.environment.get(f, every).get(e, every.get(e, 1.0)) if d else 1.0
            for f, d, e in zip(formats, digital, environments, strict=True)
        ]
        return np.asarray(factors, dtype=float).reshape(len(formats))

    def cpt_for(self, formats: np.ndarray, digital: np.ndarray) -> np.ndarray:
        """Return the CPT of each asset: its format's, else digital's or classic's; NaN if none.

        Parameters
        ----------
        formats, digital
            Lower-case formats and digital flags, shape (n_assets,).

        Returns
        -------
        numpy.ndarray
            Gross price per 1,000 impacts, shape (n_assets,).
        """
        kind = np.where(digital, self.cpt.get("digital", np.nan), self.cpt.get("classic", np.nan))
        own = pd.Series(formats, dtype=object).map(self.cpt).to_numpy(dtype=float)
        return np.where(np.isnan(own), kind, own)


def load_rate_card(path_or_name: str | os.PathLike[str] | RateCard) -> RateCard:
    """Read and validate a rate card.

    The file's keys: ``currency`` (ISO code) and ``agency_commission`` (share in [0, 1))
    are required; ``name``, ``default_tier`` (default ``"standard"``), ``tier_column``
    (default ``"tier"``), ``[ward_tiers]``, ``notes``, ``sources``, ``country`` and
    ``area`` (a list of ``[west, south, east, north]`` boxes in degrees) are optional; at
    least one ``[[rate]]`` with optional ``format``, ``digital``, ``tier`` and ``source``
    and exactly one of ``price_per_cycle`` or ``cpm`` (a positive number). Any other key
    is refused, so a typo is never silently ignored.

    Parameters
    ----------
    path_or_name
        A ``.toml`` path, or a bundled name such as ``"uk-default"`` (GBP, 15% agency
        commission) or ``"demo"`` (EUR, the UK card at ~1.17 EUR/GBP, illustrative)
        in ``planner/presets/rates/``. A `RateCard` is returned unchanged.

    Returns
    -------
    RateCard
        Formats, tiers and ward names lower-cased, the currency upper-cased.

    Raises
    ------
    PricingError
        Naming the file and the key (or ``[[rate]]`` number) when the file is missing, not
        TOML, or invalid: an unknown or missing key, a key of the wrong type, a currency
        that is not 3 letters, a commission outside [0, 1), no ``[[rate]]``, a rate with
        neither or both prices or a price that is not a positive number, or a
        ``[ward_tiers]`` value that is not text.

    Examples
    --------
    >>> card = load_rate_card("uk-default")
    >>> card.currency, card.agency_commission
    ('GBP', 0.15)
    """
    if isinstance(path_or_name, RateCard):
        return path_or_name
    data, path = load_toml(path_or_name, "rates")
    where = path.name
    _unknown_keys(data, _CARD_KEYS, where, "")
    currency = _required(data, "currency", str, where)
    if len(currency.strip()) != 3:
        raise PricingError(
            f"{where}: key 'currency' must be an ISO code such as \"GBP\"; got {currency!r}"
        )
    commission = _required(data, "agency_commission", (int, float), where)
    if not 0 <= commission < 1:
        raise PricingError(
            f"{where}: key 'agency_commission' must be a share in [0, 1), e.g. "
            f"0.15 for 15%; got {commission!r}"
        )
    rates = data.get("rate")
    if not isinstance(rates, list) or not rates:
        raise PricingError(
            f"{where}: no [[rate]] entries; add at least one, e.g.\n"
            '[[rate]]\nformat = "6-sheet"\nprice_per_cycle = 92.0'
        )
    ward_tiers = data.get("ward_tiers", {})
    if not isinstance(ward_tiers, dict) or not all(isinstance(v, str) for v in ward_tiers.values()):
        raise PricingError(f"{where}: [ward_tiers] must map ward names to tier names (text)")
    return RateCard(
        name=str(data.get("name", Path(path.name).stem)),
        currency=currency.strip().upper(),
        agency_commission=float(commission),
        entries=tuple(_entry(rate, i, where) for i, rate in enumerate(rates, start=1)),
        default_tier=str(data.get("default_tier", "standard")).strip().lower(),
        tier_column=str(data.get("tier_column", "tier")),
        ward_tiers={str(k).strip().lower(): v.strip().lower() for k, v in ward_tiers.items()},
        source=str(path),
        notes=str(data.get("notes", "")).strip(),
        sources=tuple(str(s) for s in data.get("sources", ())),
        country=str(data.get("country", "")).strip(),
        area=_area(data.get("area", []), where),
        pricing=_pricing(data, where),
        cpt=_cpt(data.get("cpt", {}), where),
        environment=_environment(data.get("environment", {}), where),
        environment_source=str(data.get("environment", {}).get("source", "")),
    )


def _environment(value: Any, where: str) -> dict[str, dict[str, float]]:
    """Check the ``[environment]`` table: class -> factor, and per format ``[environment.<f>]``.

    Raises
    ------
    PricingError
        Naming the key: not a table, a class not in `ENVIRONMENTS`, or a factor that is not
        a positive number.
    """
    if not isinstance(value, dict):
        raise PricingError(f"{where}: [environment] must be a table such as town_centre = 1.2")
    tables: dict[str, dict[str, float]] = {"*": {}}
    for key, item in value.items():
        if key == "source":
            continue
        if isinstance(item, dict):
            tables[str(key).strip().lower()] = {
                cls: _factor(f"{key}.{cls}", factor, where) for cls, factor in item.items()
            }
        else:
            tables["*"][key] = _factor(key, item, where)
    for name, table in tables.items():
        bad = sorted(set(table) - set(ENVIRONMENTS))
        if bad:
            place = "[environment]" if name == "*" else f"[environment.{name}]"
            raise PricingError(
                f"{where}: {place} has unknown environment(s) {', '.join(map(repr, bad))}; "
                f"use {', '.join(ENVIRONMENTS)}"
            )
    return tables if any(tables.values()) else {}


def _factor(key: str, value: Any, where: str) -> float:
    """Check one environment multiplier: a positive finite number."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not 0 < value < math.inf:
        raise PricingError(
            f"{where}: [environment] key '{key}' must be a positive multiplier such as 1.2; "
            f"got {value!r}"
        )
    return float(value)


def _pricing(data: dict[str, Any], where: str) -> str:
    """Check the ``pricing`` key: ``"rate card"`` (the default) or ``"cpt"`` with a [cpt] table."""
    pricing = str(data.get("pricing", "rate card")).strip().lower()
    if pricing not in PRICING:
        raise PricingError(
            f'{where}: key \'pricing\' must be "rate card" or "cpt"; got {pricing!r}'
        )
    if pricing == "cpt" and not data.get("cpt"):
        raise PricingError(
            f'{where}: pricing = "cpt" needs a [cpt] table, e.g.\n[cpt]\nclassic = 4.5\n'
            "digital = 15.0"
        )
    return pricing


def _cpt(value: Any, where: str) -> dict[str, float]:
    """Check the ``[cpt]`` table: format (or classic/digital) -> a positive price per 1,000."""
    if not isinstance(value, dict):
        raise PricingError(f"{where}: [cpt] must be a table such as classic = 4.5")
    out = {}
    for key, price in value.items():
        ok = isinstance(price, int | float) and not isinstance(price, bool)
        if not ok or not 0 < price < math.inf:
            raise PricingError(
                f"{where}: [cpt] key '{key}' must be a positive price per 1,000 impacts; "
                f"got {price!r}"
            )
        out[str(key).strip().lower()] = float(price)
    return out


def _area(value: Any, where: str) -> tuple[tuple[float, float, float, float], ...]:
    """Check the ``area`` key: a list of ``[west, south, east, north]`` boxes in degrees."""
    boxes = []
    for i, box in enumerate(value if isinstance(value, list) else [None], start=1):
        numbers = box if isinstance(box, list) and len(box) == 4 else []
        ok = len(numbers) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in numbers
        )
        if not ok or not (
            -180 <= numbers[0] < numbers[2] <= 180 and -90 <= numbers[1] < numbers[3] <= 90
        ):
            raise PricingError(
                f"{where}: key 'area', box {i}: give [west, south, east, north] in degrees, "
                f"west < east and south < north; got {box!r}"
            )
        west, south, east, north = (float(v) for v in numbers)
        boxes.append((west, south, east, north))
    return tuple(boxes)


def outside_card_area(assets: gpd.GeoDataFrame, card: RateCard) -> np.ndarray:
    """Mark the assets that lie outside the area a rate card's prices are for.

    Parameters
    ----------
    assets
        Assets with a geometry and a CRS, shape (n,).
    card
        A rate card; one without an ``area`` marks nothing.

    Returns
    -------
    numpy.ndarray
        Bool, shape (n,): True where an asset's point (a point on a line or polygon) is
        in none of the card's boxes.

    Examples
    --------
    >>> outside_card_area(new_york_assets, load_rate_card("uk-default")).all()
    True
    """
    if not card.area or not len(assets):
        return np.zeros(len(assets), dtype=bool)
    xy = points_in(assets, "EPSG:4326")
    if xy is None:
        points = shapely.point_on_surface(assets.geometry.to_crs("EPSG:4326").to_numpy())
        xy = np.array([shapely.get_x(points), shapely.get_y(points)])
    inside = np.zeros(len(assets), dtype=bool)
    for box in card.area:
        inside |= shapely.contains_xy(shapely.box(*box), xy[0], xy[1])
    return ~inside


def card_for_location(assets: gpd.GeoDataFrame, currency: str | None = None) -> list[str]:
    """Name the bundled rate cards whose area holds every one of these assets.

    Parameters
    ----------
    assets
        Assets with a geometry and a CRS.
    currency
        Only cards in this currency when given.

    Returns
    -------
    list of str
        Bundled card names (``planner/presets/rates``), e.g. ``["demo"]`` for Helsinki.

    Examples
    --------
    >>> card_for_location(helsinki_assets)
    ['demo']
    """
    names = []
    for name in preset_names("rates"):
        card = load_rate_card(name)
        fits = card.area and not outside_card_area(assets, card).any()
        if fits and (currency is None or card.currency == currency.upper()):
            names.append(name)
    return names


def price_assets(
    assets: pd.DataFrame,
    impacts: pd.DataFrame | pd.Series | None,
    rate_card: RateCard | str | os.PathLike[str],
    *,
    pricing: str | None = None,
    environment: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Price every asset for one cycle, gross: per face, or per slot for digital faces.

    Each asset takes the most specific matching ``[[rate]]`` (format, classic/digital and
    tier pinned; ties go to the first in the file). A ``cpm`` rate gives
    ``cpm * weekly_impacts * CYCLE_DAYS / 7 / 1000`` (14-day cycles). Under ``"cpt"``
    pricing a face's price follows its audience, with its rate as the floor::

        price = max(rate, cpt[format, else digital/classic] * weekly_impacts * 14 / 7 / 1000)

    so two faces of one format with different impacts get different prices when either is
    above the floor. A digital slot's price is then multiplied by the card's
    ``[environment]`` factor for the screen's environment class (a slot price per format
    and environment; 1 for classic faces and unknown environments). A non-negative
    ``price_per_cycle`` in the asset file overrides the card.

    Parameters
    ----------
    assets
        Contract assets (``format``, ``digital``, optional ``price_per_cycle``, ``ward``
        and the card's tier column).
    impacts
        Output of `planner.value.audience.estimate_impacts` (or its ``weekly_impacts``); needed
        only by ``cpm`` rates.
    rate_card
        A `RateCard`, a name or a path.
    pricing
        ``"rate card"`` (flat), ``"cpt"`` (by audience, rate as floor), or None for the
        card's own ``pricing`` (``uk-default``: ``"cpt"``).
    environment
        Environment class of each asset (`planner.value.environment.ENVIRONMENTS`),
        aligned with ``assets``, e.g. ``classify_environment(...)["environment"]``; None
        reads the asset file's ``environment`` column (``"unknown"`` without one).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``assets``: ``price_per_cycle`` (gross, in the card's currency, major
        units), ``price_source`` (``"asset file"``, ``"rate card"``, ``"cpm"`` or
        ``"cpt"``: the audience price above the rate),
        ``currency``, ``tier``, ``rate`` (the entry's label such as
        ``d48/digital/prime``; empty for a price from the asset file), ``environment``
        and ``environment_factor`` (the multiplier applied; 1 for a price from the asset
        file). A price given in the asset file wins.

    Raises
    ------
    PricingError
        When the card cannot be loaded, no rate matches an asset (the message lists up to
        10 format/kind/tier combinations and suggests a catch-all ``[[rate]]``), a CPM
        rate has no impacts to apply to, or ``pricing`` is unknown or ``"cpt"`` with a
        card without a ``[cpt]`` table.

    Examples
    --------
    >>> prices = price_assets(assets, estimate_impacts(assets, zones), "uk-default")
    >>> flat = price_assets(assets, None, "uk-default", pricing="rate card")
    """
    card = load_rate_card(rate_card)
    pricing = card.pricing if pricing is None else pricing
    if pricing not in PRICING or (pricing == "cpt" and not card.cpt):
        raise PricingError(
            f"pricing must be 'rate card' or 'cpt' (with a rate card that has a [cpt] "
            f"table); got {pricing!r} with rate card '{card.name}'"
        )
    formats = lower_text(assets, "format", "other")
    digital = is_digital(assets)
    tiers = _tiers(assets, card)
    price = np.full(len(assets), np.nan)
    source = np.full(len(assets), "", dtype=object)
    label = np.full(len(assets), "", dtype=object)
    weekly = _weekly(impacts, assets.index)
    done = np.zeros(len(assets), dtype=bool)
    for entry in sorted(card.entries, key=lambda e: -e.specificity):
        hit = ~done & _matches(entry, formats, digital, tiers)
        if not hit.any():
            continue
        if entry.cpm is not None:
            missing = hit & np.isnan(weekly)
            if missing.any():
                raise PricingError(
                    f"{Path(card.source).name}: rate '{entry.label}' is a CPM but "
                    f"{int(missing.sum())} asset(s) have no weekly impacts; pass the output of "
                    "estimate_impacts(...) to price_assets"
                )
            price[hit] = entry.cpm * weekly[hit] * (CYCLE_DAYS / 7) / 1000
            source[hit] = "cpm"
        else:
            price[hit] = entry.price_per_cycle
            source[hit] = "rate card"
        label[hit] = entry.label
        done |= hit
    _check_all_priced(done, assets, formats, digital, tiers, card)
    if pricing == "cpt":
        audience = card.cpt_for(formats, digital) * weekly * (CYCLE_DAYS / 7) / 1000
        above = (source == "rate card") & (np.nan_to_num(audience, nan=-1.0) > price)
        price = np.where(above, audience, price)
        source = np.where(above, "cpt", source)
    envs = _environments(assets, environment)
    factor = card.environment_factor(formats, digital, envs)
    price = price * factor
    given = _given_prices(assets)
    has_price = ~np.isnan(given)
    factor = np.where(has_price, 1.0, factor)
    price = np.where(has_price, given, price)
    source = np.where(has_price, "asset file", source)
    label = np.where(has_price, "", label)
    return pd.DataFrame(
        {
            "price_per_cycle": price,
            "price_source": source,
            "currency": card.currency,
            "tier": tiers,
            "rate": label,
            "environment": envs,
            "environment_factor": factor,
        },
        index=assets.index,
    )


def _environments(assets: pd.DataFrame, environment: pd.Series | np.ndarray | None) -> np.ndarray:
    """Return each asset's environment class: as given, else the asset file's, else unknown."""
    if environment is None:
        if "environment" not in assets.columns:
            return np.full(len(assets), UNKNOWN, dtype=object)
        environment = assets["environment"]
    if isinstance(environment, pd.Series):
        environment = environment.reindex(assets.index).to_numpy(dtype=object)
    return map_distinct(pd.Series(environment), normalise_environment, normalise_environment(None))


def load_toml(
    path_or_name: str | os.PathLike[str], kind: str
) -> tuple[dict[str, Any], Path | Traversable]:
    """Read a TOML file given by path or by built-in name (``planner/presets/<kind>/<name>.toml``).

    Shared by rate cards and concession terms (`planner.value.concession.load_terms`).

    Parameters
    ----------
    path_or_name
        A path, or a bare name without ``.toml`` and without a folder that is not an
        existing file: the bundled preset of that name.
    kind
        Preset folder: ``"rates"`` or ``"terms"``.

    Returns
    -------
    tuple
        ``(data, path)``: the parsed TOML as a dict and the file read (a `pathlib.Path`,
        or a `importlib.resources` ``Traversable`` for a preset).

    Raises
    ------
    PricingError
        When the file does not exist (the message lists the bundled names), cannot be
        read as UTF-8, is not valid TOML (with the line) or is nested too deeply.
    """
    path = _resolve(path_or_name, kind)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(f"Cannot read {kind} file '{path}': {exc}") from None
    try:
        return tomllib.loads(text), path
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(
            f"{path.name} is not valid TOML: {exc}. Check quotes, '=' and "
            "[section] headers around that line"
        ) from None
    except RecursionError:
        raise PricingError(f"{path.name} is not valid TOML: nested too deeply") from None


def _resolve(path_or_name: str | os.PathLike[str], kind: str) -> Path | Traversable:
    """Find the file: an existing path, else the bundled preset, else ``<name>.toml``.

    Raises
    ------
    PricingError
        When no such file exists; the message lists the bundled presets of ``kind``.
    """
    text = os.fspath(path_or_name)
    given = Path(text)
    path: Path | Traversable = given
    is_name = given.suffix.lower() != ".toml" and given.parent == Path() and not given.exists()
    if is_name:
        path = preset_file(kind, text) or Path(f"{text}.toml")
    if not path.is_file():
        names = preset_names(kind)
        raise PricingError(
            f"{kind} file '{path}' not found. Give the path of a .toml file or "
            f"a built-in name: {', '.join(names) or '(none installed)'}"
        )
    return path


def _unknown_keys(table: dict[str, Any], known: set[str], where: str, place: str) -> None:
    """Raise `PricingError` listing the keys of ``table`` not in ``known``, and the allowed ones."""
    unknown = sorted(set(table) - known)
    if unknown:
        raise PricingError(
            f"{where}{place}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed keys are {', '.join(sorted(known))}"
        )


def _required(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return ``table[key]``; `PricingError` when it is missing or not of type ``kind``.

    A TOML boolean is refused even where a number is expected (``bool`` is an ``int`` in
    Python).
    """
    if key not in table:
        raise PricingError(f"{where}: missing key '{key}'. Add it at the top of the file")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise PricingError(
            f"{where}: key '{key}' has the wrong type ({type(value).__name__}: {value!r})"
        )
    return value


def _entry(rate: Any, i: int, where: str) -> RateEntry:
    """Validate ``[[rate]]`` number ``i`` (1-based) and build its `RateEntry`.

    Raises
    ------
    PricingError
        Naming the file and the rate number: not a table, an unknown key, neither or both
        of ``price_per_cycle`` and ``cpm``, a price that is not a positive finite number,
        or a ``digital`` that is not true/false.
    """
    place = f", [[rate]] number {i}"
    if not isinstance(rate, dict):
        raise PricingError(f"{where}{place}: must be a table of keys")
    _unknown_keys(rate, _RATE_KEYS, where, place)
    has = [k for k in ("price_per_cycle", "cpm") if k in rate]
    if len(has) != 1:
        raise PricingError(
            f"{where}{place}: give exactly one of 'price_per_cycle' or 'cpm'; "
            f"found {', '.join(has) or 'neither'}"
        )
    value = rate[has[0]]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise PricingError(
            f"{where}{place}: key '{has[0]}' must be a positive number; got {value!r}"
        )
    digital = rate.get("digital")
    if digital is not None and not isinstance(digital, bool):
        raise PricingError(f"{where}{place}: key 'digital' must be true or false; got {digital!r}")
    return RateEntry(
        format=str(rate.get("format", "*")).strip().lower(),
        digital=digital,
        tier=str(rate.get("tier", "*")).strip().lower(),
        price_per_cycle=float(value) if has[0] == "price_per_cycle" else None,
        cpm=float(value) if has[0] == "cpm" else None,
        source=str(rate.get("source", "")),
    )


def _tiers(assets: pd.DataFrame, card: RateCard) -> np.ndarray:
    """Return each asset's tier: its tier column, else its ward's tier, else the default.

    Wards are matched case-insensitively against ``card.ward_tiers``.
    """
    tiers = np.full(len(assets), card.default_tier, dtype=object)
    if card.ward_tiers and "ward" in assets.columns:
        wards = pd.Series(lower_text(assets, "ward", ""))
        mapped = wards.map(card.ward_tiers).to_numpy(dtype=object)
        tiers = np.where(pd.notna(mapped), mapped, tiers)
    if card.tier_column in assets.columns:
        given = lower_text(assets, card.tier_column, "")
        tiers = np.where(given != "", given, tiers)
    return tiers


def _matches(
    entry: RateEntry, formats: np.ndarray, digital: np.ndarray, tiers: np.ndarray
) -> np.ndarray:
    """Return which assets ``entry`` matches, shape (n_assets,); ``"*"`` and None match all."""
    hit = np.ones(len(formats), dtype=bool)
    if entry.format != "*":
        hit &= formats == entry.format
    if entry.digital is not None:
        hit &= digital == entry.digital
    if entry.tier != "*":
        hit &= tiers == entry.tier
    return hit


def _check_all_priced(
    done: np.ndarray,
    assets: pd.DataFrame,
    formats: np.ndarray,
    digital: np.ndarray,
    tiers: np.ndarray,
    card: RateCard,
) -> None:
    """Raise `PricingError` naming the unpriced format/kind/tier combinations (first 10).

    Checked before prices from the asset file are applied, so every asset needs a rate.
    """
    if done.all():
        return
    missing = sorted(
        {
            f"{f}/{'digital' if d else 'classic'}/{t}"
            for f, d, t in zip(formats[~done], digital[~done], tiers[~done], strict=True)
        }
    )
    raise PricingError(
        f"{Path(card.source).name}: no rate for {int((~done).sum())} asset(s) "
        f"(format/kind/tier: {', '.join(missing[:10])}). Add a [[rate]] for them, or a "
        'catch-all [[rate]] with format = "*" and a cpm'
    )


def _weekly(impacts: pd.DataFrame | pd.Series | None, index: pd.Index) -> np.ndarray:
    """Return weekly impacts aligned on the assets' ``index``; NaN where missing or no impacts."""
    if impacts is None:
        return np.full(len(index), np.nan)
    series = impacts["weekly_impacts"] if isinstance(impacts, pd.DataFrame) else impacts
    return pd.to_numeric(series.reindex(index), errors="coerce").to_numpy(dtype=float)


def _given_prices(assets: pd.DataFrame) -> np.ndarray:
    """Return the asset file's ``price_per_cycle``; NaN where absent, not a number or < 0."""
    if "price_per_cycle" not in assets.columns:
        return np.full(len(assets), np.nan)
    given = pd.to_numeric(assets["price_per_cycle"], errors="coerce").to_numpy(dtype=float)
    return np.where(given >= 0, given, np.nan)
