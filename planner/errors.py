"""Domain errors: every failure a user can cause is a `PlannerError` with a plain message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """Base class of every error the planner raises for bad input or an impossible request.

    The message is written for the person who supplied the input: it names the file, row,
    column or rule concerned and says how to fix it, so the app and the CLI show it as it
    is, never a traceback. Catch `PlannerError` to handle every such failure at once.
    """


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
        """Return the problem as one line: ``source, where, column 'c': found. fix``.

        Empty parts are left out, so a whole-file problem reads ``source: found. fix``.

        Examples
        --------
        >>> str(Problem("assets.csv", "row 7 (id A5)", "faces", "'two' is not a number",
        ...             "Enter a number"))
        "assets.csv, row 7 (id A5), column 'faces': 'two' is not a number. Enter a number"
        """
        place = ", ".join(
            p for p in (self.source, self.where, self.column and f"column '{self.column}'") if p
        )
        return f"{place}: {self.found}. {self.fix}".strip()


class DataValidationError(PlannerError):
    """An input file or table failed validation; ``problems`` lists every problem found.

    Validation collects every problem before raising once, so one run tells the user
    everything to fix. The message lists the first 20 errors (warnings are kept in
    ``problems`` but not shown); the rest are counted.

    Parameters
    ----------
    source
        File name, or the table's role (``"assets"``, ``"sites"``, ``"placements"``) for an
        in-memory table.
    problems
        Every problem found, errors and warnings.

    Attributes
    ----------
    source
        As given.
    problems
        List of `Problem`, in the order found.
    report
        Set by `planner.io.validation.validate_frame` only: the `ValidationReport` of the
        failed file, which `planner.io.readers.validate_file` returns instead of raising.

    Examples
    --------
    >>> err = DataValidationError("assets.gpkg", [Problem("assets.gpkg", "", "",
    ...                           "the file is empty (0 bytes)", "Export the data again")])
    >>> print(err)
    assets.gpkg: 1 problem(s) must be fixed before this file can be used:
      - assets.gpkg: the file is empty (0 bytes). Export the data again
    """

    # A `planner.io.validation.ValidationReport`, set only by `validate_frame` (typed loosely:
    # errors sit below every stage and import none of them).
    report: Any

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
    """A policy file or rule is invalid; the message names the rule id and the key.

    Raised by `planner.policy.load` (TOML that does not parse, unknown or missing keys) and
    by `planner.policy.rules.Policy` itself (unknown categories or site kinds, negative
    distances, shares outside 0-1, dates in the wrong order). When built by
    `planner.policy.rules.policy_error` it also has ``problems``: one line per problem.
    """

    problems: list[str]  # set only by `planner.policy.rules.policy_error`


class PricingError(PlannerError):
    """A rate card or concession-terms file is invalid.

    Raised by `planner.value.rates` and `planner.value.concession` for TOML that cannot be
    read, missing or mistyped keys and out-of-range amounts or shares; the message names
    the file and the key.
    """


class CampaignError(PlannerError):
    """A campaigns table is invalid; the message names the row and the column.

    Raised by `planner.campaigns.parse_campaigns` (every bad row and column at once) and by
    the campaigns readers in `planner.io` when the CSV itself cannot be read.
    """


class InfeasibleError(PlannerError):
    """No plan satisfies every rule; ``reasons`` names the conflicting rules in words.

    Raised by the optimisers in `planner.optimise` when a request cannot be met (for
    example a coverage target no set of sites can reach); a solve never returns an empty
    plan instead.

    Parameters
    ----------
    message
        What could not be met, and how to relax the request.
    reasons
        One plain sentence per conflicting rule or requirement; empty when unknown.
    """

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        super().__init__(message)
