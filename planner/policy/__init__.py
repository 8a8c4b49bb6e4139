"""Stage 2, policy: ethical-use rules, eligibility of every asset for every category, the audit.

`eligibility` says which advertiser categories each asset may carry and why not; `audit`
re-checks any plan against every rule with its own, independent distance computation.
"""

from __future__ import annotations

from planner.policy.audit import (
    VIOLATION_COLUMNS,
    audit,
)
from planner.policy.eligibility import (
    ELIGIBILITY_COLUMNS,
    allowed_matrix,
    eligibility,
    eligibility_summary,
    exclusion_zones,
    refusals,
    scope_mask,
)
from planner.policy.load import (
    list_presets,
    load_policy,
    parse_policy,
    policy_from_text,
    policy_to_toml,
)
from planner.policy.rules import (
    DEFAULT_KINDS,
    RULE_CLASSES,
    BanRule,
    DensityRule,
    ExclusionRule,
    PeriodRule,
    Policy,
    Rule,
    ShareRule,
    is_number,
    policy_error,
    policy_problems,
    rule_problems,
)
from planner.policy.table import (
    RULE_COLUMNS,
    policy_from_table,
    policy_to_table,
)

__all__ = [
    "DEFAULT_KINDS",
    "ELIGIBILITY_COLUMNS",
    "RULE_CLASSES",
    "RULE_COLUMNS",
    "VIOLATION_COLUMNS",
    "BanRule",
    "DensityRule",
    "ExclusionRule",
    "PeriodRule",
    "Policy",
    "Rule",
    "ShareRule",
    "allowed_matrix",
    "audit",
    "eligibility",
    "eligibility_summary",
    "exclusion_zones",
    "is_number",
    "list_presets",
    "load_policy",
    "parse_policy",
    "policy_error",
    "policy_from_table",
    "policy_from_text",
    "policy_problems",
    "policy_to_table",
    "policy_to_toml",
    "refusals",
    "rule_problems",
    "scope_mask",
]
