"""Command line: ``python -m planner <subcommand>`` (also installed as ``ooh-planner``).

Exit codes: 0 success, 1 infeasible plan or policy violations found, 2 bad input.
A user error prints a plain message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from planner.cli.common import EXIT_BAD_INPUT, EXIT_FOUND, EXIT_OK, load_options
from planner.cli.data import add_import_osm, add_validate
from planner.cli.plan import add_demo, add_plan, add_value
from planner.cli.policy import add_audit, add_eligibility, add_map
from planner.errors import PlannerError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FOUND", "EXIT_OK", "build_parser", "load_options", "main"]

# Each subcommand is a pair in a `planner.cli_<domain>` module: `add_<name>(subparsers)`
# builds its parser and sets `handler=_run_<name>`; `_run_<name>(args) -> int` does the work
# and returns the exit code. Shared options and helpers are in `planner.cli.common`.
# Register new subcommands in `_SUBCOMMANDS` below; its order is the order of --help.


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a plain message on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
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
    add_demo,
    add_map,
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
