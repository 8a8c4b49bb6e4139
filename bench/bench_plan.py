"""Benchmark the placement optimiser on real TfL bus stops: every method, one instance, one run.

Two scenarios, each on real data from ``../shared/data`` (TfL bus stops, open GIAS schools,
LSOA population) with synthetic campaigns drawn from a fixed seed, policy ``uk-cap-code``,
prices and audiences from ``planner.value_assets`` (rate card ``uk-default``):

- ``borough``: Croydon's 1,123 stops (5% of them made digital, six slots each), 25
  campaigns over 7 cycles (`borough_campaigns`): 3 alcohol, 3 gambling and 4 HFSS
  campaigns with 15-35 faces a cycle at least, 150-200 m apart, competitor groups
  (drinks, betting, banks), local campaigns, budgets that bind; ``uk-cap-code`` plus an
  alcohol share cap of 20% of the faces booked in a cycle. The greedy planner is not
  optimal here (it even breaks a minimum).
- ``london``: all 20,399 valid stops, 50 campaigns over 4 cycles (`synthetic_campaigns`),
  1.6 million candidates.

Methods, all in the same run on the same instance:

- ``greedy``: `planner.optimise.greedy.greedy_plan`, the old warm start (the baseline);
- ``heuristic``: `planner.optimise.construct.construct_plan` (greedy + repair), the new
  starting plan;
- ``planner default``: `planner.optimise.solve.solve_instance` with the default settings
  (deterministic search, reproducible);
- ``planner fast``: the same with ``deterministic=False`` (``plan --fast``);
- ``LP bound``: `planner.optimise.bound.lp_relaxation` alone (PDLP), a bound, no plan;
- ``HiGHS MIP`` and ``HiGHS LP`` (peers, optional: ``pip install highspy``): the same
  rules written as a mixed-integer program (`planner.optimise.bound.linear_program` with
  integer candidates; the density rules, which that program leaves out, are checked on
  the plan afterwards) solved by HiGHS, and its LP relaxation solved exactly by HiGHS's
  simplex. Each runs in its own process (``highspy`` and ``ortools`` must not share one);
  its memory is the child's peak.

Columns: seconds to the first valid plan, objective (revenue in pence), the method's own
bound and where it comes from, ``gap`` to the best bound any method found, wall and CPU
seconds of the call (the machine may be shared: see the load average printed), peak
resident memory of the process during the call, and the verdict of the independent check
(`planner.optimise.verify.plan_violations`, any size).

    python bench/bench_plan.py                       # both scenarios
    python bench/bench_plan.py --scenario borough --time-limit 60
    python bench/bench_plan.py --scenario london --lp-seconds 600
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil

import planner
from planner.campaigns import parse_campaigns
from planner.optimise.bound import linear_program, lp_relaxation
from planner.optimise.construct import construct_plan
from planner.optimise.greedy import greedy_plan
from planner.optimise.instance import build_instance
from planner.optimise.model import objective_ceiling, objective_value
from planner.optimise.settings import SolverSettings
from planner.optimise.solve import solve_instance
from planner.optimise.verify import plan_violations
from planner.policy.load import Policy, ShareRule

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PRICE_6_SHEET = 92.0  # uk-default rate card, classic 6-sheet per cycle: sizes the budgets

#: Category mix of the London campaigns; alcohol, HFSS and gambling meet uk-cap-code.
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
#: The borough's campaigns in order: categories under uk-cap-code need 15-35 faces a cycle.
BOROUGH_CATEGORIES = (
    ["general"] * 6 + ["alcohol"] * 3 + ["gambling"] * 3 + ["hfss"] * 4 + ["general"] * 5
    + ["fossil_fuels", "payday_loans", "political", "general"]
)  # fmt: skip
#: The share rule added to uk-cap-code in the borough scenario.
ALCOHOL_SHARE = ShareRule("alcohol-share-20", ("alcohol",), 0.2)


@dataclass(frozen=True)
class Scenario:
    """One benchmark case: where, how many campaigns and cycles, and the goal."""

    name: str
    borough: str | None
    n_campaigns: int
    n_cycles: int
    time_limit: float
    goal: str
    run_cycles: tuple[int, int] = (1, 4)
    min_faces: tuple[int, int] = (100, 400)
    extra_faces: tuple[int, int] = (200, 1500)
    local_share: float = 0.4
    local_radius_m: tuple[int, int] = (2000, 6000)
    local_faces: tuple[int, int] = (10, 40)
    candidates_per_face: float = 0.0
    digital_share: float = 0.0
    seed: int = 2026


SCENARIOS = {
    "borough": Scenario(
        name="borough",
        borough="Croydon",
        n_campaigns=25,
        n_cycles=7,
        time_limit=30.0,
        goal="first valid plan <= 5 s; gap <= 0.5% within the default 30 s",
        digital_share=0.05,
        seed=14,
    ),
    "london": Scenario(
        name="london",
        borough=None,
        n_campaigns=50,
        n_cycles=4,
        time_limit=60.0,
        goal="better than greedy, gap <= 1% to the LP bound within 60 s and 2 GB",
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


def borough_campaigns(assets: gpd.GeoDataFrame, scenario: Scenario) -> pd.DataFrame:
    """The borough's campaigns, drawn from the scenario's seed (`BOROUGH_CATEGORIES`).

    Each runs 2-5 consecutive cycles. Alcohol, gambling and HFSS campaigns need 15-35 faces
    in each cycle, 150 or 200 m apart; general ones 0-30 (a third of them local: a circle
    of 1.5-3 km round a random stop, 2-7 faces), some 100 m apart. Up to 20-120 faces more
    (a quarter of that when local); budgets buy 50-120% of the way from the minimum to the
    maximum at the 6-sheet price, so many bind. Alcohol and gambling campaigns form
    competitor groups, as do about a third of the general ones ("banks").
    """
    rng = np.random.default_rng(scenario.seed)
    lon, lat = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    rows = []
    for i, category in enumerate(BOROUGH_CATEGORIES[: scenario.n_campaigns]):
        length = int(rng.integers(2, 6))
        start = int(rng.integers(1, scenario.n_cycles - length + 2))
        cycles = list(range(start, start + length))
        restricted = category in ("alcohol", "gambling", "hfss")
        local = (not restricted) and rng.random() < 0.3
        if restricted:
            low, spacing = int(rng.integers(15, 36)), float(rng.choice([150.0, 200.0]))
        else:
            low = int(rng.integers(2, 8)) if local else int(rng.integers(0, 31))
            spacing = float(rng.choice([0.0, 0.0, 100.0]))
        high = low + int(rng.integers(20, 121) * (0.25 if local else 1))
        faces = low + rng.uniform(0.5, 1.2) * (high - low)
        group = COMPETITOR_GROUPS.get(category, "")
        if category == "general" and rng.random() < 0.35:
            group = "banks"
        area = ""
        if local:
            j = int(rng.integers(len(assets)))
            area = f"circle:{lon[j]:.5f},{lat[j]:.5f},{int(rng.integers(1500, 3000))}"
        rows.append(
            {
                "campaign_id": f"C{i + 1:02d}",
                "advertiser": f"Advertiser {i + 1}",
                "category": category,
                "budget": max(round(PRICE_6_SHEET * len(cycles) * faces, -2), 100.0),
                "cycles": ";".join(str(t) for t in cycles),
                "min_faces": low,
                "max_faces": high,
                "area": area,
                "competitor_group": group,
                "min_spacing_m": spacing,
                "priority": int(rng.integers(1, 4)),
            }
        )
    return pd.DataFrame(rows)


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


class FirstPlan:
    """Progress callback that notes when the solve had its first valid plan (wall seconds)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None

    def __call__(self, fraction: float, message: str) -> None:
        if self.first is None and message.startswith(("starting plan ready", "solution")):
            self.first = time.perf_counter() - self.started


