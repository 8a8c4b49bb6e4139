"""Command-line subcommands about a policy: ``eligibility``, ``audit`` and ``map``."""

from __future__ import annotations

import argparse
from typing import cast

from planner.cli.common import (
    DATABASE_INPUT,
    DATABASE_OUTPUT,
    EXIT_FOUND,
    EXIT_OK,
    add_input_options,
    example,
    load_input,
    policy_inputs,
    progress_steps,
    warn,
    write_output,
)
from planner.cli.scale import add_scale_options, cluster_settings
from planner.errors import PlannerError

__all__ = ["add_audit", "add_eligibility", "add_map"]


# --- eligibility --------------------------------------------------------------------------


def add_eligibility(sub: argparse._SubParsersAction) -> None:
    """Add the ``eligibility`` subcommand: asset x category eligibility under a policy.

    Options: ``--assets``, ``--policy`` and ``--out`` (required), ``--sites`` (needed by
    exclusion rules) and the shared input options.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_eligibility`.
    """
    p = sub.add_parser(
        "eligibility",
        help="which advertiser categories each asset may carry under a policy, and why not",
        description=(
            "Apply a policy's ban and exclusion rules to every asset and advertiser category. "
            "Writes one row per asset x category (asset_id, category, allowed, reasons, "
            "rule_ids) and prints a summary by category."
        ),
        epilog=example(
            "python -m planner eligibility --assets assets.gpkg --sites sites.gpkg "
            "--policy uk-cap-code --out eligibility.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file, " + DATABASE_INPUT)
    p.add_argument("--sites", help="sensitive-sites file or table (needed for exclusion rules)")
    p.add_argument("--policy", required=True, help="policy preset name or .toml file")
    p.add_argument(
        "--out", required=True, help="output table: .csv, .gpkg, .xlsx, ... " + DATABASE_OUTPUT
    )
    add_input_options(p)
    add_scale_options(p)
    p.set_defaults(handler=_run_eligibility)


def _run_eligibility(args: argparse.Namespace) -> int:
    """Write the eligibility table and print a summary by category.

    Reads the policy, assets and sites (`planner.cli.common.policy_inputs`). Writes
    ``--out`` (layer ``eligibility``): one row per asset x category with ``asset_id``,
    ``category``, ``allowed``, ``reasons`` and ``rule_ids`` (`planner.policy.eligibility`).
    Prints, per category, how many assets are allowed and refused, and how many refusals
    each rule causes (an asset refused by two rules counts for both).

    Parameters
    ----------
    args
        ``assets``, ``sites``, ``policy``, ``out`` and the shared input options.

    Returns
    -------
    int
        0 once the table is written. Bad input raises instead (exit 2 in
        `planner.cli.main`).

    Raises
    ------
    PlannerError
        When the policy has exclusion rules but no ``--sites``, or the output format is not
        supported.
    DataValidationError
        When the asset or site file fails validation.
    PolicyError
        When the policy is unknown or invalid.
    """
    # With --scheduler, Dask draws its own progress bar.
    with progress_steps("eligibility", show=not args.scheduler) as step:
        step(0.0, "loading the policy, assets and sites")
        policy, assets, sites = policy_inputs(args)
        step(0.3, "checking every asset and category")
        table = _eligibility_table(args, assets, sites, policy)
        step(0.9, "writing the table")
        written, _ = write_output({"eligibility": table}, args.out)
    print(f"Policy: {policy.name} ({len(policy.rules)} rules); {len(assets)} assets.")
    print(f"{'category':<16}{'allowed':>10}{'refused':>10}  refused by")
    refused = table[~table["allowed"]]
    counts: dict[str, dict[str, int]] = {}
    for key, n in refused.groupby(["category", "rule_ids"], observed=True).size().items():
        refused_category, combo = cast("tuple[str, str]", key)
        for rule_id in combo.split(";"):  # few distinct combinations, however many rows
            per_rule = counts.setdefault(refused_category, {})
            per_rule[rule_id] = per_rule.get(rule_id, 0) + int(n)
    for category, allowed in table.groupby("category", observed=True)["allowed"]:
        rules = ", ".join(f"{r} {n:,}" for r, n in counts.get(str(category), {}).items())
        print(f"{category:<16}{int(allowed.sum()):>10,}{int((~allowed).sum()):>10,}  {rules}")
    print(f"Wrote {written}")
    return EXIT_OK


def _eligibility_table(args: argparse.Namespace, assets, sites, policy):
    """Eligibility in one process, or partitioned on the Dask cluster ``--scheduler`` names."""
    if not args.scheduler:
        from planner.policy.eligibility import eligibility

        return eligibility(assets, sites, policy)
    from planner.scale import connect, partitioned_eligibility

    cluster = cluster_settings(args)
    with connect(cluster) as client:
        return partitioned_eligibility(
            assets, sites, policy, client=client, cluster=cluster, cell_m=args.cell_km * 1000
        )


# --- audit ----------------------------------------------------------------------------------


def add_audit(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand: re-check a plan's placements against a policy.

    Options: ``--plan``, ``--assets`` and ``--policy`` (required), ``--sites``,
    ``--start`` (first day of cycle 1, ``YYYY-MM-DD``), ``--out`` (violations table) and
    the shared input options.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_audit`.
    """
    p = sub.add_parser(
        "audit",
        help="re-check a plan's placements against a policy (exit 1 if any rule is broken)",
        description=(
            "Re-check every placement of a plan against every rule of a policy (ban, "
            "exclusion, density, share, period), independently of how the plan was made. "
            "Exit 0 when compliant, 1 listing the violations, 2 on bad input."
        ),
        epilog=example(
            "python -m planner audit --plan plan.gpkg --assets assets.gpkg "
            "--sites sites.gpkg --policy uk-cap-code"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--plan", required=True, help="placements: CSV, or a plan GeoPackage's 'placements' layer"
    )
    p.add_argument("--assets", required=True, help="asset file the plan was made with")
    p.add_argument("--sites", help="sensitive-sites file (needed for exclusion rules)")
    p.add_argument("--policy", required=True, help="policy preset name or .toml file")
    p.add_argument("--start", help="first day of cycle 1, YYYY-MM-DD (default: the planner's)")
    p.add_argument("--out", help="also write the violations to this table (.csv, .xlsx, ...)")
    add_input_options(p)
    p.set_defaults(handler=_run_audit)


def _run_audit(args: argparse.Namespace) -> int:
    """Audit a plan's placements with `planner.policy.audit.audit` and list the violations.

    Reads the placements (a CSV or a plan GeoPackage's ``placements`` layer), the policy,
    assets and sites. The audit re-checks every rule (ban, exclusion, density, share,
    period) independently of how the plan was made; period rules use the cycle dates from
    ``--start`` (default `planner.calendar.DEFAULT_START`). With ``--out``, writes the
    violations (layer ``violations``, possibly empty). Prints ``Compliant: ...`` or each
    violation's rule, type, cycle, asset, campaign and reason (the first 200; ``--out``
    has them all).

    Parameters
    ----------
    args
        ``plan``, ``assets``, ``sites``, ``policy``, ``start``, ``out`` and the shared
        input options.

    Returns
    -------
    int
        0 when every placement meets every rule, 1 when there is at least one violation.
        Bad input raises instead (exit 2 in `planner.cli.main`).

    Raises
    ------
    PlannerError
        When ``--start`` is not a date, the plan file is missing, not ``.csv`` or
        ``.gpkg``, has no ``placements`` layer or cannot be read, or the policy has
        exclusion rules but no ``--sites``.
    DataValidationError
        When the asset or site file fails validation, or a placement names an unknown
        asset or category or has a cycle that is not a whole number of at least 1.
    PolicyError
        When the policy is unknown or invalid.
    """
    from datetime import date

    from planner.calendar import DEFAULT_START
    from planner.io.readers import load_placements, write_table
    from planner.policy.audit import audit

    try:
        start = date.fromisoformat(args.start) if args.start else DEFAULT_START
    except ValueError:
        raise PlannerError(f"--start '{args.start}' is not a date; write e.g. 2027-01-04") from None
    with progress_steps("audit") as step:
        step(0.0, "loading the plan, policy, assets and sites")
        placements = load_placements(args.plan)
        policy, assets, sites = policy_inputs(args)
        step(0.4, "re-checking every placement")
        found = audit(placements, assets, sites, policy, start=start)
        written = write_table(found, args.out, layer="violations") if args.out else None
    if written is not None:
        print(f"Wrote {written}")
    if found.empty:
        print(f"Compliant: {len(placements)} placements meet every rule of '{policy.name}'.")
        return EXIT_OK
    print(f"{len(found)} violation(s) of '{policy.name}' in {len(placements)} placements:")
    for row in found.head(200).itertuples():
        where = " ".join(
            f"{k} {v!s}" for k, v in (("asset", row.asset_id), ("campaign", row.campaign_id)) if v
        )
        print(f"  {row.rule_id} ({row.rule_type}), cycle {row.cycle}, {where}: {row.reason}")
    if len(found) > 200:
        print(f"  ... and {len(found) - 200} more (use --out to write them all)")
    return EXIT_FOUND


# --- map ----------------------------------------------------------------------------------


def add_map(sub: argparse._SubParsersAction) -> None:
    """Add the ``map`` subcommand: a standalone HTML map.

    Options: ``--assets`` and ``--out`` (required), ``--sites``, ``--zones``, ``--policy``
    with ``--category``, ``--plan``, ``--color-by`` (``status`` or ``campaign``),
    ``--assets-mode`` (``auto``, ``local``, ``cdn``), ``--tiles`` (``auto``, ``osm``,
    ``none``) and the shared input options.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_map`.
    """
    p = sub.add_parser(
        "map",
        help="draw assets, sensitive sites, exclusion zones, demand and a plan as an HTML map",
        description=(
            "Write a standalone HTML map that opens offline: assets coloured by status "
            "(booked, eligible, restricted, unavailable) or by campaign, with popups giving "
            "each restriction's reason. Leaflet is inlined from installed packages."
        ),
        epilog=example(
            "python -m planner map --assets assets.gpkg --sites schools.gpkg "
            "--policy uk-cap-code --category alcohol --plan plan.gpkg --out map.html"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file")
    p.add_argument("--sites", help="sensitive-sites file")
    p.add_argument("--zones", help="demand zones with population (choropleth)")
    p.add_argument("--policy", help="policy preset name or .toml file (eligibility, zones)")
    p.add_argument("--category", help="colour eligibility for this advertiser category")
    p.add_argument("--plan", help="placements: CSV, or a plan GeoPackage's 'placements' layer")
    p.add_argument("--color-by", choices=["status", "campaign"], default="status")
    p.add_argument(
        "--assets-mode",
        choices=["auto", "local", "cdn"],
        help="where Leaflet comes from (default: $PLANNER_MAP_ASSETS, else auto = inlined)",
    )
    p.add_argument(
        "--tiles",
        choices=["auto", "osm", "none"],
        help="base tiles (default: $PLANNER_MAP_TILES, else OpenStreetMap when reachable)",
    )
    p.add_argument("--out", required=True, help="output .html file")
    add_input_options(p)
    p.set_defaults(handler=_run_map)


def _run_map(args: argparse.Namespace) -> int:
    """Draw the assets and whatever else is given with `planner.maps.render.asset_map`.

    Reads the assets (shared input options), sites and zones (``--crs``, ``--encoding``,
    ``--drop-invalid``), the policy (eligibility, and exclusion zones when sites are
    given) and the plan's placements. Writes ``--out``: one HTML page that opens offline,
    Leaflet inlined from installed packages unless ``--assets-mode cdn``; base tiles from
    OpenStreetMap only when ``--tiles`` (or ``$PLANNER_MAP_TILES``) allows and the tile
    server answers. Prints the path, its size in MB and the number of assets.

    Parameters
    ----------
    args
        Every option of ``map`` (see `add_map`).

    Returns
    -------
    int
        0 once the map is written. Bad input raises instead (exit 2 in `planner.cli.main`).

    Raises
    ------
    PlannerError
        When ``--category`` is given without ``--policy`` or is not a category of the
        eligibility table, the plan file cannot be read, or ``$PLANNER_MAP_ASSETS`` or
        ``$PLANNER_MAP_TILES`` holds an invalid choice.
    DataValidationError
        When the asset, site or zone file fails validation, or the policy has exclusion
        rules but no ``--sites`` is given.
    PolicyError
        When the policy is unknown or invalid.
    """
    from planner.io.readers import load_placements
    from planner.maps.render import asset_map, save_map

    with progress_steps("map") as step:
        step(0.0, "loading the layers")
        assets = load_input(args, "assets")
        sites = load_input(args, "sites")
        zones = load_input(args, "zones")
        elig = zones_of_rules = None
        if args.policy:
            from planner.policy.eligibility import eligibility, exclusion_zones
            from planner.policy.load import load_policy

            policy = load_policy(args.policy)
            elig = eligibility(assets, sites, policy)
            warn(elig.attrs.get("warnings", []))
            if sites is not None:
                zones_of_rules = exclusion_zones(sites, policy)
        elif args.category:
            raise PlannerError("--category needs --policy NAME_OR_FILE to decide eligibility")
        placements = load_placements(args.plan) if args.plan else None
        step(0.5, "drawing the map")
        m = asset_map(
            assets,
            sites=sites,
            zones=zones,
            eligibility=elig,
            exclusion_zones=zones_of_rules,
            placements=placements,
            color_by=args.color_by,
            category=args.category,
            assets_mode=args.assets_mode,
            tiles=args.tiles,
        )
        path = save_map(m, args.out, assets_mode=args.assets_mode)
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(assets)} assets)")
    return EXIT_OK
