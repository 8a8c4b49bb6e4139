"""Stage 3, value: modelled audiences, rate cards, concession terms and asset valuation.

Every audience and value figure here is a modelled estimate with its assumptions listed
(`assumptions_table`), never a measurement.
"""

from __future__ import annotations

from planner.value.audience import (
    MEASURED,
    MODELLED,
    AudienceParams,
    Calibration,
    calibrate,
    estimate_impacts,
    is_digital,
    slots_of,
)
from planner.value.concession import (
    ConcessionTerms,
    council_income,
    income_breakdown,
    load_terms,
    terms_from_dict,
    terms_to_dict,
)
from planner.value.rates import (
    RateCard,
    RateEntry,
    card_for_location,
    load_rate_card,
    outside_card_area,
    price_assets,
)
from planner.value.valuation import (
    CATEGORY_SHARE_SOURCES,
    DEFAULT_CATEGORY_SHARE,
    SCENARIOS,
    ValuationAssumptions,
    assumptions_table,
    check_currency,
    policy_value_at_risk,
    portfolio_summary,
    value_assets,
)

__all__ = [
    "CATEGORY_SHARE_SOURCES",
    "DEFAULT_CATEGORY_SHARE",
    "MEASURED",
    "MODELLED",
    "SCENARIOS",
    "AudienceParams",
    "Calibration",
    "ConcessionTerms",
    "RateCard",
    "RateEntry",
    "ValuationAssumptions",
    "assumptions_table",
    "calibrate",
    "card_for_location",
    "check_currency",
    "council_income",
    "estimate_impacts",
    "income_breakdown",
    "is_digital",
    "load_rate_card",
    "load_terms",
    "outside_card_area",
    "policy_value_at_risk",
    "portfolio_summary",
    "price_assets",
    "slots_of",
    "terms_from_dict",
    "terms_to_dict",
    "value_assets",
]
