"""Every subcommand of ``python -m planner``: a success and a bad input, exit code and message.

Exit codes: 0 success, 1 infeasible plan or violations found, 2 bad input, 3 no plan found in
the time allowed (``plan``). A user error prints ``error: ...`` and never a traceback.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
MINI_OSM = ROOT / "tests" / "fixtures" / "mini.osm"
SUBCOMMANDS = (
    "validate",
    "import-osm",
    "value",
    "eligibility",
    "audit",
    "plan",
    "select-sites",
    "demo",
    "map",
)

# Four priced shelters 700 m apart on an east-west line in London; a school 33 m from A1.
ASSETS = """asset_id,asset_type,format,faces,price_per_cycle,weekly_impacts,lon,lat
A1,bus_shelter,6-sheet,1,100,5000,-0.1000,51.5000
A2,bus_shelter,6-sheet,1,100,5000,-0.1100,51.5000
A3,bus_shelter,6-sheet,1,100,5000,-0.1200,51.5000
A4,bus_shelter,6-sheet,1,100,5000,-0.1300,51.5000
"""
SITES = "site_id,kind,name,lon,lat\nS1,school,Hill Primary,-0.1000,51.5003\n"
CAMPAIGNS = """campaign_id,advertiser,category,budget,cycles,min_faces,max_faces
C1,Bank,general,1000,1,1,2
C2,Brewery,alcohol,1000,1,1,1
"""
TOO_MANY_FACES = (
    "campaign_id,advertiser,category,budget,cycles,min_faces,max_faces\n"
    "C1,Bank,general,1000,1,6,6\n"
)
ALCOHOL_BY_THE_SCHOOL = "asset_id,campaign_id,cycle,category\nA1,C2,1,alcohol\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The tiny inputs above, written as CSV files; returns name -> path."""
    texts = {
        "assets": ASSETS,
        "sites": SITES,
        "campaigns": CAMPAIGNS,
        "too_many": TOO_MANY_FACES,
        "violating": ALCOHOL_BY_THE_SCHOOL,
    }
    paths = {}
    for name, text in texts.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    return paths


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    assert stopped.value.code == 2
    assert "Traceback" not in out + err
    return err


def _plan_args(files: dict[str, str], out: Path, campaigns: str = "campaigns") -> list[str]:
    return [
        "plan",
        "--assets",
        files["assets"],
        "--sites",
        files["sites"],
        "--policy",
        "uk-cap-code",
        "--campaigns",
        files[campaigns],
        "--time-limit",
        "5",
        "--out",
        str(out),
    ]


# --- the command line as a whole -------------------------------------------------------------


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    out = capsys.readouterr().out

    assert stopped.value.code == 0
    for name in SUBCOMMANDS:
        assert f"    {name}" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_has_a_worked_example(capsys, name):
    with pytest.raises(SystemExit) as stopped:
        main([name, "--help"])
    out = capsys.readouterr().out

    assert stopped.value.code == 0
    assert f"example:\n  python -m planner {name} " in out


def test_the_registry_holds_exactly_the_documented_subcommands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")

    assert set(sub.choices) == set(SUBCOMMANDS)


def test_no_subcommand_prints_help_and_exits_2(capsys):
    code, out, _ = _run(capsys, [])

    assert code == 2
    assert "SUBCOMMAND" in out


def test_unknown_subcommand_exits_2_naming_the_choices(capsys):
    err = _usage_error(capsys, ["bogus"])

    assert "error: argument SUBCOMMAND: invalid choice: 'bogus'" in err


def test_missing_required_option_exits_2(capsys):
    err = _usage_error(capsys, ["value", "--assets", "a.csv"])

    assert "error: the following arguments are required: --out" in err


