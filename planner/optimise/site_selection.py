"""Site selection (the council's view): which assets to open, and which to convert.

Which assets to open to advertising, and which to convert to digital, to meet a revenue
target with the fewest sites or to earn the most, under the policy's eligibility and
density rules. Values here are annual, in GBP; the model works in pence
(`planner.optimise._siting_model`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import DataValidationError, InfeasibleError, PlannerError, Problem
from planner.geo import metric_crs, project
from planner.optimise._siting_model import (
    Candidates,
    Outcome,
    SiteModel,
    fewest_then_best,
    unreachable,
)
from planner.optimise.money import to_major, to_minor
from planner.optimise.settings import SolverSettings
from planner.policy.eligibility import eligibility
from planner.policy.load import Policy

__all__ = ["SiteSelection", "select_sites"]

#: Site selection's default solver settings: a 10 s deterministic search.
DEFAULT_SOLVER = SolverSettings(time_limit=10.0)

VALUE_COLUMN = "annual_value_central"


@dataclass(frozen=True)
class SiteSelection:
    """Which assets to open and convert, with the proof of quality of the choice.

    Attributes
    ----------
    open
        Asset ids to open to advertising (converted ones included), sorted.
    convert
        Asset ids to convert to digital (a subset of ``open``), sorted.
    annual_value
        Annual value (GBP) of the open assets, conversions' uplift included.
    capex
        Capital cost (GBP) of the conversions.
    objective
        ``"fewest_sites"`` (meet ``revenue_target``) or ``"max_value"``.
    objective_value, bound, gap
        The primary objective (sites for ``fewest_sites``; net annual value, i.e. value
        minus capex spread over ``capex_years``, for ``max_value``), its best proven
        bound and the relative gap between them.
    status
        ``"OPTIMAL"``, ``"FEASIBLE"``, or ``"INFEASIBLE"`` when no selection was found.
    seconds
        Wall-clock seconds spent.
    excluded
        ``asset_id``, ``reason`` for every asset that could not be opened.
    explanation
        Why there is no selection, in words, when there is none (empty otherwise).
    """

    open: tuple[str, ...]
    convert: tuple[str, ...]
    annual_value: float
    capex: float
    objective: str
    objective_value: float
    bound: float
    gap: float
    status: str
    seconds: float
    excluded: pd.DataFrame = field(repr=False)
    explanation: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a selection was found (``status`` is ``OPTIMAL`` or ``FEASIBLE``)."""
        return self.status in ("OPTIMAL", "FEASIBLE")

    @property
    def n_sites(self) -> int:
        """Return the number of assets opened."""
        return len(self.open)


