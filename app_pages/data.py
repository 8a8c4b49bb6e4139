"""Data page: the assets, sensitive sites and demand zones in use; uploads; reports; a map."""

from __future__ import annotations

import time

import pandas as pd
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
    "transit": "Transit stops (bus, tram and rail stops: more footfall nearby)",
    "pois": "Points of interest (shops, cafés, ...: more footfall nearby)",
}
#: What each contract column holds, as the column selectors' help.
MEANINGS = {
    "asset_id": "a unique id per asset (e.g. a stop code)",
    "asset_type": "bus_shelter, bus_stop, billboard, lamp_column, kiosk, ...",
    "format": "6-sheet, 48-sheet, d6, ...",
    "faces": "advertising faces per asset (default 1)",
    "digital": "yes/no (default no)",
    "slots": "ads in a digital loop (default 6)",
    "weekly_impacts": "measured impacts a week, if known (else modelled)",
    "price_per_cycle": "price of a 2-week cycle, if known (else from the rate card)",
    "name": "a name people recognise",
    "ward": "the ward or area",
    "status": "available or unavailable",
    "site_id": "a unique id per site (e.g. a URN)",
    "kind": "school, nursery, playground, ... (map other words below)",
    "zone_id": "a unique id per zone (e.g. an LSOA code)",
    "population": "residents of the zone",
    "x": "longitude, or easting",
    "y": "latitude, or northing",
}
AUTO = "(not in the file)"
#: The controls' labels, as `planner.for_form` names them in messages.
CONTROLS = {
    "crs": "CRS",
    "columns": "Columns of this file",
    "defaults": "Values for missing columns",
    "kinds": "Site kinds",
    "encoding": "Text encoding",
    "sheet": "Sheet",
    "layer": "Layer",
    "drop_invalid": "Drop invalid rows",
}


def flash() -> None:
    """Show the messages left by the last upload (the page reran to show the new data)."""
    message = st.session_state.pop("data_flash", None)
    if message:
        st.success(ui.plain(message), icon=":material/check_circle:")
    for note in st.session_state.pop("data_notes", []):
        st.info(ui.plain(note), icon=":material/info:")


