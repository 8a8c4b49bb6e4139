"""National plans decomposed into regional CP-SAT solves run in parallel as Dask tasks.

The national problem (every campaign's budget, faces per cycle, spacing and competitor
groups over the whole estate) is cut into one sub-problem per region:

- **Master split.** Each campaign's ``max_faces`` per cycle is shared among the regions
  in proportion to the value of its eligible supply there (the sum of the prices of the
  assets it may be booked on: eligible supply x value), one face at a time to the region
  with the highest value per face already given (a divisor method, so the shares are
  whole numbers that add up exactly), never more faces than the region has candidate
  assets. ``min_faces`` is shared the same way, within each region's maximum. The budget
  (in whole pence) first pays for each region's minimum (its cheapest ``min_faces``
  candidates in every cycle), then the rest follows each region's revenue ceiling for its
  share (its best ``max_faces`` prices), by largest remainders, so the regional budgets
  add up to the national one to the penny.
- **Regional solves.** `planner.plan.plan` per region, as Dask tasks (in this process
  without a cluster). A region that cannot meet its share of ``min_faces`` is solved
  again with no minimum; the second pass makes up the difference elsewhere.
- **Second pass** (`planner.scale.border`): spacing and competitor conflicts across region
  borders and policy violations of the merged plan are dropped, shortfalls refilled, and
  the merged plan is re-checked by `planner.audit` and by the campaign rules.
- **Bound.** Regional bounds do not add up to a bound of the national problem (the split
  is fixed, and a different split may do better), so the gap is measured against the
  per-campaign ceiling: no campaign can earn more than its budget, nor more than its best
  ``max_faces`` candidates in each of its cycles (revenue: prices; impacts: impacts times
  priority). It relaxes only the coupling between campaigns (shared faces, separation,
  policy density and share), so it is a valid upper bound of the national optimum. For
  ``revenue`` it is also capped, cycle by cycle, by the best-priced face-units as many as
  the campaigns' ``max_faces`` add up to (shared faces relaxed the other way round); the
  lower of two valid bounds is valid. An LP relaxation of the whole national model would
  be tighter but is as large as the problem the decomposition avoids.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.campaigns import Campaign, parse_campaigns
from planner.errors import PlannerError
from planner.geo import metric_crs, project
from planner.optimise.money import to_major, to_minor
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.plan import Plan, agency_commission, plan
from planner.policy.audit import audit
from planner.policy.load import Policy
from planner.scale.border import (
    MAX_ROUNDS,
    campaign_breaches,
    drop_conflicts,
    drop_policy_violations,
    refill,
)
from planner.scale.cluster import ClusterSettings, run_tasks
from planner.scale.partition import grid_cells
from planner.scale.partitioned import partitioned_eligibility
from planner.scale.supply import Supply, period_blocked
from planner.value.concession import ConcessionTerms, income_breakdown
from planner.value.rates import RateCard

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["OBJECTIVES", "NationalPlan", "national_bound", "plan_national", "region_labels"]

#: Objectives a national plan can be made for (each has a valid per-campaign ceiling).
OBJECTIVES = ("revenue", "impacts")
#: Side of a grid region when the assets carry no region, in kilometres.
DEFAULT_REGION_KM = 100.0


@dataclass
class NationalPlan:
    """A national plan: the merged `Plan`, and how the decomposition made it.

    Attributes
    ----------
    plan
        The merged plan, with the same tables and KPIs as `planner.plan.plan` gives;
        ``best_bound`` and ``gap`` are against the national per-campaign ceiling
        (`national_bound`), ``method`` names the decomposition.
    regions
        One row per region: ``region``, ``assets``, ``campaigns``, ``candidates`` (asset x
        campaign x cycle triples its model could use, an upper count), ``status``,
        ``relaxed`` (solved again without minimum faces), ``placements`` and ``seconds``.
    split
        The master step: ``campaign_id``, ``region``, ``min_faces``, ``max_faces`` and
        ``budget`` (currency units) of each regional share.
    violations
        `planner.audit` of the merged placements (empty when compliant).
    breaches
        Campaign rules the merged plan breaks (`planner.scale.border.campaign_breaches`).
    border
        What the second pass did: ``spacing`` and ``competitors`` conflicts dropped,
        ``policy`` placements dropped after the audit, ``refilled`` faces added.
    seconds_to_first_plan
        Wall-clock seconds until the first valid merged plan.
    """

    plan: Plan
    regions: pd.DataFrame
    split: pd.DataFrame
    violations: pd.DataFrame
    breaches: list[str]
    border: dict[str, int] = field(default_factory=dict)
    seconds_to_first_plan: float = math.nan

    @property
    def ok(self) -> bool:
        """True when the merged plan is audited clean and meets every campaign rule."""
        return self.plan.ok and self.violations.empty and not self.breaches


def region_labels(
    assets: gpd.GeoDataFrame,
    regions: str | Sequence[Any] | pd.Series | None = None,
    *,
    region_km: float = DEFAULT_REGION_KM,
) -> np.ndarray:
    """Return the region of each asset: a column, given labels, or square grid cells.

    Parameters
    ----------
    assets
        The assets, with a CRS.
    regions
        A column name of ``assets`` (e.g. ``"region"``, a TV region or a local
        authority), one label per asset, or None: the ``region`` column when present,
        else cells of a ``region_km`` grid in the metric CRS.
    region_km
        Side of a grid region, in kilometres.

    Returns
    -------
    numpy.ndarray
        Labels as text, shape (n_assets,).

    Raises
    ------
    PlannerError
        When ``regions`` names a column ``assets`` lacks, or has the wrong length.
    """
    if regions is None and "region" in assets.columns:
        regions = "region"
    if isinstance(regions, str):
        if regions not in assets.columns:
            raise PlannerError(
                f"the assets have no '{regions}' column to split the country by; name "
                "another column, or leave it out for a grid of regions"
            )
        return assets[regions].astype(str).to_numpy(dtype=object)
    if regions is not None:
        labels = np.asarray(regions, dtype=object).astype(str)
        if len(labels) != len(assets):
            raise PlannerError(f"{len(labels)} region labels given for {len(assets)} assets")
        return labels.astype(object)
    crs = metric_crs(assets)
    cells = grid_cells(project(assets.geometry, crs).bounds.to_numpy(), region_km * 1000.0)
    out = np.empty(len(assets), dtype=object)
    for cell in cells:
        out[cell.positions] = f"grid {cell.cell[0]},{cell.cell[1]}"
    return out


def plan_national(
    assets: gpd.GeoDataFrame,
    campaigns: Sequence[Campaign] | pd.DataFrame,
    policy: Policy,
    *,
    values: pd.DataFrame,
    sites: gpd.GeoDataFrame | None = None,
    eligibility: pd.DataFrame | None = None,
    regions: str | Sequence[Any] | pd.Series | None = None,
    region_km: float = DEFAULT_REGION_KM,
    objective: str = "revenue",
    settings: PlanSettings = PlanSettings(),
    solver: SolverSettings = SolverSettings(),
    terms: ConcessionTerms | None = None,
    rate_card: RateCard | str | os.PathLike[str] | None = None,
    client: Client | None = None,
    cluster: ClusterSettings = ClusterSettings(),
) -> NationalPlan:
    """Plan national campaigns region by region in parallel, then merge, repair and audit.

    See the module's description for the master split, the second pass and the bound.

    Parameters
    ----------
    assets
        The national assets (as `planner.plan.plan` takes them), with a CRS.
    campaigns
        National and regional campaigns, parsed or as a table.
    policy
        The ethical-use policy.
    values
        ``asset_id``, ``price_per_cycle`` and ``weekly_impacts`` (`planner.value_assets`,
        or `planner.scale.partitioned_value_assets`).
    sites
        Sensitive sites (needed when the policy has exclusion rules: for eligibility when
        it is not given, and for the audit).
    eligibility
        A precomputed eligibility table; computed (partitioned on ``client``) when None.
    regions, region_km
        How the country is cut (`region_labels`).
    objective
        ``revenue`` (gross sales) or ``impacts`` (impacts times priority).
    settings, solver
        Business settings, and the solver settings of each regional solve.
    terms
        Concession terms, for the council revenue of the merged plan.
    rate_card
        The rate card whose agency commission applies (`planner.plan.agency_commission`).
    client
        A `distributed.Client`: regional solves run as its tasks; None solves them one
        after another in this process.
    cluster
        Retries and progress bar.

    Returns
    -------
    NationalPlan
        Check ``ok``: the merged plan audited clean and meeting every campaign rule.

    Raises
    ------
    PlannerError
        When the objective is not ``revenue`` or ``impacts``, a revenue target is set
        (council revenue is not additive over regions: plan it in one process), the
        policy has exclusion rules but no ``sites``, or an asset has no price.
    CampaignError
        When a campaigns table has bad rows.

    Examples
    --------
    >>> with connect(ClusterSettings("local")) as client:
    ...     national = plan_national(assets, campaigns, policy, sites=sites,
    ...                              values=values, client=client)
    >>> national.plan.gap, national.violations.empty
    """
    started = time.perf_counter()
    _check(objective, settings, policy, sites)
    if isinstance(campaigns, pd.DataFrame):
        campaigns = parse_campaigns(campaigns, categories=policy.categories)
    campaigns = list(campaigns)
    if eligibility is None:
        eligibility = partitioned_eligibility(assets, sites, policy, client=client, cluster=cluster)
    assets = assets.reset_index(drop=True)
    region = region_labels(assets, regions, region_km=region_km)
    supply = Supply.build(assets, region, campaigns, eligibility, values)
    split = _split(supply)
    payloads, names = _regional_payloads(assets, supply, split, eligibility, values)
    common: dict[str, Any] = {  # keywords of `_plan_region`, locally or on a worker
        "policy": policy,
        "objective": objective,
        "settings": settings,
        "solver": solver,
        "rate_card": rate_card,
    }
    if client is None:
        solved = [_plan_region(*p, **common) for p in payloads]
    else:
        solved = _largest_first(client, payloads, cluster, common)
    merged = _merge([s["plan"] for s in solved], assets)
    first_plan = time.perf_counter() - started
    merged, border, violations = _second_pass(
        merged, assets, sites, supply, policy, settings, objective, values
    )
    breaches = campaign_breaches(merged, supply, settings.competitor_separation_m)
    regions_table = _regions_table(names, payloads, solved, supply)
    result = _national_plan(
        merged, assets, supply, objective, policy, settings, terms, rate_card, values, violations,
        breaches, time.perf_counter() - started, len(names),
    )  # fmt: skip
    return NationalPlan(
        plan=result,
        regions=regions_table,
        split=_split_table(split, supply),
        violations=violations,
        breaches=breaches,
        border=border,
        seconds_to_first_plan=first_plan,
    )


def _check(objective: str, settings: PlanSettings, policy: Policy, sites) -> None:
    """Refuse what a national plan cannot do, saying what to do instead."""
    if objective not in OBJECTIVES:
        raise PlannerError(
            f"a national plan is made for the objective 'revenue' or 'impacts' (each has a "
            f"valid national bound); got '{objective}'. Plan reach in one process"
        )
    if settings.revenue_target > 0:
        raise PlannerError(
            "a revenue target is not split across regions (council revenue is set by the "
            "terms on total sales); plan it in one process, or leave it out"
        )
    if policy.exclusions and sites is None:
        ids = ", ".join(r.id for r in policy.exclusions)
        raise PlannerError(f"policy '{policy.name}' has exclusion rules ({ids}); give the sites")


# --- master split ---------------------------------------------------------------------------


def _divisor_split(total: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Share ``total`` whole units by ``weights``, at most ``caps`` each (D'Hondt's divisors).

    Each unit goes to the region with the highest ``weight / (given + 1)`` that still has
    room; units nobody has room for are not given.
    """
    out = np.zeros(len(weights), dtype=np.int64)
    w = np.where(caps > 0, weights, 0.0).astype(float)
    for _ in range(int(total)):
        room = out < caps
        if not room.any():
            break
        quotient = np.where(room, w / (out + 1), -1.0)
        best = int(np.argmax(quotient))
        if quotient[best] < 0 or (quotient[best] == 0 and w[room].max() > 0):
            break
        out[best] += 1
    return out


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Share ``total`` whole units in proportion to ``weights`` so that they add up exactly."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    left = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:left]] += 1
    return base


