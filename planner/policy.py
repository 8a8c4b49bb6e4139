"""Ethical-use policies: the rules on what may be advertised where and when, read from TOML."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import planner
from planner.errors import PolicyError
from planner.schema import ASSET_TYPES, CATEGORIES, SITE_KINDS

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
    "presets_dir",
]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DEFAULT_KINDS = tuple(sorted(SITE_KINDS))


def _tuple(value: Any) -> tuple | None:
    """Lists become tuples (so rules hash); a lone string becomes a one-element tuple."""
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _normalise(rule: Any) -> None:
    """Name lists as tuples and distances/shares as floats, so equal rules compare equal."""
    for f in fields(rule):
        value = getattr(rule, f.name)
        if f.name in {"categories", "near", "asset_types"}:
            object.__setattr__(rule, f.name, _tuple(value))
        elif f.name in {"within_m", "max_share"} and _is_number(value):
            object.__setattr__(rule, f.name, float(value))


@dataclass(frozen=True)
class BanRule:
    """``categories`` are never allowed on assets in scope (``asset_types``, ``digital``)."""

    id: str
    categories: tuple[str, ...]
    asset_types: tuple[str, ...] | None = None
    digital: bool | None = None
    type: ClassVar[str] = "ban"

    def __post_init__(self) -> None:
        _normalise(self)


@dataclass(frozen=True)
class ExclusionRule:
    """``categories`` are not allowed within ``within_m`` metres of a site of a kind in ``near``.

    Distance is to a polygon's edge; an asset inside a polygon is at 0 m. A site at exactly
    ``within_m`` counts as within.
    """

    id: str
    categories: tuple[str, ...]
    near: tuple[str, ...]
    within_m: float
    asset_types: tuple[str, ...] | None = None
    digital: bool | None = None
    type: ClassVar[str] = "exclusion"

    def __post_init__(self) -> None:
        _normalise(self)


@dataclass(frozen=True)
class DensityRule:
    """At most ``max_faces`` booked faces within ``within_m`` metres of any booked asset.

    Checked per cycle by `planner.audit` and enforced by the optimiser with one reading:
    for every booked asset *a*, the faces booked on all assets within ``within_m`` of *a*
    (including *a*'s own) must not exceed ``max_faces``.
    """

    id: str
    max_faces: int
    within_m: float
    type: ClassVar[str] = "density"

    def __post_init__(self) -> None:
        _normalise(self)


@dataclass(frozen=True)
class ShareRule:
    """``categories`` together take at most ``max_share`` (0-1) of the faces booked in a cycle."""

    id: str
    categories: tuple[str, ...]
    max_share: float
    type: ClassVar[str] = "share"

    def __post_init__(self) -> None:
        _normalise(self)


@dataclass(frozen=True)
class PeriodRule:
    """``categories`` are not allowed in any cycle overlapping ``start``-``end`` (inclusive)."""

    id: str
    categories: tuple[str, ...]
    start: date
    end: date
    type: ClassVar[str] = "period"

    def __post_init__(self) -> None:
        _normalise(self)


Rule = BanRule | ExclusionRule | DensityRule | ShareRule | PeriodRule
_RULE_CLASSES: dict[str, type] = {
    c.type: c for c in (BanRule, ExclusionRule, DensityRule, ShareRule, PeriodRule)
}


@dataclass(frozen=True)
class Policy:
    """A named set of rules with the category and site-kind vocabularies they may use.

    Construction validates every rule and raises `PolicyError` listing every problem.

    Examples
    --------
    >>> p = Policy("Demo", rules=(BanRule("no-payday", ("payday_loans",)),))
    >>> p.rule("no-payday").categories
    ('payday_loans',)
    """

    name: str
    description: str = ""
    source: str = ""
    rules: tuple = ()
    categories: tuple[str, ...] = CATEGORIES
    kinds: tuple[str, ...] = field(default=_DEFAULT_KINDS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "categories", _tuple(self.categories))
        object.__setattr__(self, "kinds", _tuple(self.kinds))
        problems = _policy_problems(self.rules, self.categories, self.kinds)
        if problems:
            raise _error(f"policy '{self.name}'", problems)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; `PolicyError` naming the known ids when there is none."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        known = ", ".join(r.id for r in self.rules) or "none"
        raise PolicyError(f"policy '{self.name}' has no rule '{rule_id}'; its rules are: {known}")

    def without(self, rule_id: str) -> Policy:
        """A copy of this policy without one rule (to price what that rule costs)."""
        self.rule(rule_id)
        return replace(self, rules=tuple(r for r in self.rules if r.id != rule_id))

    @property
    def bans(self) -> tuple[BanRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, BanRule))

    @property
    def exclusions(self) -> tuple[ExclusionRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, ExclusionRule))

    @property
    def densities(self) -> tuple[DensityRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, DensityRule))

    @property
    def shares(self) -> tuple[ShareRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, ShareRule))

    @property
    def periods(self) -> tuple[PeriodRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, PeriodRule))


def _error(where: str, problems: list[str]) -> PolicyError:
    lines = [f"{where}: {len(problems)} problem(s) must be fixed:"]
    lines += [f"  - {p}" for p in problems]
    err = PolicyError("\n".join(lines))
    err.problems = list(problems)
    return err


# ---------------------------------------------------------------- semantic checks


def _where(rule: Any, index: int) -> str:
    rid = getattr(rule, "id", None)
    return f"rule '{rid}'" if isinstance(rid, str) and rid else f"rule #{index + 1}"


def _members(values: tuple | None, known: tuple | frozenset, what: str) -> list[str]:
    if not values:
        return [f"must list at least one {what}"]
    bad = [v for v in values if v not in known]
    if bad:
        return [f"unknown {what} {', '.join(map(repr, bad))}; known: {', '.join(sorted(known))}"]
    return []


def _rule_problems(rule: Rule, categories: tuple, kinds: tuple) -> dict[str, list[str]]:
    """Problems per key of one rule, against the policy's vocabularies."""
    out: dict[str, list[str]] = {}
    if not isinstance(rule.id, str) or not _ID.match(rule.id):
        out["id"] = [f"must be letters, digits, '-', '_' or '.'; got {rule.id!r}"]
    if hasattr(rule, "categories"):
        out["categories"] = _members(rule.categories, categories, "category")
    if isinstance(rule, ExclusionRule):
        out["near"] = _members(rule.near, kinds, "site kind")
    if getattr(rule, "asset_types", None) is not None:
        out["asset_types"] = _members(rule.asset_types, ASSET_TYPES, "asset type")
    if hasattr(rule, "within_m") and not (
        isinstance(rule.within_m, float) and math.isfinite(rule.within_m) and rule.within_m >= 0
    ):
        out["within_m"] = [f"must be a distance in metres, 0 or more; got {rule.within_m!r}"]
    if isinstance(rule, DensityRule) and not (
        isinstance(rule.max_faces, int)
        and not isinstance(rule.max_faces, bool)
        and rule.max_faces >= 1
    ):
        out["max_faces"] = [f"must be a whole number of faces, 1 or more; got {rule.max_faces!r}"]
    if isinstance(rule, ShareRule) and not (
        isinstance(rule.max_share, float) and 0 <= rule.max_share <= 1
    ):
        out["max_share"] = [f"must be a fraction between 0 and 1; got {rule.max_share!r}"]
    if isinstance(rule, PeriodRule):
        out.update(_period_problems(rule))
    return {k: v for k, v in out.items() if v}


def _period_problems(rule: PeriodRule) -> dict[str, list[str]]:
    out = {}
    for key in ("start", "end"):
        value = getattr(rule, key)
        if not isinstance(value, date) or isinstance(value, datetime):
            out[key] = [f"must be a date such as 2027-05-06; got {value!r}"]
    if not out and rule.end < rule.start:
        out["end"] = [f"{rule.end} is before start {rule.start}; swap them"]
    return out


def _policy_problems(rules: tuple, categories: tuple, kinds: tuple) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if type(rule) not in _RULE_CLASSES.values():
            problems.append(f"rule #{i + 1}: {rule!r} is not a policy rule")
            continue
        if rule.id in seen:
            problems.append(f"{_where(rule, i)}, key 'id': duplicate id; give each rule its own id")
        seen.add(rule.id)
        for key, msgs in _rule_problems(rule, categories, kinds).items():
            problems += [f"{_where(rule, i)}, key '{key}': {m}" for m in msgs]
    return problems


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


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_value(key: str, value: Any) -> str | None:
    """Type problem of one rule value, or None; ranges are checked on the built rule."""
    if key in {"categories", "near", "asset_types"}:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else f'must be a list of names, e.g. {key} = ["a", "b"]; got {value!r}'
    if key == "digital":
        return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
    if key in {"within_m", "max_share"}:
        return None if _is_number(value) else f"must be a number; got {value!r}"
    if key == "max_faces":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be a whole number; got {value!r}"
    if key in {"start", "end"}:
        return None if _as_date(value) else f"must be a date such as 2027-05-06; got {value!r}"
    if key == "id":
        return None if isinstance(value, str) else f"must be text; got {value!r}"
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _parse_rule(doc: Any, index: int) -> tuple[Rule | None, list[str]]:
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
    return _RULE_CLASSES[kind](**values), []


def _vocabulary(doc: dict, key: str, default: tuple[str, ...]) -> tuple[tuple, list[str]]:
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
        The document, as `tomllib` returns it.
    source
        Where it came from (file name), for error messages.

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
    kinds, errs = _vocabulary(doc, "kinds", _DEFAULT_KINDS)
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
    problems += _policy_problems(tuple(rules), categories, kinds)
    if problems:
        raise _error(source, problems)
    return Policy(
        name=doc["name"],
        description=doc.get("description", ""),
        source=doc.get("source", ""),
        rules=tuple(rules),
        categories=categories,
        kinds=kinds,
    )


def presets_dir() -> Path:
    """The folder of preset policies (``data/policies`` at the repository root)."""
    return Path(planner.__file__).resolve().parents[1] / "data" / "policies"


def list_presets() -> list[str]:
    """Names of the preset policies, e.g. ``['climate', 'uk-cap-code', ...]``."""
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def load_policy(path_or_preset: str | Path) -> Policy:
    """Read a policy from a TOML file path or a preset name.

    Examples
    --------
    >>> load_policy("uk-cap-code").exclusions[0].within_m
    100.0
    """
    path = Path(path_or_preset)
    if not path.is_file():
        preset = presets_dir() / f"{path_or_preset}.toml"
        # Only a listed name: a "preset" such as "../rates/x" must not reach other files.
        if str(path_or_preset) not in list_presets():
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
    """Parse a policy from TOML text (e.g. the app's rule editor).

    Raises
    ------
    PolicyError
        Naming ``source``, the rule id and the key.

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

    Examples
    --------
    >>> text = policy_to_toml(load_policy("uk-cap-code"))
    >>> parse_policy(tomllib.loads(text), source="x") == load_policy("uk-cap-code")
    True
    """
    lines = [f"{k} = {_toml_value(getattr(policy, k))}" for k in ("name", "description", "source")]
    for key, default in (("categories", CATEGORIES), ("kinds", _DEFAULT_KINDS)):
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
