"""Property-based tests of the loaders and of policy and campaign parsing (hypothesis).

Whatever a file holds, a loader returns a table that keeps the data contract or raises a
`PlannerError`; a policy or campaigns table parses or raises the module's own error; a
valid policy written out as TOML reads back equal. (The optimiser's properties are in
``tests/test_plan_properties.py``.)
"""

from __future__ import annotations

import math
import string
import tempfile
import tomllib
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.calendar import parse_cycles
from planner.campaigns import parse_campaigns
from planner.errors import CampaignError, DataValidationError, PolicyError
from planner.policy.load import parse_policy, policy_to_toml
from planner.schema import ASSET_TYPES, CATEGORIES, SITE_KINDS

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- loaders -------------------------------------------------------------------------------

# Cells a council export might hold: numbers, blanks, words, odd unicode, spreadsheet junk.
_junk = st.sampled_from(
    ["", " ", "nan", "NaN", "inf", "-inf", "1e999", "null", "N/A", "#REF!", "0", "-1",
     "1.5", "two", "£92", "=1+1", "<b>x</b>", "\u00e9", "\u200b", "\"quoted\"", "a,b"]
)  # fmt: skip
_coordinate = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-2.0, 2.0).map(lambda v: f"{v:.5f}"),
    _junk,
)
_latitude = st.one_of(st.floats(49.0, 61.0).map(lambda v: f"{v:.5f}"), _coordinate)
# No bare carriage return: pandas writes it unquoted, so the file really has a line break.
_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\x00"), max_size=8)
_ident = st.one_of(st.text(string.ascii_letters + string.digits + " -_", max_size=6), _junk)
_cell = st.one_of(_junk, _text)


@st.composite
def asset_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    column = lambda strategy: draw(st.lists(strategy, min_size=n, max_size=n))  # noqa: E731
    table = {
        "asset_id": column(_ident),
        "asset_type": column(st.one_of(st.sampled_from(sorted(ASSET_TYPES)), _cell)),
        "lon": column(st.one_of(st.floats(-2.0, 2.0).map(lambda v: f"{v:.5f}"), _coordinate)),
        "lat": column(_latitude),
    }
    for name in draw(
        st.sets(
            st.sampled_from(
                ["faces", "digital", "slots", "status", "price_per_cycle", "weekly_impacts", "name"]
            )
        )
    ):
        table[name] = column(st.one_of(st.integers(-3, 9).map(str), _cell))  # fmt: skip
    return pd.DataFrame(table)


def _write(table: pd.DataFrame, folder: str) -> Path:
    path = Path(folder) / "assets.csv"
    table.to_csv(path, index=False)
    return path


def _assert_contract(frame) -> None:
    assert frame.crs.to_epsg() == 4326
    assert frame["asset_id"].is_unique
    assert (frame["asset_id"].str.strip() != "").all()
    assert (frame.geometry.geom_type == "Point").all()
    xy = np.column_stack([frame.geometry.x, frame.geometry.y])
    assert np.isfinite(xy).all()
    assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
    assert (frame["faces"] >= 1).all() and (frame["slots"] >= 1).all()
    assert frame["digital"].dtype == bool
    assert frame["status"].isin(["available", "unavailable"]).all()
    for name in ("price_per_cycle", "weekly_impacts"):
        values = frame[name].dropna()
        assert (np.isfinite(values) & (values >= 0)).all()


@SETTINGS
@given(asset_tables())
def test_any_asset_table_loads_within_the_contract_or_is_refused_with_a_reason(table):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(table, folder)
        try:
            frame = planner.load_assets(path)
        except DataValidationError as exc:
            assert exc.problems and all(p.found and p.fix for p in exc.problems)
            assert "assets.csv" in str(exc)
            return
    assert len(frame) == len(table)
    _assert_contract(frame)


@SETTINGS
@given(asset_tables())
def test_drop_invalid_keeps_exactly_the_rows_without_errors(table):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(table, folder)
        try:
            frame = planner.load_assets(path, drop_invalid=True)
        except DataValidationError as exc:
            # Only file-level problems (no row named) stop a load with drop_invalid.
            assert any(p.severity == "error" and not p.where for p in exc.problems)
            return
    report = frame.attrs["report"]
    bad_rows = {p.where.split(" (")[0] for p in report.errors if p.where}
    assert report.rows_read == len(table)
    assert report.rows_valid == len(frame) == len(table) - len(bad_rows)
    _assert_contract(frame)


