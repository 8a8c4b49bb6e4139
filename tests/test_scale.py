"""Scaling out on Dask: partitioned eligibility and valuation, national plans, the switch.

The cluster is a `distributed.LocalCluster` of 2 worker processes, started once for the
module; the data are small but cut into many grid cells so that sensitive sites, zones and
campaigns straddle partition and region borders.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import (
    BUILDER_CRS,
    ORIGIN,
    _campaign,
    free_port,
    make_assets,
    make_points,
    make_sites,
    make_zones,
)
from pandas.testing import assert_frame_equal
from shapely.geometry import LineString

import planner
from planner.cli import main
from planner.errors import PlannerError
from planner.optimise.settings import SolverSettings
from planner.scale import (
    ClusterSettings,
    connect,
    grid_cells,
    partitioned_eligibility,
    partitioned_eligibility_and_values,
    partitioned_value_assets,
    plan_national,
)
from planner.value.audience import AudienceParams

distributed = pytest.importorskip("distributed")

CELL_M = 400.0  # cells far smaller than the data, so most exclusion zones cross a border


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 2 worker processes (1 thread each) for the whole module.

    Spawned workers re-import the parent's ``__main__`` from its file; an app test run
    earlier in the session can leave that pointing at ``app.py``, so a bare module stands
    in while the cluster lives (its nanny restarts workers too).
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        with connect(ClusterSettings("local", workers=2, threads_per_worker=1)) as c:
            yield c
    finally:
        sys.modules["__main__"] = main


def _spread(n: int, seed: int, size: float = 2_000.0) -> list[tuple[float, float]]:
    """``n`` random points in a ``size`` metre square from the builders' origin."""
    rng = np.random.default_rng(seed)
    return [tuple(p) for p in rng.uniform(0, size, (n, 2)).tolist()]


@pytest.fixture(scope="module")
def town():
    """600 assets, 60 schools and playgrounds, zones and stops over 2 km: many cells."""
    rng = np.random.default_rng(0)
    formats = rng.choice(["6-sheet", "48-sheet", "d6"], 600).tolist()
    assets = make_assets(
        _spread(600, 1),
        format=formats,
        digital=[f == "d6" for f in formats],
        price=np.nan,
        impacts=np.nan,
    ).drop(columns=["price_per_cycle", "weekly_impacts"])
    sites = make_sites(_spread(60, 2), kind=rng.choice(["school", "playground"], 60).tolist())
    zones = make_zones(_spread(80, 3), population=rng.integers(200, 3_000, 80).astype(float))
    stops = make_points(_spread(40, 4), kind="bus_stop")
    return assets, sites, zones, stops


