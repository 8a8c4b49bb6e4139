"""Benchmark the placement optimiser on real TfL bus stops: greedy baseline vs CP-SAT.

Two scenarios from the issue, each on real data from ``../shared/data`` with synthetic
campaigns drawn from a fixed seed (see `synthetic_campaigns`), policy ``uk-cap-code``
with the open GIAS schools, prices and audiences from ``planner.value_assets`` (rate card
``uk-default``):

- ``borough``: Greenwich's 721 stops, 30 campaigns over 26 cycles. Goal: proven optimal
  within 10 s.
- ``london``: all 20,399 valid stops, 50 campaigns over 4 cycles. Goal: a plan with a gap
  of at most 1% within 60 s. Its 1.6 million candidates are pruned to 3 per face a
  campaign may take (``SolverSettings.candidates_per_face``; measured: the full model takes
  7.5 s to build and 22 s of presolve, the pruned one 1.1 s and 7 s). It runs a
  wall-clock search: in deterministic mode the limit is counted in deterministic seconds,
  which its LP work undercounts (a 60 s limit ran 126 s).

For each scenario the table compares the greedy planner (the named baseline) with CP-SAT
warm-started from it (`planner.solve_instance`): objective (revenue in
pence), best bound and gap (the greedy row's against CP-SAT's bound; of the reduced
problem when pruned), ``full_gap`` against the per-campaign ceiling (a valid bound on the
whole problem, `planner.optimise.model.objective_ceiling`), wall and CPU seconds of the call (the
machine may be shared: see the load average printed), seconds to build the instance and
the CP-SAT model, variables in the model, peak resident memory of the process during the
call, and whether `plan_violations` finds the plan valid.

    python bench/bench_plan.py                       # both scenarios
    python bench/bench_plan.py --scenario borough --objective impacts
    python bench/bench_plan.py --scenario london --search deterministic --time-limit 300
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil

import planner
from planner.campaigns import parse_campaigns
from planner.optimise.greedy import greedy_plan
from planner.optimise.instance import build_instance
from planner.optimise.model import objective_ceiling, objective_value
from planner.optimise.settings import SolverSettings
from planner.optimise.solve import solve_instance
from planner.optimise.verify import plan_violations

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PRICE_6_SHEET = 92.0  # uk-default rate card, classic 6-sheet per cycle: sizes the budgets
CHECK_LIMIT = 20_000  # plan_violations compares placements pairwise within a cycle

#: Category mix of the synthetic campaigns; alcohol, HFSS and gambling meet uk-cap-code.
CATEGORY_WEIGHTS = {
    "general": 0.40,
    "alcohol": 0.14,
    "hfss": 0.14,
    "gambling": 0.10,
    "fossil_fuels": 0.08,
    "political": 0.07,
    "payday_loans": 0.07,
}
COMPETITOR_GROUPS = {"alcohol": "drinks", "gambling": "betting"}
SPACINGS_M = (100.0, 200.0, 300.0)


@dataclass(frozen=True)
class Scenario:
    """One benchmark case: where, how many campaigns and cycles, and the goal."""

    name: str
    borough: str | None
    n_campaigns: int
    n_cycles: int
    run_cycles: tuple[int, int]
    min_faces: tuple[int, int]
    extra_faces: tuple[int, int]
    local_share: float
    local_radius_m: tuple[int, int]
    local_faces: tuple[int, int]
    time_limit: float
    goal: str
    candidates_per_face: float = 0.0
    deterministic: bool = True
    seed: int = 2026


SCENARIOS = {
    "borough": Scenario(
        name="borough",
        borough="Greenwich",
        n_campaigns=30,
        n_cycles=26,
        run_cycles=(2, 6),
        min_faces=(5, 30),
        extra_faces=(10, 120),
        local_share=0.2,
        local_radius_m=(1500, 3000),
        local_faces=(3, 15),
        time_limit=10.0,
        goal="proven optimal within 10 s",
    ),
    "london": Scenario(
        name="london",
        borough=None,
        n_campaigns=50,
        n_cycles=4,
        run_cycles=(1, 4),
        min_faces=(100, 400),
        extra_faces=(200, 1500),
        local_share=0.4,
        local_radius_m=(2000, 6000),
        local_faces=(10, 40),
        time_limit=60.0,
        goal="gap <= 1% within 60 s",
        candidates_per_face=3.0,
        deterministic=False,
    ),
}


# --- data ------------------------------------------------------------------------------


def load_data(borough: str | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """TfL stops (one borough's, or all), open GIAS schools and LSOA population zones."""
    stops = planner.load_assets(
        SHARED / "london_tfl_bus_stops" / "bus-stops.csv",
        crs="EPSG:27700",
        columns={"Stop_Code_LBSL": "asset_id"},
        defaults={"asset_type": "bus_stop"},
        drop_invalid=True,
    )
    schools = planner.load_sites(
        SHARED / "london_schools_gias" / "london_nurseries_edubase_2019.csv",
        encoding="cp1252",
        crs="EPSG:27700",
        columns={"EstablishmentName": "name"},
        defaults={"kind": "school"},
        drop_invalid=True,
    )
    schools = schools[schools["EstablishmentStatus (name)"] == "Open"].reset_index(drop=True)
    zones = planner.load_zones(
        SHARED / "london_lsoa_population" / "london_lsoa2011_pop_mid2020.gpkg"
    )
    if borough is not None:
        stops = _in_borough(stops, borough)
    return stops, schools, zones


def _in_borough(stops: gpd.GeoDataFrame, borough: str) -> gpd.GeoDataFrame:
    boundaries = gpd.read_file(
        SHARED / "london_lsoa_population" / "raw" / "london-2021-lad22-gen20.shp"
    )
    area = boundaries.loc[boundaries["LAD22NM"] == borough, ["geometry"]].to_crs(stops.crs)
    inside = gpd.sjoin(stops, area, predicate="within").index.unique()
    return stops.loc[np.sort(inside)].reset_index(drop=True)


def synthetic_campaigns(assets: gpd.GeoDataFrame, scenario: Scenario) -> pd.DataFrame:
    """A campaigns table drawn from the scenario's seed.

    Each campaign runs a block of consecutive cycles (one in six every other cycle
    instead); a share are local (a circle around a random stop, with fewer faces); budgets
    buy between 40% and 130% of the way from ``min_faces`` to ``max_faces`` in every
    cycle at the 6-sheet price, so some bind; a third keep a minimum spacing; alcohol and
    gambling campaigns form competitor groups, as do some general ones ("banks").
    """
    rng = np.random.default_rng(scenario.seed)
    names, weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
    lon, lat = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    rows = []
    for i in range(scenario.n_campaigns):
        category = str(rng.choice(names, p=np.array(weights) / sum(weights)))
        cycles = _cycles(rng, scenario)
        local = rng.random() < scenario.local_share
        low, high = scenario.local_faces if local else scenario.min_faces
        min_faces = int(rng.integers(low, high + 1))
        extra_low, extra_high = scenario.extra_faces
        scale = 0.25 if local else 1.0
        max_faces = min_faces + int(scale * rng.integers(extra_low, extra_high + 1))
        share = rng.uniform(0.4, 1.3)
        faces = min_faces + share * (max_faces - min_faces)
        budget = round(PRICE_6_SHEET * len(cycles) * faces, -2)
        group = COMPETITOR_GROUPS.get(category, "")
        if category == "general" and rng.random() < 0.3:
            group = "banks"
        area = ""
        if local:
            j = int(rng.integers(len(assets)))
            radius = int(rng.integers(*scenario.local_radius_m))
            area = f"circle:{lon[j]:.5f},{lat[j]:.5f},{radius}"
        spacing = float(rng.choice(SPACINGS_M)) if rng.random() < 1 / 3 else 0.0
        rows.append(
            {
                "campaign_id": f"C{i + 1:02d}",
                "advertiser": f"Advertiser {i + 1}",
                "category": category,
                "budget": max(budget, 100.0),
                "cycles": ";".join(str(t) for t in cycles),
                "min_faces": min_faces,
                "max_faces": max_faces,
                "area": area,
                "competitor_group": group,
                "min_spacing_m": spacing,
                "priority": int(rng.integers(1, 4)),
            }
        )
    return pd.DataFrame(rows)


def _cycles(rng: np.random.Generator, scenario: Scenario) -> list[int]:
    low, high = scenario.run_cycles
    length = int(rng.integers(low, high + 1))
    step = 2 if rng.random() < 1 / 6 and 2 * length - 1 <= scenario.n_cycles else 1
    span = step * (length - 1) + 1
    start = int(rng.integers(1, scenario.n_cycles - span + 2))
    return list(range(start, start + span, step))


# --- measuring ---------------------------------------------------------------------------


class PeakMemory:
    """Peak resident memory of this process while the block runs (sampled every 10 ms)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.01)

    def __enter__(self) -> PeakMemory:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mb(self) -> float:
        return self.peak / 2**20


@dataclass
class Timed:
    """Wall and CPU seconds and peak memory of one call, with its result."""

    value: object
    wall: float
    cpu: float
    peak_mb: float


def timed(call: Callable[[], object]) -> Timed:
    with PeakMemory() as memory:
        wall, cpu = time.perf_counter(), time.process_time()
        value = call()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timed(value, wall, cpu, memory.mb)


# --- the benchmark -----------------------------------------------------------------------


def run_scenario(
    scenario: Scenario, *, objective: str, solver: SolverSettings, verbose: bool = False
) -> pd.DataFrame:
    """Prepare the scenario, run greedy and CP-SAT, and return the comparison table."""
    prep = timed(lambda: _prepare(scenario))
    assets, campaigns, policy, table, values, zones = prep.value
    print(
        f"\n== {scenario.name}: {len(assets):,} stops, {len(campaigns)} campaigns, "
        f"{scenario.n_cycles} cycles, objective {objective}; goal: {scenario.goal}"
    )
    search = "deterministic" if solver.deterministic else "wall-clock"
    print(
        f"   data, eligibility and values prepared in {prep.wall:.1f} s; CP-SAT: "
        f"{solver.time_limit:g} s {search}, {solver.workers} workers"
    )
    if verbose:
        print(pd.DataFrame(campaigns).drop(columns=["advertiser"]).to_string(index=False))
    built = timed(
        lambda: build_instance(assets, campaigns, policy, table, values=values, zones=zones)
    )
    inst = built.value
    greedy = timed(lambda: greedy_plan(inst, objective))
    cpsat = timed(lambda: solve_instance(inst, objective, solver=solver))
    result = cpsat.value
    ceiling = objective_ceiling(inst, objective)
    print(
        f"   instance built in {built.wall:.2f} s: {inst.n_candidates:,} candidates; "
        f"per-campaign ceiling (a valid bound on the full problem): "
        + (f"{ceiling:,}" if ceiling is not None else "-")
    )
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    print(f"   CP-SAT run: {steps}; status {result.status}, method {result.method}")
    if result.pruned:
        print(
            f"   pruned to {inst.n_candidates - result.pruned:,} candidates "
            f"({solver.candidates_per_face:g} per face): bound and gap are those of the "
            "reduced problem; 'full gap' uses the ceiling"
        )
    greedy_value = objective_value(inst, greedy.value, objective)
    rows = [
        {
            "method": "greedy (baseline)",
            **_numbers(greedy_value, result.bound, ceiling),
            **_costs(greedy, built.wall, 0.0, inst.n_candidates),
            "valid": _valid(inst, greedy.value),
        },
        {
            "method": "CP-SAT + greedy hint",
            **_numbers(result.objective, result.bound, ceiling),
            "gap": result.gap,
            **_costs(
                cpsat,
                built.wall,
                result.timings.get("model", np.nan),
                inst.n_candidates - result.pruned,
            ),
            "valid": _valid(inst, result.chosen),
        },
    ]
    return pd.DataFrame(rows)


def _prepare(scenario: Scenario):
    assets, schools, zones = load_data(scenario.borough)
    policy = planner.load_policy("uk-cap-code")
    table = planner.eligibility(assets, schools, policy)
    values = planner.value_assets(assets, zones=zones, rate_card="uk-default")
    frame = synthetic_campaigns(assets, scenario)
    campaigns = parse_campaigns(frame, categories=policy.categories)
    return assets, campaigns, policy, table, values, zones


def _numbers(value: float, bound: float, ceiling: int | None) -> dict:
    """Objective, bound and gaps; the greedy row's gap is against CP-SAT's bound."""

    def gap(top) -> float:
        if top is None or not np.isfinite(top) or top <= 0:
            return np.nan
        return max(0.0, (top - value) / top)

    return {"objective": value, "best_bound": bound, "gap": gap(bound), "full_gap": gap(ceiling)}


def _costs(run: Timed, instance_s: float, model_s: float, variables: int) -> dict:
    return {
        "solve_s": run.wall,
        "cpu_s": run.cpu,
        "instance_s": instance_s,
        "model_s": model_s,
        "variables": variables,
        "peak_mb": run.peak_mb,
    }


def _valid(inst, chosen) -> str:
    """The solver-independent check; skipped above `CHECK_LIMIT` placements (it is quadratic)."""
    if len(chosen) > CHECK_LIMIT:
        return f"not checked (>{CHECK_LIMIT:,})"
    problems = plan_violations(inst, chosen)
    return "yes" if not problems else f"NO ({len(problems)})"


def print_table(frame: pd.DataFrame) -> None:
    shown = frame.copy()
    for column in ("objective", "best_bound"):
        shown[column] = shown[column].map(lambda v: f"{v:,.0f}" if np.isfinite(v) else "-")
    for column in ("gap", "full_gap"):
        shown[column] = shown[column].map(lambda v: f"{v:.3%}" if np.isfinite(v) else "-")
    for column in ("solve_s", "cpu_s", "instance_s", "model_s"):
        shown[column] = shown[column].map(lambda v: f"{v:.2f}" if np.isfinite(v) else "-")
    shown["variables"] = shown["variables"].map("{:,}".format)
    shown["peak_mb"] = shown["peak_mb"].map("{:,.0f}".format)
    print(shown.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["borough", "london", "all"], default="all")
    parser.add_argument("--objective", default="revenue", help="revenue, impacts or reach")
    parser.add_argument("--time-limit", type=float, help="override the scenario's limit (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--candidates-per-face",
        type=float,
        help="override the scenario's candidate pruning (0 keeps every candidate)",
    )
    parser.add_argument(
        "--search",
        choices=["scenario", "deterministic", "wall-clock"],
        default="scenario",
        help="CP-SAT search: the scenario's choice (borough deterministic, london "
        "wall-clock), interleaved deterministic, or plain wall-clock parallel",
    )
    parser.add_argument("--verbose", action="store_true", help="print the campaigns")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"Skipped: the shared data folder {SHARED} is absent (see its README).")
        return 0
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work slows the "
        f"wall-clock columns); Python {sys.version.split()[0]}"
    )
    names = ["borough", "london"] if args.scenario == "all" else [args.scenario]
    for name in names:
        scenario = SCENARIOS[name]
        prune = scenario.candidates_per_face
        solver = SolverSettings(
            time_limit=args.time_limit or scenario.time_limit,
            workers=args.workers,
            deterministic=(
                scenario.deterministic
                if args.search == "scenario"
                else args.search == "deterministic"
            ),
            candidates_per_face=prune
            if args.candidates_per_face is None
            else args.candidates_per_face,
        )
        frame = run_scenario(
            scenario, objective=args.objective, solver=solver, verbose=args.verbose
        )
        print_table(frame)
        print(f"   load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