def _split(supply: Supply) -> dict[str, np.ndarray]:
    """Run the master step: each campaign's faces and budget per region (see the module doc)."""
    names = np.array(sorted(set(supply.region.tolist())), dtype=object)
    code = pd.Index(names).get_indexer(supply.region)
    n_c, n_r = len(supply.campaigns), len(names)
    out = {k: np.zeros((n_c, n_r), dtype=np.int64) for k in ("min", "max", "budget")}
    budgets = np.asarray(to_minor([c.budget for c in supply.campaigns]), dtype=np.int64)
    for ci, camp in enumerate(supply.campaigns):
        cand = np.flatnonzero(supply.masks[ci])
        price = supply.price_pence[cand].astype(float)
        count = np.bincount(code[cand], minlength=n_r)
        value = np.bincount(code[cand], weights=price, minlength=n_r)
        out["max"][ci] = _divisor_split(camp.max_faces, value, count)
        out["min"][ci] = _divisor_split(camp.min_faces, value, out["max"][ci])
        ceiling, floor = np.zeros(n_r), np.zeros(n_r, dtype=np.int64)
        for r in np.flatnonzero(out["max"][ci]):
            mine = np.sort(price[code[cand] == r])
            ceiling[r] = mine[::-1][: out["max"][ci][r]].sum()
            floor[r] = int(mine[: out["min"][ci][r]].sum()) * len(camp.cycles)
        budget = int(budgets.reshape(-1)[ci])
        if floor.sum() <= budget:  # each region can pay for its minimum, the rest pro rata
            out["budget"][ci] = floor + _largest_remainder(budget - int(floor.sum()), ceiling)
        else:
            out["budget"][ci] = _largest_remainder(budget, ceiling)
    out["names"] = names
    return out