def test_partitioned_eligibility_and_values_equal_one_process_across_cell_borders(client, town):
    assets, sites, zones, stops = town
    policy = planner.load_policy("uk-cap-code")
    one = planner.eligibility(assets, sites, policy)
    split = partitioned_eligibility(assets, sites, policy, client=client, cell_m=CELL_M)
    assert_frame_equal(split, one, check_exact=True)
    assert split.attrs == one.attrs
    # The data do straddle borders: refusals by a school in another cell than the asset.
    cells = grid_cells(assets.to_crs(27700).bounds.to_numpy(), CELL_M)
    cell_of = {a: c.cell for c in cells for a in assets["asset_id"].iloc[c.positions]}
    metric = sites.to_crs(27700).geometry
    site_cell = {
        site: (int(x // CELL_M), int(y // CELL_M))
        for site, x, y in zip(sites["site_id"], metric.x, metric.y, strict=True)
    }
    refused = one[~one["allowed"]].drop_duplicates("asset_id")
    across = [
        a
        for a, why in zip(refused["asset_id"], refused["reasons"], strict=True)
        if cell_of[a] != site_cell[why.split("site ")[1].split(")")[0]]
    ]
    assert len(across) >= 10

    values_one = planner.value_assets(assets, zones=zones, transit=stops, eligibility=one)
    values_split = partitioned_value_assets(
        assets, zones=zones, transit=stops, eligibility=split, client=client, cell_m=CELL_M
    )
    assert_frame_equal(values_split, values_one, check_exact=True)
    assert values_split.attrs == values_one.attrs


def test_partitioned_values_equal_one_process_with_eligibility_rows_in_any_order(client, town):
    # The eligibility table is cut per task by the position of each row's asset: read from
    # the table's own order when it is eligibility()'s, looked up otherwise.
    assets, sites, zones, _ = town
    one = planner.eligibility(assets, sites, planner.load_policy("uk-cap-code"))
    shuffled = one.sample(frac=1.0, random_state=0)
    values_one = planner.value_assets(assets, zones=zones, eligibility=shuffled)
    values_split = partitioned_value_assets(
        assets, zones=zones, eligibility=shuffled, client=client, cell_m=CELL_M
    )
    assert_frame_equal(values_split, values_one, check_exact=True)


def test_partitioned_values_with_traffic_and_flat_pricing_equal_one_process(client, town):
    assets, _, zones, _ = town
    traffic = make_points(_spread(30, 5), aadf=np.linspace(500.0, 60_000.0, 30))
    ends = np.array(_spread(40, 6)).reshape(20, 2, 2) + np.array(ORIGIN)
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "residential"] * 10},
        geometry=[LineString(e) for e in ends],
        crs=BUILDER_CRS,
    )
    options = {"zones": zones, "traffic": traffic, "roads": roads, "pricing": "rate card"}
    values_one = planner.value_assets(assets, **options)
    values_split = partitioned_value_assets(assets, client=client, cell_m=CELL_M, **options)
    assert_frame_equal(values_split, values_one, check_exact=True)
    assert (values_one["price_source"] == "rate card").all()
    assert values_one["vehicle_source"].value_counts().size == 3  # count, proxy and none


def test_checking_and_valuing_in_one_pass_equals_one_process(client, town):
    # One task per group of cells checks its assets and values them with its own rows:
    # the two tables of one process, bit for bit, across cell borders.
    assets, sites, zones, stops = town
    policy = planner.load_policy("uk-cap-code")
    traffic = make_points(_spread(30, 5), aadf=np.linspace(500.0, 60_000.0, 30))
    options = {"zones": zones, "transit": stops, "traffic": traffic}
    one = planner.eligibility(assets, sites, policy)
    values_one = planner.value_assets(assets, eligibility=one, **options)
    table, values = partitioned_eligibility_and_values(
        assets, sites, policy, client=client, cell_m=CELL_M, **options
    )
    assert_frame_equal(table, one, check_exact=True)
    assert table.attrs == one.attrs
    assert_frame_equal(values, values_one, check_exact=True)
    assert values.attrs == values_one.attrs
    assert (~one["allowed"]).sum() > 100  # the exclusion rules did refuse assets
    assert values_one["demand_share_out_of_reach"].gt(0).any()
    alone = partitioned_eligibility_and_values(assets, sites, policy, **options)  # no client
    assert_frame_equal(alone[1], values_one, check_exact=True)


def test_frames_of_points_travel_to_and_from_tasks_unchanged(town):
    # Tasks get points as coordinate arrays (not WKB): the frame that arrives is the one
    # sent, bit for bit, with its CRS, index, column order, geometry name and attrs.
    from planner.scale.cluster import _pack, _unpack

    assets, _, zones, _ = town
    frame = assets.iloc[::-3].copy()
    frame.attrs = {"note": "kept"}
    renamed = zones.rename_geometry("where")[["where", "zone_id", "population"]]
    lines = gpd.GeoDataFrame({"id": [1]}, geometry=[LineString([(0, 0), (1, 1)])], crs=BUILDER_CRS)
    payload = (frame, {"zones": renamed, "lines": lines}, None, 3)
    sent = distributed.protocol.serialize_bytes(_pack(payload))
    back = _unpack(distributed.protocol.deserialize_bytes(sent))
    assert_frame_equal(back[0], frame, check_exact=True)
    assert back[0].crs == frame.crs and back[0].attrs == {"note": "kept"}
    assert back[1]["zones"].geometry.name == "where"
    assert_frame_equal(back[1]["zones"], renamed, check_exact=True)
    assert_frame_equal(back[1]["lines"], lines)  # not points: sent as geopandas sends it
    assert back[2:] == (None, 3)


