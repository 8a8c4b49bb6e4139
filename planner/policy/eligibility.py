"""Eligibility: which advertiser categories each asset may carry under a policy, and why not.

Ban and exclusion rules are applied here, once, before any plan is made: the optimiser
only creates variables for eligible (asset, category) pairs, and `planner.policy.audit`
re-checks the result independently. Exclusion distances use a spatial index (shapely's
STRtree) in the metric CRS of `planner.geo.metric_crs`.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from planner.errors import DataValidationError, Problem
from planner.geo import metric_crs, project
from planner.io.geometry import site_areas
from planner.policy.load import BanRule, ExclusionRule, Policy
from planner.policy.rules import DISTANCE_TOLERANCE_M
from planner.policy.sites import check_sites_against_policy
from planner.schema import STORAGE_CRS

__all__ = [
    "ELIGIBILITY_COLUMNS",
    "Verdicts",
    "allowed_matrix",
    "eligibility",
    "eligibility_ids",
    "eligibility_summary",
    "eligibility_table",
    "exclusion_zones",
    "refusals",
    "scope_mask",
    "verdicts",
]

#: Columns of the table `eligibility` returns, in order.
ELIGIBILITY_COLUMNS = ("asset_id", "category", "allowed", "reasons", "rule_ids")


def eligibility(
    assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, policy: Policy
) -> pd.DataFrame:
    """Decide whether each asset may carry each category, with every reason for each refusal.

    Only ``ban`` and ``exclusion`` rules decide eligibility; density, share and period
    rules depend on the plan and are enforced when planning. Distances are measured in
    `planner.geo.metric_crs` between the whole shapes: from the nearest point of an asset
    (a line or polygon asset is never reduced to one point; a multi-part asset is as near
    as its nearest part) to the nearest point of a site (0 inside a polygon, and inside a
    site drawn as a closed ring, which protects the area it encloses:
    `planner.io.geometry.site_areas`); a site at exactly ``within_m`` counts as within.
    Each exclusion reason names the nearest offending site of that rule.

    Parameters
    ----------
    assets
        Assets with a geometry (points; lines and polygons are measured whole) and a
        CRS, shape (n_assets,): unique ``asset_id``;
        ``asset_type`` when a rule is scoped by type, ``digital`` (bool; absent means
        not digital) when one is scoped by digital.
    sites
        Sensitive sites, points or polygons with a CRS (``site_id``, ``kind``, optional
        ``name``); may be None when the policy has no exclusion rule.
    policy
        The policy to apply; its ``categories`` are the table's categories.

    Returns
    -------
    pandas.DataFrame
        `ELIGIBILITY_COLUMNS`, one row per asset x category (n_assets * n_categories
        rows), assets in input order and categories in policy order within each asset:
        ``asset_id`` (str), ``category`` (categorical), ``allowed`` (bool), ``reasons``
        (``rule id: reason`` texts ``'; '``-joined in rule order, empty when allowed) and
        ``rule_ids`` (``';'``-joined). ``.attrs["warnings"]`` lists, one sentence each,
        exclusion rules that protect nothing (no site has their kinds) and sites nowhere
        near the assets (`planner.policy.sites.check_sites_against_policy`).

    Raises
    ------
    DataValidationError
        When a table lacks a needed column, a geometry, a CRS or a location in a row;
        asset ids repeat; ``digital`` is not boolean; ``sites`` is None while the
        policy has exclusion rules; or a site's kind is not one the policy knows (every
        such value and its count listed, with the ``kinds=`` map that fixes them).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from planner.policy.load import load_policy
    >>> assets = gpd.GeoDataFrame({"asset_id": ["A1", "A2"]}, crs="EPSG:27700",
    ...     geometry=shapely.points([(530000, 180000), (530500, 180000)]))
    >>> sites = gpd.GeoDataFrame({"site_id": ["1234"], "kind": ["school"],
    ...     "name": ["St Mary's Primary"]}, geometry=[shapely.Point(530063, 180000)],
    ...     crs="EPSG:27700")
    >>> df = eligibility(assets, sites, load_policy("uk-cap-code"))
    >>> df.loc[~df.allowed, "reasons"].iloc[0]
    "cap-schools-100m: St Mary's Primary (school, site 1234) at 63 m"
    >>> df.loc[~df.allowed, "category"].tolist()
    ['alcohol', 'gambling', 'hfss']
    """
    _check_frame(assets, "assets", ("asset_id",))
    asset_ids = assets["asset_id"].astype(str)
    _check_unique(asset_ids)
    # Before any verdict: unknown site kinds stop here; idle rules become warnings.
    warnings = check_sites_against_policy(sites, policy, assets=assets)
    table = eligibility_table(asset_ids, policy.categories, verdicts(assets, sites, policy))
    table.attrs["warnings"] = warnings
    return table


def verdicts(assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, policy: Policy) -> Verdicts:
    """Apply every rule of ``policy`` to the assets: the verdicts behind `eligibility`'s table.

    The checks of the inputs as a whole (columns, unique ids, site kinds; `eligibility`
    makes them) are not repeated: `planner.scale` checks once, then gets the verdicts of
    each partition.

    Parameters
    ----------
    assets, sites, policy
        As for `eligibility`.

    Returns
    -------
    Verdicts
        Reasons and rule ids per (asset, category) row, assets in their order and
        categories in the policy's (`eligibility_table` makes the table of them).
    """
    n_assets, n_cat = len(assets), len(policy.categories)
    cat_pos = {c: i for i, c in enumerate(policy.categories)}
    notes = Verdicts(n_assets * n_cat)
    hits = _exclusion_hits(assets, sites, policy.exclusions) if policy.exclusions else {}
    for rule in policy.rules:
        if isinstance(rule, BanRule):
            positions = np.flatnonzero(scope_mask(assets, rule))
            text: str | list[str] = f"{rule.id}: {_ban_text(rule)}"
        elif isinstance(rule, ExclusionRule) and rule.id in hits:
            positions, text = hits[rule.id]
        else:
            continue
        for cat in rule.categories:
            notes.add(positions * n_cat + cat_pos[cat], text, rule.id)
    return notes


def eligibility_table(
    asset_ids: pd.Series,
    categories: tuple[str, ...] | list[str],
    notes: Verdicts,
    *,
    id_column: pd.Series | None = None,
) -> pd.DataFrame:
    """Make `eligibility`'s table of the verdicts: one row per asset and category.

    Parameters
    ----------
    asset_ids
        The assets' ids as text, in order, shape (n_assets,).
    categories
        The policy's categories, in order, shape (n_cat,).
    notes
        The verdicts of those assets (`verdicts`), n_assets * n_cat rows.
    id_column
        The table's ``asset_id`` column if already made (`eligibility_ids`), else made here.

    Returns
    -------
    pandas.DataFrame
        ``asset_id``, ``category``, ``allowed``, ``reasons`` and ``rule_ids`` (no
        ``attrs``).
    """
    n_assets, n_cat = len(asset_ids), len(categories)
    reasons, rule_ids = notes.columns()
    if id_column is None:
        id_column = eligibility_ids(asset_ids, n_cat)
    return pd.DataFrame(
        {
            "asset_id": id_column,
            "category": pd.Categorical.from_codes(
                np.tile(np.arange(n_cat), n_assets), categories=pd.Index(categories)
            ),
            "allowed": ~notes.refused,
            "reasons": reasons,
            "rule_ids": rule_ids,
        }
    )


def eligibility_ids(asset_ids: pd.Series, n_cat: int) -> pd.Series:
    """Make the ``asset_id`` column of `eligibility`'s table: each id once per category.

    Parameters
    ----------
    asset_ids
        The assets' ids as text, in order, shape (n_assets,).
    n_cat
        The policy's number of categories.

    Returns
    -------
    pandas.Series
        Text, shape (n_assets * n_cat,).
    """
    return _take(asset_ids, np.repeat(np.arange(len(asset_ids)), n_cat))


class Verdicts:
    """Reasons and rule ids per (asset, category) row, as codes into lists of texts.

    Code 0 is the empty text (allowed). Texts are joined only for rows refused by more
    than one rule, and the final columns are built by one Arrow ``take`` each, so a
    3.6-million-row table costs no per-row Python work. Compact to send between
    processes: the codes are numbers, and each text is sent once.
    """

    def __init__(self, n_rows: int) -> None:
        self.texts: list[str] = [""]
        self.reason = np.zeros(n_rows, dtype=np.int64)
        self.rule_texts: list[str] = [""]
        self.rule_codes: dict[str, int] = {"": 0}
        self.rules = np.zeros(n_rows, dtype=np.int64)

    def add(self, rows: np.ndarray, text: str | list[str], rule_id: str) -> None:
        """Refuse ``rows`` for one rule: one ``text`` for all, or one text per row.

        A row already refused keeps its earlier reasons, joined with ``"; "``, and rule
        ids, joined with ``";"``, in the order the rules are added.
        """
        if not len(rows):
            return
        texts = [text] if isinstance(text, str) else text
        codes = len(self.texts) + (
            np.zeros(len(rows), np.int64) if isinstance(text, str) else np.arange(len(rows))
        )
        self.texts.extend(texts)
        old = self.reason[rows]
        again = old != 0
        self.reason[rows[~again]] = codes[~again]
        if again.any():
            joined = [
                f"{self.texts[o]}; {self.texts[c]}"
                for o, c in zip(old[again].tolist(), codes[again].tolist(), strict=True)
            ]
            self.reason[rows[again]] = len(self.texts) + np.arange(len(joined))
            self.texts.extend(joined)
        uniq, inverse = np.unique(self.rules[rows], return_inverse=True)
        names = [rule_id if u == 0 else f"{self.rule_texts[u]};{rule_id}" for u in uniq]
        self.rules[rows] = np.array([self._rule_code(n) for n in names])[inverse]

    def _rule_code(self, name: str) -> int:
        """Return the code of a ``;``-joined rule-id text, adding it the first time."""
        if name not in self.rule_codes:
            self.rule_codes[name] = len(self.rule_texts)
            self.rule_texts.append(name)
        return self.rule_codes[name]

    @property
    def refused(self) -> np.ndarray:
        """Boolean mask of the rows refused by at least one rule."""
        return self.reason != 0

    def columns(self) -> tuple[pd.Series, pd.Series]:
        """Return the ``reasons`` and ``rule_ids`` columns as pandas string Series."""
        return _take(self.texts, self.reason), _take(self.rule_texts, self.rules)

    @classmethod
    def joined(cls, parts: list[Verdicts], rows: np.ndarray) -> Verdicts:
        """Join the notes of several groups of rows, then keep ``rows`` of the whole, in order.

        Parameters
        ----------
        parts
            Verdicts of consecutive groups of rows.
        rows
            Positions in the joined rows, shape (n,): the joined notes' own order.

        Returns
        -------
        Verdicts
            The same texts for every kept row (codes renumbered).
        """
        out = cls(0)
        reason, rules = [], []
        for part in parts:
            # Code 0 (the empty text) is shared; the others move past the texts so far.
            reason.append(np.where(part.reason != 0, part.reason + len(out.texts) - 1, 0))
            rules.append(np.where(part.rules != 0, part.rules + len(out.rule_texts) - 1, 0))
            out.texts.extend(part.texts[1:])
            out.rule_texts.extend(part.rule_texts[1:])
        empty = np.zeros(0, dtype=np.int64)
        out.reason = np.concatenate(reason or [empty])[rows]
        out.rules = np.concatenate(rules or [empty])[rows]
        out.rule_codes = {}  # a joined note is read, not added to
        return out


def _take(texts: list[str] | pd.Series, codes: np.ndarray) -> pd.Series:
    """Return ``texts[codes]`` as a pandas string Series, built in Arrow without Python objects."""
    picked = pc.take(pa.array(texts, type=pa.large_string()), pa.array(codes))
    return pd.Series(pd.array(picked, dtype="str"))


def _ban_text(rule: BanRule) -> str:
    """Say what a ban covers: ``"banned"``, or e.g. ``"banned on digital bus_shelter assets"``."""
    if rule.asset_types is None and rule.digital is None:
        return "banned"
    digital = {None: "", True: "digital ", False: "non-digital "}[rule.digital]
    types = ", ".join(rule.asset_types) + " " if rule.asset_types else ""
    return f"banned on {digital}{types}assets"


def scope_mask(assets: pd.DataFrame, rule: BanRule | ExclusionRule) -> np.ndarray:
    """Return a boolean mask of the assets a ban or exclusion rule applies to.

    An asset is in scope when its ``asset_type`` is in ``rule.asset_types`` (any type
    when None) and its ``digital`` equals ``rule.digital`` (either when None).

    Parameters
    ----------
    assets
        Assets, shape (n_assets,): ``asset_type`` needed when the rule is scoped by type;
        ``digital`` (bool) read when scoped by digital, missing meaning not digital.
    rule
        A ban or exclusion rule.

    Returns
    -------
    numpy.ndarray
        Bool, shape (n_assets,), in the assets' row order.

    Raises
    ------
    DataValidationError
        When the rule is scoped by type and ``asset_type`` is missing, or ``digital`` is
        not a boolean column.

    Examples
    --------
    >>> scope_mask(assets, BanRule("d", ("hfss",), digital=True)).sum()
    12
    """
    mask = np.ones(len(assets), dtype=bool)
    if rule.asset_types is not None:
        _check_frame(assets, "assets", ("asset_type",), geometry=False)
        mask &= assets["asset_type"].isin(rule.asset_types).to_numpy(dtype=bool)
    if rule.digital is not None:
        mask &= _digital(assets) == rule.digital
    return mask


def _digital(assets: pd.DataFrame) -> np.ndarray:
    """Return ``digital`` as a bool array (missing or empty values: not digital).

    Text such as ``"yes"`` is refused rather than guessed; the loaders convert it.
    """
    if "digital" not in assets.columns:
        return np.zeros(len(assets), dtype=bool)  # the data contract's default
    col = assets["digital"]
    if not pd.api.types.is_bool_dtype(col) and not col.isna().all():
        raise DataValidationError(
            "assets",
            [
                Problem(
                    "assets",
                    "",
                    "digital",
                    f"column has type {col.dtype}",
                    "Give true/false values (planner.load_assets converts them)",
                )
            ],
        )
    return col.fillna(False).to_numpy(dtype=bool)


def _exclusion_hits(
    assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, rules: Iterable[ExclusionRule]
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Map each exclusion rule to the positions of the assets it refuses and a reason each.

    Rules with the same ``within_m`` share one spatial query over the sites of all their
    kinds; each rule then keeps its own kinds and scope. The reason names the nearest
    site of the rule's kinds and its distance in whole metres.
    """
    if sites is None:
        ids = ", ".join(r.id for r in rules)
        raise DataValidationError(
            "sites",
            [
                Problem(
                    "sites",
                    "",
                    "",
                    f"no sites given, but exclusion rules {ids} need them",
                    "Pass the sensitive sites (schools, playgrounds, ...)",
                )
            ],
        )
    _check_frame(sites, "sites", ("site_id", "kind"))
    crs = metric_crs(assets, sites)
    a_geom = project(assets.geometry, crs).to_numpy()
    s_geom = site_areas(project(sites.geometry, crs).to_numpy())
    kinds = sites["kind"].astype(str).to_numpy(dtype=object)
    labels = _site_labels(sites)
    out = {}
    by_distance: dict[float, list[ExclusionRule]] = {}
    for rule in rules:
        by_distance.setdefault(rule.within_m, []).append(rule)
    for within_m, group in by_distance.items():
        near = {k for r in group for k in r.near}
        s_pos = np.flatnonzero(np.isin(kinds, list(near)))
        a_idx, s_idx, dist = _pairs_within(a_geom, s_geom[s_pos], within_m)
        s_idx = s_pos[s_idx]
        for rule in group:
            keep = np.isin(kinds[s_idx], rule.near) & scope_mask(assets, rule)[a_idx]
            first_a, first_s, first_d = _nearest_per_asset(a_idx[keep], s_idx[keep], dist[keep])
            pairs = zip(labels[first_s].tolist(), first_d.tolist(), strict=True)
            out[rule.id] = (first_a, [f"{rule.id}: {lab} at {_metres(d)}" for lab, d in pairs])
    return out


