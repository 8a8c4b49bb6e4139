"""Domain errors: every failure a user can cause is a `PlannerError` with a plain message."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CampaignError",
    "DataValidationError",
    "InfeasibleError",
    "PlannerError",
    "PolicyError",
    "PricingError",
    "Problem",
]


class PlannerError(Exception):
    """Base class of every error the planner raises for bad input or an impossible request."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating an input.

    Attributes
    ----------
    source
        File name (or "data" for an in-memory table).
    where
        Row number (1-based, as a spreadsheet shows it) or id of the offending record;
        empty when the problem concerns the whole file.
    column
        Column concerned, empty when none.
    found
        What was found.
    fix
        How to fix it.
    severity
        ``"error"`` (the row or file cannot be used) or ``"warning"`` (kept, repaired or noted).
    """

    source: str
    where: str
    column: str
    found: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        place = ", ".join(
            p for p in (self.source, self.where, self.column and f"column '{self.column}'") if p
        )
        return f"{place}: {self.found}. {self.fix}".strip()


class DataValidationError(PlannerError):
    """An input file or table failed validation; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        shown = errors[:20]
        lines = [f"{source}: {len(errors)} problem(s) must be fixed before this file can be used:"]
        lines += [f"  - {p}" for p in shown]
        if len(errors) > len(shown):
            lines.append(f"  ... and {len(errors) - len(shown)} more (see .problems)")
        super().__init__("\n".join(lines))


class PolicyError(PlannerError):
    """A policy file or rule is invalid; the message names the rule id and the key."""


class PricingError(PlannerError):
    """A rate card or concession-terms file is invalid."""


class CampaignError(PlannerError):
    """A campaigns table is invalid; the message names the row and the column."""


class InfeasibleError(PlannerError):
    """No plan satisfies every rule; ``reasons`` names the conflicting rules in words."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        super().__init__(message)
