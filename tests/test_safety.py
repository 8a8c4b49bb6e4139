"""Safety of the planner with untrusted data: safe parsing, escaping, determinism, atomic
outputs and clear answers from the solver when it cannot plan.
"""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

import planner
import planner.io.readers as pio
from planner.cli import main
from planner.policy.load import BanRule, Policy

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "bad_inputs" / "valid"

# --- safe parsing: a static scan ---------------------------------------------------------

#: Modules that turn bytes into live objects: never used on anything, user data or not.
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                  "joblib", "yaml", "toml", "tomli", "pytoml"}  # fmt: skip
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint"}
UNSAFE_ATTRIBUTES = {"read_pickle", "to_pickle", "system", "popen", "unsafe_load", "literal_eval"}


def _sources() -> list[Path]:
    files = sorted((ROOT / "planner").rglob("*.py"))  # every stage subpackage too
    for folder in ("pages", "app_pages"):
        files += sorted((ROOT / folder).glob("*.py"))
    files += [p for p in [ROOT / "app.py"] if p.is_file()]
    return files


def unsafe_uses(source: str, name: str = "<text>") -> list[str]:
    """Every import or call in ``source`` that could run or unpickle data."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        line = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{line} import {a.name}" for a in node.names
                      if a.name.split(".")[0] in UNSAFE_MODULES]  # fmt: skip
        elif (
            isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES
        ):
            found.append(f"{line} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in UNSAFE_CALLS:
                found.append(f"{line} {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in UNSAFE_ATTRIBUTES:
                found.append(f"{line} .{func.attr}()")
            for kw in node.keywords:
                if kw.arg in {"allow_pickle", "shell"} and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    found.append(f"{line} {kw.arg}=...")
    return found


def test_the_scan_finds_what_it_looks_for():
    sample = (
        "import pickle\nfrom yaml import load\nimport numpy as np\n"
        "eval(text)\nexec(code)\npd.read_pickle(p)\nnp.load(p, allow_pickle=True)\n"
        "subprocess.run(cmd, shell=True)\nos.system(cmd)\n"
    )
    assert len(unsafe_uses(sample)) == 8


def test_no_pickle_eval_or_exec_in_the_planner_or_the_app():
    sources = _sources()
    stages = {"io", "policy", "value", "optimise", "maps", "cli", "presets"}
    assert stages <= {p.parent.name for p in sources}, "the scan must reach every subpackage"
    found = [hit for path in sources for hit in unsafe_uses(path.read_text(), path.name)]
    assert found == []


def test_policy_and_rate_card_files_are_parsed_as_toml_never_run(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f"name = {code}\n")
    with pytest.raises(planner.PolicyError):
        planner.load_policy(policy_file)
    card_file = tmp_path / "r.toml"
    card_file.write_text(f"currency = {code}\n")
    with pytest.raises(planner.PricingError, match="not valid TOML"):
        planner.load_rate_card(card_file)
    assert not marker.exists()


def test_streamlit_upload_size_is_limited():
    """Streamlit, started from the project folder, takes the limit from the project's config."""
    code = (
        "from streamlit import config\n"
        "config.get_config_options(force_reparse=True)\n"
        "print(config.get_option('server.maxUploadSize'))\n"
        "print(config.get_where_defined('server.maxUploadSize'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    size_mb, where = run.stdout.splitlines()[-2:]
    assert size_mb == "200"
    assert Path(where) == ROOT / ".streamlit" / "config.toml"


def test_named_presets_never_leave_their_folders():
    with pytest.raises(planner.PolicyError, match="neither a file nor a preset"):
        planner.load_policy("../rates/uk-default")
    for loader in (planner.load_rate_card, planner.load_terms):
        with pytest.raises(planner.PricingError, match="not found"):
            loader("../policies/uk-cap-code")


# --- untrusted text ------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'


class _Markup(HTMLParser):
    """Collects every element and every event-handler attribute of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [f"{tag} {k}={v}" for k, v in attrs if k.startswith("on")]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.fixture
def hostile(tmp_path):
    """Assets, sites and campaigns named by an attacker, read through the loaders."""
    assets_csv = tmp_path / "assets.csv"
    pd.DataFrame(
        {
            "asset_id": ["A1", "A2", "A3"],
            "asset_type": ["bus_shelter"] * 3,
            "format": ["6-sheet"] * 3,
            "price_per_cycle": [100, 120, 90],
            "weekly_impacts": [1000, 2000, 1500],
            "name": [SCRIPT, IMG, FORMULA],
            "ward": [IMG, SCRIPT, "Ward"],
            "lon": [-0.1257, -0.1200, -0.1100],
            "lat": [51.5010, 51.5030, 51.5050],
        }
    ).to_csv(assets_csv, index=False)
    sites_csv = tmp_path / "sites.csv"
    pd.DataFrame(
        {"site_id": [SCRIPT], "kind": ["school"], "name": [IMG], "lon": [-0.1257], "lat": [51.5013]}
    ).to_csv(sites_csv, index=False)
    campaigns = [
        {"campaign_id": SCRIPT, "advertiser": IMG, "category": "general", "budget": 1000,
         "cycles": "1", "min_faces": 1, "max_faces": 3},
        {"campaign_id": FORMULA, "advertiser": SCRIPT, "category": "alcohol", "budget": 1000,
         "cycles": "1", "min_faces": 0, "max_faces": 3},
    ]  # fmt: skip
    return planner.load_assets(assets_csv), planner.load_sites(sites_csv), campaigns


def _hostile_plan(hostile):
    assets, sites, campaigns = hostile
    policy = planner.load_policy(VALID / "policy.toml")
    result = planner.plan(
        assets, campaigns, policy, sites=sites, solver=planner.SolverSettings(time_limit=5)
    )
    assert result.ok
    return assets, sites, policy, result


def test_hostile_names_make_no_live_markup_in_the_map(hostile):
    from planner.maps.render import asset_map, map_html

    assets, sites, policy, result = _hostile_plan(hostile)
    elig = planner.eligibility(assets, sites, policy)
    m = asset_map(
        assets,
        sites=sites,
        eligibility=elig,
        exclusion_zones=planner.exclusion_zones(sites, policy),
        placements=result.placements,
        color_by="campaign",
        tiles="none",
    )
    text = map_html(m, assets_mode="cdn")
    doc = _Markup()
    doc.feed(text)

    assert "img" not in doc.tags
    assert doc.handlers == []
    assert SCRIPT not in text and "<img" not in text
    assert not any("alert(1)</script>" in s for s in doc.scripts)
    # The names are in the page, as inert JSON text (so this test can fail).
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in text


def test_hostile_names_are_inert_text_in_exports(hostile, tmp_path):
    assets, _, _, result = _hostile_plan(hostile)
    layers = {"placements": result.placements, "campaigns": result.campaigns, "assets": assets}

    book = openpyxl.load_workbook(planner.write_layers(layers, tmp_path / "plan.xlsx"))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert [c.value for c in cells if c.data_type == "f"] == []
    assert {SCRIPT, IMG, FORMULA} <= {c.value for c in cells}

    back = pd.read_csv(planner.write_table(assets, tmp_path / "assets.csv"), dtype=str)
    assert back["name"].tolist() == [SCRIPT, IMG, FORMULA]
    gpkg = gpd.read_file(planner.write_layers(layers, tmp_path / "plan.gpkg"), layer="assets")
    assert gpkg["name"].tolist() == [SCRIPT, IMG, FORMULA]


# --- determinism ---------------------------------------------------------------------------


def _plan_cli(tmp_path: Path, out: str, *extra: str) -> int:
    return main(
        ["plan", "--assets", str(VALID / "assets.csv"), "--sites", str(VALID / "sites.csv"),
         "--policy", str(VALID / "policy.toml"), "--campaigns", str(VALID / "campaigns.csv"),
         "--time-limit", "5", "--seed", "7", "--out", str(tmp_path / out), *extra]
    )  # fmt: skip


def test_same_inputs_and_seed_give_the_same_placements_byte_for_byte(tmp_path, capsys):
    assert _plan_cli(tmp_path, "first.csv") == 0
    assert _plan_cli(tmp_path, "second.csv") == 0
    capsys.readouterr()

    first = (tmp_path / "first.csv").read_bytes()
    assert first == (tmp_path / "second.csv").read_bytes()
    assert first.count(b"\n") > 1  # a header and at least one placement


def test_the_library_plan_is_deterministic_too(make_assets, make_campaign):
    assets = make_assets([(i * 150.0, (i % 3) * 120.0) for i in range(12)],
                         price=[10 + i for i in range(12)], faces=2)  # fmt: skip
    campaigns = [make_campaign(f"C{i}", min_faces=2, max_faces=6, cycles=(1, 2)) for i in range(3)]
    solver = planner.SolverSettings(time_limit=5, seed=3)
    runs = [planner.plan(assets, campaigns, Policy("t"), solver=solver) for _ in range(2)]

    tables = [r.placements.to_csv(index=False).encode() for r in runs]
    assert tables[0] == tables[1]
    assert runs[0].status == "OPTIMAL"  # 72 candidates: proved optimal well inside 5 s
    assert len(runs[0].placements) >= 3 * 2 * 2  # every campaign's minimum, in both cycles


# --- atomic outputs ------------------------------------------------------------------------


def test_a_failed_plan_leaves_no_output_and_keeps_an_old_one(tmp_path, capsys):
    bad = str(ROOT / "tests" / "bad_inputs" / "campaigns" / "negative_budget.csv")
    old = tmp_path / "old.gpkg"
    old.write_bytes(b"the previous plan")
    for out in ("new.gpkg", "old.gpkg"):
        code = main(
            ["plan", "--assets", str(VALID / "assets.csv"), "--sites", str(VALID / "sites.csv"),
             "--policy", str(VALID / "policy.toml"), "--campaigns", bad,
             "--out", str(tmp_path / out)]
        )  # fmt: skip
        assert code == 2
    assert "negative_budget.csv" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.gpkg"]
    assert old.read_bytes() == b"the previous plan"


def _tables():
    frame = gpd.GeoDataFrame(
        {"asset_id": ["A1", "A2"], "name": ["one", "two"]},
        geometry=[shapely.Point(-0.1, 51.5), shapely.Point(-0.2, 51.5)],
        crs="EPSG:4326",
    )
    return {"first": frame, "second": frame}


@pytest.mark.parametrize("suffix", [".gpkg", ".csv", ".xlsx", ".geojson"])
def test_an_interrupted_write_keeps_the_previous_file_intact(suffix, tmp_path, monkeypatch):
    path = pio.write_layers(_tables(), tmp_path / f"plan{suffix}")
    before = path.read_bytes()
    calls = {"n": 0}

    def interrupt_part_way(original):
        def write(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > 1 or suffix in {".csv", ".geojson"}:
                # Only a file inside the test's folder: an Excel sheet name is a string too.
                targets = [
                    a
                    for a in (*args, *kwargs.values())
                    if isinstance(a, str | Path) and str(a).startswith(str(tmp_path))
                ]
                if targets:
                    Path(targets[0]).write_bytes(b"half a fi")
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        return write

    monkeypatch.setattr(
        pio.pyogrio, "write_dataframe", interrupt_part_way(pio.pyogrio.write_dataframe)
    )
    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupt_part_way(pd.DataFrame.to_csv))
    monkeypatch.setattr(pd.DataFrame, "to_excel", interrupt_part_way(pd.DataFrame.to_excel))
    with pytest.raises(KeyboardInterrupt):
        pio.write_layers(_tables(), path)

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


# --- solver faults -------------------------------------------------------------------------


@pytest.fixture
def greedy_trap(make_assets, make_campaign):
    """Cheapest-first booking gives C1 the face C2 needs; only a search finds the plan."""
    assets = make_assets([(0, 0), (500, 0), (1000, 0)], price=[10, 20, 100],
                         format=["6-sheet", "6-sheet", "48-sheet"],
                         asset_type=["bus_shelter", "kiosk", "bus_shelter"])  # fmt: skip
    campaigns = [
        make_campaign("C1", min_faces=1, max_faces=1, formats=("6-sheet",)),
        make_campaign("C2", min_faces=1, max_faces=1, asset_types=("bus_shelter",), budget=15.0),
    ]
    return assets, campaigns


def test_a_time_limit_too_short_for_the_solver_returns_the_checked_heuristic_plan(greedy_trap):
    assets, campaigns = greedy_trap
    result = planner.plan(
        assets, campaigns, Policy("t"), solver=planner.SolverSettings(time_limit=1e-9)
    )

    assert result.ok and result.fallback and result.status == "TIME_LIMIT"
    assert sorted(result.placements["asset_id"]) == ["A0", "A1"]  # the trap is repaired
    assert "The solver found no plan within 1e-09 s" in result.explanation[0]
    assert "allow more time than 1e-09 s" in " ".join(result.explanation).lower()


def test_a_time_limit_too_short_for_any_solution_says_so(make_assets, make_campaign):
    # Four faces 120 m apart exist among these 12 sites, but nearest-first packing finds
    # three: the heuristic has no plan, and within no time CP-SAT has none either.
    offsets = [(0, 0), (0, 10), (0, 100), (10, 0), (0, 110), (20, 130), (70, 0), (0, 220),
               (40, 180), (130, 60), (0, 90), (130, 170)]  # fmt: skip
    assets = make_assets(offsets, price=[1, 10, 3, *[1] * 9])
    campaigns = [make_campaign("C1", min_faces=4, max_faces=4, budget=40.0, min_spacing_m=120.0)]
    fast = planner.SolverSettings(time_limit=1e-9)
    result = planner.plan(assets, campaigns, Policy("t"), solver=fast)

    assert not result.ok and result.status == "TIME_LIMIT" and not result.fallback
    assert result.placements.empty
    text = " ".join(result.explanation)
    assert text.startswith("No plan was found within 1e-09 s.")
    assert "could not meet: C1 needs 4 faces, 120 m apart" in text
    assert "more time than 1e-09 s" in text
    given_time = planner.plan(assets, campaigns, Policy("t"), solver=planner.SolverSettings(5))
    assert given_time.ok and len(given_time.placements) == 4


def test_one_worker_still_plans(greedy_trap):
    assets, campaigns = greedy_trap
    result = planner.plan(
        assets, campaigns, Policy("t"), solver=planner.SolverSettings(time_limit=5, workers=1)
    )

    assert result.ok
    assert sorted(result.placements["asset_id"]) == ["A0", "A1"]


@pytest.mark.parametrize(
    ("limit", "workers"), [(0.0, 2), (-1.0, 2), (5.0, 0), (float("nan"), 2), (float("inf"), 2)]
)
def test_impossible_solver_settings_are_a_clear_error(greedy_trap, limit, workers):
    assets, campaigns = greedy_trap
    bad = limit if not 0 < limit < math.inf else workers
    got = re.escape(f"; got {bad!r}")
    with pytest.raises(planner.PlannerError, match=rf"(above 0|at least 1){got}$"):
        planner.plan(
            assets,
            campaigns,
            Policy("t"),
            solver=planner.SolverSettings(time_limit=limit, workers=workers),
        )


def test_no_eligible_asset_names_the_rule(make_assets, make_campaign):
    assets = make_assets([(0, 0), (200, 0)])
    policy = Policy("t", rules=(BanRule("no-alcohol", ("alcohol",)),))
    campaign = make_campaign("C1", category="alcohol", min_faces=1)
    result = planner.plan(assets, [campaign], policy)

    assert result.status == "INFEASIBLE"
    assert "Campaign C1 needs 1 faces in cycle 1 but only 0 faces" in result.explanation[0]
    assert "removed by rule no-alcohol" in result.explanation[0]


def test_no_assets_at_all_is_a_clear_answer(make_assets, make_campaign):
    assets = make_assets([(0, 0)]).iloc[:0]
    try:
        result = planner.plan(assets, [make_campaign("C1", min_faces=1)], Policy("t"))
    except planner.PlannerError as exc:
        assert "asset" in str(exc)
    else:
        assert result.status == "INFEASIBLE"
        assert "only 0 faces" in result.explanation[0]


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (("--time-limit", "0"), "argument --time-limit: must be a number above 0; got 0"),
        (("--time-limit", "nan"), "argument --time-limit: must be a number above 0; got nan"),
        (("--time-limit", "soon"), "argument --time-limit: 'soon' is not a number above 0"),
        (("--workers", "0"), "argument --workers: must be a whole number of 1 or more; got 0"),
        (("--seed", "-1"), "argument --seed: must be a whole number of 0 or more; got -1"),
        (("--candidates-per-face", "-3"), "argument --candidates-per-face: must be a number"),
        (("--revenue-target", "-100"), "argument --revenue-target: must be a number of 0 or"),
        (("--revenue-target", "inf"), "argument --revenue-target: must be a number of 0 or"),
    ],
)
def test_cli_solver_settings_errors_name_the_flag_and_exit_2(tmp_path, capsys, extra, expect):
    with pytest.raises(SystemExit) as stopped:  # argparse stops before any work
        _plan_cli(tmp_path, "plan.gpkg", *extra)
    assert stopped.value.code == 2
    assert expect in capsys.readouterr().err
    assert not (tmp_path / "plan.gpkg").exists()


def test_cli_infeasible_plan_exits_1_with_the_reason_and_no_file(tmp_path, capsys):
    campaigns = tmp_path / "campaigns.csv"
    campaigns.write_text(
        "campaign_id,advertiser,category,budget,cycles,min_faces,max_faces\n"
        "C1,Brewery,alcohol,5000,1,2,2\n"
    )
    code = main(
        ["plan", "--assets", str(VALID / "assets.csv"), "--sites", str(VALID / "sites.csv"),
         "--policy", str(VALID / "policy.toml"), "--campaigns", str(campaigns),
         "--out", str(tmp_path / "plan.gpkg")]
    )  # fmt: skip
    out = capsys.readouterr().out

    assert code == 1
    assert "Campaign C1 needs 2 faces in cycle 1 but only 1 faces" in out
    assert "schools-100m" in out
    assert not (tmp_path / "plan.gpkg").exists()
