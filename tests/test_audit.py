"""Audit: finds planted violations of each rule type, passes clean plans, matches eligibility.

Also the ``audit`` command's exit codes.
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import make_assets, make_sites

from planner.calendar import cycle_dates
from planner.errors import DataValidationError
from planner.policy.audit import VIOLATION_COLUMNS, audit
from planner.policy.eligibility import eligibility
from planner.policy.load import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
)

START = date(2027, 1, 4)


def plan(*rows) -> pd.DataFrame:
    """Placements from (asset_id, category, cycle[, faces[, campaign_id]]) tuples."""
    columns = ("asset_id", "category", "cycle", "faces", "campaign_id")
    defaults = (1, "C1")
    return pd.DataFrame(
        [dict(zip(columns, (*row, *defaults[len(row) - 3 :]), strict=True)) for row in rows]
    )


POLICY = Policy(
    "Everything",
    rules=(
        BanRule("no-payday", ("payday_loans",)),
        ExclusionRule("schools-100m", ("alcohol",), ("school",), 100),
        DensityRule("clutter", 3, 100),
        ShareRule("hfss-share", ("hfss",), 0.5),
        PeriodRule("purdah", ("political",), date(2027, 3, 25), date(2027, 5, 6)),
    ),
)
# A0-A2 within 100 m of each other; A3 99 m from the school; A4 101 m; A5 inside its grounds.
ASSETS = make_assets([(0, 0), (60, 0), (120, 0), (1099, 1000), (1000, 1299), (2050, 2050)], faces=2)
SITES = make_sites([shapely.Point(1000, 1000).buffer(0.001), shapely.box(2000, 2000, 2100, 2100)])
# Cycle 7 (2027-03-29 to 2027-04-11) overlaps the pre-election period; cycle 4 does not.
CLEAN = plan(
    ("A0", "general", 1),
    ("A1", "general", 1),
    ("A2", "general", 1),
    ("A4", "alcohol", 1),
    ("A3", "hfss", 2),
    ("A4", "general", 2),
    ("A0", "political", 4),
)


def test_clean_plan_passes() -> None:
    result = audit(CLEAN, ASSETS, SITES, POLICY, start=START)
    assert result.empty
    assert tuple(result.columns) == VIOLATION_COLUMNS


def test_planted_violation_of_every_rule_type_is_found() -> None:
    dirty = pd.concat(
        [
            CLEAN,
            plan(
                ("A0", "payday_loans", 3, 1, "loans"),
                ("A3", "alcohol", 2, 1, "beer"),
                ("A5", "alcohol", 3, 1, "wine"),
                ("A1", "general", 1),  # A0-A2 now carry 4 faces in cycle 1
                ("A5", "hfss", 2),
                ("A5", "hfss", 2),  # 3 of 5 faces in cycle 2
                ("A2", "political", 7, 1, "vote"),
            ),
        ],
        ignore_index=True,
    )
    result = audit(dirty, ASSETS, SITES, POLICY, start=START)
    found = {(r.rule_id, r.asset_id, r.cycle) for r in result.itertuples()}
    assert ("no-payday", "A0", 3) in found
    assert ("schools-100m", "A3", 2) in found
    assert ("schools-100m", "A5", 3) in found
    # A1 sees A0 and A2 (4 faces); A0 and A2 each see only A1 (3 faces): at the limit.
    assert [f for f in found if f[0] == "clutter"] == [("clutter", "A1", 1)]
    assert ("hfss-share", "", 2) in found
    assert ("purdah", "A2", 7) in found
    assert set(result["rule_type"]) == {"ban", "exclusion", "density", "share", "period"}
    assert len(result) == 6
    by_rule = result.set_index("rule_id")
    assert by_rule.loc["no-payday", "campaign_id"] == "loans"
    inside = result[(result["rule_id"] == "schools-100m") & (result["asset_id"] == "A5")]
    assert inside["reason"].iloc[0].endswith("School 1 (school, site S1) at 0 m")


def test_exclusion_threshold_99_vs_101_m() -> None:
    result = audit(plan(("A3", "alcohol", 1), ("A4", "alcohol", 1)), ASSETS, SITES, POLICY)
    assert result["asset_id"].tolist() == ["A3"]
    assert "at 99 m" in result["reason"].iloc[0]


def test_density_counts_faces_within_the_radius_only() -> None:
    assets = make_assets([(0, 0), (99, 0), (200, 0)], faces=2)
    policy = Policy("Density", rules=(DensityRule("clutter", 3, 100),))
    at_limit = plan(("A0", "general", 1, 2), ("A1", "general", 1, 1), ("A2", "general", 1, 3))
    assert audit(at_limit, assets, None, policy).empty
    over = plan(("A0", "general", 1, 2), ("A1", "general", 1, 2), ("A2", "general", 2, 3))
    result = audit(over, assets, None, policy)
    assert sorted(result["asset_id"]) == ["A0", "A1"]
    assert "4 faces booked within 100 m of A0 (with A1)" in result["reason"].iloc[0]


def test_density_counts_each_cycle_separately() -> None:
    assets = make_assets([(0, 0), (10, 0)], faces=2)
    policy = Policy("Density", rules=(DensityRule("one-face", 1, 50),))
    assert audit(plan(("A0", "general", 1), ("A1", "general", 2)), assets, None, policy).empty


def test_share_at_the_limit_is_allowed() -> None:
    assets = make_assets([(i * 500, 0) for i in range(100)], faces=2)
    policy = Policy("Share", rules=(ShareRule("hfss-share", ("hfss",), 0.29),))
    rows = [(f"A{i}", "hfss" if i < 29 else "general", 1) for i in range(100)]
    assert audit(plan(*rows), assets, None, policy).empty
    rows[29] = ("A29", "hfss", 1)
    result = audit(plan(*rows), assets, None, policy)
    assert result["cycle"].tolist() == [1]
    assert "30 of 100 faces" in result["reason"].iloc[0]


def test_period_overlap_by_one_day_counts() -> None:
    first, last = cycle_dates(3, START)
    assets = make_assets([(0, 0)], faces=2)
    touching = Policy("P", rules=(PeriodRule("p", ("political",), last, last),))
    after = Policy(
        "P",
        rules=(
            PeriodRule("p", ("political",), last.replace(day=last.day + 1), date(2027, 12, 31)),
        ),
    )
    placements = plan(("A0", "political", 3))
    assert len(audit(placements, assets, None, touching, start=START)) == 1
    assert audit(placements, assets, None, after, start=START).empty
    assert first < last


def test_scoped_ban_only_applies_to_assets_in_scope() -> None:
    assets = make_assets([(0, 0), (500, 0)], faces=2, digital=[True, False])
    policy = Policy("Digital", rules=(BanRule("no-digital-hfss", ("hfss",), digital=True),))
    result = audit(plan(("A0", "hfss", 1), ("A1", "hfss", 1)), assets, None, policy)
    assert result["asset_id"].tolist() == ["A0"]


@pytest.mark.parametrize(
    ("placements", "words"),
    [
        (plan(("A9", "general", 1)), "not in the assets"),
        (plan(("A0", "crypto", 1)), "unknown category"),
        (plan(("A0", "general", 0)), "whole number"),
        (plan(("A0", "general", 1, 1.5)), "whole number"),
        (pd.DataFrame({"asset_id": ["A0"], "category": ["general"]}), "column is missing"),
    ],
)
def test_bad_placements_are_reported(placements: pd.DataFrame, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        audit(placements, ASSETS, SITES, POLICY)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_audit_and_eligibility_agree_on_random_layouts(seed: int) -> None:
    """Two independent distance computations must refuse exactly the same pairs."""
    rng = np.random.default_rng(seed)
    n_assets, n_sites = 400, 60
    xy = rng.uniform(0, 3000, size=(n_assets, 2))
    assets = make_assets([tuple(p) for p in xy], faces=2, digital=rng.random(n_assets) < 0.3)
    centres = rng.uniform(0, 3000, size=(n_sites, 2))
    geoms = [
        shapely.box(x, y, x + rng.uniform(20, 150), y + rng.uniform(20, 150))
        if i % 2
        else shapely.Point(x, y)
        for i, (x, y) in enumerate(centres)
    ]
    sites = make_sites(geoms, kind=rng.choice(["school", "playground", "hospital"], n_sites))
    policy = Policy(
        "Random",
        rules=(
            BanRule("digital-adult", ("adult",), digital=True),
            ExclusionRule("schools", ("alcohol", "hfss"), ("school", "playground"), 100),
            ExclusionRule("hospitals", ("fossil_fuels",), ("hospital",), 250),
            ExclusionRule("digital-gambling", ("gambling",), ("school",), 300, digital=True),
        ),
    )
    table = eligibility(assets, sites, policy)
    everything = table[["asset_id", "category"]].astype(str).assign(cycle=1, faces=1)
    violations = audit(everything, assets, sites, policy)
    from_audit = set(zip(violations["asset_id"], violations["category"], strict=True))
    refused = table[~table["allowed"]]
    from_eligibility = set(zip(refused["asset_id"], refused["category"].astype(str), strict=True))
    assert from_audit == from_eligibility
    assert 50 < len(from_audit) < len(table) - 50


# --------------------------------------------------------------- command line


@pytest.fixture
def files(tmp_path):
    """Assets and sites GeoPackages plus a clean and a violating placements CSV."""
    assets, sites = tmp_path / "assets.gpkg", tmp_path / "sites.gpkg"
    ASSETS.to_file(assets, layer="assets")
    SITES.to_file(sites, layer="sites")
    clean, dirty = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    CLEAN[CLEAN["category"] != "hfss"].to_csv(clean, index=False)  # hfss is near a school
    plan(("A3", "alcohol", 2, 1, "beer")).to_csv(dirty, index=False)
    return {"assets": str(assets), "sites": str(sites), "clean": str(clean), "dirty": str(dirty)}


def run_audit(files: dict, plan_file: str, *extra: str) -> int:
    from planner.cli import main

    return main(
        [
            "audit",
            "--plan",
            plan_file,
            "--assets",
            files["assets"],
            "--sites",
            files["sites"],
            "--policy",
            "uk-cap-code",
            *extra,
        ]
    )


def test_cli_audit_exit_codes(files: dict, tmp_path, capsys) -> None:
    assert run_audit(files, files["clean"]) == 0
    assert "Compliant" in capsys.readouterr().out
    out = tmp_path / "violations.csv"
    assert run_audit(files, files["dirty"], "--out", str(out)) == 1
    assert (
        "cap-schools-100m (exclusion), cycle 2, asset A3 campaign beer" in capsys.readouterr().out
    )
    assert pd.read_csv(out)["asset_id"].tolist() == ["A3"]
    assert run_audit(files, str(tmp_path / "missing.csv")) == 2
    assert run_audit(files, files["clean"], "--start", "4 Jan") == 2


def test_cli_audit_reads_the_placements_layer_of_a_plan(files: dict, tmp_path) -> None:
    plan_file = tmp_path / "plan.gpkg"
    placements = plan(("A3", "alcohol", 2)).merge(ASSETS[["asset_id", "geometry"]])
    gpd.GeoDataFrame(placements, crs=ASSETS.crs).to_file(plan_file, layer="placements")
    assert run_audit(files, str(plan_file)) == 1
    gpd.GeoDataFrame(placements, crs=ASSETS.crs).to_file(tmp_path / "other.gpkg", layer="other")
    assert run_audit(files, str(tmp_path / "other.gpkg")) == 2
