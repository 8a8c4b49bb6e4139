"""Scenario store: round trips, listing, comparison, errors, and saves that are cut short."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import make_assets

from planner import scenarios
from planner.errors import PlannerError
from planner.plan import Plan
from planner.scenarios import (
    STORE_FILE,
    Scenario,
    compare_scenarios,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
)


def make_plan(revenue: float = 500.0, n: int = 2) -> Plan:
    placements = gpd.GeoDataFrame(
        {
            "asset_id": [f"A{i}" for i in range(n)],
            "campaign_id": "C1",
            "cycle": 1,
            "category": "general",
            "price": 100.0,
        },
        geometry=[shapely.Point(24.94 + i / 1000, 60.17) for i in range(n)],
        crs="EPSG:4326",
    )
    delivery = pd.DataFrame({"campaign_id": ["C1"], "faces_booked": [n], "spend": [100.0 * n]})
    return Plan(
        placements=placements,
        campaigns=delivery,
        status="OPTIMAL",
        objective_name="revenue",
        objective=revenue,
        best_bound=revenue,
        gap=0.0,
        sales=100.0 * n,
        council_revenue=revenue,
        impacts=1234,
        reach=56,
        seconds=0.5,
        currency="EUR",
        explanation=[],
        notes=["C9 left out"],
        greedy={"revenue": 90.0},
    )


def make_scenario(name: str = "Baseline", revenue: float = 500.0, n: int = 2) -> Scenario:
    assets = make_assets(
        [(0, 0), (10, 0), (20, 0)], faces=[1, 2, 1], name=["a", "<b>", "c"], crs="EPSG:27700"
    )
    campaigns = pd.DataFrame({"campaign_id": ["C1"], "budget": ["1000"], "cycles": ["1-2"]})
    return Scenario(
        name=name,
        tables={"assets": assets, "campaigns": campaigns},
        settings={"objective": "revenue", "time_limit": 5.0, "revenue_target": 0.0},
        policy_toml='name = "Test"\n',
        plan=make_plan(revenue, n),
        kpis={"fill_rate": 0.25},
        note="first try",
    )


def test_round_trip_keeps_tables_settings_policy_and_plan(tmp_path):
    saved = save_scenario(tmp_path, make_scenario())
    back = load_scenario(tmp_path, "Baseline")

    assert (tmp_path / STORE_FILE).is_file()
    assert back.saved_at == saved.saved_at != ""
    assert back.settings == {"objective": "revenue", "time_limit": 5.0, "revenue_target": 0.0}
    assert back.policy_toml == 'name = "Test"\n' and back.note == "first try"
    assert back.tables["assets"].crs == "EPSG:27700"
    assert back.tables["assets"].geometry.equals(make_scenario().tables["assets"].geometry)
    assert back.tables["assets"]["name"].tolist() == ["a", "<b>", "c"]
    assert back.tables["campaigns"].equals(make_scenario().tables["campaigns"])
    assert set(back.tables) == {"assets", "campaigns"}
    assert back.plan.council_revenue == 500.0 and back.plan.notes == ["C9 left out"]
    assert back.plan.greedy == {"revenue": 90.0}
    assert back.plan.placements["asset_id"].tolist() == ["A0", "A1"]
    assert back.plan.placements.crs == "EPSG:4326"
    assert back.kpis == {"fill_rate": 0.25}


def test_inputs_only_scenario_without_plan(tmp_path):
    scenario = make_scenario("Inputs")
    scenario.plan = None
    save_scenario(tmp_path, scenario)
    back = load_scenario(tmp_path, "Inputs")
    assert back.plan is None and back.kpis == {"fill_rate": 0.25}
    assert list_scenarios(tmp_path)["status"].isna().all()


def test_list_newest_first_and_delete(tmp_path):
    save_scenario(tmp_path, make_scenario("A", revenue=100.0))
    save_scenario(tmp_path, make_scenario("B", revenue=200.0))
    with sqlite3.connect(tmp_path / STORE_FILE) as conn:  # make A clearly older
        conn.execute("UPDATE scenario SET saved_at = '2000-01-01T00:00:00+00:00' WHERE name='A'")
    listed = list_scenarios(tmp_path)
    assert listed["name"].tolist() == ["B", "A"]
    assert listed["council_revenue"].tolist() == [200.0, 100.0]
    assert listed["fill_rate"].tolist() == [0.25, 0.25]
    assert listed["policy"].tolist() == ["Test", "Test"]  # the saved policy's name

    delete_scenario(tmp_path, "A")
    assert list_scenarios(tmp_path)["name"].tolist() == ["B"]
    with sqlite3.connect(tmp_path / STORE_FILE) as conn:
        left = conn.execute("SELECT DISTINCT scenario FROM scenario_table").fetchall()
    assert left == [("B",)]


def test_empty_folder_lists_nothing_and_creates_nothing(tmp_path):
    folder = tmp_path / "not-yet"
    assert list_scenarios(folder).empty
    assert not folder.exists()


def test_overwrite_replaces_and_can_be_refused(tmp_path):
    save_scenario(tmp_path, make_scenario(revenue=100.0, n=1))
    save_scenario(tmp_path, make_scenario(revenue=300.0, n=3))
    assert load_scenario(tmp_path, "Baseline").plan.council_revenue == 300.0
    assert len(load_scenario(tmp_path, "Baseline").plan.placements) == 3
    with pytest.raises(PlannerError, match="exists; choose another name"):
        save_scenario(tmp_path, make_scenario(revenue=1.0), overwrite=False)
    assert load_scenario(tmp_path, "Baseline").plan.council_revenue == 300.0


def test_failed_save_part_way_keeps_the_previous_version(tmp_path, monkeypatch):
    save_scenario(tmp_path, make_scenario(revenue=100.0, n=1))
    real_encode = scenarios._encode
    calls = []

    def encode_then_fail(frame):
        calls.append(len(frame))
        if len(calls) == 3:  # assets and campaigns are written; the plan tables are not
            raise OSError("disk full")
        return real_encode(frame)

    monkeypatch.setattr(scenarios, "_encode", encode_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_scenario(tmp_path, make_scenario(revenue=999.0, n=4))
    monkeypatch.undo()

    back = load_scenario(tmp_path, "Baseline")
    assert len(calls) == 3
    assert back.plan.council_revenue == 100.0 and len(back.plan.placements) == 1
    assert set(back.tables) == {"assets", "campaigns"}


KILLED_SAVE = """
import os, sys
sys.path.insert(0, {tests!r})
from planner import scenarios
from test_scenarios import make_scenario

