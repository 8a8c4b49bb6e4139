"""Ethical-use policies: the rules on what may be advertised where and when, read from TOML.

The rule classes and `Policy` are defined in `planner.policy.rules` and re-exported here.
A policy file has top-level ``name``, ``description``, ``source``, optional
``categories`` and ``kinds`` (names added to the default vocabularies) and one
``[[rules]]`` table per rule with its ``id``, ``type`` and that type's keys::

    name = "UK CAP Code: age-restricted products away from schools"
    source = "CAP Code rules 15.18, 16.3.13 and 18.15 with ASA/CAP advice (asa.org.uk)"

    [[rules]]
    id = "cap-schools-100m"
    type = "exclusion"
    categories = ["alcohol", "gambling", "hfss"]
    near = ["school"]
    within_m = 100

Bundled presets (`list_presets`) are package data in ``planner/presets/policies``; each
file's comments give the code or council decision it encodes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from datetime import date, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from planner.errors import PolicyError
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
)
from planner.presets import preset_file, preset_names
from planner.schema import CATEGORIES

__all__ = [
    "BanRule",
    "DensityRule",
    "ExclusionRule",
    "PeriodRule",
    "Policy",
    "Rule",
    "ShareRule",
    "list_presets",
    "load_policy",
    "parse_policy",
    "policy_from_text",
    "policy_to_toml",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------- parsing

_COMMON = {"id", "type"}
_KEYS: dict[str, tuple[set[str], set[str]]] = {  # type -> (required, optional)
    "ban": ({"categories"}, {"asset_types", "digital"}),
    "exclusion": ({"categories", "near", "within_m"}, {"asset_types", "digital"}),
    "density": ({"max_faces", "within_m"}, set()),
    "share": ({"categories", "max_share"}, set()),
    "period": ({"categories", "start", "end"}, set()),
}
_TOP = {"name", "description", "source", "rules", "categories", "kinds"}


def _check_value(key: str, value: Any) -> str | None:
    """Type problem of one rule value, or None; ranges are checked on the built rule."""
    if key in {"categories", "near", "asset_types"}:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else f'must be a list of names, e.g. {key} = ["a", "b"]; got {value!r}'
    if key == "digital":
        return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
    if key in {"within_m", "max_share"}:
        return None if is_number(value) else f"must be a number; got {value!r}"
    if key == "max_faces":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be a whole number; got {value!r}"
    if key in {"start", "end"}:
        return None if _as_date(value) else f"must be a date such as 2027-05-06; got {value!r}"
    if key == "id":
        return None if isinstance(value, str) else f"must be text; got {value!r}"
    return None


def _as_date(value: Any) -> date | None:
    """Return a TOML date or ISO ``YYYY-MM-DD`` text as a date; None otherwise (datetimes too)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _parse_rule(doc: Any, index: int) -> tuple[Rule | None, list[str]]:
    """Build one rule from its ``[[rules]]`` table, or return every problem of its keys.

    Checks the type, missing and unknown keys and each value's type; ranges and names
    are checked afterwards, on the built rules (`policy_problems`).
    """
    if not isinstance(doc, dict):
        return None, [f"rule #{index + 1}: must be a [[rules]] table; got {doc!r}"]
    rid = doc.get("id")
    where = f"rule '{rid}'" if isinstance(rid, str) and rid else f"rule #{index + 1}"
    kind = doc.get("type")
    if kind not in _KEYS:
        known = ", ".join(_KEYS)
        return None, [f"{where}, key 'type': unknown rule type {kind!r}; use one of {known}"]
    required, optional = _KEYS[kind]
    problems = [
        f"{where}, key '{k}': required for a {kind} rule"
        for k in sorted((required | _COMMON) - doc.keys())
    ]
    allowed = ", ".join(sorted(required | optional | _COMMON))
    problems += [
        f"{where}, key '{k}': unknown key for a {kind} rule; allowed: {allowed}"
        for k in sorted(doc.keys() - required - optional - _COMMON)
    ]
    problems += [
        f"{where}, key '{k}': {msg}"
        for k, v in doc.items()
        if (msg := _check_value(k, v)) is not None
    ]
    if problems:
        return None, problems
    values = {k: v for k, v in doc.items() if k != "type"}
    for key in ("start", "end"):
        if key in values:
            values[key] = _as_date(values[key])
    return RULE_CLASSES[kind](**values), []


