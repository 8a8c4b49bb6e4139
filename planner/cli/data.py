"""Command-line subcommands for input data: ``validate`` and ``import-osm``."""

from __future__ import annotations

import argparse

from planner.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_input_options,
    example,
    load_options,
    progress_steps,
)
from planner.errors import PlannerError

__all__ = ["add_import_osm", "add_validate"]


# --- validate ---------------------------------------------------------------------------


def add_validate(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand: check a file against the data contract.

    Exactly one of ``--assets``, ``--sites`` or ``--zones`` names the file, plus the shared
    input options (`planner.cli.common.add_input_options`).

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_validate`.
    """
    p = sub.add_parser(
        "validate",
        help="check an assets, sites or zones file and print a report",
        description="Check a file against the data contract and print every problem.",
        epilog=example(
            "python -m planner validate --assets bus-stops.csv --crs EPSG:27700 "
            "--column Stop_Code_LBSL=asset_id --default asset_type=bus_stop"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--assets", help="asset file")
    group.add_argument("--sites", help="sensitive-sites file")
    group.add_argument("--zones", help="demand-zones file")
    add_input_options(p)
    p.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    """Validate one assets, sites or zones file and print its report.

    Reads the file (any format `planner.io.readers.load_assets` reads) with the shared
    input options; writes nothing. Prints the `ValidationReport` (rows read and valid,
    every error and warning with its row, column and fix), then ``Valid.``, ``Valid after
    dropping N row(s).`` or ``Not valid: fix the N error(s) above``.

    Parameters
    ----------
    args
        ``assets``, ``sites`` or ``zones`` (one is set) and the shared input options.

    Returns
    -------
    int
        0 when the file is valid, or when ``--drop-invalid`` leaves at least one valid row;
        2 when it has errors (or every row is invalid).

    Raises
    ------
    PlannerError
        When a ``--column`` or ``--default`` value is not ``NAME=VALUE`` (exit 2 in
        `planner.cli.main`); problems in the file itself are reported, not raised.
    """
    from planner.io.readers import validate_file

    kind, path = next(
        (k, getattr(args, k)) for k in ("assets", "sites", "zones") if getattr(args, k)
    )
    options = load_options(args, kind)
    with progress_steps("validate") as step:
        step(0.0, f"reading and checking the {kind} file")
        report = validate_file(path, kind, **options)
    print(report.to_text())
    if report.errors and not (args.drop_invalid and report.rows_valid):
        # Dropping rows helps only when every error is a row's, not the file's, and some
        # rows would be left (a file with every row bad is refused with --drop-invalid too).
        rows_only = all(p.where for p in report.errors) and not args.drop_invalid
        rows_only = rows_only and report.rows_valid > 0
        print(
            f"\nNot valid: fix the {len(report.errors)} error(s) above"
            + (", or use --drop-invalid to drop those rows" if rows_only else "")
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


def add_import_osm(sub: argparse._SubParsersAction) -> None:
    """Add the ``import-osm`` subcommand: assets and sites from an OpenStreetMap extract.

    Takes the extract (``.osm.pbf`` or ``.osm``) as a positional argument, ``--out DIR``,
    an optional ``--bbox MINLON,MINLAT,MAXLON,MAXLAT`` in degrees and ``--site-margin``
    (metres beyond the box within which sensitive sites are kept; 400 by default).

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_import_osm`.
    """
    p = sub.add_parser(
        "import-osm",
        help="make assets.gpkg and sites.gpkg from an OpenStreetMap extract (offline)",
        description=(
            "Read street assets and sensitive sites from a .osm.pbf or .osm extract and "
            "write DIR/assets.gpkg and DIR/sites.gpkg."
        ),
        epilog=example("python -m planner import-osm my-area.osm.pbf --out my-area/"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("extract", help="OpenStreetMap extract (.osm.pbf or .osm)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument(
        "--bbox",
        metavar="MINLON,MINLAT,MAXLON,MAXLAT",
        help="keep only features touching this box, in degrees (write --bbox=-0.2,... "
        "when it starts with a minus); sensitive sites are kept up to --site-margin beyond it",
    )
    p.add_argument(
        "--site-margin",
        type=float,
        default=None,
        metavar="METRES",
        help="with --bbox, keep sensitive sites up to this far outside the box (default 400: "
        "a school just outside still protects the assets inside up to a rule's distance; give "
        "at least the policy's largest exclusion distance)",
    )
    p.set_defaults(handler=_run_import_osm)


def _run_import_osm(args: argparse.Namespace) -> int:
    """Import street assets and sensitive sites from an extract with `planner.io.osm.import_osm`.

    Reads the extract offline (no network); writes ``DIR/assets.gpkg`` (layer ``assets``)
    and ``DIR/sites.gpkg`` (layer ``sites``), each atomically, creating ``DIR`` when
    needed. Prints each file with its row count by ``asset_type`` or ``kind``, how many
    sites were cut by the edge of the extract, and the OpenStreetMap attribution
    (© OpenStreetMap contributors, ODbL 1.0) that must go wherever the data is shown.

    Parameters
    ----------
    args
        ``extract``, ``out`` and ``bbox`` (text; `import_osm` checks the four numbers).

    Returns
    -------
    int
        0 once both files are written. Bad input raises instead (exit 2 in
        `planner.cli.main`).

    Raises
    ------
    PlannerError
        When ``--out`` is an existing file rather than a folder.
    DataValidationError
        When the extract is missing, empty, truncated or not OpenStreetMap data, or the
        ``--bbox`` is not four numbers with min < max within [-180, 180] x [-90, 90].
    """
    from pathlib import Path

    from planner.io.osm import ATTRIBUTION, import_osm
    from planner.io.readers import write_table

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PlannerError(f"--out '{out}' is a file; give a folder for assets.gpkg and sites.gpkg")
    bbox = None
    if args.bbox:
        bbox = tuple(v.strip() for v in args.bbox.split(","))
    margin = {} if args.site_margin is None else {"site_margin_m": args.site_margin}
    with progress_steps("import-osm") as step:
        step(0.0, "reading the extract")
        assets, sites = import_osm(args.extract, bbox=bbox, **margin)
        step(0.9, "writing assets.gpkg and sites.gpkg")
        layers = tuple(
            (write_table(frame, out / f"{name}.gpkg", layer=name), frame, name, column)
            for frame, name, column in ((assets, "assets", "asset_type"), (sites, "sites", "kind"))
        )
    for path, frame, name, column in layers:
        counts = ", ".join(f"{k} {n}" for k, n in frame[column].value_counts().items())
        print(f"{path}: {len(frame)} {name}" + (f" ({counts})" if counts else ""))
    report = assets.attrs.get("import_report")
    if report is not None:
        print(report.to_text())
    clipped = len(sites.attrs.get("clipped", []))
    if clipped:
        print(f"{clipped} site(s) cut by the edge of the extract keep only their part inside it.")
    print(f"Data {ATTRIBUTION}: attribute it wherever it is shown.")
    return EXIT_OK
