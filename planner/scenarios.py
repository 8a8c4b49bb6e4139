"""A scenario store: named snapshots of a plan's inputs and result in one SQLite file.

Each save is one SQLite transaction, so an interrupted save (an error, a killed process)
leaves the previous version of every scenario as it was. Tables are kept as Parquet
(GeoParquet for geometry) inside the database; nothing is pickled.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sqlite3
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.errors import PlannerError
from planner.plan import Plan

__all__ = [
    "STORE_FILE",
    "Scenario",
    "compare_scenarios",
    "delete_scenario",
    "list_scenarios",
    "load_scenario",
    "save_scenario",
    "store_path",
]

#: File name of the store inside the scenarios folder.
STORE_FILE = "scenarios.sqlite"
_SCHEMA_VERSION = 1
_PLAN_TABLES = ("placements", "campaigns")
_MAX_NAME = 120
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scenario (name TEXT PRIMARY KEY, saved_at TEXT NOT NULL, "
    "note TEXT NOT NULL, settings TEXT NOT NULL, policy_toml TEXT NOT NULL, "
    "summary TEXT NOT NULL, plan TEXT)",
    "CREATE TABLE IF NOT EXISTS scenario_table (scenario TEXT NOT NULL, name TEXT NOT NULL, "
    "geo INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (scenario, name))",
)
#: Summary measures in the order `compare_scenarios` shows them.
SUMMARY_ORDER = (
    "status", "method", "objective", "council_revenue", "sales", "currency", "placements",
    "fill_rate", "impacts", "reach", "gap", "seconds",
)  # fmt: skip
#: The measures taken from the plan itself (the rest of a summary are the ``kpis``), and
#: the plan's attribute where its name differs.
_PLAN_SUMMARY = tuple(k for k in SUMMARY_ORDER if k != "fill_rate")
_PLAN_ATTRIBUTE = {"objective": "objective_name"}


@dataclass
class Scenario:
    """A plan's inputs, settings, policy and result, under a name.

    Attributes
    ----------
    name
        Unique name in the store (1-120 characters).
    tables
        Input tables by name (e.g. ``assets``, ``sites``, ``zones``, ``campaigns``,
        ``locked``); GeoDataFrames keep their geometry and CRS.
    settings
        JSON-compatible settings (objective, time limit, revenue target, ...).
    policy_toml
        The policy as `planner.policy_to_toml` writes it.
    plan
        The plan, or None for inputs only.
    kpis
        Extra measures to list and compare (e.g. ``fill_rate``).
    note
        Free text.
    saved_at
        UTC time of the save (ISO 8601), set by `save_scenario`.
    """

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    policy_toml: str = ""
    plan: Plan | None = None
    kpis: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    saved_at: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        """The plan's headline measures and ``kpis``, as listed and compared."""
        out: dict[str, Any] = {}
        if self.plan is not None:
            out = {k: getattr(self.plan, _PLAN_ATTRIBUTE.get(k, k), None) for k in _PLAN_SUMMARY}
            out["placements"] = len(self.plan.placements)
        return out | dict(self.kpis)


def store_path(directory: str | os.PathLike[str]) -> Path:
    """Return the store file inside ``directory``, checking the folder can be one.

    Parameters
    ----------
    directory
        The scenarios folder; ``~`` is expanded. It need not exist yet.

    Returns
    -------
    pathlib.Path
        ``directory / STORE_FILE`` (``scenarios.sqlite``).

    Raises
    ------
    PlannerError
        When ``directory`` is blank or names an existing file.

    Examples
    --------
    >>> store_path("scenarios")
    PosixPath('scenarios/scenarios.sqlite')
    """
    folder = Path(directory).expanduser()
    if str(directory).strip() == "":
        raise PlannerError("The scenarios folder is empty; give a folder such as ./scenarios")
    if folder.exists() and not folder.is_dir():
        raise PlannerError(
            f"The scenarios folder '{folder}' is a file, not a folder; choose another path"
        )
    return folder / STORE_FILE


