"""Independent audit: re-check a plan's placements against every rule of a policy.

Deliberately shares no code with `planner.policy.eligibility` beyond the policy and the
choice of metric CRS: distances here come from a plain bounding-box filter and `shapely.distance`
(no spatial index), so a bug in one path shows up as a disagreement with the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.calendar import DEFAULT_START, cycle_dates
from planner.errors import DataValidationError, Problem
from planner.geo import metric_crs, project
from planner.policy.load import BanRule, DensityRule, ExclusionRule, PeriodRule, Policy, ShareRule
from planner.policy.rules import DISTANCE_TOLERANCE_M

__all__ = ["VIOLATION_COLUMNS", "audit"]

#: Columns of the table `audit` returns, in order.
VIOLATION_COLUMNS = (
    "rule_id", "rule_type", "asset_id", "campaign_id", "cycle", "category", "reason",
)  # fmt: skip
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
    """List every violation of ``policy`` in a set of placements; empty when compliant.

    Rules are read as follows (the optimiser enforces the same readings):

    - ban: a placement of a banned category on an asset in the rule's scope.
    - exclusion: a placement of a listed category on an asset in scope whose distance to
      a site of a listed kind is at most ``within_m``, measured between the whole shapes
      (from an asset's nearest point, to a polygon's edge, 0 inside a polygon or inside a
      site drawn as a closed ring).
    - density: in each cycle, for every booked asset *a*, the faces booked on all assets
      within ``within_m`` of *a* (including *a*) must be at most ``max_faces``; one
      violation per offending asset and cycle.
    - share: in each cycle, faces booked for the listed categories divided by all faces
      booked must be at most ``max_share``; one violation per cycle.
    - period: a placement of a listed category in a cycle whose dates
      (`planner.calendar.cycle_dates`) overlap ``start``-``end``.

    Parameters
    ----------
    placements
        One row per booking: ``asset_id``, ``category``, ``cycle`` (whole number >= 1);
        optional ``campaign_id`` and ``faces`` (booked faces, whole number >= 1, default
        1). A plan's placements (`planner.plan.PLACEMENT_COLUMNS`) qualify, one row per
        face.
    assets
        The assets the placements refer to, with a CRS: unique ``asset_id``;
        ``asset_type`` and ``digital`` when rules are scoped by them.
    sites
        Sensitive sites with a CRS (``site_id``, ``kind``, optional ``name``); may be None
        when the policy has no exclusion rule.
    policy
        The policy to check against.
    start
        First day of cycle 1, for period rules.

    Returns
    -------
    pandas.DataFrame
        Columns `VIOLATION_COLUMNS`, one row per violation, in policy rule order:
        ``rule_id``, ``rule_type`` (``ban``, ``exclusion``, ...), ``asset_id`` and
        ``campaign_id`` (empty for a share violation, which concerns a whole cycle),
        ``cycle`` (int64), ``category`` (``;``-joined for a share rule, empty for
        density) and ``reason`` in plain words, e.g. ``"alcohol within 100 m of St
        Mary's Primary (school, site 1234) at 63 m"``.

    Raises
    ------
    DataValidationError
        When a placement names an unknown asset or category, a cycle or faces value is
        not a whole number of at least 1, or a table lacks a column or a CRS.

    Examples
    --------
    >>> audit(plan.placements, assets, sites, load_policy("uk-cap-code")).empty
    True

    An alcohol advert 63 m from a school breaks the CAP Code preset's 100 m rule:

    >>> import geopandas as gpd, shapely
    >>> from planner.policy.load import load_policy
    >>> assets = gpd.GeoDataFrame({"asset_id": ["A1", "A2"]}, crs="EPSG:27700",
    ...     geometry=shapely.points([(530000, 180000), (530500, 180000)]))
    >>> sites = gpd.GeoDataFrame({"site_id": ["1234"], "kind": ["school"],
    ...     "name": ["St Mary's Primary"]}, geometry=[shapely.Point(530063, 180000)],
    ...     crs="EPSG:27700")
    >>> placements = pd.DataFrame({"asset_id": ["A1", "A2"],
    ...     "category": ["alcohol", "alcohol"], "cycle": [1, 1]})
    >>> found = audit(placements, assets, sites, load_policy("uk-cap-code"))
    >>> found[["rule_id", "asset_id", "cycle"]].to_dict("records")
    [{'rule_id': 'cap-schools-100m', 'asset_id': 'A1', 'cycle': 1}]
    """
    _check_inputs(assets, sites, policy)
    book = _bookings(placements, assets, policy)
    for col in ("asset_type", "digital"):
        if col in assets.columns:
            book[col] = assets[col].to_numpy()[book["pos"].to_numpy()]
    crs = metric_crs(assets, *([sites] if sites is not None else []))
    booked = np.unique(book["pos"].to_numpy())
    geom = np.empty(len(assets), dtype=object)  # metric geometry by asset position
    geom[booked] = project(assets.iloc[booked], crs).geometry.to_numpy()
    metric_sites = None
    if policy.exclusions and sites is not None:  # `_check_inputs` refused missing sites
        metric_sites = _as_areas(project(sites, crs))
    rows: list[dict] = []
    for rule in policy.rules:
        if isinstance(rule, BanRule):
            rows += _ban(book, rule)
        elif isinstance(rule, ExclusionRule):
            assert metric_sites is not None  # the policy has exclusion rules
            rows += _exclusion(book, rule, geom, metric_sites)
        elif isinstance(rule, DensityRule):
            rows += _density(book, rule, geom)
        elif isinstance(rule, ShareRule):
            rows += _share(book, rule)
        elif isinstance(rule, PeriodRule):
            rows += _period(book, rule, start)
    return pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS)).astype({"cycle": "int64"})


def _fail(table: str, column: str, found: str, fix: str, where: str = "") -> DataValidationError:
    """Build the `DataValidationError` of one problem of an input table."""
    return DataValidationError(table, [Problem(table, where, column, found, fix)])


def _check_inputs(assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, policy: Policy) -> None:
    """Refuse missing sites (when needed), id/kind columns, CRSs and repeated asset ids."""
    frames: list[tuple[str, gpd.GeoDataFrame, tuple[str, ...]]] = [
        ("assets", assets, ("asset_id",))
    ]
    if policy.exclusions:
        if sites is None:
            raise _fail("sites", "", "no sites given", "Give the sites the plan was made with")
        frames.append(("sites", sites, ("site_id", "kind")))
    for name, frame, needed in frames:
        for col in needed:
            if col not in frame.columns:
                raise _fail(name, col, "column is missing", f"Add a '{col}' column")
        if getattr(frame, "crs", None) is None:
            raise _fail(name, "geometry", "no CRS", "Set it with gdf.set_crs('EPSG:4326')")
    if not assets["asset_id"].astype(str).is_unique:
        raise _fail("assets", "asset_id", "duplicate asset_id", "Give every asset its own id")


def _bookings(placements: pd.DataFrame, assets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return a validated plain copy of the placements: ``pos`` (asset position), faces filled.

    Collects bad ``cycle`` and ``faces`` values, unknown assets and unknown categories
    (up to 20 of each, rows numbered from 1) and raises them as one
    `DataValidationError`.
    """
    for col in ("asset_id", "category", "cycle"):
        if col not in placements.columns:
            raise _fail("placements", col, "column is missing", f"Add a '{col}' column")
    campaign = placements.get("campaign_id", pd.Series("", index=placements.index))
    book = pd.DataFrame(
        {
            "asset_id": placements["asset_id"].astype(str).to_numpy(),
            "category": placements["category"].astype(str).to_numpy(),
            "campaign_id": campaign.fillna("").astype(str).to_numpy(),
        }
    )
    book["pos"] = pd.Index(assets["asset_id"].astype(str)).get_indexer(pd.Index(book["asset_id"]))
    problems = []
    for col in ("cycle", "faces"):
        values = placements.get(col, pd.Series(1, index=placements.index))
        book[col], bad = _whole_numbers(values)
        problems += [
            Problem("placements", f"row {i + 1}", col, f"{values.iloc[i]!r} is not 1, 2, 3, ...",
                    f"Give '{col}' as a whole number of at least 1")
            for i in bad[:20]
        ]  # fmt: skip
    for i in np.flatnonzero(book["pos"].to_numpy() < 0)[:20]:
        problems.append(Problem("placements", f"row {i + 1}", "asset_id",
                                f"asset '{book['asset_id'].iloc[i]}' is not in the assets",
                                "Use the assets file the plan was made with"))  # fmt: skip
    for i in np.flatnonzero(~book["category"].isin(policy.categories).to_numpy())[:20]:
        problems.append(Problem("placements", f"row {i + 1}", "category",
                                f"unknown category '{book['category'].iloc[i]}'",
                                f"Use one of: {', '.join(policy.categories)}"))  # fmt: skip
    if problems:
        raise DataValidationError("placements", problems)
    return book


