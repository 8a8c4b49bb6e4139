"""What the planner's files carry for other tools: QGIS styles, GeoParquet, their schema.

Every GeoPackage gets a ``layer_styles`` table whose QML and SLD name the layer's real
fields in the Folium maps' colours; the placements are also GeoParquet; the README
documents every column of every layer the demo exports. Where Debian's QGIS Python
bindings are installed, QGIS itself opens the demo's GeoPackage headless.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from branca.colormap import linear
from conftest import make_assets, make_sites

import planner
from planner.io.layer_styles import STYLE_TABLE, layer_style
from planner.maps.layers import choropleth
from planner.maps.view import asset_view
from planner.styles import (
    CAMPAIGN_PALETTE,
    EXCLUSION_LINE_COLOUR,
    OTHER_COLOUR,
    SITE_FILL_COLOUR,
    class_colours,
)

ROOT = Path(__file__).resolve().parents[1]
SLD = "{http://www.opengis.net/sld}"
SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's, which python3-qgis installs into


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "planner", "demo", "--out", str(out), "--time-limit", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def _styles(path: Path) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=STYLE_TABLE)


def _layers(path: Path) -> list[str]:
    return [name for name, _ in pyogrio.list_layers(path) if name != STYLE_TABLE]


def _qml_fields(qml: ET.Element) -> set[str]:
    """Fields the QML names: aliases, the renderer's field, fields in rule expressions."""
    named = {a.get("field") for a in qml.iter("alias")}
    renderer = qml.find("renderer-v2")
    if renderer is not None and renderer.get("attr"):
        named.add(renderer.get("attr"))
    for rule in qml.iter("rule"):
        named |= set(re.findall(r'"([^"]+)"', rule.get("filter", "")))
    return named


# --- the demo's GeoPackages ------------------------------------------------------------------


@pytest.mark.slow
def test_every_layer_of_the_demo_geopackages_has_a_style_naming_its_fields(demo_output):
    for name in ("plan.gpkg", "values.gpkg"):
        path = demo_output / name
        styles = _styles(path).set_index("f_table_name")

        assert sorted(styles.index) == sorted(_layers(path))
        for layer, style in styles.iterrows():
            info = pyogrio.read_info(path, layer=layer)
            fields = set(info["fields"])
            assert style["useAsDefault"]
            assert style["f_geometry_column"] == (info["geometry_name"] or "")
            qml = ET.fromstring(style["styleQML"])
            assert qml.tag == "qgis"
            assert {a.get("field") for a in qml.iter("alias")} == fields, layer
            assert _qml_fields(qml) <= fields, layer
            if not info["geometry_name"]:
                assert style["styleSLD"] == "" and qml.find("renderer-v2") is None
                continue
            sld = ET.fromstring(style["styleSLD"])
            assert sld.tag == f"{SLD}StyledLayerDescriptor"
            assert sld.find(f"{SLD}NamedLayer/{SE}Name").text == layer
            named = {p.text for p in sld.iter(f"{OGC}PropertyName")}
            assert named <= fields, layer
            assert sld.findall(f".//{SE}Rule"), layer


@pytest.mark.slow
def test_the_styles_draw_what_each_layer_is_about(demo_output):
    plan = _styles(demo_output / "plan.gpkg").set_index("f_table_name")
    values = _styles(demo_output / "values.gpkg").set_index("f_table_name")
    renderer = {
        layer: ET.fromstring(qml).find("renderer-v2")
        for layer, qml in [*plan["styleQML"].items(), *values["styleQML"].items()]
    }

    assert renderer["placements"].get("type") == "categorizedSymbol"
    assert renderer["placements"].get("attr") == "campaign_id"
    assert renderer["values"].get("type") == "graduatedSymbol"
    assert renderer["values"].get("attr") == "annual_value_central"
    assert renderer["sites"].get("type") == "RuleRenderer"  # the demo's sites mix points and areas
    hatch = renderer["exclusion_zones"].findall(".//Option[@name='style']")
    assert [o.get("value") for o in hatch] == ["solid", "b_diagonal"]
    assert renderer["campaigns"] is None and renderer["summary"] is None


