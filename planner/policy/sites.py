"""Sensitive sites checked against a policy before any verdict: no rule silently off.

A site whose kind the policy does not know is protected by no rule, whatever the file
meant ("Local authority maintained schools" is a school to a reader, not to a rule), so
such sites stop the run with their values, counts and the map that fixes them. An
exclusion rule whose kinds no site has protects nothing, and a sites layer nowhere near
the assets protects none of them: both are warnings, given before any plan is made. The
same holds for assets: an asset whose type no rule knows, under a rule scoped by asset
type, stops the run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import DataValidationError, Problem
from planner.io.fields import kind_map_fix
from planner.io.validation import check_layers_overlap
from planner.schema import ASSET_TYPES

if TYPE_CHECKING:
    import geopandas as gpd

    from planner.policy.rules import Policy

__all__ = ["check_sites_against_policy", "unknown_kinds"]


def unknown_kinds(sites: pd.DataFrame, policy: Policy) -> pd.Series:
    """Count the sites per kind value the policy's vocabulary does not hold.

    Parameters
    ----------
    sites
        Sites with a ``kind`` column, shape (n, ...).
    policy
        The policy whose ``kinds`` are the known site kinds.

    Returns
    -------
    pandas.Series
        Number of sites per unknown kind value (blank kinds counted as ``''``), commonest
        first; empty when every kind is known.

    Examples
    --------
    >>> unknown_kinds(sites, load_policy("uk-cap-code")).to_dict()
    {'special schools': 3}
    """
    kinds = sites["kind"].astype("string").fillna("").str.strip()
    return kinds[~kinds.isin(policy.kinds)].value_counts()


def check_sites_against_policy(
    sites: gpd.GeoDataFrame | None,
    policy: Policy,
    *,
    assets: gpd.GeoDataFrame | None = None,
    source: str = "sites",
) -> list[str]:
    """Refuse sites whose kind the policy does not know; warn of rules that protect nothing.

    Run before eligibility, a plan or an audit is computed, wherever sites meet a policy
    (`planner.policy.eligibility.eligibility`, `planner.plan.plan`, the command line).
    The sites are not checked for a policy without exclusion rules, which never reads them.

    Parameters
    ----------
    sites
        Sensitive sites with ``kind`` (as loaded by `planner.io.readers.load_sites`), or
        None.
    policy
        The policy to apply.
    assets
        The assets, when at hand: a sites layer whose bounding box does not meet theirs
        is warned of (`planner.io.validation.check_layers_overlap`).
    source
        Name of the sites in the error message when they do not carry their loader's
        report (which names the file).

    Returns
    -------
    list of str
        Warnings, one sentence each: every exclusion rule whose ``near`` kinds no site
        has (naming the rule ids and kinds), and sites nowhere near the assets. Empty
        when nothing is wrong.

    Raises
    ------
    DataValidationError
        When any site's kind is outside ``policy.kinds``: one problem listing every such
        value with its count, and how to map them (``kinds=`` in `load_sites`,
        ``--kind-map`` on the command line, or ``other`` to leave them unprotected). Also
        when a rule of the policy is scoped by ``asset_types`` and an asset's type is
        outside `planner.schema.ASSET_TYPES` (checked whenever ``assets`` are given, with
        or without sites): the rule would leave it out silently.

    Examples
    --------
    >>> check_sites_against_policy(sites, load_policy("uk-cap-code"), assets=assets)
    ['exclusion rule(s) cap-playgrounds-100m protect nothing: no site is a playground ...']
    """
    if assets is not None:
        _check_asset_types(assets, policy)
    if sites is None or not policy.exclusions or "kind" not in sites.columns:
        return []
    unknown = unknown_kinds(sites, policy)
    if len(unknown):
        report = sites.attrs.get("report")
        mapped = dict(sites.attrs.get("kinds_mapped", {}))
        raise _unknown_kinds_error(unknown, policy, getattr(report, "source", source), mapped)
    present = set(sites["kind"].astype(str))
    idle = [r for r in policy.exclusions if not present & set(r.near)]
    warnings = []
    if idle and len(sites):
        kinds = sorted({k for r in idle for k in r.near})
        warnings.append(
            f"exclusion rule(s) {', '.join(r.id for r in idle)} protect nothing: no site is "
            f"a {' or '.join(kinds)} (the sites' kinds are {', '.join(sorted(present))}); "
            "add those sites, or check that the sites file's kinds are mapped as meant"
        )
    if assets is not None:
        warnings += check_layers_overlap({"assets": assets, "sites": sites})
    return warnings


def _check_asset_types(assets: pd.DataFrame, policy: Policy) -> None:
    """Refuse assets of a type no rule knows when a rule of the policy is scoped by type.

    A rule with ``asset_types = ["bus_shelter"]`` leaves out an asset whose type is
    outside the vocabulary (a misspelling, a council's own word) without a word: the rule
    is silently off for it. Types are normalised on load (``Bus Shelter`` is
    ``bus_shelter``), so what is left here is truly unknown.
    """
    scoped = [r for r in policy.rules if getattr(r, "asset_types", None) is not None]
    if not scoped or "asset_type" not in assets.columns:
        return
    types = assets["asset_type"].astype("string").fillna("").str.strip()
    unknown = types[~types.isin(ASSET_TYPES)].value_counts()
    if not len(unknown):
        return
    report = assets.attrs.get("report")
    source = getattr(report, "source", "assets")
    listing = ", ".join(f"'{k}' {n}" for k, n in unknown.head(20).items())
    more = f", and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    scopes = "; ".join(f"{r.id}: {', '.join(r.asset_types)}" for r in scoped)
    found = (
        f"{int(unknown.sum())} asset(s) have an asset type no rule knows ({listing}{more}), "
        f"and policy '{policy.name}' scopes rules by asset type ({scopes}), so those rules "
        "would silently leave them out"
    )
    fix = (
        "Write each as one of the known asset types in the file's 'asset_type' column "
        f"({', '.join(sorted(ASSET_TYPES))}), or map another column to it with "
        "columns={'your_column': 'asset_type'} (--assets-column your_column=asset_type); "
        "'other' leaves an asset outside every type-scoped rule on purpose"
    )
    raise DataValidationError(source, [Problem(source, "", "asset_type", found, fix)])


def _unknown_kinds_error(
    unknown: pd.Series, policy: Policy, source: str, mapped: dict[str, list[str]]
) -> DataValidationError:
    """One file-level problem listing the unknown kinds, their counts and the map to fix them.

    The map suggested (`planner.io.fields.kind_map_fix`) names only values in the file (a
    value the caller's own map produced is traced back to the file's value) and the kind
    each most likely is, never a kind by default.
    """
    listing = ", ".join(f"'{k}' {n}" for k, n in unknown.head(20).items())
    more = f", and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    found = (
        f"{int(unknown.sum())} site(s) have a kind that policy '{policy.name}' does not know "
        f"({listing}{more}), so none of its rules would protect them"
    )
    values = [str(k) or "your value" for k in unknown.index]
    fix = kind_map_fix(values, tuple(policy.kinds), mapped).replace(
        "e.g. kinds=", "e.g. load_sites(..., kinds=", 1
    )
    fix = re.sub(r"(load_sites\(\.\.\., kinds=\{.*?\})", r"\1)", fix, count=1)
    return DataValidationError(source, [Problem(source, "", "kind", found, fix)])