def run_scenario(scenario: Scenario, *, solver: SolverSettings, lp_seconds: float) -> pd.DataFrame:
    """Prepare the scenario and run every method on it; return the comparison table."""
    prep = timed(lambda: _prepare(scenario))
    assets, campaigns, policy, table, values, zones = prep.value
    print(
        f"\n== {scenario.name}: {len(assets):,} stops, {len(campaigns)} campaigns, "
        f"{scenario.n_cycles} cycles, policy {policy.name}; goal: {scenario.goal}"
    )
    built = timed(
        lambda: build_instance(assets, campaigns, policy, table, values=values, zones=zones)
    )
    inst = built.value
    ceiling = objective_ceiling(inst, "revenue")
    print(
        f"   data, eligibility and values {prep.wall:.1f} s; instance {built.wall:.1f} s: "
        f"{inst.n_candidates:,} candidates; per-campaign ceiling {ceiling:,}"
    )
    rows = [
        _plain("greedy (baseline)", inst, lambda: greedy_plan(inst, "revenue")),
        _plain("heuristic (greedy + repair)", inst, lambda: construct_plan(inst, "revenue")),
    ]
    for label, settings in (
        ("planner default (deterministic)", solver),
        ("planner fast (not reproducible)", replace(solver, deterministic=False)),
    ):
        rows.append(_planner(label, inst, settings))
    lp = timed(lambda: lp_relaxation(inst, {"revenue": 1.0}, seconds=lp_seconds, threads=2))
    rows.append(
        {
            "method": f"LP bound (PDLP{'' if lp.value.converged else ', not converged'})",
            "bound": lp.value.bound,
            "source": "lp relaxation",
            **_costs(lp),
        }
    )
    rows.extend(_highs_rows(inst, solver.time_limit, lp_seconds))
    frame = pd.DataFrame(rows)
    best = float(np.nanmin(np.r_[frame["bound"].to_numpy(dtype=float), ceiling]))
    frame["gap"] = (best - frame["objective"]) / best
    print(f"   best bound any method found: {best:,.0f}")
    return frame