def select_sites(
    values: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    *,
    revenue_target: float | None = None,
    n_sites: int | None = None,
    policy: Policy | None = None,
    sites: gpd.GeoDataFrame | None = None,
    conversion_capex: float | None = None,
    digital_uplift: float | None = None,
    capex_budget: float | None = None,
    capex_years: float = 10.0,
    locked: list[str] | None = None,
    solver: SolverSettings | None = None,
) -> SiteSelection:
    """Choose assets to open (and convert to digital) under the policy's rules.

    With ``revenue_target`` alone: the fewest sites whose annual value meets the target,
    then, among those, the highest net annual value. With ``n_sites`` alone: the highest
    net annual value from at most that many sites. With both: the highest net value from at
    most ``n_sites`` that still meets the target. Net annual value is value minus
    conversion capex spread evenly over ``capex_years``.

    Only available assets eligible for the ``general`` category under ``policy`` can be
    opened. Each density rule is read as `planner.audit` reads it, assuming every face of
    an open asset is booked: for every open asset *a*, the faces of all open assets within
    ``within_m`` of *a* (including *a*'s own) are at most ``max_faces``.

    Parameters
    ----------
    values
        ``asset_id``, ``annual_value_central`` (GBP a year, e.g. from
        `planner.value.valuation.value_assets`); optional ``digital_uplift`` (extra GBP a year
        once converted) and ``conversion_capex`` (GBP) per asset.
    assets
        The asset table (``asset_id``, geometry; ``faces``, ``digital``, ``status``).
    revenue_target
        Annual value (GBP) to reach.
    n_sites
        Most assets to open.
    policy, sites
        The policy, and the sensitive sites its exclusion rules need.
    conversion_capex
        Capex (GBP) per conversion where ``values`` gives none; conversions are
        considered only where a capex is known.
    digital_uplift
        Extra annual value of a converted asset as a fraction of its classic value
        (2.0: it earns three times as much), where ``values`` gives none.
    capex_budget
        Most capex (GBP) to spend on conversions.
    capex_years
        Years over which capex is weighed against annual value.
    locked
        Asset ids that must stay open (existing contracts).
    solver
        CP-SAT settings, as for every optimiser (default: a 10 s limit, 2 workers, seed 0,
        deterministic: time counted in CP-SAT's deterministic seconds, with a wall-clock
        watchdog at twice the limit).

    Returns
    -------
    SiteSelection
        Check ``selection.ok``: when no selection meets the request (the target is out of
        reach under the rules, or locked assets cannot be opened) it is False, ``status``
        is ``INFEASIBLE`` and ``explanation`` says why and how much can be reached; this
        is every optimiser's convention (see `planner.plan`).

    Raises
    ------
    DataValidationError
        Bad values table.
    PlannerError
        Neither ``revenue_target`` nor ``n_sites`` given, ``n_sites`` not a whole number,
        or a conversion capex given without a digital uplift (or the reverse).

    Examples
    --------
    >>> sel = select_sites(values, assets, revenue_target=250_000, policy=policy, sites=sites)
    >>> sel.n_sites, sel.annual_value
    (14, 251200.0)
    """
    started = time.perf_counter()
    if revenue_target is None and n_sites is None:
        raise PlannerError("give a 'revenue_target', an 'n_sites', or both")
    if n_sites is not None and not (isinstance(n_sites, int | np.integer) and n_sites >= 0):
        raise PlannerError(f"'n_sites' must be a whole number, 0 or more; got {n_sites!r}")
    _check_conversion(values, conversion_capex, digital_uplift)
    cand = _candidates(values, assets, policy, sites, conversion_capex, digital_uplift)
    objective = "fewest_sites" if n_sites is None else "max_value"
    try:
        lock = _locked_positions(cand, locked)
    except InfeasibleError as why:
        return _no_selection(cand, objective, why, time.perf_counter() - started)
    target = None if revenue_target is None else to_minor(revenue_target, rounding="up")
    spend = None if capex_budget is None else to_minor(capex_budget, rounding="down")
    model = SiteModel(cand, n_sites, target, spend, capex_years, lock)
    settings = solver if solver is not None else DEFAULT_SOLVER
    if n_sites is None:
        outcome = fewest_then_best(model, settings)
    else:
        outcome = model.solve("max_value", settings)
    if outcome is None:
        unmet = unreachable(cand, model, revenue_target, settings)
        return _no_selection(cand, objective, unmet, time.perf_counter() - started)
    return _selection(cand, outcome, time.perf_counter() - started)


# ---------------------------------------------------------------- candidates


def _check_conversion(values: pd.DataFrame, capex, uplift) -> None:
    """Check that conversions have both a capex and an uplift; one alone is a mistake.

    Raises
    ------
    PlannerError
        When only one of the two is given (as an argument or a ``values`` column).
    """
    has_capex = capex is not None or "conversion_capex" in values.columns
    has_uplift = uplift is not None or "digital_uplift" in values.columns
    if has_capex and not has_uplift:
        raise PlannerError(
            "conversion capex given but no digital uplift: give digital_uplift (extra value "
            "as a fraction, e.g. 1.5) or a 'digital_uplift' column in the values"
        )
    if has_uplift and not has_capex:
        raise PlannerError(
            "digital uplift given but no conversion capex: give conversion_capex (GBP per "
            "conversion) or a 'conversion_capex' column in the values"
        )


