"""PostGIS in and out on a real server: a throwaway PostgreSQL cluster the tests start.

The module starts its own cluster (initdb in a temporary folder, a free port, PostGIS in a
fresh database), loads real data into it (the London bus stops and schools from
../shared/data when present, the Helsinki demo otherwise), runs eligibility, value and plan
from the database, writes back and reads again, then stops and deletes the cluster. It is
skipped, saying why, where Debian's ``postgresql`` and ``postgis`` packages are absent.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, free_port

import planner
from planner.cli import main
from planner.demo import DEMO_DIR, load_demo
from planner.errors import DataValidationError, PlannerError
from planner.io.database import DatabaseSource, mask_url, read_database_table, write_database

pytestmark = pytest.mark.slow

#: The throwaway cluster's password, looked for in every message.
PASSWORD = "Tr0ub4dor-&-3"
DATABASE = "planner_test"
#: Where Debian keeps each PostgreSQL version's server binaries (not on the PATH).
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
CAMPAIGNS = DEMO_DIR / "campaigns.csv"


@dataclass(frozen=True)
class Server:
    """A running throwaway cluster: its URL (with the password) and its parts."""

    url: str
    host: str
    port: int
    user: str
    password: str

    def table(self, name: str, **params: str) -> str:
        """The URL of a table, with more query parameters (e.g. ``schema``)."""
        return f"{self.url}?{urllib.parse.urlencode({'table': name, **params})}"

    def query(self, sql: str) -> str:
        """The URL of an SQL query."""
        return f"{self.url}?{urllib.parse.urlencode({'sql': sql})}"


def _server_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: Debian's newest version, else the PATH."""
    debian = sorted(DEBIAN_BINARIES.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if debian:
        return debian[-1].parent
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _server_user() -> str | None:
    """Who runs the server: initdb refuses root, so as root the ``postgres`` user (else nobody)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    pytest.skip("running as root and no 'postgres' or 'nobody' user to run the server as")


def _run(command: list[str], user: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(command, user=user, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def postgis() -> Iterator[Server]:
    binaries = _server_binaries()
    if binaries is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
            "or on the PATH: apt-get install postgresql postgis"
        )
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="planner-pg-"))  # the server user must enter it
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        password_file = root / "password"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        if user is not None:
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        init = _run(
            [str(binaries / "initdb"), "-D", str(root / "data"), "-U", "planner", "-E", "UTF8",
             "--no-locale", "--auth=scram-sha-256", f"--pwfile={password_file}"],
            user,
        )  # fmt: skip
        assert init.returncode == 0, init.stderr
        port = free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        start = _run(
            [str(binaries / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"),
             "-o", options, "-w", "-t", "60", "start"],
            user,
        )  # fmt: skip
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        assert start.returncode == 0, start.stderr + log
        try:
            server = Server(
                f"postgresql://planner:{urllib.parse.quote(PASSWORD)}@127.0.0.1:{port}/{DATABASE}",
                "127.0.0.1",
                port,
                "planner",
                PASSWORD,
            )
            _create_database(server)
            yield server
        finally:
            _run([str(binaries / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "stop"], user)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _create_database(server: Server) -> None:
    """Create the test database with PostGIS; skip when the extension is not installed."""
    import sqlalchemy as sa

    admin = server.url.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    engine = sa.create_engine(f"{admin}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    engine = sa.create_engine(f"{admin}/{DATABASE}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION postgis"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(
            f"PostGIS is not installed for this PostgreSQL (apt-get install postgis): {exc}"
        )
    finally:
        engine.dispose()


# --- the data: London bus stops and schools when present, else the demo -------------------


@dataclass(frozen=True)
class Inputs:
    """Assets and sites to load into the database, and a point to plan around."""

    where: str
    assets: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    centre: tuple[float, float]  # lon, lat
    radius_m: float


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    if SHARED_DATA.is_dir():
        from test_real_london import BUS_STOP_OPTIONS, SCHOOL_OPTIONS

        folder = SHARED_DATA
        assets = planner.load_assets(
            folder / "london_tfl_bus_stops" / "bus-stops.csv", drop_invalid=True, **BUS_STOP_OPTIONS
        )
        sites = planner.load_sites(
            folder / "london_schools_gias" / "london_nurseries_edubase_2019.csv", **SCHOOL_OPTIONS
        )
        # Plan the stops within 600 m of Trafalgar Square (a few dozen), not all 20,000.
        return Inputs("London", assets, sites, (-0.1281, 51.5080), 600.0)
    demo = load_demo()
    west, south, east, north = demo.assets.total_bounds
    return Inputs(
        "Helsinki demo", demo.assets, demo.sites, ((west + east) / 2, (south + north) / 2), 400.0
    )


@pytest.fixture(scope="module")
def loaded(postgis: Server, inputs: Inputs) -> Server:
    """The assets and sites written to the database as tables ``street_assets`` and ``sites``."""
    written = write_database({"street_assets": inputs.assets, "sites": inputs.sites}, postgis.url)
    assert written == ["street_assets", "sites"]
    return postgis


def _metres_apart(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Distance between matching geometries, in metres on the British National Grid.

    ``b`` is first put in ``a``'s CRS, so that both go through the same transformation to
    the grid (OSGB36's datum shift is not exactly invertible: about a millimetre).
    """
    a = gpd.GeoSeries(a.to_numpy(), crs=a.crs)
    b = gpd.GeoSeries(b.to_numpy(), crs=b.crs).to_crs(a.crs)
    return a.to_crs(27700).distance(b.to_crs(27700), align=False).to_numpy()


def _within(frame: gpd.GeoDataFrame, centre: tuple[float, float], radius_m: float) -> np.ndarray:
    """Which rows lie within ``radius_m`` metres of the (lon, lat) ``centre``."""
    point = gpd.GeoSeries.from_xy([centre[0]], [centre[1]], crs=4326).to_crs(27700).iloc[0]
    return (frame.geometry.to_crs(27700).distance(point) <= radius_m).to_numpy()


def _same_table(read: pd.DataFrame, written: pd.DataFrame) -> None:
    """Every column with its dtype and every value; geometry to the millimetre.

    A column of text is text either way: pandas' ``object`` column of strings reads back
    as its ``str`` dtype (a PostgreSQL ``text`` column), the same values.
    """
    assert list(read.columns) == list(written.columns)
    texts = [
        c
        for c in written.columns
        if written[c].dtype == object and written[c].dropna().map(type).eq(str).all()
    ]
    written = written.astype(dict.fromkeys(texts, "str"))
    assert len(read) == len(written)
    if isinstance(written, gpd.GeoDataFrame):
        assert read.crs == written.crs
        assert _metres_apart(read.geometry, written.geometry).max() <= 0.001
        read, written = read.drop(columns="geometry"), written.drop(columns="geometry")
    pd.testing.assert_frame_equal(
        pd.DataFrame(read).reset_index(drop=True), pd.DataFrame(written).reset_index(drop=True)
    )


# --- reading: the loaders on a table or a query --------------------------------------------


def test_assets_and_sites_load_from_the_database_as_from_the_files(loaded, inputs):
    assets = planner.load_assets(loaded.table("street_assets"))
    sites = planner.load_sites(loaded.table("sites"))

    assert assets["asset_id"].tolist() == inputs.assets["asset_id"].tolist()
    assert sites["site_id"].tolist() == inputs.sites["site_id"].tolist()
    for read, original in ((assets, inputs.assets), (sites, inputs.sites)):
        assert read.crs == "EPSG:4326"
        assert _metres_apart(read.geometry, original.geometry).max() <= 0.001
        assert read.dtypes.drop("geometry").to_dict() == original.dtypes.drop("geometry").to_dict()
        assert read.attrs["report"].errors == []
    contract = [c for c in planner.schema.ASSET_COLUMNS if c in assets.columns]
    pd.testing.assert_frame_equal(
        pd.DataFrame(assets[contract]), pd.DataFrame(inputs.assets[contract])
    )
    assert assets.attrs["report"].source == mask_url(loaded.url) + "?table=street_assets"


def test_a_query_reads_what_it_selects_and_a_metric_srid_is_converted(loaded, inputs):
    ids = inputs.assets["asset_id"].iloc[:25].tolist()
    listed = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    # The data's own metric CRS: British National Grid for London, UTM 35N for the demo.
    srid = planner.metric_crs(inputs.assets).to_epsg()
    sql = (
        f"SELECT asset_id, faces, ST_Transform(geometry, {srid}) AS geom FROM street_assets "
        f"WHERE asset_id IN ({listed}) ORDER BY asset_id;"
    )

    assets = planner.load_assets(DatabaseSource.of(loaded.url, sql=sql))

    assert assets["asset_id"].tolist() == sorted(ids)
    assert assets.attrs["report"].crs == f"EPSG:{srid}"
    original = inputs.assets.set_index("asset_id").loc[sorted(ids)]
    # There (by PostGIS) and back (by pyproj); OSGB36's datum shift is not exactly
    # invertible: about a millimetre, so within a centimetre here.
    assert _metres_apart(assets.geometry, original.geometry).max() <= 0.01


def test_column_mapping_defaults_and_crs_apply_to_a_table_as_to_a_file(loaded):
    # A register as a council keeps it: its own column names, eastings and northings in
    # British National Grid with no SRID set, no asset type.
    import sqlalchemy as sa

    engine = sa.create_engine(loaded.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS register"))
        conn.execute(sa.text('CREATE TABLE register ("Ref" text, panels int, geom geometry)'))
        conn.execute(
            sa.text("INSERT INTO register VALUES ('007', 2, ST_MakePoint(530000, 180000)),"
                    " ('008', 1, ST_MakePoint(530100, 180050))")
        )  # fmt: skip
    engine.dispose()
    url = loaded.table("register")

    with pytest.raises(DataValidationError, match="no SRID"):
        planner.load_assets(url, columns={"Ref": "asset_id"})
    assets = planner.load_assets(
        url, crs="EPSG:27700", columns={"Ref": "asset_id"}, defaults={"asset_type": "kiosk"}
    )

    assert assets["asset_id"].tolist() == ["007", "008"]  # ids stay text: 007, not 7
    assert assets["faces"].tolist() == [2, 1] and set(assets["asset_type"]) == {"kiosk"}
    expected = gpd.GeoSeries.from_xy([530000, 530100], [180000, 180050], crs=27700)
    assert _metres_apart(assets.geometry, expected).max() <= 0.001


def test_a_query_cannot_change_the_database(loaded, inputs):
    with pytest.raises(DataValidationError, match="the query failed"):
        planner.load_assets(loaded.query("DELETE FROM street_assets RETURNING *"))
    with pytest.raises(DataValidationError):
        planner.load_assets(loaded.query("SELECT 1; DROP TABLE street_assets"))
    assert len(read_database_table(loaded.table("street_assets"))) == len(inputs.assets)


# --- eligibility, value and plan from the database, written back -----------------------------


def test_eligibility_value_and_plan_run_from_the_database_and_write_back(loaded, inputs, capsys):
    assets_url, sites_url = loaded.table("street_assets"), loaded.table("sites")
    out = f"{loaded.url}?schema=ooh"
    lon, lat = inputs.centre
    nearby = loaded.query(
        "SELECT * FROM street_assets WHERE ST_DWithin(geometry::geography, "
        f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, {inputs.radius_m})"
    )

    assert main(["eligibility", "--assets", assets_url, "--sites", sites_url,
                 "--policy", "uk-cap-code", "--out", out]) == 0  # fmt: skip
    assert main(["value", "--assets", assets_url, "--rates", "demo", "--terms", "demo",
                 "--out", out]) == 0  # fmt: skip
    assert main(["plan", "--assets", nearby, "--sites", sites_url, "--policy", "uk-cap-code",
                 "--campaigns", str(CAMPAIGNS), "--rates", "demo", "--terms", "demo",
                 "--skip-unplaceable", "--time-limit", "5", "--out", out]) == 0  # fmt: skip
    printed = capsys.readouterr()

    assert PASSWORD not in printed.out + printed.err
    assert (
        "Wrote tables ooh.placements, ooh.campaigns, ooh.summary to postgresql://planner:***@"
        in printed.out
    )
    policy = planner.load_policy("uk-cap-code")
    eligibility = read_database_table(loaded.table("eligibility", schema="ooh"))
    expected = planner.eligibility(inputs.assets, inputs.sites, policy)
    assert len(eligibility) == len(expected)
    assert eligibility["allowed"].dtype == bool
    # The category column is categorical in pandas and text in the database.
    assert eligibility.groupby("category")["allowed"].sum().to_dict() == (
        expected.groupby(expected["category"].astype(str))["allowed"].sum().to_dict()
    )
    values = read_database_table(loaded.table("values", schema="ooh"))
    assert values["asset_id"].tolist() == inputs.assets["asset_id"].tolist()
    assert values["annual_value_central"].dtype == "float64" and values["digital"].dtype == bool
    placements = read_database_table(loaded.table("placements", schema="ooh"))
    assert len(placements) > 0
    near = planner.load_assets(nearby)
    assert set(placements["asset_id"]) <= set(near["asset_id"])
    booked = near.set_index("asset_id").loc[placements["asset_id"]]
    assert _metres_apart(placements.geometry, booked.geometry).max() <= 0.001
    assert planner.audit(placements, near, planner.load_sites(sites_url), policy).empty
    summary = read_database_table(loaded.table("summary", schema="ooh"))
    assert summary["placements"].tolist() == [len(placements)]


def test_a_plan_read_back_from_the_database_loses_nothing(loaded, inputs):
    policy = planner.load_policy("uk-cap-code")
    assets = planner.load_assets(loaded.table("street_assets"))
    sites = planner.load_sites(loaded.table("sites"))
    near = assets[_within(assets, inputs.centre, inputs.radius_m)]
    values = planner.value_assets(near, rate_card="demo", terms="demo")
    result = planner.plan(
        near,
        planner.load_campaigns(CAMPAIGNS, categories=policy.categories),
        policy,
        sites=sites,
        values=values,
        rate_card="demo",
        terms=planner.load_terms("demo"),
        settings=planner.PlanSettings(skip_unplaceable=True),
        solver=planner.SolverSettings(time_limit=5),
    )
    assert result.ok
    layers = {
        "placements": result.placements,
        "campaigns": result.campaigns,
        "summary": result.summary(),
        "values": values,
    }

    write_database(layers, loaded.url, schema="round_trip")

    for name, written in layers.items():
        read = read_database_table(loaded.table(name, schema="round_trip"))
        _same_table(read, written)


def test_append_adds_rows_and_replace_starts_again(loaded, inputs):
    frame = inputs.assets.iloc[:10]
    write_database({"appended": frame}, loaded.url)
    write_database({"appended": frame}, loaded.url, mode="append")
    assert len(read_database_table(loaded.table("appended"))) == 20
    write_database({"appended": frame.iloc[:3]}, loaded.url + "?mode=replace")
    _same_table(read_database_table(loaded.table("appended")), frame.iloc[:3])


def test_a_failed_write_leaves_the_previous_tables_intact(loaded, inputs):
    first = {"placements": inputs.assets.iloc[:50], "campaigns": pd.DataFrame({"id": ["C1", "C2"]})}
    write_database(first, loaded.url, schema="intact")
    # PostgreSQL text cannot hold a NUL character: the second table fails half way through.
    broken = {
        "placements": inputs.assets.iloc[:5],
        "campaigns": pd.DataFrame({"id": ["C3", "bad\x00name"]}),
        "summary": pd.DataFrame({"status": ["OPTIMAL"]}),
    }

    for mode in ("replace", "append"):
        with pytest.raises(PlannerError) as caught:
            write_database(broken, loaded.url, schema="intact", mode=mode)
        message = str(caught.value)
        assert "Could not write table 'campaigns'" in message
        assert "Nothing was written" in message and PASSWORD not in message

        _same_table(
            read_database_table(loaded.table("placements", schema="intact")), first["placements"]
        )
        _same_table(
            read_database_table(loaded.table("campaigns", schema="intact")), first["campaigns"]
        )
        with pytest.raises(DataValidationError, match="there is no table 'summary'"):
            read_database_table(loaded.table("summary", schema="intact"))


def test_a_name_postgresql_would_cut_is_refused_before_anything_is_written(loaded):
    frame = pd.DataFrame({"x" * 64: [1]})
    with pytest.raises(PlannerError, match="names of up to 63 bytes"):
        write_database({"long_names": frame}, loaded.url)
    with pytest.raises(DataValidationError, match="no table 'long_names'"):
        read_database_table(loaded.table("long_names"))


# --- credentials ------------------------------------------------------------------------------


def test_credentials_never_appear_in_messages(loaded, capsys):
    wrong = loaded.url.replace(urllib.parse.quote(PASSWORD), "Wr0ng-Pa55")
    failures = {
        "wrong password": (planner.load_assets, wrong + "?table=street_assets"),
        "no such table": (planner.load_assets, loaded.table("nowhere")),
        "bad SQL": (planner.load_sites, loaded.query("SELEC nothing")),
        "fails while reading": (
            planner.load_assets,
            loaded.query("SELECT asset_id, geometry, 1 / (faces - faces) AS x FROM street_assets"),
        ),
        "no server": (
            planner.load_zones,
            loaded.url.replace(f":{loaded.port}/", f":{free_port()}/") + "?table=zones",
        ),
        "bad write": (
            lambda url: write_database({"t": pd.DataFrame({"a": ["\x00"]})}, url),
            loaded.url,
        ),
    }
    for what, (call, url) in failures.items():
        with pytest.raises(PlannerError) as caught:
            call(url)
        message = str(caught.value)
        assert PASSWORD not in message and urllib.parse.quote(PASSWORD) not in message, what
        assert "Wr0ng-Pa55" not in message, what
        assert "planner:***@" in message, what
    with pytest.raises(PlannerError, match="password authentication failed"):
        planner.load_assets(wrong + "?table=street_assets")
    source = DatabaseSource.of(loaded.table("street_assets"))
    assert PASSWORD not in repr(source) + str(source) + source.name
    report = planner.validate_file(wrong + "?table=street_assets", "assets")
    assert PASSWORD not in report.to_text() and "Wr0ng" not in report.to_text()

    assert main(["validate", "--assets", wrong + "?table=street_assets"]) == 2
    printed = capsys.readouterr()
    assert PASSWORD not in printed.out + printed.err and "Wr0ng" not in printed.out + printed.err


def test_the_password_can_come_from_pgpassword_or_pgpass_instead_of_the_url(
    loaded, inputs, monkeypatch, tmp_path
):
    bare = f"postgresql://planner@127.0.0.1:{loaded.port}/{DATABASE}?table=street_assets"
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(DataValidationError, match="could not connect"):
        planner.load_assets(bare)

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    assert len(planner.load_assets(bare)) == len(inputs.assets)

    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{loaded.port}:{DATABASE}:planner:{PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert len(planner.load_assets(bare)) == len(inputs.assets)

    monkeypatch.setenv("PGPASSWORD", "Wr0ng-Pa55")  # libpq prefers it to the file: refused
    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(bare)
    assert "Wr0ng-Pa55" not in str(caught.value)


def test_a_url_without_table_or_sql_is_explained():
    with pytest.raises(PlannerError, match="table= or sql="):
        planner.load_assets("postgresql://planner:secret@db.example/assets")
    with pytest.raises(PlannerError) as caught:
        planner.load_assets("postgresql://planner:secret@db.example/assets?table=a&sql=SELECT+1")
    assert "secret" not in str(caught.value)


# --- the app's data page ------------------------------------------------------------------------


def test_the_app_reads_assets_from_the_database_and_never_shows_the_password(
    loaded, inputs, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PLANNER_MAP_TILES", "none")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.run()
    lon, lat = inputs.centre
    sql = (
        "SELECT * FROM street_assets WHERE ST_DWithin(geometry::geography, "
        f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, {inputs.radius_m})"
    )
    wrong = loaded.url.replace(urllib.parse.quote(PASSWORD), "Wr0ng-Pa55")

    for url, expected in ((wrong, None), (loaded.url, len(planner.load_assets(loaded.query(sql))))):
        at.text_input(key="database_url").set_value(url)
        at.text_area(key="database_sql").set_value(sql)
        next(b for b in at.button if b.label == "Read from the database").click()
        at.run()
        shown = re.sub(  # the page's text, markdown escapes removed
            r"\\(.)",
            r"\1",
            "\n".join(
                str(e.value)
                for kind in ("markdown", "caption", "error", "success")
                for e in getattr(at, kind)
            ),
        )
        assert not at.exception
        assert PASSWORD not in shown and "Wr0ng-Pa55" not in shown
        assets = next(m.value for m in at.metric if m.label == "Assets")
        if expected is None:
            assert "password authentication failed" in "\n".join(e.value for e in at.error)
            assert assets == f"{len(load_demo().assets):,}"
        else:
            assert assets == f"{expected:,}"
            assert f"Loaded {expected} assets from {mask_url(loaded.url)} (query)." in shown
