"""Dask clusters: one switch from one process to a local cluster or an existing one.

`ClusterSettings` says where work runs: in this process (``scheduler=None``, the default,
no Dask imported), on a `distributed.LocalCluster` started here (``"local"``: workers,
threads and memory per worker settable) or on a running scheduler
(``"tcp://host:8786"``). `connect` opens it and closes what it started; `run_tasks`
submits tasks with Dask's own retries and progress bar. Dask itself is optional
(``pip install -e .[scale]``) and imported only here, on first use.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from planner.errors import PlannerError

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = [
    "ClusterSettings",
    "connect",
    "gather_tasks",
    "peak_memory_per_worker",
    "run_tasks",
    "submit_tasks",
]

#: How to install the optional Dask dependencies, for error messages.
INSTALL_HINT = "install them with: pip install -e '.[scale]' (dask and distributed)"
#: Schemes `distributed` can reach a scheduler by.
_SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


@dataclass(frozen=True)
class ClusterSettings:
    """Where the planner's partitioned work runs.

    Attributes
    ----------
    scheduler
        None: in this process, no Dask (the default). ``"local"``: a
        `distributed.LocalCluster` of worker processes on this machine, started and
        stopped by `connect`. ``"tcp://host:8786"`` (or another scheme `distributed`
        knows): an existing cluster's scheduler.
    workers
        Worker processes of a local cluster (2).
    threads_per_worker
        Threads per worker process of a local cluster (1: the planner's work is numpy and
        GEOS code that holds the GIL in places, so processes scale better than threads).
    memory_limit
        Memory per worker of a local cluster, as Dask reads it (``"2GB"``, ``"4GiB"``,
        ``"auto"`` = the machine's memory shared between the workers, ``"0"`` for no
        limit).
    timeout
        Seconds to wait for an existing scheduler before giving up (10).
    progress
        Show Dask's text progress bar while tasks run (on stdout).
    retries
        Times a task that raised is run again (a worker that dies is handled by the
        scheduler itself, which reruns its tasks elsewhere).

    Examples
    --------
    >>> ClusterSettings("local", workers=2, memory_limit="2GB").is_distributed
    True
    """

    scheduler: str | None = None
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"
    timeout: float = 10.0
    progress: bool = False
    retries: int = 1

    def __post_init__(self) -> None:
        """Check the scheduler's form and the counts; raise `PlannerError` saying how to fix."""
        s = self.scheduler
        if s is not None and s != "local" and not s.startswith(_SCHEMES):
            raise PlannerError(
                f"scheduler '{s}' is not understood; use 'local' for a cluster on this "
                "machine, or the address of a running scheduler such as tcp://host:8786"
            )
        if self.workers < 1 or self.threads_per_worker < 1:
            raise PlannerError(
                f"a Dask cluster needs at least 1 worker and 1 thread per worker; got "
                f"{self.workers} worker(s) and {self.threads_per_worker} thread(s)"
            )
        if self.timeout <= 0:
            raise PlannerError(f"the scheduler timeout must be above 0 s; got {self.timeout}")

    @property
    def is_distributed(self) -> bool:
        """True when the work goes to a Dask cluster rather than this process."""
        return self.scheduler is not None


