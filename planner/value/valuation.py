"""Valuation: what each asset face is worth a year to an agency and to the council.

Also what a policy puts out of reach. Every figure is a modelled estimate from stated
assumptions (`ValuationAssumptions`, `planner.value.audience.AudienceParams`, the rate card
and the terms), listed by `assumptions_table`; the method, its sources and its checks
against published council figures (Bristol, Newham, Wokingham, Darlington) are in
``docs/valuation.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.errors import PlannerError, PricingError
from planner.geo import project
from planner.presets import preset_names
from planner.value.audience import AudienceParams, estimate_impacts, is_digital, slots_of
from planner.value.concession import (
    KINDS,
    ConcessionTerms,
    income_breakdown,
    load_terms,
    terms_to_dict,
)
from planner.value.environment import EnvironmentParams, classify_environment
from planner.value.rates import (
    RateCard,
    card_for_location,
    load_rate_card,
    outside_card_area,
    price_assets,
)
from planner.value.reach import ReachParams

__all__ = [
    "CATEGORY_SHARE_SOURCES",
    "DEFAULT_CATEGORY_SHARE",
    "SCENARIOS",
    "ValuationAssumptions",
    "assumptions_table",
    "check_currency",
    "policy_value_at_risk",
    "portfolio_summary",
    "value_assets",
]

SCENARIOS = ("low", "central", "high")
ESTIMATE_NOTE = (
    "modelled estimate: audiences, prices and sell-through follow the stated "
    "assumptions (assumptions_table); not audited or measured revenue"
)

#: Share of out-of-home demand (spend) by advertiser category; "general" is the rest.
DEFAULT_CATEGORY_SHARE: dict[str, float] = {
    "hfss": 0.10,
    "alcohol": 0.04,
    "gambling": 0.02,
    "payday_loans": 0.005,
    "tobacco_vaping": 0.01,
    "fossil_fuels": 0.03,
    "political": 0.005,
    "adult": 0.005,
    "general": 0.785,
}

#: Where each default category share comes from (shown in `assumptions_table`).
CATEGORY_SHARE_SOURCES: dict[str, str] = {
    "hfss": "TfL 2016/17: food and drink ~£20m of £142m advertising income (14%), two thirds "
    "of it HFSS (~9%); Brighton & Hove (2023) found fast food and energy drinks almost "
    "a third of its bus-shelter income, so councils' roadside share can be much higher",
    "alcohol": "assumption (drinks are a top-10 OOH category, Nielsen Q1 2016; alcohol a part)",
    "gambling": "assumption (gambling spends mostly on TV and online)",
    "payday_loans": "assumption (small; high-cost credit advertising is rare on street furniture)",
    "tobacco_vaping": "assumption (tobacco advertising banned since 2003; vaping small)",
    "fossil_fuels": "assumption (fossil-fuel producers, airlines and SUVs as in 'fossil ad' "
    "policies)",
    "political": "assumption",
    "adult": "assumption",
    "general": "the remainder, so shares sum to 1",
}


def _a(default: float, doc: str, unit: str = "") -> Any:
    """Declare a dataclass field whose metadata (``doc``, ``unit``) feeds `assumptions_table`."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


@dataclass(frozen=True)
class ValuationAssumptions:
    """Every valuation assumption; ``metadata["doc"]`` of each field says why.

    No public occupancy figure was found, so the sell-through rates are stated
    assumptions (``docs/valuation.md``, section 4).

    Attributes
    ----------
    cycles_per_year
        2-week trading cycles in a year (26).
    sell_through_low, sell_through_central, sell_through_high
        Share of face-cycles (slot-cycles for digital) sold in each scenario: 0.40 (small
        council-sold classic portfolios), 0.60, 0.80 (national networks' occupancy).
    audience_uncertainty
        Relative error ``u`` of modelled audiences (0.30): CPM-priced assets with
        modelled impacts are valued ``x (1 - u)`` low and ``x (1 + u)`` high; fixed
        prices and measured audiences do not move.
    contract_year
        Contract year for the terms' indexation (1 = first year).
    sell_through_by_format
        Scale of the sell-through by format, in (0, 1]; formats not listed sell as
        above. Default d6 and digital_screen 0.8 (assumption, no public occupancy figure:
        a small digital face has six slots to sell every cycle, so it sells less of its
        time than a classic face; d48 and d96 are scarce and sell as classic).

    Raises
    ------
    ValueError
        From ``__post_init__`` unless ``0 <= low <= central <= high <= 1``,
        ``cycles_per_year >= 1``, ``0 <= audience_uncertainty < 1`` and every format
        scale is in (0, 1].

    Examples
    --------
    >>> from dataclasses import replace
    >>> cautious = replace(ValuationAssumptions(), sell_through_central=0.5)
    """

    cycles_per_year: int = _a(26, "2-week trading cycles in a year", "cycles")
    sell_through_low: float = _a(
        0.40,
        "Share of face-cycles (slot-cycles) sold, low case (assumption: small council-sold "
        "classic portfolios)",
    )
    sell_through_central: float = _a(0.60, "Share of face-cycles sold, central case (assumption)")
    sell_through_high: float = _a(
        0.80, "Share of face-cycles sold, high case (assumption: national networks' occupancy)"
    )
    audience_uncertainty: float = _a(
        0.30,
        "Relative error of modelled audiences: CPM-priced assets with modelled impacts "
        "are valued x(1 - u) low and x(1 + u) high",
    )
    contract_year: int = _a(1, "Contract year for the terms' indexation (1 = first year)")
    sell_through_by_format: dict[str, float] = field(
        default_factory=lambda: {"d6": 0.8, "digital_screen": 0.8},
        metadata={
            "doc": "Sell-through scale by format (assumption: small digital faces have six "
            "slots to sell every cycle)",
            "unit": "",
        },
    )

    def __post_init__(self) -> None:
        """Check the ranges; raise `ValueError` saying which condition fails."""
        if not all(0 < v <= 1 for v in self.sell_through_by_format.values()):
            raise ValueError(
                "sell_through_by_format scales must be in (0, 1]; got "
                f"{self.sell_through_by_format}"
            )
        rates = (self.sell_through_low, self.sell_through_central, self.sell_through_high)
        if not 0 <= rates[0] <= rates[1] <= rates[2] <= 1:
            raise ValueError(
                f"sell-through must satisfy 0 <= low <= central <= high <= 1; got {rates}"
            )
        if self.cycles_per_year < 1 or not 0 <= self.audience_uncertainty < 1:
            raise ValueError("cycles_per_year must be >= 1 and audience_uncertainty in [0, 1)")

    def sell_through(self, scenario: str) -> float:
        """Return the sell-through rate of a scenario.

        Parameters
        ----------
        scenario
            ``"low"``, ``"central"`` or ``"high"`` (see `SCENARIOS`).

        Returns
        -------
        float
            Share of face-cycles sold, in [0, 1].

        Examples
        --------
        >>> ValuationAssumptions().sell_through("central")
        0.6
        """
        return float(getattr(self, f"sell_through_{scenario}"))


