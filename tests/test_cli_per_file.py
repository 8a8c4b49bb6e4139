"""Kind 7: options are given per input file on the command line, and go only to that file.

``--assets-column``, ``--sites-column``, ``--sites-default``, ``--sites-crs``,
``--sites-encoding``, ``--sites-sheet``, ``--kind-map``...; a shared ``--column`` or
``--default`` goes to the file whose contract has the column, never to another file. The
app's upload form has the same controls per file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from planner.cli import main

APP = Path(__file__).resolve().parents[1] / "app.py"

POLICY = """name = "Schools 400 m"
[[rules]]
id = "schools-400m"
type = "exclusion"
categories = ["alcohol"]
near = ["school"]
within_m = 400
"""
# Shelters 50 m north of each school (0.00045 degrees of latitude).
ASSETS = (
    "asset_id,asset_type,format,lon,lat\n"
    "SH1,bus_shelter,6-sheet,-2.3482,53.39676\n"
    "SH2,bus_shelter,6-sheet,-2.2783,53.4519\n"
)
GIAS = (
    "name,unique_reference_number,type,lon,lat\n"
    "Navigation Primary,106283,Local authority maintained schools,-2.3482,53.39631\n"
    "St John Vianney,106167,Special schools,-2.2783,53.45145\n"
)


@pytest.fixture
def files(tmp_path):
    for name, text in (("policy.toml", POLICY), ("assets.csv", ASSETS), ("schools.csv", GIAS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _eligibility(files, *options: str) -> list[str]:
    return [
        "eligibility",
        "--assets",
        str(files / "assets.csv"),
        "--sites",
        str(files / "schools.csv"),
        "--policy",
        str(files / "policy.toml"),
        "--out",
        str(files / "out.csv"),
        *options,
    ]


def _run(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _alcohol(files) -> dict[str, bool]:
    table = pd.read_csv(files / "out.csv")
    return table[table["category"] == "alcohol"].set_index("asset_id")["allowed"].to_dict()


def test_a_shared_column_for_the_sites_goes_to_the_sites_file_only(files, capsys):
    argv = _eligibility(
        files, "--column", "unique_reference_number=site_id", "--default", "kind=school"
    )

    code, _, err = _run(argv, capsys)

    assert (code, err) == (0, "")
    assert _alcohol(files) == {"SH1": False, "SH2": False}


def test_per_file_column_default_and_kind_map(files, capsys):
    mapped = _eligibility(
        files,
        "--sites-column",
        "unique_reference_number=site_id",
        "--sites-column",
        "type=kind",
        "--kind-map",
        "Local authority maintained schools=school",
        "--kind-map",
        "special schools=school",
    )

    code, _, _ = _run(mapped, capsys)

    assert code == 0
    assert _alcohol(files) == {"SH1": False, "SH2": False}


def test_unknown_kinds_stop_the_command_with_the_values_and_the_kind_map(files, capsys):
    argv = _eligibility(
        files, "--sites-column", "unique_reference_number=site_id", "--sites-column", "type=kind"
    )

    code, out, err = _run(argv, capsys)

    assert code == 2
    assert out == ""
    assert "schools.csv" in err
    assert "('local authority maintained schools' 1, 'special schools' 1)" in err
    assert "--kind-map 'local authority maintained schools=school'" in err
    assert not (files / "out.csv").exists()


def test_a_column_several_files_could_have_needs_the_per_file_option(files, capsys):
    code, _, err = _run(_eligibility(files, "--column", "name=name"), capsys)

    assert code == 2
    assert err == (
        "error: --column name=name: several input files (assets, sites) could have 'name'; "
        "say which file it is for with --assets-column or --sites-column\n"
    )


def test_per_file_crs_and_encoding(files, capsys):
    # Assets in British National Grid, sites in lon/lat written by Excel in Windows-1252.
    (files / "assets.csv").write_text("asset_id,easting,northing\nA1,530023.5,180417.7\n")
    (files / "schools.csv").write_bytes(
        "site_id,kind,name,lon,lat\nS1,school,École St Mary’s,-0.12788,51.50729\n".encode("cp1252")
    )
    assets_in_bng = _eligibility(files, "--assets-crs", "EPSG:27700", "--sites-encoding", "cp1252")
    everything_in_bng = _eligibility(files, "--crs", "EPSG:27700")

    code, _, _ = _run(assets_in_bng, capsys)
    table = pd.read_csv(files / "out.csv")
    refused, _, err = _run(everything_in_bng, capsys)

    assert code == 0
    assert table.loc[table["category"] == "alcohol", "reasons"].tolist() == [
        "schools-400m: École St Mary’s (school, site S1) at 50 m"
    ]
    assert refused == 2
    assert "look like longitude/latitude degrees" in err


def test_per_file_sheet(files, capsys):
    path = files / "schools.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"read": ["me"]}).to_excel(book, sheet_name="About", index=False)
        pd.read_csv(files / "schools.csv").to_excel(book, sheet_name="Schools", index=False)
    argv = _eligibility(files, "--sites-sheet", "Schools", "--sites-default", "kind=school")
    argv[argv.index(str(files / "schools.csv"))] = str(path)
    argv += ["--sites-column", "unique_reference_number=site_id"]

    code, _, _ = _run(argv, capsys)

    assert code == 0
    assert _alcohol(files) == {"SH1": False, "SH2": False}


def test_validate_takes_the_shared_options_for_its_one_file(files, capsys):
    argv = [
        "validate",
        "--sites",
        str(files / "schools.csv"),
        "--column",
        "unique_reference_number=site_id",
        "--column",
        "type=kind",
        "--kind-map",
        "Local authority maintained schools=school",
        "--kind-map",
        "Special schools=school",
    ]

    code, out, _ = _run(argv, capsys)

    assert code == 0
    assert "kinds were mapped as given" in out


def test_kind_map_for_an_assets_file_is_refused(files, capsys):
    argv = ["validate", "--assets", str(files / "assets.csv"), "--kind-map", "a=school"]

    code, _, err = _run(argv, capsys)

    assert code == 2
    assert err == "error: --kind-map maps site kinds; the assets file has none\n"


def test_a_rule_that_protects_nothing_is_printed_before_the_table(files, capsys):
    (files / "policy.toml").write_text(
        POLICY + '[[rules]]\nid = "parks"\ntype = "exclusion"\ncategories = ["hfss"]\n'
        'near = ["park"]\nwithin_m = 100\n'
    )

    code, _, err = _run(
        _eligibility(
            files,
            "--sites-default",
            "kind=school",
            "--sites-column",
            "unique_reference_number=site_id",
        ),
        capsys,
    )

    assert code == 0
    assert err.startswith("warning: exclusion rule(s) parks protect nothing: no site is a park")


# --- the app's upload form has the same per-file controls -----------------------------------


def test_app_upload_form_takes_the_files_mapping_default_and_kind_map(tmp_path, monkeypatch):
    class Upload:
        name = "gias.csv"

        def getvalue(self) -> bytes:
            return GIAS.encode()

    uploads = {"file_sites": Upload()}
    monkeypatch.setattr(streamlit, "file_uploader", lambda *a, key=None, **k: uploads.get(key))
    monkeypatch.setenv("PLANNER_SCENARIOS_DIR", str(tmp_path / "scenarios"))
    monkeypatch.setenv("PLANNER_MAP_TILES", "none")
    from pathlib import Path

    app = AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180
    )
    app.run()
    # The form maps columns with one selector per contract column; GIAS "type" values are
    # not site kinds, so the officer gives every row the kind school.
    app.selectbox(key="map_sites_site_id").set_value("unique_reference_number")
    app.text_area(key="defaults_sites").input("kind = school")
    next(b for b in app.button if b.label == "Load sites").click()
    app.run()

    assert not app.exception
    assert [e.value for e in app.error] == []
    assert next(m.value for m in app.metric if m.label == "Sensitive sites") == "2"
