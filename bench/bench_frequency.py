"""Frequency in dense areas: the reach model's 2-week 6-sheet campaigns beside the trade's formula.

For dense London boroughs (Camden, ~12,000 residents a km²; Greenwich) it books one
classic 6-sheet face at 25, 50, 100 and 200 TfL bus stops drawn at random (seed 0), and at
the 100 busiest, for one 2-week cycle, and prints the model's cover, average frequency,
GRPs and 3+ cover (`planner.value.reach`, residents of the borough's LSOAs as the
universe). The baseline, in the same run, is the outdoor trade's published rule for
poster showings at the same GRPs, the Gallup math model of the OAAA's *Outdoor Media Math
Formulas* (2006)::

    frequency = GRPs / 100 + 2   (the weight factor of posters)
    reach %   = GRPs / frequency

Needs ``../shared/data`` (TfL bus stops, LSOA populations, borough boundaries); without
it the script says so and exits 0.

    python bench/bench_frequency.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_credibility import SHARED, london

from planner.calendar import CYCLE_DAYS
from planner.value.reach import build_catchments, reach_frequency
from planner.value.valuation import value_assets

#: The Gallup model's weight factor for posters (rotaries 4, permanent bulletins 6).
POSTER_WEIGHT = 2.0


def trade_formula(grps: float, weight: float = POSTER_WEIGHT) -> tuple[float, float]:
    """Return the (reach %, average frequency) the Gallup math model gives at ``grps``."""
    frequency = grps / 100 + weight
    return min(100.0, grps / frequency), frequency


def borough_campaigns(borough: str) -> list[dict[str, object]]:
    """One row per campaign size: the model's measures and the formula's at the same GRPs."""
    data = london(borough)
    assert data is not None
    assets, zones, transit = data
    assets = assets.assign(format="6-sheet", faces=1, digital=False, slots=1)
    values = value_assets(assets, zones=zones, transit=transit)
    catchments = build_catchments(values, zones)
    bounds = gpd.read_file(
        SHARED / "london_lsoa_population" / "raw" / "london-2021-lad22-gen20.shp"
    )
    area = bounds.to_crs(27700).loc[bounds["LAD22NM"] == borough].geometry.union_all()
    universe = zones.to_crs(27700).geometry.centroid.within(area).to_numpy()
    rng = np.random.default_rng(0)
    cycle = values["weekly_impacts"] * CYCLE_DAYS / 7
    picks = [
        (f"{n} at random", rng.choice(len(values), n, replace=False)) for n in (25, 50, 100, 200)
    ]
    picks.append(("100 busiest", np.argsort(-values["weekly_impacts"].to_numpy())[:100]))
    rows = []
    for label, pick in picks:
        rf = reach_frequency(
            catchments, values["asset_id"].iloc[pick], cycle.iloc[pick], universe=universe
        )
        reach, frequency = trade_formula(rf.grps)
        rows.append(
            {
                "borough": borough,
                "6-sheets (2 weeks)": label,
                "GRPs": round(rf.grps),
                "cover % (model)": round(rf.cover_pct, 1),
                "frequency (model)": round(rf.avg_frequency, 1),
                "3+ cover % (model)": round(100 * rf.at_least[3] / rf.universe, 1),
                "cover % (trade)": round(reach, 1),
                "frequency (trade)": round(frequency, 1),
                "frequency ratio": round(rf.avg_frequency / frequency, 2),
            }
        )
    return rows


def main() -> int:
    """Print the table (or why it cannot be made) and return 0."""
    if not (SHARED / "london_tfl_bus_stops").is_dir():
        print(f"skipped: {SHARED} is absent (TfL bus stops and LSOA populations are needed)")
        return 0
    start = time.perf_counter()
    rows = [row for borough in ("Camden", "Greenwich") for row in borough_campaigns(borough)]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    print(
        "\nmodel: planner.value.reach (NBD k = 0.97, residents of the borough's LSOAs); "
        "trade: Gallup math model, OAAA Outdoor Media Math Formulas (2006), posters"
    )
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
