"""Eligibility: thresholds on both sides, polygons, scopes, reasons, zones and real London data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED_DATA as SHARED
from conftest import make_assets, make_sites

from planner.errors import DataValidationError
from planner.policy.eligibility import (
    allowed_matrix,
    eligibility,
    eligibility_summary,
    exclusion_zones,
    refusals,
)
from planner.policy.load import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
    load_policy,
)
from planner.schema import CATEGORIES


def schools_rule(within_m: float = 100, **scope) -> Policy:
    rule = ExclusionRule(
        "schools-100m", ("alcohol", "gambling", "hfss"), ("school",), within_m, **scope
    )
    return Policy("Test", rules=(rule,))


def cell(df: pd.DataFrame, asset_id: str, category: str) -> pd.Series:
    row = df[(df["asset_id"] == asset_id) & (df["category"] == category)]
    assert len(row) == 1
    return row.iloc[0]


def refused(df: pd.DataFrame, category: str) -> set[str]:
    return set(df.loc[(df["category"] == category) & ~df["allowed"], "asset_id"])


def test_point_site_99_m_refused_101_m_allowed_on_both_sides() -> None:
    assets = make_assets([(99, 0), (101, 0), (-99, 0), (-101, 0), (0, 99), (0, -101)])
    df = eligibility(assets, make_sites([shapely.Point(0, 0)]), schools_rule())
    assert refused(df, "alcohol") == {"A0", "A2", "A4"}
    assert refused(df, "general") == set()


def test_polygon_distance_is_to_the_edge_and_zero_inside() -> None:
    grounds = shapely.box(0, 0, 200, 200)  # centroid is 100 m in from every edge
    assets = make_assets([(100, 100), (-99, 100), (-101, 100), (299, 100), (301, 100)])
    df = eligibility(assets, make_sites([grounds], name=["St Mary's Primary"]), schools_rule())
    assert refused(df, "hfss") == {"A0", "A1", "A3"}
    inside = cell(df, "A0", "alcohol")
    assert inside["reasons"] == "schools-100m: St Mary's Primary (school, site S0) at 0 m"
    assert cell(df, "A1", "alcohol")["reasons"].endswith("at 99 m")


def test_table_shape_columns_and_order() -> None:
    assets = make_assets([(0, 0), (500, 0)])
    df = eligibility(assets, make_sites([shapely.Point(0, 50)]), schools_rule())
    assert list(df.columns) == ["asset_id", "category", "allowed", "reasons", "rule_ids"]
    assert len(df) == 2 * len(CATEGORIES)
    assert df["asset_id"].tolist() == ["A0"] * 9 + ["A1"] * 9
    assert df["category"].astype(str).tolist()[:9] == list(CATEGORIES)
    assert df["allowed"].dtype == bool
    assert (df.loc[df["allowed"], "reasons"] == "").all()
    assert cell(df, "A0", "gambling")["rule_ids"] == "schools-100m"


def test_nearest_offending_site_is_named() -> None:
    sites = make_sites(
        [shapely.Point(80, 0), shapely.Point(30, 0), shapely.Point(0, 10)],
        kind=["school", "school", "place_of_worship"],
    )
    df = eligibility(make_assets([(0, 0)]), sites, schools_rule())
    assert (
        cell(df, "A0", "alcohol")["reasons"] == "schools-100m: School 1 (school, site S1) at 30 m"
    )


def test_sites_of_other_kinds_do_not_trigger_the_rule() -> None:
    sites = make_sites([shapely.Point(5, 0)], kind=["hospital"])
    df = eligibility(make_assets([(0, 0)]), sites, schools_rule())
    assert df["allowed"].all()


def test_missing_site_name_falls_back_to_its_id() -> None:
    sites = make_sites([shapely.Point(40, 0)], name=[""])
    df = eligibility(make_assets([(0, 0)]), sites, schools_rule())
    assert cell(df, "A0", "hfss")["reasons"] == "schools-100m: S0 (school, site S0) at 40 m"


def test_ban_refuses_every_asset_for_its_categories_only() -> None:
    policy = Policy("Ban", rules=(BanRule("no-payday", ("payday_loans",)),))
    df = eligibility(make_assets([(0, 0), (1000, 0)]), None, policy)
    assert refused(df, "payday_loans") == {"A0", "A1"}
    assert cell(df, "A1", "payday_loans")["reasons"] == "no-payday: banned"
    assert df["allowed"].sum() == 2 * (len(CATEGORIES) - 1)


def test_ban_scope_by_digital_and_asset_type() -> None:
    assets = make_assets(
        [(0, 0), (10, 0), (20, 0)],
        digital=[True, False, True],
        asset_type=["bus_shelter", "bus_shelter", "kiosk"],
    )
    policy = Policy(
        "Scoped",
        rules=(
            BanRule("digital-hfss", ("hfss",), digital=True),
            BanRule("kiosk-adult", ("adult",), asset_types=("kiosk",)),
            BanRule(
                "digital-shelter-gambling",
                ("gambling",),
                asset_types=("bus_shelter",),
                digital=True,
            ),
        ),
    )
    df = eligibility(assets, None, policy)
    assert refused(df, "hfss") == {"A0", "A2"}
    assert refused(df, "adult") == {"A2"}
    assert refused(df, "gambling") == {"A0"}
    assert cell(df, "A0", "hfss")["reasons"] == "digital-hfss: banned on digital assets"
    assert cell(df, "A0", "gambling")["reasons"].endswith("banned on digital bus_shelter assets")


def test_exclusion_scope_by_digital() -> None:
    assets = make_assets([(50, 0), (-50, 0)], digital=[True, False])
    df = eligibility(assets, make_sites([shapely.Point(0, 0)]), schools_rule(digital=True))
    assert refused(df, "alcohol") == {"A0"}


def test_several_reasons_are_joined_in_rule_order() -> None:
    policy = Policy(
        "Two",
        rules=(
            BanRule("no-alcohol", ("alcohol",)),
            ExclusionRule("schools", ("alcohol",), ("school",), 100),
        ),
    )
    df = eligibility(make_assets([(60, 0)]), make_sites([shapely.Point(0, 0)]), policy)
    row = cell(df, "A0", "alcohol")
    assert row["reasons"] == "no-alcohol: banned; schools: School 0 (school, site S0) at 60 m"
    assert row["rule_ids"] == "no-alcohol;schools"


def test_rules_with_different_distances_are_each_applied() -> None:
    policy = Policy(
        "Radii",
        rules=(
            ExclusionRule("schools-100", ("alcohol",), ("school",), 100),
            ExclusionRule("hospitals-400", ("fossil_fuels",), ("hospital",), 400),
            ExclusionRule("schools-400", ("gambling",), ("school",), 400),
        ),
    )
    sites = make_sites([shapely.Point(0, 0), shapely.Point(1000, 0)], kind=["school", "hospital"])
    df = eligibility(make_assets([(150, 0), (650, 0)]), sites, policy)
    assert refused(df, "alcohol") == set()
    assert refused(df, "gambling") == {"A0"}
    assert refused(df, "fossil_fuels") == {"A1"}


def test_plan_time_rules_do_not_change_eligibility() -> None:
    policy = Policy(
        "Plan-time",
        rules=(
            DensityRule("clutter", 1, 1000),
            ShareRule("hfss-share", ("hfss",), 0.0),
            PeriodRule("purdah", ("political",), date(2027, 1, 1), date(2027, 12, 31)),
        ),
    )
    df = eligibility(make_assets([(0, 0), (1, 0)]), make_sites([shapely.Point(0, 0)]), policy)
    assert df["allowed"].all()


def test_sites_in_another_crs_and_no_sites() -> None:
    sites = make_sites([shapely.Point(0, 0)]).to_crs("EPSG:27700")
    df = eligibility(make_assets([(99, 0), (101, 0)]), sites, schools_rule())
    assert refused(df, "alcohol") == {"A0"}
    no_sites = sites.iloc[0:0]
    assert eligibility(make_assets([(0, 0)]), no_sites, schools_rule())["allowed"].all()


def test_missing_crs_duplicate_ids_and_missing_columns_are_reported() -> None:
    assets = make_assets([(0, 0), (5, 0)])
    with pytest.raises(DataValidationError, match="no CRS"):
        eligibility(assets.set_crs(None, allow_override=True), None, schools_rule())
    with pytest.raises(DataValidationError, match="duplicate asset_id"):
        eligibility(assets.assign(asset_id="A"), None, schools_rule())
    with pytest.raises(DataValidationError, match="schools-100m need them"):
        eligibility(assets, None, schools_rule())
    sites = make_sites([shapely.Point(0, 0)]).drop(columns="kind")
    with pytest.raises(DataValidationError, match="kind"):
        eligibility(assets, sites, schools_rule())


def test_allowed_matrix_pivots_in_asset_order() -> None:
    assets = make_assets([(500, 0), (10, 0)])
    df = eligibility(assets, make_sites([shapely.Point(0, 0)]), schools_rule())
    matrix = allowed_matrix(df)
    assert matrix.index.tolist() == ["A0", "A1"]
    assert matrix.columns.tolist() == list(CATEGORIES)
    assert matrix.loc["A0"].all()
    assert not matrix.loc["A1", "alcohol"] and matrix.loc["A1", "general"]
    shuffled = df.sample(frac=1, random_state=1).astype({"category": str})
    pd.testing.assert_frame_equal(
        allowed_matrix(shuffled).loc[["A0", "A1"], list(CATEGORIES)],
        matrix,
        check_names=False,
        check_column_type=False,
    )


def test_exclusion_zones_contain_refused_assets_only() -> None:
    sites = make_sites([shapely.Point(0, 0), shapely.box(1000, 0, 1200, 200)])
    zones = exclusion_zones(sites, schools_rule())
    assert zones.crs.to_epsg() == 4326
    assert zones["rule_id"].tolist() == ["schools-100m"]
    assets = make_assets([(99, 0), (101, 0), (1100, 299), (1100, 301)])
    inside = assets.within(zones.geometry.iloc[0]).tolist()
    assert inside == [True, False, True, False]
    per_site = exclusion_zones(sites, schools_rule(), dissolve=False)
    assert per_site["site_id"].tolist() == ["S0", "S1"]


def test_exclusion_zones_empty_when_no_exclusion_rule() -> None:
    zones = exclusion_zones(make_sites([shapely.Point(0, 0)]), Policy("None"))
    assert zones.empty and "rule_id" in zones.columns


# --------------------------------------------------------------- real London data


def _london() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    stops_csv = SHARED / "london_tfl_bus_stops" / "bus-stops.csv"
    schools_csv = SHARED / "london_schools_gias" / "london_nurseries_edubase_2019.csv"
    if not (stops_csv.is_file() and schools_csv.is_file()):
        pytest.skip(f"shared London data not found under {SHARED}")
    stops = pd.read_csv(
        stops_csv, usecols=["Stop_Code_LBSL", "Location_Easting", "Location_Northing"]
    )
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Location_Northing"] > 0)]
    stop_xy = stops[["Location_Easting", "Location_Northing"]].to_numpy(dtype=float)
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"{c}#{i}" for i, c in enumerate(stops["Stop_Code_LBSL"])],
            "asset_type": "bus_stop",
            "digital": False,
        },
        geometry=gpd.points_from_xy(stop_xy[:, 0], stop_xy[:, 1]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    # Only the columns the planner needs: never personal ones such as the head teacher.
    schools = pd.read_csv(
        schools_csv,
        encoding="latin-1",
        usecols=["URN", "EstablishmentName", "EstablishmentStatus (name)", "Easting", "Northing"],
    )
    schools = schools[schools["EstablishmentStatus (name)"].eq("Open")].dropna(
        subset=["Easting", "Northing"]
    )
    school_xy = schools[["Easting", "Northing"]].to_numpy(dtype=float)
    sites = gpd.GeoDataFrame(
        {
            "site_id": schools["URN"].astype(str),
            "kind": "school",
            "name": schools["EstablishmentName"].astype(str),
        },
        geometry=gpd.points_from_xy(school_xy[:, 0], school_xy[:, 1]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    return assets, sites, stop_xy, school_xy


def _nearest_distance(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Brute force, in plain numpy on the original grid coordinates."""
    out = np.empty(len(points))
    for lo in range(0, len(points), 2000):
        part = points[lo : lo + 2000]
        d = np.hypot(part[:, None, 0] - targets[None, :, 0], part[:, None, 1] - targets[None, :, 1])
        out[lo : lo + 2000] = d.min(axis=1)
    return out


