"""Plan placements end to end: from GeoDataFrames and campaigns to a `Plan` with its KPIs.

`plan` prepares the instance, solves it and turns the answer back into tables: which
campaign goes on which asset face in which cycle, delivery per campaign, council revenue,
the objective, the best bound and the gap. `policy_cost` re-plans without each rule.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypedDict, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.campaigns import Campaign, parse_campaigns
from planner.errors import PlannerError
from planner.optimise.instance import Instance, build_instance
from planner.optimise.model import reach_by_campaign
from planner.optimise.money import to_major
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.optimise.solve import parse_objective, solve_instance, unplaceable
from planner.policy.audit import VIOLATION_COLUMNS
from planner.policy.eligibility import eligibility as compute_eligibility
from planner.policy.load import Policy
from planner.policy.sites import check_sites_against_policy
from planner.value.concession import ConcessionTerms, income_breakdown
from planner.value.rates import RateCard, load_rate_card
from planner.value.reach import (
    ReachParams,
    build_catchments,
    campaign_reach,
    campaign_universe,
    reach_curve,
    reach_frequency,
)

__all__ = [
    "PLACEMENT_COLUMNS",
    "Plan",
    "agency_commission",
    "plan",
    "plan_reach_curve",
    "policy_cost",
    "required_sales",
    "selection_kpis",
]

#: The rate card whose commission applies when neither a card nor valued assets give one.
DEFAULT_RATE_CARD = "uk-default"

PLACEMENT_COLUMNS = (
    "asset_id",
    "face",
    "campaign_id",
    "advertiser",
    "cycle",
    "category",
    "price",
    "impacts",
    "impacts_source",
)
ESTIMATE_NOTE = (
    "Impacts and values are modelled estimates unless impacts_source says "
    "'measured'; prices come from the rate card or the asset file."
)


@dataclass
class Plan:
    """A proposed set of placements and how good it is.

    Attributes
    ----------
    placements
        One row per booked face and cycle: `PLACEMENT_COLUMNS` and the asset's point.
    campaigns
        Delivery per campaign: faces booked, spend, impacts, budget use and, with demand
        zones, its modelled reach and frequency (`planner.value.reach.campaign_reach`:
        ``universe``, ``universe_impacts``, ``reach``, ``cover_pct``, ``avg_frequency``,
        ``grps`` and ``reach_<j>plus``).
    status
        ``OPTIMAL`` (proven best), ``FEASIBLE`` (a plan, with its gap), ``INFEASIBLE``
        (no plan exists; ``explanation`` names the rules in conflict) or ``TIME_LIMIT``
        (the solver found no plan in the time allowed: the placements are then the
        construction heuristic's plan when it keeps every rule, see ``fallback``, and
        ``explanation`` says what to change).
    objective_name
        The objective as parsed, e.g. ``revenue>reach``.
    objective, best_bound, gap
        The (last stage's) objective value, the smallest valid upper bound on it for the
        whole problem (see ``bound_source``) and the relative gap; NaN when no valid
        bound is known.
    sales, council_revenue
        Gross sales booked and the council's revenue share of the net sales (after the
        rate card's agency commission), in ``currency`` (major units).
    impacts, reach
        Modelled impacts booked, and the people who see at least one of the plan's ads:
        the plan's reach, de-duplicated across faces and campaigns
        (`planner.value.reach`; 0 without demand zones), never a sum over campaigns.
    seconds
        Wall-clock seconds of the whole solve.
    currency
        ISO code of every amount.
    explanation
        Why there is no plan, in words, when there is none.
    notes
        Campaigns left out with ``skip_unplaceable``, and why.
    method
        What produced the answer: ``cp-sat``, ``pre-check`` (infeasible before any
        search) or ``greedy + repair + local search (the solver found no plan in
        time)``.
    greedy
        The heuristic's objective values (``revenue`` in ``currency``): greedy + repair,
        then local search for revenue or impacts; the solver's starting plan.
    pruned
        Candidates left out by ``SolverSettings.candidates_per_face`` (the solver then
        searched only those kept; the bound still covers the whole problem).
    bound_source
        Where ``best_bound`` comes from: ``cp-sat``, ``lp relaxation``, ``per-campaign
        ceiling`` or ``none``.
    fallback
        True when the placements are the construction heuristic's plan, returned with
        status ``TIME_LIMIT`` because the solver found none in time (it keeps every
        rule).
    reproducible
        True when the same inputs and seed give this same plan on any machine, idle or
        loaded: False with the fast search, or when the deterministic search was cut by
        its wall-clock safety stop.
    units_on_offer
        Face-cycles on offer when the plan was made: every available asset's faces (times
        its slots when digital) in each cycle any campaign runs in; 0 when not recorded.
    universe
        People in every demand zone: the plan's universe (0 without zones).
    avg_frequency, grps
        Impacts per person reached, and ``100 * impacts / universe`` (cover % x
        frequency), for the whole plan; NaN without zones.
    frequency_distribution
        ``{"reach_<j>plus": people who see the plan's ads at least j times}``.
    """

    placements: gpd.GeoDataFrame
    campaigns: pd.DataFrame
    status: str
    objective_name: str
    objective: float
    best_bound: float
    gap: float
    sales: float
    council_revenue: float
    impacts: int
    reach: int
    seconds: float
    currency: str = "GBP"
    explanation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    method: str = "cp-sat"
    greedy: dict[str, float] = field(default_factory=dict)
    pruned: int = 0
    units_on_offer: int = 0
    universe: int = 0
    avg_frequency: float = math.nan
    grps: float = math.nan
    frequency_distribution: dict[str, float] = field(default_factory=dict)
    bound_source: str = "none"
    fallback: bool = False
    reproducible: bool = True

    @property
    def cover_pct(self) -> float:
        """The plan's reach as a percentage of its universe (NaN without zones).

        Examples
        --------
        >>> result.cover_pct  # 14,000 of 22,962 residents see at least one ad
        60.97
        """
        return 100.0 * self.reach / self.universe if self.universe > 0 else math.nan

    @property
    def fill_rate(self) -> float:
        """Share of the face-cycles on offer that the plan books (0-1).

        Booked placements (one per face, or per slot of a digital face, and cycle) over
        `units_on_offer`. NaN when nothing was on offer or the offer was not recorded
        (a plan saved before it was).

        Examples
        --------
        >>> result.fill_rate  # 45 placements of 900 face-cycles on offer
        0.05
        """
        if self.units_on_offer <= 0:
            return math.nan
        return len(self.placements) / self.units_on_offer

    def audit_log(self, policy: Policy, violations: pd.DataFrame | None) -> pd.DataFrame:
        """Return the audit as a log: one row per rule checked, then one per violation.

        Parameters
        ----------
        policy
            The policy the placements were checked against.
        violations
            What `planner.audit` found in these placements (`VIOLATION_COLUMNS`); None
            only when the plan has no placements (nothing to audit).

        Returns
        -------
        pandas.DataFrame
            First one row per rule of ``policy``, in its order: ``rule_id``,
            ``rule_type``, ``result`` (``pass`` or ``fail``), ``violations`` (count) and
            ``placements_checked``; then each violation with ``result`` ``violation``
            and its own columns (``asset_id``, ``campaign_id``, ``cycle``, ``category``,
            ``reason``).

        Raises
        ------
        PlannerError
            When ``violations`` is None but the plan has placements: audit them first.

        Examples
        --------
        >>> found = audit(result.placements, assets, sites, policy)
        >>> result.audit_log(policy, found)[["rule_id", "result", "violations"]]
        """
        if violations is None:
            if len(self.placements):
                raise PlannerError(
                    f"The plan has {len(self.placements):,} placements but no audit was "
                    "given; pass planner.audit(plan.placements, assets, sites, policy)"
                )
            violations = pd.DataFrame(columns=list(VIOLATION_COLUMNS))
        counts = violations["rule_id"].astype(str).value_counts()
        rules = pd.DataFrame(
            {
                "rule_id": [r.id for r in policy.rules],
                "rule_type": [r.type for r in policy.rules],
                "violations": [int(counts.get(r.id, 0)) for r in policy.rules],
            }
        )
        rules.insert(2, "result", np.where(rules["violations"] > 0, "fail", "pass"))
        rules["placements_checked"] = len(self.placements)
        if not len(violations):
            return rules
        found = violations.assign(result="violation")
        return pd.concat([rules, found], ignore_index=True)

    @property
    def bound_text(self) -> str:
        """The best bound, its source and the gap in words ("not proven" without a bound)."""
        if not math.isfinite(self.gap):
            return "optimality not proven: no valid bound"
        return f"best bound {self.best_bound:,.0f} ({self.bound_source}), gap {self.gap:.2%}"

    @property
    def ok(self) -> bool:
        """True when the placements are a plan that satisfies every rule.

        Also for a ``TIME_LIMIT`` plan that is the heuristic's ``fallback``; check
        ``status`` to tell it from a solved plan.
        """
        return self.status in ("OPTIMAL", "FEASIBLE") or self.fallback

    def summary(self) -> pd.DataFrame:
        """Tabulate the plan's KPIs in one row (the ``summary`` layer of a plan file).

        Returns
        -------
        pandas.DataFrame
            ``status``, ``method``, ``objective``, ``objective_value``, ``best_bound``,
            ``gap``, ``sales``, ``council_revenue`` (rounded to 2 decimals), ``currency``,
            ``placements`` (count), ``impacts``, ``universe``, ``reach`` (people, de-
            duplicated), ``cover_pct``, ``avg_frequency``, ``grps``, ``reach_<j>plus``,
            ``reach_estimate`` (``"modelled"``), ``seconds``, ``greedy_sales``,
            ``bound_source``, ``fallback``, ``reproducible``, ``explanation`` and ``note`` (which
            figures are modelled estimates).
        """
        return pd.DataFrame(
            [
                {
                    "status": self.status,
                    "method": self.method,
                    "objective": self.objective_name,
                    "objective_value": self.objective,
                    "best_bound": self.best_bound,
                    "gap": self.gap,
                    "sales": round(self.sales, 2),
                    "council_revenue": round(self.council_revenue, 2),
                    "currency": self.currency,
                    "placements": len(self.placements),
                    "impacts": self.impacts,
                    "universe": self.universe,
                    "reach": self.reach,
                    "cover_pct": self.cover_pct,
                    "avg_frequency": self.avg_frequency,
                    "grps": self.grps,
                    **self.frequency_distribution,
                    "reach_estimate": "modelled",
                    "seconds": round(self.seconds, 2),
                    "greedy_sales": round(self.greedy.get("revenue", 0.0), 2),
                    "bound_source": self.bound_source,
                    "fallback": self.fallback,
                    "reproducible": self.reproducible,
                    "explanation": " ".join(self.explanation),
                    "note": ESTIMATE_NOTE,
                }
            ]
        )


def agency_commission(
    rate_card: RateCard | str | os.PathLike[str] | None, values: pd.DataFrame | None = None
) -> float:
    """Return the agency commission a plan deducts from gross sales: the rate card's.

    The rate card is the one source of the commission (``agency_commission`` in its TOML),
    for the library, the CLI, the app and the demo alike.

    Parameters
    ----------
    rate_card
        A `RateCard`, a preset name or a TOML path; None to use the card recorded by
        `planner.value_assets` (``values.attrs["agency_commission"]``), else the
        ``uk-default`` card (15%, the usual UK media-agency commission).
    values
        A values table from `planner.value_assets`, or None.

    Returns
    -------
    float
        The commission as a share of gross sales, in [0, 1).

    Raises
    ------
    PricingError
        When the rate card cannot be read.
    """
    if rate_card is not None:
        return load_rate_card(rate_card).agency_commission
    if values is not None and "agency_commission" in values.attrs:
        return float(values.attrs["agency_commission"])
    return load_rate_card(DEFAULT_RATE_CARD).agency_commission


def required_sales(target: float, terms: ConcessionTerms | None, commission: float) -> float:
    """Find the least gross sales whose net (after commission) gives the council ``target``.

    The council's revenue from a plan is the terms' revenue share of its net sales (the
    annual guarantee and fee do not depend on the plan); without terms it is all of it.
    The share is monotone in sales, so the answer is found by doubling an upper bound,
    then 80 bisection steps.

    Parameters
    ----------
    target
        Council revenue the plan must earn, in the terms' currency; 0 or less for none.
    terms
        Concession terms (marginal revenue-share bands), or None.
    commission
        Agency commission as a share of gross sales, in [0, 1) (see `agency_commission`).

    Returns
    -------
    float
        Gross sales in currency units (major units); 0.0 without a target.

    Raises
    ------
    PlannerError
        When no sales up to 10^13 reach the target (e.g. every share is 0).

    Examples
    --------
    >>> round(required_sales(5_000, None, 0.15), 2)
    5882.35
    """
    if target <= 0:
        return 0.0
    net_share = 1.0 - commission

    def income(gross: float) -> float:
        return _share(gross * net_share, terms)

    high = max(target / net_share, 1.0)
    while income(high) < target:
        high *= 2
        if high > 1e13:
            raise PlannerError(
                f"A revenue target of {target:,.0f} cannot be reached under these concession terms"
            )
    low = 0.0
    for _ in range(80):
        mid = (low + high) / 2
        low, high = (mid, high) if income(mid) < target else (low, mid)
    return high


def _share(net_sales: float, terms: ConcessionTerms | None) -> float:
    """Return the terms' revenue share of ``net_sales`` (no guarantee or fee); all without terms."""
    if terms is None:
        return net_sales
    return float(income_breakdown(max(net_sales, 0.0), terms)["revenue_share"])


def plan(
    assets: gpd.GeoDataFrame,
    campaigns: Sequence[Campaign] | pd.DataFrame,
    policy: Policy,
    *,
    sites: gpd.GeoDataFrame | None = None,
    eligibility: pd.DataFrame | None = None,
    values: pd.DataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    locked: pd.DataFrame | None = None,
    objective: str = "revenue",
    settings: PlanSettings = PlanSettings(),
    solver: SolverSettings = SolverSettings(),
    terms: ConcessionTerms | None = None,
    rate_card: RateCard | str | os.PathLike[str] | None = None,
    currency: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    reach_params: ReachParams = ReachParams(),
) -> Plan:
    """Propose placements that meet the campaigns, the policy and the revenue target.

    Parameters
    ----------
    assets
        Contract assets.
    campaigns
        Parsed campaigns, or a campaigns table to parse.
    policy
        The ethical-use policy.
    sites
        Sensitive sites (needed unless ``eligibility`` is given).
    eligibility
        A precomputed `planner.eligibility` table.
    values
        Per-asset ``price_per_cycle`` and ``weekly_impacts`` (from `planner.value_assets`);
        the assets' own columns when None.
    zones
        Demand zones with ``population``: for the ``reach`` objective (residents within
        walking distance of a booked face, maximal covering) and for the plan's modelled
        reach and frequency per campaign and in total (`planner.value.reach`). Without
        them reach is 0 and frequency and GRPs are NaN.
    locked
        Placements to keep (``asset_id, campaign_id, cycle``).
    objective
        ``revenue``, ``impacts``, ``reach``, a blend ``revenue=0.7+reach=0.3`` or an
        order ``revenue>reach``.
    settings, solver
        Business and solver settings.
    terms
        Concession terms for council revenue (all net sales when None).
    rate_card
        The rate card whose agency commission turns gross sales into the media owner's net
        sales (a `RateCard`, a preset name or a TOML path). When None, the card recorded
        by `planner.value_assets` in ``values.attrs``, else the ``uk-default`` card; see
        `agency_commission`.
    currency
        Currency label of prices (from ``values`` when it has a ``currency`` column).
    progress
        Called with (fraction done, message).
    reach_params
        Parameters of the reach-and-frequency model (`planner.value.reach.ReachParams`).

    Returns
    -------
    Plan
        Check ``plan.ok``; when False, ``plan.explanation`` says why. No plan is a result,
        never an exception: ``INFEASIBLE`` when none exists, ``TIME_LIMIT`` when none was
        found in time (with the heuristic's valid plan as ``fallback`` when it has one).
        ``plan.notes`` starts with a ``Warning:`` line per exclusion rule that protects
        nothing and for sites nowhere near the assets.

    Raises
    ------
    CampaignError
        When a campaigns table has bad rows or columns (every one named).
    DataValidationError
        When eligibility must be computed and a table lacks a column or a CRS, the
        policy has exclusion rules but no ``sites``, or a site's kind is not one the
        policy knows (checked before anything is solved, values and counts listed).
    PlannerError
        When the objective is not understood, the revenue target cannot be reached under
        the terms, a price is missing, or a locked placement is not possible.
    PricingError
        When ``rate_card`` cannot be read.

    Examples
    --------
    >>> result = plan(assets, campaigns, load_policy("uk-cap-code"), sites=sites,
    ...               values=value_assets(assets, zones=zones), objective="revenue>reach")
    >>> result.summary()
    """
    if not isinstance(campaigns, pd.DataFrame):
        campaigns = list(campaigns)
    if isinstance(campaigns, pd.DataFrame) or not all(isinstance(c, Campaign) for c in campaigns):
        # A table, or rows as dicts (e.g. from a form): check them like a campaigns file.
        rows = cast("pd.DataFrame | list[dict[str, object]]", campaigns)
        campaigns = parse_campaigns(rows, categories=policy.categories)
    # Sites the policy cannot read stop the plan before anything is solved; rules that
    # protect nothing are noted on the plan (eligibility checks its own sites again).
    site_notes = check_sites_against_policy(sites, policy, assets=assets)
    if eligibility is None:
        eligibility = compute_eligibility(assets, sites, policy)
    commission = agency_commission(rate_card, values)
    need = required_sales(settings.revenue_target, terms, commission)
    parsed = parse_objective(objective)
    build = partial(
        build_instance,
        values=values,
        zones=zones,
        locked=locked,
        settings=settings,
        required_sales=need,
    )
    inst = build(assets, campaigns, policy, eligibility)
    offer = _units_on_offer(assets, campaigns)
    notes: list[str] = [f"Warning: {text}" for text in site_notes]
    if settings.skip_unplaceable:
        found = unplaceable(inst)
        skipped = {c for c, _ in found}
        if skipped:
            notes += [f"Not placed: {message}" for _, message in found]
            campaigns = [c for i, c in enumerate(campaigns) if i not in skipped]
            inst = build(assets, campaigns, policy, eligibility)
    result = solve_instance(inst, parsed, solver=solver, progress=progress)
    currency = currency or _currency(values, terms)
    out = _to_plan(inst, result, assets, values, parsed.label, terms, currency, commission)
    out.notes = notes
    out.units_on_offer = offer
    if zones is not None and len(zones):
        _add_reach_frequency(out, assets, zones, values, campaigns, reach_params)
    return out


def _catchments(assets, zones, values, params: ReachParams):
    """Build the assets' catchments, with each asset's resident share from ``values``."""
    share = None
    if values is not None and "resident_share" in values.columns:
        by_id = values.drop_duplicates("asset_id").set_index("asset_id")["resident_share"]
        share = assets["asset_id"].astype(str).map(by_id)
    return build_catchments(assets, zones, resident_share=share, params=params)


def _universes(catch, assets, campaigns: Sequence[Campaign]) -> dict[str, np.ndarray]:
    """Return the zone mask of each campaign with an area (the others use every zone)."""
    wards = assets["ward"].astype(str).str.lower() if "ward" in assets.columns else None
    masks = {}
    for camp in campaigns:
        if camp.area.is_anywhere:
            continue
        in_area = None
        if camp.area.wards and wards is not None:
            in_area = wards.isin({w.lower() for w in camp.area.wards}).to_numpy()
        masks[camp.campaign_id] = campaign_universe(catch, camp.area, in_area=in_area)
    return masks


def _add_reach_frequency(
    result: Plan, assets, zones, values, campaigns: Sequence[Campaign], params: ReachParams
) -> None:
    """Fill the plan's modelled reach and frequency, per campaign and de-duplicated."""
    catch = _catchments(assets, zones, values, params)
    booked = result.placements
    table = campaign_reach(booked, catch, universes=_universes(catch, assets, campaigns))
    delivery = result.campaigns.merge(table, on="campaign_id", how="left")
    # A campaign with nothing booked reaches nobody, out of its universe.
    every = reach_frequency(catch, [], [], params=params).universe
    delivery["universe"] = delivery["universe"].fillna(every)
    filled = [c for c in table.columns if c not in ("campaign_id", "universe")]
    rates = ["cover_pct", "avg_frequency", "grps"]
    delivery[[c for c in filled if c not in rates]] = delivery[
        [c for c in filled if c not in rates]
    ].fillna(0.0)
    delivery["reach_estimate"] = "modelled"
    delivery.attrs["note"] = table.attrs.get("note", "")
    whole = reach_frequency(catch, booked["asset_id"], booked["impacts"], params=params)
    result.campaigns = delivery
    result.universe = round(whole.universe)
    result.reach = round(whole.reach)
    result.avg_frequency = whole.avg_frequency
    result.grps = whole.grps
    result.frequency_distribution = {f"reach_{j}plus": v for j, v in whole.at_least.items()}


def plan_reach_curve(
    result: Plan,
    assets: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    campaign_id: str | None = None,
    campaigns: Sequence[Campaign] = (),
    values: pd.DataFrame | None = None,
    points: int = 20,
    reach_params: ReachParams = ReachParams(),
) -> pd.DataFrame:
    """Trace a campaign's (or the plan's) modelled reach against the faces it books.

    Each booked face (an asset face over the flight, its impacts summed over its cycles)
    is added in order of impacts, largest first, and reach, cover, frequency and GRPs
    are re-estimated (`planner.value.reach.reach_curve`).

    Parameters
    ----------
    result
        The plan.
    assets, zones, values
        As given to `plan` (``values`` for each asset's ``resident_share``).
    campaign_id
        One campaign, or None for the whole plan over every zone.
    campaigns
        The plan's campaigns: a campaign found here with an area is measured over its
        area's residents, any other over every zone.
    points
        Most rows returned.
    reach_params
        Parameters of the reach-and-frequency model.

    Returns
    -------
    pandas.DataFrame
        ``faces``, ``impacts``, ``reach`` (people), ``cover_pct``, ``avg_frequency``
        and ``grps``, modelled.

    Raises
    ------
    PlannerError
        When ``campaign_id`` is not in the plan.

    Examples
    --------
    >>> plan_reach_curve(result, assets, zones, campaign_id="C1", points=10)
    """
    booked = result.placements
    universe = None
    catch = _catchments(assets, zones, values, reach_params)
    if campaign_id is not None:
        if campaign_id not in set(booked["campaign_id"]):
            raise PlannerError(f"Campaign '{campaign_id}' has no placement in this plan")
        booked = booked[booked["campaign_id"] == campaign_id]
        mine = [c for c in campaigns if c.campaign_id == campaign_id]
        universe = _universes(catch, assets, mine).get(campaign_id)
    faces = booked.groupby(["asset_id", "face"], as_index=False)["impacts"].sum()
    # pandas-stubs types this sum as a Series; with as_index=False it is a DataFrame
    faces = faces.sort_values("impacts", ascending=False, kind="stable")  # type: ignore[call-overload]
    return reach_curve(
        catch,
        faces["asset_id"],
        faces["impacts"],
        universe=universe,
        points=points,
        params=reach_params,
    )


def _units_on_offer(assets: pd.DataFrame, campaigns: Sequence[Campaign]) -> int:
    """Count the face-cycles on offer (slot-cycles for digital faces).

    Available assets' faces (times slots if digital) in every cycle any campaign runs in.
    """
    cycles = {t for c in campaigns for t in c.cycles}
    free = assets[assets["status"].astype(str) == "available"]
    digital = free["digital"].to_numpy(dtype=bool)
    faces = free["faces"].to_numpy(dtype=np.int64)
    units = np.where(digital, faces * free["slots"].to_numpy(dtype=np.int64), faces)
    return int(units.sum()) * len(cycles)


class SelectionKPIs(TypedDict):
    """What `selection_kpis` returns: the KPIs of a selection, as a `Plan` has them."""

    placements: int
    sales: float
    impacts: int
    catchment: int


def selection_kpis(instance: Instance, chosen: np.ndarray) -> SelectionKPIs:
    """Measure a set of chosen candidates as a `Plan` measures its placements.

    For comparing any selection (e.g. `planner.greedy_plan`'s) with a solved plan.

    Parameters
    ----------
    instance
        The instance (`planner.build_instance`).
    chosen
        Indices of the chosen candidate placements, shape (k,).

    Returns
    -------
    dict
        ``placements`` (count), ``sales`` (gross, in currency units), ``impacts``
        (modelled, over the plan's cycles), as in `Plan`, and ``catchment``: residents
        within walking distance of a booked face, counted once per campaign and summed
        over campaigns. That is the ``reach`` objective's measure (maximal covering), in
        person-campaigns, not people: `Plan.reach` is the modelled, de-duplicated reach.

    Examples
    --------
    >>> inst = build_instance(assets, campaigns, policy, table, values=values, zones=zones)
    >>> selection_kpis(inst, greedy_plan(inst, "reach"))["catchment"]
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    reach = reach_by_campaign(instance, chosen)
    return {
        "placements": len(chosen),
        "sales": to_major(instance.cand_price[chosen].sum()),
        "impacts": int(instance.cand_impacts[chosen].sum()),
        "catchment": int(sum(v // instance.campaigns[c].priority for c, v in reach.items())),
    }


def _currency(values: pd.DataFrame | None, terms: ConcessionTerms | None) -> str:
    """Return the values' first ``currency``, else the terms' currency, else ``"GBP"``."""
    if values is not None and "currency" in values.columns and len(values):
        return str(values["currency"].iloc[0])
    return terms.currency if terms is not None else "GBP"


def _to_plan(
    inst: Instance, result, assets, values, label, terms, currency, commission: float
) -> Plan:
    """Turn a solve result back into tables and KPIs, with money in major units."""
    chosen = result.chosen
    placements = _placements(inst, chosen, assets, values)
    kpis = selection_kpis(inst, chosen)
    revenue = _share(kpis["sales"] * (1 - commission), terms)
    return Plan(
        placements=placements,
        campaigns=_delivery(inst, chosen),
        status=result.status,
        objective_name=label,
        objective=float(result.objective),
        best_bound=float(result.bound),
        gap=float(result.gap),
        sales=kpis["sales"],
        council_revenue=revenue,
        impacts=kpis["impacts"],
        reach=0,  # the modelled, de-duplicated reach is filled in with demand zones
        seconds=result.seconds,
        currency=currency,
        explanation=result.explanation,
        method=result.method,
        greedy={k: (to_major(v) if k == "revenue" else v) for k, v in result.greedy_values.items()},
        pruned=int(getattr(result, "pruned", 0)),
        bound_source=result.bound_source,
        fallback=result.fallback,
        reproducible=result.reproducible,
    )


def _placements(inst: Instance, chosen: np.ndarray, assets, values) -> gpd.GeoDataFrame:
    """Return one row per chosen candidate, sorted by cycle, asset and campaign.

    Faces are numbered 1, 2, ... in turn on each asset in each cycle, wrapping round the
    asset's faces, so the slots of a digital face share its face number.
    ``impacts_source`` comes from ``values`` (``"modelled"`` when not given).
    """
    a = inst.cand_asset[chosen]
    c = inst.cand_campaign[chosen]
    t = inst.cand_cycle[chosen]
    order = np.lexsort((c, a, t))
    a, c, t, chosen = a[order], c[order], t[order], chosen[order]
    faces = assets["faces"].to_numpy(dtype=np.int64)
    face = np.zeros(len(a), dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    for i, (asset, cycle) in enumerate(zip(a.tolist(), t.tolist(), strict=True)):
        n = seen.get((asset, cycle), 0)
        face[i] = n % faces[asset] + 1
        seen[(asset, cycle)] = n + 1
    source = np.full(len(a), "modelled", dtype=object)
    if values is not None and "impacts_source" in values.columns:
        by_id = values.set_index("asset_id")["impacts_source"]
        source = by_id.reindex(inst.asset_ids[a]).fillna("modelled").to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "asset_id": inst.asset_ids[a],
            "face": face,
            "campaign_id": [inst.campaigns[i].campaign_id for i in c],
            "advertiser": [inst.campaigns[i].advertiser for i in c],
            "cycle": t,
            "category": [inst.campaigns[i].category for i in c],
            "price": to_major(inst.cand_price[chosen]),
            "impacts": inst.cand_impacts[chosen],
            "impacts_source": source,
        }
    )
    geometry = assets.geometry.to_numpy()[a] if len(a) else []
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=assets.crs)


def _delivery(inst: Instance, chosen: np.ndarray) -> pd.DataFrame:
    """Return one row per campaign: faces booked (least and most per cycle), spend, budget use.

    Also its impacts over the flight; reach and frequency are added by
    `_add_reach_frequency` when there are demand zones.
    """
    c = inst.cand_campaign[chosen]
    rows = []
    for i, camp in enumerate(inst.campaigns):
        mine = chosen[c == i]
        spend = to_major(inst.cand_price[mine].sum())
        cycles = inst.cand_cycle[mine]
        per_cycle = np.bincount(cycles, minlength=max(camp.cycles) + 1)[list(camp.cycles)]
        rows.append(
            {
                "campaign_id": camp.campaign_id,
                "advertiser": camp.advertiser,
                "category": camp.category,
                "cycles": len(camp.cycles),
                "faces_booked": len(mine),
                "min_faces_per_cycle": int(per_cycle.min()),
                "max_faces_per_cycle": int(per_cycle.max()),
                "spend": round(spend, 2),
                "budget": camp.budget,
                "budget_used": spend / camp.budget if camp.budget else 0.0,
                "impacts": int(inst.cand_impacts[mine].sum()),
            }
        )
    return pd.DataFrame(rows)


def policy_cost(
    assets: gpd.GeoDataFrame,
    campaigns: Sequence[Campaign] | pd.DataFrame,
    policy: Policy,
    *,
    sites: gpd.GeoDataFrame | None = None,
    objective: str = "revenue",
    **options,
) -> pd.DataFrame:
    """Cost each rule: the plan re-solved without it, against the plan with every rule.

    One solve with the whole policy, then one per rule: (rules + 1) solves in all.

    Parameters
    ----------
    assets, campaigns, policy, sites, objective
        As for `plan`.
    **options
        Further `plan` options (values, zones, settings, solver, terms, ...). Campaigns
        that cannot be placed under a policy are left out (``skip_unplaceable``) so that
        the plans with and without each rule can be compared.

    Returns
    -------
    pandas.DataFrame
        One row per rule (`POLICY_COST_COLUMNS`): ``rule_id``, ``rule_type``,
        ``council_revenue_with`` and ``_without``, ``cost`` (revenue without minus with),
        ``sales_with`` and ``_without``, ``reach_with`` and ``_without`` (modelled people,
        with zones), ``status_with`` and ``_without``, and ``currency``. A ban or
        exclusion rule that refuses nothing is not re-planned: its row costs 0. A policy
        without rules gives no row, with these columns.

    Raises
    ------
    PlannerError
        As for `plan`.

    Examples
    --------
    >>> policy_cost(assets, campaigns, load_policy("healthier-advertising"), sites=sites)
    """
    settings = options.pop("settings", PlanSettings())
    options["settings"] = replace(settings, skip_unplaceable=True)
    table = options.pop("eligibility", None)
    if table is None:
        table = compute_eligibility(assets, sites, policy)
    base = plan(
        assets, campaigns, policy, sites=sites, objective=objective, eligibility=table, **options
    )
    refusing = _refusing_rules(table)
    rows = []
    for rule in policy.rules:
        if rule.type in ("ban", "exclusion") and rule.id not in refusing:
            # It refuses nothing, so the plan without it is the same plan: a zero cost.
            other = base
        else:
            other = plan(
                assets,
                campaigns,
                policy.without(rule.id),
                sites=sites,
                objective=objective,
                **options,
            )
        rows.append(
            {
                "rule_id": rule.id,
                "rule_type": rule.type,
                "council_revenue_with": base.council_revenue,
                "council_revenue_without": other.council_revenue,
                "cost": other.council_revenue - base.council_revenue,
                "sales_with": base.sales,
                "sales_without": other.sales,
                "reach_with": base.reach,
                "reach_without": other.reach,
                "status_with": base.status,
                "status_without": other.status,
                "currency": base.currency,
            }
        )
    return pd.DataFrame(rows, columns=POLICY_COST_COLUMNS)


#: Columns of `policy_cost`, one row per rule (none for a policy without rules).
POLICY_COST_COLUMNS = (
    "rule_id",
    "rule_type",
    "council_revenue_with",
    "council_revenue_without",
    "cost",
    "sales_with",
    "sales_without",
    "reach_with",
    "reach_without",
    "status_with",
    "status_without",
    "currency",
)


def _refusing_rules(table: pd.DataFrame) -> set[str]:
    """Return the ids of the rules that refuse at least one asset-category pair."""
    refused = table.loc[~table["allowed"].astype(bool), "rule_ids"].fillna("").astype(str)
    return {r.strip() for ids in refused for r in ids.split(";") if r.strip()}
