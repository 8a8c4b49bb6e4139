"""What every subcommand of the command line shares: exit codes, input options, policy inputs.

Also the loader keywords of the input options, help examples and the progress bar. The exit
codes are `EXIT_OK` (0, success), `EXIT_FOUND` (1, the subcommand found what it reports on:
no feasible plan, or policy violations), `EXIT_BAD_INPUT` (2, a file, option or value
the user must fix) and `EXIT_TIME_LIMIT` (3, ``plan`` found no plan in the time allowed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from planner.errors import PlannerError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATABASE_INPUT",
    "DATABASE_OUTPUT",
    "EXIT_BAD_INPUT",
    "EXIT_FOUND",
    "EXIT_OK",
    "EXIT_TIME_LIMIT",
    "ROLES",
    "LoadOptions",
    "add_input_options",
    "example",
    "load_input",
    "load_options",
    "non_negative_float",
    "non_negative_int",
    "policy_inputs",
    "positive_float",
    "positive_int",
    "progress_bar",
    "progress_steps",
    "warn",
    "warn_report",
    "write_output",
]

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
#: ``plan``: the solver found no plan in the time allowed (a valid fallback may be written).
EXIT_TIME_LIMIT = 3
#: Help text of the input and output options that also take a PostGIS database.
DATABASE_INPUT = 'or a PostGIS table: "postgresql://USER@HOST/DB?table=NAME"'
DATABASE_OUTPUT = "or postgresql://USER@HOST/DB[?schema=S&mode=append] (one table a layer)"


def _number(text: str, kind: type, least: float, strict: bool, what: str) -> float:
    """Parse an option's number; raise `argparse.ArgumentTypeError` naming what it must be.

    argparse adds the flag's name and exits with code 2 before any work is done.
    """
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None
    if not math.isfinite(value) or value < least or (strict and value == least):
        raise argparse.ArgumentTypeError(f"must be {what}; got {text}")
    return value


def positive_float(text: str) -> float:
    """Parse an option's number above 0 (finite), e.g. ``--time-limit``."""
    return _number(text, float, 0.0, True, "a number above 0")


def non_negative_float(text: str) -> float:
    """Parse an option's number of 0 or more (finite), e.g. ``--revenue-target``."""
    return _number(text, float, 0.0, False, "a number of 0 or more")


def positive_int(text: str) -> int:
    """Parse an option's whole number of 1 or more, e.g. ``--workers``."""
    return int(_number(text, int, 1, False, "a whole number of 1 or more"))


def non_negative_int(text: str) -> int:
    """Parse an option's whole number of 0 or more, e.g. ``--seed``."""
    return int(_number(text, int, 0, False, "a whole number of 0 or more"))


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


#: The input files a command may read, each with its own options (``--sites-column``...).
ROLES = ("assets", "sites", "zones")
#: Targets every table shares: a mapping to one of these names no single file.
_SHARED_TARGETS = frozenset(
    {"name", "x", "y", "lon", "lat", "easting", "northing", "crs", "grid_ref", "geometry"}
)


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by every command that reads asset, site or zone files.

    Options for every input file: ``--crs`` (CRS of files that do not state one, e.g.
    ``EPSG:27700``; never guessed), ``--encoding`` (detected when unset),
    ``--drop-invalid``, ``--column FILE_COL=CONTRACT_COL`` and ``--default COLUMN=VALUE``
    (repeatable; each goes to the one file whose contract has that column, e.g.
    ``kind`` to the sites, or to the only input file). Options of one file, which win over
    the shared ones: ``--assets-column``, ``--assets-default``, ``--assets-crs``,
    ``--assets-encoding``, ``--assets-sheet``, ``--assets-layer`` and the same for
    ``--sites-...`` and ``--zones-...``; ``--kind-map VALUE=KIND`` (repeatable) maps the
    sites file's kind values. `load_options` turns them into the keywords of the
    `planner.io.readers` loaders.

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
        help="map a file column to a contract column (repeatable), e.g. Stop_Code_LBSL=asset_id;"
        " goes to the file whose contract has the column (kind: sites), else use "
        "--assets-column/--sites-column/--zones-column",
    )
    parser.add_argument(
        "--default",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="value for a contract column the file lacks (repeatable), e.g. asset_type=bus_stop;"
        " goes to the file whose contract has the column",
    )
    parser.add_argument(
        "--encoding", help="text encoding of CSV, Shapefile and GeoJSON files (default: detected)"
    )
    parser.add_argument("--sheet", help="sheet of an XLSX/ODS file when one file is read")
    parser.add_argument(
        "--layer", help="layer of a GeoPackage (multi-layer file) when one file is read"
    )
    for role in ROLES:
        one = role[:-1]
        group = parser.add_argument_group(f"options of the {role} file only")
        group.add_argument(
            f"--{role}-column",
            action="append",
            default=[],
            metavar="FILE_COL=CONTRACT_COL",
            help=f"map a column of the {role} file (repeatable)",
        )
        group.add_argument(
            f"--{role}-default",
            action="append",
            default=[],
            metavar="COLUMN=VALUE",
            help=f"value for a column every {one} lacks (repeatable)",
        )
        group.add_argument(
            f"--{role}-crs", metavar="CRS", help=f"CRS of the {role} file (wins over --crs)"
        )
        group.add_argument(
            f"--{role}-encoding", metavar="ENCODING", help=f"text encoding of the {role} file"
        )
        group.add_argument(
            f"--{role}-sheet", metavar="SHEET", help=f"sheet of an XLSX/ODS {role} file"
        )
        group.add_argument(
            f"--{role}-layer",
            metavar="LAYER",
            help=f"layer of a GeoPackage (multi-layer) {role} file",
        )
        if role == "sites":
            group.add_argument(
                "--kind-map",
                action="append",
                default=[],
                metavar="VALUE=KIND",
                help="map a kind value of the sites file to a site kind (repeatable), e.g. "
                "'Special schools=school'; map to 'other' to leave such sites unprotected",
            )


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
        if not sep or not key.strip() or not value.strip():
            raise PlannerError(f"{option} expects NAME=VALUE; got '{item}'")
        pairs[key.strip()] = value.strip()
    return pairs