def _whole_numbers(values: pd.Series) -> tuple[np.ndarray, list[int]]:
    """Return values as int64 (0 where bad) and the positions not whole numbers >= 1."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(num) & (num >= 1) & (num == np.round(num))
    return np.where(ok, num, 0).astype(np.int64), np.flatnonzero(~ok).tolist()


def _in_scope(book: pd.DataFrame, rule: BanRule | ExclusionRule) -> np.ndarray:
    """Return a mask of the bookings on assets a ban or exclusion rule applies to.

    Written apart from `planner.policy.eligibility.scope_mask` on purpose; a missing
    ``digital`` column means not digital, as there.
    """
    ok = np.ones(len(book), dtype=bool)
    if rule.asset_types is not None:
        if "asset_type" not in book.columns:
            raise _fail("assets", "asset_type", "column is missing",
                        f"Rule '{rule.id}' is scoped by asset type: add the column")  # fmt: skip
        ok &= book["asset_type"].isin(rule.asset_types).to_numpy(dtype=bool)
    if rule.digital is not None:
        digital = book.get("digital", pd.Series(False, index=book.index))
        ok &= digital.fillna(False).to_numpy(dtype=bool) == rule.digital
    return ok


def _row(rule, asset_id="", campaign_id="", cycle=0, category="", reason="") -> dict:
    """Build one violation row (`VIOLATION_COLUMNS`) of ``rule``."""
    return dict(zip(VIOLATION_COLUMNS, (rule.id, rule.type, asset_id, campaign_id, cycle,
                                        category, reason), strict=True))  # fmt: skip


def _placement_rows(hit: pd.DataFrame, rule, reasons: list[str]) -> list[dict]:
    """Build one violation row per offending booking, with its reason."""
    columns = (hit["asset_id"], hit["campaign_id"], hit["cycle"], hit["category"], reasons)
    return [_row(rule, a, c, int(y), g, r) for a, c, y, g, r in zip(*columns, strict=True)]


def _ban(book: pd.DataFrame, rule: BanRule) -> list[dict]:
    """Flag bookings of a banned category on an asset in the ban's scope."""
    hit = book[book["category"].isin(rule.categories).to_numpy() & _in_scope(book, rule)]
    return _placement_rows(hit, rule, [f"{g} is banned by {rule.id}" for g in hit["category"]])


