"""Concession terms: hand-computed tiered shares, guarantees, fees, indexation and file errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.errors import PricingError
from planner.value.concession import (
    ConcessionTerms,
    council_income,
    income_breakdown,
    load_terms,
    terms_from_dict,
    terms_to_dict,
)

TIERED = """
name = "tiered"
currency = "GBP"
minimum_annual_guarantee = 100000
fixed_annual_fee = 10000
indexation = 0.02

[[revenue_share]]
from = 0
share = 0.60

[[revenue_share]]
from = 250000
share = 0.70

[[revenue_share]]
from = 1000000
share = 0.75
"""


def write(tmp_path: Path, text: str, name: str = "terms.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_flat_share_without_guarantee():
    assert council_income(200_000, ConcessionTerms.flat(0.5)) == 100_000


def test_guarantee_binding_and_not():
    terms = ConcessionTerms.flat(0.5, minimum_annual_guarantee=100_000)
    low, high = income_breakdown(150_000, terms), income_breakdown(300_000, terms)
    assert (low["income"], low["guarantee_binding"]) == (100_000, True)
    assert (high["income"], high["guarantee_binding"]) == (150_000, False)


def test_tiered_bands_are_marginal(tmp_path):
    terms = load_terms(write(tmp_path, TIERED))
    assert terms.bands == ((0, 0.6), (250_000, 0.7), (1_000_000, 0.75))
    share = income_breakdown([100_000, 500_000, 2_000_000], terms)["revenue_share"]
    # 500k: 60% of 250k + 70% of 250k; 2m: 150k + 70% of 750k + 75% of 1m
    assert share.tolist() == pytest.approx([60_000, 325_000, 1_425_000])
    # 100k: the £100k guarantee binds (share 60k), plus the £10k fee
    assert council_income(100_000, terms) == pytest.approx(110_000)
    assert council_income(500_000, terms) == pytest.approx(335_000)


def test_indexation_applies_to_guarantee_and_fee_from_year_two(tmp_path):
    terms = load_terms(write(tmp_path, TIERED))
    year3 = income_breakdown(0, terms, year=3)
    assert year3["guarantee"] == pytest.approx(100_000 * 1.02**2)
    assert year3["fixed_fee"] == pytest.approx(10_000 * 1.02**2)
    assert year3["income"] == pytest.approx(110_000 * 1.02**2)
    assert council_income(2_000_000, terms, year=3) == pytest.approx(1_425_000 + 10_000 * 1.0404)


def test_vectorised_matches_scalar(tmp_path):
    terms = load_terms(write(tmp_path, TIERED))
    sales = np.array([0, 120_000, 250_000, 999_999, 3e6])
    got = council_income(sales, terms, year=2)
    assert isinstance(got, np.ndarray) and got.shape == sales.shape
    assert got.tolist() == pytest.approx([council_income(s, terms, year=2) for s in sales])
    one = council_income(1.0, terms)  # a scalar gives a plain float: guarantee plus fixed fee
    assert type(one) is float and one == 110_000.0


def test_builtin_terms_load_by_name():
    uk = load_terms("uk-default")
    assert uk.currency == "GBP"
    assert [share for _, share in uk.bands] == [0.60, 0.70, 0.75]
    assert uk.minimum_annual_guarantee > 0
    demo = load_terms("demo")
    assert (demo.currency, demo.bands) == ("EUR", ((0.0, 0.5),))


def test_negative_sales_and_year_zero_are_rejected():
    terms = ConcessionTerms.flat(0.5)
    with pytest.raises(PricingError, match="annual sales"):
        council_income(-1, terms)
    with pytest.raises(PricingError, match="year must be 1"):
        council_income(1, terms, year=0)


def test_missing_file_and_broken_toml(tmp_path):
    with pytest.raises(PricingError, match=r"terms file .*not found.*uk-default"):
        load_terms("nope")
    with pytest.raises(PricingError, match=r"bad\.toml is not valid TOML"):
        load_terms(write(tmp_path, "currency = GBP\n", "bad.toml"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('currency = "GBP"\n', "", "'currency' must be an ISO code"),
        ("share = 0.70", "share = 70", r"number 2: key 'share' must be in \[0, 1\]"),
        ("from = 250000", "from = 2000000", "must start at 0 and increase"),
        (
            "minimum_annual_guarantee = 100000",
            "minimum_annual_guarantee = -5",
            "'minimum_annual_guarantee' must be an amount",
        ),
        ("indexation = 0.02", "indexation = 2", "'indexation' must be a yearly rate"),
        ("indexation = 0.02", "indexaton = 0.02", "unknown key.*'indexaton'"),
        ("share = 0.60", "share = 0.60\ncap = 1", "exactly the keys 'from' and 'share'"),
    ],
)
def test_invalid_terms_name_the_file_and_key(tmp_path, old, new, message):
    assert old in TIERED
    with pytest.raises(PricingError, match=rf"terms\.toml.*{message}"):
        load_terms(write(tmp_path, TIERED.replace(old, new, 1)))


def test_missing_revenue_share_says_how_to_write_it(tmp_path):
    with pytest.raises(PricingError, match=r"missing key 'revenue_share'.*revenue_share = 0\.5"):
        load_terms(write(tmp_path, 'currency = "GBP"\n'))


# --- terms as a dict (the app's simulator, a scenario store) -------------------------------


def test_terms_from_a_dict_equal_the_same_terms_from_a_file(tmp_path):
    banded = {
        "name": "tiered",
        "currency": "gbp",
        "minimum_annual_guarantee": 100_000,
        "fixed_annual_fee": 10_000,
        "indexation": 0.02,
        "revenue_share": [
            {"from": 0, "share": 0.60},
            {"from": 250_000, "share": 0.70},
            {"from": 1_000_000, "share": 0.75},
        ],
    }
    path = write(tmp_path, TIERED)
    from_file = load_terms(path)
    assert terms_from_dict(banded, source=str(path)) == from_file
    from_dict = load_terms(banded)
    assert (from_dict.currency, from_dict.source) == ("GBP", "")
    assert from_dict.bands == ((0.0, 0.6), (250_000.0, 0.7), (1_000_000.0, 0.75))
    # 0.6 * 250k + 0.7 * 150k = 255k, above the 100k guarantee, plus the 10k fee
    assert council_income(400_000, from_dict) == pytest.approx(265_000)


def test_a_flat_share_in_a_dict_and_defaults():
    terms = terms_from_dict({"currency": "EUR", "revenue_share": 0.5})
    assert terms == ConcessionTerms("concession terms", "EUR", ((0.0, 0.5),))


@pytest.mark.parametrize("name", ["demo", "uk-default"])
def test_terms_round_trip_through_a_dict(name):
    terms = load_terms(name)
    data = terms_to_dict(terms)
    assert data["revenue_share"][0] == {"from": 0.0, "share": terms.bands[0][1]}
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
    assert terms_from_dict(data, source=terms.source) == terms


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bands": [[0, 0.5]]}, r"concession terms: unknown key\(s\) 'bands'; allowed keys are"),
        ({"currency": "euros"}, "key 'currency' must be an ISO code"),
        ({"revenue_share": [{"from": 0, "share": 1.5}]},
         r"\[\[revenue_share\]\] number 1: key 'share' must be in \[0, 1\]; got 1.5"),
        ({"revenue_share": [{"from": 0, "share": float("nan")}]}, "key 'share' must be in"),
        ({"revenue_share": []}, "missing key 'revenue_share'"),
        ({"fixed_annual_fee": -1}, "key 'fixed_annual_fee' must be an amount >= 0; got -1"),
    ],
)  # fmt: skip
def test_bad_dict_terms_name_the_key(change, message):
    with pytest.raises(PricingError, match=message):
        terms_from_dict({"name": "x", "currency": "EUR", "revenue_share": 0.5, **change})