class LoadOptions(TypedDict, total=False):
    """The loader keywords that `load_options` builds from the input options."""

    crs: str | None
    columns: dict[str, str]
    defaults: dict[str, str]
    drop_invalid: bool
    encoding: str | None
    sheet: str | None
    layer: str | None
    kinds: dict[str, str]


def _given_roles(args: argparse.Namespace) -> list[str]:
    """List the input files this command line names (``--assets``, ``--sites``, ``--zones``)."""
    return [r for r in ROLES if getattr(args, r, None)]


def _owner(target: str, option: str, item: str, given: list[str]) -> str:
    """Find the one input file a shared ``--column``/``--default`` for ``target`` is for."""
    from planner import schema

    contracts = {
        "assets": schema.ASSET_COLUMNS,
        "sites": schema.SITE_COLUMNS,
        "zones": schema.ZONE_COLUMNS,
    }
    if len(given) == 1:
        return given[0]
    owners = [r for r in given if target in contracts[r] and target not in _SHARED_TARGETS]
    if len(owners) == 1:
        return owners[0]
    choices = " or ".join(f"--{r}-{option.strip('-')}" for r in given)
    raise PlannerError(
        f"{option} {item}: several input files ({', '.join(given)}) could have '{target}'; "
        f"say which file it is for with {choices}"
    )


def _one_file_option(args: argparse.Namespace, name: str, role: str, given: list[str]):
    """Return ``--ROLE-NAME`` (e.g. ``--sites-layer``), else the shared ``--NAME`` of one file.

    Raises
    ------
    PlannerError
        When the shared option is given to a command reading several files.
    """
    own = getattr(args, f"{role}_{name}", None)
    shared = getattr(args, name, None)
    if own is not None or not shared:
        return own
    if len(given) > 1:
        raise PlannerError(
            f"--{name} is for a command reading one file; give "
            + ", ".join(f"--{r}-{name}" for r in given[:-1])
            + f" or --{given[-1]}-{name}"
        )
    return shared


def load_options(args: argparse.Namespace, role: str = "assets") -> LoadOptions:
    """Turn the input options into keyword arguments of one `planner.io.readers` loader.

    Parameters
    ----------
    args
        Parsed arguments of a subcommand built with `add_input_options`.
    role
        The input file: ``"assets"``, ``"sites"`` or ``"zones"``.

    Returns
    -------
    LoadOptions
        ``crs`` and ``encoding`` (the file's own option, else the shared one), ``columns``
        and ``defaults`` (the shared ``--column``/``--default`` that belong to this file,
        then the file's own, which win), ``drop_invalid``, ``sheet`` and ``layer`` (the
        file's own, else the shared one when one file is read) and, for sites, ``kinds``
        from ``--kind-map``.

    Raises
    ------
    PlannerError
        When an option value is not ``NAME=VALUE``, or a shared ``--column``/``--default``
        could belong to several of the files given.

    Examples
    --------
    >>> sites = load_sites(args.sites, **load_options(args, "sites"))  # doctest: +SKIP
    """
    given = _given_roles(args) or [role]
    columns: dict[str, str] = {}
    for item in getattr(args, "column", []):
        source, target = next(iter(_pairs([item], "--column").items()))
        if _owner(target, "--column", item, given) == role:
            columns[source] = target
    defaults: dict[str, str] = {}
    for item in getattr(args, "default", []):
        name, value = next(iter(_pairs([item], "--default").items()))
        if _owner(name, "--default", item, given) == role:
            defaults[name] = value
    columns |= _pairs(getattr(args, f"{role}_column", []), f"--{role}-column")
    defaults |= _pairs(getattr(args, f"{role}_default", []), f"--{role}-default")
    sheet, layer = (_one_file_option(args, name, role, given) for name in ("sheet", "layer"))
    options: LoadOptions = {
        "crs": getattr(args, f"{role}_crs", None) or args.crs,
        "columns": columns,
        "defaults": defaults,
        "drop_invalid": args.drop_invalid,
        "encoding": getattr(args, f"{role}_encoding", None) or args.encoding,
        "sheet": sheet,
        "layer": layer,
    }
    kinds = _pairs(getattr(args, "kind_map", []), "--kind-map")
    if role == "sites":
        options["kinds"] = kinds
    elif kinds and given == [role]:
        raise PlannerError(f"--kind-map maps site kinds; the {role} file has none")
    return options