@pytest.mark.slow
def test_placement_and_value_styles_match_the_folium_legend(demo_output):
    placements = gpd.read_file(demo_output / "plan.gpkg", layer="placements")
    values = gpd.read_file(demo_output / "values.gpkg", layer="values")
    qml = ET.fromstring(_styles(demo_output / "plan.gpkg").set_index("f_table_name").loc[
        "placements", "styleQML"
    ])  # fmt: skip
    drawn = {}
    for category in qml.iter("category"):
        symbol = qml.find(f".//symbols/symbol[@name='{category.get('symbol')}']")
        rgba = symbol.find(".//Option[@name='color']").get("value").split(",")
        drawn[category.get("label")] = "#" + "".join(f"{int(v):02x}" for v in rgba[:3])

    view = asset_view(values, placements=placements, color_by="campaign")
    legend = {c.label: c.colour for c in view.classes if c.key in ("campaign", "other")}
    assert drawn == legend

    values_qml = ET.fromstring(_styles(demo_output / "values.gpkg")["styleQML"].iloc[0])
    ranges = [(r.get("label"), r) for r in values_qml.iter("range")]
    _, classes = choropleth(values["annual_value_central"])
    assert [label for label, _ in ranges] == [c.label for c in classes if c.key != "nodata"]


def test_class_colours_are_the_maps_ylorrd_to_the_byte():
    for n in range(1, 12):
        scale = linear.YlOrRd_09.scale(0, max(n - 1, 1))
        assert class_colours(n) == [scale.rgb_hex_str(i) for i in range(n)]


# --- QGIS itself --------------------------------------------------------------------------------

PROBE = """
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    r = layer.renderer()
    out[name] = {"valid": layer.isValid(), "renderer": r.type() if r else None,
                 "aliases": layer.attributeAliases()}
    if r is not None and r.type() == "categorizedSymbol":
        out[name]["colours"] = [c.symbol().color().name() for c in r.categories()]
    if r is not None and r.type() == "singleSymbol":
        out[name]["fills"] = [l.properties().get("style") for l in r.symbol().symbolLayers()]
print(json.dumps(out), flush=True)
os._exit(0)  # PyQGIS often crashes tearing down at exit, after the work is done
"""


