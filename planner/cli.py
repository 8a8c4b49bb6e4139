"""Command line: ``python -m planner <subcommand>`` (also installed as ``ooh-planner``).

Exit codes: 0 success, 1 infeasible plan or policy violations found, 2 bad input.
A user error prints a plain message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from planner.errors import PlannerError

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


# --- registry -----------------------------------------------------------------------------

_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_validate,
    _add_import_osm,
    _add_value,
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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