def _metres(distance: float) -> str:
    """Write a distance in a reason: to 0.1 m, without ``.0`` (``40 m``, ``99.5 m``).

    One decimal keeps a reason from contradicting its verdict at a rule's edge: an asset
    99.5 m from a school is "at 99.5 m", not "at 100 m" beside one allowed at 100.4 m.

    Examples
    --------
    >>> _metres(40.00000005), _metres(99.5), _metres(100.04)
    ('40 m', '99.5 m', '100 m')
    """
    text = f"{distance:.1f}"
    return f"{text.removesuffix('.0')} m"


def _pairs_within(
    a_geom: np.ndarray, s_geom: np.ndarray, within_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (asset index, site index, distance) for every pair at most ``within_m`` apart.

    Geometries are in one metric CRS, so ``within_m`` and the distances are metres; the
    distance to a polygon is to its edge, 0 inside. "At most" allows
    `DISTANCE_TOLERANCE_M` (1 mm) for the noise of reprojection.
    """
    if not len(s_geom) or not len(a_geom):
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(s_geom)
    reach = within_m + DISTANCE_TOLERANCE_M  # "within 100 m" includes 100 m (<=)
    a_idx, s_idx = tree.query(a_geom, predicate="dwithin", distance=reach)
    return a_idx, s_idx, shapely.distance(a_geom[a_idx], s_geom[s_idx])


def _nearest_per_asset(
    a_idx: np.ndarray, s_idx: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep each asset's nearest pair; a tie goes to the site listed first."""
    order = np.lexsort((s_idx, dist, a_idx))  # ties: lowest site position, deterministic
    a_sorted = a_idx[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = a_sorted[1:] != a_sorted[:-1]
    pick = order[first]
    return a_idx[pick], s_idx[pick], dist[pick]


def _site_labels(sites: pd.DataFrame) -> np.ndarray:
    """Label each site ``"Name (kind, site id)"``; the id stands in for a missing name."""
    ids = sites["site_id"].astype(str)
    names = sites["name"].fillna("").astype(str) if "name" in sites.columns else ids
    names = names.where(names.str.strip() != "", ids)
    labels = names + " (" + sites["kind"].astype(str) + ", site " + ids + ")"
    return labels.to_numpy(dtype=object)


def allowed_matrix(eligibility_df: pd.DataFrame) -> pd.DataFrame:
    """Pivot an eligibility table to a boolean asset x category matrix for the optimiser.

    Parameters
    ----------
    eligibility_df
        A table with ``asset_id``, ``category`` and ``allowed`` (as `eligibility`
        returns), one row per pair.

    Returns
    -------
    pandas.DataFrame
        Bool, shape (n_assets, n_categories): index ``asset_id`` in first-seen order,
        columns the categories (every category of a categorical column, in its order).
        A pair absent from the table is False: never allowed by omission.

    Examples
    --------
    >>> m = allowed_matrix(eligibility(assets, sites, policy))
    >>> bool(m.loc["A1", "alcohol"])
    False
    """
    ids, id_codes = _codes(eligibility_df["asset_id"])
    cats, cat_codes = _codes(eligibility_df["category"])
    matrix = np.zeros((len(ids), len(cats)), dtype=bool)
    matrix[id_codes, cat_codes] = eligibility_df["allowed"].to_numpy(dtype=bool)
    return pd.DataFrame(matrix, index=pd.Index(ids, name="asset_id"), columns=pd.Index(cats))


def eligibility_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Count, per advertiser category, the assets allowed and refused.

    Parameters
    ----------
    table
        An eligibility table (`eligibility`): one row per asset and category.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``category`` (in the table's order): ``assets``, ``allowed`` and
        ``refused`` (counts of assets) and ``share_refused`` (refused / assets, 0-1, to 3
        decimals).

    Examples
    --------
    >>> eligibility_summary(eligibility(assets, sites, policy)).loc["alcohol", "refused"]
    12
    """
    grouped = table.groupby("category", observed=True, sort=False)["allowed"]
    summary = pd.DataFrame({"assets": grouped.size(), "allowed": grouped.sum().astype(int)})
    summary["refused"] = summary["assets"] - summary["allowed"]
    summary["share_refused"] = (summary["refused"] / summary["assets"]).round(3)
    summary.index = summary.index.astype(str)
    return summary


def refusals(
    table: pd.DataFrame, assets: pd.DataFrame, category: str | None = None
) -> pd.DataFrame:
    """List the refused asset-category pairs with the asset's name and type, and why.

    Parameters
    ----------
    table
        An eligibility table (`eligibility`).
    assets
        The assets it was computed for (``asset_id``; ``name`` and ``asset_type`` when
        present).
    category
        Only this advertiser category; every category when None.

    Returns
    -------
    pandas.DataFrame
        One row per refused pair, in the table's order: ``asset_id``, ``name``,
        ``asset_type`` (empty when ``assets`` lacks them), ``category``, ``reasons`` and
        ``rule_ids`` as in the eligibility table.

    Examples
    --------
    >>> refusals(eligibility(assets, sites, policy), assets, "alcohol").head()
    """
    refused = table.loc[~table["allowed"].to_numpy(dtype=bool)]
    if category is not None:
        refused = refused[refused["category"].astype(str) == category]
    names = pd.DataFrame({"asset_id": assets["asset_id"].astype(str)})
    for column in ("name", "asset_type"):
        names[column] = assets[column].astype(str) if column in assets.columns else ""
    out = refused.assign(asset_id=refused["asset_id"].astype(str)).merge(
        names.drop_duplicates("asset_id"), on="asset_id", how="left"
    )
    columns = ["asset_id", "name", "asset_type", "category", "reasons", "rule_ids"]
    return out[columns].reset_index(drop=True)


def _codes(col: pd.Series) -> tuple[list, np.ndarray]:
    """Return a column's distinct values and each row's code (a categorical's own codes)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories), col.cat.codes.to_numpy()
    codes, uniques = pd.factorize(col, sort=False)
    return list(uniques), codes


def exclusion_zones(
    sites: gpd.GeoDataFrame, policy: Policy, *, dissolve: bool = True
) -> gpd.GeoDataFrame:
    """Draw the areas each exclusion rule keeps its categories out of, for maps.

    Each site of a rule's kinds is buffered by ``within_m`` metres in the metric CRS of
    `planner.geo.metric_crs` (a polygon site grows from its edge), so an asset in the
    rule's scope is refused its categories exactly when it lies in a zone (up to the
    buffer's polygon approximation of a circle). Rules with no site of their kinds draw
    nothing.

    Parameters
    ----------
    sites
        Sensitive sites with a CRS: ``site_id``, ``kind``, point or polygon geometry.
    policy
        Policy whose exclusion rules are drawn.
    dissolve
        One (multi)polygon per rule when true; one zone per rule and site when false.

    Returns
    -------
    geopandas.GeoDataFrame
        ``rule_id``, ``kind``, ``site_id``, ``categories`` (``;``-joined), ``within_m``
        (metres), geometry in EPSG:4326; empty with these columns when the policy has no
        exclusion rule or there are no sites. Dissolved rows list the kinds
        (``", "``-joined) and leave ``site_id`` empty.

    Raises
    ------
    DataValidationError
        When ``sites`` lacks ``site_id`` or ``kind``, a geometry, a CRS or a location.

    Examples
    --------
    >>> exclusion_zones(sites, load_policy("uk-cap-code")).rule_id.tolist()
    ['cap-schools-100m']
    """
    columns = ["rule_id", "kind", "site_id", "categories", "within_m"]
    if not policy.exclusions or not len(sites):
        return gpd.GeoDataFrame(
            columns=[*columns, "geometry"], geometry="geometry", crs=STORAGE_CRS
        )
    _check_frame(sites, "sites", ("site_id", "kind"))
    crs = metric_crs(sites)
    metric = project(sites, crs)
    areas = site_areas(metric.geometry.to_numpy())
    metric = metric.set_geometry(gpd.GeoSeries(areas, index=metric.index, crs=crs))
    frames = [_rule_zones(metric, rule, dissolve=dissolve) for rule in policy.exclusions]
    zones = pd.concat(frames, ignore_index=True)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=crs)
    zones = zones[~zones.geometry.is_empty]
    return zones.to_crs(STORAGE_CRS).reset_index(drop=True)


def _rule_zones(metric: gpd.GeoDataFrame, rule: ExclusionRule, *, dissolve: bool) -> pd.DataFrame:
    """Buffer one rule's sites (already in metres) into its zone rows, dissolved or not."""
    chosen = metric[metric["kind"].isin(rule.near)]
    zones = chosen.geometry.buffer(rule.within_m).to_numpy()
    if dissolve:
        kinds = ", ".join(sorted(chosen["kind"].astype(str).unique()))
        geoms, kind_col, ids = [shapely.union_all(zones)], [kinds], [""]
    else:
        geoms, kind_col = list(zones), chosen["kind"].astype(str).tolist()
        ids = chosen["site_id"].astype(str).tolist()
    return pd.DataFrame(
        {
            "rule_id": rule.id,
            "kind": kind_col,
            "site_id": ids,
            "categories": ";".join(rule.categories),
            "within_m": rule.within_m,
            "geometry": geoms,
        }
    )


def _check_frame(
    frame: pd.DataFrame, name: str, required: tuple[str, ...], *, geometry: bool = True
) -> None:
    """Raise one `DataValidationError` for missing columns and (if asked) geometry problems."""
    problems = [
        Problem(name, "", col, "column is missing", f"Add a '{col}' column (see planner.schema)")
        for col in required
        if col not in frame.columns
    ]
    if geometry:
        problems += _geometry_problems(frame, name)
    if problems:
        raise DataValidationError(name, problems)


def _geometry_problems(frame: pd.DataFrame, name: str) -> list[Problem]:
    """Return the first of: not a GeoDataFrame, no CRS, rows without a location (up to 5 named)."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        return [
            Problem(
                name,
                "",
                "geometry",
                "not a GeoDataFrame with a geometry",
                "Load it with planner.io.readers or build it with geopandas",
            )
        ]
    if frame.crs is None:
        return [
            Problem(
                name,
                "",
                "geometry",
                f"'{name}' has no CRS",
                "Set it with gdf.set_crs('EPSG:4326') (or the CRS of the coordinates)",
            )
        ]
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        ids = frame.loc[missing].index[:5].tolist()
        return [
            Problem(
                name,
                f"rows {ids}",
                "geometry",
                f"{int(missing.sum())} row(s) have no location",
                "Give every row a location or drop it (drop_invalid=True when loading)",
            )
        ]
    return []


def _check_unique(asset_ids: pd.Series) -> None:
    """Refuse repeated asset ids (naming up to 5): each row of the table must be one asset."""
    if asset_ids.is_unique:
        return
    shown = sorted(set(asset_ids[asset_ids.duplicated()]))[:5]
    raise DataValidationError(
        "assets",
        [
            Problem(
                "assets",
                ", ".join(shown),
                "asset_id",
                "duplicate asset_id",
                "Give every asset its own asset_id",
            )
        ],
    )
