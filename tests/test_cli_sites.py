"""The covering family serves the product: ``select-sites`` by value and by reach."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

import planner
from planner.cli import main

DATA = planner.DATA_DIR
COMMON = ["--assets", str(DATA / "assets.gpkg"), "--zones", str(DATA / "zones.gpkg")]
POLICY = ["--sites", str(DATA / "sites.gpkg"), "--policy", "uk-cap-code"]
PRICES = ["--rates", "demo", "--terms", "demo"]


def test_select_sites_by_value_meets_the_target_with_eligible_assets(tmp_path, capsys):
    out = tmp_path / "selection.gpkg"
    args = ["select-sites", *COMMON, *POLICY, *PRICES, "--revenue-target", "150000"]
    assert main([*args, "--time-limit", "5", "--out", str(out)]) == 0
    chosen = gpd.read_file(out, layer="selection")
    assert chosen["annual_value_central"].sum() >= 150_000
    assert chosen["asset_id"].is_unique
    allowed = planner.eligibility(
        planner.load_assets(DATA / "assets.gpkg"),
        planner.load_sites(DATA / "sites.gpkg"),
        planner.load_policy("uk-cap-code"),
    )
    general = allowed[(allowed["category"] == "general") & allowed["allowed"]]
    assert set(chosen["asset_id"]) <= set(general["asset_id"])
    assert "modelled estimate" in capsys.readouterr().out


def test_select_sites_by_reach_counts_the_residents_it_reaches(tmp_path, capsys):
    out = tmp_path / "reach.gpkg"
    args = ["select-sites", "--objective", "reach", *COMMON, "--n-sites", "3", "--walk-m", "300"]
    assert main([*args, "--time-limit", "3", "--out", str(out)]) == 0
    chosen = gpd.read_file(out, layer="selection")
    assert len(chosen) == 3
    zones = planner.load_zones(DATA / "zones.gpkg")
    crs = planner.metric_crs(zones)
    points = zones.to_crs(crs).geometry.representative_point().to_numpy()
    sites = chosen.to_crs(crs).geometry.to_numpy()
    near = np.array([min(shapely.distance(p, s) for s in sites) <= 300 for p in points])
    reached = zones.loc[near, "population"].sum()
    assert f"put {reached:,.0f} of" in capsys.readouterr().out


def test_select_sites_says_why_when_no_selection_meets_the_target(tmp_path, capsys):
    args = ["select-sites", *COMMON, *POLICY, *PRICES, "--revenue-target", "1e12"]
    assert main([*args, "--time-limit", "2", "--out", str(tmp_path / "x.gpkg")]) == 1
    text = capsys.readouterr().out
    assert "No selection meets the request" in text and "reachable" in text
    assert not (tmp_path / "x.gpkg").exists()


def test_select_sites_by_reach_needs_zones_and_a_count(tmp_path, capsys):
    args = ["select-sites", "--objective", "reach", "--assets", str(DATA / "assets.gpkg")]
    assert main([*args, "--out", str(tmp_path / "x.csv")]) == 2
    assert "needs --zones" in capsys.readouterr().err
