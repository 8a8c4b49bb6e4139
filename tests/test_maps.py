"""Maps: status and campaign colours, popups, escaping, local assets, tiles, scale."""

from __future__ import annotations

import re
import subprocess
import sys

import folium
import folium.plugins
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ORIGIN, make_assets, make_points, make_sites, make_zones
from pyproj import Transformer

import planner
from planner.errors import PlannerError
from planner.maps import web_resources as mapassets
from planner.maps.layers import choropleth, format_cycles, safe_json, text_column
from planner.maps.render import OFFLINE_NOTE, asset_map, localise_map, map_html, save_map
from planner.maps.view import asset_status, asset_view

EVIL = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
SRC = re.compile(r'<(?:script|link)[^>]*?(?:src|href)="([^"]*)"')


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(mapassets.ASSETS_ENV, raising=False)
    monkeypatch.delenv(mapassets.TILES_ENV, raising=False)


def make_eligibility(refused: dict[tuple[str, str], str], ids, cats=("alcohol", "general")):
    rows = [
        (a, c, (a, c) not in refused, refused.get((a, c), ""), "r1" if (a, c) in refused else "")
        for a in ids
        for c in cats
    ]
    return pd.DataFrame(rows, columns=["asset_id", "category", "allowed", "reasons", "rule_ids"])


def make_placements(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["asset_id", "campaign_id", "cycle", "category"])


def sources(html: str) -> list[str]:
    return SRC.findall(html)


# --- status and campaign colours ---------------------------------------------------------


def test_status_precedence_booked_unavailable_restricted_eligible():
    assets = make_assets(4, status=["available", "unavailable", "available", "available"])
    elig = make_eligibility(
        {("A0", "alcohol"): "near school", ("A2", "alcohol"): "x"}, assets.asset_id
    )
    plan = make_placements([("A0", "C1", 1, "general")])

    status = asset_status(assets, eligibility=elig, placements=plan)

    assert status.tolist() == ["booked", "unavailable", "restricted", "eligible"]


def test_category_decides_restriction_and_unknown_category_is_refused():
    assets = make_assets(2)
    elig = make_eligibility({("A0", "alcohol"): "near school"}, assets.asset_id)

    assert asset_status(assets, eligibility=elig, category="general").tolist() == ["eligible"] * 2
    assert asset_status(assets, eligibility=elig, category="alcohol")[0] == "restricted"
    with pytest.raises(PlannerError, match=r"category='gambling'.*alcohol, general"):
        asset_status(assets, eligibility=elig, category="gambling")


def test_without_eligibility_assets_are_available_not_eligible():
    assert set(asset_status(make_assets(3))) == {"available"}


def test_campaign_layers_hold_every_asset_each_campaign_books():
    plan = make_placements(
        [("A0", "small", 1, "general"), ("A1", "big", 1, "general"), ("A2", "big", 2, "general"),
         ("A1", "small", 3, "general")]
    )  # fmt: skip
    view = asset_view(make_assets(4), placements=plan, color_by="campaign")

    assert [(c.label, c.count) for c in view.classes] == [
        ("big", 2), ("small", 2), ("not booked", 1)
    ]  # fmt: skip
    assert view.data["members"] == [[1, 2], [0, 1], [3]]


def test_campaigns_beyond_the_palette_share_one_class():
    plan = make_placements([(f"A{i}", f"C{i:02d}", 1, "general") for i in range(14)])
    view = asset_view(make_assets(14), placements=plan, color_by="campaign")

    assert len(view.classes) == 13 and view.classes[-1].label == "other campaigns"
    assert view.classes[-1].count == 2


def test_bad_color_by_and_missing_columns_are_plain_errors():
    with pytest.raises(PlannerError, match="color_by='size'"):
        asset_view(make_assets(1), color_by="size")
    with pytest.raises(PlannerError, match=r"'eligibility' lacks column.*allowed"):
        asset_status(
            make_assets(1), eligibility=pd.DataFrame({"asset_id": ["A0"], "category": ["x"]})
        )


# --- popup data ----------------------------------------------------------------------------


def test_popup_data_has_every_refusal_reason_and_rule():
    assets = make_assets(3)
    elig = make_eligibility(
        {("A0", "alcohol"): "60 m from St Mary's", ("A1", "alcohol"): "60 m from St Mary's"},
        assets.asset_id,
    )
    elig_data = asset_view(assets, eligibility=elig).data["elig"]

    assert elig_data["cats"] == ["alcohol", "general"]
    (cat, allowed, reason, rule), general = elig_data["profiles"][elig_data["p"][0]]
    assert (elig_data["cats"][cat], allowed, general) == ("alcohol", 0, [1, 1])
    assert elig_data["reasons"][reason] == "60 m from St Mary's"
    assert elig_data["rules"][rule] == "r1"
    assert elig_data["p"][0] == elig_data["p"][1] != elig_data["p"][2]  # profiles shared


