"""PostgreSQL/PostGIS as a source and a sink: where councils keep their asset registers.

A source is a ``postgresql://`` URL naming a table or a query: ``?table=street_assets``
(with ``&schema=assets`` outside ``public``) or ``?sql=SELECT ...`` (URL-encoded), or the
same as keywords of `DatabaseSource`. The loaders of `planner.io.readers` read it with
the validation, column mapping and options of a file. `write_database` writes the
planner's tables back, replacing or appending, all in one transaction.

The work is done by the field's libraries: SQLAlchemy builds every statement (names are
quoted by it, never pasted into SQL), psycopg 3 talks to the server, geopandas'
``read_postgis`` reads the geometry and pandas' ``to_sql`` writes it with GeoAlchemy2's
PostGIS column types. Credentials come from the URL or from libpq's own ``PGUSER``,
``PGPASSWORD``, ``PGHOST``, ``PGPORT`` and ``PGDATABASE`` variables and ``~/.pgpass``; the
password is never printed, logged or put in a message (every message shows the URL as
``user:***@host``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from planner.errors import PlannerError, Problem
from planner.io.geofiles import convertible, file_error, parse_crs
from planner.io.tables import apply_mapping

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL, Connection

# SQLAlchemy and GeoAlchemy2 are imported inside the functions that use them, so that
# importing the planner stays fast for those who never touch a database.

__all__ = [
    "ROW_KEY",
    "WRITE_MODES",
    "DatabaseSource",
    "database_source",
    "is_database_url",
    "mask_url",
    "read_database",
    "read_database_table",
    "write_database",
]

#: URL schemes read as a PostgreSQL connection string (``postgres://`` is libpq's alias).
_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: Query parameters of a URL that are the planner's, not libpq's (removed before connecting).
_OPTIONS = ("table", "sql", "schema", "geometry", "mode")
#: How `write_database` treats a table that exists: drop and recreate it, or add rows.
WRITE_MODES = ("replace", "append")
#: PostgreSQL type names (psycopg's) and the pandas dtype a column of each is read as;
#: the second is used when the column has missing values.
_DTYPES = {
    "bool": ("bool", "boolean"),
    "int2": ("int64", "Int64"),
    "int4": ("int64", "Int64"),
    "int8": ("int64", "Int64"),
    "float4": ("float64", "float64"),
    "float8": ("float64", "float64"),
    "numeric": ("float64", "float64"),
    "text": ("str", "str"),
    "varchar": ("str", "str"),
    "bpchar": ("str", "str"),
}
#: Seconds to wait for the server before saying it cannot be reached.
_CONNECT_SECONDS = 10
#: Column numbering the rows of every table `write_database` writes (1, 2, ... in the order
#: given), its primary key: rows have no order of their own in PostgreSQL, and QGIS needs a
#: key. `read_database_table` reads such a table in this order and leaves the column out.
ROW_KEY = "fid"
#: Longest table or column name PostgreSQL keeps (NAMEDATALEN - 1); longer ones are cut.
_MAX_NAME_BYTES = 63


def is_database_url(value: object) -> bool:
    """Return True when ``value`` is a PostgreSQL connection string (``postgresql://...``).

    Parameters
    ----------
    value
        What a loader or writer was given: a path, a URL, bytes, a file object, ...

    Returns
    -------
    bool
        True for text starting ``postgresql://``, ``postgres://`` or
        ``postgresql+psycopg://`` (any case).

    Examples
    --------
    >>> is_database_url("postgresql://planner@db.example/assets?table=street_assets")
    True
    >>> is_database_url("assets.gpkg")
    False
    """
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


def mask_url(url: str | URL) -> str:
    """Return the connection string as it may be shown: scheme, user, host, port and database.

    The password becomes ``***``; the planner's own query parameters are dropped, libpq's
    (e.g. ``sslmode``) are kept.

    Parameters
    ----------
    url
        A ``postgresql://`` connection string or SQLAlchemy `~sqlalchemy.engine.URL`.

    Returns
    -------
    str
        E.g. ``postgresql://planner:***@db.example:5432/assets``.

    Raises
    ------
    PlannerError
        When ``url`` is not a connection string SQLAlchemy can parse (the message does not
        repeat it, as it may hold a password).

    Examples
    --------
    >>> mask_url("postgresql://planner:s3cret@db.example:5432/assets?table=street_assets")
    'postgresql://planner:***@db.example:5432/assets'
    """
    parsed = _parse(url).difference_update_query(_OPTIONS)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)


@dataclass(frozen=True, eq=False)
class DatabaseSource:
    """A table or query of a PostgreSQL/PostGIS database, read like a file by the loaders.

    Build it with `DatabaseSource.of` (or pass the URL string to a loader). Its ``name``
    and text show the URL without its password; so does its ``repr``.

    Attributes
    ----------
    url
        The connection string, password included when it has one (never shown).
    table
        Table (or view) to read, or None with ``sql``.
    sql
        A query to run in a read-only transaction, or None with ``table``.
    schema
        Schema of ``table``; None for the search path (``public``).
    geometry
        Geometry column to use when the table has several; None for the first.
    """

    url: str = field(repr=False)
    table: str | None = None
    sql: str | None = None
    schema: str | None = None
    geometry: str | None = None

    @classmethod
    def of(
        cls,
        url: str | DatabaseSource,
        *,
        table: str | None = None,
        sql: str | None = None,
        schema: str | None = None,
        geometry: str | None = None,
    ) -> DatabaseSource:
        """Make a source from a URL and keywords; keywords win over the URL's parameters.

        Parameters
        ----------
        url
            ``postgresql://[user[:password]@][host][:port]/database[?table=...|sql=...]``;
            parts left out come from libpq's environment variables and ``~/.pgpass``.
        table, sql
            Exactly one, here or in the URL: the table to read, or the query to run.
        schema
            Schema of ``table`` (``?schema=``); the search path by default.
        geometry
            Geometry column to use (``?geometry=``); the first by default.

        Returns
        -------
        DatabaseSource

        Raises
        ------
        PlannerError
            When ``url`` is not a PostgreSQL connection string, or gives both or neither
            of ``table`` and ``sql``.

        Examples
        --------
        >>> source = DatabaseSource.of("postgresql://planner@db/assets", table="street_assets")
        >>> source.name
        'postgresql://planner@db/assets?table=street_assets'
        """
        if isinstance(url, DatabaseSource):
            table, sql = table or url.table, sql or url.sql
            schema, geometry, url = schema or url.schema, geometry or url.geometry, url.url
        if not is_database_url(url):
            raise PlannerError(
                "A database source is a connection string starting postgresql://, e.g. "
                "postgresql://user@host/database?table=street_assets"
            )
        query = _parse(url).query
        table = table or _one(query.get("table"))
        sql = sql or _one(query.get("sql"))
        if bool(table) == bool(sql):
            raise PlannerError(
                f"{mask_url(url)}: say what to read with table= or sql= (one of them), e.g. "
                f"{mask_url(url)}?table=street_assets"
            )
        return cls(
            url,
            table=table,
            sql=sql,
            schema=schema or _one(query.get("schema")),
            geometry=geometry or _one(query.get("geometry")),
        )

    @property
    def name(self) -> str:
        """The source as messages name it: the masked URL and the table, or ``(query)``."""
        if self.table is None:
            return f"{mask_url(self.url)} (query)"
        table = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"{mask_url(self.url)}?table={table}"

    def __str__(self) -> str:
        """Return `name`: the URL without its password."""
        return self.name

    def __repr__(self) -> str:
        """Return ``DatabaseSource('<name>')``, without the password."""
        return f"DatabaseSource({self.name!r})"


def database_source(source: object) -> DatabaseSource | None:
    """Return the `DatabaseSource` a loader was given, or None when it is a file.

    Parameters
    ----------
    source
        A `DatabaseSource`, a ``postgresql://`` URL (with ``table=`` or ``sql=``), or
        anything else a loader reads (a path, bytes, a file object).

    Returns
    -------
    DatabaseSource or None

    Raises
    ------
    PlannerError
        When a URL gives neither or both of ``table=`` and ``sql=``.
    """
    if isinstance(source, DatabaseSource):
        return source
    if is_database_url(source):
        return DatabaseSource.of(str(source))
    return None


def read_database(
    source: DatabaseSource,
    *,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    max_rows: int,
) -> tuple[gpd.GeoDataFrame, CRS, int, list[Problem]]:
    """Read a table or query into a GeoDataFrame in its own CRS, as `read_table` reads a file.

    Parameters
    ----------
    source
        The table or query.
    crs
        CRS of the geometry when it has no SRID (SRID 0); must agree with the SRID if set.
    columns
        Explicit ``{column: contract column}`` mapping
        (`planner.io.tables.apply_mapping`).
    layer, encoding, sheet
        File options a database does not use: each given one is reported as a warning.
    max_rows
        Most rows accepted (`planner.io.readers.MAX_ROWS`).

    Returns
    -------
    tuple
        ``(frame, crs, first_row, problems)`` as `planner.io.readers.read_table`: the
        rows with their geometry, its CRS, 1 (rows are numbered from the first the table
        or query returns) and the warnings found.

    Raises
    ------
    DataValidationError
        When the server cannot be reached or refuses the login, the table or geometry
        column does not exist, the query fails, there are more than ``max_rows`` rows,
        the geometry has no SRID and no ``crs`` is given (or another one is), or the rows
        mix SRIDs. The message shows the URL without its password.
    """
    name = source.name
    problems = [
        Problem(name, "", "", f"{option} was not used: a database table has none", "", "warning")
        for option, value in (("layer=", layer), ("encoding=", encoding), ("sheet=", sheet))
        if value not in (None, "")
    ]
    given = parse_crs(crs, name)
    table = read_database_table(source, max_rows=max_rows, spatial=True)
    assert isinstance(table, gpd.GeoDataFrame)  # spatial=True refuses a table without geometry
    frame, mapped = apply_mapping(table, columns, name)
    problems += mapped
    if frame.crs is None:
        if given is None:
            raise file_error(
                name,
                "the geometry has no SRID, so its coordinate reference system (CRS) is unknown",
                "Set it in the database (UpdateGeometrySRID) or pass crs='EPSG:27700' (--crs)",
            )
        frame = frame.set_crs(given)
    elif given is not None and CRS.from_user_input(frame.crs) != given:
        raise file_error(
            name,
            f"the geometry's SRID says {frame.crs.to_string()} but crs={given.to_string()} "
            "was passed",
            "Leave crs unset for this table, or fix its SRID",
        )
    return frame, convertible(CRS.from_user_input(frame.crs), name), 1, problems


def read_database_table(
    source: DatabaseSource | str,
    *,
    max_rows: int | None = None,
    spatial: bool = False,
) -> pd.DataFrame:
    """Read a table or query as it is stored: no renaming, no validation, types kept.

    For reading back what `write_database` wrote (placements, delivery, values) and for
    any table that is not an input contract.

    Parameters
    ----------
    source
        A `DatabaseSource`, or a URL with ``table=`` or ``sql=``.
    max_rows
        Most rows accepted; None for no limit.
    spatial
        Require a geometry column (the loaders do); else a table without one is read as a
        plain DataFrame.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        The rows in the table's order (a query's own order). Columns have the dtype of
        their PostgreSQL type, missing values or not: ``boolean``/``bool``,
        ``Int64``/``int64`` for integers, ``float64`` for floating and numeric, ``str``
        for text. A GeoDataFrame, in the CRS of the geometry's SRID (None for SRID 0),
        when there is a geometry column.

    Raises
    ------
    DataValidationError
        When the server cannot be reached or refuses the login, the table or geometry
        column does not exist, the query fails, there are more rows than ``max_rows``,
        ``spatial`` is true and there is no geometry column, or the rows mix SRIDs.

    Examples
    --------
    >>> placements = read_database_table(
    ...     "postgresql://planner@db/plans?table=placements&schema=ooh")  # doctest: +SKIP
    """
    source = DatabaseSource.of(source)
    name = source.name
    with _connection(source.url, name, read_only=True) as conn:
        statement, key = _statement(conn, source)
        types, geometry = _describe(conn, statement, source)
        if geometry is None and spatial:
            raise file_error(
                name,
                "there is no PostGIS geometry column"
                + (f" (columns: {', '.join(list(types)[:20])})" if types else ""),
                "Add a geometry column, or select one with sql=, e.g. SELECT *, "
                "ST_SetSRID(ST_MakePoint(easting, northing), 27700) AS geom FROM ...",
            )
        limited = statement if max_rows is None else statement.limit(max_rows + 1)
        frame = _run(conn, limited, geometry, source)
    if key == [ROW_KEY]:
        frame = frame.drop(columns=ROW_KEY)  # the row order the planner wrote, not data
        types = {k: v for k, v in types.items() if k != ROW_KEY}
    if max_rows is not None and len(frame) > max_rows:
        raise file_error(
            name,
            f"the table has more than {max_rows:,} rows, the limit",
            "Read part of it with sql=, e.g. one borough at a time",
        )
    return _restore_types(frame, types)


def write_database(
    layers: Mapping[str, pd.DataFrame],
    url: str,
    *,
    mode: str | None = None,
    schema: str | None = None,
) -> list[str]:
    """Write tables to PostgreSQL/PostGIS in one transaction: all of them, or none.

    Every table goes in through `pandas.DataFrame.to_sql`; one with geometry gets a typed
    PostGIS column (GeoAlchemy2's ``Geometry``, e.g. ``geometry(POINT, 4326)``) and a
    spatial index, and every one a bigint primary key `ROW_KEY` numbering its rows in the
    order given. Each keeps its column types (text, bigint, double precision, boolean,
    timestamp; a categorical column becomes text) and its values (``""`` stays ``""``,
    missing stays NULL). If any table fails, the transaction is rolled back and the
    previous tables are left exactly as they were.

    Parameters
    ----------
    layers
        ``{table name: table}``, e.g. ``{"placements": ..., "campaigns": ...,
        "summary": ...}``; names are used as given (quoted by SQLAlchemy).
    url
        ``postgresql://[user[:password]@]host[:port]/database``, optionally with
        ``?schema=`` and ``?mode=``; parts left out come from libpq's environment
        variables and ``~/.pgpass``.
    mode
        ``"replace"`` (drop and recreate each table; the default) or ``"append"`` (add
        rows to tables that exist, with the same columns); wins over ``?mode=``.
    schema
        Schema to write to, created when missing; wins over ``?schema=``. The search
        path (``public``) by default.

    Returns
    -------
    list of str
        The tables written, schema-qualified when a schema was given.

    Raises
    ------
    PlannerError
        When ``mode`` is not one of `WRITE_MODES`, the server cannot be reached or
        refuses the login, or a table cannot be written (e.g. appending rows whose columns
        or types differ from the table's). The message names the table, shows the URL
        without its password and says that nothing was written.

    Examples
    --------
    >>> write_database({"placements": plan.placements, "campaigns": plan.campaigns},
    ...                "postgresql://planner@db/plans?schema=ooh")  # doctest: +SKIP
    ['ooh.placements', 'ooh.campaigns']
    """
    import sqlalchemy as sa

    query = _parse(url).query
    mode = mode or _one(query.get("mode")) or "replace"
    schema = schema or _one(query.get("schema"))
    name = mask_url(url)
    if mode not in WRITE_MODES:
        raise PlannerError(f"mode='{mode}' is not understood; use 'replace' or 'append'")
    written = []
    with _connection(url, name, read_only=False) as conn:
        current = ""
        try:
            with conn.begin():
                if schema:
                    conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
                for current, frame in layers.items():
                    _write_one(conn, current, frame, schema=schema, mode=mode)
                    written.append(f"{schema}.{current}" if schema else current)
        except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
            raise PlannerError(
                f"Could not write table '{current}' to {name}: {_reason(exc, url)}. Nothing "
                "was written: the tables in the database are as they were"
            ) from None
        except (ValueError, TypeError) as exc:
            raise PlannerError(
                f"Could not write table '{current}' to {name}: {_scrub(str(exc), url)}. "
                "Nothing was written: the tables in the database are as they were"
            ) from None
    return written


def _write_one(conn: Connection, table: str, frame: pd.DataFrame, *, schema, mode) -> None:
    """Write one table on ``conn`` (inside the caller's transaction).

    Raises
    ------
    ValueError
        When a name is longer than PostgreSQL keeps (`_MAX_NAME_BYTES`): the server would
        cut it silently, and the table read back would not have the column written.
    """
    too_long = [n for n in (table, *map(str, frame.columns)) if len(n.encode()) > _MAX_NAME_BYTES]
    if too_long:
        raise ValueError(
            f"PostgreSQL keeps names of up to {_MAX_NAME_BYTES} bytes; rename "
            + ", ".join(f"'{n}'" for n in too_long)
        )
    rows = pd.DataFrame(frame).copy()
    rows.attrs = {}  # a loader's report is not a column
    first, new = _first_row_key(conn, table, schema, mode)
    if first is not None:
        if ROW_KEY in rows.columns:
            raise ValueError(f"'{ROW_KEY}' is the name of the key the planner writes; rename it")
        rows.insert(0, ROW_KEY, np.arange(first, first + len(rows), dtype="int64"))
    types = {}
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        name = frame.geometry.name
        rows[name], types[name] = _ewkb(frame.geometry)
    for column in rows.columns:
        if rows[column].dtype == object and column not in types:
            rows[column] = rows[column].map(_cell)
    rows.to_sql(table, conn, schema=schema, if_exists=mode, index=False, dtype=types)
    if new:
        _add_primary_key(conn, table, schema)


def _first_row_key(conn: Connection, table: str, schema, mode) -> tuple[int | None, bool]:
    """Return the `ROW_KEY` of the first row to write, and whether the table is new.

    1 for a new (or replaced) table; after the last one when appending to a table the
    planner wrote; None when appending to a table without the key.
    """
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    if mode == "replace" or not inspector.has_table(table, schema=schema):
        return 1, True
    if ROW_KEY not in {c["name"] for c in inspector.get_columns(table, schema=schema)}:
        return None, False
    last: sa.Select = sa.select(sa.func.max(sa.column(ROW_KEY)))
    last = last.select_from(sa.table(table, schema=schema))
    return int(conn.execute(last).scalar() or 0) + 1, False


def _add_primary_key(conn: Connection, table: str, schema) -> None:
    """Make `ROW_KEY` the table's primary key (QGIS needs one to show and edit features)."""
    import sqlalchemy as sa

    key = sa.Column(ROW_KEY, sa.BigInteger)
    sa.Table(table, sa.MetaData(), key, schema=schema)
    conn.execute(sa.schema.AddConstraint(sa.PrimaryKeyConstraint(key)))


def _ewkb(geometry: gpd.GeoSeries) -> tuple[np.ndarray, Any]:
    """Return the geometries as hex EWKB and the PostGIS column type that holds them.

    The rows go in through pandas' ``to_sql`` with GeoAlchemy2's ``Geometry`` type (which
    also makes the spatial index) rather than geopandas' ``to_postgis``, whose CSV COPY
    stores empty text as NULL (geopandas issue 2588): here ``""`` stays ``""``.
    """
    from geoalchemy2 import Geometry

    srid = (geometry.crs.to_epsg() or 0) if geometry.crs is not None else 0
    values = geometry.to_numpy()
    present = values[~shapely.is_missing(values)]
    kinds = {_GEOMETRY_TYPES[t] for t in shapely.get_type_id(present).tolist()}
    kind = kinds.pop() if len(kinds) == 1 else "GEOMETRY"
    dimension = 3 if shapely.has_z(present).any() else 2
    z = "Z" if dimension == 3 else ""
    column = Geometry(geometry_type=kind + z, srid=srid, dimension=dimension)
    ewkb = shapely.to_wkb(shapely.set_srid(values, srid), hex=True, include_srid=True)
    return ewkb, column


#: PostGIS geometry type names by shapely type id (a linear ring is stored as a line).
_GEOMETRY_TYPES = {
    0: "POINT",
    1: "LINESTRING",
    2: "LINESTRING",
    3: "POLYGON",
    4: "MULTIPOINT",
    5: "MULTILINESTRING",
    6: "MULTIPOLYGON",
    7: "GEOMETRYCOLLECTION",
}


def _cell(value: Any) -> Any:
    """Return a cell PostgreSQL can store: lists, dicts and other objects as text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --- connection ------------------------------------------------------------------------


def _parse(url: str | URL) -> URL:
    """Parse a connection string with SQLAlchemy, for the psycopg 3 driver."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url.strip() if isinstance(url, str) else url)
    except (sa.exc.ArgumentError, ValueError):
        raise PlannerError(
            "The database connection string could not be read; write it as "
            "postgresql://user@host:5432/database (the password in ~/.pgpass or PGPASSWORD)"
        ) from None
    return parsed.set(drivername="postgresql+psycopg")


def _one(value: str | tuple[str, ...] | None) -> str | None:
    """Return a URL parameter given once (the last when repeated), or None."""
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value or None


@contextmanager
def _connection(url: str, name: str, *, read_only: bool) -> Iterator[Connection]:
    """Open one connection (no pool); a refused login or unknown host is a plain error."""
    import sqlalchemy as sa

    engine = sa.create_engine(
        _parse(url).difference_update_query(_OPTIONS),
        poolclass=sa.pool.NullPool,
        hide_parameters=True,  # row values never appear in an error message
        connect_args={"connect_timeout": _CONNECT_SECONDS, "application_name": "ooh-planner"},
    )
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise file_error(
                name,
                f"could not connect to the database: {_reason(exc, url)}",
                "Check the host, port, database name, user and password (the password can "
                "come from ~/.pgpass or PGPASSWORD instead of the URL)",
            ) from None
        with conn:
            yield conn.execution_options(postgresql_readonly=True) if read_only else conn
    finally:
        engine.dispose()


def _reason(exc: Exception, url: str) -> str:
    """Return the server's reason for an error in one line, with any credential masked.

    pandas wraps the driver's error in its own ``DatabaseError``; the reason is the
    driver's message either way, without the statement SQLAlchemy appends.
    """
    if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ is not None:
        exc = exc.__cause__  # type: ignore[assignment]
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines()]
    kept = [line for line in lines if line and not line.startswith(_NOISE) and line != "^"]
    text = "; ".join(kept)[:300].rstrip(". ")
    return _scrub(text or type(original).__name__, url)


#: Lines of a driver's message that repeat the statement rather than say what is wrong.
_NOISE = ("[SQL", "LINE ", "(Background on this error")


def _scrub(text: str, url: str) -> str:
    """Replace the URL's password, and PGPASSWORD's, with ``***`` wherever they appear."""
    import sqlalchemy as sa

    secrets = []
    try:
        secrets.append(sa.engine.make_url(url.strip()).password)
    except (sa.exc.ArgumentError, ValueError):
        secrets.append(None)
    secrets.append(os.environ.get("PGPASSWORD"))
    for secret in filter(None, secrets):
        text = text.replace(str(secret), "***")
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)


# --- reading ---------------------------------------------------------------------------


def _statement(conn: Connection, source: DatabaseSource) -> tuple[sa.Select, list[str]]:
    """Build ``SELECT * FROM <table>`` or ``SELECT * FROM (<query>) AS q`` with SQLAlchemy.

    A table is read in the order of its primary key, if it has one (rows have no order of
    their own in PostgreSQL). A table name is quoted by SQLAlchemy, never pasted into SQL;
    a query is the user's own (its ``ORDER BY`` decides) and runs in a read-only
    transaction. Returns the statement and the primary key's columns (none for a query).
    """
    import sqlalchemy as sa

    if source.sql is not None:
        query = sa.text(source.sql.strip().rstrip(";")).columns().subquery("q")
        return sa.select(sa.literal_column("*")).select_from(query), []
    assert source.table is not None  # DatabaseSource.of requires table or sql
    inspector = sa.inspect(conn)
    if not inspector.has_table(source.table, schema=source.schema):
        tables = set(inspector.get_table_names(schema=source.schema)) - {"spatial_ref_sys"}
        where = f"schema '{source.schema}'" if source.schema else "the database"
        raise file_error(
            source.name,
            f"there is no table '{source.table}' in {where}"
            + (f" (tables: {', '.join(sorted(tables)[:20])})" if tables else " (no tables)"),
            "Check the table name, and give its schema with ?schema= when it is not public",
        )
    primary = inspector.get_pk_constraint(source.table, schema=source.schema)
    key = list(primary["constrained_columns"])
    table = sa.table(source.table, schema=source.schema)
    statement: sa.Select = sa.select(sa.literal_column("*")).select_from(table)
    return statement.order_by(*[sa.column(name) for name in key]), key


def _describe(
    conn: Connection, statement: sa.Select, source: DatabaseSource
) -> tuple[dict[str, str], str | None]:
    """Return each column's PostgreSQL type name and the geometry column (None if none)."""
    import sqlalchemy as sa

    try:
        oids = conn.execute(sa.text(_GEOMETRY_OIDS)).one()
        geometry_oids = {oid for oid in oids if oid is not None}
        description = conn.execute(statement.limit(0)).cursor.description
    except sa.exc.SQLAlchemyError as exc:
        raise file_error(
            source.name,
            f"the query failed: {_reason(exc, source.url)}",
            "Check the SQL runs in psql; only SELECT queries are allowed (read-only)",
        ) from None
    adapters = conn.connection.driver_connection.adapters  # type: ignore[union-attr]
    types = {}
    found = []
    for column in description:  # PEP 249: each column is (name, type_code, ...)
        column_name, type_code = str(column[0]), column[1]
        info = adapters.types.get(type_code)
        types[column_name] = info.name if info is not None else ""
        if type_code in geometry_oids:
            found.append(column_name)
    if source.geometry is not None and source.geometry not in found:
        raise file_error(
            source.name,
            f"there is no geometry column '{source.geometry}'"
            + (f" (geometry columns: {', '.join(found)})" if found else ""),
            "Name one of the geometry columns with ?geometry=, or leave it out",
        )
    return types, source.geometry or (found[0] if found else None)


#: The type ids of PostGIS geometry and geography in this database (NULL without PostGIS).
_GEOMETRY_OIDS = "SELECT to_regtype('geometry')::oid, to_regtype('geography')::oid"


def _run(conn: Connection, statement: sa.Select, geometry: str | None, source: DatabaseSource):
    """Run the statement: a GeoDataFrame through ``read_postgis``, else a DataFrame."""
    import sqlalchemy as sa

    name = source.name
    try:
        if geometry is None:
            return pd.read_sql(statement, conn)
        # geopandas passes an SQLAlchemy statement on to pandas.read_sql; its stubs say str
        frame = gpd.read_postgis(statement, conn, geom_col=geometry)  # type: ignore[call-overload]
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        reason = _reason(exc, source.url)
        raise file_error(
            name, f"the query failed: {reason}", "Check the SQL runs in psql"
        ) from None
    srids = set(shapely.get_srid(frame.geometry.dropna().to_numpy()).tolist())
    if len(srids) > 1:
        raise file_error(
            name,
            f"the rows mix coordinate systems (SRIDs {', '.join(map(str, sorted(srids)))})",
            "Transform them to one in sql=, e.g. ST_Transform(geom, 27700)",
        )
    return frame


def _restore_types(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """Give each column the dtype of its PostgreSQL type, with or without missing values."""
    for column, type_name in types.items():
        if column not in frame.columns or type_name not in _DTYPES:
            continue
        plain, with_missing = _DTYPES[type_name]
        values = frame[column]
        dtype = with_missing if values.isna().any() else plain
        if str(values.dtype) != dtype:
            frame[column] = values.astype(pd.api.types.pandas_dtype(dtype))
    return frame
