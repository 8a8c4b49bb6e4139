"""``value`` and ``plan`` options for what the library models: ``--traffic`` and ``--pricing``.

A bad value exits with code 2 and a message naming the flag, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main

# Two classic 48-sheets 2 km apart in Leeds (British National Grid), no price or audience
# in the file: the rate card and the audience model set both. B1 stands 40 m from a DfT
# count point of 60,000 vehicles a day; B2 is far from every count point.
ASSETS = """asset_id,asset_type,format,faces,easting,northing
B1,billboard,48-sheet,1,430040,434000
B2,billboard,48-sheet,1,432000,434000
"""
AADF = (
    "count_point_id,year,road_name,road_type,easting,northing,all_motor_vehicles\n"
    "7,2018,A58,Major,430000,434000,50000\n"
    "7,2019,A58,Major,430000,434000,60000\n"
)
CAMPAIGNS = """campaign_id,advertiser,category,budget,cycles,min_faces,max_faces
C1,Bank,general,50000,1,1,2
"""
POLICY = """name = "No gambling"
[[rules]]
id = "no-gambling"
type = "ban"
categories = ["gambling"]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The inputs above as files; returns name -> path."""
    texts = {"assets": ASSETS, "aadf": AADF, "campaigns": CAMPAIGNS, "bad": "a,b\n1,2\n"}
    paths = {"policy": str(tmp_path / "policy.toml")}
    Path(paths["policy"]).write_text(POLICY, encoding="utf-8")
    for name, text in texts.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    return paths


def _value(capsys, files: dict[str, str], out: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["value", "--assets", files["assets"], "--crs", "EPSG:27700", "--out", str(out)]
    code = main([*argv, *extra])
    printed, err = capsys.readouterr()
    assert "Traceback" not in printed + err
    return code, printed, err


def test_traffic_adds_the_vehicle_audience_of_the_nearest_count_point(capsys, files, tmp_path):
    plain, counted = tmp_path / "plain.csv", tmp_path / "counted.csv"
    assert _value(capsys, files, plain)[0] == 0
    code, out, _ = _value(capsys, files, counted, "--traffic", files["aadf"])
    assert code == 0
    without = pd.read_csv(plain).set_index("asset_id")["weekly_impacts"]
    with_traffic = pd.read_csv(counted).set_index("asset_id")["weekly_impacts"]
    # The latest year (60,000 vehicles a day) x 7 x 1.5 people x half facing x 0.55 visible.
    assert with_traffic["B1"] - without["B1"] == pytest.approx(60_000 * 7 * 1.5 * 0.5 * 0.55)
    assert with_traffic["B2"] == pytest.approx(without["B2"])
    assert "Traffic: 1 DfT count point(s) from aadf.csv" in out


def test_traffic_year_picks_that_years_count(capsys, files, tmp_path):
    latest, older = tmp_path / "latest.csv", tmp_path / "older.csv"
    _value(capsys, files, latest, "--traffic", files["aadf"])
    code, _, _ = _value(capsys, files, older, "--traffic", files["aadf"], "--traffic-year", "2018")
    assert code == 0
    gap = pd.read_csv(latest)["weekly_impacts"] - pd.read_csv(older)["weekly_impacts"]
    assert gap.iloc[0] == pytest.approx(10_000 * 7 * 1.5 * 0.5 * 0.55)


def test_pricing_rate_card_is_flat_and_cpt_follows_the_audience(capsys, files, tmp_path):
    flat, cpt = tmp_path / "flat.csv", tmp_path / "cpt.csv"
    argv = ("--traffic", files["aadf"])
    assert _value(capsys, files, flat, *argv, "--pricing", "rate-card")[0] == 0
    code, out, _ = _value(capsys, files, cpt, *argv, "--pricing", "cpt")
    assert code == 0
    flat_price = pd.read_csv(flat).set_index("asset_id")["price_per_cycle"]
    cpt_table = pd.read_csv(cpt).set_index("asset_id")
    assert flat_price.tolist() == [300.0, 300.0]  # uk-default 48-sheet rate
    # B1's ~170,000 weekly impacts x 2 weeks x £4.50 per 1,000 is far above the floor.
    assert cpt_table.loc["B1", "price_per_cycle"] > 1000
    assert cpt_table.loc["B1", "price_source"] == "cpt"
    assert cpt_table.loc["B2", "price_per_cycle"] >= 300.0
    assert "Pricing: cpt; 1 asset(s) priced by audience" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--traffic", "no-such-file.csv"], "error: --traffic no-such-file.csv: Cannot read"),
        (["--traffic", "{bad}"], "missing column(s) of a DfT annual average daily flow"),
        (["--traffic", "{aadf}", "--traffic-year", "1999"], "no count for 1999"),
        (["--traffic-year", "2019"], "error: --traffic-year needs --traffic FILE"),
    ],
)
def test_bad_traffic_input_exits_2_naming_the_flag(capsys, files, tmp_path, extra, message):
    extra = [item.format(**files) for item in extra]
    code, _, err = _value(capsys, files, tmp_path / "v.csv", *extra)
    assert code == 2
    assert message in err
    if "--traffic " in " ".join(extra):
        assert "--traffic" in err


def test_unknown_pricing_is_a_usage_error_naming_the_flag(capsys, files, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        _value(capsys, files, tmp_path / "v.csv", "--pricing", "auction")
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert "--pricing" in err and "'cpt'" in err and "'rate-card'" in err


def test_plan_takes_traffic_and_pricing(capsys, files, tmp_path):
    out = tmp_path / "plan.gpkg"
    argv = ["plan", "--assets", files["assets"], "--crs", "EPSG:27700"]
    argv += ["--policy", files["policy"], "--campaigns", files["campaigns"], "--out", str(out)]
    argv += ["--traffic", files["aadf"], "--pricing", "rate-card", "--time-limit", "5"]
    code = main(argv)
    printed, err = capsys.readouterr()
    assert "Traceback" not in printed + err
    assert code == 0, err
    # Flat pricing: two faces at the £300 48-sheet rate at most, so sales are at most £600.
    assert "gross sales: 600 GBP" in printed or "gross sales: 300 GBP" in printed
    with pytest.raises(SystemExit):
        main([*argv[:-6], "--pricing", "nope"])
    assert "--pricing" in capsys.readouterr().err


def _road_extract(path: Path) -> str:
    """A one-way .osm extract: a trunk road passing 10 m from B2 (no count point near B2)."""
    from pyproj import Transformer

    to_degrees = Transformer.from_crs(27700, 4326, always_xy=True)
    nodes = [to_degrees.transform(x, 434010) for x in (431900, 432100)]
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        + "".join(
            f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n'
            for i, (lon, lat) in enumerate(nodes, start=1)
        )
        + '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="highway" v="trunk"/></way>\n</osm>\n',
        encoding="utf-8",
    )
    return str(path)


def test_roads_give_faces_without_a_count_the_road_class_proxy(capsys, files, tmp_path):
    roads = _road_extract(tmp_path / "roads.osm")
    out = tmp_path / "values.csv"
    code, printed, _ = _value(capsys, files, out, "--traffic", files["aadf"], "--roads", roads)
    assert code == 0
    table = pd.read_csv(out).set_index("asset_id")
    assert table.loc["B1", "vehicle_source"] == "modelled (DfT traffic count)"
    assert table.loc["B2", "vehicle_source"] == "modelled (road-class proxy)"
    assert table.loc["B2", "vehicle_aadf"] == 18_700
    assert "Roads: 1 OpenStreetMap road(s) from roads.osm" in printed
    assert "1 roadside face(s) without a count take the flow of their road's class" in printed
    code, _, err = _value(capsys, files, tmp_path / "v.csv", "--roads", files["aadf"])
    assert code == 2
    assert f"error: --roads {files['aadf']}:" in err