def test_popup_bookings_list_campaign_cycles_and_category():
    plan = make_placements(
        [("A0", "C1", c, "hfss") for c in (1, 2, 3, 5)] + [("A0", "C2", 9, "general")]
    )
    book = asset_view(make_assets(2), placements=plan).data["book"]

    assert book["b"][0] == [[0, "1-3;5", "hfss"], [1, "9", "general"]]
    assert book["camps"] == ["C1", "C2"] and book["b"][1] is None


def test_modelled_impacts_are_flagged_and_values_shown():
    assets = make_assets(2)
    values = pd.DataFrame(
        {"asset_id": ["A1", "A0"], "weekly_impacts": [1200.4, 5000.0],
         "impacts_source": ["modelled", "measured"], "price_per_cycle": [250.0, 410.5],
         "currency": "GBP", "annual_value_central": [6500.0, 10673.0]}
    )  # fmt: skip
    cols = {c["label"]: c for c in asset_view(assets, values=values).data["cols"]}

    impacts = cols["Weekly impacts"]
    assert impacts["v"] == [5000, 1200] and impacts["flag"] == [0, 1]
    assert impacts["flagText"] == "modelled estimate"
    assert cols["Price per cycle"]["v"] == [410.5, 250]
    assert "Annual media value (central estimate)" in cols


def test_duplicate_values_rows_are_refused():
    values = pd.DataFrame({"asset_id": ["A0", "A0"], "weekly_impacts": [1.0, 2.0]})
    with pytest.raises(PlannerError, match=r"more than one row for asset.*A0"):
        asset_view(make_assets(1), values=values)


# --- escaping ------------------------------------------------------------------------------


def test_hostile_names_never_become_markup(tmp_path):
    assets = make_assets(2, name=EVIL)
    sites = make_sites([(0, 100)], site_id="S1", name=EVIL[0])
    plan = pd.DataFrame({"asset_id": ["A0"], "campaign_id": [EVIL[1]], "campaign_name": EVIL[0]})
    zones = make_points(
        [shapely.Point(0, 100).buffer(100)], rule_id=EVIL[1], kind="school", site_id="S1"
    )
    m = asset_map(assets, sites=sites, placements=plan, exclusion_zones=zones,
                  color_by="campaign", tiles="none")  # fmt: skip
    text = save_map(m, tmp_path / "evil.html").read_text(encoding="utf-8")

    assert "<img" not in text
    assert "<script>alert" not in text
    # Layer names go through Leaflet's innerHTML, so they are entity-escaped first.
    assert "Exclusion zone: \\u0026quot;\\u0026gt;\\u0026lt;img" in text


def test_safe_json_cannot_close_a_script_element():
    text = safe_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text


# --- local assets (issue 9) -----------------------------------------------------------------


def test_local_mode_inlines_every_script_and_stylesheet():
    html = map_html(asset_map(make_assets(4), tiles="none", assets_mode="local"))

    assert sources(html) and all(s.startswith("data:") for s in sources(html))
    assert "jquery" not in html.lower()
    assert "bootstrap" not in html.lower()
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html


def test_inlined_leaflet_is_1_9_3_with_its_images():
    css = mapassets.local_resource("leaflet_css")
    js = mapassets.local_resource("leaflet")
    import base64

    css_text = base64.b64decode(css.split(",", 1)[1]).decode()
    js_text = base64.b64decode(js.split(",", 1)[1]).decode()
    assert "Leaflet 1.9.3" in js_text and "sourceMappingURL" not in js_text
    assert "url(images/" not in css_text and "data:image/png;base64," in css_text


def test_cdn_mode_keeps_folium_links_and_env_var_chooses_it(monkeypatch):
    assets = make_assets(4)
    html = map_html(asset_map(assets, tiles="none", assets_mode="cdn"), assets_mode="cdn")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in sources(html)

    monkeypatch.setenv(mapassets.ASSETS_ENV, "cdn")
    m = asset_map(assets, tiles="none")
    assert any(s.startswith("https://") for s in sources(map_html(m)))


def test_bad_env_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(mapassets.ASSETS_ENV, "offline")
    with pytest.raises(PlannerError, match=r"PLANNER_MAP_ASSETS.*'offline'.*auto, local, cdn"):
        asset_map(make_assets(4), tiles="none")


