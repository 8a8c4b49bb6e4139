"""OpenStreetMap as mapped today: the public-transport scheme, stops mapped several times,
lifecycle tags and objects that carry no advertising, each in a tiny hand-written .osm file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.io.osm import STOP_MERGE_M, import_osm, import_osm_layers

# About 1.11e-5 degrees of latitude per metre.
M = 1 / 111_320


def _osm(tmp_path: Path, nodes: list[tuple[int, float, dict[str, str]]]) -> Path:
    """Write nodes ``(id, metres north of 51.5 N 0.1 W, tags)`` as an .osm file."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node_id, north, tags in nodes:
        lines.append(f'<node id="{node_id}" version="1" lat="{51.5 + north * M:.7f}" lon="-0.1">')
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</node>")
    lines.append("</osm>")
    path = tmp_path / "extract.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _assets(tmp_path, nodes):
    assets, _ = import_osm(_osm(tmp_path, nodes))
    return assets.set_index("asset_id"), assets.attrs["import_report"]


PLATFORM = {"public_transport": "platform", "bus": "yes"}
SHELTER = {"amenity": "shelter", "shelter_type": "public_transport"}


# --- the public-transport scheme ----------------------------------------------------------


def test_platforms_tagged_only_with_the_current_scheme_are_bus_stops(tmp_path):
    assets, report = _assets(
        tmp_path,
        [
            (1, 0, PLATFORM | {"shelter": "yes", "name": "Platz"}),
            (2, 500, PLATFORM),
            (3, 1000, {"public_transport": "platform", "trolleybus": "yes"}),
            (4, 1500, {"public_transport": "platform", "train": "yes"}),  # a railway platform
        ],
    )
    assert assets["asset_type"].to_dict() == {
        "osm-n1": "bus_shelter",
        "osm-n2": "bus_stop",
        "osm-n3": "bus_stop",
    }
    assert assets.loc["osm-n1", "faces"] == 2
    assert report.produced["assets"] == {
        "public_transport=platform bus=yes shelter=yes": 1,
        "public_transport=platform bus=yes": 1,
        "public_transport=platform trolleybus=yes": 1,
    }


def test_platforms_count_as_bus_stops_for_the_audience_but_stop_positions_do_not(tmp_path):
    transit = import_osm_layers(
        _osm(
            tmp_path,
            [
                (1, 0, PLATFORM),
                (2, 200, {"public_transport": "stop_position", "highway": "bus_stop"}),
            ],
        ),
        layers=["transit"],
    )["transit"]
    assert transit[["transit_id", "kind"]].values.tolist() == [["osm-n1", "bus_stop"]]


def test_a_stop_position_is_not_an_asset_even_tagged_as_a_bus_stop(tmp_path):
    assets, report = _assets(
        tmp_path,
        [(1, 0, {"public_transport": "stop_position", "highway": "bus_stop", "bus": "yes"})],
    )
    assert assets.empty
    assert report.skipped["assets"] == {
        "public_transport=stop_position (the road position, not the stop)": 1
    }


# --- one stop mapped several times ------------------------------------------------------


def test_a_shelter_mapped_beside_its_stop_becomes_one_asset(tmp_path):
    assets, report = _assets(
        tmp_path,
        [
            (1, 0, {"highway": "bus_stop", "shelter": "yes", "name": "Example Road"}),
            (2, 4, SHELTER | {"advertising": "poster_box"}),
            (3, 2, {"public_transport": "stop_position", "highway": "bus_stop"}),
        ],
    )
    assert list(assets.index) == ["osm-n1"]
    stop = assets.loc["osm-n1"]
    assert (stop["asset_type"], stop["faces"], stop["merged_osm"]) == ("bus_shelter", 2, "node 2")
    assert stop.geometry.y == pytest.approx(51.5 + 4 * M)  # where the shelter stands
    assert report.merged == [
        "osm-n2 (public-transport shelter) into osm-n1 (highway=bus_stop shelter=yes, "
        "'Example Road'), 4 m apart"
    ]
    assert "1 public-transport shelter(s) merged" in report.to_text()


def test_a_shelter_beyond_the_merge_distance_stays_an_asset_of_its_own(tmp_path):
    assert STOP_MERGE_M == 15.0
    assets, report = _assets(tmp_path, [(1, 0, {"highway": "bus_stop"}), (2, 20, SHELTER)])
    assert assets["asset_type"].to_dict() == {"osm-n1": "bus_stop", "osm-n2": "bus_shelter"}
    assert report.merged == []


def test_a_shelter_joins_its_nearest_stop_and_stops_are_never_merged(tmp_path):
    # Stops on the two sides of a road 12 m apart; the shelter is 2 m from the second.
    assets, report = _assets(
        tmp_path,
        [(1, 0, {"highway": "bus_stop"}), (2, 12, {"highway": "bus_stop"}), (3, 14, SHELTER)],
    )
    assert assets["asset_type"].to_dict() == {"osm-n1": "bus_stop", "osm-n2": "bus_shelter"}
    assert len(report.merged) == 1 and report.merged[0].startswith("osm-n3")