@settings(max_examples=15, deadline=None)  # three files written per example
@given(
    st.lists(
        st.tuples(st.floats(-7.5, 1.7), st.floats(50.0, 58.5), _text),
        min_size=1,
        max_size=12,
    )
)
def test_valid_assets_survive_a_round_trip_through_every_format(rows):
    table = pd.DataFrame(
        {
            "asset_id": [f"A{i}" for i in range(len(rows))],
            "asset_type": "kiosk",
            "format": "6-sheet",
            "name": [r[2] for r in rows],
            "lon": [r[0] for r in rows],
            "lat": [r[1] for r in rows],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        first = planner.load_assets(_write(table, folder))
        for suffix in (".gpkg", ".geojson", ".parquet"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                path = planner.write_table(first, Path(folder) / f"copy{suffix}")
            again = planner.load_assets(path)
            assert again["asset_id"].tolist() == first["asset_id"].tolist()
            assert np.allclose(again.geometry.x, first.geometry.x, atol=1e-7)
            assert np.allclose(again.geometry.y, first.geometry.y, atol=1e-7)


# --- policies --------------------------------------------------------------------------------

_names = st.sampled_from([*CATEGORIES, "booze", "", "Alcohol"])
_kinds = st.sampled_from([*sorted(SITE_KINDS), "pub", ""])
_toml_scalar = st.one_of(
    st.integers(-5, 500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=6),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)
_toml_value = st.one_of(_toml_scalar, st.lists(st.one_of(_names, _toml_scalar), max_size=3))


@st.composite
def rule_docs(draw) -> dict:
    kind = draw(st.sampled_from(["ban", "exclusion", "density", "share", "period", "other"]))
    doc = {"id": draw(st.one_of(st.sampled_from(["r1", "r2", "r 3"]), _toml_scalar)), "type": kind}
    keys = {
        "categories": st.lists(_names, max_size=3),
        "near": st.lists(_kinds, max_size=2),
        "within_m": st.one_of(st.floats(0, 500), _toml_scalar),
        "max_faces": st.one_of(st.integers(1, 5), _toml_scalar),
        "max_share": st.one_of(st.floats(0, 1), _toml_scalar),
        "start": st.one_of(st.dates(date(2027, 1, 1), date(2027, 12, 31)), _toml_scalar),
        "end": st.one_of(st.dates(date(2027, 1, 1), date(2027, 12, 31)), _toml_scalar),
        "digital": st.one_of(st.booleans(), _toml_scalar),
        "asset_types": st.lists(st.sampled_from([*sorted(ASSET_TYPES), "lamppost"]), max_size=2),
        "colour": _toml_value,
    }
    for key in draw(st.sets(st.sampled_from(sorted(keys)), max_size=6)):
        doc[key] = draw(keys[key])
    return doc


@st.composite
def policy_docs(draw) -> dict:
    doc: dict = {"name": draw(st.one_of(st.just("Test policy"), _toml_scalar))}
    doc["rules"] = draw(st.one_of(st.lists(rule_docs(), max_size=4), _toml_value))
    if draw(st.booleans()):
        doc["categories"] = draw(
            st.lists(st.sampled_from(["crypto", "Fast Food", "x1"]), max_size=2)
        )
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["kinds", "colour", "description"]))] = draw(_toml_value)
    return doc


@SETTINGS
@given(policy_docs())
def test_any_policy_document_parses_or_names_each_problem(doc):
    try:
        policy = parse_policy(doc, source="random.toml")
    except PolicyError as exc:
        assert str(exc).startswith("random.toml:")
        assert exc.problems and all("key '" in p or "rule #" in p for p in exc.problems)
        return
    text = policy_to_toml(policy)
    assert parse_policy(tomllib.loads(text), source="again") == policy


