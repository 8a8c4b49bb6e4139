"""Command line: ``python -m planner <subcommand>`` (also installed as ``ooh-planner``).

Exit codes: 0 success, 1 infeasible plan or policy violations found, 2 bad input.
A user error prints a plain message, never a traceback.

Subcommands, in the order of ``--help``:

``validate``
    Check an assets, sites or zones file against the data contract (`planner.cli.data`).
``import-osm``
    Write ``assets.gpkg`` and ``sites.gpkg`` from an OpenStreetMap extract, offline.
``value``
    Each asset's weekly impacts, price, annual value, sales and council income
    (`planner.cli.plan`).
``eligibility``
    Which advertiser categories each asset may carry under a policy, and why not
    (`planner.cli.policy`).
``audit``
    Re-check a plan's placements against a policy; exit 1 when a rule is broken.
``plan``
    Place campaigns on asset faces and cycles with CP-SAT; exit 1 when no plan exists, 3
    when none was found in the time allowed.
``select-sites``
    Which assets to open: the fewest meeting a revenue target, or the N reaching the most
    residents (`planner.cli.sites`); exit 1 when no selection meets the request.
``demo``
    The whole chain on the bundled Helsinki demo.
``map``
    A standalone HTML map of assets, sites, exclusion zones, demand and a plan.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from planner.cli.common import EXIT_BAD_INPUT, EXIT_FOUND, EXIT_OK, load_options
from planner.cli.data import add_import_osm, add_validate
from planner.cli.plan import add_demo, add_plan, add_value
from planner.cli.policy import add_audit, add_eligibility, add_map
from planner.cli.sites import add_select_sites
from planner.errors import PlannerError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FOUND", "EXIT_OK", "build_parser", "load_options", "main"]

# Each subcommand is a pair in a `planner.cli.<domain>` module: `add_<name>(subparsers)`
# builds its parser and sets `handler=_run_<name>`; `_run_<name>(args) -> int` does the work
# and returns the exit code. Shared options and helpers are in `planner.cli.common`.
# Register new subcommands in `_SUBCOMMANDS` below; its order is the order of --help.


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a plain message on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print the usage line and ``error: message`` to stderr, then exit with code 2.

        Parameters
        ----------
        message
            argparse's description of the problem, e.g. ``the following arguments are
            required: --out``.

        Raises
        ------
        SystemExit
            Always, with `EXIT_BAD_INPUT` (2): a missing or unknown option, a bad choice
            or a value of the wrong type (e.g. ``--time-limit ten``).
        """
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


# --- registry -----------------------------------------------------------------------------

_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_validate,
    add_import_osm,
    add_value,
    add_eligibility,
    add_audit,
    add_plan,
    add_select_sites,
    add_demo,
    add_map,
]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand of `_SUBCOMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
        Parser for ``python -m planner``. Each subcommand's namespace carries a
        ``handler`` (its ``_run_<name>`` function); a usage error exits with code 2.

    Examples
    --------
    >>> args = build_parser().parse_args(["demo", "--out", "demo-output"])
    >>> args.command, args.time_limit
    ('demo', 20.0)
    """
    parser = _Parser(
        prog="python -m planner",
        description="Out-of-home advertising asset planner for councils and media agencies.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def _os_error_text(exc: OSError) -> str:
    """Put a file-system error in words: the path, what went wrong and what to check.

    Parameters
    ----------
    exc
        The error; its ``filename`` is the path (``"a file"`` when the OS gave none) and
        its ``strerror`` the reason (else the error's text).

    Returns
    -------
    str
        E.g. ``cannot use 'out/plan.gpkg': Permission denied. Check the path exists and
        can be written or read``.
    """
    path = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    return f"cannot use '{path}': {reason}. Check the path exists and can be written or read"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    A `planner.errors.PlannerError` (bad file, policy, rate card, campaign, ...) prints
    ``error: <message>`` to stderr; so does an `OSError` on a path the user gave (missing
    folder, no permission). Neither prints a traceback.

    Parameters
    ----------
    argv
        Arguments after the program name, e.g. ``["plan", "--assets", "a.gpkg", ...]``;
        None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        `EXIT_OK` (0) on success; `EXIT_FOUND` (1) when the subcommand found what it
        reports on (no feasible plan, policy violations in ``audit``, a demo plan that
        failed or broke a rule); `EXIT_BAD_INPUT` (2) for a `PlannerError`, an `OSError`
        or no subcommand (the help is printed); 130 when interrupted with Ctrl-C.

    Raises
    ------
    SystemExit
        From argparse: code 2 on a usage error (unknown or missing option), code 0 after
        ``--help``.

    Examples
    --------
    >>> main(["validate", "--assets", "bus-stops.csv", "--crs", "EPSG:27700"])  # doctest: +SKIP
    0
    """
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