def _distributed() -> Any:
    """Import `distributed`, or raise `PlannerError` saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise PlannerError(
            f"Dask is not installed, so no cluster can be used; {INSTALL_HINT}"
        ) from exc
    return distributed


@contextlib.contextmanager
def connect(settings: ClusterSettings) -> Iterator[Client | None]:
    """Open the cluster ``settings`` name for the length of a ``with`` block.

    Parameters
    ----------
    settings
        Where to run; ``scheduler=None`` yields None (work stays in this process).

    Yields
    ------
    distributed.Client or None
        A client of the local or remote cluster; None for one process. A local cluster
        started here is closed on leaving the block; a remote one is only disconnected.

    Raises
    ------
    PlannerError
        When Dask is not installed, or the scheduler cannot be reached within
        ``settings.timeout`` seconds (the message names the address and how to start one).

    Examples
    --------
    >>> with connect(ClusterSettings("local", workers=2)) as client:
    ...     table = partitioned_eligibility(assets, sites, policy, client=client)
    """
    if settings.scheduler is None:
        yield None
        return
    distributed = _distributed()
    cluster = None
    if settings.scheduler == "local":
        cluster = distributed.LocalCluster(
            n_workers=settings.workers,
            threads_per_worker=settings.threads_per_worker,
            memory_limit=settings.memory_limit,
            processes=True,
            dashboard_address=":0",  # any free port: never "8787 in use" on a shared host
        )
        client = distributed.Client(cluster)
    else:
        client = _remote_client(distributed, settings)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _remote_client(distributed: Any, settings: ClusterSettings) -> Client:
    """Connect to a running scheduler, or raise `PlannerError` within the timeout."""
    address = settings.scheduler
    try:
        return distributed.Client(address, timeout=f"{settings.timeout}s")
    except (OSError, TimeoutError) as exc:
        raise PlannerError(
            f"cannot reach the Dask scheduler at {address} within {settings.timeout:g} s "
            f"({type(exc).__name__}). Check the address and that the scheduler is running "
            "(start one with `dask scheduler` and workers with `dask worker "
            f"{address}`), or use --scheduler local for a cluster on this machine"
        ) from exc


def run_tasks(
    client: Client,
    function: Callable[..., Any],
    payloads: Sequence[tuple],
    cluster: ClusterSettings,
    /,
    **common: Any,
) -> list[Any]:
    """Run ``function(*payload, **common)`` for every payload on the cluster; gather in order.

    `submit_tasks` then `gather_tasks`: see them.

    Parameters
    ----------
    client
        A `distributed.Client` (from `connect`).
    function
        A module-level function (picklable), run on the workers.
    payloads
        One argument tuple per task, shape (n_tasks,).
    cluster
        Retries and whether to show Dask's progress bar.
    **common
        Keyword arguments shared by every task (sent once per task).

    Returns
    -------
    list
        ``function``'s results, in the order of ``payloads``.

    Raises
    ------
    Exception
        Whatever a task raised (e.g. `planner.errors.DataValidationError`), after its
        retries.
    """
    futures = submit_tasks(client, function, payloads, cluster, **common)
    return gather_tasks(client, futures, cluster)


def submit_tasks(
    client: Client,
    function: Callable[..., Any],
    payloads: Iterable[tuple],
    cluster: ClusterSettings,
    /,
    **common: Any,
) -> list[Future]:
    """Start ``function(*payload, **common)`` for every payload on the cluster; do not wait.

    Each payload travels inside its task (not scattered), so a task whose worker dies is
    rerun elsewhere by the scheduler from its own data; a task that raises is retried
    ``cluster.retries`` times. The payload is serialised once, here, into bytes (Dask's
    own `distributed.protocol.serialize_bytes`): the
    scheduler then only copies bytes on the way to the worker, where a GeoDataFrame in the
    task graph would be unpickled and pickled again by the scheduler (measured: half the
    CPU of sending a partition). Tasks are queued in the order of ``payloads``: put the
    longest first.

    Parameters
    ----------
    client, function, cluster, **common
        As for `run_tasks`.
    payloads
        One argument tuple per task, in order; an iterator is read one task at a time,
        each task submitted as soon as its payload is made (the first tasks run while the
        later ones are packed).

    Returns
    -------
    list of distributed.Future
        One per payload, in order (`gather_tasks` collects them).
    """
    with warnings.catch_warnings():
        # Payloads are sent with their tasks on purpose (a lost worker's task can rerun);
        # Dask's advice to scatter large graphs instead does not apply.
        warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*", category=UserWarning)
        return [
            client.submit(
                _call_packed,
                function,
                _distributed().protocol.serialize_bytes(_pack(tuple(payload))),
                retries=cluster.retries,
                pure=False,
                **common,
            )
            for payload in payloads
        ]


def gather_tasks(client: Client, futures: list[Future], cluster: ClusterSettings) -> list[Any]:
    """Wait for the tasks of `submit_tasks` and return their results, in order.

    Results come straight from the workers that hold them (not relayed by the scheduler).
    A task's error is raised here as the original exception, after its retries, and the
    tasks still running are then cancelled.

    Parameters
    ----------
    client
        The `distributed.Client` the tasks were submitted to.
    futures
        From `submit_tasks`.
    cluster
        Whether to show Dask's progress bar.

    Returns
    -------
    list
        The tasks' results, in the order of ``futures``.
    """
    distributed = _distributed()
    bar = None
    if cluster.progress:
        # Dask's own text progress bar blocks until the tasks end: it runs beside the
        # collection, so that results still travel while later tasks run.
        bar = threading.Thread(
            target=distributed.progress, args=(futures,), kwargs={"notebook": False}, daemon=True
        )
        bar.start()
    try:
        place = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        # Each result is fetched (straight from its worker) as soon as its task ends.
        for future, result in distributed.as_completed(futures, with_results=True):
            results[place[future.key]] = _unpack(result)
        if bar is not None:
            bar.join()
        return results
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)


def _call_packed(function: Callable[..., Any], packed: bytes, /, **common: Any) -> Any:
    """Unpack a payload packed by `submit_tasks` and call ``function`` on it (on a worker)."""
    # Dask's own serialisation of this planner's payload, packed by submit_tasks.
    payload = _unpack(_distributed().protocol.deserialize_bytes(packed))
    return _pack(function(*payload, **common), texts=False)


@dataclass(frozen=True)
class _Packed:
    """A table as the arrays that travel cheaply between processes, and come back exactly.

    geopandas sends geometries as WKB and pandas sends text as it is: decoding WKB costs
    a pass over every point, and a text repeated on every row (an asset file's
    ``source``, ``status`` or ``asset_type``) is sent once per row. Here the coordinates of
    points travel as one float array and text columns with few distinct values as
    Arrow dictionaries (each distinct text once, plus a number per row).
    """

    rest: pd.DataFrame  # the other columns, sent as they are
    texts: dict[Any, tuple[Any, Any]]  # column -> (dictionary-encoded Arrow text, its dtype)
    xy: np.ndarray | None  # coordinates of a geometry of 2-D points, shape (n, 2)
    geometry_name: Any  # the active geometry column of a GeoDataFrame, else None
    crs: Any  # pyproj.CRS or None, pickled as given so that it compares equal
    order: list[Any]
    attrs: dict[Any, Any]


def _pack(value: Any, *, texts: bool = True) -> Any:
    """Pack the tables in a payload (also inside tuples and dicts) as `_Packed`.

    With ``texts``, text columns with few distinct values go as dictionaries; results
    are packed without (decoding a dictionary is an Arrow ``take``, which would cost the
    client what it saves in transfer).
    """
    if isinstance(value, dict):
        return {k: _pack(v, texts=texts) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_pack(v, texts=texts) for v in value)
    if not isinstance(value, pd.DataFrame) or not value.columns.is_unique:
        return value
    geometry_name = getattr(value, "_geometry_column_name", None)
    if isinstance(value, gpd.GeoDataFrame) and geometry_name not in value.columns:
        return value  # a GeoDataFrame without its geometry: sent as it is
    encoded_texts = {}
    for name in value.columns if texts else []:
        array = value[name].array
        chunks = getattr(array, "_pa_array", None)
        if not isinstance(array.dtype, pd.StringDtype) or not isinstance(chunks, pa.ChunkedArray):
            continue  # pandas' text dtype only (an ArrowDtype column goes as it is)
        if _is_text(chunks.type):
            encoded = chunks.dictionary_encode()
            if sum(len(c.dictionary) for c in encoded.chunks) * 4 <= len(value):
                encoded_texts[name] = (encoded, array.dtype)
    xy = None
    if geometry_name is not None and _only_points(np.asarray(value[geometry_name].array)):
        xy = shapely.get_coordinates(np.asarray(value[geometry_name].array))
    drop = [*encoded_texts, *([geometry_name] if xy is not None else [])]
    if not drop:
        return value
    return _Packed(
        rest=pd.DataFrame(value.drop(columns=drop)),
        texts=encoded_texts,
        xy=xy,
        geometry_name=geometry_name,
        crs=value.crs if geometry_name is not None else None,
        order=list(value.columns),
        attrs=dict(value.attrs),
    )


def _is_text(arrow_type: pa.DataType) -> bool:
    """Tell whether an Arrow type is text (``string`` or ``large_string``)."""
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _only_points(geometry: np.ndarray) -> bool:
    """Tell whether every geometry is a non-empty 2-D point."""
    return bool(
        len(geometry)
        and (shapely.get_type_id(geometry) == shapely.GeometryType.POINT).all()
        and not shapely.has_z(geometry).any()
        and not shapely.is_empty(geometry).any()
    )


def _unpack(value: Any) -> Any:
    """Undo `_pack`."""
    if isinstance(value, dict):
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_unpack(v) for v in value)
    if not isinstance(value, _Packed):
        return value
    frame = value.rest  # freshly unpickled: ours to add the columns to
    for name, (encoded, dtype) in value.texts.items():
        decoded = [c.dictionary_decode() for c in encoded.chunks]
        text = pa.chunked_array(decoded, type=encoded.type.value_type)
        array = dtype.construct_array_type()(text, dtype=dtype)
        frame[name] = pd.Series(array, index=frame.index)
    if value.xy is not None:
        points = shapely.points(value.xy)
        frame[value.geometry_name] = gpd.GeoSeries(points, index=frame.index, crs=value.crs)
    frame = frame[value.order]
    if value.geometry_name is not None:
        frame = gpd.GeoDataFrame(frame, geometry=value.geometry_name, crs=value.crs)
    frame.attrs = value.attrs
    return frame


def _peak_rss_bytes() -> int:
    """Return this process's peak resident memory in bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def peak_memory_per_worker(client: Client) -> dict[str, int]:
    """Return each worker process's peak resident memory since it started, in bytes.

    Parameters
    ----------
    client
        A `distributed.Client`.

    Returns
    -------
    dict
        Worker address -> peak resident set size in bytes (``getrusage``'s ``ru_maxrss``).
    """
    return client.run(_peak_rss_bytes)
