"""Benchmark scaling out on Dask: eligibility + valuation, and national plans, by size.

For each size of the synthetic national estate (`bench/make_national.py`, made from the
real London data when missing), each case runs in a fresh process:

- ``single``: `planner.eligibility` then `planner.value_assets` in one process (the
  named baseline);
- ``dask``: the same on a `LocalCluster` of 2 worker processes
  (`planner.scale.partitioned_eligibility`, `partitioned_value_assets`; 10 km cells), its
  tables checked equal to the baseline's (a hash of every column);
- ``plan``: the national plan (`planner.scale.plan_national`, one sub-problem per
  region) on the same cluster: time to the first valid merged plan, its gap against the
  national bound, the audit, and the largest regional sub-problem.

Wall time, CPU time (driver plus workers; ``client``: the driver's own, which includes the
local scheduler) and peak resident memory (the driver; each worker separately) are printed
as tables, with the load average: other jobs on the machine only ever add time, so compare
the rows of one run (``--repeat`` interleaves the cases and keeps each one's fastest run;
``--baseline-code DIR`` adds the Dask path of another version of the planner).

    python bench/bench_scale.py --sizes 20000,100000 --plan-sizes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOAL_WORKER_MB = 2048.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _load(folder: Path):
    assets = gpd.read_parquet(folder / "assets.parquet")
    sites = gpd.read_parquet(folder / "sites.parquet")
    zones = gpd.read_parquet(folder / "zones.parquet")
    return assets, sites, zones


def _digest(table: pd.DataFrame) -> str:
    frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    return str(pd.util.hash_pandas_object(frame.astype(str), index=False).sum())


def _worker_cpu() -> float:
    return _cpu()


def case_single(folder: Path) -> dict:
    import planner

    assets, sites, zones = _load(folder)
    policy = planner.load_policy("uk-cap-code")
    wall, cpu = time.perf_counter(), _cpu()
    table = planner.eligibility(assets, sites, policy)
    values = planner.value_assets(assets, zones=zones, eligibility=table)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": _cpu() - cpu,
        "peak_mb": _peak_mb(),
        "digest": _digest(table) + _digest(values),
    }


def case_dask(folder: Path, two_calls: bool = False) -> dict:
    import planner
    import planner.scale as scale
    from planner.scale import (
        ClusterSettings,
        connect,
        partitioned_eligibility,
        partitioned_value_assets,
        peak_memory_per_worker,
    )

    one_pass = getattr(scale, "partitioned_eligibility_and_values", None)  # older code: none
    assets, sites, zones = _load(folder)
    policy = planner.load_policy("uk-cap-code")
    started = time.perf_counter()
    with connect(ClusterSettings("local", workers=2)) as client:
        client.run(lambda: __import__("planner"))  # workers ready before the clock starts
        boot = time.perf_counter() - started
        cpu0 = sum(client.run(_worker_cpu).values())
        wall, cpu = time.perf_counter(), _cpu()
        if two_calls or one_pass is None:
            table = partitioned_eligibility(assets, sites, policy, client=client)
            values = partitioned_value_assets(assets, zones=zones, eligibility=table, client=client)
        else:
            table, values = one_pass(assets, sites, policy, zones=zones, client=client)
        wall = time.perf_counter() - wall
        workers_cpu = sum(client.run(_worker_cpu).values()) - cpu0
        peaks = peak_memory_per_worker(client)
    return {
        "wall": wall,
        "cpu": _cpu() - cpu + workers_cpu,
        "client_cpu": _cpu() - cpu,
        "peak_mb": _peak_mb(),
        "worker_peak_mb": max(peaks.values()) / 2**20,
        "boot": boot,
        "digest": _digest(table) + _digest(values),
    }


def case_plan(folder: Path, time_limit: float) -> dict:
    import planner
    from planner.optimise.settings import SolverSettings
    from planner.scale import (
        ClusterSettings,
        connect,
        partitioned_eligibility_and_values,
        peak_memory_per_worker,
        plan_national,
    )

    assets, sites, zones = _load(folder)
    campaigns = pd.read_csv(folder / "campaigns.csv", keep_default_na=False)
    policy = planner.load_policy("uk-cap-code")
    with connect(ClusterSettings("local", workers=2)) as client:
        started = time.perf_counter()
        table, values = partitioned_eligibility_and_values(
            assets, sites, policy, zones=zones, client=client
        )
        prep = time.perf_counter() - started
        national = plan_national(
            assets,
            campaigns,
            policy,
            values=values,
            sites=sites,
            eligibility=table,
            solver=SolverSettings(time_limit=time_limit, candidates_per_face=3),
            client=client,
        )
        peaks = peak_memory_per_worker(client)
    biggest = national.regions.sort_values("candidates").iloc[-1]
    audit = planner.audit(national.plan.placements, assets, sites, policy)
    return {
        "prep": prep,
        "first_plan": national.seconds_to_first_plan,
        "total": national.plan.seconds,
        "ok": bool(national.ok),
        "audit": len(audit),
        "placements": len(national.plan.placements),
        "sales": national.plan.objective,
        "bound": national.plan.best_bound,
        "gap": national.plan.gap,
        "regions": len(national.regions),
        "max_region_assets": int(biggest["assets"]),
        "max_region_candidates": int(biggest["candidates"]),
        "relaxed": int(national.regions["relaxed"].sum()),
        "border": national.border,
        "peak_mb": _peak_mb(),
        "worker_peak_mb": max(peaks.values()) / 2**20,
    }


def _run(case: str, folder: Path, *extra: str, code: str | None = None) -> dict:
    """Run one case in a fresh process (with ``code``: the planner package in that folder)."""
    cmd = [sys.executable, __file__, "--case", case, "--dir", str(folder), *extra]
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _data(size: int, base: str) -> Path:
    folder = Path(f"{base}-{size // 1000}k")
    if not (folder / "assets.parquet").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "make_national.py"), "--assets", str(size),
             "--out", str(folder)],
            check=True,
        )  # fmt: skip
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="estate sizes, comma-separated")
    parser.add_argument("--plan-sizes", default="20000", help="sizes to plan nationally")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per region")
    parser.add_argument("--data", default="/tmp/ooh-national", help="data folder prefix")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each case, interleaved; the fastest is shown"
    )
    parser.add_argument(
        "--baseline-code",
        metavar="DIR",
        help="also time the Dask path of the planner package in DIR (an "
        "earlier commit: git archive REV planner | tar -x -C DIR)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        folder = Path(args.dir)
        result = {
            "single": lambda: case_single(folder),
            "dask": lambda: case_dask(folder),
            "dask2": lambda: case_dask(folder, two_calls=True),
            "plan": lambda: case_plan(folder, args.time_limit),
        }[args.case]()
        print(json.dumps(result))
        return
    print("Eligibility + valuation (uk-cap-code, 9 categories; LocalCluster of 2 processes)")
    print(f"{'assets':>8} {'sites':>7} {'method':<16} {'wall s':>8} {'CPU s':>8} "
          f"{'client':>7} {'peak MB':>9} {'worker MB':>10} {'same':>5}")  # fmt: skip
    for size in [int(s) for s in args.sizes.split(",") if s]:
        folder = _data(size, args.data)
        n_assets = len(pd.read_parquet(folder / "assets.parquet", columns=["asset_id"]))
        n_sites = len(pd.read_parquet(folder / "sites.parquet", columns=["site_id"]))
        cases = [("one process", "single", None), ("dask 2 workers", "dask", None)]
        cases.append(("dask, two calls", "dask2", None))
        if args.baseline_code:
            cases.append(("dask, baseline", "dask", args.baseline_code))
        # Interleaved, so that every case meets the same load; a shared machine only ever
        # adds time, so the fastest run of each is shown.
        runs: dict[str, list[dict]] = {name: [] for name, _, _ in cases}
        for _ in range(args.repeat):
            for name, case, code in cases:
                runs[name].append(_run(case, folder, code=code))
        best = {name: min(rs, key=lambda r: r["wall"]) for name, rs in runs.items()}
        single, dask = best["one process"], best["dask 2 workers"]
        for name, r in best.items():
            worker = f"{r['worker_peak_mb']:>10,.0f}" if "worker_peak_mb" in r else f"{'-':>10}"
            same = r["digest"] == single["digest"]
            print(
                f"{n_assets:>8,} {n_sites:>7,} {name:<16} {r['wall']:>8.1f} {r['cpu']:>8.1f} "
                f"{r.get('client_cpu', r['cpu']):>7.1f} {r['peak_mb']:>9,.0f} {worker} {same!s:>5}"
            )
        print(f"{'':>8} {'':>7} dask/one wall {dask['wall'] / single['wall']:.2f}x, "
              f"CPU {dask['cpu'] / single['cpu']:.2f}x (cluster start {dask['boot']:.1f} s "
              f"not counted; best of {args.repeat}); {_load_average()}")  # fmt: skip
    plan_sizes = [int(s) for s in args.plan_sizes.split(",") if s]
    if plan_sizes:
        print(f"\nNational plan (200 campaigns, one sub-problem per region, {args.time_limit:g} s "
              "per region, candidates_per_face=3)")  # fmt: skip
    for size in plan_sizes:
        r = _run("plan", _data(size, args.data), "--time-limit", str(args.time_limit))
        print(json.dumps({"assets": size, **r}, indent=None))
        print(_load_average())


if __name__ == "__main__":
    main()