def load_input(args: argparse.Namespace, role: str):
    """Load the file given for ``role`` with its options; None when it was not given.

    Every warning of the file's validation report (an empty sites file, coarse grid
    references, piled rows, repaired shapes, the rows ``--drop-invalid`` dropped, ...) is
    printed to stderr (`warn_report`), so every command that loads files says what
    ``validate`` says about them.

    Parameters
    ----------
    args
        Parsed arguments of a subcommand built with `add_input_options`.
    role
        ``"assets"``, ``"sites"`` or ``"zones"``.

    Returns
    -------
    geopandas.GeoDataFrame or None
        The validated table in EPSG:4326.

    Raises
    ------
    DataValidationError
        When the file fails validation (every problem listed).
    """
    from planner.io import readers

    path = getattr(args, role, None)
    if not path:
        return None
    frame = getattr(readers, f"load_{role}")(path, **load_options(args, role))
    warn_report(frame.attrs.get("report"))
    return frame


def warn_report(report) -> None:
    """Print a loader's report to stderr: its warnings, and the rows dropped as invalid.

    Parameters
    ----------
    report
        The `planner.io.validation.ValidationReport` a loader left in
        ``frame.attrs["report"]``, or None (nothing is printed).
    """
    if report is None:
        return
    if report.errors:
        rows = len({p.where for p in report.errors})
        warn([f"{report.source}: --drop-invalid dropped {rows} row(s), each listed here:"])
        warn([f"dropped {p}" for p in report.errors])
    warn([str(p) for p in report.warnings])


def write_output(layers: Mapping[str, pd.DataFrame], out: str) -> tuple[str, bool]:
    """Write a command's tables to ``--out``: a file, or tables of a PostGIS database.

    Parameters
    ----------
    layers
        ``{layer or table name: table}``, in the order to write them.
    out
        A file (its ending chooses the format, `planner.io.readers.write_layers`) or a
        ``postgresql://`` URL, optionally with ``?schema=`` and ``?mode=append``
        (`planner.io.database.write_database`: one table per layer, in one transaction).

    Returns
    -------
    tuple
        ``(written, every_layer)``: what to print after "Wrote" (the file, or the tables
        and the URL without its password) and whether every layer was kept (GeoPackage,
        Excel or a database; single-table formats keep the first only).

    Raises
    ------
    PlannerError
        When the file type is not supported, or the database cannot be reached or
        refuses a table (nothing is then written).
    """
    from planner.io.database import is_database_url, mask_url, write_database
    from planner.io.readers import write_layers

    if is_database_url(out):
        tables = write_database(layers, out)
        return f"tables {', '.join(tables)} to {mask_url(out)}", True
    path = write_layers(layers, out)
    return str(path), path.suffix.lower() in {".gpkg", ".xlsx"}


def warn(lines: Sequence[str]) -> None:
    """Print each warning to stderr as ``warning: ...``.

    On a terminal the warning goes above any progress bar (`progress_bar`), which is
    redrawn below it rather than cut through.
    """
    if sys.stderr.isatty():
        from tqdm import tqdm

        for line in lines:
            tqdm.write(f"warning: {line}", file=sys.stderr)
        return
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def policy_inputs(args: argparse.Namespace):
    """Load the policy, assets and sites named on the command line (sites only when given).

    Reads ``--policy`` (a preset name or ``.toml`` file), then ``--assets`` and
    ``--sites``, each with its own options (`load_options`). Before anything is planned
    the sites are checked against the policy
    (`planner.policy.sites.check_sites_against_policy`): kinds the policy does not know
    stop the run; exclusion rules that protect nothing, and sites nowhere near the
    assets, are printed as warnings.

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
        When the asset or site file fails validation (every problem listed), or the sites
        have kinds the policy does not know (their values and counts listed, with the
        ``--kind-map`` that maps them).
    """
    from planner.policy.load import load_policy
    from planner.policy.sites import check_sites_against_policy

    policy = load_policy(args.policy)
    if policy.exclusions and not args.sites:
        ids = ", ".join(r.id for r in policy.exclusions)
        raise PlannerError(f"policy '{args.policy}' has exclusion rules ({ids}); add --sites FILE")
    assets = load_input(args, "assets")
    sites = load_input(args, "sites")
    warn(check_sites_against_policy(sites, policy, assets=assets))
    return policy, assets, sites