@contextlib.contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    """Open the store in autocommit mode (waiting up to 60 s for a lock) and close it after.

    With ``create``, the folder and the tables are made when missing. Every SQLite error
    becomes a `PlannerError` naming the file.

    Raises
    ------
    PlannerError
        When the folder cannot be created, the file cannot be opened or is not a
        scenario store, or it was written by a newer planner.
    """
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlannerError(
                f"Cannot create the scenarios folder '{path.parent}' ({exc.strerror}); "
                "choose a folder you can write to"
            ) from None
    try:
        # Autocommit mode: transactions are opened explicitly in `_transaction`.
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    except sqlite3.Error as exc:
        raise PlannerError(f"Cannot open the scenario store '{path}' ({exc})") from None
    try:
        _check_schema(conn, path, create=create)
        yield conn
    except sqlite3.DatabaseError as exc:
        raise PlannerError(
            f"'{path}' is not a readable scenario store ({exc}); choose another folder or "
            "move the file away"
        ) from None
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    """Check the store's ``user_version``; with ``create``, make the tables of an older one.

    Raises
    ------
    PlannerError
        When the store's version is newer than `_SCHEMA_VERSION`.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > _SCHEMA_VERSION:
        raise PlannerError(
            f"'{path}' was written by a newer version of the planner (store version "
            f"{version}); update the planner to read it"
        )
    if create and version < _SCHEMA_VERSION:
        # Not executescript: it would commit first, outside the transaction.
        with _transaction(conn):
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """All or nothing: commit when the block ends, roll back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _check_name(name: str) -> str:
    """Return the name stripped; `PlannerError` unless 1-120 characters with no control ones."""
    clean = str(name).strip()
    if not clean or len(clean) > _MAX_NAME or any(ord(c) < 32 for c in clean):
        raise PlannerError(
            f"Scenario name {name!r} is not allowed: use 1 to {_MAX_NAME} characters "
            "without line breaks"
        )
    return clean


def _json(value: Any, what: str) -> str:
    """Write plain data as JSON: numpy scalars become numbers, tuples and sets lists.

    Raises
    ------
    PlannerError
        When ``value`` holds anything else (a frame, an object); ``what`` names the part
        of the scenario (``settings``, ``summary``, ``plan``).
    """

    def plain(obj: Any) -> Any:
        if hasattr(obj, "item"):  # numpy scalars
            return obj.item()
        if isinstance(obj, tuple | set | frozenset):
            return list(obj)
        raise TypeError(type(obj).__name__)

    try:
        return json.dumps(value, default=plain)
    except (TypeError, ValueError) as exc:
        raise PlannerError(
            f"The scenario's {what} cannot be saved: a value of type {exc} is not plain "
            "data (text, numbers, lists, dicts)"
        ) from None


def _encode(frame: pd.DataFrame) -> tuple[bool, bytes]:
    """Encode a table as Parquet bytes (GeoParquet when it has geometry).

    ``attrs`` are dropped (a loader's validation report is not plain data) and the index
    is not kept.

    Returns
    -------
    tuple
        ``(geo, data)``: whether it is a GeoDataFrame, and the bytes.
    """
    frame = frame.copy()
    frame.attrs = {}  # attrs go into Parquet metadata as JSON; reports are not plain data
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return isinstance(frame, gpd.GeoDataFrame), buffer.getvalue()


def _decode(geo: bool, data: bytes) -> pd.DataFrame:
    """Read back a table written by `_encode`, as a GeoDataFrame when ``geo``."""
    buffer = io.BytesIO(data)
    if geo:  # geopandas reads file objects too; types-geopandas only allows paths
        return gpd.read_parquet(buffer)  # type: ignore[arg-type]
    return pd.read_parquet(buffer)


def _plan_json(plan: Plan) -> str:
    """Write every field of the plan but its tables (saved as Parquet) as JSON."""
    scalars = {f.name: getattr(plan, f.name) for f in fields(plan) if f.name not in _PLAN_TABLES}
    return _json(scalars, "plan")


def _plan_from(text: str, tables: dict[str, pd.DataFrame]) -> Plan:
    """Rebuild a `Plan` from its JSON and its ``plan:`` tables (removed from ``tables``).

    Fields the current `Plan` no longer has are ignored; fields it added since keep their
    defaults, so older stores still load.
    """
    stored = json.loads(text)
    known = {f.name for f in fields(Plan)}
    values = {k: v for k, v in stored.items() if k in known}
    values |= {name: tables.pop(f"plan:{name}") for name in _PLAN_TABLES}
    return Plan(**values)


