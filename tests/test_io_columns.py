"""Kind 1: a column taken for what it is not never switches a policy rule off.

Explicit mappings and defaults win over aliases; an alias claims a column only when its
values fit; sites whose kinds the policy does not know stop the run with their values
listed and a way to map them; a rule that protects nothing is reported before any plan.
"""

from __future__ import annotations

import pytest

import planner
from planner.errors import DataValidationError
from planner.policy.rules import BanRule, ExclusionRule, Policy
from planner.policy.sites import check_sites_against_policy

SCHOOLS_400M = Policy(
    "schools 400 m",
    rules=(ExclusionRule("schools-400m", ("alcohol",), ("school",), 400.0),),
)


def _csv(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# A GIAS-style export: the 'type' column holds establishment groups, not site kinds.
GIAS = (
    "name,unique_reference_number,type,lon,lat\n"
    "Navigation Primary,106283,Local authority maintained schools,-2.3482,53.3963\n"
    "St John Vianney,106167,Special schools,-2.2783,53.4515\n"
)
SHELTERS = (
    "asset_id,asset_type,lon,lat\n"
    "SH1,bus_shelter,-2.3482,53.3968\n"
    "SH2,bus_shelter,-2.2783,53.4519\n"
)


def test_a_default_wins_over_an_alias_whose_values_do_not_fit(tmp_path):
    sites = planner.load_sites(
        _csv(tmp_path, GIAS),
        columns={"unique_reference_number": "site_id"},
        defaults={"kind": "school"},
    )

    assert sites["kind"].tolist() == ["school", "school"]
    assert sites["type"].tolist() == ["Local authority maintained schools", "Special schools"]


def test_the_gias_shelters_are_refused_alcohol_end_to_end(tmp_path):
    sites = planner.load_sites(
        _csv(tmp_path, GIAS),
        columns={"unique_reference_number": "site_id"},
        defaults={"kind": "school"},
    )
    assets = planner.load_assets(_csv(tmp_path, SHELTERS, "assets.csv"))

    table = planner.eligibility(assets, sites, SCHOOLS_400M)

    alcohol = table[table["category"] == "alcohol"].set_index("asset_id")["allowed"]
    assert alcohol.to_dict() == {"SH1": False, "SH2": False}


def test_an_alias_does_not_claim_a_column_of_other_values_and_says_why(tmp_path):
    path = _csv(tmp_path, GIAS)

    with pytest.raises(DataValidationError) as caught:
        planner.load_sites(path, columns={"unique_reference_number": "site_id"})

    text = str(caught.value)
    assert "required column 'kind' is missing" in text
    assert "column 'type' was not taken for 'kind'" in text
    assert "'Local authority maintained schools' 1, 'Special schools' 1" in text
    assert "--kind-map" in text


def test_an_alias_claims_a_column_whose_values_are_mostly_site_kinds(tmp_path):
    path = _csv(tmp_path, "id,type,lon,lat\nS1,school,-0.1,51.5\nS2,playground,-0.1,51.6\n")

    sites = planner.load_sites(path)

    assert sites["kind"].tolist() == ["school", "playground"]


def test_asset_type_alias_needs_asset_types(tmp_path):
    path = _csv(tmp_path, "asset_id,type,lon,lat\nA1,Freehold,-0.1,51.5\nA2,Leasehold,-0.1,51.6\n")

    assets = planner.load_assets(path)

    assert assets["asset_type"].tolist() == ["other", "other"]
    assert assets["type"].tolist() == ["Freehold", "Leasehold"]
    warned = [p.found for p in assets.attrs["report"].warnings]
    assert any("column 'type' was not taken for 'asset_type'" in w for w in warned)


def test_an_explicit_mapping_wins_over_the_files_own_column(tmp_path):
    path = _csv(tmp_path, "site_id,kind,category,lon,lat\nS1,other,school,-0.1,51.5\n")

    sites = planner.load_sites(path, columns={"category": "kind"})

    assert sites["kind"].tolist() == ["school"]


def test_kinds_map_turns_the_files_values_into_site_kinds(tmp_path):
    path = _csv(tmp_path, GIAS)

    sites = planner.load_sites(
        path,
        columns={"unique_reference_number": "site_id", "type": "kind"},
        kinds={"local authority maintained SCHOOLS ": "school", "Special schools": "school"},
    )

    assert sites["kind"].tolist() == ["school", "school"]
    warned = " ".join(p.found for p in sites.attrs["report"].warnings)
    assert "'Special schools' -> school (1)" in warned


def test_sites_of_unknown_kinds_stop_eligibility_with_the_values_and_the_map(make_geo):
    assets = make_geo([(0, 0)], crs="EPSG:27700", asset_id=["A1"])
    sites = make_geo(
        [(10, 0), (20, 0), (30, 0)],
        crs="EPSG:27700",
        site_id=["S1", "S2", "S3"],
        kind=["special schools", "special schools", "school"],
    )

    with pytest.raises(DataValidationError) as caught:
        planner.eligibility(assets, sites, SCHOOLS_400M)

    text = str(caught.value)
    assert "2 site(s) have a kind that policy 'schools 400 m' does not know" in text
    assert "('special schools' 2)" in text
    assert "kinds={'special schools': 'school'}" in text
    assert "--kind-map 'special schools=school'" in text


def test_sites_of_unknown_kinds_stop_a_plan_too(make_assets, make_sites):
    assets = make_assets([(0, 0)])
    sites = make_sites([(10, 0)], kind="Primary School")

    with pytest.raises(DataValidationError, match=r"\('Primary School' 1\)"):
        planner.plan(assets, [], SCHOOLS_400M, sites=sites)


def test_a_policy_without_exclusions_does_not_read_the_sites(make_geo):
    sites = make_geo([(0, 0)], crs="EPSG:27700", site_id=["S1"], kind=["casino"])
    bans = Policy("bans", rules=(BanRule("no-payday", ("payday_loans",)),))

    assert check_sites_against_policy(sites, bans) == []


def test_a_rule_that_protects_nothing_is_reported_before_any_verdict(make_geo):
    policy = Policy(
        "two rules",
        rules=(
            ExclusionRule("schools", ("alcohol",), ("school",), 100.0),
            ExclusionRule("playgrounds", ("hfss",), ("playground",), 100.0),
        ),
    )
    assets = make_geo([(0, 0)], crs="EPSG:27700", asset_id=["A1"])
    sites = make_geo([(50, 0)], crs="EPSG:27700", site_id=["S1"], kind=["school"])

    table = planner.eligibility(assets, sites, policy)

    assert len(table.attrs["warnings"]) == 1
    assert table.attrs["warnings"][0].startswith(
        "exclusion rule(s) playgrounds protect nothing: no site is a playground"
    )


def test_kinds_map_is_only_for_sites(tmp_path):
    path = _csv(tmp_path, "asset_id,lon,lat\nA1,-0.1,51.5\n")

    report = planner.validate_file(path, "assets", kinds={"x": "school"})

    assert report.errors[0].found == "kinds= maps site kinds; this is not a sites file"