def test_an_output_folder_that_cannot_be_made_exits_2_naming_it(capsys, files, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    out = blocker / "inside" / "eligibility.csv"
    argv = ["eligibility", "--assets", files["assets"], "--policy", "healthier-advertising"]
    argv += ["--sites", files["sites"], "--out", str(out)]

    code, _, err = _run(capsys, argv)

    assert code == 2
    assert err.startswith("error: cannot use '")
    assert "blocker" in err


def test_python_dash_m_planner_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "planner", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0
    assert "usage: python -m planner" in done.stdout
    assert all(name in done.stdout for name in SUBCOMMANDS)


def test_python_dash_m_planner_user_error_exits_2_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "planner", "import-osm", "nowhere.osm.pbf", "--out", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "nowhere.osm.pbf: the file does not exist" in done.stderr


def test_console_script_when_installed():
    script = shutil.which("ooh-planner", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the ooh-planner console script is not installed (pip install -e .)")

    done = subprocess.run(
        [script, "plan", "--help"], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0
    assert "example:\n  python -m planner plan " in done.stdout


# --- validate --------------------------------------------------------------------------------


def test_validate_good_file_exits_0(capsys, files):
    code, out, _ = _run(capsys, ["validate", "--assets", files["assets"]])

    assert code == 0
    assert "rows valid: 4" in out
    assert out.rstrip().endswith("Valid.")


def test_validate_campaigns_given_as_assets_exits_2(capsys, files):
    code, out, _ = _run(capsys, ["validate", "--assets", files["campaigns"]])

    assert code == 2
    assert "no coordinate columns found" in out
    assert "Not valid: fix the 1 error(s) above" in out


# --- import-osm ------------------------------------------------------------------------------


def test_import_osm_writes_assets_and_sites(capsys, tmp_path):
    out_dir = tmp_path / "area"

    code, out, _ = _run(capsys, ["import-osm", str(MINI_OSM), "--out", str(out_dir)])

    assert code == 0
    assert (out_dir / "assets.gpkg").is_file()
    assert (out_dir / "sites.gpkg").is_file()
    assert "assets.gpkg: 11 assets" in out  # a telephone, advertising=no, a merged shelter
    assert "© OpenStreetMap contributors" in out


def test_import_osm_missing_extract_exits_2(capsys, tmp_path):
    code, _, err = _run(capsys, ["import-osm", str(tmp_path / "no.osm"), "--out", str(tmp_path)])

    assert code == 2
    assert "no.osm: the file does not exist. Check the path." in err


def test_import_osm_bad_bbox_exits_2(capsys, tmp_path):
    argv = ["import-osm", str(MINI_OSM), "--out", str(tmp_path), "--bbox", "1,2"]

    code, _, err = _run(capsys, argv)

    assert code == 2
    assert "column 'bbox'" in err
    assert "Give four numbers" in err


# --- value -----------------------------------------------------------------------------------


def test_value_writes_a_row_per_asset_and_prints_totals(capsys, files, tmp_path):
    out_path = tmp_path / "values.csv"

    code, out, _ = _run(capsys, ["value", "--assets", files["assets"], "--out", str(out_path)])

    assert code == 0
    assert len(pd.read_csv(out_path)) == 4
    assert "4 assets, 4 faces; audiences: 0 modelled, 4 measured." in out
    assert "Modelled estimates, GBP a year" in out
    assert "council income" in out


def test_value_sites_without_policy_exits_2(capsys, files, tmp_path):
    argv = ["value", "--assets", files["assets"], "--sites", files["sites"]]

    code, _, err = _run(capsys, [*argv, "--out", str(tmp_path / "v.csv")])

    assert code == 2
    assert "error: --sites is only used with --policy" in err


# --- eligibility -----------------------------------------------------------------------------


def test_eligibility_counts_refusals_by_rule(capsys, files, tmp_path):
    out_path = tmp_path / "eligibility.csv"
    argv = ["eligibility", "--assets", files["assets"], "--sites", files["sites"]]

    code, out, _ = _run(capsys, [*argv, "--policy", "uk-cap-code", "--out", str(out_path)])

    table = pd.read_csv(out_path)
    assert code == 0
    refused = table.loc[~table["allowed"].astype(bool), ["asset_id", "category"]]
    assert set(refused.itertuples(index=False, name=None)) == {
        ("A1", "alcohol"),
        ("A1", "gambling"),
        ("A1", "hfss"),
    }
    assert "alcohol                  3         1  cap-schools-100m 1" in out


def test_eligibility_exclusion_policy_without_sites_exits_2(capsys, files, tmp_path):
    argv = ["eligibility", "--assets", files["assets"], "--policy", "uk-cap-code"]

    code, _, err = _run(capsys, [*argv, "--out", str(tmp_path / "e.csv")])

    assert code == 2
    assert "has exclusion rules (cap-schools-100m); add --sites FILE" in err


def test_eligibility_unknown_policy_exits_2_listing_presets(capsys, files, tmp_path):
    argv = ["eligibility", "--assets", files["assets"], "--policy", "no-such-policy"]

    code, _, err = _run(capsys, [*argv, "--out", str(tmp_path / "e.csv")])

    assert code == 2
    assert "'no-such-policy' is neither a file nor a preset" in err
    assert "uk-cap-code" in err


# --- plan ------------------------------------------------------------------------------------


def test_plan_writes_placements_and_keeps_alcohol_away_from_the_school(capsys, files, tmp_path):
    out_path = tmp_path / "plan.csv"

    code, out, err = _run(capsys, _plan_args(files, out_path))

    placements = pd.read_csv(out_path)
    assert code == 0
    assert out.startswith("Plan status: OPTIMAL")
    assert f"Wrote {out_path}" in out
    assert set(placements["campaign_id"]) == {"C1", "C2"}
    assert "A1" not in set(placements.loc[placements["category"] == "alcohol", "asset_id"])
    assert "%|" not in err  # the progress bar stays quiet when stderr is not a terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plan_shows_a_progress_bar_on_a_terminal(monkeypatch, files, tmp_path):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    code = main(_plan_args(files, tmp_path / "plan.csv"))

    assert code == 0
    assert "planning:" in terminal.getvalue()


def test_plan_that_cannot_be_met_exits_1_saying_why(capsys, files, tmp_path):
    out_path = tmp_path / "plan.csv"

    code, out, _ = _run(capsys, _plan_args(files, out_path, campaigns="too_many"))

    assert code == 1
    assert out.startswith("Plan status: INFEASIBLE")
    assert "Campaign C1 needs 6 faces in cycle 1 but only 4 faces" in out
    assert not out_path.exists()


def test_plan_timed_out_exits_3_and_writes_the_heuristic_plan(
    capsys, files, tmp_path, stalled_solver
):
    out_path = tmp_path / "plan.csv"

    code, out, _ = _run(capsys, _plan_args(files, out_path))

    assert code == 3
    assert out.startswith("Plan status: TIME_LIMIT (greedy + repair + local search")
    assert "construction heuristic's plan" in out
    assert "To get a plan: allow more time than 5 s; use the fast search" in out
    assert "workers" not in out  # two are in use: never advice the user already follows
    assert set(pd.read_csv(out_path)["campaign_id"]) == {"C1", "C2"}


def test_plan_timed_out_without_a_plan_exits_3_writing_nothing(
    capsys, files, tmp_path, stalled_solver, monkeypatch
):
    import numpy as np

    import planner.optimise.solve

    monkeypatch.setattr(
        planner.optimise.solve, "construct_plan", lambda inst, name, **_: np.empty(0, np.int64)
    )
    out_path = tmp_path / "plan.csv"

    code, out, _ = _run(capsys, _plan_args(files, out_path))

    assert code == 3
    assert out.startswith("Plan status: TIME_LIMIT (cp-sat")
    assert "No plan was found within 5 s." in out
    assert "C1 needs 1 faces in cycle 1 (found 0)" in out
    assert not out_path.exists()


def test_plan_unknown_objective_exits_2(capsys, files, tmp_path):
    argv = [*_plan_args(files, tmp_path / "plan.csv"), "--objective", "money"]

    code, _, err = _run(capsys, argv)

    assert code == 2
    assert "Objective 'money' is not understood" in err


# --- audit -----------------------------------------------------------------------------------


def _audit_args(files: dict[str, str], plan_path: str) -> list[str]:
    return ["audit", "--plan", plan_path, "--assets", files["assets"], "--sites", files["sites"]]


def test_audit_compliant_plan_exits_0(capsys, files, tmp_path):
    plan_path = tmp_path / "plan.csv"
    assert main(_plan_args(files, plan_path)) == 0
    capsys.readouterr()

    code, out, _ = _run(capsys, [*_audit_args(files, str(plan_path)), "--policy", "uk-cap-code"])

    assert code == 0
    assert out.startswith("Compliant: 3 placements meet every rule")


def test_audit_violation_exits_1_naming_rule_asset_and_site(capsys, files):
    argv = [*_audit_args(files, files["violating"]), "--policy", "uk-cap-code"]

    code, out, _ = _run(capsys, argv)

    assert code == 1
    assert "1 violation(s)" in out
    assert "cap-schools-100m (exclusion), cycle 1, asset A1 campaign C2" in out
    assert "Hill Primary" in out


def test_audit_missing_plan_exits_2(capsys, files, tmp_path):
    missing = str(tmp_path / "nope.csv")

    code, _, err = _run(capsys, [*_audit_args(files, missing), "--policy", "uk-cap-code"])

    assert code == 2
    assert "nope.csv' does not exist" in err


def test_audit_bad_start_date_exits_2(capsys, files):
    argv = [*_audit_args(files, files["violating"]), "--policy", "uk-cap-code"]

    code, _, err = _run(capsys, [*argv, "--start", "next monday"])

    assert code == 2
    assert "--start 'next monday' is not a date" in err


# --- map -------------------------------------------------------------------------------------


def test_map_writes_an_html_file(capsys, files, tmp_path):
    out_path = tmp_path / "map.html"
    argv = ["map", "--assets", files["assets"], "--sites", files["sites"], "--policy"]
    argv += ["uk-cap-code", "--category", "alcohol", "--plan", files["violating"]]

    code, out, _ = _run(capsys, [*argv, "--tiles", "none", "--out", str(out_path)])

    assert code == 0
    assert out.startswith(f"Wrote {out_path}")
    assert "4 assets" in out
    assert "<html" in out_path.read_text(encoding="utf-8").lower()


def test_map_category_without_policy_exits_2(capsys, files, tmp_path):
    argv = ["map", "--assets", files["assets"], "--category", "alcohol"]

    code, _, err = _run(capsys, [*argv, "--out", str(tmp_path / "m.html")])

    assert code == 2
    assert "--category needs --policy" in err


# --- demo ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_writes_every_output(capsys, tmp_path):
    out_dir = tmp_path / "demo"

    code, out, err = _run(capsys, ["demo", "--out", str(out_dir), "--time-limit", "2"])

    assert code == 0
    assert "%|" not in err  # no progress bar when stderr is not a terminal
    assert "Audit: compliant with every rule." in out
    assert "modelled estimates" in out
    names = ("plan.gpkg", "values.gpkg", "eligibility.csv", "map.html", "report.html")
    for name in (*names, "summary.txt"):
        assert (out_dir / name).is_file(), name


def test_demo_out_that_is_a_file_exits_2(capsys, tmp_path):
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")

    code, _, err = _run(capsys, ["demo", "--out", str(blocker)])

    assert code == 2
    assert "is a file; give a folder" in err


def test_demo_unknown_policy_exits_2(capsys, tmp_path):
    code, _, err = _run(capsys, ["demo", "--out", str(tmp_path), "--policy", "nope"])

    assert code == 2
    assert "policy 'nope' is neither a file nor a preset" in err