def test_plugins_from_packages_are_inlined_and_others_warn_in_local_mode():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    assert localise_map(m, assets_mode="local") == []
    assert all(s.startswith("data:") for s in sources(map_html(m, assets_mode="local")))

    with_popup = folium.Map(tiles=None)
    folium.Marker([51.5, -0.1], popup=folium.Popup("hi")).add_to(with_popup)
    assert any("jquery" in u for u in localise_map(with_popup, assets_mode="auto"))
    with pytest.warns(UserWarning, match="jquery"):
        localise_map(with_popup, assets_mode="local")


def test_localising_one_map_leaves_folium_defaults_alone():
    localise_map(folium.Map(tiles=None), assets_mode="local")
    assert folium.Map.default_js[0][1].startswith("https://")


def test_maps_module_alone_imports_folium_and_nothing_imports_streamlit():
    code = (
        "import sys, planner.maps.web_resources, planner.maps.layers, planner.maps.view\n"
        "assert 'folium' not in sys.modules, 'folium imported outside planner.maps.render'\n"
        "import planner.maps.render\n"
        "assert 'streamlit' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- tiles ----------------------------------------------------------------------------------


def test_no_tiles_draws_a_plain_background_with_a_note():
    html = map_html(asset_map(make_assets(4), tiles="none"))
    assert "tile.openstreetmap.org" not in html
    assert safe_json(OFFLINE_NOTE) in html
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in html  # data attribution stays


def test_osm_tiles_carry_attribution():
    html = map_html(asset_map(make_assets(4), tiles="osm"))
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in html


def test_auto_tiles_fall_back_when_the_tile_server_is_unreachable(monkeypatch):
    monkeypatch.setattr(mapassets, "tiles_reachable", lambda: False)
    assert mapassets.resolve_tiles("auto") == "none"
    monkeypatch.setattr(mapassets, "tiles_reachable", lambda: True)
    assert mapassets.resolve_tiles(None) == "osm"


# --- layers, bounds, saving ----------------------------------------------------------------


def test_layers_legend_and_bounds():
    assets = make_assets(3, crs="EPSG:27700")  # reprojected back to lon/lat for the map
    zones = make_zones(
        [shapely.box(-700, -1100, 0, 0), shapely.box(0, -1100, 700, 0)],
        zone_id=["Z1", "Z2"],
        population=[1500.0, 3000.0],
    )
    reach = pd.DataFrame({"campaign_id": ["C1"], "zone_id": ["Z2"]})
    m = asset_map(assets, zones=zones, reach=reach, tiles="none")
    html = map_html(m)

    assert "Demand (population)" in html and "Reach: C1" in html
    assert "PlannerMap.legend(" in html and "L.control.layers(" in html
    fit = next(c for c in m._children.values() if isinstance(c, folium.map.FitBounds))
    (south, west), (north, east) = fit.bounds
    # The assets' own extent (A0 to A2, 200 m along the grid), not the larger zones'.
    to_lonlat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform([ORIGIN[0], ORIGIN[0] + 200], [ORIGIN[1], ORIGIN[1]])
    assert (south, north) == pytest.approx((min(lat), max(lat)), abs=1e-7)
    assert (west, east) == pytest.approx((lon[0], lon[1]), abs=1e-7)


def test_value_map_colours_assets_by_annual_value():
    assets = make_assets(6)
    values = pd.DataFrame(
        {"asset_id": assets["asset_id"], "annual_value_central": [10, 20, 30, 40, 500, np.nan]}
    )
    view = asset_view(assets, values=values, color_by="value")
    # Classes grow by a constant ratio (10 to 500: x2.19 each, empty ones left out); the
    # missing value first.
    assert [c.key for c in view.classes] == ["none", "value", "value", "value"]
    assert view.data["members"] == [[5], [0, 1], [2, 3], [4]]
    assert [c.label for c in view.classes][1] == "10 – 22"
    html = map_html(asset_map(assets, values=values, color_by="value", tiles="none"))
    assert "Assets by annual value (central estimate, a year)" in html
    with pytest.raises(PlannerError, match="color_by='value' needs values"):
        asset_view(assets, color_by="value")


def test_adding_to_an_existing_map_keeps_its_layer_control_last():
    m = folium.Map(tiles=None)
    folium.LayerControl().add_to(m)
    asset_map(make_assets(4), m=m, assets_mode="local")
    html = map_html(m)

    assert html.count("L.control.layers(") == 1
    assert html.index("PlannerMap.assetLayer(") < html.index("L.control.layers(")


def test_save_map_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "maps" / "m.html"
    target.parent.mkdir()
    target.write_text("old")
    save_map(asset_map(make_assets(4), tiles="none"), target)

    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["m.html"]


def test_assets_need_a_crs():
    assets = make_assets(2).set_crs(None, allow_override=True)
    with pytest.raises(PlannerError, match="'assets' must have a CRS"):
        asset_map(assets, tiles="none")


# --- small helpers ---------------------------------------------------------------------------


def test_format_cycles_round_trips_runs():
    assert format_cycles([7, 1, 2, 3, 3]) == "1-3;7"


def test_choropleth_quantile_classes_and_no_data():
    index, classes = choropleth(pd.Series([10.0, 20.0, 30.0, None]), n_classes=2)
    assert index.tolist() == [0, 1, 1, 2]
    assert [c.label for c in classes] == ["10 – 20", "20 – 30", "no data"]


def test_text_column_dictionary_encodes_repeats_only():
    assert "d" in text_column(["a", "b"] * 5) and "v" in text_column(["a", "b", "c"])


# --- scale ------------------------------------------------------------------------------------


def big_scene(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    assets = make_assets(
        np.column_stack([rng.random(n) * 55_000, rng.random(n) * 44_000]),
        asset_id=[f"LB{i:06d}" for i in range(n)],
        name=[f"{i} High Street opposite the library" for i in range(n)],
        asset_type=rng.choice(["bus_shelter", "lamp_column", "kiosk"], n),
        format=rng.choice(["6-sheet", "48-sheet", "d6"], n), faces=2,
        digital=rng.random(n) < 0.2, ward=rng.choice(list("ABCDEFGHIJ"), n),
        status=np.where(rng.random(n) < 0.03, "unavailable", "available"),
    )  # fmt: skip
    cats = ["alcohol", "gambling", "hfss", "payday_loans", "tobacco_vaping", "fossil_fuels",
            "political", "adult", "general"]  # fmt: skip
    elig = pd.DataFrame(
        {"asset_id": np.repeat(assets["asset_id"], len(cats)), "category": cats * n}
    )
    refused = (rng.random(len(elig)) < 0.08) & (elig["category"] != "general").to_numpy()
    site = pd.Series(rng.integers(1, 3000, len(elig))).astype(str).to_numpy()
    elig["allowed"] = ~refused
    elig["reasons"] = np.where(refused, "cap-schools-100m: school, site " + site + " at 63 m", "")
    elig["rule_ids"] = np.where(refused, "cap-schools-100m", "")
    booked = rng.choice(assets["asset_id"], 2000, replace=False)
    plan = make_placements([(a, f"C{i % 40}", c, "general") for i, a in enumerate(booked)
                            for c in (1, 2, 3)])  # fmt: skip
    values = pd.DataFrame(
        {"asset_id": assets["asset_id"], "weekly_impacts": rng.integers(500, 90000, n) * 1.0,
         "impacts_source": "modelled", "price_per_cycle": rng.integers(80, 3000, n) * 1.0,
         "currency": "GBP", "annual_value_central": rng.integers(1000, 60000, n) * 1.0}
    )  # fmt: skip
    return {"assets": assets, "eligibility": elig, "placements": plan, "values": values}


@pytest.mark.slow
def test_twenty_thousand_assets_render_under_ten_megabytes(tmp_path):
    scene = big_scene(20_000)
    path = save_map(asset_map(**scene, tiles="none", assets_mode="local"), tmp_path / "big.html")
    size = path.stat().st_size

    assert size < 10_000_000
    assert path.read_text(encoding="utf-8").count("PlannerMap.assetLayer(") == 4


# --- command line ------------------------------------------------------------------------------


def test_cli_map_writes_an_offline_html_file(tmp_path, capsys):
    from planner.cli import main

    assets = make_assets(3)
    assets.to_file(tmp_path / "assets.gpkg")
    out = tmp_path / "map.html"

    code = main(["map", "--assets", str(tmp_path / "assets.gpkg"), "--tiles", "none",
                 "--out", str(out)])  # fmt: skip

    assert code == 0 and "Wrote" in capsys.readouterr().out
    assert all(s.startswith("data:") for s in sources(out.read_text(encoding="utf-8")))


def test_cli_map_category_needs_a_policy(tmp_path, capsys):
    from planner.cli import main

    make_assets(1, asset_type="kiosk").to_file(tmp_path / "a.gpkg")
    code = main(["map", "--assets", str(tmp_path / "a.gpkg"), "--category", "alcohol",
                 "--out", str(tmp_path / "m.html")])  # fmt: skip

    assert code == 2 and "--category needs --policy" in capsys.readouterr().err


def test_placements_without_campaign_ids_are_refused_by_name():
    assets = planner.load_assets(planner.DATA_DIR / "assets.gpkg")
    placements = pd.DataFrame({"asset_id": [assets["asset_id"].iloc[0]], "cycle": [1]})
    with pytest.raises(planner.PlannerError, match=r"lacks column.*campaign_id"):
        planner.asset_map(assets, placements=placements)
