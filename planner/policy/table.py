"""A policy's rules as a table of text cells, one row per rule, and back.

The table is what a spreadsheet or the app's rules editor shows: the columns of
`RULE_COLUMNS`, lists written ``alcohol; gambling``, dates ``2027-05-06``, empty cells
for keys a rule does not have. Reading it back builds the rule objects directly and
names the row and the column of every problem.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, fields
from datetime import date
from typing import Any

import pandas as pd

from planner.policy.rules import (
    DEFAULT_KINDS,
    RULE_CLASSES,
    Policy,
    Rule,
    policy_error,
    rule_problems,
)
from planner.schema import CATEGORIES

__all__ = ["RULE_COLUMNS", "policy_from_table", "policy_to_table"]

#: The columns of a rules table: every key any rule type has, in the order shown.
RULE_COLUMNS = (
    "id",
    "type",
    "categories",
    "near",
    "within_m",
    "max_faces",
    "max_share",
    "start",
    "end",
    "asset_types",
    "digital",
)
_LISTS = {"categories", "near", "asset_types"}
_FLOATS = {"within_m", "max_share"}
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


def policy_to_table(policy: Policy) -> pd.DataFrame:
    """Write a policy's rules as a table of text cells, one row per rule.

    Parameters
    ----------
    policy
        The policy.

    Returns
    -------
    pandas.DataFrame
        One row per rule in the policy's order, the columns of `RULE_COLUMNS`, every cell
        text: lists joined by ``"; "``, whole distances without ``.0``, dates as
        ``YYYY-MM-DD``, ``digital`` as ``true``/``false``, ``""`` where the rule has no
        such key. `policy_from_table` reads it back to the same rules.

    Examples
    --------
    >>> from planner.policy.load import load_policy
    >>> policy_to_table(load_policy("uk-cap-code")).loc[0, ["id", "within_m"]].tolist()
    ['cap-schools-100m', '100']
    """
    rows = [[_cell(getattr(rule, c, None)) for c in RULE_COLUMNS] for rule in policy.rules]
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS), dtype=object).astype(str)


def _cell(value: object) -> str:
    """Write one rule value as the text a table shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "; ".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, date) else str(value)


def policy_from_table(
    table: pd.DataFrame,
    *,
    name: str,
    description: str = "",
    source: str = "",
    categories: tuple[str, ...] = CATEGORIES,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    where: str = "rules table",
) -> Policy:
    """Build a policy from a rules table (as `policy_to_table` writes it or a user edits it).

    Parameters
    ----------
    table
        One row per rule, columns from `RULE_COLUMNS` (missing columns count as empty).
        Cells are text or values: lists separated by ``;`` or ``,``; distances in metres;
        ``max_share`` a fraction 0-1; dates ``YYYY-MM-DD``; ``digital`` true/false/yes/no.
        Rows with every cell empty are skipped.
    name, description, source
        The policy's name, description and where its rules come from.
    categories, kinds
        The advertiser categories and site kinds the rules may name (a policy may extend
        the defaults, `planner.schema.CATEGORIES` and the site kinds).
    where
        What the table is called in error messages.

    Returns
    -------
    Policy
        The rules in table order.

    Raises
    ------
    PolicyError
        Listing every problem at once, each naming the row (1 for the first rule row), the
        rule id and the column: an unknown column or rule type, a missing required cell, a
        cell that does not apply to the rule's type, a value that is not a number, date or
        true/false, an unknown category or site kind, a value out of range, a repeated id.

    Examples
    --------
    >>> rules = pd.DataFrame([{"id": "no-payday", "type": "ban", "categories": "payday_loans"}])
    >>> policy_from_table(rules, name="Mine").rule("no-payday").categories
    ('payday_loans',)
    """
    problems = [
        f"column '{c}': unknown column; the columns are {', '.join(RULE_COLUMNS)}"
        for c in table.columns
        if str(c) not in RULE_COLUMNS
    ]
    rules: list[Rule] = []
    first_row: dict[str, int] = {}
    for number, record in enumerate(table.to_dict("records"), start=1):
        cells = {k: text for k in RULE_COLUMNS if (text := _text(record.get(k)))}
        if not cells:
            continue
        place = f"row {number}" + (f" (rule '{cells['id']}')" if "id" in cells else "")
        rule, found = _row_rule(cells, categories, kinds)
        problems += [f"{place}, {p}" for p in found]
        rule_id = cells.get("id", "")
        if rule_id and rule_id in first_row:
            problems.append(
                f"{place}, column 'id': row {first_row[rule_id]} has the same id; "
                "give each rule its own id"
            )
        if rule_id:
            first_row.setdefault(rule_id, number)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise policy_error(where, problems)
    return Policy(
        name=name,
        description=description,
        source=source,
        rules=tuple(rules),
        categories=tuple(categories),
        kinds=tuple(kinds),
    )


def _text(value: Any) -> str:
    """Return a cell as stripped text; None, NaN and ``pd.NA`` are empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _cell(value).strip()


def _row_rule(
    cells: dict[str, str], categories: tuple, kinds: tuple
) -> tuple[Rule | None, list[str]]:
    """Build one row's rule; or return None and its problems (``column 'x': ...``)."""
    kind = cells.get("type", "")
    cls = RULE_CLASSES.get(kind.lower())
    if cls is None:
        found = f"unknown rule type '{kind}'" if kind else "empty"
        return None, [f"column 'type': {found}; use one of {', '.join(RULE_CLASSES)}"]
    keys = {f.name: f.default is MISSING for f in fields(cls)}
    problems = [
        f"column '{k}': required for a {cls.type} rule"
        for k, required in keys.items()
        if required and k not in cells
    ]
    problems += [
        f"column '{k}': does not apply to a {cls.type} rule; empty it"
        for k in cells
        if k not in keys and k != "type"
    ]
    values: dict[str, Any] = {}
    for key in [k for k in keys if k in cells]:
        value, problem = _value(key, cells[key])
        if problem:
            problems.append(f"column '{key}': {problem}")
        values[key] = value
    if problems:
        return None, problems
    rule = cls(**values)
    by_key = rule_problems(rule, tuple(categories), tuple(kinds))
    return rule, [f"column '{k}': {m}" for k, msgs in by_key.items() for m in msgs]


def _value(key: str, text: str) -> tuple[Any, str]:
    """Return a cell's value for rule key ``key``, and a problem ("" when there is none)."""
    if key in _LISTS:
        return tuple(p.strip() for p in text.replace(",", ";").split(";") if p.strip()), ""
    if key == "digital":
        flag = _BOOLEANS.get(text.lower())
        return flag, "" if flag is not None else f"must be true or false; got '{text}'"
    if key in _FLOATS or key == "max_faces":
        try:
            number = float(text)
        except ValueError:
            return None, f"must be a number; got '{text}'"
        if key in _FLOATS:
            return number, ""
        if not number.is_integer():
            return None, f"must be a whole number of faces; got '{text}'"
        return int(number), ""
    if key in {"start", "end"}:
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            return None, f"must be a date such as 2027-05-06; got '{text}'"
    return text, ""
