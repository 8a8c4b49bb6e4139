"""What every subcommand of the command line shares: exit codes, the input options and
their loader keywords, the policy inputs, help examples and the progress bar.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from planner.errors import PlannerError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FOUND",
    "EXIT_OK",
    "add_input_options",
    "example",
    "load_options",
    "policy_inputs",
    "progress_bar",
]

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2


def example(text: str) -> str:
    """The epilog of a subcommand's help: one example command line."""
    return f"example:\n  {text}"


def add_input_options(parser: argparse.ArgumentParser) -> None:
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
    """Keyword arguments for the `planner.io.readers` loaders from the shared input options."""
    return {
        "crs": args.crs,
        "columns": _pairs(args.column, "--column"),
        "defaults": _pairs(args.default, "--default"),
        "drop_invalid": args.drop_invalid,
        "encoding": args.encoding,
    }


def policy_inputs(args: argparse.Namespace):
    """Policy, assets and sites named on the command line (sites only when needed)."""
    from planner.io.readers import load_assets, load_sites
    from planner.policy.load import load_policy

    policy = load_policy(args.policy)
    if policy.exclusions and not args.sites:
        ids = ", ".join(r.id for r in policy.exclusions)
        raise PlannerError(f"policy '{args.policy}' has exclusion rules ({ids}); add --sites FILE")
    assets = load_assets(args.assets, **load_options(args))
    plain = {"crs": args.crs, "encoding": args.encoding, "drop_invalid": args.drop_invalid}
    sites = load_sites(args.sites, **plain) if args.sites else None
    return policy, assets, sites


def progress_bar(label: str):
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