def _split_table(split: dict[str, np.ndarray], supply: Supply) -> pd.DataFrame:
    """Tabulate the master split, one row per campaign and region it has faces in."""
    rows = []
    for ci, camp in enumerate(supply.campaigns):
        for r, name in enumerate(split["names"]):
            if split["max"][ci, r]:
                rows.append(
                    {
                        "campaign_id": camp.campaign_id,
                        "region": name,
                        "min_faces": int(split["min"][ci, r]),
                        "max_faces": int(split["max"][ci, r]),
                        "budget": float(to_major(int(split["budget"][ci, r]))),
                    }
                )
    return pd.DataFrame(rows, columns=["campaign_id", "region", "min_faces", "max_faces", "budget"])


# --- regional solves ------------------------------------------------------------------------


def _regional_payloads(assets, supply: Supply, split, eligibility, values):
    """One argument tuple per region with campaigns: its assets, shares and tables."""
    ids = pd.Index(supply.asset_ids)
    elig_region = _region_of(supply, ids.get_indexer(eligibility["asset_id"].astype(str)))
    val_region = _region_of(supply, ids.get_indexer(values["asset_id"].astype(str)))
    payloads, names = [], []
    for r, name in enumerate(split["names"]):
        camps = [
            replace(
                camp,
                min_faces=int(split["min"][ci, r]),
                max_faces=int(split["max"][ci, r]),
                budget=float(to_major(int(split["budget"][ci, r]))),
            )
            for ci, camp in enumerate(supply.campaigns)
            if split["max"][ci, r] > 0
        ]
        if not camps:
            continue
        mine = supply.region == name
        payloads.append(
            (
                assets.loc[mine].reset_index(drop=True),
                camps,
                eligibility.loc[elig_region == name].reset_index(drop=True),
                values.loc[val_region == name].reset_index(drop=True),
            )
        )
        names.append(name)
    return payloads, names


