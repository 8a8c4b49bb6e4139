"""What a form needs before loading a file: `preview_file`, `suggest_columns`, `for_form`."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.errors import DataValidationError, PlannerError
from planner.io.form import FORM_LABELS, for_form, mapping_targets, preview_file, suggest_columns

CORPUS = Path(__file__).parent / "bad_inputs"
ENTRIES = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["input"]
#: Python keywords or CLI options a person in a browser cannot act on.
PYTHON = re.compile(r"\b(crs|columns|defaults|kinds|encoding|sheet|drop_invalid)=|--[a-z]")

TFL = (
    "Stop_Code_LBSL,Bus_Stop_Code,Naptan_Atco,Stop_Name,Location_Easting,Location_Northing\n"
    "1000,91532,490000266G,WESTMINSTER STN <> / PARLIAMENT SQUARE,530171,179738\n"
    "10001,72689,490013793E,TREVOR CLOSE,515781,174783\n"
)


def test_preview_reads_the_first_rows_as_text_without_a_crs():
    table = preview_file(TFL.encode(), filename="bus-stops.csv", rows=1)
    assert list(table.columns)[:2] == ["Stop_Code_LBSL", "Bus_Stop_Code"]
    assert table.shape == (1, 6) and table.loc[0, "Stop_Code_LBSL"] == "1000"


def test_preview_reads_a_workbook_and_a_gis_file(tmp_path):
    frame = pd.DataFrame({"Ref": ["007", "008"], "Lon": ["24.9", "24.95"], "Lat": ["60.1", "60.2"]})
    frame.to_excel(tmp_path / "register.xlsx", sheet_name="assets", index=False)
    table = preview_file(tmp_path / "register.xlsx", sheet="assets")
    assert table["Ref"].tolist() == ["007", "008"]  # text: leading zeros kept
    gis = preview_file(planner.DATA_DIR / "sites.gpkg", rows=3)
    assert len(gis) == 3 and "geometry" not in gis.columns and "site_id" in gis.columns


@pytest.mark.parametrize(
    ("name", "data", "found"),
    [
        ("report.docx", b"PK", "files ending '.docx' are not supported"),
        ("book.xlsx", b"not a workbook", "could not be read as a spreadsheet"),
    ],
)
def test_preview_refuses_what_it_cannot_read(name, data, found):
    with pytest.raises(DataValidationError, match=re.escape(found)):
        preview_file(data, filename=name)


def test_suggestions_are_what_the_loader_would_take():
    table = preview_file(TFL.encode(), filename="bus-stops.csv")
    assert suggest_columns(table, "assets") == {
        "name": "Stop_Name",
        "x": "Location_Easting",
        "y": "Location_Northing",
    }
    gias = pd.DataFrame(
        {"URN": ["1"], "Type": ["Community school"], "Easting": ["1"], "Northing": ["2"]}
    )
    # 'Type' is an alias of kind, but its values are not site kinds: not suggested.
    assert suggest_columns(gias, "sites") == {"site_id": "URN", "x": "Easting", "y": "Northing"}
    assert suggest_columns(gias, "sites", kinds={"Community school": "school"})["kind"] == "Type"
    assert mapping_targets("sites") == ["site_id", "kind", "name", "x", "y"]


@pytest.mark.parametrize(
    ("hint", "words"),
    [
        (
            "Pass crs='EPSG:27700' for British National Grid eastings/northings "
            "(--crs EPSG:27700), or the EPSG code of your data",
            "Enter EPSG:27700 in the box 'CRS' for British National Grid eastings/northings, "
            "or the EPSG code of your data",
        ),
        (
            "map a column to it with columns={'your_column': 'asset_id'} "
            "(--column your_column=asset_id)",
            "map a column to it with your column chosen for 'asset_id' under 'Columns of this "
            "file'",
        ),
        (
            "give every row one kind with defaults={'kind': 'school'} (--default kind=school)",
            "give every row one kind with 'kind = school' in 'Values for missing columns'",
        ),
        (
            "load_sites(..., kinds={'Academy': 'school'}) or --kind-map 'Academy=school'",
            "'Academy' set to 'school' under 'Site kinds'",
        ),
        ("Leave crs unset for this file", "Leave the box 'CRS' empty for this file"),
        (
            "the file's CRS is X but crs=EPSG:27700 was passed",
            "the file's CRS is X but the box 'CRS' says EPSG:27700",
        ),
        (
            "Give one of those names with sheet= (--sites-sheet)",
            "Give one of those names in the box 'Sheet'",
        ),
        (
            "Choose rate_card='uk-default' (bundled)",
            "Choose uk-default in the box 'Rate card' (bundled)",
        ),
        ("no option here (a note)", "no option here (a note)"),
        (
            "12,000 residents a week (AudienceParams.no_zone_weekly_passers): give zones",
            "12,000 residents a week: give zones",
        ),
    ],
)
def test_hints_are_said_in_the_forms_words(hint, words):
    assert for_form(hint) == words


def test_an_unlabelled_option_is_left_as_it_is():
    assert for_form("pass crs='EPSG:4326'", {"columns": "Columns"}) == "pass crs='EPSG:4326'"


def _message(entry: dict) -> str:
    """The error an app upload of a corpus file shows: message and every problem."""
    loader = getattr(planner, f"load_{entry['kind']}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loader(CORPUS / entry["file"], **entry.get("options", {}))
        except DataValidationError as exc:
            return "\n".join([str(exc), *(f"{p.found}. {p.fix}" for p in exc.problems)])
        except PlannerError as exc:
            return str(exc)
    return ""


@pytest.mark.parametrize(
    "entry",
    [
        e
        for e in ENTRIES
        if e["kind"] in {"assets", "sites", "zones"}
        and not e.get("generated")
        and e.get("outcome", "error") == "error"
    ],
    ids=lambda e: e["file"],
)
def test_no_corpus_message_keeps_python_or_cli_syntax_for_a_form(entry):
    message = _message(entry)
    assert entry["expect"] in message  # the loader still names the problem
    worded = for_form(message, FORM_LABELS)
    assert not PYTHON.search(worded), worded
