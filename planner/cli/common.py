"""What every subcommand of the command line shares: exit codes, input options, policy inputs.

Also the loader keywords of the input options, help examples and the progress bar. The exit
codes are `EXIT_OK` (0, success), `EXIT_FOUND` (1, the subcommand found what it reports on:
no feasible plan, or policy violations) and `EXIT_BAD_INPUT` (2, a file, option or value
the user must fix).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TypedDict

from planner.errors import PlannerError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FOUND",
    "EXIT_OK",
    "LoadOptions",
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
    """Format the epilog of a subcommand's help: one example command line.

    Parameters
    ----------
    text
        The command line, e.g. ``"python -m planner demo --out demo-output"``.

    Returns
    -------
    str
        ``example:`` on one line, then ``text`` indented by two spaces; shown as is with
        ``argparse.RawDescriptionHelpFormatter``.
    """
    return f"example:\n  {text}"


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by every command that reads asset, site or zone files.

    ``--crs`` (CRS of files that do not state one, e.g. ``EPSG:27700`` for eastings and
    northings; never guessed), ``--drop-invalid`` (drop invalid rows, each still
    reported), ``--column FILE_COL=CONTRACT_COL`` and ``--default COLUMN=VALUE`` (both
    repeatable) and ``--encoding`` of CSV files (default ``utf-8``). `load_options` turns
    them into the keywords of the `planner.io.readers` loaders.

    Parameters
    ----------
    parser
        The subcommand's parser; changed in place.
    """
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
    """Parse repeated ``NAME=VALUE`` option values into a dict (spaces around each stripped).

    Only the first ``=`` splits, so a value may contain ``=``; a later repeat of a name
    wins.

    Raises
    ------
    PlannerError
        When an item has no ``=``, or nothing before or after it; the message names
        ``option`` and the item.
    """
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise PlannerError(f"{option} expects NAME=VALUE; got '{item}'")
        pairs[key.strip()] = value.strip()
    return pairs


class LoadOptions(TypedDict):
    """The loader keywords that `load_options` builds from the shared input options."""

    crs: str | None
    columns: dict[str, str]
    defaults: dict[str, str]
    drop_invalid: bool
    encoding: str


def load_options(args: argparse.Namespace) -> LoadOptions:
    """Turn the shared input options into keyword arguments of the `planner.io.readers` loaders.

    Parameters
    ----------
    args
        Parsed arguments of a subcommand built with `add_input_options`.

    Returns
    -------
    dict
        ``crs``, ``columns`` (``{file column: contract column}`` from ``--column``),
        ``defaults`` (``{column: value}`` from ``--default``), ``drop_invalid`` and
        ``encoding``, for `planner.io.readers.load_assets` and its siblings.

    Raises
    ------
    PlannerError
        When a ``--column`` or ``--default`` value is not ``NAME=VALUE``.

    Examples
    --------
    >>> assets = load_assets(args.assets, **load_options(args))  # doctest: +SKIP
    """
    return {
        "crs": args.crs,
        "columns": _pairs(args.column, "--column"),
        "defaults": _pairs(args.default, "--default"),
        "drop_invalid": args.drop_invalid,
        "encoding": args.encoding,
    }


def policy_inputs(args: argparse.Namespace):
    """Load the policy, assets and sites named on the command line (sites only when given).

    Reads ``--policy`` (a preset name or ``.toml`` file), ``--assets`` with every shared
    input option, and ``--sites`` with ``--crs``, ``--encoding`` and ``--drop-invalid``
    only (the ``--column`` and ``--default`` mappings are for the asset file).

    Parameters
    ----------
    args
        Parsed arguments with ``policy``, ``assets``, ``sites`` and the shared input
        options.

    Returns
    -------
    tuple
        ``(policy, assets, sites)``: a `planner.policy.load.Policy`, the assets
        GeoDataFrame in EPSG:4326 and the sites GeoDataFrame, or None without ``--sites``.

    Raises
    ------
    PlannerError
        When the policy has exclusion rules (distances to sensitive sites) but no
        ``--sites`` file is given; the message lists the rule ids.
    PolicyError
        When the policy preset or file is unknown or invalid.
    DataValidationError
        When the asset or site file fails validation (every problem listed).
    """
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
    """Make a tqdm bar on a terminal, silent when stderr is not a terminal.

    The bar runs from 0 to 100% on stderr and disappears when closed (``leave=False``),
    so piped or redirected output holds only the subcommand's report.

    Parameters
    ----------
    label
        Text before the bar, e.g. ``"planning"``.

    Returns
    -------
    tuple
        ``(bar, update)``: the `tqdm.tqdm` bar (close it in a ``finally``) and
        ``update(fraction, message)``, the ``progress`` callback of `planner.plan.plan`
        and `planner.demo.run_demo`, with ``fraction`` in [0, 1] and ``message`` shown
        cut to 40 characters.
    """
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
