"""Rate cards: loading, matching by format/kind/tier, CPM pricing and clear file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planner.presets
from planner.errors import PricingError
from planner.value.rates import RateCard, RateEntry, load_rate_card, price_assets

CARD = """
name = "test card"
currency = "GBP"
agency_commission = 0.15
default_tier = "standard"
tier_column = "tier"

[ward_tiers]
"Town Centre" = "prime"

[[rate]]
format = "6-sheet"
price_per_cycle = 100.0

[[rate]]
format = "6-sheet"
tier = "prime"
price_per_cycle = 150.0

[[rate]]
format = "d48"
digital = true
price_per_cycle = 1000.0

[[rate]]
format = "*"
cpm = 5.0
"""


def write(tmp_path: Path, text: str, name: str = "card.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assets(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_builtin_cards_load_by_name():
    uk = load_rate_card("uk-default")
    assert (uk.currency, uk.agency_commission) == ("GBP", 0.15)
    d48 = next(e for e in uk.entries if e.format == "d48" and e.tier == "*")
    assert d48.price_per_cycle == 1000.0
    assert uk.sources  # the public figures are cited in the file
    assert load_rate_card("demo").currency == "EUR"
    assert Path(uk.source).parent == Path(planner.presets.__file__).parent / "rates"


def test_prices_by_format_tier_and_ward(tmp_path):
    card = load_rate_card(write(tmp_path, CARD))
    table = assets(
        format=["6-sheet", "6-sheet", "6-sheet", "d48"],
        digital=[False, False, False, True],
        tier=[None, "prime", None, None],
        ward=["Elsewhere", "Elsewhere", "Town Centre", "Elsewhere"],
    )
    got = price_assets(table, None, card)
    assert got["price_per_cycle"].tolist() == [100.0, 150.0, 150.0, 1000.0]
    assert got["tier"].tolist() == ["standard", "prime", "prime", "standard"]
    assert set(got["price_source"]) == {"rate card"}
    assert set(got["currency"]) == {"GBP"}


def test_cpm_price_is_per_cycle_of_two_weeks(tmp_path):
    card = load_rate_card(write(tmp_path, CARD))
    table = assets(format=["banner"], digital=[False])
    impacts = pd.DataFrame({"weekly_impacts": [10_000.0]})
    got = price_assets(table, impacts, card)
    assert got.loc[0, "price_per_cycle"] == pytest.approx(5.0 * 10_000 * 2 / 1000)
    assert got.loc[0, "price_source"] == "cpm"


def test_cpm_without_impacts_is_an_error(tmp_path):
    card = load_rate_card(write(tmp_path, CARD))
    with pytest.raises(PricingError, match=r"CPM.*estimate_impacts"):
        price_assets(assets(format=["banner"], digital=[False]), None, card)


def test_asset_file_price_wins(tmp_path):
    card = load_rate_card(write(tmp_path, CARD))
    table = assets(
        format=["6-sheet", "6-sheet"], digital=[False, False], price_per_cycle=[42.0, np.nan]
    )
    got = price_assets(table, None, card)
    assert got["price_per_cycle"].tolist() == [42.0, 100.0]
    assert got["price_source"].tolist() == ["asset file", "rate card"]


def test_most_specific_rate_wins_whatever_the_order():
    entries = (
        RateEntry(tier="prime", price_per_cycle=1.0),
        RateEntry(format="6-sheet", digital=False, price_per_cycle=2.0),
        RateEntry(format="6-sheet", digital=False, tier="prime", price_per_cycle=3.0),
    )
    card = RateCard("t", "GBP", 0.15, entries)
    table = assets(
        format=["6-sheet", "6-sheet", "48-sheet"],
        digital=[False] * 3,
        tier=["prime", "standard", "prime"],
    )
    assert price_assets(table, None, card)["price_per_cycle"].tolist() == [3.0, 2.0, 1.0]


def test_unpriced_format_names_the_format_and_the_file(tmp_path):
    text = CARD.replace('format = "*"\ncpm = 5.0', 'format = "d6"\ncpm = 5.0')
    card = load_rate_card(write(tmp_path, text, "narrow.toml"))
    with pytest.raises(PricingError, match=r"narrow\.toml: no rate for 1 asset.*48-sheet/classic"):
        price_assets(assets(format=["48-sheet"], digital=[False]), None, card)


def test_missing_file_lists_the_builtin_names(tmp_path):
    with pytest.raises(PricingError, match=r"not found.*uk-default"):
        load_rate_card("no-such-card")
    with pytest.raises(PricingError, match=r"nothere\.toml"):
        load_rate_card(tmp_path / "nothere.toml")


def test_broken_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, 'currency = "GBP"\nagency_commission = \n', "broken.toml")
    with pytest.raises(PricingError, match=r"broken\.toml is not valid TOML.*line 2"):
        load_rate_card(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('currency = "GBP"\n', "", r"card\.toml: missing key 'currency'"),
        ('currency = "GBP"', 'currency = "pounds"', "'currency' must be an ISO code"),
        ("agency_commission = 0.15", "agency_comission = 0.15", "unknown key.*'agency_comission'"),
        ("agency_commission = 0.15", "agency_commission = 15", "'agency_commission' must be"),
        ("price_per_cycle = 100.0", "price_per_cycle = -1", r"\[\[rate\]\] number 1.*positive"),
        ("price_per_cycle = 100.0", "price_per_cycle = 1.0\ncpm = 2.0", "exactly one of"),
        ("price_per_cycle = 100.0", 'price_per_cycle = "100"', "'price_per_cycle' must be"),
        ("digital = true", 'digital = "yes"', r"number 3.*'digital' must be true or false"),
        ('format = "6-sheet"\nprice', 'format = "6-sheet"\nfromat = "x"\nprice', "'fromat'"),
    ],
)
def test_invalid_cards_name_the_file_and_key(tmp_path, old, new, message):
    assert old in CARD
    with pytest.raises(PricingError, match=message):
        load_rate_card(write(tmp_path, CARD.replace(old, new, 1)))


def test_card_without_rates_is_rejected(tmp_path):
    text = 'currency = "GBP"\nagency_commission = 0.1\n'
    with pytest.raises(PricingError, match=r"no \[\[rate\]\] entries"):
        load_rate_card(write(tmp_path, text))


def test_cpt_pricing_follows_impacts_above_the_rate(tmp_path):
    text = CARD.replace(
        "[ward_tiers]", 'pricing = "cpt"\n\n[cpt]\nclassic = 4.0\nd48 = 20.0\n\n[ward_tiers]'
    )
    card = load_rate_card(write(tmp_path, text))
    assert (card.pricing, card.cpt) == ("cpt", {"classic": 4.0, "d48": 20.0})
    frame = assets(format=["6-sheet", "6-sheet", "d48"], digital=[False, False, True])
    weekly = pd.Series([10_000.0, 20_000.0, 30_000.0])
    prices = price_assets(frame, weekly, card)
    # 4 per 1,000 x 20,000 impacts a cycle = 80 < 100 (the floor); 160 > 100; d48 by format.
    assert prices["price_per_cycle"].tolist() == pytest.approx([100.0, 160.0, 1200.0])
    assert prices["price_source"].tolist() == ["rate card", "cpt", "cpt"]
    flat = price_assets(frame, weekly, card, pricing="rate card")
    assert flat["price_per_cycle"].tolist() == [100.0, 100.0, 1000.0]


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ('pricing = "auction"\n', "'pricing' must be"),
        ('pricing = "cpt"\n', r"needs a \[cpt\] table"),
        ('pricing = "cpt"\n[cpt]\nclassic = -1\n', r"\[cpt\] key 'classic' must be a positive"),
    ],
)
def test_invalid_cpt_settings_name_the_key(tmp_path, addition, message):
    text = CARD.replace("[ward_tiers]", addition + "\n[ward_tiers]")
    with pytest.raises(PricingError, match=message):
        load_rate_card(write(tmp_path, text))


def test_uk_default_prices_by_audience_with_cited_cpts():
    uk = load_rate_card("uk-default")
    assert uk.pricing == "cpt"
    assert uk.cpt == {"classic": 4.5, "digital": 15.0}
