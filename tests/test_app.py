"""The Streamlit app through `streamlit.testing.v1.AppTest`: every page's demo path and
error paths. Uploads go through a stand-in for ``st.file_uploader`` (AppTest cannot upload)."""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

import planner
import planner.maps.render

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
FIXTURES = Path(__file__).parent / "fixtures"
SOLVE = 1.0  # seconds: the tests check the flow, not the plan's quality


@dataclass
class FakeUpload:
    """What ``st.file_uploader`` returns: a name and the bytes."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


@pytest.fixture
def uploads(monkeypatch):
    """Files to hand to the app's uploaders, by uploader key."""
    files: dict[str, FakeUpload] = {}
    monkeypatch.setattr(streamlit, "file_uploader", lambda *a, key=None, **k: files.get(key))
    return files


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("PLANNER_SCENARIOS_DIR", str(tmp_path / "scenarios"))
    monkeypatch.setenv("PLANNER_MAP_TILES", "none")  # no probe of the tile server
    at = AppTest.from_file(str(APP), default_timeout=180)
    return at.run()


def text(at: AppTest) -> str:
    """Everything the page says, markdown escapes removed."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "warning", "info", "success")
        for e in getattr(at, kind)
    ]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return re.sub(r"\\(.)", r"\1", "\n".join(map(str, parts)))


def errors(at: AppTest) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table shown with all these columns."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def clean(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert errors(at) == []
    assert "Traceback" not in text(at)


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"app_pages/{page}.py").run()


def solve(at: AppTest, *, seconds: float = SOLVE) -> AppTest:
    open_page(at, "plan")
    at.number_input(key="time_limit").set_value(seconds)
    at.checkbox(key="reproducible").uncheck()
    return click(at, "Solve")


# --- Data ------------------------------------------------------------------------------


def test_the_app_uses_only_the_public_api():
    for path in [APP, *sorted((ROOT / "app_pages").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("planner"), f"{path.name}: {node.module}"
            elif isinstance(node, ast.Import):
                assert all(a.name == "planner" or not a.name.startswith("planner.")
                           for a in node.names), path.name  # fmt: skip
            elif isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "planner":
                assert node.attr in planner.__all__, f"{path.name}: planner.{node.attr}"


#: Audit events that create or change a file or folder.
WRITE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.copyfile",
                "shutil.move", "tempfile.mkstemp", "tempfile.mkdtemp"}  # fmt: skip
_WRITING: list[list[tuple]] = []  # the recorder of the test running, if any


def _record_writes(event: str, args: tuple) -> None:
    if not _WRITING:
        return
    if event == "open":
        path, mode, flags = args
        writes = any(c in str(mode or "") for c in "wax+")
        writes |= bool((flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writes:
            _WRITING[-1].append((event, path))
    elif event in WRITE_EVENTS:
        _WRITING[-1].append((event, *args))


sys.addaudithook(_record_writes)  # audit hooks cannot be removed; it records only when asked


def test_uploads_are_read_in_memory_and_never_written(app, uploads, tmp_path, monkeypatch):
    temp, cwd = tmp_path / "temp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.chdir(cwd)
    uploads["file_assets"] = FakeUpload(
        "my assets.csv",
        b"asset_id,lon,lat,asset_type\nA1,24.94,60.17,bus_shelter\nA2,24.95,60.17,bus_stop\n",
    )
    uploads["file_osm"] = FakeUpload("mini.osm", (FIXTURES / "mini.osm").read_bytes())
    writes: list[tuple] = []
    _WRITING.append(writes)
    try:
        click(app, "Load assets")
        assert metric(app, "Assets") == "2"
        click(app, "Import extract")
        assert metric(app, "Assets") == "11"
    finally:
        _WRITING.remove(writes)
    clean(app)
    assert writes == []
    assert list(temp.iterdir()) == [] and list(cwd.iterdir()) == []


def test_no_pages_folder_beside_the_app():
    # A pages/ folder would make a fresh server run a deep-linked page without app.py.
    assert not (ROOT / "pages").exists()


def test_data_page_shows_the_demo(app):
    clean(app)
    assert metric(app, "Assets") == "710" and metric(app, "Sensitive sites") == "45"
    assert "assets.gpkg (CRS EPSG:4326): 710 rows read, 710 usable; no problems found." in text(app)


def test_uploaded_assets_replace_the_demo(app, uploads):
    uploads["file_assets"] = FakeUpload(
        "my assets.csv",
        b"asset_id,lon,lat,asset_type\nA1,24.94,60.17,bus_shelter\nA2,24.95,60.17,bus_stop\n",
    )
    click(app, "Load assets")
    clean(app)
    assert metric(app, "Assets") == "2"
    assert "Loaded 2 street assets from my assets.csv." in text(app)
    layers = table(app, "layer", "in use").set_index("layer")
    assert layers.loc["Street assets", "in use"] == "your data"
    assert layers.loc["Sensitive sites", "in use"] == "demo data"


def test_invalid_upload_is_explained_and_the_demo_kept(app, uploads):
    uploads["file_assets"] = FakeUpload(
        "bad.csv", b"asset_id,lon,lat\nA1,24.94,60.17\nA1,24.95,60.17\nA3,x,60.1\n"
    )
    click(app, "Load assets")
    assert not app.exception
    message = errors(app)[0]
    assert "Loading bad.csv failed" in message
    assert "'A1' is used by more than one row" in message
    assert "are not numbers" in message
    problems = table(app, "where", "found", "how to fix")
    assert (problems["severity"] == "error").sum() >= 2
    assert metric(app, "Assets") == "710"


def test_broken_osm_extract_is_explained(app, uploads):
    uploads["file_osm"] = FakeUpload("broken.osm.pbf", b"\x00\x01 not an extract" * 20)
    click(app, "Import extract")
    assert not app.exception
    assert "Importing broken.osm.pbf failed" in errors(app)[0]
    assert metric(app, "Assets") == "710"


def test_osm_extract_replaces_assets_and_sites(app, uploads):
    uploads["file_osm"] = FakeUpload("mini.osm", (FIXTURES / "mini.osm").read_bytes())
    click(app, "Import extract")
    clean(app)
    assets = app.session_state["inputs"].assets
    assert 0 < len(assets) < 710 and metric(app, "Demand zones") == "0"
    assert "No zones loaded." in text(app)


def test_unexpected_error_is_friendly_and_logged(app, monkeypatch, caplog):
    def broken_map(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(planner.maps.render, "asset_map", broken_map)
    app.run()
    assert not app.exception
    assert errors(app) == [
        "Something unexpected went wrong while drawing the map. The details are in the "
        "app's log; please try again or report it."
    ]
    assert "secret internals" not in text(app)
    assert "secret internals" in caplog.text


# --- Policy ----------------------------------------------------------------------------


def test_policy_page_shows_eligibility_and_reasons(app):
    open_page(app, "policy")
    clean(app)
    summary = table(app, "refused")
    assert summary.loc["alcohol", "refused"] > 0 and summary.loc["general", "refused"] == 0
    reasons = table(app, "reasons")
    assert len(reasons) and reasons["reasons"].str.contains("cap-schools-100m").all()


def test_preset_switch(app):
    open_page(app, "policy")
    app.selectbox(key="preset_choice").select("healthier-advertising")
    click(app, "Use this preset")
    clean(app)
    assert app.session_state["policy"].name.startswith("Healthier advertising")
    summary = table(app, "refused")
    assert summary.loc["hfss", "refused"] == summary.loc["hfss", "assets"]


def test_edited_toml_round_trips_and_bad_rules_are_named(app):
    open_page(app, "policy")
    toml = app.text_area[0].value
    assert "within_m = 100" in toml
    app.text_area[0].set_value(toml.replace("within_m = 100", "within_m = 250"))
    click(app, "Apply the TOML")
    clean(app)
    assert app.session_state["policy"].exclusions[0].within_m == 250.0

    app.text_area[0].set_value(app.text_area[0].value.replace("within_m = 250", "within_m = -5"))
    click(app, "Apply the TOML")
    message = errors(app)[0]
    assert "Reading the policy failed" in message
    assert "rule 'cap-schools-100m', key 'within_m'" in message
    assert app.session_state["policy"].exclusions[0].within_m == 250.0


def test_unreadable_toml_is_explained(app):
    open_page(app, "policy")
    app.text_area[0].set_value('name = "unclosed')
    click(app, "Apply the TOML")
    assert not app.exception and "not valid TOML" in errors(app)[0]


# --- Campaigns -------------------------------------------------------------------------


def test_campaigns_page_checks_the_demo_campaigns(app):
    open_page(app, "campaigns")
    clean(app)
    assert "10 campaigns ready to plan" in text(app)
    app.number_input(key="revenue_target").set_value(5000.0)
    click(app, "Save targets")
    clean(app)
    assert app.session_state["targets"]["revenue_target"] == 5000.0


def test_bad_campaign_cells_are_named_and_block_solving(app):
    table = app.session_state["campaigns"].copy()
    table.loc[0, "budget"] = "lots"
    app.session_state["campaigns"] = table
    open_page(app, "campaigns")
    assert not app.exception
    assert "row 2" in errors(app)[0] and "budget" in errors(app)[0]

    solve(app)
    assert not app.exception
    assert "Planning failed" in errors(app)[0] and "budget" in errors(app)[0]
    assert app.session_state["result"] is None


def test_unreadable_campaigns_csv_is_explained(app, uploads):
    open_page(app, "campaigns")
    uploads["file_campaigns"] = FakeUpload("c.csv", b"\xff\xfe\x00bad")
    click(app, "Load campaigns")
    assert not app.exception and "Save it as UTF-8 CSV" in errors(app)[0]
    assert len(app.session_state["campaigns"]) == 10


# --- Plan ------------------------------------------------------------------------------


def test_plan_page_solves_the_demo(app):
    solve(app)
    clean(app)
    result = app.session_state["result"]
    assert result.plan.ok and len(result.plan.placements) > 0
    assert metric(app, "Council revenue").startswith("€")
    assert 0 < result.plan.fill_rate < 1
    assert "Audit passed" in text(app)
    labels = {d.proto.label for d in app.get("download_button")}
    assert {"GeoPackage", "GeoJSON", "CSV", "Excel", "Map (HTML)", "Audit log (CSV)"} <= labels
    assert {"Booking sheet (Excel)", "Booking sheet (CSV)", "Plan report (HTML)"} <= labels


def test_infeasible_plan_is_explained(app):
    table = app.session_state["campaigns"].copy()
    table.loc[0, ["min_faces", "max_faces"]] = ["5000", "6000"]
    app.session_state["campaigns"] = table
    solve(app)
    assert not app.exception
    assert "No plan satisfies every rule." in errors(app)[0]
    assert app.session_state["result"].plan.status == "INFEASIBLE"


def test_impossible_locked_placement_is_named(app):
    app.session_state["locked"] = pd.DataFrame(
        {"asset_id": ["no-such-asset"], "campaign_id": ["C01"], "cycle": ["1"]}
    )
    solve(app)
    assert not app.exception
    assert "Locked placements" in errors(app)[0] and "no-such-asset" in errors(app)[0]
    assert app.session_state["result"] is None


# --- Value -----------------------------------------------------------------------------


def test_value_page_shows_modelled_values_and_simulates_terms(app):
    open_page(app, "value")
    clean(app)
    assert "modelled estimate" in text(app)
    assert metric(app, "Council income a year (central)").startswith("€")
    app.number_input(key="sim_sales").set_value(100_000.0)
    click(app, "Simulate")
    clean(app)
    # demo terms: 50% of 100k = 50k > 20k guarantee, plus the 5k fee
    assert metric(app, "Council income") == "€55,000"
    click(app, "Use these terms for planning and valuation")
    clean(app)
    # The simulated terms are now the ones used: 20k guarantee + 5k fee at no sales.
    terms = app.session_state["pricing"]["terms"]
    assert terms.currency == "EUR"
    assert [planner.council_income(s, terms) for s in (0, 100_000)] == [25_000, 55_000]


def test_rate_card_in_another_currency_is_refused(app):
    open_page(app, "value")
    app.selectbox(key="rate_card_choice").select("uk-default")
    click(app, "Use these prices and terms")
    assert not app.exception
    assert "same currency" in errors(app)[0]
    assert app.session_state["pricing"] == {"rate_card": "demo", "terms": "demo"}


@pytest.mark.slow
def test_policy_cost_by_replanning(app):
    open_page(app, "value")
    app.number_input(key="cost_time_limit").set_value(1.0)
    click(app, "Re-plan without each rule")
    clean(app)
    _, cost = app.session_state["rule_cost"]
    assert cost["rule_id"].tolist() == ["cap-schools-100m"]


# --- Scenarios -------------------------------------------------------------------------


def test_scenarios_save_reload_and_compare(app, tmp_path):
    solve(app)
    revenue = app.session_state["result"].plan.council_revenue
    open_page(app, "scenarios")
    app.text_input(key="scenario_name").set_value("Baseline")
    click(app, "Save scenario")
    clean(app)

    app.session_state["targets"] = {**app.session_state["targets"], "revenue_target": 1.0}
    open_page(app, "scenarios")
    assert "inputs only" in text(app)
    app.text_input(key="scenario_name").set_value("Inputs only")
    click(app, "Save scenario")
    clean(app)
    assert (tmp_path / "scenarios" / planner.scenarios.STORE_FILE).is_file()
    listed = table(app, "saved_at")
    assert set(listed["name"]) == {"Baseline", "Inputs only"}

    app.selectbox(key="compare_a").select("Baseline")
    app.selectbox(key="compare_b").select("Inputs only")
    app.run()
    compared = table(app, "measure").set_index("measure")
    assert "setting: revenue_target" in compared.index

    app.selectbox(key="scenario_pick").select("Baseline")
    click(app, "Load")
    clean(app)
    result = app.session_state["result"]
    assert result.name == "Baseline" and result.plan.council_revenue == revenue
    assert app.session_state["targets"]["revenue_target"] == 0.0
    open_page(app, "plan")
    clean(app)
    assert "The inputs have changed" not in text(app)


def test_simulated_terms_are_kept_by_a_scenario(app):
    open_page(app, "value")
    app.number_input(key="sim_guarantee").set_value(30_000.0)
    click(app, "Simulate")
    click(app, "Use these terms for planning and valuation")
    simulated = app.session_state["pricing"]["terms"]
    assert (simulated.name, simulated.minimum_annual_guarantee) == ("Simulated terms", 30_000.0)
    open_page(app, "scenarios")
    app.text_input(key="scenario_name").set_value("Own terms")
    click(app, "Save scenario")
    app.session_state["pricing"] = {"rate_card": "demo", "terms": "demo"}
    app.selectbox(key="scenario_pick").select("Own terms")
    click(app, "Load")
    clean(app)
    assert app.session_state["pricing"]["terms"] == simulated


def test_scenario_folder_that_is_a_file_and_bad_names(app, tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    open_page(app, "scenarios")
    app.text_input(key="store_dir_input").set_value(str(not_a_folder))
    click(app, "Use this folder")
    assert not app.exception
    assert "is a file, not a folder" in errors(app)[0]
    assert app.session_state["store_dir"] == str(tmp_path / "scenarios")

    app.text_input(key="scenario_name").set_value("   ")
    click(app, "Save scenario")
    assert not app.exception and "is not allowed" in errors(app)[0]


# --- Issue 16: what stopped a council officer and an agency planner ---------------------------

#: TfL's bus-stops.csv as published (columns and British National Grid eastings/northings),
#: a few Greenwich stops and one of its five stops at 0/0.
TFL_STOPS = b"""Stop_Code_LBSL,Bus_Stop_Code,Naptan_Atco,Stop_Name,Location_Easting,\
Location_Northing,Heading,Stop_Area,Virtual_Bus_Stop
G101,53301,490007226S,GREENWICH CHURCH STREET,538320,177680,200,G001,0
G102,53302,490007227N,CUTTY SARK,538360,177780,20,G001,0
G103,53303,490007228E,GREENWICH PARK,538900,177400,90,G002,0
G104,53304,490007229W,MAZE HILL,539520,177620,270,G003,0
BP6163,,,NULL ISLAND STOP,0,0,0,,0
"""
#: GIAS (Get Information about Schools) columns: URN, name, type, eastings/northings, and a
#: personal column the loader drops.
GIAS_SCHOOLS = b"""URN,EstablishmentName,TypeOfEstablishment (name),Easting,Northing,HeadLastName
100001,St Alfege with St Peter's,Voluntary aided school,538350,177700,Smith
100002,James Wolfe Primary,Community school,538850,177450,Jones
"""


def without_python(message: str) -> bool:
    """True when a message names no Python keyword or CLI option."""
    return not re.search(r"\b(crs|columns|defaults|kinds|encoding|sheet)=|--[a-z]", message)


def test_policy_cost_when_the_policy_refuses_nothing(app):
    # Defect 1: the Value page's policy cost failed whenever no asset was refused.
    open_page(app, "policy")
    toml = app.text_area[0].value.replace("within_m = 100", "within_m = 1")
    app.text_area[0].set_value(toml)
    click(app, "Apply the TOML")
    open_page(app, "value")
    clean(app)
    assert "The policy refuses no asset here, so it puts no value out of reach." in text(app)
    risk = table(app, "level", "value_out_of_reach_central")
    assert risk["value_out_of_reach_central"].sum() == 0


def test_far_assets_drop_the_demo_layers_and_price_in_their_currency(app, uploads):
    # Defect 2: London stops were valued with Helsinki zones, mapped with Helsinki sites,
    # priced in EUR.
    uploads["file_assets"] = FakeUpload("stops.csv", TFL_STOPS)
    app.run()
    app.text_input(key="crs_assets").set_value("EPSG:27700")
    app.selectbox(key="map_assets_asset_id").select("Stop_Code_LBSL")
    app.checkbox(key="drop_assets").check()
    click(app, "Load assets")
    clean(app)
    inputs = app.session_state["inputs"]
    assert len(inputs.assets) == 4
    assert [inputs.get(k) for k in ("sites", "zones", "transit", "pois")] == [None] * 4
    assert "lie nowhere near your assets, so they are no longer used" in text(app)
    layers = table(app, "layer", "in use").set_index("layer")["in use"]
    assert layers.to_dict() == {
        "Street assets": "your data",
        "Sensitive sites": "not loaded",
        "Demand zones": "not loaded",
        "Transit stops": "not loaded",
        "Points of interest": "not loaded",
    }
    assert app.session_state["pricing"] == {"rate_card": "uk-default", "terms": "uk-default"}
    open_page(app, "value")
    assert metric(app, "Council income a year (central)").startswith("£")


def test_nearby_assets_keep_the_demo_layers_but_say_so(app, uploads):
    uploads["file_assets"] = FakeUpload(
        "my assets.csv",
        b"asset_id,lon,lat,asset_type\nA1,24.94,60.17,bus_shelter\nA2,24.95,60.17,bus_stop\n",
    )
    click(app, "Load assets")
    assert "Your data is used with the Helsinki demo's sensitive sites" in text(app)
    click(app, "Remove the demo layers")
    clean(app)
    inputs = app.session_state["inputs"]
    assert inputs.demo_layers() == [] and inputs.get("sites") is None
    assert "Your data is used with" not in text(app)


def test_transit_stops_and_points_of_interest_are_uploadable(app, uploads):
    uploads["file_transit"] = FakeUpload("stops.csv", b"stop,lon,lat\nT1,24.94,60.17\n")
    uploads["file_pois"] = FakeUpload("pois.csv", b"poi,lon,lat\nP1,24.94,60.17\nP2,24.95,60.16\n")
    click(app, "Load transit")
    click(app, "Load pois")
    clean(app)
    assert metric(app, "Transit stops") == "1" and metric(app, "Points of interest") == "2"
    inputs = app.session_state["inputs"]
    assert inputs.origin("transit") == inputs.origin("pois") == "yours"


def test_upload_errors_name_the_controls_not_python(app, uploads):
    # Defect 3: messages in Python syntax, a third-width column, a cut-off table.
    uploads["file_assets"] = FakeUpload("stops.csv", TFL_STOPS)
    app.run()
    assert table(app, "Stop_Code_LBSL", "Stop_Name").shape == (5, 9)  # the file's first rows
    assert app.selectbox(key="map_assets_name").value == "Stop_Name"  # from the aliases
    assert app.selectbox(key="map_assets_x").value == "Location_Easting"
    click(app, "Load assets")
    message = errors(app)[0]
    assert "Enter EPSG:27700 in the box 'CRS'" in message and without_python(message)

    app.text_input(key="crs_assets").set_value("EPSG:27700")
    click(app, "Load assets")
    message = errors(app)[0]
    assert "under 'Columns of this file'" in message and without_python(message)
    problems = table(app, "where", "found", "how to fix")
    assert all(without_python(t) for t in problems["how to fix"])

    app.selectbox(key="map_assets_asset_id").select("Stop_Code_LBSL")
    click(app, "Load assets")
    assert "row 6 (id BP6163)" in errors(app)[0]  # null island
    assert "tick 'Drop invalid rows' to load the other rows" in text(app)
    assert metric(app, "Assets") == "710"


def test_gias_schools_load_with_a_kind_for_every_row(app, uploads):
    uploads["file_sites"] = FakeUpload("gias.csv", GIAS_SCHOOLS)
    app.run()
    assert app.selectbox(key="map_sites_site_id").value == "URN"
    app.text_input(key="crs_sites").set_value("EPSG:27700")
    click(app, "Load sites")
    assert "'kind = school' in 'Values for missing columns'" in errors(app)[0]
    # Taking the file's type column for the kind offers a site kind for each of its values.
    app.selectbox(key="map_sites_kind").select("TypeOfEstablishment (name)")
    app.run()
    assert "**Site kinds**: what each value of 'TypeOfEstablishment (name)' is" in text(app)
    click(app, "Load sites")
    # Loaded, but schools of a kind no rule knows would be protected by none: said at once.
    note = next(i.value for i in app.info if "Voluntary aided school" in i.value)
    assert "under 'Site kinds'" in note.replace("\\", "") and without_python(note)
    app.selectbox(key="map_sites_kind").select("(not in the file)")
    app.text_area(key="defaults_sites").set_value("kind = school")
    click(app, "Load sites")
    clean(app)
    sites = app.session_state["inputs"].get("sites")
    assert sorted(sites["site_id"]) == ["100001", "100002"] and set(sites["kind"]) == {"school"}
    assert "HeadLastName" not in sites.columns


def test_simulator_starts_again_from_newly_chosen_terms(app):
    # Defect 4: the simulator kept the old guarantee, fee and sales after a terms switch.
    open_page(app, "value")
    app.number_input(key="sim_guarantee").set_value(30_000.0)
    click(app, "Simulate")
    assert metric(app, "Guarantee").endswith("30,000")
    app.selectbox(key="rate_card_choice").select("uk-default")
    app.selectbox(key="terms_choice").select("uk-default")
    click(app, "Use these prices and terms")
    clean(app)
    uk = planner.load_terms("uk-default")
    assert app.number_input(key="sim_guarantee").value == uk.minimum_annual_guarantee
    assert app.number_input(key="sim_fee").value == uk.fixed_annual_fee
    assert "Guarantee" not in [m.label for m in app.metric]  # no stale result
    click(app, "Simulate")
    assert metric(app, "Guarantee").startswith("£")


def test_a_bad_campaigns_upload_keeps_the_good_table(app, uploads):
    # Defect 5: a bad file replaced the 10 demo campaigns, "Loaded" beside the errors.
    open_page(app, "campaigns")
    good = app.session_state["campaigns"].copy()
    bad = good.copy()
    bad.loc[0, "budget"] = "lots"
    uploads["file_campaigns"] = FakeUpload("bad.csv", bad.to_csv(index=False).encode())
    click(app, "Load campaigns")
    assert "row 2" in errors(app)[0] and "budget" in errors(app)[0]
    assert "Loaded" not in text(app)
    assert "Nothing was replaced: the 10 campaign(s) below are still the ones in use" in text(app)
    pd.testing.assert_frame_equal(app.session_state["campaigns"], good)


def test_plan_figures_have_units_and_fit(app):
    # Defect 6: sums labelled as people, minor units, cut-off values, fractions, names.
    solve(app)
    clean(app)
    plan = app.session_state["result"].plan
    shown = {m.label: m.value for m in app.metric}
    assert shown["Council revenue"].startswith("€") and shown["Gross sales"].startswith("€")
    assert shown["Fill rate"].endswith("%") and shown["Cover"].endswith("%")
    assert shown["People reached"] == f"{plan.reach:,}" <= f"{plan.universe:,}"
    assert plan.reach < plan.campaigns["reach"].sum()  # people once, not a campaign sum
    assert all(len(v) <= 12 for v in shown.values()), shown
    words = text(app)
    assert "cp-sat" not in words and f"objective {plan.objective_name}" not in words
    assert "Maximising council revenue" in words
    assert "Each point adds the next face with the largest audience" in words  # reach curve


def test_solver_progress_is_said_in_words():
    from app_pages import ui

    assert ui.progress_words("solution 1,234,500 (bound 1,300,000)") == (
        "found a plan, looking for a better one"
    )
    assert ui.progress_words("greedy warm start ready") == "greedy warm start ready"
    assert ui.money(14_881_991.4, "EUR", short=True) == "€14.9M"
    assert ui.money(-1200, "GBP") == "-£1,200" and ui.money(5, "CHF") == "CHF 5"
    assert ui.percent(0.7501) == "75.0%"
    assert ui.when("2026-11-30T06:15:00+00:00") == "30 Nov 2026, 06:15 UTC"


def test_a_map_shown_in_the_app_still_exports_one_legend(monkeypatch):
    # Defect 7: streamlit-folium renames the elements of the map it draws, so the plan
    # map exported afterwards had two legends, two layer controls and two notices.
    monkeypatch.setenv("PLANNER_MAP_TILES", "none")
    from app_pages import ui

    demo = planner.load_demo()
    m = planner.asset_map(demo.assets, sites=demo.sites, zones=demo.zones)
    ui.show_map(m, key="exported")
    page = planner.map_html(m)
    assert page.count("PlannerMap.legend(") == 1
    assert page.count("L.control.layers") == 1
    assert page.count("PlannerMap.tileNote(") == 1


def test_scenarios_compare_two_different_ones_and_list_the_policy(app):
    # Defect 8: A and B defaulted to one scenario; a stale "no plan" box; no policy column.
    solve(app)
    open_page(app, "scenarios")
    for name in ("First", "Second"):
        app.text_input(key="scenario_name").set_value(name)
        click(app, "Save scenario")
    listed = table(app, "saved_at", "policy")
    assert set(listed["policy"]) == {app.session_state["policy"].name}
    assert app.selectbox(key="compare_a").value != app.selectbox(key="compare_b").value

    app.session_state["targets"] = {**app.session_state["targets"], "revenue_target": 1.0}
    open_page(app, "scenarios")
    assert "No plan for the current inputs" in text(app)
    app.selectbox(key="scenario_pick").select("First")
    click(app, "Load")
    clean(app)
    assert "Loaded 'First'" in text(app)
    assert "No plan for the current inputs" not in text(app)


def test_server_limits_uploads_and_refuses_cross_site_posts():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))["server"]
    assert server["maxUploadSize"] == 200 and server["enableXsrfProtection"] is True
