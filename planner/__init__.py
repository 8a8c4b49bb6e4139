"""OOH advertising asset planner: load, check eligibility, value, plan, audit and map."""

from __future__ import annotations

from planner.errors import (
    CampaignError,
    DataValidationError,
    InfeasibleError,
    PlannerError,
    PolicyError,
    PricingError,
    Problem,
)
from planner.geo import metric_crs, to_metric

__all__ = [
    "CampaignError",
    "DataValidationError",
    "InfeasibleError",
    "PlannerError",
    "PolicyError",
    "PricingError",
    "Problem",
    "metric_crs",
    "to_metric",
]