def value_assets(
    assets: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    transit: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    rate_card: RateCard | str | os.PathLike[str] = "uk-default",
    terms: ConcessionTerms | str | os.PathLike[str] = "uk-default",
    eligibility: pd.DataFrame | None = None,
    params: AudienceParams = AudienceParams(),
    assumptions: ValuationAssumptions = ValuationAssumptions(),
    category_share: dict[str, float] = DEFAULT_CATEGORY_SHARE,
    pricing: str | None = None,
    traffic: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Value every asset a year: audience, price, gross media value, sales, council income.

    Per asset and scenario ``s`` in low/central/high (``docs/valuation.md``, section 4)::

        units              = faces * (slots if digital else 1)
        annual_value_full  = units * price_per_cycle * cycles_per_year    (all sold)
        annual_value_s     = annual_value_full * sell_through_s [* (1 -/+ u) if CPM-priced
                                                                 on modelled impacts]
        expected_sales_s   = annual_value_s * (1 - agency_commission)     (media owner's net)
        council_income_s   = council_income(sum of expected_sales_s) * expected_sales_s / sum

    Council income is computed for the whole portfolio (guarantees and bands are
    portfolio-level) and apportioned by expected sales. With ``eligibility``, two more
    columns give the share of demand the policy puts out of reach at each asset and the
    central annual value that represents.

    Parameters
    ----------
    assets
        Contract assets with ``asset_id`` (``faces``, ``format``, ``digital``, ``slots``,
        optional ``weekly_impacts`` and ``price_per_cycle``), any CRS.
    zones, transit, pois
        Demand zones with ``population``, transit points and points of interest for the
        audience model (see `planner.value.audience.estimate_impacts`).
    rate_card
        A `RateCard`, a bundled name or a path (see `planner.value.rates.load_rate_card`).
    terms
        `ConcessionTerms`, a bundled name or a path; same currency as the rate card.
    eligibility
        Optional ``asset_id, category, allowed`` (and ``rule_ids``) table from
        `planner.policy.eligibility.eligibility`.
    params
        Audience model parameters.
    assumptions
        Cycles a year, sell-through per scenario, audience uncertainty, contract year.
    category_share
        Share of demand of each advertiser category (see `DEFAULT_CATEGORY_SHARE`); the
        shares refused at one asset are added up, capped at 1.
    pricing
        ``"cpt"``: price by audience (cost per thousand impacts, the rate as the floor),
        so that sites rank by worth; ``"rate card"``: every face of a format at its rate
        (flat); None: the card's own choice (``uk-default``: ``"cpt"``). See
        `planner.value.rates.price_assets`.
    traffic
        Road traffic count points with ``aadf`` (`planner.io.traffic.load_traffic_counts`):
        the vehicle audience of roadside formats (48/96-sheet, d48, d96).
    roads
        Motor roads with their OpenStreetMap ``highway`` class
        (`planner.io.roads.load_roads`): roadside faces without a count point nearby take
        the documented flow of their road's class instead (a proxy, labelled
        ``vehicle_source = "modelled (road-class proxy)"``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per asset in EPSG:4326: ``asset_id`` (and ``asset_type``, ``format``, ``name``,
        ``ward`` when present), ``faces``, ``digital``, ``slots``, ``weekly_impacts``,
        ``impacts_source``, ``modelled_impacts`` (impacts a week per face and advertiser),
        ``resident_share`` (modelled share of its passers living within walking distance, for
        `planner.value.reach`), ``vehicle_aadf`` and ``vehicle_source`` (a roadside face's daily
        vehicle flow and whether it is a DfT count or the road-class proxy, both modelled
        audiences), ``price_per_cycle``, ``price_source`` (``"cpt"`` where the audience
        price beats the rate), ``currency``, ``tier``, ``environment`` and ``environment_source``
        (the screen's environment class, from the asset file or modelled from nearby stations and
        points of interest by `planner.value.environment.classify_environment`),
        ``environment_factor`` (the rate card's multiplier of a digital slot's price for it),
        ``annual_value_full`` and per scenario ``annual_value_*``, ``expected_sales_*`` and
        ``council_income_*`` (currency a year, major units); with ``eligibility`` also
        ``demand_share_out_of_reach`` and ``value_out_of_reach_central``. ``status`` (an
        ``unavailable`` asset is in no plan and is valued at 0) and ``uniform_audience`` (True where
        the modelled audience had no demand zones to follow). ``estimate`` labels every row as a
        modelled estimate and ``attrs`` holds the note, the calibration, the rate card and terms
        names, the agency commission, the contract year and ``warnings``: one sentence per figure
        that depends on where the data is (assets outside the rate card's ``area``, naming the card
        to choose; unavailable assets; audiences without demand zones).

    Raises
    ------
    PlannerError
        When ``assets`` has no ``asset_id`` column or a frame has no CRS, ``zones`` has no
        ``population``, or the eligibility table lacks ``asset_id``, ``category`` or
        ``allowed``.
    PricingError
        When the rate card or terms cannot be read, their currencies differ, no rate
        matches an asset, or a CPM rate meets an asset without impacts.

    Examples
    --------
    >>> values = value_assets(assets, zones=zones, rate_card="uk-default", terms="uk-default")
    >>> values[["asset_id", "annual_value_central", "council_income_central"]].head()
    """
    card, deal = check_currency(rate_card, terms)
    deals = terms_by_kind(deal, currency=card.currency)
    warnings = _location_warnings(assets, card)
    impacts = estimate_impacts(
        assets, zones, transit=transit, pois=pois, params=params, traffic=traffic, roads=roads
    )
    environment = classify_environment(assets, transit=transit, pois=pois)
    prices = price_assets(
        assets, impacts, card, pricing=pricing, environment=environment["environment"]
    )
    out = _asset_columns(assets, params)
    audience = ["weekly_impacts", "impacts_source", "modelled_impacts", "resident_share"]
    audience += ["vehicle_aadf", "vehicle_source"]
    out = out.join(impacts[audience])
    out = out.join(prices[["price_per_cycle", "price_source", "currency", "tier"]])
    out = out.join(environment[["environment", "environment_source"]])
    out["environment_factor"] = prices["environment_factor"]
    out["status"], unavailable = _status(assets)
    warnings += _unavailable_warning(out["asset_id"], unavailable)
    out["uniform_audience"], uniform = _uniform_audience(impacts, zones, transit, pois, params)
    warnings += uniform
    # An unavailable asset is in no plan, so it sells nothing.
    units = out["faces"] * np.where(out["digital"], out["slots"], 1) * ~unavailable
    out["annual_value_full"] = units * out["price_per_cycle"] * assumptions.cycles_per_year
    # Only audience prices (CPM, CPT) move with the audience estimate, and only when modelled.
    by_audience = out["price_source"].isin(["cpm", "cpt"])
    uncertain = by_audience & (out["impacts_source"] == "modelled")
    for s, swing in zip(SCENARIOS, (-1, 0, 1), strict=True):
        factor = 1 + swing * assumptions.audience_uncertainty * uncertain.to_numpy()
        sold = assumptions.sell_through(s) * _format_scale(out, assumptions)
        out[f"annual_value_{s}"] = out["annual_value_full"] * sold * factor
    for s in SCENARIOS:
        out[f"expected_sales_{s}"] = out[f"annual_value_{s}"] * (1 - card.agency_commission)
    out["concession"] = concession_kinds(assets, deal, deals)
    out["terms"] = out["concession"].map(lambda k: deals[k].name)
    _council_income(out, deals, ~unavailable, assumptions.contract_year)
    if eligibility is not None:
        share = _blocked_share(out["asset_id"], eligibility, category_share)
        out["demand_share_out_of_reach"] = share
        out["value_out_of_reach_central"] = out["annual_value_central"] * share
    out["estimate"] = "modelled"
    geometry = project(assets.geometry, "EPSG:4326").to_numpy()
    values = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326")
    values.attrs.update(
        note=ESTIMATE_NOTE,
        impacts_note=impacts.attrs.get("note", ""),
        calibration=impacts.attrs.get("calibration"),
        rate_card=card.name,
        terms=deal.name,
        terms_by_kind={k: terms_to_dict(v) for k, v in deals.items()},
        agency_commission=card.agency_commission,
        contract_year=assumptions.contract_year,
        warnings=warnings,
    )
    return values


#: Asset types whose digital screens are operator-funded by default (shelters).
SHELTER_TYPES = frozenset({"bus_shelter", "bus_stop", "shelter", "tram_stop"})


def terms_by_kind(
    terms: ConcessionTerms | str | os.PathLike[str] | Mapping[str, Any],
    *,
    currency: str | None = None,
) -> dict[str, ConcessionTerms]:
    """Load the terms of every kind of concession: these terms and their ``[by_kind]`` ones.

    Parameters
    ----------
    terms
        `ConcessionTerms`, a bundled name, a path or a dict (`planner.load_terms`).
    currency
        When given, every terms must be in it.

    Returns
    -------
    dict
        ``{kind: ConcessionTerms}``: the terms' own kind, and each kind of ``by_kind``
        (``uk-default``: council-owned, operator-funded and fixed-fee).

    Raises
    ------
    PricingError
        When a terms file cannot be read or is in another currency.

    Examples
    --------
    >>> sorted(terms_by_kind("uk-default"))
    ['council-owned', 'fixed-fee', 'operator-funded']
    """
    deal = load_terms(terms)
    deals = {deal.kind: deal}
    for kind, other in deal.by_kind.items():
        deals.setdefault(kind, load_terms(other))
    for kind, found in deals.items():
        if currency is not None and found.currency != currency:
            raise PricingError(
                f"The {kind} terms '{found.name}' are in {found.currency} but the rate card "
                f"is in {currency}; choose terms in the same currency"
            )
    return deals


def concession_kinds(
    assets: pd.DataFrame, deal: ConcessionTerms, deals: Mapping[str, ConcessionTerms]
) -> pd.Series:
    """Tell the kind of concession of every asset.

    From the asset file's ``concession`` column (``council-owned``, ``operator-funded``
    or ``fixed-fee``); else a digital screen on a shelter (``asset_type`` in
    `SHELTER_TYPES`) is operator-funded when the terms have that kind, and anything else
    takes the terms' own kind.

    Parameters
    ----------
    assets
        Contract assets, shape (n_assets,).
    deal
        The terms given (their ``kind`` is the default).
    deals
        Terms of every kind available (`terms_by_kind`).

    Returns
    -------
    pandas.Series
        Kind of each asset, indexed like ``assets``; a kind with no terms in ``deals``
        falls back to ``deal.kind``.

    Raises
    ------
    PlannerError
        When the ``concession`` column holds a value that is not a kind, naming the rows.

    Examples
    --------
    >>> concession_kinds(assets, load_terms("uk-default"), terms_by_kind("uk-default"))
    """
    kinds = pd.Series(deal.kind, index=assets.index, dtype=object)
    types = assets.get("asset_type", pd.Series("", index=assets.index)).astype(str).str.lower()
    shelter_screen = is_digital(assets) & types.isin(SHELTER_TYPES).to_numpy()
    if "operator-funded" in deals:
        kinds[shelter_screen] = "operator-funded"
    if "concession" in assets.columns:
        given = assets["concession"].astype(object).where(assets["concession"].notna(), "")
        given = given.astype(str).str.strip().str.lower()
        bad = ~given.isin(["", *KINDS])
        if bad.any():
            rows = ", ".join(str(i) for i in given.index[bad][:5])
            raise PlannerError(
                f"column 'concession' of the assets has {int(bad.sum())} value(s) that are not "
                f"a kind of concession (rows {rows}); write one of {', '.join(KINDS)}"
            )
        kinds = kinds.where(given == "", given)
    return kinds.where(kinds.isin(list(deals)), deal.kind)


def _format_scale(out: pd.DataFrame, assumptions: ValuationAssumptions) -> np.ndarray:
    """Return each asset's sell-through scale by format (1 for formats not listed)."""
    formats = out.get("format", pd.Series("", index=out.index)).astype(str).str.lower()
    return formats.map(assumptions.sell_through_by_format).fillna(1.0).to_numpy(float)


def _location_warnings(assets: gpd.GeoDataFrame, card: RateCard) -> list[str]:
    """Warn when assets lie outside the rate card's area, naming a card that fits them."""
    outside = outside_card_area(assets, card)
    if not outside.any():
        return []
    ids = assets["asset_id"].astype(str).to_numpy()[outside] if "asset_id" in assets else []
    shown = ", ".join(list(ids)[:5]) + (", ..." if outside.sum() > 5 else "")
    fits = card_for_location(assets[outside])
    choose = (
        f"Choose rate_card='{fits[0]}' (bundled) for them"
        if fits
        else "No bundled rate card covers them: write one for their country (copy "
        "planner/presets/rates/uk-default.toml, set currency, country, area and the "
        "prices) and pass rate_card='<file>.toml'"
    )
    return [
        f"{int(outside.sum())} of {len(assets)} asset(s) ({shown}) lie outside "
        f"{card.country or 'the area'} of rate card '{card.name}', so they are priced in "
        f"{card.currency} at its prices. {choose}, and concession terms in the same currency."
    ]


def _status(assets: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Return each asset's ``status`` (``available`` when absent) and the unavailable mask."""
    status = assets.get("status", pd.Series("available", index=assets.index))
    status = status.fillna("available").astype(str).str.strip().str.lower()
    return status, (status == "unavailable").to_numpy()


def _unavailable_warning(ids: pd.Series, unavailable: np.ndarray) -> list[str]:
    """Say which assets are valued at 0 because their status is ``unavailable``."""
    if not unavailable.any():
        return []
    shown = ", ".join(ids[unavailable].tolist()[:5]) + (", ..." if unavailable.sum() > 5 else "")
    return [
        f"{int(unavailable.sum())} asset(s) have status 'unavailable' ({shown}): they are in "
        "no plan, so their annual value, sales and council income are 0"
    ]


def _uniform_audience(
    impacts: pd.DataFrame,
    zones: gpd.GeoDataFrame | None,
    transit: gpd.GeoDataFrame | None,
    pois: gpd.GeoDataFrame | None,
    params: AudienceParams,
) -> tuple[np.ndarray, list[str]]:
    """Flag modelled audiences made without demand zones: the same residents everywhere."""
    modelled = (impacts["impacts_source"] == "modelled").to_numpy()
    if (zones is not None and len(zones)) or not modelled.any():
        return np.zeros(len(impacts), dtype=bool), []
    others = [
        n
        for n, f in (("transit stops", transit), ("points of interest", pois))
        if f is not None and len(f)
    ]
    apart = "format" + "".join(f", {n}" for n in others)
    residents = (
        f"the same {params.no_zone_weekly_passers:,.0f} residents passing a week "
        "(AudienceParams.no_zone_weekly_passers)"
        if zones is None
        else "no residents at all (the demand zones file has no rows)"
    )
    return modelled, [
        f"No demand zones were given, so every asset's modelled audience counts {residents}: "
        f"impacts and values of {int(modelled.sum())} asset(s) differ only by {apart}, not "
        "by where people live (column 'uniform_audience'). Give demand zones (population "
        "by area, e.g. census LSOAs) for audiences that follow the population"
    ]


def check_currency(
    rate_card: RateCard | str | os.PathLike[str],
    terms: ConcessionTerms | str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[RateCard, ConcessionTerms]:
    """Load a rate card and concession terms and check that they use the same currency.

    Prices come from the rate card and the council's share from the terms, so both must
    be in one currency for the income figures to mean anything.

    Parameters
    ----------
    rate_card
        A `RateCard`, or what `planner.load_rate_card` reads (built-in name or path).
    terms
        `ConcessionTerms`, or what `planner.load_terms` reads (name, path or dict).

    Returns
    -------
    tuple of (RateCard, ConcessionTerms)
        Both, loaded.

    Raises
    ------
    PricingError
        When the currencies differ, naming the rate card, the terms and both currencies;
        or when either cannot be read.

    Examples
    --------
    >>> card, terms = check_currency("demo", "demo")
    >>> card.currency, terms.currency
    ('EUR', 'EUR')
    """
    card, deal = load_rate_card(rate_card), load_terms(terms)
    if card.currency != deal.currency:
        raise PricingError(
            f"The rate card '{card.name}' is in {card.currency} but the concession terms "
            f"'{deal.name}' are in {deal.currency}; choose a rate card and terms in the "
            f"same currency{_cards_in(deal.currency)}"
        )
    return card, deal


def _cards_in(currency: str) -> str:
    """Name the bundled rate cards in ``currency``, as the end of a sentence."""
    names = [n for n in preset_names("rates") if load_rate_card(n).currency == currency]
    listed = " or ".join(f"rate_card='{n}'" for n in names)
    return f" (for these terms: {listed})" if names else ""


def _asset_columns(assets: gpd.GeoDataFrame, params: AudienceParams) -> pd.DataFrame:
    """Return the identifying columns and the units of each asset.

    ``faces`` below 1, missing or not a number count as 1 (fractions rounded down);
    ``digital`` and ``slots`` as in `planner.value.audience`.

    Raises
    ------
    PlannerError
        When ``assets`` has no ``asset_id`` column.
    """
    if "asset_id" not in assets.columns:
        raise PlannerError("'assets' has no 'asset_id' column; load it with load_assets(...)")
    out = pd.DataFrame({"asset_id": assets["asset_id"].astype(str)}, index=assets.index)
    for name in ("asset_type", "format", "name", "ward"):
        if name in assets.columns:
            out[name] = assets[name]
    faces = pd.to_numeric(assets.get("faces", pd.Series(1, index=assets.index)), errors="coerce")
    out["faces"] = np.where(faces >= 1, np.floor(faces), 1).astype(int)
    out["digital"] = is_digital(assets)
    out["slots"] = slots_of(assets, params.default_slots).astype(int)
    return out


def portfolio_summary(
    values: pd.DataFrame, terms: ConcessionTerms | str | os.PathLike[str], *, year: int = 1
) -> dict[str, Any]:
    """Total the portfolio, with council income under the terms on total sales.

    Council income is recomputed from the total expected sales (guarantees and bands
    apply to the whole contract), so it equals the sum of the apportioned
    ``council_income_*`` when ``values`` is the whole portfolio valued with these terms.

    Parameters
    ----------
    values
        Output of `value_assets` (or a subset of its rows).
    terms
        `ConcessionTerms`, a bundled name or a path.
    year
        Contract year for the terms' indexation (1 = first year).

    Returns
    -------
    dict
        ``assets``, ``faces``, ``units`` (faces x slots), ``currency`` (every currency in
        ``values``, comma-joined), ``impacts_measured`` and ``impacts_modelled`` (counts of
        assets), ``annual_value_full``, and per scenario ``annual_value_*``,
        ``expected_sales_*``, ``council_income_*`` (currency a year) and
        ``guarantee_binding_*`` (bool); ``terms`` (their name) and ``note``.

    Raises
    ------
    PricingError
        When the terms cannot be read, or ``year`` is below 1.

    Examples
    --------
    >>> summary = portfolio_summary(values, "uk-default")
    >>> summary["council_income_central"]
    """
    deal = load_terms(terms)
    deals = terms_by_kind(deal)
    kinds = (
        values["concession"].where(values["concession"].isin(list(deals)), deal.kind)
        if "concession" in values.columns
        else pd.Series(deal.kind, index=values.index)
    )
    available = values.get("status", pd.Series("available", index=values.index)) != "unavailable"
    units = values["faces"] * np.where(values["digital"].astype(bool), values["slots"], 1)
    currencies = sorted(set(values["currency"].dropna())) if len(values) else [deal.currency]
    summary: dict[str, Any] = {
        "assets": len(values),
        "faces": int(values["faces"].sum()),
        "units": int(units.sum()),
        "currency": ", ".join(currencies),
        "impacts_measured": int((values["impacts_source"] == "measured").sum()),
        "impacts_modelled": int((values["impacts_source"] == "modelled").sum()),
        "annual_value_full": float(values["annual_value_full"].sum()),
    }
    for s in SCENARIOS:
        sales = float(values[f"expected_sales_{s}"].sum())
        income, binding = 0.0, False
        # One contract per kind present (the terms' own kind for an empty portfolio).
        for kind in sorted(set(kinds)) or [deal.kind]:
            mine = (kinds == kind).to_numpy()
            part = float(values.loc[mine, f"expected_sales_{s}"].sum())
            n = int(available[mine].sum())
            parts = income_breakdown(part, deals[kind], year=year, assets=n)
            income += parts["income"]
            binding = binding or (bool(parts["guarantee_binding"]) and bool(mine.any()))
        summary[f"annual_value_{s}"] = float(values[f"annual_value_{s}"].sum())
        summary[f"expected_sales_{s}"] = sales
        summary[f"council_income_{s}"] = income
        summary[f"guarantee_binding_{s}"] = binding
    summary["terms"] = "; ".join(sorted({deals[k].name for k in set(kinds)} or {deal.name}))
    summary["note"] = ESTIMATE_NOTE
    return summary


def policy_value_at_risk(
    values: pd.DataFrame,
    eligibility: pd.DataFrame,
    policy: Any = None,
    *,
    category_share: dict[str, float] = DEFAULT_CATEGORY_SHARE,
    terms: ConcessionTerms | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Annual value a policy puts out of reach, per category, per rule and in total.

    An asset-category pair that the policy forbids puts ``category_share[category]`` of that
    asset's annual value out of reach (advertisers of that category cannot buy it). This is
    the loss if nobody else buys the space; TfL saw no loss after its 2019 HFSS policy because
    brands advertised compliant products instead, so read it as an upper bound
    (``docs/valuation.md``, section 6: TfL's advertising revenue rose by £2.3m by March
    2020 against up to £13.3m a year it had estimated at risk).

    Parameters
    ----------
    values
        Output of `value_assets`.
    eligibility
        Table with ``asset_id``, ``category``, ``allowed`` (bool), ``reasons`` and
        ``rule_ids`` (``;``-joined).
    policy
        Optional policy; rule names are taken from its ``rules`` (``id`` and ``name``,
        ``title`` or ``description``) when present.
    category_share
        Share of demand of each category (see `DEFAULT_CATEGORY_SHARE`).
    terms
        When given, council income out of reach is recomputed at portfolio level
        (``income(total sales) - income(total sales - sales out of reach)``), so a binding
        guarantee shows no loss; otherwise it is apportioned from ``council_income_*``.

    Returns
    -------
    pandas.DataFrame
        Rows with ``level`` ``"category"``, ``"rule"`` or ``"total"``; ``category``,
        ``rule_id``, ``rule``, ``assets``, ``demand_share``, ``value_out_of_reach_*``,
        ``sales_out_of_reach_*``, ``council_income_out_of_reach_*`` and
        ``share_of_portfolio_value`` (central value out of reach over the portfolio's
        central value). Money is in the values' currency a year. Every rule of
        ``policy`` has a row, with zeros when it refuses nothing (and a policy that
        refuses nothing gives zero rule rows and a zero total, never an error). Rules can
        overlap, so rule rows need not add up to the total. ``estimate`` is ``"modelled"`` and
        ``attrs["note"]`` says it is an upper bound.

    Raises
    ------
    PlannerError
        When the eligibility table lacks ``asset_id``, ``category`` or ``allowed``.
    PricingError
        When ``terms`` cannot be read.

    Examples
    --------
    >>> risk = policy_value_at_risk(values, eligibility, policy, terms="uk-default")
    >>> risk[risk.level == "category"][["category", "value_out_of_reach_central"]]
    """
    deals = terms_by_kind(terms) if terms is not None else None
    kinds = _kinds_of(values, deals)
    blocked = _blocked_pairs(values.assign(concession=kinds), eligibility, category_share)
    year = int(values.attrs.get("contract_year", 1))
    available = values.get("status", pd.Series("available", index=values.index)) != "unavailable"
    contracts = {
        kind: (
            {s: float(values.loc[mine, f"expected_sales_{s}"].sum()) for s in SCENARIOS},
            int(available[mine].sum()),
        )
        for kind, mine in ((k, (kinds == k).to_numpy()) for k in set(kinds))
    }
    portfolio_value = float(values["annual_value_central"].sum())
    money = _MoneyOutOfReach(deals, contracts, year)
    rows = [
        {"level": "category", "category": c, "demand_share": category_share.get(str(c), 0.0)}
        | money(group)
        for c, group in blocked.groupby("category", sort=True)
    ]
    by_rule = blocked.assign(rule_id=blocked["rule_ids"].str.split(";")).explode("rule_id")
    by_rule["rule_id"] = by_rule["rule_id"].fillna("").str.strip()
    labels = _rule_labels(policy)
    groups = {str(k): g for k, g in by_rule[by_rule["rule_id"] != ""].groupby("rule_id", sort=True)}
    # Every rule of the policy gets a row, a zero one when it refuses nothing here.
    for rule_id in sorted(set(groups) | set(labels)):
        # One (asset, category) pair counts once per rule even if the rule is listed twice.
        group = groups.get(rule_id, by_rule.iloc[:0]).drop_duplicates(["asset_id", "category"])
        categories = ";".join(sorted(group["category"].unique()))
        head = {"level": "rule", "category": categories, "rule_id": rule_id}
        rows.append(head | {"rule": labels.get(str(rule_id), "")} | money(group))
    rows.append({"level": "total", "category": "all"} | money(blocked))
    columns = ["level", "category", "rule_id", "rule", "assets", "demand_share"]
    columns += [
        f"{k}_out_of_reach_{s}" for k in ("value", "sales", "council_income") for s in SCENARIOS
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    # object first: with no rule row the columns are all-NaN floats, which refuse text.
    table[["rule_id", "rule"]] = table[["rule_id", "rule"]].astype(object).fillna("").astype(str)
    table["share_of_portfolio_value"] = (
        table["value_out_of_reach_central"] / portfolio_value if portfolio_value > 0 else 0.0
    )
    table["estimate"] = "modelled"
    table.attrs["note"] = (
        "value out of reach if no other advertiser buys the space: an upper "
        "bound on the cost of the policy; rules can overlap. " + ESTIMATE_NOTE
    )
    return table


def assumptions_table(
    assumptions: ValuationAssumptions = ValuationAssumptions(),
    *,
    params: AudienceParams = AudienceParams(),
    rate_card: RateCard | str | os.PathLike[str] | None = None,
    terms: ConcessionTerms | str | os.PathLike[str] | None = None,
    category_share: dict[str, float] = DEFAULT_CATEGORY_SHARE,
    reach: ReachParams = ReachParams(),
) -> pd.DataFrame:
    """List every assumption behind the figures, one row each, for exports and the UI.

    Parameters
    ----------
    assumptions
        Valuation assumptions (group ``valuation``).
    params
        Audience model parameters (group ``audience``; a dict field gives one row per
        key, e.g. ``visibility[d48]``).
    rate_card
        When given, its currency, agency commission and every rate with its source
        (group ``rate card``; unit currency per cycle, or per 1,000 impacts for a CPM).
    terms
        When given, every revenue-share band, the guarantee, the fee and the indexation
        (group ``terms``).
    category_share
        Share of OOH spend by advertiser category (group ``demand share``), described by
        `CATEGORY_SHARE_SOURCES`.
    reach
        Reach-and-frequency model parameters (group ``reach``).

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``name``, ``value``, ``unit`` and ``description`` (meaning and
        source). With ``rate_card``, its pricing, CPTs and environment multipliers (and
        the thresholds that classify environments); with ``terms``, those of every kind of
        concession they name (group ``terms: <kind>``).

    Raises
    ------
    PricingError
        When the rate card or terms cannot be read.

    Examples
    --------
    >>> assumptions_table(rate_card="uk-default", terms="uk-default").head()
    """
    rows = _dataclass_rows("valuation", assumptions) + _dataclass_rows("audience", params)
    rows += _dataclass_rows("reach", reach)
    rows += [
        ("demand share", k, v, "share of OOH spend", CATEGORY_SHARE_SOURCES.get(k, ""))
        for k, v in category_share.items()
    ]
    if rate_card is not None:
        card = load_rate_card(rate_card)
        rows.append(("rate card", "currency", card.currency, "", card.name))
        rows.append(
            (
                "rate card",
                "agency_commission",
                card.agency_commission,
                "share",
                "kept by the buying agency; sales to the media owner are net of it",
            )
        )
        rows += [
            (
                "rate card",
                e.label,
                e.price_per_cycle or e.cpm,
                f"{card.currency}/{'cycle' if e.cpm is None else '1000 impacts'}",
                e.source,
            )
            for e in card.entries
        ]
        pricing = "price = max(rate, CPT x impacts per cycle / 1000)"
        rows.append(("rate card", "pricing", card.pricing, "", pricing))
        rows += [
            ("rate card", f"cpt[{k}]", v, f"{card.currency}/1000 impacts", pricing)
            for k, v in card.cpt.items()
        ]
        rows += [
            (
                "rate card",
                f"environment[{fmt}][{cls}]",
                factor,
                "x digital slot price",
                card.environment_source,
            )
            for fmt, table in card.environment.items()
            for cls, factor in table.items()
        ]
        rows += _dataclass_rows("environment", EnvironmentParams())
    if terms is not None:
        for deal in terms_by_kind(terms).values():
            rows += _terms_rows(deal)
    return pd.DataFrame(rows, columns=["group", "name", "value", "unit", "description"])


def _terms_rows(deal: ConcessionTerms) -> list[tuple[str, str, Any, str, str]]:
    """Return the assumption rows of one kind's terms: bands, guarantees, fees, indexation."""
    group = f"terms: {deal.kind}"
    formula = f"{deal.name}: income = max(guarantee, share of net sales) + fixed fee"
    rows: list[tuple[str, str, Any, str, str]] = [
        (group, f"revenue_share from {start:,.0f}", share, "share", formula)
        for start, share in deal.bands
    ]
    rows += [
        (group, "guarantee_per_asset", deal.guarantee_per_asset, deal.currency, formula),
        (group, "fee_per_asset", deal.fee_per_asset, deal.currency, formula),
    ]
    rows += [
        (group, "minimum_annual_guarantee", deal.minimum_annual_guarantee, deal.currency, formula),
        (group, "fixed_annual_fee", deal.fixed_annual_fee, deal.currency, formula),
        (group, "indexation", deal.indexation, "per year", formula),
    ]
    return rows


def _dataclass_rows(group: str, obj: Any) -> list[tuple[str, str, Any, str, str]]:
    """Return ``(group, name, value, unit, doc)`` per field of ``obj``, one per key of a dict."""
    rows = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        doc, unit = f.metadata.get("doc", ""), f.metadata.get("unit", "")
        if isinstance(value, dict):
            rows += [(group, f"{f.name}[{k}]", v, unit, doc) for k, v in value.items()]
        else:
            rows.append((group, f.name, value, unit, doc))
    return rows


def _council_income(
    out: pd.DataFrame, deals: dict[str, ConcessionTerms], in_contract: np.ndarray, year: int
) -> None:
    """Set ``council_income_*`` of every asset: each kind of concession's income, apportioned.

    Portfolio-level (guarantees and bands apply to a whole contract), so `planner.scale`
    calls it once on a table valued in partitions. ``out`` needs ``concession`` and
    ``expected_sales_*``; ``in_contract`` (bool, shape (n_assets,)) marks the assets that
    count for per-asset guarantees and fees. Changes ``out`` in place.
    """
    for s in SCENARIOS:
        income = np.zeros(len(out))
        for kind, rows in out.groupby("concession").indices.items():
            sales = out[f"expected_sales_{s}"].to_numpy()[rows]
            n = int(in_contract[rows].sum())
            income[rows] = _apportion(sales, deals[str(kind)], year, n)
        out[f"council_income_{s}"] = income


def _apportion(sales: np.ndarray, deal: ConcessionTerms, year: int, assets: int) -> np.ndarray:
    """Share a contract's council income among its assets in proportion to their sales.

    Income is ``council_income(sum(sales), assets=assets)`` (``assets`` counts for the
    per-asset guarantee and fee); with no sales at all (the guarantee and fee still paid)
    it is split equally. ``sales`` has shape (n_assets,); so has the result.
    """
    total = float(sales.sum())
    income = (
        income_breakdown(total, deal, year=year, assets=assets)["income"] if len(sales) else 0.0
    )
    if total <= 0:
        return np.full(len(sales), income / max(len(sales), 1))
    return income * sales / total


def _check_eligibility(eligibility: pd.DataFrame) -> pd.DataFrame:
    """Return a normalised copy: text ids, lower-case categories, bool ``allowed``, ``rule_ids``.

    Raises
    ------
    PlannerError
        When ``asset_id``, ``category`` or ``allowed`` is missing.
    """
    needed = {"asset_id", "category", "allowed"}
    missing = sorted(needed - set(eligibility.columns))
    if missing:
        raise PlannerError(
            f"eligibility table lacks column(s) {', '.join(missing)}; it needs "
            "asset_id, category, allowed, reasons and rule_ids"
        )
    table = eligibility.copy()
    table["asset_id"] = table["asset_id"].astype(str)
    table["category"] = table["category"].astype(str).str.strip().str.lower()
    table["allowed"] = table["allowed"].astype(bool)
    if "rule_ids" not in table.columns:
        table["rule_ids"] = ""
    table["rule_ids"] = table["rule_ids"].fillna("").astype(str)
    return table


def _blocked_share(
    asset_ids: pd.Series, eligibility: pd.DataFrame, category_share: dict[str, float]
) -> np.ndarray:
    """Return each asset's share of demand out of reach: refused categories' shares, summed.

    Capped at 1; 0 for an asset with no refusal. Shape (n_assets,), in ``asset_ids`` order.
    """
    table = _check_eligibility(eligibility)
    blocked = table.loc[~table["allowed"], ["asset_id", "category"]].drop_duplicates()
    # astype(float): mapping an empty text column gives text, which cannot be summed.
    blocked["share"] = blocked["category"].map(category_share).astype(float).fillna(0.0)
    share = blocked.groupby("asset_id")["share"].sum().clip(upper=1.0)
    return asset_ids.map(share).fillna(0.0).to_numpy(dtype=float)


def _blocked_pairs(
    values: pd.DataFrame, eligibility: pd.DataFrame, category_share: dict[str, float]
) -> pd.DataFrame:
    """Return one row per refused (asset, category) pair with the money it puts out of reach.

    The pair's ``annual_value_*``, ``expected_sales_*`` and ``council_income_*`` are the
    asset's, times the category's share of demand; pairs of assets not in ``values`` are
    dropped.
    """
    table = _check_eligibility(eligibility)
    blocked = table.loc[~table["allowed"]].drop_duplicates(["asset_id", "category"])
    columns = [
        f"{kind}_{s}"
        for kind in ("annual_value", "expected_sales", "council_income")
        for s in SCENARIOS
    ]
    frame = pd.DataFrame(values[columns]).assign(asset_id=values["asset_id"].astype(str))
    if "concession" in values.columns:
        frame["concession"] = values["concession"].to_numpy()
    blocked = blocked.merge(frame, on="asset_id", how="inner")
    # astype(float): with nothing refused, mapping the empty text column gives text, and
    # text times money raises a TypeError.
    share = blocked["category"].map(category_share).astype(float).fillna(0.0)
    for name in columns:
        blocked[name] = blocked[name] * share
    return blocked


@dataclass(frozen=True)
class _MoneyOutOfReach:
    """Sums the blocked pairs of a group; council income per contract when terms are given.

    Attributes
    ----------
    deals
        The terms of each kind of concession (`terms_by_kind`), or None to sum the
        apportioned ``council_income_*``.
    contracts
        Per kind: the contract's expected sales per scenario (currency a year) and its
        assets (for per-asset guarantees and fees).
    year
        Contract year for the terms' indexation.
    """

    deals: dict[str, ConcessionTerms] | None
    contracts: dict[str, tuple[dict[str, float], int]]
    year: int

    @property
    def totals(self) -> dict[str, float]:
        """The portfolio's expected sales per scenario, over every contract."""
        return {s: sum(c[0][s] for c in self.contracts.values()) for s in SCENARIOS}

    def __call__(self, group: pd.DataFrame) -> dict[str, Any]:
        """Return ``assets`` and the value, sales and council income out of reach per scenario.

        Sales out of reach are capped at the portfolio's total, so income never goes
        below that of zero sales.
        """
        row: dict[str, Any] = {"assets": int(group["asset_id"].nunique())}
        for s in SCENARIOS:
            sales = min(float(group[f"expected_sales_{s}"].sum()), self.totals[s])
            row[f"value_out_of_reach_{s}"] = float(group[f"annual_value_{s}"].sum())
            row[f"sales_out_of_reach_{s}"] = sales
            row[f"council_income_out_of_reach_{s}"] = self._income(group, s, sales)
        return row

    def _income(self, group: pd.DataFrame, s: str, sales: float) -> float:
        """Return ``income(total) - income(total - sales)`` summed over the group's contracts.

        0 where a contract's guarantee (or fixed fee) binds at its total.
        """
        if self.deals is None:
            return float(group[f"council_income_{s}"].sum())
        lost = 0.0
        for kind, part in group.groupby("concession"):
            totals, n = self.contracts[str(kind)]
            deal = self.deals[str(kind)]
            out = min(float(part[f"expected_sales_{s}"].sum()), totals[s])
            before = income_breakdown(totals[s], deal, year=self.year, assets=n)["income"]
            after = income_breakdown(totals[s] - out, deal, year=self.year, assets=n)["income"]
            lost += before - after
        return lost


def _kinds_of(values: pd.DataFrame, deals: Mapping[str, ConcessionTerms] | None) -> pd.Series:
    """Return each valued asset's kind of concession, one the terms know (or the first)."""
    default = next(iter(deals)) if deals else "council-owned"
    if "concession" not in values.columns:
        return pd.Series(default, index=values.index, dtype=object)
    kinds = values["concession"].astype(object)
    return kinds.where(kinds.isin(list(deals)) if deals else kinds.notna(), default)


def _rule_labels(policy: Any) -> dict[str, str]:
    """Rule id -> a short description (its name, else its type, categories and sites)."""
    labels: dict[str, str] = {}
    for rule in (_get(policy, "rules") if policy is not None else None) or ():
        rule_id = _get(rule, "id")
        label = _get(rule, "name") or _get(rule, "title") or _get(rule, "description")
        if not label:
            near, within = _get(rule, "near"), _get(rule, "within_m")
            label = f"{_get(rule, 'type') or 'rule'}: {', '.join(_get(rule, 'categories') or ())}"
            label += f" within {within:g} m of {', '.join(near)}" if near and within else ""
        if rule_id:
            labels[str(rule_id)] = label
    return labels


def _get(obj: Any, key: str) -> Any:
    """Return ``obj[key]`` for a dict, else the attribute; None when absent."""
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