def save_scenario(
    directory: str | os.PathLike[str], scenario: Scenario, *, overwrite: bool = True
) -> Scenario:
    """Save a scenario in one transaction; an existing one of that name is replaced.

    Parameters
    ----------
    directory
        The scenarios folder (created when missing); the store is `STORE_FILE` in it.
    scenario
        What to save.
    overwrite
        Replace a scenario of the same name; when False, `PlannerError` instead.

    Returns
    -------
    Scenario
        The scenario as saved (clean name, ``saved_at`` set).

    Raises
    ------
    PlannerError
        When the folder cannot be used, the name is not allowed or already taken, or a
        setting is not plain data. Nothing is changed then.

    Examples
    --------
    >>> save_scenario("scenarios", Scenario("Baseline", tables={"assets": assets}, plan=plan))
    """
    name = _check_name(scenario.name)
    saved_at = datetime.now(UTC).isoformat(timespec="seconds")
    saved = replace(scenario, name=name, note=str(scenario.note), saved_at=saved_at)
    row = (
        name, saved_at, saved.note, _json(saved.settings, "settings"), saved.policy_toml,
        _json(saved.summary, "summary"), None if saved.plan is None else _plan_json(saved.plan),
    )  # fmt: skip
    tables = dict(saved.tables)
    if saved.plan is not None:
        tables |= {f"plan:{t}": getattr(saved.plan, t) for t in _PLAN_TABLES}
    # Encoded before the write lock is taken: the lock is then held only for the inserts,
    # so many users saving at once do not wait on each other's Parquet encoding.
    encoded = [
        (name, table_name, int(geo), sqlite3.Binary(data))
        for table_name, frame in tables.items()
        if frame is not None
        for geo, data in [_encode(frame)]
    ]
    with _connect(store_path(directory), create=True) as conn, _transaction(conn):
        exists = conn.execute("SELECT 1 FROM scenario WHERE name = ?", (name,)).fetchone()
        if exists and not overwrite:
            raise PlannerError(f"A scenario named '{name}' exists; choose another name")
        conn.execute("DELETE FROM scenario_table WHERE scenario = ?", (name,))
        conn.execute("DELETE FROM scenario WHERE name = ?", (name,))
        conn.execute("INSERT INTO scenario VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        conn.executemany("INSERT INTO scenario_table VALUES (?, ?, ?, ?)", encoded)
    return saved


def list_scenarios(directory: str | os.PathLike[str]) -> pd.DataFrame:
    """List the saved scenarios, newest first: name, saved_at, note, policy and the plan's summary.

    Parameters
    ----------
    directory
        The scenarios folder.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``saved_at``, ``note``, ``policy`` (the policy's name), then the measures
        of `SUMMARY_ORDER`, then any other ``kpis``; no rows when nothing is saved yet (the
        store is not created).

    Raises
    ------
    PlannerError
        When the folder is a file, or the store cannot be read or is from a newer planner.

    Examples
    --------
    >>> list_scenarios("scenarios")[["name", "saved_at", "council_revenue"]]
    """
    path = store_path(directory)
    columns = ["name", "saved_at", "note", "policy", *SUMMARY_ORDER]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    with _connect(path, create=False) as conn:
        if not _has_tables(conn):
            return pd.DataFrame(columns=columns)
        rows = conn.execute(
            "SELECT name, saved_at, note, policy_toml, summary FROM scenario "
            "ORDER BY saved_at DESC, name"
        ).fetchall()
    records = [
        {"name": n, "saved_at": t, "note": note, "policy": _policy_outline(policy)[0]}
        | json.loads(summary)
        for n, t, note, policy, summary in rows
    ]
    frame = pd.DataFrame(records)
    extra = [c for c in frame.columns if c not in columns]
    return frame.reindex(columns=columns + extra)


def _has_tables(conn: sqlite3.Connection) -> bool:
    """Tell whether the store has its ``scenario`` table (an empty file has none)."""
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'scenario'"
    ).fetchone()[0]
    return bool(found)


def _saved_names(conn: sqlite3.Connection) -> list[str]:
    """Return the saved scenario names in alphabetical order."""
    return [r[0] for r in conn.execute("SELECT name FROM scenario ORDER BY name")]


def load_scenario(directory: str | os.PathLike[str], name: str) -> Scenario:
    """Read a saved scenario back, its plan included.

    Parameters
    ----------
    directory
        The scenarios folder.
    name
        The scenario's name (surrounding spaces ignored).

    Returns
    -------
    Scenario
        Its tables (GeoDataFrames with their geometry and CRS), settings, policy TOML,
        plan (or None), ``kpis``, note and ``saved_at``.

    Raises
    ------
    PlannerError
        When there is no store or no scenario of that name (the message lists the names),
        or the store cannot be read or is from a newer planner.

    Examples
    --------
    >>> baseline = load_scenario("scenarios", "Baseline")
    >>> baseline.plan.council_revenue
    """
    path = store_path(directory)
    if not path.is_file():
        raise PlannerError(f"No scenarios are saved in '{path.parent}' yet")
    with _connect(path, create=False) as conn:
        row = conn.execute(
            "SELECT name, saved_at, note, settings, policy_toml, plan, summary FROM scenario "
            "WHERE name = ?",
            (str(name).strip(),),
        ).fetchone()
        if row is None:
            saved = ", ".join(_saved_names(conn)) or "none"
            raise PlannerError(f"No scenario named '{name}' in '{path}'; saved: {saved}")
        blobs = conn.execute(
            "SELECT name, geo, data FROM scenario_table WHERE scenario = ?", (row[0],)
        ).fetchall()
    tables = {t: _decode(bool(geo), bytes(data)) for t, geo, data in blobs}
    plan = _plan_from(row[5], tables) if row[5] is not None else None
    kpis = _kpis(json.loads(row[6]), has_plan=plan is not None)
    return Scenario(row[0], tables, json.loads(row[3]), row[4], plan, kpis, row[2], row[1])


