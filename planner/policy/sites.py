"""Sensitive sites checked against a policy before any verdict: no rule silently off.

A site whose kind the policy does not know is protected by no rule, whatever the file
meant ("Local authority maintained schools" is a school to a reader, not to a rule), so
such sites stop the run with their values, counts and the map that fixes them. An
exclusion rule whose kinds no site has protects nothing, and a sites layer nowhere near
the assets protects none of them: both are warnings, given before any plan is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import DataValidationError, Problem
from planner.io.validation import check_layers_overlap

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
    Nothing is checked for a policy without exclusion rules, which never reads the sites.

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
        ``--kind-map`` on the command line, or ``other`` to leave them unprotected).

    Examples
    --------
    >>> check_sites_against_policy(sites, load_policy("uk-cap-code"), assets=assets)
    ['exclusion rule(s) cap-playgrounds-100m protect nothing: no site is a playground ...']
    """
    if sites is None or not policy.exclusions or "kind" not in sites.columns:
        return []
    unknown = unknown_kinds(sites, policy)
    if len(unknown):
        report = sites.attrs.get("report")
        raise _unknown_kinds_error(unknown, policy, getattr(report, "source", source))
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


def _unknown_kinds_error(unknown: pd.Series, policy: Policy, source: str) -> DataValidationError:
    """One file-level problem listing the unknown kinds, their counts and the map to fix them."""
    listing = ", ".join(f"'{k}' {n}" for k, n in unknown.head(20).items())
    more = f", and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    first = str(unknown.index[0]) or "your value"
    found = (
        f"{int(unknown.sum())} site(s) have a kind that policy '{policy.name}' does not know "
        f"({listing}{more}), so none of its rules would protect them"
    )
    fix = (
        f"Map each value to one of the policy's kinds ({', '.join(policy.kinds)}): "
        f"load_sites(..., kinds={{'{first}': 'school'}}) or --kind-map '{first}=school'; "
        "map a value to 'other' to leave those sites unprotected on purpose"
    )
    return DataValidationError(source, [Problem(source, "", "kind", found, fix)])