def _qgis_available() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    probe = [str(SYSTEM_PYTHON), "-c", "import qgis.core"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.slow
def test_qgis_opens_the_demo_geopackage_styled(demo_output):
    if not _qgis_available():
        pytest.skip("QGIS's Python bindings are not installed (apt-get install python3-qgis)")
    layers = ["placements", "sites", "exclusion_zones", "campaigns"]
    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", PROBE, str(demo_output / "plan.gpkg"), *layers],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert all(layer["valid"] for layer in seen.values())
    assert seen["placements"]["renderer"] == "categorizedSymbol"
    n = len(seen["placements"]["colours"])
    assert seen["placements"]["colours"] == list(CAMPAIGN_PALETTE[:n])
    assert seen["sites"]["renderer"] == "RuleRenderer"
    assert seen["exclusion_zones"]["renderer"] == "singleSymbol"
    assert seen["exclusion_zones"]["fills"] == ["solid", "b_diagonal"]
    assert seen["campaigns"]["aliases"]["budget_used"] == "Budget used"


# --- GeoParquet ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_placements_are_also_geoparquet(demo_output):
    path = demo_output / "placements.parquet"
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    column = geo["columns"][geo["primary_column"]]

    assert geo["version"].startswith("1.")
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Point"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    parquet = gpd.read_parquet(path)
    gpkg = gpd.read_file(demo_output / "plan.gpkg", layer="placements")
    assert parquet["asset_id"].tolist() == gpkg["asset_id"].tolist()
    assert parquet.geometry.geom_equals_exact(gpkg.geometry, 0).all()
    assert list(parquet.columns) == list(gpkg.columns)


# --- the README's layer schema -------------------------------------------------------------------

SECTIONS = {
    "placements": "placements",
    "campaigns": "campaigns",
    "summary": "summary",
    "values": "values",
    "sites": "sites and exclusion_zones",
    "exclusion_zones": "sites and exclusion_zones",
    STYLE_TABLE: "Other tables",
}


def _documented() -> dict[str, set[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    schema = text.split("### Layer schema", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^#### ", schema, flags=re.M)[1:]
    return {s.splitlines()[0].strip(): set(re.findall(r"`([^`]+)`", s)) for s in sections}


@pytest.mark.slow
def test_the_readme_documents_every_column_of_every_exported_layer(demo_output):
    documented = _documented()
    for name in ("plan.gpkg", "values.gpkg"):
        path = demo_output / name
        for layer in [*_layers(path), STYLE_TABLE]:
            info = pyogrio.read_info(path, layer=layer)
            missing = set(info["fields"]) - documented[SECTIONS[layer]]
            assert not missing, f"README's layer schema lacks {layer}: {sorted(missing)}"
    eligibility = pd.read_csv(demo_output / "eligibility.csv", nrows=1)
    assert set(eligibility.columns) <= documented["eligibility"]


# --- layer_style on small layers ---------------------------------------------------------------


def _placements(n_campaigns: int) -> gpd.GeoDataFrame:
    assets = make_assets([(20 * i, 0) for i in range(n_campaigns)])
    return assets[["asset_id", "geometry"]].assign(
        campaign_id=[f"C{i:02d}" for i in range(n_campaigns)],
        advertiser=[f"Brand {i}" for i in range(n_campaigns)],
    )


def test_campaigns_beyond_the_palette_share_other_campaigns():
    qml = ET.fromstring(layer_style("placements", _placements(14)).qml)
    categories = list(qml.iter("category"))

    assert len(categories) == len(CAMPAIGN_PALETTE) + 1
    assert categories[-1].get("value") == "" and categories[-1].get("label") == "other campaigns"
    colour = qml.find(".//symbols/symbol[@name='12']//Option[@name='color']").get("value")
    assert colour.split(",")[:3] == [str(int(OTHER_COLOUR[i : i + 2], 16)) for i in (1, 3, 5)]


def test_a_table_without_geometry_gets_aliases_and_no_sld():
    style = layer_style("campaigns", pd.DataFrame({"campaign_id": ["C1"], "spend": [1.0]}))
    qml = ET.fromstring(style.qml)
    assert style.sld == "" and style.geometry_column == ""
    assert [a.get("field") for a in qml.iter("alias")] == ["campaign_id", "spend"]
    assert qml.findtext("layerGeometryType") == "4"


def test_an_empty_layer_gets_one_symbol():
    style = layer_style("placements", _placements(3).iloc[:0])
    renderer = ET.fromstring(style.qml).find("renderer-v2")
    assert renderer.get("type") == "singleSymbol"


def test_site_kinds_with_quotes_are_escaped_in_rule_expressions():
    sites = make_sites([(0, 0), shapely.box(100, 100, 130, 130)], kind=["school", "o'brien's"])
    style = layer_style("sites", sites)
    filters = [r.get("filter") for r in ET.fromstring(style.qml).iter("rule")]
    assert "\"kind\" = 'o''brien''s'" in filters
    sld = ET.fromstring(style.sld)
    literals = [e.text for e in sld.iter(f"{OGC}Literal")]
    assert "o'brien's" in literals
    fills = {e.text for e in sld.iter(f"{SE}SvgParameter") if e.get("name") == "fill"}
    assert SITE_FILL_COLOUR in fills


def test_exclusion_zones_are_hatched_in_the_maps_red():
    zones = make_sites([shapely.box(0, 0, 50, 50)])[["geometry"]].assign(
        rule_id="r1", within_m=100.0
    )
    style = layer_style("exclusion_zones", zones)
    sld = ET.fromstring(style.sld)
    assert sld.find(f".//{SE}WellKnownName").text == "shape://slash"
    strokes = {e.text for e in sld.iter(f"{SE}SvgParameter") if e.get("name") == "stroke"}
    assert EXCLUSION_LINE_COLOUR in strokes


def test_a_layer_of_the_users_named_layer_styles_is_left_alone(tmp_path):
    frame = pd.DataFrame({"note": ["mine"]})
    path = planner.write_layers({STYLE_TABLE: frame}, tmp_path / "styles.gpkg")
    assert pyogrio.read_dataframe(path, layer=STYLE_TABLE)["note"].tolist() == ["mine"]
