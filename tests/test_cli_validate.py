"""Tests of ``python -m planner validate``: plain report, exit 0 when valid, 2 when not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import main

VALID = (
    "asset_id,asset_type,format,lon,lat\nA1,kiosk,6-sheet,-0.10001,51.50001\n"
    "A2,kiosk,6-sheet,-0.20001,51.50001\n"
)
NULL_ISLAND = (
    "asset_id,asset_type,format,lon,lat\nA1,kiosk,6-sheet,0,0\nA2,kiosk,6-sheet,-0.20001,51.50001\n"
)


def _csv(tmp_path: Path, text: str, name: str = "assets.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_valid_file_exits_0_with_a_report(tmp_path, capsys):
    code, out, _ = _run(capsys, ["validate", "--assets", _csv(tmp_path, VALID)])

    assert code == 0
    assert out.splitlines() == [
        "Assets file: assets.csv",
        "  CRS: EPSG:4326",
        "  encoding: UTF-8",
        "  rows read: 2",
        "  rows valid: 2",
        "  errors: 0, warnings: 0",
        "",
        "Valid.",
    ]


def test_invalid_file_exits_2_listing_each_problem(tmp_path, capsys):
    code, out, _ = _run(capsys, ["validate", "--assets", _csv(tmp_path, NULL_ISLAND)])

    assert code == 2
    assert "  rows read: 2\n  rows valid: 1\n  errors: 1, warnings: 0" in out
    assert (
        "  ERROR   assets.csv, row 2 (id A1), column 'geometry': the point is at 0/0 "
        "('null island')"
    ) in out
    assert out.rstrip().endswith(
        "Not valid: fix the 1 error(s) above, or use --drop-invalid to drop those rows."
    )


def test_drop_invalid_exits_0_and_still_lists_the_dropped_rows(tmp_path, capsys):
    argv = ["validate", "--assets", _csv(tmp_path, NULL_ISLAND), "--drop-invalid"]

    code, out, _ = _run(capsys, argv)

    assert code == 0
    assert "  rows valid: 1" in out
    assert "row 2 (id A1), column 'geometry': the point is at 0/0" in out
    assert out.rstrip().endswith("Valid after dropping 1 row(s).")


def test_drop_invalid_with_no_valid_row_left_exits_2(tmp_path, capsys):
    text = "asset_id,asset_type,format,lon,lat\nA1,kiosk,6-sheet,0,0\n"
    argv = ["validate", "--assets", _csv(tmp_path, text), "--drop-invalid"]

    code, out, _ = _run(capsys, argv)

    assert code == 2
    assert "  rows valid: 0" in out
    # Dropping every row is refused, and --drop-invalid is not suggested again.
    assert "would drop all 1 rows and leave nothing" in out
    assert "Not valid: fix the 2 error(s) above." in out


def test_crs_column_and_default_options_reach_the_loader(tmp_path, capsys):
    path = _csv(
        tmp_path,
        "Stop_Code_LBSL,Location_Easting,Location_Northing\n1000,530171,179738\n",
        name="bus-stops.csv",
    )
    argv = ["validate", "--assets", path, "--crs", "EPSG:27700"]
    argv += ["--column", "Stop_Code_LBSL=asset_id", "--default", "asset_type=bus_stop"]

    code, out, _ = _run(capsys, argv)

    assert code == 0
    assert "  CRS: EPSG:27700" in out
    assert "no 'asset_type' column" not in out


def test_missing_crs_exits_2_and_asks_for_it(tmp_path, capsys):
    path = _csv(tmp_path, "asset_id,easting,northing\nA1,530171,179738\n")

    code, out, _ = _run(capsys, ["validate", "--assets", path])

    assert code == 2
    assert "  CRS: unknown" in out
    assert "no CRS was given. Pass crs='EPSG:27700'" in out
    assert "(--assets-crs EPSG:27700)" in out  # this file's own option: it breaks no other


@pytest.mark.parametrize("option", ["--sites", "--zones"])
def test_unreadable_file_exits_2_without_traceback(tmp_path, capsys, option):
    path = _csv(tmp_path, "this is not a geopackage", name="data.gpkg")

    code, out, _ = _run(capsys, ["validate", option, path])

    assert code == 2
    assert "ERROR   data.gpkg: the file could not be read as a GeoPackage" in out


def test_missing_file_exits_2(tmp_path, capsys):
    code, out, _ = _run(capsys, ["validate", "--zones", str(tmp_path / "nothere.gpkg")])

    assert code == 2
    assert "nothere.gpkg' does not exist. Check the path" in out


def test_non_utf8_file_suggests_the_encoding_option(tmp_path, capsys):
    path = tmp_path / "schools.csv"
    path.write_bytes(
        "site_id,kind,name,lon,lat\nS1,school,Café,-0.10001,51.50001\n".encode("cp1252")
    )

    code, out, _ = _run(capsys, ["validate", "--sites", str(path), "--encoding", "utf-8"])
    fixed, _, _ = _run(capsys, ["validate", "--sites", str(path), "--encoding", "cp1252"])
    detected, said, _ = _run(capsys, ["validate", "--sites", str(path)])

    assert (code, fixed, detected) == (2, 0, 0)
    assert "--sites-encoding cp1252" in out
    assert "  encoding: Windows-1252 (detected by charset-normalizer)" in said


def test_malformed_column_option_is_a_plain_error(tmp_path, capsys):
    argv = ["validate", "--assets", _csv(tmp_path, VALID), "--column", "Stop_Code_LBSL"]

    code, out, err = _run(capsys, argv)

    assert code == 2
    assert out == ""
    assert err == "error: --column expects NAME=VALUE; got 'Stop_Code_LBSL'\n"


def test_validate_needs_exactly_one_input(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["validate"])

    assert caught.value.code == 2
    assert "one of the arguments --assets --sites --zones is required" in capsys.readouterr().err


def test_module_entry_point_runs_validate(tmp_path):
    path = _csv(tmp_path, NULL_ISLAND)

    done = subprocess.run(
        [sys.executable, "-m", "planner", "validate", "--assets", path],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )

    assert done.returncode == 2
    assert "row 2 (id A1)" in done.stdout
    assert "Traceback" not in done.stderr