def _plain(label: str, inst, call: Callable[[], np.ndarray]) -> dict:
    """A heuristic's row: its plan is valid (or not) as soon as it returns."""
    run = timed(call)
    problems = plan_violations(inst, run.value)
    return {
        "method": label,
        "first_valid_s": run.wall if not problems else np.nan,
        "objective": float(objective_value(inst, run.value, "revenue")),
        "bound": np.nan,
        "source": "",
        **_costs(run),
        "check": "valid" if not problems else f"INVALID ({len(problems)})",
    }


def _planner(label: str, inst, solver: SolverSettings) -> dict:
    """The planner's row: first valid plan, objective, its bound and source, reproducibility."""
    first = FirstPlan()
    run = timed(lambda: solve_instance(inst, "revenue", solver=solver, progress=first))
    result = run.value
    problems = plan_violations(inst, result.chosen) if result.ok else ["no plan"]
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    print(
        f"   {label}: {result.status}, {result.method}; {steps}; reproducible "
        f"{'yes' if result.reproducible else 'no'}"
    )
    return {
        "method": label,
        "first_valid_s": first.first if first.first is not None else np.nan,
        "objective": float(result.objective) if result.ok else np.nan,
        "bound": float(result.bound),
        "source": result.bound_source,
        **_costs(run),
        "check": "valid" if not problems else f"INVALID ({len(problems)})",
    }