def progress_bar(label: str, *, tick_s: float = 1.0):
    """Make a progress bar on a terminal, silent when stderr is not a terminal.

    The bar runs from 0 to 100% on stderr, shows the time elapsed and the last step, and
    disappears when closed (``leave=False``), so piped or redirected output holds only the
    subcommand's report. It is redrawn every ``tick_s`` seconds, so the elapsed time moves
    during a long step (reading an extract, valuing 20,000 stops, a solver between two
    solutions) and the terminal never looks stuck. A terminal that reports no size (a
    bare pseudo-terminal, as ``script`` or a CI runner's make) counts as 80 x 24.

    Parameters
    ----------
    label
        Text before the bar, e.g. ``"planning"``.
    tick_s
        Seconds between redraws.

    Returns
    -------
    tuple
        ``(bar, update)``: the bar (close it in a ``finally``; closing stops the redraws)
        and ``update(fraction, message)``, the ``progress`` callback of `planner.plan.plan`
        and `planner.demo.run_demo`, with ``fraction`` in [0, 1] and ``message`` shown
        cut to 40 characters (a solver's ``solution <objective>`` said in words: the
        objective is in minor units).

    Examples
    --------
    >>> bar, update = progress_bar("valuing")
    >>> update(0.5, "valuing the assets")
    >>> bar.close()
    """
    from tqdm import tqdm

    on_terminal = sys.stderr.isatty()
    bar = tqdm(
        total=100,
        desc=label,
        file=sys.stderr,
        disable=not on_terminal,
        leave=False,
        # A bare pseudo-terminal reports 0 x 0, where tqdm would draw nothing.
        ncols=_terminal_size()[0] if on_terminal else None,
        nrows=_terminal_size()[1] if on_terminal else None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}",
    )

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.set_postfix_str(_progress_words(message)[:40], refresh=False)
        bar.refresh()

    return _Ticking(bar, tick_s), update


@contextlib.contextmanager
def progress_steps(label: str, *, show: bool = True) -> Iterator[Callable[[float, str], None]]:
    """Show a `progress_bar` for the steps of a subcommand; close it however they end.

    Parameters
    ----------
    label
        Text before the bar, e.g. ``"value"``.
    show
        False to draw nothing (e.g. with ``--scheduler``, where Dask draws its own bar).

    Yields
    ------
    callable
        ``step(fraction, message)``: say that the step ``message`` starts, ``fraction``
        (0-1) of the way through.

    Examples
    --------
    >>> with progress_steps("value") as step:
    ...     step(0.0, "loading the assets")
    ...     assets = load_input(args, "assets")
    """
    if not show:
        yield lambda fraction, message: None
        return
    bar, update = progress_bar(label)
    try:
        yield update
    finally:
        bar.close()


def _progress_words(message: str) -> str:
    """Say a solver's ``solution 1,234,500 (bound ...)`` in words: its numbers are minor units.

    Examples
    --------
    >>> _progress_words("solution 5,587,364 (bound 6,563,728)")
    'found a plan, looking for a better one'
    """
    return "found a plan, looking for a better one" if message.startswith("solution") else message


def _terminal_size() -> tuple[int, int]:
    """Return (columns, lines) of the terminal stderr writes to; 80 x 24 where it says 0."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 80, 24
    return size.columns or 80, size.lines or 24


class _Ticking:
    """A tqdm bar redrawn every ``tick_s`` seconds by a daemon thread until closed."""

    def __init__(self, bar, tick_s: float) -> None:
        self.bar = bar
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not bar.disable and tick_s > 0:
            self._thread = threading.Thread(
                target=self._tick, args=(tick_s,), name="planner-progress", daemon=True
            )
            self._thread.start()

    def _tick(self, tick_s: float) -> None:
        """Redraw the bar (its elapsed time) until `close`."""
        while not self._stop.wait(tick_s):
            self.bar.refresh()

    def close(self) -> None:
        """Stop the redraws, then clear the bar from the terminal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.bar.close()
