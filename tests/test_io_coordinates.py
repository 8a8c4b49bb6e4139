"""Kind 3: coordinates that are wrong but in range are caught, row by row.

Swapped x/y in one row (whatever the other rows do), rows piled on one point, degrees given
where metres are needed, and a layer that lies nowhere near the assets.
"""

from __future__ import annotations

import numpy as np
import pytest

import planner
from planner.cli import main
from planner.errors import DataValidationError
from planner.io.validation import check_layers_overlap
from planner.optimise.covering import coverage_from_frames, coverage_matrix


def _csv(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _errors(exc: DataValidationError) -> list[str]:
    return [str(p) for p in exc.problems if p.severity == "error"]


def test_one_swapped_row_is_found_among_right_ones(tmp_path):
    path = _csv(
        tmp_path,
        "asset_id,lon,lat\nA1,-0.10,51.50\nA2,-0.12,51.51\nA3,51.52,-0.11\nA4,-0.13,51.49\n",
    )

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)

    assert _errors(caught.value) == [
        "data.csv, row 4 (id A3), column 'geometry': coordinates (51.52, -0.11) lie far from "
        "the file's other rows, and with x and y exchanged (-0.11, 51.52) they lie among "
        "them: x and y look swapped in this row. Swap this row's values: x (longitude or "
        "easting) -0.11, y (latitude or northing) 51.52"
    ]


def test_a_swapped_row_is_dropped_with_drop_invalid_and_the_rest_kept(tmp_path):
    path = _csv(
        tmp_path,
        "site_id,kind,lon,lat\nS1,school,24.94,60.17\nS2,school,24.95,60.16\n"
        "S3,school,60.18,24.93\nS4,school,24.93,60.18\n",
    )

    sites = planner.load_sites(path, drop_invalid=True)

    assert sites["site_id"].tolist() == ["S1", "S2", "S4"]


def test_swapped_eastings_and_northings_are_found_per_row(tmp_path):
    path = _csv(
        tmp_path,
        "asset_id,easting,northing\nA1,530000,180000\nA2,531000,181000\n"
        "A3,179500,530500\nA4,532000,179000\n",
    )

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path, crs="EPSG:27700")

    errors = _errors(caught.value)
    assert len(errors) == 1
    assert errors[0].startswith("data.csv, row 4 (id A3), column 'geometry': coordinates")
    assert "x (longitude or easting) 530500, y (latitude or northing) 179500" in errors[0]


def test_a_swapped_gb_row_is_found_even_in_a_file_of_two(tmp_path):
    path = _csv(tmp_path, "asset_id,lon,lat\nA1,-2.35,53.39\nA2,53.40,-2.30\n")

    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(path)

    errors = _errors(caught.value)
    assert [e.split(",")[1].strip() for e in errors] == ["row 3 (id A2)"]
    assert "x and y look swapped in this row" in errors[0]


def test_spread_out_rows_are_not_taken_for_swapped(tmp_path):
    # Sites across Great Britain, Helsinki and Lisbon: far apart, none swapped.
    path = _csv(
        tmp_path,
        "site_id,kind,lon,lat\nS1,school,-0.1,51.5\nS2,school,-3.2,55.95\n"
        "S3,school,24.94,60.17\nS4,school,-9.14,38.72\nS5,school,-2.24,53.48\n",
    )

    assert len(planner.load_sites(path)) == 5


def test_a_file_piled_on_one_point_is_refused_without_drop_invalid_advice(tmp_path, capsys):
    rows = "".join(f"S{i},-0.1,51.5\n" for i in range(12))
    path = _csv(tmp_path, "asset_id,lon,lat\n" + rows + "T1,-0.2,51.4\n")

    report = planner.validate_file(path, "assets", drop_invalid=True)
    code = main(["validate", "--assets", str(path)])
    out = capsys.readouterr().out

    assert report.rows_valid == 0
    assert [p.found[:45] for p in report.errors] == [
        "12 of 13 rows are at exactly the same point ("
    ]
    assert report.errors[0].where == ""
    assert "Export each row's own location" in report.errors[0].fix
    assert code == 2
    assert "--drop-invalid" not in out


def test_a_small_pile_is_a_warning_with_its_count(tmp_path):
    rows = "".join(f"S{i},school,-0.1,51.5\n" for i in range(5))
    others = "".join(f"T{i},school,-0.{i + 2},51.4\n" for i in range(6))
    path = _csv(tmp_path, "site_id,kind,lon,lat\n" + rows + others)

    sites = planner.load_sites(path)

    warned = [p.found for p in sites.attrs["report"].warnings]
    assert len(sites) == 11
    assert any(
        w.startswith("several rows share exactly one point (5 rows at (-0.1, 51.5)") for w in warned
    )


def test_two_panels_at_one_point_are_fine(tmp_path):
    path = _csv(tmp_path, "asset_id,lon,lat\nA1,-0.1,51.5\nA2,-0.1,51.5\nA3,-0.2,51.5\n")

    assets = planner.load_assets(path)

    assert not any("share exactly one point" in p.found for p in assets.attrs["report"].problems)


def test_degrees_with_a_radius_in_metres_are_refused():
    demand = np.array([[-2.3776, 53.3903], [-2.3472, 53.4102], [-2.2760, 53.4538]])
    sites = np.array([[-2.3676, 53.3903], [-2.3372, 53.4102]])

    with pytest.raises(DataValidationError) as caught:
        coverage_matrix(demand, sites, 300)

    text = str(caught.value)
    assert "they look like degrees, not metres" in text
    assert "planner.to_metric" in text


def test_metres_near_the_origin_are_not_taken_for_degrees():
    cov = coverage_matrix(np.array([[0.0, 0.0]]), np.array([[0.0, 250.0], [0.0, 400.0]]), 300)

    assert cov.toarray().tolist() == [[True, False]]


def test_frames_in_degrees_are_measured_in_metres(make_geo):
    # 0.01 degrees of longitude at 53.4 N is about 665 m: out of a 300 m walk, within 1 km.
    demand = make_geo([(-2.3776, 53.3903)], crs="EPSG:4326")
    sites = make_geo([(-2.3676, 53.3903)], crs="EPSG:4326")

    assert coverage_from_frames(demand, sites, 300).nnz == 0
    assert coverage_from_frames(demand, sites, 1000).nnz == 1


def test_sites_nowhere_near_the_assets_are_warned_with_both_boxes(make_geo):
    assets = make_geo([(-0.10, 51.50), (-0.12, 51.51)], crs="EPSG:4326")
    sites = make_geo([(2.35, 48.85)], crs="EPSG:4326")
    near = make_geo([(-0.11, 51.505)], crs="EPSG:4326")

    warned = check_layers_overlap({"assets": assets, "sites": sites})

    assert len(warned) == 1
    assert warned[0].startswith(
        "the sites (bounding box 2.3500, 48.8500 to 2.3500, 48.8500 (lon, lat)) do not "
        "overlap the assets (bounding box -0.1200, 51.5000 to -0.1000, 51.5100 (lon, lat))"
    )
    assert check_layers_overlap({"assets": assets, "sites": near}) == []
