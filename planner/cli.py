"""Command line: ``python -m planner <subcommand>`` (also installed as ``ooh-planner``).

Exit codes: 0 success, 1 infeasible plan or policy violations found, 2 bad input.
A user error prints a plain message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from planner.errors import PlannerError

if TYPE_CHECKING:
    pass

__all__ = ["main"]

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2

# Each subcommand is a pair: `_add_<name>(subparsers)` builds its parser and sets
# `handler=_run_<name>`; `_run_<name>(args) -> int` does the work and returns the exit code.
# Register new subcommands in `_SUBCOMMANDS` at the bottom of the file.


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a plain message on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _example(text: str) -> str:
    return f"example:\n  {text}"


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads asset, site or zone files."""
    parser.add_argument("--crs", help="CRS of files that do not state one, e.g. EPSG:27700")
    parser.add_argument(
        "--drop-invalid",
        action="store_true",
        help="drop invalid rows (each still reported) instead of stopping",
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FILE_COL=CONTRACT_COL",
        help="map a file column to a contract column (repeatable), e.g. Stop_Code_LBSL=asset_id",
    )
    parser.add_argument(
        "--default",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="value for a contract column the file lacks (repeatable), e.g. asset_type=bus_stop",
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of CSV files")


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise PlannerError(f"{option} expects NAME=VALUE; got '{item}'")
        pairs[key.strip()] = value.strip()
    return pairs


def load_options(args: argparse.Namespace) -> dict[str, object]:
    """Keyword arguments for the `planner.io` loaders from the shared input options."""
    return {
        "crs": args.crs,
        "columns": _pairs(args.column, "--column"),
        "defaults": _pairs(args.default, "--default"),
        "drop_invalid": args.drop_invalid,
        "encoding": args.encoding,
    }


# --- validate ---------------------------------------------------------------------------


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check an assets, sites or zones file and print a report",
        description="Check a file against the data contract and print every problem.",
        epilog=_example(
            "python -m planner validate --assets bus-stops.csv --crs EPSG:27700 "
            "--column Stop_Code_LBSL=asset_id --default asset_type=bus_stop"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--assets", help="asset file")
    group.add_argument("--sites", help="sensitive-sites file")
    group.add_argument("--zones", help="demand-zones file")
    _add_input_options(p)
    p.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from planner.io import validate_file

    kind, path = next(
        (k, getattr(args, k)) for k in ("assets", "sites", "zones") if getattr(args, k)
    )
    report = validate_file(path, kind, **load_options(args))
    print(report.to_text())
    if report.errors and not (args.drop_invalid and report.rows_valid):
        print(
            f"\nNot valid: fix the {len(report.errors)} error(s) above"
            + ("" if args.drop_invalid else ", or use --drop-invalid to drop those rows")
            + "."
        )
        return EXIT_BAD_INPUT
    print(
        "\nValid."
        if not report.errors
        else f"\nValid after dropping {report.rows_read - report.rows_valid} row(s)."
    )
    return EXIT_OK


# --- import-osm ---------------------------------------------------------------------------


def _add_import_osm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-osm",
        help="make assets.gpkg and sites.gpkg from an OpenStreetMap extract (offline)",
        description=(
            "Read street assets and sensitive sites from a .osm.pbf or .osm extract and "
            "write DIR/assets.gpkg and DIR/sites.gpkg."
        ),
        epilog=_example("python -m planner import-osm my-area.osm.pbf --out my-area/"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("extract", help="OpenStreetMap extract (.osm.pbf or .osm)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument(
        "--bbox",
        metavar="MINLON,MINLAT,MAXLON,MAXLAT",
        help="keep only features touching this box, in degrees (write --bbox=-0.2,... "
        "when it starts with a minus)",
    )
    p.set_defaults(handler=_run_import_osm)


def _run_import_osm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.io import write_table
    from planner.osm import ATTRIBUTION, import_osm

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PlannerError(f"--out '{out}' is a file; give a folder for assets.gpkg and sites.gpkg")
    bbox = None
    if args.bbox:
        bbox = tuple(v.strip() for v in args.bbox.split(","))
    assets, sites = import_osm(args.extract, bbox=bbox)
    for frame, name, column in ((assets, "assets", "asset_type"), (sites, "sites", "kind")):
        path = write_table(frame, out / f"{name}.gpkg", layer=name)
        counts = ", ".join(f"{k} {n}" for k, n in frame[column].value_counts().items())
        print(f"{path}: {len(frame)} {name}" + (f" ({counts})" if counts else ""))
    clipped = len(sites.attrs.get("clipped", []))
    if clipped:
        print(f"{clipped} site(s) cut by the edge of the extract keep only their part inside it.")
    print(f"Data {ATTRIBUTION}: attribute it wherever it is shown.")
    return EXIT_OK


# --- value ----------------------------------------------------------------------------------


def _add_value(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "value",
        help="value every asset a year (audience, price, sales, council income)",
        description=(
            "Estimate each asset's weekly impacts, price, annual media value, expected sales "
            "and council income (low/central/high), write the table and print portfolio "
            "totals. With --policy, also the value the policy puts out of reach. Every figure "
            "is a modelled estimate from the assumptions written beside it."
        ),
        epilog=_example(
            "python -m planner value --assets assets.gpkg --zones lsoa.gpkg "
            "--sites schools.gpkg --policy uk-cap-code --out values.gpkg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file")
    p.add_argument("--sites", help="sensitive-sites file (for --policy exclusion rules)")
    p.add_argument("--policy", help="policy preset name or .toml file")
    p.add_argument("--zones", help="demand zones with population (e.g. LSOA polygons)")
    p.add_argument("--rates", default="uk-default", help="rate card name or .toml file")
    p.add_argument("--terms", default="uk-default", help="concession terms name or .toml file")
    p.add_argument("--out", required=True, help="output table: .gpkg, .csv, .xlsx, ...")
    _add_input_options(p)
    p.set_defaults(handler=_run_value)


def _run_value(args: argparse.Namespace) -> int:
    from planner.io import load_assets, load_sites, load_zones, write_layers
    from planner.valuation import (
        assumptions_table,
        policy_value_at_risk,
        portfolio_summary,
        value_assets,
    )

    if args.sites and not args.policy:
        raise PlannerError("--sites is only used with --policy; add --policy NAME_OR_FILE")
    assets = load_assets(args.assets, **load_options(args))
    plain = {"crs": args.crs, "encoding": args.encoding}
    zones = load_zones(args.zones, **plain) if args.zones else None
    elig = policy = None
    if args.policy:
        from planner.eligibility import eligibility
        from planner.policy import load_policy

        policy = load_policy(args.policy)
        sites = load_sites(args.sites, **plain) if args.sites else None
        elig = eligibility(assets, sites, policy)
    values = value_assets(
        assets, zones=zones, rate_card=args.rates, terms=args.terms, eligibility=elig
    )
    layers = {
        "values": values,
        "assumptions": assumptions_table(rate_card=args.rates, terms=args.terms),
    }
    if elig is not None:
        layers["policy_cost"] = policy_value_at_risk(values, elig, policy, terms=args.terms)
    path = write_layers(layers, args.out)
    _print_totals(portfolio_summary(values, args.terms), layers.get("policy_cost"))
    note = (
        "" if path.suffix in {".gpkg", ".xlsx"} else " (values only: .gpkg/.xlsx add assumptions)"
    )
    print(f"Wrote {path}{note}")
    return EXIT_OK


def _print_totals(summary: dict, policy_cost: object = None) -> None:
    print(
        f"{summary['assets']} assets, {summary['faces']} faces; audiences: "
        f"{summary['impacts_modelled']} modelled, {summary['impacts_measured']} measured."
    )
    print(f"Modelled estimates, {summary['currency']} a year (terms: {summary['terms']}):")
    print(f"  {'':<34}{'low':>14}{'central':>14}{'high':>14}")
    for label, key in (
        ("gross media value sold", "annual_value"),
        ("expected net sales", "expected_sales"),
        ("council income", "council_income"),
    ):
        cells = "".join(f"{summary[f'{key}_{s}']:>14,.0f}" for s in ("low", "central", "high"))
        print(f"  {label:<34}{cells}")
    print(f"  {'media value if every cycle sold':<34}{summary['annual_value_full']:>14,.0f}")
    binding = [s for s in ("low", "central", "high") if summary[f"guarantee_binding_{s}"]]
    if binding:
        print(f"  the minimum guarantee binds in the {'/'.join(binding)} case")
    if policy_cost is not None:
        total = policy_cost[policy_cost["level"] == "total"].iloc[0]
        print(
            "Policy: value out of reach (upper bound, if no other advertiser buys the space): "
            f"{total['value_out_of_reach_central']:,.0f} gross, council income "
            f"{total['council_income_out_of_reach_central']:,.0f} (central)"
        )


# --- eligibility --------------------------------------------------------------------------


def _add_eligibility(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eligibility",
        help="which advertiser categories each asset may carry under a policy, and why not",
        description=(
            "Apply a policy's ban and exclusion rules to every asset and advertiser category. "
            "Writes one row per asset x category (asset_id, category, allowed, reasons, "
            "rule_ids) and prints a summary by category."
        ),
        epilog=_example(
            "python -m planner eligibility --assets assets.gpkg --sites sites.gpkg "
            "--policy uk-cap-code --out eligibility.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file")
    p.add_argument("--sites", help="sensitive-sites file (needed for exclusion rules)")
    p.add_argument("--policy", required=True, help="policy preset name or .toml file")
    p.add_argument("--out", required=True, help="output table: .csv, .gpkg, .xlsx, ...")
    _add_input_options(p)
    p.set_defaults(handler=_run_eligibility)


def _policy_inputs(args: argparse.Namespace):
    """Policy, assets and sites named on the command line (sites only when needed)."""
    from planner.io import load_assets, load_sites
    from planner.policy import load_policy

    policy = load_policy(args.policy)
    if policy.exclusions and not args.sites:
        ids = ", ".join(r.id for r in policy.exclusions)
        raise PlannerError(f"policy '{args.policy}' has exclusion rules ({ids}); add --sites FILE")
    assets = load_assets(args.assets, **load_options(args))
    plain = {"crs": args.crs, "encoding": args.encoding, "drop_invalid": args.drop_invalid}
    sites = load_sites(args.sites, **plain) if args.sites else None
    return policy, assets, sites


def _run_eligibility(args: argparse.Namespace) -> int:
    from planner.eligibility import eligibility
    from planner.io import write_table

    policy, assets, sites = _policy_inputs(args)
    table = eligibility(assets, sites, policy)
    path = write_table(table, args.out, layer="eligibility")
    print(f"Policy: {policy.name} ({len(policy.rules)} rules); {len(assets)} assets.")
    print(f"{'category':<16}{'allowed':>10}{'refused':>10}  refused by")
    refused = table[~table["allowed"]]
    counts: dict[str, dict[str, int]] = {}
    for (category, combo), n in (
        refused.groupby(["category", "rule_ids"], observed=True).size().items()
    ):
        for rule_id in combo.split(";"):  # few distinct combinations, however many rows
            per_rule = counts.setdefault(category, {})
            per_rule[rule_id] = per_rule.get(rule_id, 0) + int(n)
    for category, allowed in table.groupby("category", observed=True)["allowed"]:
        rules = ", ".join(f"{r} {n:,}" for r, n in counts.get(category, {}).items())
        print(f"{category:<16}{int(allowed.sum()):>10,}{int((~allowed).sum()):>10,}  {rules}")
    print(f"Wrote {path}")
    return EXIT_OK


# --- audit ----------------------------------------------------------------------------------


def _add_audit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="re-check a plan's placements against a policy (exit 1 if any rule is broken)",
        description=(
            "Re-check every placement of a plan against every rule of a policy (ban, "
            "exclusion, density, share, period), independently of how the plan was made. "
            "Exit 0 when compliant, 1 listing the violations, 2 on bad input."
        ),
        epilog=_example(
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
    _add_input_options(p)
    p.set_defaults(handler=_run_audit)


def _run_audit(args: argparse.Namespace) -> int:
    from datetime import date

    from planner.audit import audit
    from planner.cycles import DEFAULT_START
    from planner.io import load_placements, write_table

    try:
        start = date.fromisoformat(args.start) if args.start else DEFAULT_START
    except ValueError:
        raise PlannerError(f"--start '{args.start}' is not a date; write e.g. 2027-01-04") from None
    placements = load_placements(args.plan)
    policy, assets, sites = _policy_inputs(args)
    found = audit(placements, assets, sites, policy, start=start)
    if args.out:
        print(f"Wrote {write_table(found, args.out, layer='violations')}")
    if found.empty:
        print(f"Compliant: {len(placements)} placements meet every rule of '{policy.name}'.")
        return EXIT_OK
    print(f"{len(found)} violation(s) of '{policy.name}' in {len(placements)} placements:")
    for row in found.head(200).itertuples():
        where = " ".join(
            f"{k} {v}" for k, v in (("asset", row.asset_id), ("campaign", row.campaign_id)) if v
        )
        print(f"  {row.rule_id} ({row.rule_type}), cycle {row.cycle}, {where}: {row.reason}")
    if len(found) > 200:
        print(f"  ... and {len(found) - 200} more (use --out to write them all)")
    return EXIT_FOUND


# --- plan ---------------------------------------------------------------------------------


def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="place campaigns on asset faces and cycles (CP-SAT), write the plan",
        description=(
            "Propose which campaign goes on which asset face in which 2-week cycle, meeting "
            "budgets, faces per cycle, spacing, competitor separation, the policy and the "
            "council's revenue target. Writes layers 'placements', 'campaigns' and "
            "'summary'. Exit 0 with a plan, 1 when no plan exists (with the reason), 2 on "
            "bad input."
        ),
        epilog=_example(
            "python -m planner plan --assets data/assets.gpkg --sites data/sites.gpkg "
            "--zones data/zones.gpkg --policy uk-cap-code --campaigns data/campaigns.csv "
            "--rates demo --terms demo --objective 'revenue>reach' --out plan.gpkg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file")
    p.add_argument("--sites", help="sensitive-sites file (needed by exclusion rules)")
    p.add_argument("--zones", help="demand zones with population (audience and reach)")
    p.add_argument("--policy", required=True, help="policy preset name or .toml file")
    p.add_argument("--campaigns", required=True, help="campaigns CSV (see the README)")
    p.add_argument("--locked", help="CSV of placements to keep: asset_id,campaign_id,cycle")
    p.add_argument(
        "--revenue-target",
        type=float,
        default=0.0,
        help="least council revenue from the plan, in the rate card's currency",
    )
    p.add_argument(
        "--objective",
        default="revenue",
        help="revenue, impacts, reach, a blend revenue=0.7+reach=0.3, or an "
        "order revenue>reach (default revenue)",
    )
    p.add_argument("--rates", default="uk-default", help="rate card name or .toml file")
    p.add_argument("--terms", default="uk-default", help="concession terms name or .toml file")
    p.add_argument("--time-limit", type=float, default=30.0, help="solver seconds (default 30)")
    p.add_argument("--workers", type=int, default=2, help="solver workers (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--skip-unplaceable",
        action="store_true",
        help="leave out campaigns that cannot be placed at all, with a note",
    )
    p.add_argument("--out", required=True, help="plan file: .gpkg (layers), .xlsx or .csv")
    _add_input_options(p)
    p.set_defaults(handler=_run_plan)


def _progress_bar(label: str):
    """A tqdm bar on a terminal; silent when output is not a terminal."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=label,
        disable=not sys.stderr.isatty(),
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
    )

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message[:40])
        bar.refresh()

    return bar, update


def _run_plan(args: argparse.Namespace) -> int:
    from planner.instance import PlanSettings
    from planner.io import load_placements, load_zones
    from planner.plan import plan
    from planner.solve import SolverSettings
    from planner.terms import load_terms
    from planner.valuation import value_assets

    policy, assets, sites = _policy_inputs(args)
    from planner.io import load_campaigns

    campaigns = load_campaigns(args.campaigns, categories=policy.categories)
    zones = load_zones(args.zones, crs=args.crs) if args.zones else None
    values = value_assets(assets, zones=zones, rate_card=args.rates, terms=args.terms)
    terms = load_terms(args.terms)
    settings = PlanSettings(
        revenue_target=args.revenue_target, skip_unplaceable=args.skip_unplaceable
    )
    solver = SolverSettings(time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    locked = load_placements(args.locked) if args.locked else None
    bar, update = _progress_bar("planning")
    try:
        result = plan(
            assets,
            campaigns,
            policy,
            sites=sites,
            values=values,
            zones=zones,
            locked=locked,
            objective=args.objective,
            settings=settings,
            solver=solver,
            terms=terms,
            progress=update,
        )
    finally:
        bar.close()
    return _report_plan(result, args.out)


def _report_plan(result, out: str) -> int:
    from planner.io import write_layers

    print(_plan_text(result))
    if not result.ok:
        return EXIT_FOUND
    layers = {
        "placements": result.placements,
        "campaigns": result.campaigns,
        "summary": result.summary(),
    }
    write_layers(layers, out)
    print(f"Wrote {out}")
    return EXIT_OK


def _plan_text(result) -> str:
    """Plain-words summary of a plan."""
    lines = [f"Plan status: {result.status} ({result.method}, {result.seconds:.1f} s)"]
    if result.ok:
        cur = result.currency
        lines += [
            f"  placements: {len(result.placements):,}",
            f"  gross sales: {result.sales:,.0f} {cur}; council revenue (revenue share of net "
            f"sales): {result.council_revenue:,.0f} {cur}",
            f"  impacts: {result.impacts:,} (modelled estimate); reach: {result.reach:,} people",
            f"  objective {result.objective_name}: {result.objective:,.0f} "
            f"({result.bound_text})",
        ]
        if "revenue" in result.greedy:
            lines.append(f"  greedy baseline sales: {result.greedy['revenue']:,.0f} {cur}")
    lines += [f"  {text}" for text in result.explanation + result.notes]
    return "\n".join(lines)


# --- demo ---------------------------------------------------------------------------------


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole chain on the bundled Helsinki demo and write the results",
        description=(
            "Load the bundled demo (Helsinki centre, OpenStreetMap), check eligibility under "
            "a policy, value the assets, plan the demo campaigns, audit the plan and write "
            "plan.gpkg, values.gpkg, eligibility.csv, map.html and summary.txt to DIR."
        ),
        epilog=_example("python -m planner demo --out demo-output"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--policy", default="uk-cap-code", help="policy preset or .toml file")
    p.add_argument("--objective", default="revenue>reach", help="objective (see plan --help)")
    p.add_argument("--time-limit", type=float, default=20.0, help="solver seconds (default 20)")
    p.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.demo import run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PlannerError(f"--out '{out}' is a file; give a folder for the demo's outputs")
    bar, update = _progress_bar("demo")
    try:
        result = run_demo(
            out,
            policy=args.policy,
            objective=args.objective,
            time_limit=args.time_limit,
            progress=update,
        )
    finally:
        bar.close()
    print(result.text)
    return EXIT_OK if result.ok else EXIT_FOUND


# --- map ----------------------------------------------------------------------------------


def _add_map(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="draw assets, sensitive sites, exclusion zones, demand and a plan as an HTML map",
        description=(
            "Write a standalone HTML map that opens offline: assets coloured by status "
            "(booked, eligible, restricted, unavailable) or by campaign, with popups giving "
            "each restriction's reason. Leaflet is inlined from installed packages."
        ),
        epilog=_example(
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
    _add_input_options(p)
    p.set_defaults(handler=_run_map)


def _run_map(args: argparse.Namespace) -> int:
    from planner.io import load_assets, load_placements, load_sites, load_zones
    from planner.maps import asset_map, save_map

    assets = load_assets(args.assets, **load_options(args))
    plain = {"crs": args.crs, "encoding": args.encoding, "drop_invalid": args.drop_invalid}
    sites = load_sites(args.sites, **plain) if args.sites else None
    zones = load_zones(args.zones, **plain) if args.zones else None
    elig = zones_of_rules = None
    if args.policy:
        from planner.eligibility import eligibility, exclusion_zones
        from planner.policy import load_policy

        policy = load_policy(args.policy)
        elig = eligibility(assets, sites, policy)
        if sites is not None:
            zones_of_rules = exclusion_zones(sites, policy)
    elif args.category:
        raise PlannerError("--category needs --policy NAME_OR_FILE to decide eligibility")
    placements = load_placements(args.plan) if args.plan else None
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


# --- registry -----------------------------------------------------------------------------

_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_validate,
    _add_import_osm,
    _add_value,
    _add_eligibility,
    _add_audit,
    _add_plan,
    _add_demo,
    _add_map,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="python -m planner",
        description="Out-of-home advertising asset planner for councils and media agencies.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def _os_error_text(exc: OSError) -> str:
    """A file-system error in words: the path, what went wrong and what to check."""
    path = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    return f"cannot use '{path}': {reason}. Check the path exists and can be written or read"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.handler(args))
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_BAD_INPUT)
    except OSError as exc:
        # A path the user gave cannot be read or written (missing folder, permissions, a
        # file where a folder is expected): say which and why, without a traceback.
        print(f"error: {_os_error_text(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