def _exclusion(
    book: pd.DataFrame, rule: ExclusionRule, geom: np.ndarray, sites: gpd.GeoDataFrame
) -> list[dict]:
    """Flag bookings of a listed category in scope within ``within_m`` of a listed site.

    ``geom`` and ``sites`` are in one metric CRS; the reason names the nearest such site.
    """
    hit = book[book["category"].isin(rule.categories).to_numpy() & _in_scope(book, rule)]
    chosen = sites[sites["kind"].astype(str).isin(rule.near)]
    if hit.empty or chosen.empty:
        return []
    s_geom = chosen.geometry.to_numpy()
    bounds = shapely.bounds(s_geom)
    nearest = {
        p: found
        for p in set(hit["pos"])
        if (found := _nearest_site(geom[p], s_geom, bounds, rule.within_m)) is not None
    }
    hit = hit[[p in nearest for p in hit["pos"]]]
    ids = chosen["site_id"].astype(str).tolist()
    names = chosen.get("name", pd.Series("", index=chosen.index)).fillna("").astype(str).tolist()
    kinds = chosen["kind"].astype(str).tolist()
    reasons = []
    for p, category in zip(hit["pos"], hit["category"], strict=True):
        i, dist = nearest[p]
        label = f"{names[i] if names[i].strip() else ids[i]} ({kinds[i]}, site {ids[i]})"
        at = f"{dist:.1f}".removesuffix(".0")  # to 0.1 m, as eligibility writes it
        reasons.append(f"{category} within {rule.within_m:g} m of {label} at {at} m")
    return _placement_rows(hit, rule, reasons)


