"""Command line for the council's view: which assets to open, by value or by reach.

``select-sites --objective value`` picks the fewest assets that meet a revenue target (or
the most valuable N) under the policy with `planner.select_sites`; ``--objective reach``
picks N assets that put the most residents within walking distance of an open asset, by
maximal covering (`planner.max_cover`).
"""

from __future__ import annotations

import argparse

import numpy as np

from planner.cli.common import (
    EXIT_FOUND,
    EXIT_OK,
    add_input_options,
    example,
    load_input,
    non_negative_float,
    positive_float,
    positive_int,
    progress_steps,
)
from planner.errors import PlannerError

__all__ = ["add_select_sites"]


def add_select_sites(sub: argparse._SubParsersAction) -> None:
    """Add the ``select-sites`` subcommand: assets to open, by value or by reach.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_select_sites`.
    """
    p = sub.add_parser(
        "select-sites",
        help="choose which assets to open, by annual value or by residents reached",
        description=(
            "Choose the assets to open to advertising. --objective value: the fewest assets "
            "whose modelled annual value meets --revenue-target (or the most valuable "
            "--n-sites), respecting the policy's exclusion and density rules. --objective "
            "reach: the --n-sites assets that put the most residents of --zones within "
            "--walk-m of an open asset (maximal covering, with a proven bound). Exit 0 with "
            "a selection, 1 when none meets the request (with the reason), 2 on bad input."
        ),
        epilog=example(
            "python -m planner select-sites --assets data/assets.gpkg --zones data/zones.gpkg "
            "--sites data/sites.gpkg --policy uk-cap-code --rates demo --terms demo "
            "--revenue-target 200000 --out selection.gpkg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file (candidate sites)")
    p.add_argument("--zones", help="demand zones with population (required for reach)")
    p.add_argument("--sites", help="sensitive-sites file (for the policy's exclusion rules)")
    p.add_argument("--policy", help="policy preset name or .toml file")
    p.add_argument("--objective", choices=("value", "reach"), default="value")
    p.add_argument(
        "--revenue-target", type=non_negative_float, help="annual value to reach (value only)"
    )
    p.add_argument("--n-sites", type=positive_int, help="most assets to open")
    p.add_argument("--walk-m", type=positive_float, default=400.0, help="walking distance, metres")
    p.add_argument("--rates", default="uk-default", help="rate card name or .toml file")
    p.add_argument("--terms", default="uk-default", help="concession terms name or .toml file")
    p.add_argument("--time-limit", type=positive_float, default=10.0, help="solver seconds")
    p.add_argument("--out", required=True, help="output table: .gpkg, .csv, .xlsx, ...")
    add_input_options(p)
    p.set_defaults(handler=_run_select_sites)


def _run_select_sites(args: argparse.Namespace) -> int:
    """Load the inputs, choose the assets and write them with their value or reach.

    Writes layer ``selection`` to ``--out``: one row per asset opened (``asset_id``,
    geometry, and ``annual_value_central`` for value or ``residents_reached`` for reach)
    and prints the objective, bound and gap.

    Parameters
    ----------
    args
        The parsed options of ``select-sites``.

    Returns
    -------
    int
        0 with a selection; 1 when no selection meets the request (the reason printed).

    Raises
    ------
    PlannerError
        When an option the objective needs is missing (``--zones`` and ``--n-sites`` for
        reach; ``--revenue-target`` or ``--n-sites`` for value).
    DataValidationError, PolicyError, PricingError
        When an input file, the policy, the rate card or the terms are invalid.
    """
    from planner.io.readers import write_layers
    from planner.optimise.settings import SolverSettings

    with progress_steps("select-sites") as step:
        step(0.0, "loading the assets, zones and sites")
        assets = load_input(args, "assets")
        zones = load_input(args, "zones")
        sites = load_input(args, "sites")
        solver = SolverSettings(time_limit=args.time_limit)
        step(0.2, f"selecting by {args.objective} (up to {args.time_limit:g} s)")
        if args.objective == "reach":
            table, lines, ok = _by_reach(args, assets, zones, solver)
        else:
            table, lines, ok = _by_value(args, assets, zones, sites, solver)
    print("\n".join(lines))
    if not ok:
        return EXIT_FOUND
    path = write_layers({"selection": table}, args.out)
    print(f"Wrote {path}")
    return EXIT_OK


def _by_value(args, assets, zones, sites, solver):
    """Select by annual value with `planner.select_sites`; return (table, lines, ok)."""
    from planner.optimise.site_selection import select_sites
    from planner.policy.load import load_policy
    from planner.value.valuation import value_assets

    if args.revenue_target is None and args.n_sites is None:
        raise PlannerError("--objective value needs --revenue-target, --n-sites or both")
    policy = load_policy(args.policy) if args.policy else None
    if policy is not None and policy.exclusions and sites is None:
        ids = ", ".join(r.id for r in policy.exclusions)
        raise PlannerError(f"policy '{args.policy}' has exclusion rules ({ids}); add --sites FILE")
    values = value_assets(assets, zones=zones, rate_card=args.rates, terms=args.terms)
    sel = select_sites(
        values,
        assets,
        revenue_target=args.revenue_target,
        n_sites=args.n_sites,
        policy=policy,
        sites=sites,
        solver=solver,
    )
    if not sel.ok:
        return None, ["No selection meets the request:", *sel.explanation], False
    chosen = values[values["asset_id"].isin(sel.open)][["asset_id", "annual_value_central"]]
    table = assets[["asset_id", "geometry"]].merge(chosen, on="asset_id")
    currency = values["currency"].iloc[0] if "currency" in values.columns else ""
    lines = [
        f"{sel.n_sites} assets open, modelled annual value {sel.annual_value:,.0f} {currency} "
        f"(status {sel.status}, gap {sel.gap:.2%}; a modelled estimate)"
    ]
    return table, lines, True


def _by_reach(args, assets, zones, solver):
    """Select by residents reached with `planner.max_cover`; return (table, lines, ok)."""
    from planner.optimise.covering import coverage_from_frames, max_cover

    if zones is None or args.n_sites is None:
        raise PlannerError("--objective reach needs --zones (with population) and --n-sites")
    open_ = assets
    if "status" in assets.columns:
        open_ = assets[assets["status"].fillna("available") != "unavailable"]
    cov = coverage_from_frames(zones, open_, args.walk_m)
    people = zones["population"].to_numpy(dtype=float)
    res = max_cover(cov, people, k=args.n_sites, solver=solver)
    if not res.ok:
        return None, ["No selection meets the request:", *res.explanation], False
    chosen = open_.iloc[list(res.sites)][["asset_id", "geometry"]].copy()
    reached: np.ndarray | list[int] = []
    if res.sites:
        reached = np.asarray(cov[:, list(res.sites)].sum(axis=0)).ravel()
    chosen["zones_within_walk"] = reached
    total = float(people.sum())
    lines = [
        f"{len(res.sites)} assets open put {res.covered_weight:,.0f} of {total:,.0f} residents "
        f"({res.covered_weight / total:.1%}) within {args.walk_m:,.0f} m of an open asset; "
        f"proven bound {res.bound:,.0f} (gap {res.gap:.2%}, {res.status}). Residents are "
        "modelled from the zones' population, not measured."
    ]
    return chosen, lines, True