def test_dask_draws_its_progress_bar_while_the_results_come_back(client, town, capsys):
    assets, sites, zones, _ = town
    policy = planner.load_policy("uk-cap-code")
    shown = ClusterSettings("local", progress=True)
    table, _ = partitioned_eligibility_and_values(
        assets, sites, policy, zones=zones, client=client, cluster=shown, cell_m=CELL_M
    )
    assert "100% Completed" in capsys.readouterr().out  # Dask's own text progress bar
    assert_frame_equal(table, planner.eligibility(assets, sites, policy), check_exact=True)


def test_count_points_at_one_site_and_a_small_reach_give_the_one_process_values(client, town):
    # Real DfT files hold several count points at one spot (one per year or direction):
    # the nearest is then a tie, which must go the same way in a partition's smaller
    # tree. Environments look for stations 150 m out, further than a short transit reach.
    assets, _, zones, _ = town
    spots = _spread(40, 7)
    traffic = make_points(spots * 3, aadf=np.arange(120.0) * 500.0 + 500.0)  # 3 per spot
    stations = make_points(_spread(100, 8), kind="railway_station")
    roadside = assets.assign(format="48-sheet", digital=False)
    params = AudienceParams(transit_radius_m=50.0, traffic_radius_m=400.0)
    options = {"zones": zones, "traffic": traffic, "transit": stations, "params": params}
    one = planner.value_assets(roadside, **options)
    split = partitioned_value_assets(roadside, client=client, cell_m=100.0, **options)
    assert_frame_equal(split, one, check_exact=True)
    assert (one["vehicle_source"] != "").sum() > 100
    assert (one["environment"] == "transport_hub").any()


def test_the_first_of_equally_near_points_is_taken_whatever_else_the_tree_holds():
    from planner.value.audience import _nearest

    here = shapely.points([[0.0, 0.0], [10.0, 0.0]])
    there = shapely.points([[5.0, 0.0], [0.0, 3.0], [0.0, -3.0], [100.0, 0.0]])
    near, found = _nearest(here, there, 50.0)
    assert near.tolist() == [0, 1] and found.tolist() == [1, 0]  # ties at 3 m: the first
    near, found = _nearest(here[:1], there[[2, 1]], 50.0)  # the same two, other order
    assert found.tolist() == [0]


def test_an_error_in_a_task_names_every_row_as_one_process_does(client, town):
    # A bad value in many cells: each task would count only its own rows.
    assets, sites, zones, _ = town
    bad = assets.assign(concession=np.where(np.arange(len(assets)) % 7 == 0, "lease", ""))
    policy = planner.load_policy("uk-cap-code")
    with pytest.raises(PlannerError) as one:
        planner.value_assets(bad, zones=zones)
    with pytest.raises(PlannerError) as split:
        partitioned_eligibility_and_values(
            bad, sites, policy, zones=zones, client=client, cell_m=CELL_M
        )
    assert str(split.value) == str(one.value)
    assert f"{int((np.arange(len(assets)) % 7 == 0).sum())} value(s)" in str(one.value)


def test_without_a_client_the_one_process_functions_run(town):
    assets, sites, _, _ = town
    policy = planner.load_policy("uk-cap-code")
    assert_frame_equal(
        partitioned_eligibility(assets, sites, policy), planner.eligibility(assets, sites, policy)
    )