real = scenarios._encode
count = [0]
def encode_then_die(frame):
    count[0] += 1
    if count[0] == 3:
        os._exit(9)  # the process dies mid-transaction: no rollback, no cleanup
    return real(frame)

scenarios._encode = encode_then_die
scenarios.save_scenario({folder!r}, make_scenario(revenue=999.0, n=4))
"""


def test_process_killed_mid_save_leaves_the_previous_version(tmp_path):
    save_scenario(tmp_path, make_scenario(revenue=100.0, n=1))
    code = KILLED_SAVE.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False)
    assert done.returncode == 9

    back = load_scenario(tmp_path, "Baseline")
    assert back.plan.council_revenue == 100.0 and len(back.plan.placements) == 1
    assert list_scenarios(tmp_path)["name"].tolist() == ["Baseline"]


def test_missing_scenario_names_the_saved_ones(tmp_path):
    with pytest.raises(PlannerError, match="No scenarios are saved"):
        load_scenario(tmp_path, "Nope")
    save_scenario(tmp_path, make_scenario("Baseline"))
    with pytest.raises(PlannerError, match="saved: Baseline"):
        load_scenario(tmp_path, "Nope")
    with pytest.raises(PlannerError, match="No scenario named 'Nope' to delete"):
        delete_scenario(tmp_path, "Nope")


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "x" * 121])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(PlannerError, match="is not allowed"):
        save_scenario(tmp_path, make_scenario(name))


def test_hostile_name_is_stored_as_text(tmp_path):
    name = "x'); DROP TABLE scenario; --"
    save_scenario(tmp_path, make_scenario(name))
    assert load_scenario(tmp_path, name).name == name


def test_folder_that_is_a_file_or_a_foreign_file_is_refused(tmp_path):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("hello", encoding="utf-8")
    with pytest.raises(PlannerError, match="is a file, not a folder"):
        save_scenario(a_file, make_scenario())
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / STORE_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(PlannerError, match="not a readable scenario store"):
        list_scenarios(folder)


def test_settings_must_be_plain_data(tmp_path):
    scenario = make_scenario()
    scenario.settings = {"when": object()}
    with pytest.raises(PlannerError, match="settings cannot be saved"):
        save_scenario(tmp_path, scenario)
    assert list_scenarios(tmp_path).empty


def test_compare_lists_measures_settings_and_inputs(tmp_path):
    a = make_scenario("A", revenue=100.0, n=1)
    b = make_scenario("B", revenue=250.0, n=3)
    b.settings = {**b.settings, "revenue_target": 5000.0}
    b.policy_toml = 'name = "Other"\n'
    table = compare_scenarios(a, b).set_index("measure")

    assert table.attrs["names"] == ("A", "B")
    assert table.loc["council_revenue", "difference"] == 150.0
    assert table.loc["placements", ["a", "b"]].tolist() == [1, 3]
    assert table.loc["status", "difference"] == "same"
    assert table.loc["setting: revenue_target", "difference"] == 5000.0
    assert "setting: objective" not in table.index
    assert table.loc["policy", ["a", "b"]].tolist() == ["Test", "Other"]
    assert table.loc["policy rules", "difference"] == "same"
    assert table.loc["rows: assets", ["a", "b"]].tolist() == [3, 3]
