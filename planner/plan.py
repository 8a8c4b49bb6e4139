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
from planner.value.concession import ConcessionTerms, income_breakdown
from planner.value.rates import RateCard, load_rate_card

__all__ = [
    "PLACEMENT_COLUMNS",
    "Plan",
    "agency_commission",
    "plan",
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
        Delivery per campaign: faces booked, spend, impacts, reach, budget use.
    status
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE`` or ``UNKNOWN``.
    objective, best_bound, gap
        The (last stage's) objective value, the solver's best bound and the relative gap.
    sales, council_revenue
        Gross sales booked and the council's revenue share of the net sales.
    impacts, reach
        Modelled impacts booked, and reach summed over campaigns (each campaign counts a
        zone's population once, however many of its faces reach it).
    explanation
        Why there is no plan, in words, when there is none.
    notes
        Campaigns left out with ``skip_unplaceable``, and why.
    units_on_offer
        Face-cycles on offer when the plan was made: every available asset's faces (times
        its slots when digital) in each cycle any campaign runs in; 0 when not recorded.
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
        """The audit as a log: one row per rule checked, then one row per violation.

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
        """The best bound and gap in words ("not proven" for a greedy plan)."""
        if not math.isfinite(self.gap):
            return "optimality not proven: the greedy plan, the solver found none in time"
        scope = f" (for the candidates kept; {self.pruned:,} pruned)" if self.pruned else ""
        return f"best bound {self.best_bound:,.0f}, gap {self.gap:.2%}{scope}"

    @property
    def ok(self) -> bool:
        """True when the plan has placements that satisfy every rule."""
        return self.status in ("OPTIMAL", "FEASIBLE")

    def summary(self) -> pd.DataFrame:
        """One-row table of the plan's KPIs (the ``summary`` layer of a plan file)."""
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
                    "reach": self.reach,
                    "seconds": round(self.seconds, 2),
                    "greedy_sales": round(self.greedy.get("revenue", 0.0), 2),
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
    """Least gross sales whose net (after commission) gives the council ``target``.

    The council's revenue from a plan is the terms' revenue share of its net sales (the
    annual guarantee and fee do not depend on the plan); without terms it is all of it.
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
        Demand zones, for reach.
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

    Returns
    -------
    Plan
        Check ``plan.ok``; when False, ``plan.explanation`` says why.

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
        campaigns = parse_campaigns(campaigns, categories=policy.categories)
    if eligibility is None:
        eligibility = compute_eligibility(assets, sites, policy)
    commission = agency_commission(rate_card, values)
    need = required_sales(settings.revenue_target, terms, commission)
    parsed = parse_objective(objective)
    build = {
        "values": values,
        "zones": zones,
        "locked": locked,
        "settings": settings,
        "required_sales": need,
    }
    inst = build_instance(assets, campaigns, policy, eligibility, **build)
    offer = _units_on_offer(assets, campaigns)
    notes: list[str] = []
    if settings.skip_unplaceable:
        found = unplaceable(inst)
        skipped = {c for c, _ in found}
        if skipped:
            notes = [f"Not placed: {message}" for _, message in found]
            campaigns = [c for i, c in enumerate(campaigns) if i not in skipped]
            inst = build_instance(assets, campaigns, policy, eligibility, **build)
    result = solve_instance(inst, parsed, solver=solver, progress=progress)
    currency = currency or _currency(values, terms)
    out = _to_plan(inst, result, assets, values, parsed.label, terms, currency, commission)
    out.notes = notes
    out.units_on_offer = offer
    return out


def _units_on_offer(assets: pd.DataFrame, campaigns: Sequence[Campaign]) -> int:
    """Face-cycles on offer: available assets' faces (times slots if digital) in every cycle
    any campaign runs in."""
    cycles = {t for c in campaigns for t in c.cycles}
    free = assets[assets["status"].astype(str) == "available"]
    digital = free["digital"].to_numpy(dtype=bool)
    faces = free["faces"].to_numpy(dtype=np.int64)
    units = np.where(digital, faces * free["slots"].to_numpy(dtype=np.int64), faces)
    return int(units.sum()) * len(cycles)


def selection_kpis(instance: Instance, chosen: np.ndarray) -> dict[str, float | int]:
    """The KPIs of a set of chosen candidates, measured as a `Plan` measures them.

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
        (modelled, over the plan's cycles) and ``reach`` (people within walking distance
        of a booked face, counted once per campaign and summed over campaigns), as in
        `Plan`.

    Examples
    --------
    >>> inst = build_instance(assets, campaigns, policy, table, values=values, zones=zones)
    >>> selection_kpis(inst, greedy_plan(inst, "reach"))["reach"]
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    reach = reach_by_campaign(instance, chosen)
    return {
        "placements": len(chosen),
        "sales": to_major(instance.cand_price[chosen].sum()),
        "impacts": int(instance.cand_impacts[chosen].sum()),
        "reach": int(sum(v // instance.campaigns[c].priority for c, v in reach.items())),
    }


def _currency(values: pd.DataFrame | None, terms: ConcessionTerms | None) -> str:
    if values is not None and "currency" in values.columns and len(values):
        return str(values["currency"].iloc[0])
    return terms.currency if terms is not None else "GBP"


def _to_plan(
    inst: Instance, result, assets, values, label, terms, currency, commission: float
) -> Plan:
    chosen = result.chosen
    placements = _placements(inst, chosen, assets, values)
    kpis = selection_kpis(inst, chosen)
    revenue = _share(kpis["sales"] * (1 - commission), terms)
    reach = reach_by_campaign(inst, chosen)
    return Plan(
        placements=placements,
        campaigns=_delivery(inst, chosen, reach),
        status=result.status,
        objective_name=label,
        objective=float(result.objective),
        best_bound=float(result.bound),
        gap=float(result.gap),
        sales=kpis["sales"],
        council_revenue=revenue,
        impacts=kpis["impacts"],
        reach=kpis["reach"],
        seconds=result.seconds,
        currency=currency,
        explanation=result.explanation,
        method=result.method,
        greedy={k: (to_major(v) if k == "revenue" else v) for k, v in result.greedy_values.items()},
        pruned=int(getattr(result, "pruned", 0)),
    )


def _placements(inst: Instance, chosen: np.ndarray, assets, values) -> gpd.GeoDataFrame:
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


def _delivery(inst: Instance, chosen: np.ndarray, reach: dict[int, int]) -> pd.DataFrame:
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
                "reach": reach.get(i, 0) // camp.priority,
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
    """What each rule costs: the plan re-solved without it, against the plan with every rule.

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
        One row per rule: ``rule_id``, ``rule_type``, council revenue, sales and reach with
        and without the rule, the difference, and the statuses.

    Examples
    --------
    >>> policy_cost(assets, campaigns, load_policy("healthier-advertising"), sites=sites)
    """
    settings = options.pop("settings", PlanSettings())
    options["settings"] = replace(settings, skip_unplaceable=True)
    base = plan(assets, campaigns, policy, sites=sites, objective=objective, **options)
    rows = []
    for rule in policy.rules:
        other = plan(
            assets, campaigns, policy.without(rule.id), sites=sites, objective=objective, **options
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
    return pd.DataFrame(rows)
