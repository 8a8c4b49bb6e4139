"""Rate cards: the gross price of one face (or one digital slot) for one 2-week cycle.

A rate card is a TOML file (``data/rates/<name>.toml``) with an explicit currency, the agency
commission and one ``[[rate]]`` per format, classic/digital and area tier: either a fixed
``price_per_cycle`` or a ``cpm`` applied to the asset's weekly impacts.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.calendar import CYCLE_DAYS
from planner.errors import PricingError
from planner.presets import preset_file, preset_names
from planner.value.audience import is_digital

__all__ = [
    "RateCard",
    "RateEntry",
    "load_rate_card",
    "price_assets",
]

#: The project's own data folder (rate cards in ``rates/``, concession terms in ``terms/``).
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
}
_RATE_KEYS = {"format", "digital", "tier", "price_per_cycle", "cpm", "source"}


@dataclass(frozen=True)
class RateEntry:
    """One line of a rate card; ``"*"`` (or ``digital=None``) matches anything.

    Exactly one of ``price_per_cycle`` (gross, per face, or per slot for digital faces)
    and ``cpm`` (gross price per 1,000 impacts) is set.
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
    currency
        ISO code of every price (e.g. ``"GBP"``).
    agency_commission
        Share of the gross price kept by the buying agency (0.15 for 15%).
    entries
        The rates, in file order.
    default_tier, tier_column, ward_tiers
        An asset's tier is its ``tier_column`` value, else its ward's tier in
        ``ward_tiers``, else ``default_tier``.
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


def load_rate_card(path_or_name: str | os.PathLike[str] | RateCard) -> RateCard:
    """Read and validate a rate card.

    Parameters
    ----------
    path_or_name
        A ``.toml`` path, or a built-in name such as ``"uk-default"`` or ``"demo"``
        (``data/rates/<name>.toml``). A `RateCard` is returned unchanged.

    Raises
    ------
    PricingError
        Naming the file and the key when the file is missing, not TOML, or invalid.

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
        name=str(data.get("name", path.stem)),
        currency=currency.strip().upper(),
        agency_commission=float(commission),
        entries=tuple(_entry(rate, i, where) for i, rate in enumerate(rates, start=1)),
        default_tier=str(data.get("default_tier", "standard")).strip().lower(),
        tier_column=str(data.get("tier_column", "tier")),
        ward_tiers={str(k).strip().lower(): v.strip().lower() for k, v in ward_tiers.items()},
        source=str(path),
        notes=str(data.get("notes", "")).strip(),
        sources=tuple(str(s) for s in data.get("sources", ())),
    )


def price_assets(
    assets: pd.DataFrame,
    impacts: pd.DataFrame | pd.Series | None,
    rate_card: RateCard | str | os.PathLike[str],
) -> pd.DataFrame:
    """Gross price per cycle of every asset: per face, or per slot for digital faces.

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

    Returns
    -------
    pandas.DataFrame
        Indexed like ``assets``: ``price_per_cycle``, ``price_source`` (``"asset file"``,
        ``"rate card"`` or ``"cpm"``), ``currency``, ``tier`` and ``rate`` (the entry used).
        A price given in the asset file wins.

    Raises
    ------
    PricingError
        When no rate matches an asset, or a CPM rate has no impacts to apply to.

    Examples
    --------
    >>> prices = price_assets(assets, estimate_impacts(assets, zones), "uk-default")
    """
    card = load_rate_card(rate_card)
    formats = _lower(assets, "format", "other")
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
    given = _given_prices(assets)
    has_price = ~np.isnan(given)
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
        },
        index=assets.index,
    )


def load_toml(
    path_or_name: str | os.PathLike[str], kind: str
) -> tuple[dict[str, Any], Path | Traversable]:
    """Read a TOML file given by path or by built-in name (``planner/presets/<kind>/<name>.toml``).

    Raises
    ------
    PricingError
        When the file does not exist or is not valid TOML (with the line).
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
    text = os.fspath(path_or_name)
    path: Path | Traversable = Path(text)
    is_name = (
        Path(text).suffix.lower() != ".toml" and Path(text).parent == Path() and not path.exists()
    )
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
    unknown = sorted(set(table) - known)
    if unknown:
        raise PricingError(
            f"{where}{place}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed keys are {', '.join(sorted(known))}"
        )


def _required(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise PricingError(f"{where}: missing key '{key}'. Add it at the top of the file")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise PricingError(
            f"{where}: key '{key}' has the wrong type ({type(value).__name__}: {value!r})"
        )
    return value


def _entry(rate: Any, i: int, where: str) -> RateEntry:
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


def _lower(assets: pd.DataFrame, name: str, default: str) -> np.ndarray:
    if name not in assets.columns:
        return np.full(len(assets), default, dtype=object)
    values = assets[name].astype(object).where(assets[name].notna(), "")
    return values.map(lambda v: str(v).strip().lower() or default).to_numpy(dtype=object)


def _tiers(assets: pd.DataFrame, card: RateCard) -> np.ndarray:
    tiers = np.full(len(assets), card.default_tier, dtype=object)
    if card.ward_tiers and "ward" in assets.columns:
        wards = pd.Series(_lower(assets, "ward", ""))
        mapped = wards.map(card.ward_tiers).to_numpy(dtype=object)
        tiers = np.where(pd.notna(mapped), mapped, tiers)
    if card.tier_column in assets.columns:
        given = _lower(assets, card.tier_column, "")
        tiers = np.where(given != "", given, tiers)
    return tiers


def _matches(
    entry: RateEntry, formats: np.ndarray, digital: np.ndarray, tiers: np.ndarray
) -> np.ndarray:
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
    if impacts is None:
        return np.full(len(index), np.nan)
    series = impacts["weekly_impacts"] if isinstance(impacts, pd.DataFrame) else impacts
    return pd.to_numeric(series.reindex(index), errors="coerce").to_numpy(dtype=float)


def _given_prices(assets: pd.DataFrame) -> np.ndarray:
    if "price_per_cycle" not in assets.columns:
        return np.full(len(assets), np.nan)
    given = pd.to_numeric(assets["price_per_cycle"], errors="coerce").to_numpy(dtype=float)
    return np.where(given >= 0, given, np.nan)