class _KillOnce(distributed.WorkerPlugin):
    """Kill the worker process as its first task starts (once per marker file)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and not Path(self.marker).exists():
            Path(self.marker).touch()
            os._exit(1)


def test_a_worker_killed_mid_run_gives_the_same_table(client, town, tmp_path):
    assets, sites, _, _ = town
    policy = planner.load_policy("uk-cap-code")
    marker = tmp_path / "killed"
    client.register_plugin(_KillOnce(str(marker)), name="kill-once")
    try:
        split = partitioned_eligibility(assets, sites, policy, client=client, cell_m=CELL_M)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker did die mid-run
    assert_frame_equal(split, planner.eligibility(assets, sites, policy), check_exact=True)


# --- national plans ---------------------------------------------------------------------------


def _country(n_per: int = 500, seed: int = 0):
    """Three towns side by side, cut into regions through their dense middles."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal((2_500.0 * k, 0.0), 700.0, (n_per, 2)) for k in range(3)])
    region = np.where(xy[:, 0] < 1_250, "west", np.where(xy[:, 0] < 3_750, "centre", "east"))
    formats = rng.choice(["6-sheet", "48-sheet", "d6"], len(xy), p=[0.6, 0.2, 0.2]).tolist()
    price = {"6-sheet": 90.0, "48-sheet": 300.0, "d6": 180.0}
    assets = make_assets(
        [tuple(p) for p in xy.tolist()],
        format=formats,
        digital=[f == "d6" for f in formats],
        slots=1,
        price=[price[f] + float(rng.integers(0, 20)) for f in formats],
        impacts=rng.integers(1_000, 20_000, len(xy)).astype(float).tolist(),
        region=region.tolist(),
    )
    sites = make_sites([tuple(p) for p in (xy[rng.choice(len(xy), 40)] + 60).tolist()])
    campaigns = [
        _campaign(
            f"C{i}",
            category=["general", "alcohol", "hfss"][i % 3],
            budget=15_000.0 + 2_000 * i,
            cycles=(1,) if i % 2 else (1, 2),
            min_faces=10,
            max_faces=30,
            competitor_group="drinks" if i % 3 == 1 else "",
            min_spacing_m=250.0 if i % 3 == 0 else 0.0,
        )
        for i in range(9)
    ]
    return assets, sites, campaigns


def _independent_check(result, assets, sites, policy, campaigns):
    """Faces per cycle and budgets recounted from the placements, and the audit."""
    placed = result.plan.placements
    assert planner.audit(placed, assets, sites, policy).empty
    for camp in campaigns:
        mine = placed[placed["campaign_id"] == camp.campaign_id]
        per_cycle = mine.groupby("cycle").size().reindex(list(camp.cycles), fill_value=0)
        assert per_cycle.between(camp.min_faces, camp.max_faces).all(), camp.campaign_id
        assert mine["price"].sum() <= camp.budget + 1e-6
    assert not placed.duplicated(["asset_id", "cycle"]).any()  # one face each, all capacity 1


def test_a_national_plan_is_valid_audited_and_within_its_gap(client):
    assets, sites, campaigns = _country()
    policy = planner.load_policy("uk-cap-code")
    values = planner.value_assets(assets)
    result = plan_national(
        assets,
        campaigns,
        policy,
        values=values,
        sites=sites,
        solver=SolverSettings(time_limit=3),
        client=client,
    )
    assert result.ok, (result.breaches, result.violations)
    assert set(result.regions["region"]) == {"west", "centre", "east"}
    assert (result.plan.campaigns["regions"] > 1).all()  # every campaign spans regions
    _independent_check(result, assets, sites, policy, campaigns)
    p = result.plan
    assert p.objective == pytest.approx(p.placements["price"].sum())
    assert p.objective <= p.best_bound
    assert p.gap == pytest.approx((p.best_bound - p.objective) / p.best_bound)
    split = result.split.groupby("campaign_id")[["min_faces", "max_faces", "budget"]].sum()
    for camp in campaigns:
        assert split.loc[camp.campaign_id, "max_faces"] == camp.max_faces
        assert split.loc[camp.campaign_id, "min_faces"] == camp.min_faces
        assert split.loc[camp.campaign_id, "budget"] == pytest.approx(camp.budget, abs=0.005)


