"""Data page: the assets, sensitive sites and demand zones in use; uploads; reports; a map."""

from __future__ import annotations

import time

import streamlit as st

import planner
from app_pages import state, ui

FILE_TYPES = [
    "gpkg",
    "geojson",
    "json",
    "zip",
    "fgb",
    "parquet",
    "geoparquet",
    "csv",
    "txt",
    "tsv",
    "xlsx",
    "xlsm",
    "ods",
]
OSM_TYPES = ["pbf", "osm", "gz", "bz2", "o5m"]
LABELS = {
    "assets": "Street assets (bus shelters, lamp columns, ...)",
    "sites": "Sensitive sites (schools, playgrounds, ...)",
    "zones": "Demand zones (with a population column)",
}


def flash() -> None:
    """Show the message left by the last upload (the page reran to show the new data)."""
    message = st.session_state.pop("data_flash", None)
    if message:
        st.success(ui.plain(message), icon=":material/check_circle:")


def summary(inp: state.Inputs) -> None:
    counts = {name: (len(f) if f is not None else 0) for name, f in inp.frames.items()}
    columns = st.columns(6)
    columns[0].metric("Assets", f"{counts['assets']:,}")
    columns[1].metric("Faces", f"{int(inp.assets['faces'].sum()):,}")
    columns[2].metric("Sensitive sites", f"{counts['sites']:,}")
    columns[3].metric("Demand zones", f"{counts['zones']:,}")
    columns[4].metric("Transit stops", f"{counts['transit']:,}")
    columns[5].metric("Points of interest", f"{counts['pois']:,}")
    lines = [
        f"{layer}: {inp.sources.get(layer, 'none')}"
        for layer in state.LAYERS
        if inp.get(layer) is not None
    ]
    st.caption(ui.plain("Sources — " + "; ".join(lines)))


def upload_form(kind: str) -> None:
    with st.form(f"upload_{kind}"):
        file = st.file_uploader(LABELS[kind], type=FILE_TYPES, key=f"file_{kind}")
        crs = st.text_input(
            "CRS, only if the file does not say (e.g. EPSG:27700)",
            key=f"crs_{kind}",
        )
        drop = st.checkbox("Drop invalid rows (each is still reported)", key=f"drop_{kind}")
        with st.expander("Columns, values, encoding and sheet of this file"):
            columns = st.text_area(
                "Column mapping, one per line: file column = contract column",
                placeholder="URN = site_id" if kind == "sites" else "Stop_Code = asset_id",
                key=f"columns_{kind}",
            )
            defaults = st.text_area(
                "Values for columns the file lacks, one per line: column = value",
                placeholder="kind = school" if kind == "sites" else "asset_type = bus_stop",
                key=f"defaults_{kind}",
            )
            kinds = ""
            if kind == "sites":
                kinds = st.text_area(
                    "Kind map, one per line: the file's value = site kind",
                    placeholder="Special schools = school",
                    key="kinds_sites",
                )
            encoding = st.text_input(
                "Text encoding (empty: detected), e.g. cp1252", key=f"encoding_{kind}"
            )
            sheet = st.text_input(
                "Sheet of an XLSX/ODS workbook (empty: the first)", key=f"sheet_{kind}"
            )
        submitted = st.form_submit_button(f"Load {kind}", icon=":material/upload:")
    if not submitted:
        return
    if file is None:
        st.warning(f"Choose a {kind} file first.")
        return
    with ui.guard(f"loading {file.name}") as outcome:
        data = file.getvalue()
        options = state.upload_options(columns, defaults, kinds, encoding, sheet)
        frame = state.load_upload(kind, file.name, data, crs, drop, **options)
    if outcome.ok:
        token = state.upload_token(file.name, data, kind, crs, drop, sorted(options.items()))
        state.replace_layers({kind: frame}, f"upload {file.name}", token)
        st.session_state["data_flash"] = f"Loaded {len(frame):,} {kind} from {file.name}."
        st.rerun()


