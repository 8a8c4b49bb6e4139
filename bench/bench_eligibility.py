"""Benchmark eligibility: 400,000 assets x 30,000 sites x 9 categories per preset, and real London.

Compares `planner.eligibility` with a named baseline, "geopandas sjoin": the direct
geopandas/pandas way (``sjoin(predicate="dwithin")`` per exclusion rule, a cross join of
assets and categories, reasons joined with ``groupby().agg("; ".join)``, then a merge).
Each case runs in a fresh process so its peak memory is its own; the table shows wall
time, CPU time (less sensitive to other load on a shared machine), peak resident memory
of the whole process (data included) and the extra memory taken during the call.
Both methods must refuse exactly the same (asset, category) pairs.

    python bench/bench_eligibility.py            # full run (a few minutes)
    python bench/bench_eligibility.py --quick    # 40,000 assets x 3,000 sites
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import shapely

from planner.policy.eligibility import eligibility, scope_mask
from planner.policy.load import BanRule, ExclusionRule, Policy, list_presets, load_policy

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CENTRE = (530_000.0, 180_000.0)  # central London, British National Grid
SIDE_M = 39_600.0  # a square the area of Greater London (1,572 km²)
GOAL_S, GOAL_MB = 5.0, 2048.0

STRESS = Policy(
    "stress (synthetic)",
    description="Every kind of site excluded, two radii, plus a scoped ban: many more pairs.",
    rules=(
        ExclusionRule(
            "children-100m",
            ("alcohol", "gambling", "hfss", "tobacco_vaping", "adult"),
            ("school", "nursery", "playground", "college"),
            100,
        ),
        ExclusionRule("worship-200m", ("alcohol", "gambling", "adult"), ("place_of_worship",), 200),
        ExclusionRule("hospital-200m", ("hfss", "tobacco_vaping"), ("hospital",), 200),
        BanRule("digital-payday", ("payday_loans",), digital=True),
    ),
)


def synthetic(
    n_assets: int, n_sites: int, seed: int = 42
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Uniform random assets and sites (a quarter of schools as grounds polygons)."""
    rng = np.random.default_rng(seed)
    lo = np.array(CENTRE) - SIDE_M / 2
    xy = lo + rng.uniform(0, SIDE_M, size=(n_assets, 2))
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"A{i:06d}" for i in range(n_assets)],
            "asset_type": rng.choice(
                ["bus_shelter", "lamp_column", "kiosk", "billboard"], n_assets
            ),
            "digital": rng.random(n_assets) < 0.15,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    kinds = rng.choice(
        ["school", "nursery", "playground", "place_of_worship", "hospital", "college"],
        n_sites,
        p=[0.4, 0.1, 0.25, 0.15, 0.05, 0.05],
    )
    sxy = lo + rng.uniform(0, SIDE_M, size=(n_sites, 2))
    geoms = shapely.points(sxy)
    grounds = (kinds == "school") & (rng.random(n_sites) < 0.25)
    half = rng.uniform(30, 100, size=(int(grounds.sum()), 2))
    corner_lo, corner_hi = sxy[grounds] - half, sxy[grounds] + half
    geoms[grounds] = shapely.box(corner_lo[:, 0], corner_lo[:, 1], corner_hi[:, 0], corner_hi[:, 1])
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{i:05d}" for i in range(n_sites)],
            "kind": kinds,
            "name": [f"Site {i}" for i in range(n_sites)],
        },
        geometry=geoms,
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    return assets, sites