def _nearest_site(
    point: shapely.Geometry, s_geom: np.ndarray, bounds: np.ndarray, within_m: float
) -> tuple[int, float] | None:
    """Return (position, distance) of the nearest site at most ``within_m`` away, or None.

    A plain bounding-box filter widened by ``within_m`` picks the candidates, then
    `shapely.distance` (to a polygon's edge, 0 inside) decides; no spatial index. At most
    means at most ``within_m`` + `planner.policy.rules.DISTANCE_TOLERANCE_M` (1 mm).
    """
    within_m += DISTANCE_TOLERANCE_M  # "within 100 m" includes 100 m, despite reprojection
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


def _as_areas(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the sites with every closed line replaced by the polygon it bounds.

    A site drawn as a ring (alone or as a part of a multi-part shape) protects the area
    it encloses, so an asset inside it is at 0 m; other parts are kept as they are.
    """
    shapes = [_area(g) for g in sites.geometry.to_numpy()]
    return sites.set_geometry(gpd.GeoSeries(shapes, index=sites.index, crs=sites.crs))


def _area(geom):
    """Return ``geom`` with each closed line in it turned into its polygon."""
    if geom is None or geom.is_empty:
        return geom
    if hasattr(geom, "geoms"):
        return shapely.GeometryCollection([_area(part) for part in geom.geoms])
    if geom.geom_type in ("LineString", "LinearRing") and geom.is_closed:
        polygon = shapely.make_valid(shapely.Polygon(geom.coords))
        return polygon if polygon.area > 0 else geom
    return geom


def _density(book: pd.DataFrame, rule: DensityRule, geom: np.ndarray) -> list[dict]:
    """Flag, per cycle, each booked asset with more than ``max_faces`` faces around it.

    Distances are between the assets' locations in metres: a point asset's point, a point
    on the shape (`shapely.point_on_surface`) for a line or polygon, as the optimiser
    places them; the asset's own faces count. The reason lists up to 5 neighbours, nearest first.
    """
    rows = []
    for cycle, in_cycle in book.groupby("cycle", sort=True):
        per_asset = in_cycle.groupby("pos", sort=True).agg(
            asset_id=("asset_id", "first"), faces=("faces", "sum")
        )
        ids, faces = per_asset["asset_id"].tolist(), per_asset["faces"].to_numpy()
        centres = shapely.point_on_surface(geom[per_asset.index.to_numpy()])
        xy = np.column_stack([shapely.get_x(centres), shapely.get_y(centres)])
        for i, dist in _distance_rows(xy):
            near = np.flatnonzero(dist <= rule.within_m)
            total = int(faces[near].sum())
            if total > rule.max_faces:
                others = [ids[j] for j in near[np.argsort(dist[near])] if j != i]
                shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                reason = (
                    f"{total} faces booked within {rule.within_m:g} m of {ids[i]} "
                    f"(with {shown or 'no other asset'}); at most {rule.max_faces} allowed"
                )
                rows.append(_row(rule, ids[i], cycle=int(cast("int", cycle)), reason=reason))
    return rows


def _distance_rows(xy: np.ndarray, *, block: int = 512) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (i, distances from point i to every point), a block of rows at a time."""
    for lo in range(0, len(xy), block):
        part = xy[lo : lo + block]
        dist = np.hypot(part[:, None, 0] - xy[None, :, 0], part[:, None, 1] - xy[None, :, 1])
        yield from ((lo + k, dist[k]) for k in range(len(part)))


def _share(book: pd.DataFrame, rule: ShareRule) -> list[dict]:
    """Flag each cycle where the listed categories take more than ``max_share`` of the faces."""
    rows = []
    for cycle, in_cycle in book.groupby("cycle", sort=True):
        total = int(in_cycle["faces"].sum())
        taken = int(in_cycle.loc[in_cycle["category"].isin(rule.categories), "faces"].sum())
        if taken > rule.max_share * total + _SHARE_EPS:
            reason = (
                f"{', '.join(rule.categories)} took {taken} of {total} faces "
                f"({taken / total:.0%}) in cycle {cycle}; at most {rule.max_share:.0%} allowed"
            )
            category = ";".join(rule.categories)
            rows.append(_row(rule, cycle=int(cast("int", cycle)), category=category, reason=reason))
    return rows


def _period(book: pd.DataFrame, rule: PeriodRule, start: date) -> list[dict]:
    """Flag bookings of a listed category in a cycle whose dates overlap the period."""
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
