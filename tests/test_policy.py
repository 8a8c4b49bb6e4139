"""Policy files: parsing, every PolicyError, presets and the TOML round trip."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import PolicyError
from planner.policy.load import (
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    ShareRule,
    list_presets,
    load_policy,
    parse_policy,
    policy_to_toml,
)
from planner.policy.table import RULE_COLUMNS, policy_from_table, policy_to_table
from planner.schema import CATEGORIES

ISSUE_EXAMPLE = """\
name = "Example council"
source = "Council advertising and sponsorship policy, 2024"
[[rules]]
id = "schools-100m"
type = "exclusion"
categories = ["alcohol", "gambling", "hfss"]
near = ["school", "playground"]
within_m = 100
[[rules]]
id = "no-payday"
type = "ban"
categories = ["payday_loans"]
"""


def parse(text: str) -> Policy:
    return parse_policy(tomllib.loads(text), source="test.toml")


def rule_doc(**keys: object) -> dict:
    """A one-rule policy document; the rule is an exclusion unless keys say otherwise."""
    rule = {"id": "r1", "type": "exclusion", "categories": ["alcohol"], "near": ["school"]}
    rule |= {"within_m": 100} | keys
    return {"name": "Test", "rules": [{k: v for k, v in rule.items() if v is not None}]}


def test_issue_example_loads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "council.toml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    policy = load_policy(path)
    assert policy.name == "Example council"
    assert policy.description == ""
    assert policy.rule("schools-100m") == ExclusionRule(
        "schools-100m", ("alcohol", "gambling", "hfss"), ("school", "playground"), 100.0
    )
    assert policy.rule("no-payday") == BanRule("no-payday", ("payday_loans",))
    assert policy.categories == CATEGORIES


def test_load_policy_accepts_a_path_string(tmp_path: Path) -> None:
    path = tmp_path / "council.toml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    assert load_policy(str(path)).name == "Example council"


def test_all_four_presets_are_installed() -> None:
    assert list_presets() == [
        "climate",
        "healthier-advertising",
        "transport-authority",
        "uk-cap-code",
    ]


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_loads_cites_its_source_and_round_trips(name: str) -> None:
    policy = load_policy(name)
    assert policy.name and policy.description and policy.source
    assert policy.rules
    assert parse(policy_to_toml(policy)) == policy


def test_presets_encode_the_issue() -> None:
    cap = load_policy("uk-cap-code").exclusions[0]
    assert set(cap.categories) == {"alcohol", "gambling", "hfss"}
    assert cap.near == ("school",) and cap.within_m == 100
    healthier = {c for r in load_policy("healthier-advertising").bans for c in r.categories}
    assert healthier == {"hfss", "alcohol", "gambling", "payday_loans"}
    climate = {c for r in load_policy("climate").bans for c in r.categories}
    assert climate == healthier | {"fossil_fuels"}
    tfl = {c for r in load_policy("transport-authority").bans for c in r.categories}
    assert tfl == {"hfss", "political"}


def test_unknown_policy_names_the_presets() -> None:
    with pytest.raises(PolicyError, match="uk-cap-code") as info:
        load_policy("no-such-policy")
    assert "climate" in str(info.value)


def test_invalid_toml_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"type": "curfew"}, "type", "unknown rule type"),
        ({"categories": ["crypto"]}, "categories", "unknown category 'crypto'"),
        ({"near": ["casino"]}, "near", "unknown site kind 'casino'"),
        ({"within_m": -5}, "within_m", "0 or more"),
        ({"within_m": "100m"}, "within_m", "must be a number"),
        ({"within_m": None}, "within_m", "required"),
        ({"asset_types": ["tram"]}, "asset_types", "unknown asset type 'tram'"),
        ({"digital": "yes"}, "digital", "true or false"),
        ({"categories": "alcohol"}, "categories", "list of names"),
        ({"categories": []}, "categories", "at least one"),
        ({"id": "has space"}, "id", "letters, digits"),
    ],
)
def test_each_bad_exclusion_key_names_rule_and_key(keys: dict, key: str, words: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(rule_doc(**keys), source="council.toml")
    message = str(info.value)
    assert "council.toml" in message
    assert f"key '{key}'" in message
    assert words in message
    rule_id = keys.get("id", "r1")  # a bad id is still how the message names the rule
    assert f"rule '{rule_id}', key '{key}'" in message


@pytest.mark.parametrize(
    ("rule", "key", "words"),
    [
        (
            {"type": "share", "categories": ["hfss"], "max_share": 1.5},
            "max_share",
            "between 0 and 1",
        ),
        (
            {"type": "share", "categories": ["hfss"], "max_share": -0.1},
            "max_share",
            "between 0 and 1",
        ),
        ({"type": "density", "max_faces": 0, "within_m": 50}, "max_faces", "1 or more"),
        ({"type": "density", "max_faces": 2.5, "within_m": 50}, "max_faces", "whole number"),
        ({"type": "density", "max_faces": 3, "within_m": -1}, "within_m", "0 or more"),
        (
            {
                "type": "period",
                "categories": ["political"],
                "start": date(2027, 5, 6),
                "end": date(2027, 4, 1),
            },
            "end",
            "before start",
        ),
        (
            {
                "type": "period",
                "categories": ["political"],
                "start": "6 May",
                "end": date(2027, 5, 6),
            },
            "start",
            "date such as",
        ),
        ({"type": "ban", "categories": ["alcohol"], "near": ["school"]}, "near", "unknown key"),
    ],
)
def test_each_bad_key_of_other_rule_types(rule: dict, key: str, words: str) -> None:
    doc = {"name": "Test", "rules": [{"id": "r1", **rule}]}
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, source="council.toml")
    assert f"rule 'r1', key '{key}'" in str(info.value)
    assert words in str(info.value)


def test_duplicate_id_is_reported() -> None:
    doc = {"name": "T", "rules": [{"id": "a", "type": "ban", "categories": ["adult"]}] * 2}
    with pytest.raises(PolicyError, match="rule 'a', key 'id': duplicate id"):
        parse_policy(doc, source="t.toml")


def test_top_level_problems_are_reported() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy({"rulez": [], "categories": ["Bad Name"]}, source="t.toml")
    message = str(info.value)
    assert "key 'rulez': unknown top-level key" in message
    assert "key 'name': required" in message
    assert "key 'categories'" in message


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "name": "T",
        "rules": [
            {"id": "a", "type": "ban", "categories": ["crypto"]},
            {"id": "b", "type": "share", "categories": ["hfss"], "max_share": 2},
        ],
    }
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, source="t.toml")
    first, second = info.value.problems
    assert first.startswith("rule 'a', key 'categories': unknown category 'crypto'")
    assert second == "rule 'b', key 'max_share': must be a fraction between 0 and 1; got 2.0"


def test_policy_file_can_add_categories_and_kinds() -> None:
    doc = rule_doc(categories=["crypto"], near=["betting_shop"])
    doc |= {"categories": ["crypto"], "kinds": ["betting_shop"]}
    policy = parse_policy(doc, source="t.toml")
    assert policy.categories == (*CATEGORIES, "crypto")
    assert "betting_shop" in policy.kinds
    assert parse(policy_to_toml(policy)) == policy


def test_constructing_an_invalid_rule_directly_raises() -> None:
    with pytest.raises(PolicyError, match="rule 'e', key 'within_m'"):
        Policy("Direct", rules=(ExclusionRule("e", ("alcohol",), ("school",), -1),))


def full_policy() -> Policy:
    return Policy(
        'Quote " and \\ back, café',
        description="Line one\nline two",
        source="Test",
        rules=(
            BanRule("ban-digital", ("adult",), asset_types=("bus_shelter", "kiosk"), digital=True),
            ExclusionRule("schools", ("alcohol", "hfss"), ("school", "playground"), 99.5),
            DensityRule("clutter", 4, 100),
            ShareRule("hfss-share", ("hfss",), 0.25),
            PeriodRule("purdah", ("political",), date(2027, 3, 25), date(2027, 5, 6)),
        ),
    )


def test_rule_lookup_without_and_typed_views() -> None:
    policy = full_policy()
    assert policy.rule("clutter").max_faces == 4
    assert [r.id for r in policy.without("schools").rules] == [
        "ban-digital",
        "clutter",
        "hfss-share",
        "purdah",
    ]
    assert policy.without("schools").exclusions == ()
    assert len(policy.rules) == 5  # the original is unchanged
    assert [
        len(v)
        for v in (policy.bans, policy.exclusions, policy.densities, policy.shares, policy.periods)
    ] == [1, 1, 1, 1, 1]
    with pytest.raises(PolicyError, match=r"no rule 'nope'.*clutter"):
        policy.without("nope")


def test_every_rule_type_round_trips_through_toml() -> None:
    policy = full_policy()
    text = policy_to_toml(policy)
    assert "start = 2027-03-25" in text
    assert parse(text) == policy


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1).filter(lambda s: s.strip()), st.text(), st.text())
def test_any_text_round_trips(name: str, description: str, source: str) -> None:
    policy = Policy(name, description=description, source=source, rules=(BanRule("b", ("adult",)),))
    assert parse(policy_to_toml(policy)) == policy


# --- the rules table (the app's rules editor, a spreadsheet) -------------------------------


def _from_table(rows: list[dict], **options) -> Policy:
    return policy_from_table(pd.DataFrame(rows), name="Table", **options)


def test_rules_table_has_one_text_row_per_rule() -> None:
    table = policy_to_table(full_policy())
    assert list(table.columns) == list(RULE_COLUMNS)
    assert table.to_dict("records")[:2] == [
        {"id": "ban-digital", "type": "ban", "categories": "adult", "near": "",
         "within_m": "", "max_faces": "", "max_share": "", "start": "", "end": "",
         "asset_types": "bus_shelter; kiosk", "digital": "true"},
        {"id": "schools", "type": "exclusion", "categories": "alcohol; hfss",
         "near": "school; playground", "within_m": "99.5", "max_faces": "", "max_share": "",
         "start": "", "end": "", "asset_types": "", "digital": ""},
    ]  # fmt: skip
    assert table.loc[2, ["max_faces", "within_m"]].tolist() == ["4", "100"]
    assert table.loc[3, "max_share"] == "0.25"
    assert table.loc[4, ["start", "end"]].tolist() == ["2027-03-25", "2027-05-06"]
    assert policy_to_table(Policy("empty")).shape == (0, len(RULE_COLUMNS))


@pytest.mark.parametrize("name", ["climate", "healthier-advertising", "transport-authority",
                                  "uk-cap-code"])  # fmt: skip
def test_every_preset_round_trips_through_the_rules_table(name: str) -> None:
    policy = load_policy(name)
    back = policy_from_table(
        policy_to_table(policy),
        name=policy.name,
        description=policy.description,
        source=policy.source,
        categories=policy.categories,
        kinds=policy.kinds,
    )
    assert back == policy


def test_rules_table_cells_are_read_as_a_person_types_them() -> None:
    policy = _from_table(
        [
            {"id": "no-alcohol", "type": "Ban", "categories": "alcohol, gambling ;",
             "digital": "yes"},
            {},  # an empty row left by the editor
            {"id": "schools", "type": "exclusion", "categories": "hfss", "near": "school",
             "within_m": 150},
            {"id": "clutter", "type": "density", "max_faces": "3.0", "within_m": "50"},
            {"id": "purdah", "type": "period", "categories": "political",
             "start": " 2027-03-25 ", "end": "2027-05-06", "near": float("nan")},
        ],
        description="edited",
    )  # fmt: skip
    assert policy.rules == (
        BanRule("no-alcohol", ("alcohol", "gambling"), digital=True),
        ExclusionRule("schools", ("hfss",), ("school",), 150.0),
        DensityRule("clutter", 3, 50.0),
        PeriodRule("purdah", ("political",), date(2027, 3, 25), date(2027, 5, 6)),
    )
    assert (policy.name, policy.description) == ("Table", "edited")


def test_rules_table_problems_name_row_and_column_all_at_once() -> None:
    rows = [
        {"id": "schools", "type": "exclusion", "categories": "alcohol; beer", "near": "school",
         "within_m": "-5"},
        {"id": "schools", "type": "ban", "categories": "alcohol", "within_m": "3"},
        {"id": "odd", "type": "banner"},
        {"id": "clutter", "type": "density", "max_faces": "2.5", "within_m": "near"},
        {"id": "purdah", "type": "period", "categories": "political", "start": "2027-13-01"},
        {"id": "flag", "type": "ban", "categories": "adult", "digital": "maybe"},
    ]  # fmt: skip
    with pytest.raises(PolicyError) as caught:
        _from_table(rows)
    assert caught.value.problems == [
        "row 1 (rule 'schools'), column 'categories': unknown category 'beer'; known: "
        + ", ".join(sorted(CATEGORIES)),
        "row 1 (rule 'schools'), column 'within_m': must be a distance in metres, 0 or more; "
        "got -5.0",
        "row 2 (rule 'schools'), column 'within_m': does not apply to a ban rule; empty it",
        "row 2 (rule 'schools'), column 'id': row 1 has the same id; give each rule its own id",
        "row 3 (rule 'odd'), column 'type': unknown rule type 'banner'; use one of ban, "
        "exclusion, density, share, period",
        "row 4 (rule 'clutter'), column 'max_faces': must be a whole number of faces; got '2.5'",
        "row 4 (rule 'clutter'), column 'within_m': must be a number; got 'near'",
        "row 5 (rule 'purdah'), column 'end': required for a period rule",
        "row 5 (rule 'purdah'), column 'start': must be a date such as 2027-05-06; "
        "got '2027-13-01'",
        "row 6 (rule 'flag'), column 'digital': must be true or false; got 'maybe'",
    ]
    assert str(caught.value).startswith("rules table: 10 problem(s) must be fixed:")


def test_rules_table_with_an_unknown_column_or_a_new_category() -> None:
    with pytest.raises(PolicyError, match=r"column 'colour': unknown column; the columns are id"):
        _from_table([{"id": "b", "type": "ban", "categories": "adult", "colour": "red"}])
    extended = _from_table(
        [{"id": "b", "type": "ban", "categories": "vaping_shops"}],
        categories=(*CATEGORIES, "vaping_shops"),
    )
    assert extended.rule("b").categories == ("vaping_shops",)
