"""The shared test builders give what the loaders give, so tests built on them test real input."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from conftest import ORIGIN, make_assets, make_sites, make_zones

import planner


@pytest.mark.parametrize(
    ("build", "load"),
    [
        (lambda: make_assets([(0, 0), (120, 0)], digital=[True, False]), planner.load_assets),
        (lambda: make_sites([(0, 50), shapely.box(200, 0, 300, 100)]), planner.load_sites),
        (lambda: make_zones([(0, 0), (500, 0)], population=[800, 1200]), planner.load_zones),
    ],
    ids=["assets", "sites", "zones"],
)
def test_builders_match_what_the_loaders_return(build, load, tmp_path) -> None:
    built = build()
    path = tmp_path / "layer.gpkg"
    built.to_file(path)
    loaded = load(path)
    assert built.crs == loaded.crs == "EPSG:4326"
    assert list(built.columns) == list(loaded.columns)
    assert built.dtypes.astype(str).to_dict() == loaded.dtypes.astype(str).to_dict()
    pd.testing.assert_frame_equal(
        pd.DataFrame(built.drop(columns="geometry")), pd.DataFrame(loaded.drop(columns="geometry"))
    )
    assert built.geom_equals_exact(loaded.geometry, tolerance=1e-9).all()


def test_offsets_are_metres_from_the_origin_on_the_british_national_grid() -> None:
    assets = make_assets([(0, 0), (120, 0)]).to_crs("EPSG:27700")
    x0, y0 = ORIGIN
    assert assets.geometry.x.tolist() == pytest.approx([x0, x0 + 120], abs=0.01)
    assert assets.geometry.y.tolist() == pytest.approx([y0, y0], abs=0.01)
    assert assets.distance(assets.geometry.iloc[0]).tolist() == pytest.approx([0, 120], abs=0.01)


def test_defaults_and_per_row_values() -> None:
    assets = make_assets(3, price=[10, 20, 30], faces=2, status="unavailable", ward=["N", "S", "E"])
    assert assets["asset_id"].tolist() == ["A0", "A1", "A2"]
    assert assets["price_per_cycle"].tolist() == [10.0, 20.0, 30.0]
    assert assets["weekly_impacts"].tolist() == [100.0, 100.0, 100.0]
    assert assets["faces"].tolist() == [2, 2, 2] and assets["slots"].tolist() == [6, 6, 6]
    assert assets["ward"].tolist() == ["N", "S", "E"]
    assert set(assets["status"]) == {"unavailable"}
    spacing = assets.to_crs("EPSG:27700").geometry.x.diff().iloc[1:]
    assert spacing.tolist() == pytest.approx([100.0, 100.0], abs=0.01)
    sites = make_sites([(0, 0), (10, 0)], kind=["school", "place_of_worship"])
    assert sites["name"].tolist() == ["School 0", "Place of worship 1"]
    zones = make_zones([(0, 0), (0, 500)], population=[800, 1200])
    assert zones["zone_id"].tolist() == ["Z0", "Z1"]
    assert zones["population"].tolist() == [800.0, 1200.0]
