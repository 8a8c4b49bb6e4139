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


# --- registry -----------------------------------------------------------------------------

_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_validate,
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