@st.composite
def valid_policies(draw) -> planner.Policy:
    rules = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["ban", "exclusion", "density", "share", "period"]))
        cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
        rule = {"id": f"rule-{i}", "type": kind}
        if kind in {"ban", "exclusion", "share", "period"}:
            rule["categories"] = cats
        if kind == "exclusion":
            rule["near"] = draw(st.lists(st.sampled_from(sorted(SITE_KINDS)), min_size=1,
                                         max_size=2, unique=True))  # fmt: skip
        if kind in {"exclusion", "density"}:
            rule["within_m"] = draw(st.floats(0, 2000).map(lambda v: round(v, 3)))
        if kind == "density":
            rule["max_faces"] = draw(st.integers(1, 20))
        if kind == "share":
            rule["max_share"] = draw(st.floats(0, 1).map(lambda v: round(v, 4)))
        if kind == "period":
            start = draw(st.dates(date(2027, 1, 1), date(2027, 12, 31)))
            rule["start"], rule["end"] = start, start + (start - date(2027, 1, 1)) // 9
        if kind in {"ban", "exclusion"} and draw(st.booleans()):
            rule["digital"] = draw(st.booleans())
        rules.append(rule)
    name = draw(st.text(min_size=1, max_size=20).filter(lambda s: s.strip()))
    return parse_policy({"name": name, "description": draw(st.text(max_size=30)), "rules": rules},
                        source="generated")  # fmt: skip


@SETTINGS
@given(valid_policies())
def test_valid_policies_round_trip_through_toml(policy):
    assert parse_policy(tomllib.loads(policy_to_toml(policy)), source="x") == policy


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_as_a_policy_file_is_read_or_refused_plainly(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.toml"
        path.write_text(text, encoding="utf-8")
        try:
            planner.load_policy(path)
        except PolicyError as exc:
            assert "policy.toml" in str(exc)


# --- campaigns -------------------------------------------------------------------------------


@st.composite
def campaign_records(draw) -> list[dict]:
    records = []
    for i in range(draw(st.integers(1, 5))):
        record = {
            "campaign_id": draw(st.one_of(st.just(f"C{i}"), st.just("C0"), _cell)),
            "advertiser": draw(_cell),
            "category": draw(st.one_of(_names, _cell)),
            "budget": draw(st.one_of(st.floats(allow_nan=True), _cell, st.integers(-10, 10**6))),
            "cycles": draw(
                st.one_of(st.sampled_from(["1", "1-3", "2;5", "0", "5-3", "300"]), _cell)
            ),
            "min_faces": draw(st.one_of(st.integers(-1, 6), _cell)),
            "max_faces": draw(st.one_of(st.integers(-1, 6), _cell)),
        }
        for key in draw(
            st.sets(
                st.sampled_from(
                    ["digital", "area", "priority", "min_spacing_m", "formats", "competitor_group"]
                )
            )
        ):
            record[key] = draw(st.one_of(
                st.sampled_from(["only", "any", "circle:-0.1,51.5,500", "wards:A;B", "3"]), _cell
            ))  # fmt: skip
        records.append(record)
    return records


@SETTINGS
@given(campaign_records())
def test_any_campaigns_table_parses_within_its_rules_or_names_rows(records):
    try:
        campaigns = parse_campaigns(pd.DataFrame(records), source="random.csv")
    except CampaignError as exc:
        assert str(exc).startswith("random.csv:")
        return
    ids = [c.campaign_id for c in campaigns]
    assert len(ids) == len(set(ids)) == len(records)
    for c in campaigns:
        assert c.category in CATEGORIES
        assert math.isfinite(c.budget) and c.budget >= 0
        assert 0 <= c.min_faces <= c.max_faces and c.max_faces >= 1
        assert c.cycles and all(1 <= t <= 260 for t in c.cycles)
        assert c.digital in {"only", "never", "any"}
        assert c.priority >= 1 and c.min_spacing_m >= 0


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 260), st.integers(0, 5)), min_size=1, max_size=6))
def test_cycle_lists_round_trip(ranges):
    text = ";".join(f"{a}-{min(a + n, 260)}" if n else str(a) for a, n in ranges)
    expected = sorted({t for a, n in ranges for t in range(a, min(a + n, 260) + 1)})
    assert list(parse_cycles(text)) == expected


@SETTINGS
@given(st.text(max_size=30))
def test_any_cycle_text_parses_or_raises_value_error(text):
    try:
        cycles = parse_cycles(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert cycles == tuple(sorted(set(cycles)))
    assert all(1 <= t <= 260 for t in cycles)