def _candidates(values, assets, policy, sites, conversion_capex, digital_uplift) -> Candidates:
    """Return the openable assets in pence, and the reasons the others are excluded.

    An asset is excluded when it has no annual value, is ``unavailable``, is not eligible
    for ``general`` advertising under the policy, or alone has more faces than a density
    rule allows. It is convertible when it is classic, has a known capex and an uplift
    above 0.
    """
    table = _value_table(values)
    frame = assets.assign(asset_id=assets["asset_id"].astype(str)).reset_index(drop=True)
    reasons = pd.Series("", index=frame.index, dtype=object)
    joined = frame[["asset_id"]].merge(table, on="asset_id", how="left")
    faces = _faces(frame)
    flags = [(joined[VALUE_COLUMN].isna().to_numpy(), "no annual value")]
    if "status" in frame.columns:
        flags.append(((frame["status"].astype(str) == "unavailable").to_numpy(), "unavailable"))
    if policy is not None:
        flags.append((_ineligible(frame, sites, policy), "not eligible for general advertising"))
        flags += [
            (faces > r.max_faces, f"{r.id}: more than {r.max_faces} faces")
            for r in policy.densities
        ]
    for mask, text in flags:
        reasons[mask] = np.where(reasons[mask] == "", text, reasons[mask] + "; " + text)
    keep = np.flatnonzero((reasons == "").to_numpy())
    digital = _digital(frame)[keep]
    value = joined[VALUE_COLUMN].to_numpy(dtype=float)[keep]
    uplift = _uplift(joined, keep, value, digital_uplift)
    capex = _column_or(joined, "conversion_capex", keep, conversion_capex)
    convertible = ~digital & np.isfinite(capex) & (uplift > 0)
    excluded = pd.DataFrame({"asset_id": frame["asset_id"], "reason": reasons})
    return Candidates(
        ids=frame["asset_id"].to_numpy(dtype=object)[keep],
        value=to_minor(value),
        uplift=np.where(convertible, to_minor(uplift), 0),
        capex=np.where(convertible, to_minor(capex), 0),
        faces=faces[keep],
        convertible=convertible,
        neighbours=_neighbours(frame.iloc[keep], policy, sites),
        excluded=excluded[excluded["reason"] != ""].reset_index(drop=True),
    )


def _value_table(values: pd.DataFrame) -> pd.DataFrame:
    """Return the values table checked: ids as text, amounts as numbers, one row per asset.

    Raises
    ------
    DataValidationError
        Listing every missing column, amount below 0, annual value missing or not a
        number, and duplicated asset id, by row (first 20 of each).
    """
    problems = [
        Problem("values", "", c, "column is missing", f"Add a '{c}' column")
        for c in ("asset_id", VALUE_COLUMN)
        if c not in values.columns
    ]
    if problems:
        raise DataValidationError("values", problems)
    table = values.assign(asset_id=values["asset_id"].astype(str))
    for col in (VALUE_COLUMN, "digital_uplift", "conversion_capex"):
        if col not in table.columns:
            continue
        num = pd.to_numeric(table[col], errors="coerce")
        bad = np.flatnonzero(((num < 0) | (num.isna() & (col == VALUE_COLUMN))).to_numpy())
        problems += [
            Problem(
                "values",
                f"row {i + 1}",
                col,
                f"{table[col].iloc[i]!r} is not an amount",
                "Give an amount in GBP, 0 or more",
            )
            for i in bad[:20]
        ]
        table[col] = num
    dup = table["asset_id"].duplicated(keep=False).to_numpy()
    problems += [
        Problem(
            "values",
            f"row {i + 1}",
            "asset_id",
            f"asset '{table['asset_id'].iloc[i]}' has more than one row",
            "Keep one row per asset",
        )
        for i in np.flatnonzero(dup)[:20]
    ]
    if problems:
        raise DataValidationError("values", problems)
    cols = [
        c
        for c in ("asset_id", VALUE_COLUMN, "digital_uplift", "conversion_capex")
        if c in table.columns
    ]
    return table[cols]


def _ineligible(frame: gpd.GeoDataFrame, sites, policy: Policy) -> np.ndarray:
    """Return which assets the policy refuses for ``general`` advertising, shape (n,).

    Every asset is refused when the policy has no ``general`` category.
    """
    if "general" not in policy.categories:
        return np.ones(len(frame), dtype=bool)
    table = eligibility(frame, sites, policy)
    general = table[table["category"] == "general"].set_index("asset_id")["allowed"]
    return ~general.reindex(frame["asset_id"]).fillna(False).to_numpy(dtype=bool)


def _faces(frame: pd.DataFrame) -> np.ndarray:
    """Return each asset's faces as an integer, at least 1 (1 when missing)."""
    if "faces" not in frame.columns:
        return np.ones(len(frame), dtype=np.int64)
    faces = pd.to_numeric(frame["faces"], errors="coerce").fillna(1)
    return np.maximum(faces.to_numpy(dtype=float), 1).astype(np.int64)


def _digital(frame: pd.DataFrame) -> np.ndarray:
    """Return whether each asset is already digital (False when unknown)."""
    if "digital" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["digital"].fillna(False).astype(bool).to_numpy()