@pytest.mark.shared_data
def test_london_bus_stops_near_open_schools_refused_for_alcohol() -> None:
    assets, sites, stop_xy, school_xy = _london()
    assert len(assets) > 19_000 and len(sites) > 1_500
    df = eligibility(assets, sites, load_policy("uk-cap-code"))
    alcohol = df[df["category"] == "alcohol"].set_index("asset_id").loc[assets["asset_id"]]
    nearest = _nearest_distance(stop_xy, school_xy)
    # Integer grid coordinates can sit exactly 100 m apart; the round trip through
    # longitude/latitude moves them by nanometres, so exact ties are not compared.
    clear = np.abs(nearest - 100) > 1e-3
    assert clear.sum() >= len(nearest) - 5
    within = nearest <= 100
    assert not alcohol["allowed"].to_numpy()[clear & within].any()
    assert alcohol["allowed"].to_numpy()[clear & ~within].all()
    assert 500 < within.sum() < len(nearest) - 500  # the check is not vacuous
    assert df.loc[df["category"] == "general", "allowed"].all()


def test_cli_eligibility_writes_table_and_summary(tmp_path: Path, capsys) -> None:
    from planner.cli import main

    assets, sites, out = tmp_path / "assets.gpkg", tmp_path / "sites.gpkg", tmp_path / "e.csv"
    make_assets([(99, 0), (101, 0)]).to_file(assets, layer="assets")
    make_sites([shapely.Point(0, 0)]).to_file(sites, layer="sites")
    argv = ["eligibility", "--assets", str(assets), "--policy", "uk-cap-code", "--out", str(out)]
    assert main([*argv, "--sites", str(sites)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 2 * len(CATEGORIES)
    assert table.loc[~table["allowed"], "asset_id"].unique().tolist() == ["A0"]
    summary = capsys.readouterr().out
    assert "alcohol" in summary and "cap-schools-100m 1" in summary
    assert main(argv) == 2  # exclusion rules need --sites


def test_categories_added_by_the_policy_get_rows() -> None:
    rule = BanRule("no-crypto", ("crypto",))
    policy = Policy("Extra", rules=(rule,), categories=(*CATEGORIES, "crypto"))
    df = eligibility(make_assets([(0, 0)]), None, policy)
    assert len(df) == len(CATEGORIES) + 1
    assert allowed_matrix(df).columns[-1] == "crypto"
    assert refused(df, "crypto") == {"A0"}


def test_summary_counts_allowed_and_refused_assets_per_category() -> None:
    assets = make_assets([(60, 0), (150, 0), (500, 0), (900, 0)])
    policy = Policy(
        "Two",
        rules=(
            BanRule("no-adult", ("adult",)),
            ExclusionRule("schools", ("alcohol",), ("school",), 100),
        ),
    )
    table = eligibility(assets, make_sites([shapely.Point(0, 0)]), policy)
    summary = eligibility_summary(table)
    assert list(summary.index) == list(CATEGORIES)
    assert summary.loc["alcohol"].tolist() == [4, 3, 1, 0.25]
    assert summary.loc["adult"].tolist() == [4, 0, 4, 1.0]
    assert summary.loc["general"].tolist() == [4, 4, 0, 0.0]
    assert list(summary.columns) == ["assets", "allowed", "refused", "share_refused"]


def test_refusals_name_the_asset_and_the_reason() -> None:
    assets = make_assets([(60, 0), (150, 0)], name=["High St", "Park Rd"])
    policy = Policy(
        "Two",
        rules=(
            BanRule("no-adult", ("adult",)),
            ExclusionRule("schools", ("alcohol",), ("school",), 100),
        ),
    )
    table = eligibility(assets, make_sites([shapely.Point(0, 0)]), policy)
    alcohol = refusals(table, assets, "alcohol")
    assert alcohol.to_dict("records") == [
        {"asset_id": "A0", "name": "High St", "asset_type": "bus_shelter",
         "category": "alcohol", "reasons": "schools: School 0 (school, site S0) at 60 m",
         "rule_ids": "schools"},
    ]  # fmt: skip
    every = refusals(table, assets.drop(columns=["name"]))
    assert sorted(zip(every["asset_id"], every["category"], strict=True)) == [
        ("A0", "adult"), ("A0", "alcohol"), ("A1", "adult"),
    ]  # fmt: skip
    assert set(every["name"]) == {""}
    assert refusals(table, assets, "general").empty
