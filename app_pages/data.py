"""Data page: the assets, sensitive sites and demand zones in use; uploads; reports; a map."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages import state, ui

FILE_TYPES = ["gpkg", "geojson", "json", "zip", "fgb", "parquet", "geoparquet", "csv", "txt", "tsv"]
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
        submitted = st.form_submit_button(f"Load {kind}", icon=":material/upload:")
    if not submitted:
        return
    if file is None:
        st.warning(f"Choose a {kind} file first.")
        return
    with ui.guard(f"loading {file.name}") as outcome:
        data = file.getvalue()
        frame = state.load_upload(kind, file.name, data, crs, drop)
    if outcome.ok:
        token = state.upload_token(file.name, data, kind, crs, drop)
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
    files_tab, osm_tab = st.tabs(["Upload files", "Import an OpenStreetMap extract"])
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
