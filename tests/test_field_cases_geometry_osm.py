"""Field cases of issue 13 on geometry and OpenStreetMap (``../shared/field``, never copied).

case19: 3-D points and MultiPoints; case10: bus stops in the current public-transport scheme
only; case11: one shelter mapped three ways. Skipped when the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.io.osm import import_osm

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"


def _case(name: str) -> Path:
    path = FIELD / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (field cases live in ../shared/field)")
    return path


def test_case19_the_second_panel_of_a_multipoint_near_a_school_is_refused_alcohol():
    assets = planner.load_assets(_case("case19_pointz_multipoint.geojson"))
    sites = planner.load_sites(_case("case19_sites.csv"))
    assert assets["asset_id"].tolist() == ["TOT-1", "TOT-2", "PAIR-3#1", "PAIR-3#2"]
    assert not assets.geometry.has_z.any()
    table = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    alcohol = table[table["category"] == "alcohol"].set_index("asset_id")
    assert not alcohol.loc["PAIR-3#2", "allowed"]
    assert alcohol.loc["PAIR-3#2", "reasons"] == (
        "cap-schools-100m: Second Example School (school, site S2) at 17.2 m"
    )
    assert alcohol.loc["PAIR-3#1", "allowed"]  # 1 km away
    warnings = [p.found for p in assets.attrs["report"].warnings]
    assert any(w.startswith("1 MultiPoint asset(s) split into 2 assets") for w in warnings)
    assert not any("line or polygon" in w for w in warnings)


def test_case10_platform_only_stops_are_all_imported():
    assets, _ = import_osm(_case("case10_osm_ptv2_platform_only.osm"))
    types = dict(zip(assets["name"], assets["asset_type"], strict=True))
    assert types == {
        "Example Platz": "bus_shelter",
        "Example Strasse": "bus_stop",
        "Legacy Tagged Stop": "bus_stop",
    }
    report = assets.attrs["import_report"]
    assert report.produced["assets"]["public_transport=platform bus=yes"] == 1
    assert report.produced["assets"]["public_transport=platform bus=yes shelter=yes"] == 1


def test_case11_one_shelter_mapped_three_ways_is_one_asset_with_two_faces():
    assets, _ = import_osm(_case("case11_osm_shelter_mapped_twice.osm"))
    assert len(assets) == 1
    row = assets.iloc[0]
    assert (row["asset_type"], row["faces"], row["name"]) == ("bus_shelter", 2, "Example Road")
    report = assets.attrs["import_report"]
    assert len(report.merged) == 1 and "3 m apart" in report.merged[0]
    assert sum(report.skipped["assets"].values()) == 1  # the stop_position