def _region_of(supply: Supply, positions: np.ndarray) -> np.ndarray:
    """Region of each row by asset position; rows of unknown assets (-1) belong to none."""
    out = supply.region[np.clip(positions, 0, None)].copy()
    out[positions < 0] = None
    return out


def _largest_first(
    client: Client, payloads: list[tuple], cluster: ClusterSettings, common: dict[str, Any]
) -> list[dict[str, Any]]:
    """Solve the regions on the cluster, the largest queued first; results in region order.

    The plan is done when the last region is: a region as large as London started last
    would keep one worker busy long after the others are idle (at 20,000 assets London's
    region is a fifth of all the solving). Size is assets times campaigns.
    """
    order = sorted(range(len(payloads)), key=lambda i: -len(payloads[i][0]) * len(payloads[i][1]))
    done = run_tasks(client, _plan_region, [payloads[i] for i in order], cluster, **common)
    solved: list[dict[str, Any]] = [{}] * len(payloads)
    for i, result in zip(order, done, strict=True):
        solved[i] = result
    return solved


def _plan_region(
    assets: gpd.GeoDataFrame,
    campaigns: list[Campaign],
    eligibility: pd.DataFrame,
    values: pd.DataFrame,
    *,
    policy: Policy,
    objective: str,
    settings: PlanSettings,
    solver: SolverSettings,
    rate_card: Any,
) -> dict[str, Any]:
    """Solve one region with `planner.plan.plan` (on a worker); again without minimum faces.

    Returns ``{"plan": Plan, "relaxed": bool}``.
    """
    options = {
        "eligibility": eligibility,
        "values": values,
        "objective": objective,
        "settings": settings,
        "solver": solver,
        "rate_card": rate_card,
    }
    result = plan(assets, campaigns, policy, **options)
    relaxed = False
    if not result.ok and any(c.min_faces for c in campaigns):
        relaxed = True
        loose = [replace(c, min_faces=0) for c in campaigns]
        result = plan(assets, loose, policy, **options)
    return {"plan": result, "relaxed": relaxed}