def _uplift(joined, keep, value, digital_uplift) -> np.ndarray:
    """Return each kept asset's uplift in GBP a year (0 when unknown).

    The ``digital_uplift`` column where given, else ``digital_uplift`` times the asset's
    annual value.
    """
    default = np.full(len(keep), np.nan) if digital_uplift is None else value * digital_uplift
    if "digital_uplift" not in joined.columns:
        return np.nan_to_num(default)
    given = joined["digital_uplift"].to_numpy(dtype=float)[keep]
    return np.nan_to_num(np.where(np.isnan(given), default, given))


def _column_or(joined, column, keep, default) -> np.ndarray:
    """Return ``column`` for the kept assets, ``default`` (or NaN) where it is missing."""
    fallback = np.full(len(keep), np.nan if default is None else float(default))
    if column not in joined.columns:
        return fallback
    given = joined[column].to_numpy(dtype=float)[keep]
    return np.where(np.isnan(given), fallback, given)


def _neighbours(frame: gpd.GeoDataFrame, policy, sites) -> list:
    """Return, per density rule, the candidates within ``within_m`` of each candidate.

    Each list includes the candidate itself. Distances are measured between centroids
    in `planner.geo.metric_crs`, a pair at exactly ``within_m`` counting as within.
    """
    rules = () if policy is None else policy.densities
    if not rules or not len(frame):
        return []
    crs = metric_crs(frame, *([sites] if sites is not None else []))
    points = project(frame.geometry, crs).to_numpy()
    points = shapely.centroid(points)
    tree = shapely.STRtree(points)
    out = []
    for rule in rules:
        a_idx, b_idx = tree.query(points, predicate="dwithin", distance=rule.within_m)
        order = np.lexsort((b_idx, a_idx))
        a_idx, b_idx = a_idx[order], b_idx[order]
        split = np.searchsorted(a_idx, np.arange(1, len(points)))
        out.append((rule, np.split(b_idx, split)))
    return out


def _locked_positions(cand: Candidates, locked) -> np.ndarray:
    """Return the candidate positions of the locked asset ids, sorted.

    Raises
    ------
    InfeasibleError
        When a locked asset cannot be opened, with the reason it was excluded (first 10).
    """
    if not locked:
        return np.zeros(0, dtype=np.int64)
    pos = {a: i for i, a in enumerate(cand.ids)}
    missing = [str(a) for a in locked if str(a) not in pos]
    if missing:
        why = cand.excluded.set_index("asset_id")["reason"]
        detail = "; ".join(f"{a}: {why.get(a, 'not in the assets')}" for a in missing[:10])
        raise InfeasibleError(f"locked assets cannot be opened ({detail})", ["locked"])
    return np.array(sorted(pos[str(a)] for a in locked), dtype=np.int64)


def _no_selection(
    cand: Candidates, objective: str, why: InfeasibleError, seconds: float
) -> SiteSelection:
    """Return the answer when no selection meets the rules: empty, ``INFEASIBLE``, why.

    ``explanation`` is the error's message, then its reasons.
    """
    return SiteSelection(
        open=(),
        convert=(),
        annual_value=0.0,
        capex=0.0,
        objective=objective,
        objective_value=0.0,
        bound=0.0,
        gap=0.0,
        status="INFEASIBLE",
        seconds=seconds,
        excluded=cand.excluded,
        explanation=(str(why), *why.reasons),
    )


def _selection(cand: Candidates, outcome: Outcome, seconds: float) -> SiteSelection:
    """Return the answer for a solved model, money back in GBP.

    For ``fewest_sites`` the gap compares the site count with its bound rounded up (a
    count is whole); the answer is ``OPTIMAL`` when CP-SAT says so or the gap is 0.
    """
    value = to_major(cand.value[outcome.x].sum() + cand.uplift[outcome.convert].sum())
    primary, bound = outcome.objective_value, outcome.bound
    if outcome.objective == "fewest_sites":
        gap = 0.0 if primary <= 0 else max(0.0, (primary - math.ceil(bound - 1e-9)) / primary)
    else:
        gap = 0.0 if bound <= 0 else max(0.0, (bound - primary) / bound)
    return SiteSelection(
        open=tuple(sorted(cand.ids[outcome.x])),
        convert=tuple(sorted(cand.ids[outcome.convert])),
        annual_value=float(value),
        capex=to_major(cand.capex[outcome.convert].sum()),
        objective=outcome.objective,
        objective_value=float(primary),
        bound=float(bound),
        gap=gap,
        status="OPTIMAL" if outcome.status == "OPTIMAL" or gap == 0 else "FEASIBLE",
        seconds=seconds,
        excluded=cand.excluded,
    )