def test_a_stop_takes_one_shelter_only(tmp_path):
    assets, _ = _assets(
        tmp_path, [(1, 0, {"highway": "bus_stop"}), (2, 3, SHELTER), (3, 8, SHELTER)]
    )
    assert assets["asset_type"].to_dict() == {"osm-n1": "bus_shelter", "osm-n3": "bus_shelter"}


# --- lifecycle ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({"highway": "bus_stop", "physically_present": "no"}, "physically_present=no"),
        ({"highway": "bus_stop", "hail_and_ride": "yes"}, "hail-and-ride stop"),
        ({"highway": "bus_stop", "bus_stop": "hail_and_ride"}, "hail-and-ride stop"),
        (PLATFORM | {"physically_present": "no"}, "physically_present=no"),
        ({"abandoned:highway": "bus_stop"}, "abandoned:highway=bus_stop"),
        ({"construction:advertising": "billboard"}, "construction:advertising=billboard"),
        ({"proposed:highway": "bus_stop", "shelter": "yes"}, "proposed:highway=bus_stop"),
        ({"was:amenity": "shelter", "shelter_type": "public_transport"}, "was:amenity=shelter"),
        ({"advertising": "column", "proposed": "yes"}, "proposed=yes"),
        ({"highway": "bus_stop", "abandoned": "yes"}, "abandoned=yes"),
    ],
)
def test_objects_not_on_the_street_give_no_asset(tmp_path, tags, reason):
    assets, report = _assets(tmp_path, [(1, 0, tags)])
    assert assets.empty
    (skipped,) = report.skipped["assets"]
    assert skipped.startswith(reason)


@pytest.mark.parametrize(
    ("tags", "asset_type"),
    [
        ({"disused:highway": "bus_stop", "shelter": "yes"}, "bus_shelter"),
        ({"highway": "bus_stop", "disused": "yes"}, "bus_stop"),
        ({"disused:advertising": "billboard"}, "billboard"),
    ],
)
def test_disused_objects_are_unavailable_assets(tmp_path, tags, asset_type):
    assets, report = _assets(tmp_path, [(1, 0, tags)])
    assert (assets.loc["osm-n1", "asset_type"], assets.loc["osm-n1", "status"]) == (
        asset_type,
        "unavailable",
    )
    assert next(iter(report.produced["assets"])).startswith("disused")


def test_a_live_stop_with_a_disused_shelter_key_is_still_a_stop(tmp_path):
    assets, _ = _assets(tmp_path, [(1, 0, {"highway": "bus_stop", "disused:shelter": "yes"})])
    assert (assets.loc["osm-n1", "asset_type"], assets.loc["osm-n1", "status"]) == (
        "bus_stop",
        "available",
    )


# --- objects that carry no advertising ------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({"amenity": "telephone"}, "amenity=telephone without an advertising tag"),
        (
            {"amenity": "notice_board", "advertising": "board", "operator": "Example Council"},
            "notice board (amenity=notice_board) without message=commercial",
        ),
        (
            {"tourism": "information", "information": "board", "advertising": "screen"},
            "information board (tourism=information) without message=commercial",
        ),
        ({"advertising": "board", "message": "local"}, "message=local (no commercial advertising)"),
        ({"advertising": "screen", "message": "map"}, "message=map (no commercial advertising)"),
        ({"highway": "street_lamp", "advertising": "no"}, "advertising=no"),
        ({"highway": "bus_stop", "shelter": "yes", "advertising": "no"}, "advertising=no"),
    ],
)
def test_objects_without_advertising_are_not_assets(tmp_path, tags, reason):
    assets, report = _assets(tmp_path, [(1, 0, tags)])
    assert assets.empty
    assert report.skipped["assets"] == {reason: 1}


@pytest.mark.parametrize(
    ("tags", "asset_type", "fmt"),
    [
        ({"amenity": "telephone", "advertising": "poster_box"}, "poster_box", "6-sheet"),
        (
            {"information": "board", "advertising": "screen", "message": "commercial"},
            "digital_screen",
            "d6",
        ),
        ({"advertising": "board"}, "other", "other"),
    ],
)
def test_objects_tagged_as_carrying_advertising_are_assets(tmp_path, tags, asset_type, fmt):
    assets, _ = _assets(tmp_path, [(1, 0, tags)])
    assert (assets.loc["osm-n1", "asset_type"], assets.loc["osm-n1", "format"]) == (asset_type, fmt)


# --- the import report ----------------------------------------------------------------------


def test_the_report_counts_each_rule_and_each_skip_reason(tmp_path):
    _, report = _assets(
        tmp_path,
        [
            (1, 0, {"highway": "bus_stop"}),
            (2, 300, {"highway": "bus_stop"}),
            (3, 600, {"advertising": "billboard"}),
            (4, 900, {"amenity": "telephone"}),
            (5, 1200, {"amenity": "telephone"}),
            (6, 1500, {"public_transport": "stop_position", "bus": "yes", "highway": "bus_stop"}),
        ],
    )
    assert report.produced["assets"] == {"highway=bus_stop": 2, "advertising=billboard": 1}
    assert report.skipped["assets"] == {
        "amenity=telephone without an advertising tag": 2,
        "public_transport=stop_position (the road position, not the stop)": 1,
    }
    text = report.to_text()
    assert "     2  from highway=bus_stop" in text
    assert "     2  skipped: amenity=telephone without an advertising tag" in text