def london() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """TfL bus stops and open GIAS schools (only the columns the planner needs)."""
    stops = pd.read_csv(
        SHARED / "london_tfl_bus_stops" / "bus-stops.csv",
        usecols=["Stop_Code_LBSL", "Location_Easting", "Location_Northing"],
    )
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Location_Northing"] > 0)]
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"{c}#{i}" for i, c in enumerate(stops["Stop_Code_LBSL"])],
            "asset_type": "bus_stop",
            "digital": False,
        },
        geometry=gpd.points_from_xy(stops["Location_Easting"], stops["Location_Northing"]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    schools = pd.read_csv(
        SHARED / "london_schools_gias" / "london_nurseries_edubase_2019.csv",
        encoding="latin-1",
        usecols=["URN", "EstablishmentName", "EstablishmentStatus (name)", "Easting", "Northing"],
    )
    schools = schools[schools["EstablishmentStatus (name)"].eq("Open")].dropna(
        subset=["Easting", "Northing"]
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": schools["URN"].astype(str),
            "kind": "school",
            "name": schools["EstablishmentName"].astype(str),
        },
        geometry=gpd.points_from_xy(schools["Easting"], schools["Northing"]),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    return assets, sites


def baseline_sjoin(
    assets: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, policy: Policy
) -> pd.DataFrame:
    """The direct geopandas way: sjoin per rule, cross join, groupby-join, merge."""
    crs = "EPSG:27700"
    am, sm = assets.to_crs(crs), sites.to_crs(crs)
    grid = assets[["asset_id"]].merge(pd.DataFrame({"category": policy.categories}), how="cross")
    parts = []
    for rule in policy.rules:
        if isinstance(rule, BanRule):
            ids = assets.loc[scope_mask(assets, rule), ["asset_id"]]
            refused = ids.assign(reason=f"{rule.id}: banned", rule_id=rule.id)
        elif isinstance(rule, ExclusionRule):
            near = sm[sm["kind"].isin(rule.near)]
            scoped = am[scope_mask(am, rule)]
            j = gpd.sjoin(scoped, near, predicate="dwithin", distance=rule.within_m)
            j["dist"] = j.geometry.distance(near.geometry.loc[j["index_right"]], align=False)
            j = j.sort_values(["asset_id", "dist"]).drop_duplicates("asset_id")
            refused = pd.DataFrame(
                {
                    "asset_id": j["asset_id"],
                    "reason": rule.id
                    + ": "
                    + j["name"]
                    + " ("
                    + j["kind"]
                    + ", site "
                    + j["site_id"]
                    + ") at "
                    + j["dist"].round().astype(int).astype(str)
                    + " m",
                    "rule_id": rule.id,
                }
            )
        else:
            continue
        parts.append(refused.merge(pd.DataFrame({"category": rule.categories}), how="cross"))
    if not parts:
        return grid.assign(allowed=True, reasons="", rule_ids="")
    reasons = (
        pd.concat(parts)
        .groupby(["asset_id", "category"], sort=False)
        .agg(reasons=("reason", "; ".join), rule_ids=("rule_id", ";".join))
    )
    out = grid.merge(reasons.reset_index(), on=["asset_id", "category"], how="left")
    out["allowed"] = out["reasons"].isna()
    return out.fillna({"reasons": "", "rule_ids": ""})


class _PeakRss:
    """Samples this process's resident memory every 5 ms while running."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def run_case(dataset: str, policy_name: str, method: str, n_assets: int, n_sites: int) -> dict:
    """Time one case in this process and return its measurements."""
    assets, sites = synthetic(n_assets, n_sites) if dataset == "synthetic" else london()
    policy = STRESS if policy_name == "stress" else load_policy(policy_name)
    func = eligibility if method == "planner" else baseline_sjoin
    before = psutil.Process().memory_info().rss
    with _PeakRss() as rss:
        wall, cpu = time.perf_counter(), time.process_time()
        table = func(assets, sites, policy)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    table = table.astype({"category": str}).sort_values(["asset_id", "category"])
    allowed = np.packbits(table["allowed"].to_numpy(dtype=bool))
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rows": len(table),
        "refused": int((~table["allowed"]).sum()),
        "digest": hashlib.sha256(allowed.tobytes()).hexdigest()[:12],
        "peak_mb": max(rss.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20,
        "extra_mb": (rss.peak - before) / 2**20,
        "assets": len(assets),
        "sites": len(sites),
    }


def _child(args: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--case", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sjoin baseline")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        dataset, policy, method, n, m = args.case
        print(json.dumps(run_case(dataset, policy, method, int(n), int(m))))
        return
    n, m = (40_000, 3_000) if args.quick else (400_000, 30_000)
    cases = [("synthetic", p) for p in [*list_presets(), "stress"]]
    if (SHARED / "london_tfl_bus_stops").is_dir() and (SHARED / "london_schools_gias").is_dir():
        cases += [("london", p) for p in list_presets()]
    else:
        print(f"(real London data not found under {SHARED}: skipped)")
    methods = ["planner"] if args.no_baseline else ["planner", "sjoin-baseline"]
    print(
        f"eligibility benchmark on {os.cpu_count()} CPU(s); goal < {GOAL_S:g} s and "
        f"< {GOAL_MB / 1024:g} GB; synthetic = {n:,} assets x {m:,} sites x 9 categories"
    )
    header = (
        f"{'data':<10} {'policy':<22} {'method':<15} {'rows':>10} {'refused':>9} "
        f"{'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'extra MB':>8}  same"
    )
    print(header)
    print("-" * len(header))
    for dataset, policy in cases:
        results = {meth: _child([dataset, policy, meth, str(n), str(m)]) for meth in methods}
        digests = {r.get("digest") for r in results.values()}
        for meth, r in results.items():
            if "error" in r:
                print(f"{dataset:<10} {policy:<22} {meth:<15} error: {r['error']}")
                continue
            same = "yes" if len(digests) == 1 else "NO"
            print(
                f"{dataset:<10} {policy:<22} {meth:<15} {r['rows']:>10,} {r['refused']:>9,} "
                f"{r['wall_s']:>7.2f} {r['cpu_s']:>6.2f} {r['peak_mb']:>8.0f} "
                f"{r['extra_mb']:>8.0f}  {same}"
            )
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
