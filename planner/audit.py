"""Independent audit: re-check a plan's placements against every rule of a policy.

Deliberately shares no code with `planner.eligibility` beyond the policy and the choice of
metric CRS: distances here come from a plain bounding-box filter and `shapely.distance`
(no spatial index), so a bug in one path shows up as a disagreement with the other.
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.cycles import DEFAULT_START, cycle_dates
from planner.errors import DataValidationError, Problem
from planner.geo import metric_crs
from planner.policy import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
)

__all__ = ["VIOLATION_COLUMNS", "audit"]

VIOLATION_COLUMNS = (
    "rule_id",
    "rule_type",
    "asset_id",
    "campaign_id",
    "cycle",
    "category",
    "reason",
)
# Shares are compared as faces > max_share * total + this, so 0.29 * 100 is not read as 28.999...
_SHARE_EPS = 1e-9


def audit(
    placements: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    policy: Policy,
    *,
    start: date = DEFAULT_START,
) -> pd.DataFrame:
    """Every violation of ``policy`` in a set of placements; empty when compliant.

    Rules are read as follows (the optimiser enforces the same readings):

    - ban: a placement of a banned category on an asset in the rule's scope.
    - exclusion: a placement of a listed category on an asset in scope whose distance to
      a site of a listed kind is at most ``within_m`` (to a polygon's edge, 0 inside).
    - density: in each cycle, for every booked asset *a*, the faces booked on all assets
      within ``within_m`` of *a* (including *a*) must be at most ``max_faces``; one
      violation per offending asset and cycle.
    - share: in each cycle, faces booked for the listed categories divided by all faces
      booked must be at most ``max_share``; one violation per cycle.
    - period: a placement of a listed category in a cycle whose dates
      (`planner.cycles.cycle_dates`) overlap ``start``-``end``.

    Parameters
    ----------
    placements
        ``asset_id``, ``category``, ``cycle``; optional ``campaign_id`` and ``faces``
        (booked faces, default 1).
    assets
        The assets the placements refer to.
    sites
        Sensitive sites; may be None when the policy has no exclusion rule.
    policy
        The policy to check against.
    start
        First day of cycle 1.

    Returns
    -------
    pandas.DataFrame
        Columns `VIOLATION_COLUMNS`, one row per violation, in policy rule order.

    Raises
    ------
    DataValidationError
        When a placement names an unknown asset or category, or a cycle or faces value
        is not a whole number of at least 1.

    Examples
    --------
    >>> audit(plan.placements, assets, sites, load_policy("uk-cap-code")).empty
    True
    """
    _check_inputs(assets, sites, policy)
    book = _bookings(placements, assets, policy)
    info = assets.assign(asset_id=assets["asset_id"].astype(str)).set_index("asset_id")
    book = book.join(
        info[[c for c in ("asset_type", "digital") if c in info.columns]], on="asset_id"
    )
    crs = metric_crs(assets, *([sites] if sites is not None else []))
    geom = info.geometry.to_crs(crs)
    rows: list[dict] = []
    for rule in policy.rules:
        if isinstance(rule, BanRule):
            rows += _ban(book, rule)
        elif isinstance(rule, ExclusionRule):
            rows += _exclusion(book, rule, geom, sites, crs)
        elif isinstance(rule, DensityRule):
            rows += _density(book, rule, geom)
        elif isinstance(rule, ShareRule):
            rows += _share(book, rule)
        elif isinstance(rule, PeriodRule):
            rows += _period(book, rule, start)
    return pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS)).astype({"cycle": "int64"})


def _check_inputs(assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, policy: Policy) -> None:
    frames = [("assets", assets, ("asset_id",))]
    if policy.exclusions:
        frames.append(("sites", sites, ("site_id", "kind")))
    for name, frame, needed in frames:
        if frame is None:
            raise DataValidationError(
                name,
                [
                    Problem(
                        name,
                        "",
                        "",
                        "no table given",
                        "Give the sensitive sites the plan was made with",
                    )
                ],
            )
        problems = [
            Problem(name, "", c, "column is missing", f"Add a '{c}' column")
            for c in needed
            if c not in frame.columns
        ]
        if getattr(frame, "crs", None) is None:
            problems.append(
                Problem(
                    name,
                    "",
                    "geometry",
                    f"'{name}' has no CRS",
                    "Set it with gdf.set_crs('EPSG:4326')",
                )
            )
        if problems:
            raise DataValidationError(name, problems)
    if assets["asset_id"].astype(str).duplicated().any():
        raise DataValidationError(
            "assets",
            [
                Problem(
                    "assets",
                    "",
                    "asset_id",
                    "duplicate asset_id",
                    "Give every asset its own asset_id",
                )
            ],
        )


def _bookings(placements: pd.DataFrame, assets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Validated plain copy of the placements, with ``campaign_id`` and ``faces`` filled."""
    problems = [
        Problem("placements", "", c, "column is missing", f"Add a '{c}' column")
        for c in ("asset_id", "category", "cycle")
        if c not in placements.columns
    ]
    if problems:
        raise DataValidationError("placements", problems)
    book = pd.DataFrame(
        {
            "asset_id": placements["asset_id"].astype(str).to_numpy(),
            "category": placements["category"].astype(str).to_numpy(),
            "campaign_id": (
                placements["campaign_id"].fillna("").astype(str).to_numpy()
                if "campaign_id" in placements.columns
                else ""
            ),
        }
    )
    for col, default in (("cycle", None), ("faces", 1)):
        values = (
            placements[col]
            if col in placements.columns
            else pd.Series(default, index=placements.index)
        )
        book[col], bad = _whole_numbers(values)
        problems += [
            Problem(
                "placements",
                f"row {i + 1}",
                col,
                f"{values.iloc[i]!r} is not a whole number of 1 or more",
                f"Give '{col}' as 1, 2, 3, ...",
            )
            for i in bad[:20]
        ]
    known = set(assets["asset_id"].astype(str))
    for i in np.flatnonzero(~book["asset_id"].isin(known).to_numpy())[:20]:
        problems.append(
            Problem(
                "placements",
                f"row {i + 1}",
                "asset_id",
                f"asset '{book['asset_id'].iloc[i]}' is not in the assets",
                "Use the assets file the plan was made with",
            )
        )
    for i in np.flatnonzero(~book["category"].isin(policy.categories).to_numpy())[:20]:
        problems.append(
            Problem(
                "placements",
                f"row {i + 1}",
                "category",
                f"unknown category '{book['category'].iloc[i]}'",
                f"Use one of: {', '.join(policy.categories)}",
            )
        )
    if problems:
        raise DataValidationError("placements", problems)
    return book


def _whole_numbers(values: pd.Series) -> tuple[np.ndarray, list[int]]:
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(num) & (num >= 1) & (num == np.round(num))
    return np.where(ok, num, 0).astype(np.int64), np.flatnonzero(~ok).tolist()


def _in_scope(book: pd.DataFrame, rule: BanRule | ExclusionRule) -> np.ndarray:
    ok = np.ones(len(book), dtype=bool)
    if rule.asset_types is not None:
        if "asset_type" not in book.columns:
            raise DataValidationError(
                "assets",
                [
                    Problem(
                        "assets",
                        "",
                        "asset_type",
                        "column is missing",
                        f"Rule '{rule.id}' is scoped by asset type",
                    )
                ],
            )
        ok &= book["asset_type"].isin(rule.asset_types).to_numpy(dtype=bool)
    if rule.digital is not None:
        digital = (
            book["digital"] if "digital" in book.columns else pd.Series(False, index=book.index)
        )
        ok &= digital.fillna(False).to_numpy(dtype=bool) == rule.digital
    return ok


def _row(
    rule,
    asset_id: str = "",
    campaign_id: str = "",
    cycle: int = 0,
    category: str = "",
    reason: str = "",
) -> dict:
    return {
        "rule_id": rule.id,
        "rule_type": rule.type,
        "asset_id": asset_id,
        "campaign_id": campaign_id,
        "cycle": cycle,
        "category": category,
        "reason": reason,
    }


def _placement_rows(hit: pd.DataFrame, rule, reasons) -> list[dict]:
    return [
        _row(rule, a, c, int(y), g, r)
        for a, c, y, g, r in zip(
            hit["asset_id"], hit["campaign_id"], hit["cycle"], hit["category"], reasons, strict=True
        )
    ]


def _ban(book: pd.DataFrame, rule: BanRule) -> list[dict]:
    hit = book[book["category"].isin(rule.categories).to_numpy() & _in_scope(book, rule)]
    return _placement_rows(hit, rule, [f"{g} is banned by {rule.id}" for g in hit["category"]])


def _exclusion(book, rule: ExclusionRule, geom: gpd.GeoSeries, sites, crs) -> list[dict]:
    hit = book[book["category"].isin(rule.categories).to_numpy() & _in_scope(book, rule)]
    if hit.empty or sites is None or not len(sites):
        return []
    chosen = sites[sites["kind"].astype(str).isin(rule.near)]
    s_geom = chosen.geometry.to_crs(crs).to_numpy()
    bounds = shapely.bounds(s_geom)
    nearest = {
        a: _nearest_site(geom.loc[a], s_geom, bounds, rule.within_m)
        for a in hit["asset_id"].unique()
    }
    names = (
        chosen["name"].fillna("").astype(str)
        if "name" in chosen.columns
        else chosen["site_id"].astype(str)
    )
    labels = [
        f"{n if n.strip() else s} ({k}, site {s})"
        for n, k, s in zip(
            names, chosen["kind"].astype(str), chosen["site_id"].astype(str), strict=True
        )
    ]
    keep = hit["asset_id"].map(lambda a: nearest[a] is not None).to_numpy(dtype=bool)
    hit = hit[keep]
    reasons = [
        f"{g} within {rule.within_m:g} m of {labels[nearest[a][0]]} at {nearest[a][1]:.0f} m"
        for a, g in zip(hit["asset_id"], hit["category"], strict=True)
    ]
    return _placement_rows(hit, rule, reasons)


def _nearest_site(
    point, s_geom: np.ndarray, bounds: np.ndarray, within_m: float
) -> tuple[int, float] | None:
    """(position, distance) of the nearest site at most ``within_m`` away, or None."""
    x0, y0, x1, y1 = shapely.bounds(point)
    near_box = (
        (bounds[:, 0] - within_m <= x1)
        & (bounds[:, 2] + within_m >= x0)
        & (bounds[:, 1] - within_m <= y1)
        & (bounds[:, 3] + within_m >= y0)
    )
    candidates = np.flatnonzero(near_box)
    if not len(candidates):
        return None
    dist = shapely.distance(point, s_geom[candidates])
    best = int(np.argmin(dist))
    if dist[best] > within_m:
        return None
    return int(candidates[best]), float(dist[best])


def _density(book: pd.DataFrame, rule: DensityRule, geom: gpd.GeoSeries) -> list[dict]:
    rows = []
    for cycle, in_cycle in book.groupby("cycle", sort=True):
        faces = in_cycle.groupby("asset_id", sort=True)["faces"].sum()
        centres = geom.loc[faces.index].centroid
        xy = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
        for i, dist in _distance_rows(xy):
            near = np.flatnonzero(dist <= rule.within_m)
            total = int(faces.to_numpy()[near].sum())
            if total > rule.max_faces:
                others = [faces.index[j] for j in near[np.argsort(dist[near])] if j != i]
                shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                reason = (
                    f"{total} faces booked within {rule.within_m:g} m of {faces.index[i]} "
                    f"(with {shown}); at most {rule.max_faces} allowed"
                )
                rows.append(_row(rule, faces.index[i], cycle=int(cycle), reason=reason))
    return rows


def _distance_rows(xy: np.ndarray, *, block: int = 512):
    """Yield (i, distances from point i to every point), a block of rows at a time."""
    for lo in range(0, len(xy), block):
        part = xy[lo : lo + block]
        dist = np.hypot(part[:, None, 0] - xy[None, :, 0], part[:, None, 1] - xy[None, :, 1])
        yield from ((lo + k, dist[k]) for k in range(len(part)))


def _share(book: pd.DataFrame, rule: ShareRule) -> list[dict]:
    rows = []
    for cycle, in_cycle in book.groupby("cycle", sort=True):
        total = int(in_cycle["faces"].sum())
        taken = int(in_cycle.loc[in_cycle["category"].isin(rule.categories), "faces"].sum())
        if taken > rule.max_share * total + _SHARE_EPS:
            reason = (
                f"{', '.join(rule.categories)} took {taken} of {total} faces "
                f"({taken / total:.0%}) in cycle {cycle}; at most {rule.max_share:.0%} allowed"
            )
            rows.append(
                _row(rule, cycle=int(cycle), category=";".join(rule.categories), reason=reason)
            )
    return rows


def _period(book: pd.DataFrame, rule: PeriodRule, start: date) -> list[dict]:
    hit = book[book["category"].isin(rule.categories).to_numpy()]
    reasons = {}
    for cycle in hit["cycle"].unique():
        first, last = cycle_dates(int(cycle), start)
        if first <= rule.end and last >= rule.start:
            reasons[cycle] = (
                f"cycle {cycle} ({first} to {last}) overlaps {rule.start} to {rule.end}, "
                f"when {', '.join(rule.categories)} may not run"
            )
    hit = hit[hit["cycle"].isin(list(reasons))]
    return _placement_rows(hit, rule, [reasons[c] for c in hit["cycle"]])