def _vocabulary(doc: dict, key: str, default: tuple[str, ...]) -> tuple[tuple, list[str]]:
    """Return ``default`` plus the names the document adds under ``key``, and any problem.

    Added names must be lower-case snake_case (``[a-z][a-z0-9_]*``); repeats are ignored.
    """
    extra = doc.get(key, [])
    if not isinstance(extra, list) or not all(isinstance(v, str) for v in extra):
        return default, [f"key '{key}': must be a list of names to add; got {extra!r}"]
    bad = [v for v in extra if not _NAME.match(v)]
    if bad:
        return default, [
            f"key '{key}': {', '.join(map(repr, bad))} must be lower-case "
            "letters, digits and '_', starting with a letter"
        ]
    return default + tuple(dict.fromkeys(v for v in extra if v not in default)), []


def parse_policy(doc: dict, *, source: str) -> Policy:
    """Build a `Policy` from a parsed TOML document, reporting every problem at once.

    Parameters
    ----------
    doc
        The document, as `tomllib` returns it (see the module docstring for its keys).
    source
        Where it came from (file name), for error messages.

    Returns
    -------
    Policy
        With the document's rules in order, and `planner.schema.CATEGORIES` and
        `DEFAULT_KINDS` extended by the document's ``categories`` and ``kinds``.

    Raises
    ------
    PolicyError
        Naming the rule id and the key of every problem found.

    Examples
    --------
    >>> parse_policy({"name": "x", "rules": [{"id": "b", "type": "ban",
    ...               "categories": ["adult"]}]}, source="inline").rule("b").type
    'ban'
    """
    problems = [
        f"key '{k}': unknown top-level key; allowed: {', '.join(sorted(_TOP))}"
        for k in sorted(doc.keys() - _TOP)
    ]
    for key in ("name", "description", "source"):
        if key in doc and not isinstance(doc[key], str):
            problems.append(f"key '{key}': must be text; got {doc[key]!r}")
    if not isinstance(doc.get("name"), str) or not doc.get("name", "").strip():
        problems.append("key 'name': required; add e.g. name = \"My council\"")
    categories, errs = _vocabulary(doc, "categories", CATEGORIES)
    problems += errs
    kinds, errs = _vocabulary(doc, "kinds", DEFAULT_KINDS)
    problems += errs
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.append("key 'rules': must be a list of [[rules]] tables")
        raw_rules = []
    rules = []
    for i, raw in enumerate(raw_rules):
        rule, errs = _parse_rule(raw, i)
        problems += errs
        if rule is not None:
            rules.append(rule)
    problems += policy_problems(tuple(rules), categories, kinds)
    if problems:
        raise policy_error(source, problems)
    return Policy(
        name=doc["name"],
        description=doc.get("description", ""),
        source=doc.get("source", ""),
        rules=tuple(rules),
        categories=categories,
        kinds=kinds,
    )


def list_presets() -> list[str]:
    """List the names of the bundled preset policies.

    Returns
    -------
    list of str
        Sorted names, e.g. ``['climate', 'healthier-advertising', 'transport-authority',
        'uk-cap-code']`` (package data in ``planner/presets/policies``).

    Notes
    -----
    ``uk-cap-code`` is the CAP Code's age-restricted rules applied to posters as ASA/CAP
    advise (no alcohol, gambling or HFSS within 100 m of a school);
    ``healthier-advertising`` follows Bristol City Council's 2021 policy, ``climate``
    Sheffield City Council's 2024 policy and ``transport-authority`` Transport for
    London's 2019 advertising policy. Each policy's ``source`` says so.

    Examples
    --------
    >>> "uk-cap-code" in list_presets()
    True
    """
    return preset_names("policies")


