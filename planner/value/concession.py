"""Council concession terms: what the council receives from a media owner's annual sales.

For year ``y`` (1 = first contract year) and annual net sales ``S``::

    index(y)  = (1 + indexation) ** (y - 1)
    share(S)  = sum over bands b of  share_b * clip(S - from_b, 0, from_{b+1} - from_b)
    G(n)      = (minimum_annual_guarantee + guarantee_per_asset * n) * index(y)
    F(n)      = (fixed_annual_fee + fee_per_asset * n) * index(y)
    income    = max(G(n), share(S)) + F(n)                 for a contract of n assets

Bands are marginal, like income-tax bands: 60% of sales up to the first threshold, 70% of
the sales between the thresholds, and so on. A flat share is a single band from 0.
Guarantee-plus-share is the usual structure (TfL's bus-shelter contract, FOI-2293-1819;
Essex County Council 2024); the bundled terms and their sources are in
``docs/valuation.md``, section 3.

Councils sign three kinds of concession (``kind``): **council-owned** furniture whose
advertising the media owner sells for a revenue share (``uk-default``); **operator-funded**
furniture that the media owner builds and maintains, paying a lower share and a guarantee
(``uk-operator-funded``, the default for digital screens on bus shelters); and sites let
for a **fixed fee** (``uk-fixed-fee``). A terms file's ``[by_kind]`` table names the terms
of the other kinds, so that `planner.value.valuation.value_assets` values each asset under
its own kind's terms.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.errors import PricingError
from planner.value.rates import load_toml

__all__ = [
    "KINDS",
    "ConcessionTerms",
    "council_income",
    "income_breakdown",
    "load_terms",
    "terms_from_dict",
    "terms_to_dict",
]

_KEYS = {
    "name",
    "currency",
    "revenue_share",
    "minimum_annual_guarantee",
    "fixed_annual_fee",
    "indexation",
    "sales_basis",
    "notes",
    "sources",
    "kind",
    "guarantee_per_asset",
    "fee_per_asset",
    "by_kind",
}
#: The kinds of concession councils sign (see the module docstring).
KINDS = ("council-owned", "operator-funded", "fixed-fee")


@dataclass(frozen=True)
class ConcessionTerms:
    """Validated concession terms; build them with `load_terms` or `ConcessionTerms.flat`.

    Attributes
    ----------
    name
        The terms' ``name``, else the file name (``"concession terms"`` for a dict);
        e.g. ``"flat 50%"`` for `flat` terms.
    currency
        ISO code of every amount (e.g. ``"GBP"``); must match the rate card's.
    bands
        ``((from_0, share_0), (from_1, share_1), ...)``: ascending thresholds of annual net
        sales (currency a year), the first 0, with the council's share in [0, 1] of the
        sales above each.
    minimum_annual_guarantee
        Paid if larger than the revenue share (indexed), in currency a year.
    fixed_annual_fee
        Paid on top every year (indexed), e.g. a site rent, in currency a year.
    indexation
        Yearly uplift of the guarantee and the fee (0.02 for 2%).
    source
        Path of the file read (empty for `flat` terms and terms from a dict).
    notes, sources
        The file's own ``notes`` and ``sources`` (citations), as written.
    kind
        ``"council-owned"``, ``"operator-funded"`` or ``"fixed-fee"`` (`KINDS`).
    guarantee_per_asset, fee_per_asset
        Guarantee and fee per advertising asset in the contract, in currency a year,
        added to ``minimum_annual_guarantee`` and ``fixed_annual_fee`` (indexed alike).
    by_kind
        ``{kind: terms name or path}`` for assets of the other kinds (the ``[by_kind]``
        table); empty when these terms apply to every asset.
    """

    name: str
    currency: str
    bands: tuple[tuple[float, float], ...]
    minimum_annual_guarantee: float = 0.0
    fixed_annual_fee: float = 0.0
    indexation: float = 0.0
    source: str = ""
    notes: str = ""
    sources: tuple[str, ...] = ()
    kind: str = "council-owned"
    guarantee_per_asset: float = 0.0
    fee_per_asset: float = 0.0
    by_kind: dict[str, str] = field(default_factory=dict)

    @classmethod
    def flat(
        cls,
        share: float,
        *,
        currency: str = "GBP",
        minimum_annual_guarantee: float = 0.0,
        fixed_annual_fee: float = 0.0,
        indexation: float = 0.0,
    ) -> ConcessionTerms:
        """Build terms with one revenue share on all sales.

        The values are not checked, unlike a file read by `load_terms`.

        Parameters
        ----------
        share
            The council's share of net sales, in [0, 1] (0.5 for 50%).
        currency
            ISO code of the amounts.
        minimum_annual_guarantee, fixed_annual_fee
            Currency a year, indexed from year 2.
        indexation
            Yearly uplift of the guarantee and the fee (0.02 for 2%).

        Returns
        -------
        ConcessionTerms
            Named e.g. ``"flat 50%"``, with a single band from 0.

        Examples
        --------
        >>> ConcessionTerms.flat(0.5, minimum_annual_guarantee=10_000)
        """
        return cls(
            name=f"flat {share:.0%}",
            currency=currency,
            bands=((0.0, share),),
            minimum_annual_guarantee=minimum_annual_guarantee,
            fixed_annual_fee=fixed_annual_fee,
            indexation=indexation,
        )


def load_terms(
    terms: str | os.PathLike[str] | Mapping[str, Any] | ConcessionTerms,
) -> ConcessionTerms:
    """Read and validate concession terms from a TOML file, a built-in name or a dict.

    Parameters
    ----------
    terms
        A ``.toml`` path; a built-in name (``planner/presets/terms/<name>.toml``), e.g.
        ``"uk-default"`` (60% of the first £250k of net sales, 70% up to £1m, 75% above;
        a £25,000 guarantee; no fee; 2% indexation) or ``"demo"`` (flat 50%, €20k
        guarantee, €5k fee); a dict with the keys of a terms file (see
        `terms_from_dict`). `ConcessionTerms` are returned unchanged.

    Returns
    -------
    ConcessionTerms
        The currency upper-cased; ``source`` is the file read (empty for a dict).

    Raises
    ------
    PricingError
        Naming the file and the key when the file is missing (the message lists the
        bundled names), not TOML, or invalid (see `terms_from_dict`).

    Examples
    --------
    >>> terms = load_terms("uk-default")
    >>> load_terms({"name": "Flat", "currency": "GBP", "revenue_share": 0.5}).bands
    ((0.0, 0.5),)
    """
    if isinstance(terms, ConcessionTerms):
        return terms
    if isinstance(terms, Mapping):
        return terms_from_dict(terms)
    data, path = load_toml(terms, "terms")
    return terms_from_dict(data, source=str(path))


def terms_from_dict(data: Mapping[str, Any], *, source: str = "") -> ConcessionTerms:
    """Validate concession terms given as a dict with the keys of a terms file.

    Parameters
    ----------
    data
        ``currency`` (ISO code, required); ``revenue_share``: a flat share 0-1, or a list
        of bands ``{"from": annual net sales, "share": 0-1}`` whose ``from`` start at 0
        and increase; optional ``name``, ``minimum_annual_guarantee`` and
        ``fixed_annual_fee`` (amounts >= 0 a year, in ``currency``), ``indexation``
        (yearly rate, e.g. 0.02 for 2%), ``sales_basis``, ``notes``, ``sources``.
    source
        Where the terms come from (a file path), named in messages and kept in
        ``ConcessionTerms.source``; ``"concession terms"`` in messages when empty.

    Returns
    -------
    ConcessionTerms
        Named ``data["name"]``, else after the source file.

    Raises
    ------
    PricingError
        Naming the source and the key: an unknown key, a currency that is not a 3-letter
        code, no revenue share, a band without exactly ``from`` and ``share``, a share
        outside 0-1, thresholds not starting at 0 and increasing, a negative or
        non-finite amount, an indexation outside (-0.5, 1).

    Examples
    --------
    >>> terms = terms_from_dict({"name": "Banded", "currency": "EUR", "revenue_share": [
    ...     {"from": 0, "share": 0.5}, {"from": 100_000, "share": 0.6}]})
    >>> council_income(150_000, terms)
    80000.0
    """
    where = Path(source).name if source else "concession terms"
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise PricingError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed "
            f"keys are {', '.join(sorted(_KEYS))}"
        )
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency.strip()) != 3:
        raise PricingError(
            f"{where}: key 'currency' must be an ISO code such as \"GBP\"; got {currency!r}"
        )
    return ConcessionTerms(
        name=str(data.get("name", Path(source).stem if source else "concession terms")),
        currency=currency.strip().upper(),
        bands=_bands(data.get("revenue_share"), where),
        minimum_annual_guarantee=_amount(data, "minimum_annual_guarantee", where),
        fixed_annual_fee=_amount(data, "fixed_annual_fee", where),
        indexation=_indexation(data, where),
        source=source,
        notes=str(data.get("notes", "")).strip(),
        sources=tuple(str(s) for s in data.get("sources", ())),
        kind=_kind(data.get("kind", KINDS[0]), where),
        guarantee_per_asset=_amount(data, "guarantee_per_asset", where),
        fee_per_asset=_amount(data, "fee_per_asset", where),
        by_kind=_by_kind(data.get("by_kind", {}), where),
    )


def _kind(value: Any, where: str) -> str:
    """Check ``kind``: one of `KINDS`."""
    kind = str(value).strip().lower()
    if kind not in KINDS:
        raise PricingError(f"{where}: key 'kind' must be one of {', '.join(KINDS)}; got {value!r}")
    return kind


def _by_kind(value: Any, where: str) -> dict[str, str]:
    """Check ``[by_kind]``: a kind of `KINDS` -> the name or path of its terms."""
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise PricingError(
            f"{where}: [by_kind] must map a kind to terms, e.g. operator-funded = "
            '"uk-operator-funded"'
        )
    return {_kind(k, where): v for k, v in value.items()}


def terms_to_dict(terms: ConcessionTerms) -> dict[str, Any]:
    """Write concession terms as the dict of a terms file (e.g. to store them as JSON).

    Parameters
    ----------
    terms
        The terms.

    Returns
    -------
    dict
        ``name``, ``currency``, ``revenue_share`` (a list of ``{"from", "share"}`` bands),
        ``minimum_annual_guarantee``, ``fixed_annual_fee``, ``indexation``, ``notes`` and
        ``sources``: plain numbers, text and lists, which `terms_from_dict` reads back to
        equal terms (``source`` aside, which is where a file was read, not part of it).

    Examples
    --------
    >>> terms_to_dict(ConcessionTerms.flat(0.5, currency="EUR"))["revenue_share"]
    [{'from': 0.0, 'share': 0.5}]
    """
    return {
        "name": terms.name,
        "currency": terms.currency,
        "revenue_share": [{"from": start, "share": share} for start, share in terms.bands],
        "minimum_annual_guarantee": terms.minimum_annual_guarantee,
        "fixed_annual_fee": terms.fixed_annual_fee,
        "indexation": terms.indexation,
        "notes": terms.notes,
        "sources": list(terms.sources),
        "kind": terms.kind,
        "guarantee_per_asset": terms.guarantee_per_asset,
        "fee_per_asset": terms.fee_per_asset,
        "by_kind": dict(terms.by_kind),
    }


def council_income(
    annual_sales: float | npt.ArrayLike, terms: ConcessionTerms, *, year: int = 1, assets: int = 0
) -> Any:
    """Compute the council's income for a year of the media owner's net sales (module formula).

    Parameters
    ----------
    annual_sales
        Net sales (gross media sold less agency commission) in the terms' currency a year:
        a number or an array of them.
    terms
        The concession terms.
    year
        Contract year, 1 for the first (indexation applies from year 2).
    assets
        Advertising assets in the contract, for ``guarantee_per_asset`` and
        ``fee_per_asset``.

    Returns
    -------
    float or numpy.ndarray
        Income in the terms' currency a year, the same shape as ``annual_sales``.

    Raises
    ------
    PricingError
        When a sales figure is negative or NaN, or ``year`` is below 1.

    Examples
    --------
    >>> terms = ConcessionTerms.flat(0.5, minimum_annual_guarantee=100_000)
    >>> council_income(150_000, terms), council_income(300_000, terms)
    (100000.0, 150000.0)
    """
    parts = income_breakdown(annual_sales, terms, year=year, assets=assets)
    return parts["income"]


def income_breakdown(
    annual_sales: float | npt.ArrayLike, terms: ConcessionTerms, *, year: int = 1, assets: int = 0
) -> dict[str, Any]:
    """Split `council_income` into revenue share, guarantee, fee, and whether it binds.

    Parameters
    ----------
    annual_sales, terms, year, assets
        As for `council_income`.

    Returns
    -------
    dict
        ``revenue_share`` (sum over the marginal bands), ``guarantee`` and ``fixed_fee``
        (indexed to ``year``), ``guarantee_binding`` (the guarantee exceeds the share) and
        ``income`` (``max(guarantee, share) + fee``): floats and a bool for a number,
        arrays shaped like ``annual_sales`` for an array.

    Raises
    ------
    PricingError
        When a sales figure is negative or NaN, or ``year`` is below 1.

    Examples
    --------
    >>> income_breakdown(150_000, ConcessionTerms.flat(0.5, minimum_annual_guarantee=1e5))
    """
    sales = np.asarray(annual_sales, dtype=float)
    if np.isnan(sales).any() or (sales < 0).any():
        raise PricingError(f"annual sales must be numbers >= 0; got {annual_sales!r}")
    if year < 1:
        raise PricingError(f"year must be 1 or more (1 = first contract year); got {year}")
    starts = np.array([b[0] for b in terms.bands])
    shares = np.array([b[1] for b in terms.bands])
    widths = np.append(np.diff(starts), np.inf)
    in_band = np.clip(sales[..., None] - starts, 0.0, widths)
    share = (in_band * shares).sum(axis=-1)
    index = (1 + terms.indexation) ** (year - 1)
    guarantee = (terms.minimum_annual_guarantee + terms.guarantee_per_asset * assets) * index
    fee = (terms.fixed_annual_fee + terms.fee_per_asset * assets) * index
    parts = {
        "revenue_share": share,
        "guarantee": np.full(sales.shape, guarantee),
        "fixed_fee": np.full(sales.shape, fee),
        "guarantee_binding": guarantee > share,
        "income": np.maximum(guarantee, share) + fee,
    }
    if sales.ndim == 0:
        return {k: (bool(v) if k == "guarantee_binding" else float(v)) for k, v in parts.items()}
    return parts


def _bands(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    """Validate ``revenue_share`` (a flat number or a list of bands) into ``(from, share)`` pairs.

    Raises
    ------
    PricingError
        Naming the file and band number when it is missing, a band lacks ``from`` or
        ``share`` or has other keys, ``from`` is negative, ``share`` is outside [0, 1], or
        the thresholds do not start at 0 and strictly increase.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [{"from": 0, "share": value}]
    if not isinstance(value, list) or not value:
        raise PricingError(
            f"{where}: missing key 'revenue_share'. Give a flat share (revenue_share = 0.5) or "
            "bands: [[revenue_share]] tables with 'from' (annual sales) and 'share'"
        )
    bands = []
    for i, band in enumerate(value, start=1):
        place = f"{where}, [[revenue_share]] number {i}"
        if not isinstance(band, dict) or set(band) != {"from", "share"}:
            raise PricingError(f"{place}: needs exactly the keys 'from' and 'share'")
        start, share = band["from"], band["share"]
        if not _number(start) or start < 0:
            raise PricingError(f"{place}: key 'from' must be a number >= 0; got {start!r}")
        if not _number(share) or not 0 <= share <= 1:
            raise PricingError(f"{place}: key 'share' must be in [0, 1]; got {share!r}")
        bands.append((float(start), float(share)))
    starts = [b[0] for b in bands]
    if starts[0] != 0 or any(b <= a for a, b in pairwise(starts)):
        raise PricingError(
            f"{where}: [[revenue_share]] 'from' values must start at 0 and increase; got {starts}"
        )
    return tuple(bands)


def _amount(data: Mapping[str, Any], key: str, where: str) -> float:
    """Return the amount under ``key`` (0 when absent); `PricingError` unless finite and >= 0."""
    value = data.get(key, 0)
    if not _number(value) or value < 0:
        raise PricingError(f"{where}: key '{key}' must be an amount >= 0; got {value!r}")
    return float(value)


def _indexation(data: Mapping[str, Any], where: str) -> float:
    """Return ``indexation`` (0 when absent); `PricingError` unless a number in (-0.5, 1)."""
    value = data.get("indexation", 0)
    if not _number(value) or not -0.5 < value < 1:
        raise PricingError(
            f"{where}: key 'indexation' must be a yearly rate such as 0.02 for 2%; got {value!r}"
        )
    return float(value)


def _number(value: Any) -> bool:
    """Tell whether ``value`` is a finite int or float, not a bool (TOML allows nan and inf)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
