"""OOH advertising asset planner: load, check eligibility, value, plan, audit and map.

The flow, each step a function of GeoDataFrames or small dataclasses::

    assets = planner.load_assets("assets.gpkg")            # or planner.import_osm(...)
    sites = planner.load_sites("sites.gpkg")
    zones = planner.load_zones("zones.gpkg")
    policy = planner.load_policy("uk-cap-code")
    table = planner.eligibility(assets, sites, policy)
    values = planner.value_assets(assets, zones=zones, eligibility=table)
    result = planner.plan(assets, planner.load_campaigns("campaigns.csv"), policy,
                          sites=sites, values=values, zones=zones)
    planner.audit(result.placements, assets, sites, policy)
    planner.asset_map(assets, sites=sites, placements=result.placements)
"""

from __future__ import annotations

from planner.calendar import cycle_dates, parse_cycles
from planner.campaigns import CAMPAIGN_COLUMNS, Area, Campaign, parse_campaigns
from planner.demo import load_demo
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
from planner.io.database import DatabaseSource, read_database_table, write_database
from planner.io.form import for_form, mapping_targets, preview_file, suggest_columns
from planner.io.osm import import_osm, import_osm_layers
from planner.io.readers import (
    load_assets,
    load_campaigns,
    load_layer,
    load_placements,
    load_sites,
    load_zones,
    read_campaigns_table,
    validate_file,
    write_layers,
    write_table,
)
from planner.io.traffic import load_traffic_counts
from planner.io.validation import ValidationReport, check_layers_overlap
from planner.io.writers import write_booking_sheet, write_report
from planner.optimise.covering import CoverResult, coverage_from_frames, coverage_matrix, max_cover
from planner.optimise.greedy import greedy_plan
from planner.optimise.instance import build_instance
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.optimise.site_selection import SiteSelection, select_sites
from planner.optimise.solve import solve_instance
from planner.plan import Plan, plan, plan_reach_curve, policy_cost, required_sales, selection_kpis
from planner.plan_report import format_money, plan_report
from planner.policy.audit import audit
from planner.policy.eligibility import (
    allowed_matrix,
    eligibility,
    eligibility_summary,
    exclusion_zones,
    refusals,
)
from planner.policy.load import (
    Policy,
    list_presets,
    load_policy,
    parse_policy,
    policy_from_text,
    policy_to_toml,
)
from planner.policy.sites import check_sites_against_policy
from planner.policy.table import policy_from_table, policy_to_table
from planner.presets import preset_names
from planner.report import booking_sheet, plan_by_campaign, plan_by_cycle, value_bands
from planner.scenarios import (
    Scenario,
    compare_scenarios,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
    store_path,
)
from planner.schema import DATA_DIR
from planner.value.audience import AudienceParams, calibrate, estimate_impacts
from planner.value.concession import (
    ConcessionTerms,
    council_income,
    income_breakdown,
    load_terms,
    terms_from_dict,
    terms_to_dict,
)
from planner.value.rates import RateCard, card_for_location, load_rate_card, price_assets
from planner.value.reach import ReachParams, build_catchments, campaign_reach, reach_frequency
from planner.value.valuation import (
    ValuationAssumptions,
    assumptions_table,
    check_currency,
    policy_value_at_risk,
    portfolio_summary,
    value_assets,
)

#: Names served by `planner.maps.render`, imported on first use so that ``import planner`` does
#: not load folium.
_MAP_NAMES = ("asset_map", "map_html", "save_map")


def __getattr__(name: str):
    if name in _MAP_NAMES:
        from planner.maps import render as maps

        return getattr(maps, name)
    raise AttributeError(f"module 'planner' has no attribute '{name}'")


__all__ = [
    "CAMPAIGN_COLUMNS",
    "DATA_DIR",
    "Area",
    "AudienceParams",
    "Campaign",
    "CampaignError",
    "ConcessionTerms",
    "CoverResult",
    "DataValidationError",
    "DatabaseSource",
    "InfeasibleError",
    "Plan",
    "PlanSettings",
    "PlannerError",
    "Policy",
    "PolicyError",
    "PricingError",
    "Problem",
    "RateCard",
    "ReachParams",
    "Scenario",
    "SiteSelection",
    "SolverSettings",
    "ValidationReport",
    "ValuationAssumptions",
    "allowed_matrix",
    "asset_map",
    "assumptions_table",
    "audit",
    "booking_sheet",
    "build_catchments",
    "build_instance",
    "calibrate",
    "campaign_reach",
    "card_for_location",
    "check_currency",
    "check_layers_overlap",
    "check_sites_against_policy",
    "compare_scenarios",
    "council_income",
    "coverage_from_frames",
    "coverage_matrix",
    "cycle_dates",
    "delete_scenario",
    "eligibility",
    "eligibility_summary",
    "estimate_impacts",
    "exclusion_zones",
    "for_form",
    "format_money",
    "greedy_plan",
    "import_osm",
    "import_osm_layers",
    "income_breakdown",
    "list_presets",
    "list_scenarios",
    "load_assets",
    "load_campaigns",
    "load_demo",
    "load_layer",
    "load_placements",
    "load_policy",
    "load_rate_card",
    "load_scenario",
    "load_sites",
    "load_terms",
    "load_traffic_counts",
    "load_zones",
    "map_html",
    "mapping_targets",
    "max_cover",
    "metric_crs",
    "parse_campaigns",
    "parse_cycles",
    "parse_policy",
    "plan",
    "plan_by_campaign",
    "plan_by_cycle",
    "plan_reach_curve",
    "plan_report",
    "policy_cost",
    "policy_from_table",
    "policy_from_text",
    "policy_to_table",
    "policy_to_toml",
    "policy_value_at_risk",
    "portfolio_summary",
    "preset_names",
    "preview_file",
    "price_assets",
    "reach_frequency",
    "read_campaigns_table",
    "read_database_table",
    "refusals",
    "required_sales",
    "save_map",
    "save_scenario",
    "select_sites",
    "selection_kpis",
    "solve_instance",
    "store_path",
    "suggest_columns",
    "terms_from_dict",
    "terms_to_dict",
    "to_metric",
    "validate_file",
    "value_assets",
    "value_bands",
    "write_booking_sheet",
    "write_database",
    "write_layers",
    "write_report",
    "write_table",
]