def _highs_rows(inst, seconds: float, lp_seconds: float) -> list[dict]:
    """HiGHS's MIP and exact LP on the same rules, each in a child process (see module doc)."""
    if importlib.util.find_spec("highspy") is None:
        print("   HiGHS rows skipped: highspy is not installed (pip install highspy)")
        return []
    lp = linear_program(inst, {"revenue": 1.0})
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-highs-") as folder:
        source = Path(folder) / "lp.npz"
        matrix = lp.matrix.tocsc()
        np.savez(
            source, indptr=matrix.indptr, indices=matrix.indices, data=matrix.data,
            shape=np.array(matrix.shape), lo=lp.lo, hi=lp.hi, c=lp.c, lb=lp.lb, ub=lp.ub,
            n_int=np.array(lp.n_candidates),
        )  # fmt: skip
        for mode in ("mip", "lp"):
            out = Path(folder) / f"{mode}.npz"
            done = subprocess.run(
                [sys.executable, __file__, "--highs-worker", str(source), str(out), mode,
                 str(seconds if mode == "mip" else lp_seconds)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode or not out.exists():
                print(f"   HiGHS {mode} failed: {done.stderr.strip()[-300:]}")
                continue
            got = np.load(out)
            row = {
                "method": f"HiGHS {'MIP' if mode == 'mip' else 'LP (simplex)'} ({got['status']})",
                "bound": float(got["bound"]),
                "source": "highs",
                "wall_s": float(got["wall"]),  # the child's load and solve, not its start-up
                "cpu_s": float(got["cpu"]),
                "peak_mb": float(got["peak_mb"]),
            }
            if mode == "mip":
                x = got["x"][: inst.n_candidates]
                chosen = np.flatnonzero(x > 0.5)
                problems = plan_violations(inst, chosen) if len(chosen) else None
                row |= {
                    "first_valid_s": float(got["first"]) if problems == [] else np.nan,
                    "objective": float(objective_value(inst, chosen, "revenue"))
                    if problems is not None
                    else np.nan,
                    "check": "no plan"
                    if problems is None
                    else ("valid" if not problems else f"INVALID ({len(problems)})"),
                }
            else:
                row["source"] = "highs lp relaxation"
            rows.append(row)
    return rows


def highs_worker(source: str, out: str, mode: str, seconds: float) -> int:
    """Child process: solve the saved program with HiGHS and save the answer."""
    import highspy

    memory = PeakMemory()  # sampled in the child: its ru_maxrss would count the parent's
    memory.__enter__()
    wall, cpu = time.perf_counter(), time.process_time()
    data = np.load(source)
    n_rows, n_cols = (int(v) for v in data["shape"])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = data["c"], data["lb"], data["ub"]
    lp.row_lower_, lp.row_upper_ = data["lo"], data["hi"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = data["indptr"]
    lp.a_matrix_.index_ = data["indices"]
    lp.a_matrix_.value_ = data["data"]
    lp.sense_ = highspy.ObjSense.kMaximize
    if mode == "mip":
        n_int = int(data["n_int"])
        kinds = [highspy.HighsVarType.kInteger] * n_int
        lp.integrality_ = kinds + [highspy.HighsVarType.kContinuous] * (n_cols - n_int)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(seconds))
    h.setOptionValue("random_seed", 0)
    started, first = time.perf_counter(), [np.nan]

    def improving(event) -> None:
        if np.isnan(first[0]):
            first[0] = time.perf_counter() - started

    with contextlib.suppress(AttributeError):  # an older highspy has no callbacks
        h.cbMipImprovingSolution.subscribe(improving)
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if mode == "mip":
        bound = info.mip_dual_bound  # valid whenever HiGHS stops
    else:  # an unfinished simplex's objective is no bound
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        bound = info.objective_function_value if optimal else np.nan
    x = np.asarray(h.getSolution().col_value, dtype=float)
    np.savez(
        out, x=x, bound=bound, status=status, first=first[0],
        wall=time.perf_counter() - wall, cpu=time.process_time() - cpu,
        peak_mb=memory.mb,
    )  # fmt: skip
    return 0


def _prepare(scenario: Scenario):
    assets, schools, zones = load_data(scenario.borough)
    if scenario.digital_share:
        rng = np.random.default_rng(scenario.seed)
        digital = rng.random(len(assets)) < scenario.digital_share
        assets.loc[digital, "digital"] = True
        assets.loc[digital, "format"] = "d6"
    policy = planner.load_policy("uk-cap-code")
    if scenario.borough is not None:
        policy = Policy(
            f"{policy.name} + alcohol at most 20% of faces", rules=(*policy.rules, ALCOHOL_SHARE)
        )
        frame = borough_campaigns(assets, scenario)
    else:
        frame = synthetic_campaigns(assets, scenario)
    table = planner.eligibility(assets, schools, policy)
    values = planner.value_assets(assets, zones=zones, rate_card="uk-default")
    campaigns = parse_campaigns(frame, categories=policy.categories)
    return assets, campaigns, policy, table, values, zones


def _costs(run: Timed) -> dict:
    return {"wall_s": run.wall, "cpu_s": run.cpu, "peak_mb": run.peak_mb}


def print_table(frame: pd.DataFrame) -> None:
    shown = frame.copy()
    for column in ("objective", "bound"):
        shown[column] = shown[column].map(lambda v: f"{v:,.0f}" if np.isfinite(v) else "-")
    shown["gap"] = shown["gap"].map(lambda v: f"{v:.3%}" if np.isfinite(v) else "-")
    for column in ("first_valid_s", "wall_s", "cpu_s"):
        shown[column] = shown[column].map(lambda v: f"{v:.1f}" if np.isfinite(v) else "never")
    shown["peak_mb"] = shown["peak_mb"].map("{:,.0f}".format)
    shown = shown.fillna("")
    print(shown.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--highs-worker"]:
        return highs_worker(argv[1], argv[2], argv[3], float(argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["borough", "london", "all"], default="all")
    parser.add_argument("--time-limit", type=float, help="override the scenario's limit (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--candidates-per-face",
        type=float,
        help="override the scenario's candidate pruning (0 keeps every candidate)",
    )
    parser.add_argument(
        "--lp-seconds", type=float, default=600.0, help="wall-clock guard of the LP bound row"
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
            candidates_per_face=prune
            if args.candidates_per_face is None
            else args.candidates_per_face,
        )
        if args.verbose:
            frame = _prepare(scenario)[1]
            print(pd.DataFrame([c.__dict__ for c in frame]).to_string(index=False))
        frame = run_scenario(scenario, solver=solver, lp_seconds=args.lp_seconds)
        print_table(frame)
        print(f"   load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