def _merge(plans: list[Plan], assets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Concatenate the regional placements (plain columns; geometry is added at the end)."""
    frames = [pd.DataFrame(p.placements.drop(columns="geometry")) for p in plans if p.ok]
    if not frames:
        return pd.DataFrame(columns=["asset_id", "face", "campaign_id", "advertiser", "cycle",
                                     "category", "price", "impacts", "impacts_source"])  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _regions_table(names, payloads, solved, supply: Supply) -> pd.DataFrame:
    """One row per regional sub-problem: its size, status and time."""
    rows = []
    for name, payload, out in zip(names, payloads, solved, strict=True):
        mine = supply.region == name
        by_id = {c.campaign_id: i for i, c in enumerate(supply.campaigns)}
        candidates = sum(
            int((supply.masks[by_id[c.campaign_id]] & mine).sum()) * len(c.cycles)
            for c in payload[1]
        )
        result = out["plan"]
        rows.append(
            {
                "region": name,
                "assets": len(payload[0]),
                "campaigns": len(payload[1]),
                "candidates": candidates,
                "status": result.status,
                "relaxed": out["relaxed"],
                "placements": len(result.placements),
                "seconds": round(result.seconds, 2),
            }
        )
    return pd.DataFrame(rows)


# --- second pass ----------------------------------------------------------------------------


def _second_pass(merged, assets, sites, supply, policy, settings, objective, values):
    """Drop border conflicts and policy violations, refill shortfalls, audit (module doc)."""
    merged, border = drop_conflicts(merged, supply, settings.competitor_separation_m, objective)
    border = {**border, "policy": 0, "refilled": 0}
    violations = audit(merged, assets, sites, policy, start=settings.start)
    for _ in range(MAX_ROUNDS):
        if violations.empty:
            break
        before = len(merged)
        merged = drop_policy_violations(merged, violations, supply, policy, objective)
        border["policy"] += before - len(merged)
        violations = audit(merged, assets, sites, policy, start=settings.start)
    merged, added = refill(
        merged,
        supply,
        policy,
        separation_m=settings.competitor_separation_m,
        objective=objective,
        start=settings.start,
    )
    border["refilled"] = added
    if added:
        merged = _complete_rows(merged, values)
        violations = audit(merged, assets, sites, policy, start=settings.start)
    return merged, border, violations


def _complete_rows(merged: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Fill the columns of refilled rows: price in currency units, face 1, impacts source."""
    new = merged["price_pence"].notna() if "price_pence" in merged.columns else None
    if new is None or not new.any():
        return merged
    merged.loc[new, "price"] = to_major(merged.loc[new, "price_pence"].to_numpy(dtype=np.int64))
    merged.loc[new, "face"] = 1
    source = values.drop_duplicates("asset_id").set_index("asset_id")
    if "impacts_source" in source.columns:
        merged.loc[new, "impacts_source"] = (
            merged.loc[new, "asset_id"].map(source["impacts_source"]).fillna("modelled")
        )
    return merged.drop(columns="price_pence")


# --- the merged plan ------------------------------------------------------------------------


def national_bound(supply: Supply, objective: str, policy: Policy, start) -> float:
    """Return the per-campaign ceiling: a valid upper bound of the national objective.

    For each campaign, the sum over its cycles (those no period rule blocks) of its best
    ``max_faces`` candidates' values, capped at its budget for ``revenue``; for
    ``impacts`` the impacts times the campaign's priority (the budget is relaxed). Only
    the coupling between campaigns is relaxed, and candidates are a superset of the
    regional models' (`planner.scale.supply`), so no plan, however split, does better.

    Parameters
    ----------
    supply
        The national supply.
    objective
        ``revenue`` or ``impacts``.
    policy
        The policy (period rules).
    start
        First day of cycle 1.

    Returns
    -------
    float
        Currency units for ``revenue``; impacts for ``impacts``.
    """
    total = 0
    for ci, camp in enumerate(supply.campaigns):
        values = np.sort(supply.score(objective)[supply.masks[ci]])[::-1][: camp.max_faces]
        open_cycles = sum(not period_blocked(policy, camp.category, t, start) for t in camp.cycles)
        best = int(values.sum()) * open_cycles
        if objective == "revenue":
            total += min(best, int(to_minor(camp.budget)))
        else:
            total += best * camp.priority
    if objective == "revenue":
        total = min(total, _capacity_ceiling(supply, policy, start))
        return float(to_major(total))
    return float(total)


def _capacity_ceiling(supply: Supply, policy: Policy, start) -> int:
    """Sum over cycles of the best prices of as many face-units as the campaigns may book.

    In a cycle the campaigns book at most the sum of their ``max_faces``, each on one unit
    (a face, or a slot of a digital face) of an asset some campaign may use; no plan
    earns more than the most expensive units of that number. Pence.
    """
    total = 0
    for t in sorted({t for c in supply.campaigns for t in c.cycles}):
        live = [
            ci
            for ci, c in enumerate(supply.campaigns)
            if t in c.cycles and not period_blocked(policy, c.category, t, start)
        ]
        if not live:
            continue
        union = np.logical_or.reduce([supply.masks[ci] for ci in live])
        units = np.repeat(supply.price_pence[union], supply.capacity[union])
        k = sum(supply.campaigns[ci].max_faces for ci in live)
        total += int(np.sort(units)[::-1][:k].sum())
    return total


def _national_plan(
    merged, assets, supply, objective, policy, settings, terms, rate_card, values, violations,
    breaches, seconds, n_regions,
) -> Plan:  # fmt: skip
    """Build the merged `Plan`: placements with points, delivery, KPIs, bound and gap."""
    merged = merged.sort_values(["cycle", "asset_id", "campaign_id"], kind="stable")
    merged = merged.reset_index(drop=True)
    pos = pd.Index(supply.asset_ids).get_indexer(merged["asset_id"].astype(str))
    geometry = assets.geometry.to_numpy()[pos]
    placements = gpd.GeoDataFrame(merged, geometry=list(geometry), crs=assets.crs)
    priority = {c.campaign_id: c.priority for c in supply.campaigns}
    sales = float(placements["price"].sum())
    impacts = int(placements["impacts"].sum())
    if objective == "revenue":
        value = float(to_major(int(to_minor(placements["price"].to_numpy()).sum())))
    else:
        value = float((placements["impacts"] * placements["campaign_id"].map(priority)).sum())
    bound = national_bound(supply, objective, policy, settings.start)
    gap = (bound - value) / bound if bound > 0 else 0.0
    commission = agency_commission(rate_card, values)
    net = sales * (1 - commission)
    revenue = net if terms is None else float(income_breakdown(net, terms)["revenue_share"])
    ok = violations.empty and not breaches
    explanation = [] if ok else [
        "the merged national plan breaks rules the second pass could not repair: "
        + "; ".join([*breaches[:5], *violations["reason"].astype(str).head(5)])
    ]  # fmt: skip
    return Plan(
        placements=placements,
        campaigns=_delivery(placements, supply),
        status="FEASIBLE" if ok else "UNKNOWN",
        objective_name=objective,
        objective=value,
        best_bound=bound,
        gap=gap,
        bound_source="national ceiling: per campaign, and per cycle by face-units"
        if objective == "revenue"
        else "national ceiling per campaign",
        sales=sales,
        council_revenue=revenue,
        impacts=impacts,
        reach=0,
        seconds=seconds,
        currency=str(values["currency"].iloc[0]) if "currency" in values.columns else "GBP",
        explanation=explanation,
        notes=["National plan: reach is not computed (plan reach in one process)."],
        method=f"national: {n_regions} regional CP-SAT solves on Dask + border pass",
    )


def _delivery(placements: pd.DataFrame, supply: Supply) -> pd.DataFrame:
    """One row per campaign: faces booked, least and most per cycle, spend, budget use."""
    rows = []
    region_of = dict(zip(supply.asset_ids, supply.region, strict=True))
    for camp in supply.campaigns:
        mine = placements[placements["campaign_id"] == camp.campaign_id]
        per_cycle = mine.groupby("cycle").size().reindex(list(camp.cycles), fill_value=0)
        spend = float(mine["price"].sum())
        rows.append(
            {
                "campaign_id": camp.campaign_id,
                "advertiser": camp.advertiser,
                "category": camp.category,
                "cycles": len(camp.cycles),
                "faces_booked": len(mine),
                "min_faces_per_cycle": int(per_cycle.min()) if len(per_cycle) else 0,
                "max_faces_per_cycle": int(per_cycle.max()) if len(per_cycle) else 0,
                "spend": round(spend, 2),
                "budget": camp.budget,
                "budget_used": spend / camp.budget if camp.budget else 0.0,
                "impacts": int(mine["impacts"].sum()),
                "regions": int(mine["asset_id"].map(region_of).nunique()),
            }
        )
    return pd.DataFrame(rows)
