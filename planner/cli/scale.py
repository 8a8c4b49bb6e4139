"""The command line's switch to Dask: ``--scheduler``, workers, threads and memory per worker.

Shared by ``eligibility``, ``value`` and ``plan``: without ``--scheduler`` they run in one
process as always; ``--scheduler local`` starts a local Dask cluster for the run;
``--scheduler tcp://host:8786`` uses a running one (`planner.scale.cluster`). The
scheduler that cannot be reached is a `PlannerError`, so exit code 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_scale_options", "cluster_settings"]


def add_scale_options(parser: argparse.ArgumentParser, *, plan: bool = False) -> None:
    """Add the Dask options to a subcommand's parser.

    Parameters
    ----------
    parser
        The subcommand's parser; changed in place.
    plan
        Also add the national-plan options (``--regions``, ``--region-km``).
    """
    group = parser.add_argument_group("scaling out on Dask (pip install -e '.[scale]')")
    group.add_argument(
        "--scheduler",
        help="run on Dask: 'local' starts a cluster on this machine, tcp://host:8786 uses "
        "a running scheduler (default: one process, no Dask)",
    )
    group.add_argument(
        "--dask-workers",
        type=int,
        default=2,
        help="worker processes of --scheduler local (default 2)",
    )
    group.add_argument(
        "--threads-per-worker",
        type=int,
        default=1,
        help="threads per worker of --scheduler local (default 1)",
    )
    group.add_argument(
        "--memory-limit",
        default="auto",
        help="memory per worker of --scheduler local, e.g. 2GB (default auto: shared)",
    )
    group.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a --scheduler tcp://... before giving up (default 10)",
    )
    group.add_argument(
        "--cell-km",
        type=float,
        default=10.0,
        help="side of the grid cells the assets are partitioned into, km (default 10)",
    )
    if plan:
        group.add_argument(
            "--regions",
            help="with --scheduler: plan nationally, one sub-problem per value of this "
            "asset column (default: 'region' when present, else a --region-km grid)",
        )
        group.add_argument(
            "--region-km",
            type=float,
            default=100.0,
            help="with --scheduler and no region column: side of the grid regions, km",
        )


def cluster_settings(args: argparse.Namespace):
    """Turn the parsed Dask options into `planner.scale.cluster.ClusterSettings`.

    Parameters
    ----------
    args
        Parsed arguments with the options of `add_scale_options`.

    Returns
    -------
    ClusterSettings
        ``scheduler=None`` without ``--scheduler``; Dask's progress bar when stdout is a
        terminal.

    Raises
    ------
    PlannerError
        When ``--scheduler`` is neither ``local`` nor an address, or a count is below 1.
    """
    from planner.scale.cluster import ClusterSettings

    return ClusterSettings(
        scheduler=args.scheduler,
        workers=args.dask_workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        timeout=args.scheduler_timeout,
        progress=sys.stdout.isatty(),
    )
