"""The field cases of ``../shared/field`` (kinds 1, 3, 4 and 7) give the right behaviour.

Each case rebuilds a real council or user file the planner once got wrong; its README says
what is right. The folder is outside the repository: these tests skip cleanly without it.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import planner
from planner.cli import main
from planner.errors import DataValidationError
from planner.optimise.covering import coverage_from_frames, coverage_matrix, max_cover

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"

pytestmark = pytest.mark.skipif(not FIELD.is_dir(), reason=f"field cases not found at {FIELD}")


def _case(name: str) -> Path:
    path = FIELD / name
    if not path.is_file():
        pytest.skip(f"{name} is not in {FIELD}")
    return path


def test_case01_both_shelters_are_refused_alcohol():
    sites = planner.load_sites(
        _case("case01_schools_gias_type.csv"),
        columns={"unique_reference_number": "site_id"},
        defaults={"kind": "school"},
    )
    assets = planner.load_assets(_case("case01_assets_near_school.csv"))
    policy = planner.load_policy(_case("case01_policy_schools_400m.toml"))

    table = planner.eligibility(assets, sites, policy)

    alcohol = table[table["category"] == "alcohol"].set_index("asset_id")["allowed"]
    assert alcohol.to_dict() == {"SH-001": False, "SH-002": False}


def test_case01_mapped_type_column_is_loaded_with_its_kinds_listed():
    sites = planner.load_sites(
        _case("case01_schools_gias_type.csv"),
        columns={"unique_reference_number": "site_id", "type": "kind"},
    )

    warned = " ".join(p.found for p in sites.attrs["report"].warnings)
    assert "('Local authority maintained schools' 1, 'Special schools' 1)" in warned


def test_case01_the_policy_check_stops_unmapped_kinds():
    sites = planner.load_sites(
        _case("case01_schools_gias_type.csv"),
        columns={"unique_reference_number": "site_id", "type": "kind"},
    )
    assets = planner.load_assets(_case("case01_assets_near_school.csv"))
    policy = planner.load_policy(_case("case01_policy_schools_400m.toml"))

    with pytest.raises(DataValidationError) as caught:
        planner.eligibility(assets, sites, policy)

    text = str(caught.value)
    assert "'local authority maintained schools' 1, 'special schools' 1" in text
    assert "--kind-map" in text


def test_case01_cli_column_for_the_sites_is_not_applied_to_the_assets(tmp_path, capsys):
    out = tmp_path / "eligibility.csv"
    code = main(
        [
            "eligibility",
            "--assets",
            str(_case("case01_assets_near_school.csv")),
            "--sites",
            str(_case("case01_schools_gias_type.csv")),
            "--policy",
            str(_case("case01_policy_schools_400m.toml")),
            "--out",
            str(out),
            "--column",
            "unique_reference_number=site_id",
            "--default",
            "kind=school",
        ]
    )
    capsys.readouterr()

    table = pd.read_csv(out)
    assert code == 0
    assert not table.loc[table["category"] == "alcohol", "allowed"].any()


def test_case02_transparency_register_loads_with_its_crs_column():
    assets = planner.load_assets(_case("case02_transparency_land_assets.csv"), drop_invalid=True)
    report = assets.attrs["report"]

    assert assets["asset_id"].tolist() == ["TMBC0001/T0000003", "TMBC0002/B0000066"]
    assert assets["UPRN"].tolist() == ["100012797623", "100012800714"]
    assert report.crs == "EPSG:4326"
    assert [(p.where, p.found) for p in report.errors] == [
        ("row 4 (id TMBC0003/L0000012)", "the location is missing")
    ]


def test_case03a_decimal_commas_are_read():
    assets = planner.load_assets(_case("case03a_semicolon_decimal_comma.csv"))

    assert [(round(p.x, 4), round(p.y, 4)) for p in assets.geometry] == [
        (24.9384, 60.1699),
        (24.9458, 60.1675),
    ]


def test_case15_xlsx_register_is_read_like_csv():
    assets = planner.load_assets(_case("case15_land_assets_register.xlsx"))

    assert assets["asset_id"].tolist() == ["A1", "A2"]
    assert [(round(p.x, 5), round(p.y, 5)) for p in assets.geometry] == [
        (-2.35209, 53.38796),
        (-2.30600, 53.39149),
    ]


def test_case17_degrees_are_refused_and_metres_give_the_true_cover():
    demand = pd.read_csv(_case("case17_demand_lonlat.csv"))
    sites = pd.read_csv(_case("case17_sites_lonlat.csv"))

    with pytest.raises(DataValidationError, match="look like degrees, not metres"):
        coverage_matrix(demand[["lon", "lat"]].to_numpy(), sites[["lon", "lat"]].to_numpy(), 300)
    frames = [
        gpd.GeoDataFrame(t, geometry=gpd.points_from_xy(t["lon"], t["lat"]), crs="EPSG:4326")
        for t in (demand, sites)
    ]
    cov = coverage_from_frames(frames[0], frames[1], 300)

    assert cov.nnz == 0
    with pytest.raises(planner.PlannerError, match="no candidate site covers any demand"):
        max_cover(cov, demand["population"], k=2)


def test_case18_mangled_uprns_say_how_to_export_them_again():
    with pytest.raises(DataValidationError) as caught:
        planner.load_assets(_case("case18_uprn_excel_scientific.csv"))

    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1
    assert "'1.00012E+11' were turned into scientific notation by a spreadsheet" in errors[0].found
    assert "Export the ids again as text" in errors[0].fix