def load_policy(path_or_preset: str | Path) -> Policy:
    """Read a policy from a TOML file path or a preset name.

    Parameters
    ----------
    path_or_preset
        Path of a ``.toml`` policy file, or the name of a bundled preset
        (`list_presets`). An existing file wins over a preset of the same name.

    Returns
    -------
    Policy

    Raises
    ------
    PolicyError
        When it is neither a file nor a preset name (the message lists the presets), the
        file cannot be read as UTF-8 text, or its TOML or rules are invalid (naming the
        rule id and key of every problem).

    Examples
    --------
    >>> load_policy("uk-cap-code").exclusions[0].within_m
    100.0
    """
    path: Path | Traversable = Path(path_or_preset)
    if not Path(path_or_preset).is_file():
        # Only a listed name: a "preset" such as "../rates/x" must not reach other files.
        preset = (
            preset_file("policies", str(path_or_preset))
            if str(path_or_preset) in list_presets()
            else None
        )
        if preset is None:
            names = ", ".join(list_presets()) or "none installed"
            raise PolicyError(
                f"policy '{path_or_preset}' is neither a file nor a preset; "
                f"give a .toml path or one of: {names}"
            )
        path = preset
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read ({exc})") from None
    return policy_from_text(text, source=str(path))


def policy_from_text(text: str, *, source: str = "policy") -> Policy:
    r"""Parse a policy from TOML text (e.g. the app's rule editor).

    Parameters
    ----------
    text
        The whole policy document, as in a policy file.
    source
        Name for messages, e.g. the uploaded file's name.

    Returns
    -------
    Policy

    Raises
    ------
    PolicyError
        Naming ``source``, the rule id and the key; or saying the text is not TOML (or
        nested too deeply to parse).

    Examples
    --------
    >>> policy_from_text('name = "Mine"\n[[rules]]\nid = "b"\ntype = "ban"\n'
    ...                  'categories = ["adult"]').rule("b").type
    'ban'
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc}); check quotes and brackets") from None
    except RecursionError:
        raise PolicyError(
            f"{source}: not valid TOML for a policy (arrays or tables nested too deeply)"
        ) from None
    return parse_policy(doc, source=source)


# ---------------------------------------------------------------- writing


def _toml_value(value: Any) -> str:
    """Write one value as TOML: bools, whole floats as ints, dates, escaped strings, lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | date):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        for ch in {c for c in escaped if ord(c) < 0x20 or ord(c) == 0x7F}:
            escaped = escaped.replace(ch, f"\\u{ord(ch):04X}")
        return f'"{escaped}"'
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def policy_to_toml(policy: Policy) -> str:
    """Write a policy as TOML that `parse_policy` reads back to an equal policy.

    Parameters
    ----------
    policy
        The policy, e.g. one edited in the app.

    Returns
    -------
    str
        ``name``, ``description`` and ``source``, the categories and kinds it adds to the
        defaults (if any), then one ``[[rules]]`` table per rule in order, leaving out
        scope keys that are unset. Comments in the original file are not kept.

    Examples
    --------
    >>> text = policy_to_toml(load_policy("uk-cap-code"))
    >>> parse_policy(tomllib.loads(text), source="x") == load_policy("uk-cap-code")
    True
    """
    lines = [f"{k} = {_toml_value(getattr(policy, k))}" for k in ("name", "description", "source")]
    for key, default in (("categories", CATEGORIES), ("kinds", DEFAULT_KINDS)):
        extra = [v for v in getattr(policy, key) if v not in default]
        if extra:
            lines.append(f"{key} = {_toml_value(extra)}")
    for rule in policy.rules:
        lines += ["", "[[rules]]", f"id = {_toml_value(rule.id)}", f'type = "{rule.type}"']
        lines += [
            f"{f.name} = {_toml_value(getattr(rule, f.name))}"
            for f in fields(rule)
            if f.name != "id" and getattr(rule, f.name) is not None
        ]
    return "\n".join(lines) + "\n"