def test_the_border_pass_removes_cross_region_spacing_conflicts():
    # Two regions meeting at x = 50: each region's best faces sit on the border, 20 m apart.
    assets = make_assets(
        [(40, 0), (60, 0), (-400, 0), (500, 0)],
        price=[100.0, 100.0, 10.0, 10.0],
        region=["a", "b", "a", "b"],
    )
    policy = planner.load_policy("uk-cap-code")
    camp = _campaign("C1", min_faces=2, max_faces=2, min_spacing_m=100.0)
    result = plan_national(
        assets, [camp], policy, values=assets, sites=make_sites([(5_000, 5_000)])
    )
    assert result.ok
    assert result.border["spacing"] == 1 and result.border["refilled"] == 1
    d = result.plan.placements.to_crs(27700).geometry
    assert d.iloc[0].distance(d.iloc[1]) > 100


def test_the_national_bound_is_at_least_the_one_process_optimum():
    assets, sites, campaigns = _country(n_per=40, seed=3)
    campaigns = [
        _campaign(c.campaign_id, category=c.category, budget=c.budget, cycles=(1,),
                  min_faces=0, max_faces=8, competitor_group=c.competitor_group)
        for c in campaigns[:3]
    ]  # fmt: skip
    policy = planner.load_policy("uk-cap-code")
    best = planner.plan(assets, campaigns, policy, sites=sites, values=assets,
                        solver=SolverSettings(time_limit=10))  # fmt: skip
    assert best.status == "OPTIMAL"
    national = plan_national(assets, campaigns, policy, values=assets, sites=sites)
    assert national.ok
    # The optimum of the whole problem in one process never beats the national bound.
    assert best.sales <= national.plan.best_bound + 1e-6
    assert national.plan.objective <= best.sales + 1e-6


# --- the switch -------------------------------------------------------------------------------


def test_an_unreachable_scheduler_is_a_clear_error_and_exit_code_2(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    with (
        pytest.raises(PlannerError, match="cannot reach the Dask scheduler"),
        connect(ClusterSettings(address, timeout=1)),
    ):
        pass
    assets, sites = tmp_path / "assets.gpkg", tmp_path / "sites.gpkg"
    make_assets(3).to_file(assets)
    make_sites([(0, 50)]).to_file(sites)
    code = main(["eligibility", "--assets", str(assets), "--sites", str(sites),
                 "--policy", "uk-cap-code", "--out", str(tmp_path / "e.csv"),
                 "--scheduler", address, "--scheduler-timeout", "1"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert "Traceback" not in err


def test_a_bad_scheduler_value_is_refused_in_words():
    with pytest.raises(PlannerError, match="tcp://host:8786"):
        ClusterSettings("my-cluster")


def test_importing_planner_does_not_import_dask():
    code = (
        "import sys, planner, planner.scale, planner.cli; "
        "bad = [m for m in ('dask', 'distributed') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_the_cli_gives_the_same_table_on_a_local_cluster(tmp_path, town):
    assets, sites, _, _ = town
    a, s = tmp_path / "assets.gpkg", tmp_path / "sites.gpkg"
    assets.to_file(a)
    sites.to_file(s)
    args = ["eligibility", "--assets", str(a), "--sites", str(s), "--policy", "uk-cap-code"]
    assert main([*args, "--out", str(tmp_path / "one.csv")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask.csv"), "--scheduler", "local",
                 "--dask-workers", "1", "--cell-km", "0.4"]) == 0  # fmt: skip
    one = pd.read_csv(tmp_path / "one.csv")
    assert_frame_equal(pd.read_csv(tmp_path / "dask.csv"), one)
    assert (~one["allowed"]).sum() > 0