def osm_form() -> None:
    with st.form("upload_osm"):
        file = st.file_uploader(
            "OpenStreetMap extract (.osm.pbf, .osm, .osm.gz, .osm.bz2)",
            type=OSM_TYPES,
            key="file_osm",
        )
        st.caption(
            "Replaces the assets, sensitive sites, transit stops and points of interest. "
            "OpenStreetMap has no population: upload demand zones afterwards for reach."
        )
        submitted = st.form_submit_button("Import extract", icon=":material/upload:")
    if not submitted:
        return
    if file is None:
        st.warning("Choose an OpenStreetMap extract first.")
        return
    with ui.guard(f"importing {file.name}") as outcome:
        data = file.getvalue()
        layers, notes = state.import_extract(file.name, data)
        if not len(layers["assets"]):
            raise planner.PlannerError(
                f"{file.name} holds no street assets (bus stops, shelters, advertising, street "
                "lamps); choose an extract of a built-up area"
            )
    if outcome.ok:
        state.replace_layers(
            {**layers, "zones": None},
            f"OpenStreetMap {file.name}",
            state.upload_token(file.name, data, "osm"),
        )
        counts = ", ".join(f"{len(f):,} {k}" for k, f in layers.items())
        st.session_state["data_flash"] = " ".join([f"Imported {counts} from {file.name}.", *notes])
        st.rerun()


def database_form() -> None:
    """Read assets, sites or zones from a PostGIS table or query, validated like a file."""
    with st.form("read_database"):
        kind = st.selectbox("Read", ["assets", "sites", "zones"], format_func=LABELS.get)
        url = st.text_input(
            "Connection string (the password may also come from ~/.pgpass or PGPASSWORD)",
            placeholder="postgresql://user@host:5432/database",
            type="password",
            key="database_url",
        )
        table = st.text_input("Table", placeholder="street_assets", key="database_table")
        schema = st.text_input("Schema (empty: public)", key="database_schema")
        sql = st.text_area(
            "Or an SQL query (read-only), instead of a table",
            placeholder="SELECT * FROM assets.street_assets WHERE borough = 'Camden'",
            key="database_sql",
        )
        crs = st.text_input("CRS, only if the geometry has no SRID", key="database_crs")
        drop = st.checkbox("Drop invalid rows (each is still reported)", key="database_drop")
        submitted = st.form_submit_button("Read from the database", icon=":material/database:")
    if not submitted:
        return
    with ui.guard("reading the database") as outcome:
        source = planner.DatabaseSource.of(
            url.strip(),
            table=table.strip() or None,
            sql=sql.strip() or None,
            schema=schema.strip() or None,
        )
        frame = state.UPLOAD_KINDS[kind](source, crs=crs.strip() or None, drop_invalid=drop)
    if outcome.ok:
        # The token names the source without its password; a new read is always new data.
        token = state.upload_token(source.name, sql, kind, crs, drop, time.time_ns())
        state.replace_layers({kind: frame}, source.name, token)
        st.session_state["data_flash"] = f"Loaded {len(frame):,} {kind} from {source.name}."
        st.rerun()


def reports(inp: state.Inputs) -> None:
    for layer in ("assets", "sites", "zones"):
        frame = inp.get(layer)
        if frame is None:
            st.info(f"No {layer} loaded.", icon=":material/info:")
            continue
        report = frame.attrs.get("report")
        with st.expander(f"Validation report: {layer}", expanded=bool(report and report.errors)):
            ui.report_box(report, inp.sources.get(layer, layer))


st.title("Data")
st.caption(
    "The street assets to plan, the sensitive sites the policy protects and the demand zones "
    "used for audiences and reach. The Helsinki-centre demo (EUR) is loaded until you upload "
    "your own. Map data © OpenStreetMap contributors."
)
flash()
inp = state.inputs()
summary(inp)

with st.expander("Use your own data", icon=":material/upload_file:"):
    files_tab, osm_tab, database_tab = st.tabs(
        ["Upload files", "Import an OpenStreetMap extract", "Read from a database (PostGIS)"]
    )
    with files_tab:
        st.caption(
            "GeoPackage, GeoJSON, zipped Shapefile, FlatGeobuf, GeoParquet or CSV (lon/lat or "
            "easting/northing columns). Each file is checked against the data contract; "
            "problems are listed under the file."
        )
        for column, kind in zip(st.columns(3), ("assets", "sites", "zones"), strict=True):
            with column:
                upload_form(kind)
    with osm_tab:
        osm_form()
    with database_tab:
        database_form()
if st.button("Go back to the demo data", icon=":material/restart_alt:"):
    st.session_state.pop("inputs")
    state.ensure_defaults()
    st.session_state["data_flash"] = "The Helsinki demo data is loaded again."
    st.rerun()

st.subheader("Validation reports")
reports(inp)

st.subheader("Map")
with ui.guard("drawing the map"):
    ui.show_map(
        planner.asset_map(inp.assets, sites=inp.get("sites"), zones=inp.get("zones")),
        key="data_map",
    )