def layers_panel(inp: state.Inputs) -> None:
    """Which layer is the user's, which the demo's, which missing; mixed and far layers flagged."""
    words = {"yours": "your data", "demo": "demo data", "none": "not loaded"}
    rows = [
        {
            "layer": state.LAYER_NAMES[k],
            "in use": words[inp.origin(k)],
            "rows": len(inp.get(k)) if inp.get(k) is not None else 0,
            "from": inp.sources.get(k, "") if inp.get(k) is not None else "",
        }
        for k in state.LAYERS
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    demo, yours = inp.demo_layers(), inp.user_layers()
    if demo and yours:
        names = ", ".join(state.LAYER_NAMES[k].lower() for k in demo)
        st.warning(
            ui.plain(
                f"Your data is used with the Helsinki demo's {names}. Remove them unless they "
                "belong with your data."
            ),
            icon=":material/warning:",
        )
        if inp.origin("assets") == "yours" and st.button(
            "Remove the demo layers", icon=":material/layers_clear:"
        ):
            gone = state.remove_demo_layers()
            names = ", ".join(state.LAYER_NAMES[k].lower() for k in gone)
            st.session_state["data_flash"] = f"The demo's {names} are no longer used."
            st.rerun()
    for warning in planner.check_layers_overlap(dict(inp.frames)):
        st.warning(ui.plain(warning[0].upper() + warning[1:]), icon=":material/wrong_location:")


def summary(inp: state.Inputs) -> None:
    counts = {name: (len(f) if f is not None else 0) for name, f in inp.frames.items()}
    columns = st.columns(6)
    columns[0].metric("Assets", f"{counts['assets']:,}")
    columns[1].metric("Faces", f"{int(inp.assets['faces'].sum()):,}")
    columns[2].metric("Sensitive sites", f"{counts['sites']:,}")
    columns[3].metric("Demand zones", f"{counts['zones']:,}")
    columns[4].metric("Transit stops", f"{counts['transit']:,}")
    columns[5].metric("Points of interest", f"{counts['pois']:,}")


def file_options(kind: str, file) -> tuple[str, str, str]:
    """The encoding, sheet and layer boxes (they change how the preview reads the file)."""
    left, middle, right = st.columns(3)
    encoding = left.text_input(
        "Text encoding (empty: detected), e.g. cp1252", key=f"encoding_{kind}"
    )
    sheet = middle.text_input(
        "Sheet of an XLSX/ODS workbook (empty: the only one with rows)", key=f"sheet_{kind}"
    )
    layer = right.text_input(
        "Layer of a GeoPackage (empty: the only one with rows)", key=f"layer_{kind}"
    )
    return encoding, sheet, layer


def column_selectors(kind: str, table: pd.DataFrame) -> dict[str, str]:
    """One selector per contract column, pre-set to the column the loader would take.

    Returns the user's changes as ``{file column: contract column}``.
    """
    suggested = planner.suggest_columns(table, kind)
    options = [AUTO, *map(str, table.columns)]
    chosen: dict[str, str] = {}
    targets = planner.mapping_targets(kind)
    st.markdown("**Columns of this file**: which column holds each field")
    for row in range(0, len(targets), 4):
        for column, target in zip(st.columns(4), targets[row : row + 4], strict=False):
            default = suggested.get(target, AUTO)
            picked = column.selectbox(
                target,
                options,
                index=options.index(default) if default in options else 0,
                key=f"map_{kind}_{target}",
                help=MEANINGS.get(target),
            )
            if picked != AUTO and picked != suggested.get(target):
                chosen[picked] = target
    return chosen


def kind_map(table: pd.DataFrame, mapping: dict[str, str]) -> dict[str, str]:
    """The site kind of each value of the file's kind column (empty: as written)."""
    suggested = planner.suggest_columns(table, "sites")
    column = next((c for c, t in mapping.items() if t == "kind"), suggested.get("kind"))
    if column is None or column not in table.columns:
        return {}
    counts = table[column].astype(str).str.strip().value_counts().head(40)
    kinds = sorted(state.policy().kinds)
    known = [v.strip().lower().replace(" ", "_") for v in counts.index]
    editor = pd.DataFrame(
        {
            "value in the file": counts.index,
            "rows (first 2,000)": counts.to_numpy(),
            "site kind": [k if k in kinds else None for k in known],
        }
    )
    st.markdown(ui.plain(f"**Site kinds**: what each value of '{column}' is"))
    edited = st.data_editor(
        editor,
        hide_index=True,
        key=f"kinds_sites_{column}",
        disabled=["value in the file", "rows (first 2,000)"],
        column_config={
            "site kind": st.column_config.SelectboxColumn("site kind", options=kinds),
        },
        width="stretch",
    )
    return {
        str(v): str(k)
        for v, k in zip(edited["value in the file"], edited["site kind"], strict=True)
        if isinstance(k, str) and k and k != str(v)
    }


@st.fragment
def upload_form(kind: str) -> None:
    """Choose a file, see its first rows, map its columns, then load it (or see why not)."""
    file = st.file_uploader(LABELS[kind], type=FILE_TYPES, key=f"file_{kind}")
    mapping: dict[str, str] = {}
    kinds: dict[str, str] = {}
    contract = kind in state.UPLOAD_KINDS
    encoding, sheet, layer = file_options(kind, file) if contract else ("", "", "")
    if file is not None:
        with ui.guard(f"reading {file.name}", controls=CONTROLS) as read:
            table = state.preview(file.name, file.getvalue(), encoding, sheet, layer)
        if read.ok:
            st.caption(ui.plain(f"The first rows of {file.name} ({len(table.columns)} columns):"))
            st.dataframe(table.head(5), hide_index=True, width="stretch")
            if contract:
                mapping = column_selectors(kind, table)
            if kind == "sites":
                kinds = kind_map(table, mapping)
    left, middle = st.columns(2)
    crs = left.text_input(
        "CRS, only if the file does not say (e.g. EPSG:27700 for British eastings/northings)",
        key=f"crs_{kind}",
    )
    defaults = ""
    if contract:
        defaults = middle.text_area(
            "Values for missing columns, one per line: column = value",
            placeholder="kind = school" if kind == "sites" else "asset_type = bus_stop",
            key=f"defaults_{kind}",
            height=68,
        )
    drop = contract and st.checkbox(
        "Drop invalid rows (each is still reported)", key=f"drop_{kind}"
    )
    if not st.button(f"Load {kind}", icon=":material/upload:", key=f"load_{kind}"):
        return
    if file is None:
        st.warning(f"Choose a {state.LAYER_NAMES[kind].lower()} file first.")
        return
    with ui.guard(f"loading {file.name}", controls=CONTROLS) as outcome:
        data = file.getvalue()
        options = state.upload_options(mapping, defaults, kinds, encoding, sheet)
        options |= {"layer": layer.strip()} if layer.strip() else {}
        with st.spinner(f"Loading {file.name}…"):
            frame = state.load_upload(kind, file.name, data, crs, bool(drop), **options)
    if not outcome.ok:
        if not drop and contract and outcome.rows_only:
            st.info(
                "Every problem is in a row of its own: tick 'Drop invalid rows' to load the "
                "other rows (each dropped row is still reported).",
                icon=":material/lightbulb:",
            )
        return
    token = state.upload_token(file.name, data, kind, crs, drop, sorted(options.items()))
    notes = state.replace_layers({kind: frame}, f"upload {file.name}", token)
    report = frame.attrs.get("report")
    warnings = [p for p in report.problems if p.severity == "warning"] if report else []
    notes = [
        planner.for_form(f"{file.name}: {p.found}. {p.fix}", CONTROLS) for p in warnings[:3]
    ] + notes
    if len(warnings) > 3:
        notes.insert(3, f"{len(warnings) - 3} more warning(s) are in the validation report.")
    st.session_state["data_flash"] = (
        f"Loaded {len(frame):,} {state.LAYER_NAMES[kind].lower()} from {file.name}."
    )
    st.session_state["data_notes"] = notes
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
    with (
        ui.guard(f"importing {file.name}") as outcome,
        st.spinner(f"Importing {file.name}: reading the extract and tagging its features…"),
    ):
        data = file.getvalue()
        layers, notes = state.import_extract(file.name, data)
        if not len(layers["assets"]):
            raise planner.PlannerError(
                f"{file.name} holds no street assets (bus stops, shelters, advertising, street "
                "lamps); choose an extract of a built-up area"
            )
    if outcome.ok:
        more = state.replace_layers(
            {**layers, "zones": None},
            f"OpenStreetMap {file.name}",
            state.upload_token(file.name, data, "osm"),
        )
        counts = ", ".join(f"{len(f):,} {k}" for k, f in layers.items())
        st.session_state["data_flash"] = " ".join([f"Imported {counts} from {file.name}.", *notes])
        st.session_state["data_notes"] = more
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
        notes = state.replace_layers({kind: frame}, source.name, token)
        st.session_state["data_flash"] = f"Loaded {len(frame):,} {kind} from {source.name}."
        st.session_state["data_notes"] = notes
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
layers_panel(inp)

with st.expander(
    "Use your own data", icon=":material/upload_file:", expanded=bool(inp.user_layers())
):
    files_tab, osm_tab, database_tab = st.tabs(
        ["Upload files", "Import an OpenStreetMap extract", "Read from a database (PostGIS)"]
    )
    with files_tab:
        st.caption(
            "GeoPackage, GeoJSON, zipped Shapefile, FlatGeobuf, GeoParquet, CSV, XLSX or ODS "
            "(lon/lat or easting/northing columns). Choose a file to see its first rows and "
            "which column holds each field; each file is checked against the data contract "
            "and its problems are listed under it."
        )
        for tab, kind in zip(
            st.tabs([state.LAYER_NAMES[k] for k in state.LAYERS]), state.LAYERS, strict=True
        ):
            with tab:
                upload_form(kind)
    with osm_tab:
        osm_form()
    with database_tab:
        database_form()
if st.button("Go back to the demo data", icon=":material/restart_alt:"):
    st.session_state.pop("inputs")
    st.session_state["pricing"] = dict(state.DEMO_PRICING)
    state.ensure_defaults()
    st.session_state["data_flash"] = "The Helsinki demo data is loaded again."
    st.rerun()

st.subheader("Validation reports")
reports(inp)

st.subheader("Map")
with ui.guard("drawing the map"), st.spinner(f"Drawing {len(inp.assets):,} assets…"):
    ui.show_map(
        planner.asset_map(inp.assets, sites=inp.get("sites"), zones=inp.get("zones")),
        key="data_map",
    )