def _kpis(summary: dict[str, Any], *, has_plan: bool) -> dict[str, Any]:
    """Return the extra measures saved with a scenario: its summary less what the plan gives."""
    own = set(_PLAN_SUMMARY) if has_plan else set()
    return {k: v for k, v in summary.items() if k not in own}


def delete_scenario(directory: str | os.PathLike[str], name: str) -> None:
    """Remove a scenario (one transaction); `PlannerError` when there is none of that name.

    Parameters
    ----------
    directory
        The scenarios folder.
    name
        The scenario's name (surrounding spaces ignored); its tables go with it.

    Raises
    ------
    PlannerError
        When there is no store or no scenario of that name, or the store cannot be
        written. Nothing is changed then.

    Examples
    --------
    >>> delete_scenario("scenarios", "Old draft")
    """
    path = store_path(directory)
    if not path.is_file():
        raise PlannerError(f"No scenarios are saved in '{path.parent}' yet")
    with _connect(path, create=False) as conn, _transaction(conn):
        gone = conn.execute("DELETE FROM scenario WHERE name = ?", (str(name).strip(),))
        if gone.rowcount == 0:
            raise PlannerError(f"No scenario named '{name}' to delete")
        conn.execute("DELETE FROM scenario_table WHERE scenario = ?", (str(name).strip(),))


def _number(value: Any) -> bool:
    """Tell whether ``value`` is an int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _difference(a: Any, b: Any) -> Any:
    """Return ``b - a`` for two numbers (None if either is NaN), else "same" or "differs"."""
    if _number(a) and _number(b):
        return None if math.isnan(a) or math.isnan(b) else b - a
    return "same" if a == b else "differs"


def _policy_outline(text: str) -> tuple[str, str]:
    """Return a saved policy's name and its rule ids (``"(unreadable)"`` for bad TOML)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "(unreadable)", ""
    rules = doc.get("rules", [])
    return str(doc.get("name", "")), ", ".join(str(r.get("id", "?")) for r in rules)


def compare_scenarios(a: Scenario, b: Scenario) -> pd.DataFrame:
    """Set two scenarios side by side: their summaries, then the settings and inputs that differ.

    Rows: the summary measures (`SUMMARY_ORDER` first), each setting whose value
    differs, the policy's name and rule ids when the policies differ, and the row count of
    every input table.

    Parameters
    ----------
    a, b
        The scenarios, e.g. from `load_scenario`.

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``a``, ``b`` and ``difference`` (b - a for numbers, else "same" or
        "differs"); ``attrs["names"]`` holds the two names.

    Examples
    --------
    >>> compare_scenarios(load_scenario(d, "Baseline"), load_scenario(d, "No alcohol"))
    """
    sa, sb = a.summary, b.summary
    keys = [k for k in SUMMARY_ORDER if k in sa or k in sb]
    keys += [k for k in dict.fromkeys([*sa, *sb]) if k not in keys]
    rows = [(k, sa.get(k), sb.get(k)) for k in keys]
    for key in sorted(set(a.settings) | set(b.settings)):
        va, vb = a.settings.get(key), b.settings.get(key)
        if va != vb:
            rows.append((f"setting: {key}", va, vb))
    if a.policy_toml != b.policy_toml:
        pa, pb = (_policy_outline(s.policy_toml) for s in (a, b))
        rows += [("policy", pa[0], pb[0]), ("policy rules", pa[1], pb[1])]
    for table in sorted(set(a.tables) | set(b.tables)):
        na, nb = (len(s.tables[table]) if table in s.tables else None for s in (a, b))
        rows.append((f"rows: {table}", na, nb))
    frame = pd.DataFrame(
        [(m, va, vb, _difference(va, vb)) for m, va, vb in rows],
        columns=["measure", "a", "b", "difference"],
    )
    frame.attrs["names"] = (a.name, b.name)
    return frame
