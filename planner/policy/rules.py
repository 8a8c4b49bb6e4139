"""The rules of an ethical-use policy and the `Policy` that holds them.

Also the checks every rule must pass (ids, vocabularies, distances, shares, dates)
however the policy was made: in Python, from TOML (`planner.policy.load`) or in the app's
rule editor. Five rule types, each a frozen dataclass: `BanRule` and `ExclusionRule`
decide which assets may carry a category (`planner.policy.eligibility`); `DensityRule`,
`ShareRule` and `PeriodRule` depend on the plan and are enforced by the optimiser and
re-checked by `planner.policy.audit`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any, ClassVar

from planner.errors import PolicyError
from planner.schema import ASSET_TYPES, CATEGORIES, SITE_KINDS

__all__ = [
    "DEFAULT_KINDS",
    "DISTANCE_TOLERANCE_M",
    "RULE_CLASSES",
    "BanRule",
    "DensityRule",
    "ExclusionRule",
    "PeriodRule",
    "Policy",
    "Rule",
    "ShareRule",
    "is_number",
    "policy_error",
    "policy_problems",
    "rule_problems",
]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Metres within which a distance counts as equal to an exclusion's ``within_m``: "within
#: 100 m" (the CAP Code's words) includes 100 m, and converting to and from longitude/latitude
#: moves points by nanometres, which must not carry an asset exactly 100 m away outside
#: the rule. 1 mm is far below any survey's precision. Eligibility and the audit both use it.
DISTANCE_TOLERANCE_M = 0.001
#: Site kinds a policy may name unless it adds its own: `planner.schema.SITE_KINDS`, sorted.
DEFAULT_KINDS = tuple(sorted(SITE_KINDS))


def _tuple(value: Any) -> tuple | None:
    """Return lists as tuples (so rules hash); a lone string becomes a one-element tuple."""
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
        elif f.name in {"within_m", "max_share"} and is_number(value):
            object.__setattr__(rule, f.name, float(value))


@dataclass(frozen=True)
class BanRule:
    """``categories`` are never allowed on assets in scope (``asset_types``, ``digital``).

    Attributes
    ----------
    id
        Rule id: letters, digits, ``-``, ``_`` or ``.``, unique in the policy; reasons and
        audit rows name it.
    categories
        Advertiser categories banned (a list or a single name is accepted).
    asset_types
        Only assets of these types are in scope; None for every type.
    digital
        True: only digital assets are in scope; False: only classic (paper) ones; None:
        both.

    Examples
    --------
    >>> BanRule("no-hfss-digital", "hfss", digital=True)
    BanRule(id='no-hfss-digital', categories=('hfss',), asset_types=None, digital=True)
    """

    id: str
    categories: tuple[str, ...]
    asset_types: tuple[str, ...] | None = None
    digital: bool | None = None
    type: ClassVar[str] = "ban"

    def __post_init__(self) -> None:
        """Store name lists as tuples; the `Policy` checks the values."""
        _normalise(self)


@dataclass(frozen=True)
class ExclusionRule:
    """``categories`` are not allowed within ``within_m`` metres of a site of a kind in ``near``.

    Distance is to a polygon's edge; an asset inside a polygon is at 0 m. A site at exactly
    ``within_m`` counts as within (distance <= ``within_m`` + `DISTANCE_TOLERANCE_M`).
    Distances are measured in the metric CRS of `planner.geo.metric_crs` (British
    National Grid in Great Britain).

    Attributes
    ----------
    id
        Rule id, unique in the policy.
    categories
        Advertiser categories kept away.
    near
        Site kinds the distance is measured to (e.g. ``("school",)``), from the policy's
        ``kinds``.
    within_m
        Exclusion radius, in metres, >= 0 (an int is stored as a float).
    asset_types, digital
        Scope, as for `BanRule`: assets outside it are not affected.

    Examples
    --------
    The UK CAP Code preset (``uk-cap-code``): no alcohol, gambling or HFSS adverts within
    100 m of a school, the ASA/CAP advice on placing age-restricted ads (CAP Code rules
    15.18, 16.3.13 and 18.15; "Children: Targeting", asa.org.uk).

    >>> rule = ExclusionRule("cap-schools-100m", ["alcohol", "gambling", "hfss"], ["school"], 100)
    >>> rule.categories, rule.near, rule.within_m
    (('alcohol', 'gambling', 'hfss'), ('school',), 100.0)
    """

    id: str
    categories: tuple[str, ...]
    near: tuple[str, ...]
    within_m: float
    asset_types: tuple[str, ...] | None = None
    digital: bool | None = None
    type: ClassVar[str] = "exclusion"

    def __post_init__(self) -> None:
        """Store name lists as tuples and ``within_m`` as a float; the `Policy` checks them."""
        _normalise(self)


@dataclass(frozen=True)
class DensityRule:
    """At most ``max_faces`` booked faces within ``within_m`` metres of any booked asset.

    Checked per cycle by `planner.policy.audit` and enforced by the optimiser
    (`planner.optimise.constraints.add_density_rule`) with one reading: for every cycle
    *t* and every asset *a* booked in *t*, the faces booked on all assets within
    ``within_m`` of *a* (including *a*'s own) must not exceed ``max_faces``::

        sum over b with d(a, b) <= within_m of faces[b, t]  <=  max_faces

    Each placement counts as one face (a digital slot too). An area may hold more
    assets than ``max_faces`` as long as no booked asset has more than that around it.

    Attributes
    ----------
    id
        Rule id, unique in the policy.
    max_faces
        Most faces booked around any booked asset, whole number >= 1.
    within_m
        Neighbourhood radius, in metres, >= 0.
    """

    id: str
    max_faces: int
    within_m: float
    type: ClassVar[str] = "density"

    def __post_init__(self) -> None:
        """Store ``within_m`` as a float; the `Policy` checks the values."""
        _normalise(self)


@dataclass(frozen=True)
class ShareRule:
    """``categories`` together take at most ``max_share`` (0-1) of the faces booked in a cycle.

    Per cycle *t*: ``faces booked for categories in t <= max_share * all faces booked
    in t``, over every asset of the plan; a cycle with nothing booked passes.

    Attributes
    ----------
    id
        Rule id, unique in the policy.
    categories
        Categories whose faces are added up.
    max_share
        Largest fraction of a cycle's booked faces, 0 to 1 (0.25 is a quarter).
    """

    id: str
    categories: tuple[str, ...]
    max_share: float
    type: ClassVar[str] = "share"

    def __post_init__(self) -> None:
        """Store name lists as tuples and ``max_share`` as a float; the `Policy` checks them."""
        _normalise(self)


@dataclass(frozen=True)
class PeriodRule:
    """``categories`` are not allowed in any cycle overlapping ``start``-``end`` (inclusive).

    A cycle overlaps when its first day is on or before ``end`` and its last day on or
    after ``start`` (`planner.calendar.cycle_dates`); one day of overlap bars the cycle.
    For example political adverts in the weeks before an election.

    Attributes
    ----------
    id
        Rule id, unique in the policy.
    categories
        Categories barred in the period.
    start, end
        First and last day of the period, `datetime.date` (not datetime); ``end`` not
        before ``start``.
    """

    id: str
    categories: tuple[str, ...]
    start: date
    end: date
    type: ClassVar[str] = "period"

    def __post_init__(self) -> None:
        """Store name lists as tuples; the `Policy` checks the dates."""
        _normalise(self)


Rule = BanRule | ExclusionRule | DensityRule | ShareRule | PeriodRule
RULE_CLASSES: dict[str, type[Rule]] = {
    c.type: c for c in (BanRule, ExclusionRule, DensityRule, ShareRule, PeriodRule)
}


@dataclass(frozen=True)
class Policy:
    """A named set of rules with the category and site-kind vocabularies they may use.

    Construction validates every rule and raises `PolicyError` listing every problem.
    Policies are frozen and compare equal when their fields do, so one read from TOML
    equals the one written out by `planner.policy.load.policy_to_toml`.

    Attributes
    ----------
    name
        Short title, e.g. ``"UK CAP Code: age-restricted products away from schools"``.
    description
        What the policy does, in a sentence.
    source
        Where its rules come from (the code, council decision or document, with date).
    rules
        The rules, in the order reasons and audit rows list them.
    categories
        Advertiser categories the rules may name: `planner.schema.CATEGORIES` plus any the
        policy adds.
    kinds
        Site kinds the exclusion rules may name: `DEFAULT_KINDS` plus any it adds.

    Raises
    ------
    PolicyError
        On construction, listing every problem: a rule that is not a rule, a duplicate or
        malformed id, an unknown category, site kind or asset type, a negative or
        non-finite distance, ``max_faces`` below 1, ``max_share`` outside 0-1, a period
        with non-dates or ending before it starts.

    Examples
    --------
    >>> p = Policy("Demo", rules=(BanRule("no-payday", ("payday_loans",)),))
    >>> p.rule("no-payday").categories
    ('payday_loans',)
    >>> Policy("Bad", rules=(ShareRule("s", ("alcohol",), 1.5),))
    Traceback (most recent call last):
    ...
    planner.errors.PolicyError: policy 'Bad': 1 problem(s) must be fixed:
      - rule 's', key 'max_share': must be a fraction between 0 and 1; got 1.5
    """

    name: str
    description: str = ""
    source: str = ""
    rules: tuple = ()
    categories: tuple[str, ...] = CATEGORIES
    kinds: tuple[str, ...] = field(default=DEFAULT_KINDS)

    def __post_init__(self) -> None:
        """Store the rules and vocabularies as tuples, then validate every rule at once."""
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "categories", _tuple(self.categories))
        object.__setattr__(self, "kinds", _tuple(self.kinds))
        problems = policy_problems(self.rules, self.categories, self.kinds)
        if problems:
            raise policy_error(f"policy '{self.name}'", problems)

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with this id.

        Parameters
        ----------
        rule_id
            The rule's ``id``.

        Returns
        -------
        Rule
            One of `BanRule`, `ExclusionRule`, `DensityRule`, `ShareRule`, `PeriodRule`.

        Raises
        ------
        PolicyError
            Naming the policy's rule ids when none has this id.
        """
        for r in self.rules:
            if r.id == rule_id:
                return r
        known = ", ".join(r.id for r in self.rules) or "none"
        raise PolicyError(f"policy '{self.name}' has no rule '{rule_id}'; its rules are: {known}")

    def without(self, rule_id: str) -> Policy:
        """Return a copy of this policy without one rule (to price what that rule costs).

        Parameters
        ----------
        rule_id
            The ``id`` of the rule to drop.

        Returns
        -------
        Policy
            The same name, vocabularies and other rules, in order.

        Raises
        ------
        PolicyError
            Naming the policy's rule ids when none has this id.

        Examples
        --------
        >>> p = Policy("Demo", rules=(BanRule("no-payday", ("payday_loans",)),
        ...                           DensityRule("clutter", 4, 50)))
        >>> [r.id for r in p.without("clutter").rules]
        ['no-payday']
        """
        self.rule(rule_id)
        return replace(self, rules=tuple(r for r in self.rules if r.id != rule_id))

    @property
    def bans(self) -> tuple[BanRule, ...]:
        """The ban rules, in policy order."""
        return tuple(r for r in self.rules if isinstance(r, BanRule))

    @property
    def exclusions(self) -> tuple[ExclusionRule, ...]:
        """The exclusion rules, in policy order (they need sensitive sites)."""
        return tuple(r for r in self.rules if isinstance(r, ExclusionRule))

    @property
    def densities(self) -> tuple[DensityRule, ...]:
        """The density rules, in policy order."""
        return tuple(r for r in self.rules if isinstance(r, DensityRule))

    @property
    def shares(self) -> tuple[ShareRule, ...]:
        """The share rules, in policy order."""
        return tuple(r for r in self.rules if isinstance(r, ShareRule))

    @property
    def periods(self) -> tuple[PeriodRule, ...]:
        """The period rules, in policy order."""
        return tuple(r for r in self.rules if isinstance(r, PeriodRule))


def policy_error(where: str, problems: list[str]) -> PolicyError:
    """Build one `PolicyError` listing every problem found in ``where``.

    Parameters
    ----------
    where
        What was checked: a file name or ``"policy '<name>'"``.
    problems
        One line per problem, each naming the rule and key (``"rule 'b', key 'near': ..."``).

    Returns
    -------
    PolicyError
        With the lines in its message and in ``.problems``; the caller raises it.

    Examples
    --------
    >>> raise policy_error("policy.toml", ["key 'name': required"])
    Traceback (most recent call last):
    ...
    planner.errors.PolicyError: policy.toml: 1 problem(s) must be fixed:
      - key 'name': required
    """
    lines = [f"{where}: {len(problems)} problem(s) must be fixed:"]
    lines += [f"  - {p}" for p in problems]
    err = PolicyError("\n".join(lines))
    err.problems = list(problems)
    return err


# ---------------------------------------------------------------- semantic checks


def _where(rule: Any, index: int) -> str:
    """Name a rule in messages: ``rule '<id>'``, or ``rule #<n>`` (1-based) without an id."""
    rid = getattr(rule, "id", None)
    return f"rule '{rid}'" if isinstance(rid, str) and rid else f"rule #{index + 1}"


def _members(values: tuple | None, known: tuple | frozenset, what: str) -> list[str]:
    """Return the problem of a name list: empty, or naming values outside ``known``."""
    if not values:
        return [f"must list at least one {what}"]
    bad = [v for v in values if v not in known]
    if bad:
        return [f"unknown {what} {', '.join(map(repr, bad))}; known: {', '.join(sorted(known))}"]
    return []


def rule_problems(rule: Rule, categories: tuple, kinds: tuple) -> dict[str, list[str]]:
    """Find the problems of one rule, per key, against the policy's vocabularies.

    Parameters
    ----------
    rule
        A rule object (`BanRule`, `ExclusionRule`, ...).
    categories, kinds
        The advertiser categories and site kinds the policy knows.

    Returns
    -------
    dict
        ``{key: [problem, ...]}`` for each key with a problem (id, categories, near,
        asset_types, within_m, max_faces, max_share, start, end); empty when the rule is
        sound.

    Examples
    --------
    >>> rule_problems(DensityRule("d", max_faces=0, within_m=50), CATEGORIES, DEFAULT_KINDS)
    {'max_faces': ['must be a whole number of faces, 1 or more; got 0']}
    """
    out: dict[str, list[str]] = {}
    if not isinstance(rule.id, str) or not _ID.match(rule.id):
        out["id"] = [f"must be letters, digits, '-', '_' or '.'; got {rule.id!r}"]
    if hasattr(rule, "categories"):
        out["categories"] = _members(rule.categories, categories, "category")
    if isinstance(rule, ExclusionRule):
        out["near"] = _members(rule.near, kinds, "site kind")
    asset_types = getattr(rule, "asset_types", None)
    if asset_types is not None:
        out["asset_types"] = _members(asset_types, ASSET_TYPES, "asset type")
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
    """Return the problems of a period's dates: not dates, or ``end`` before ``start``."""
    out = {}
    for key in ("start", "end"):
        value = getattr(rule, key)
        if not isinstance(value, date) or isinstance(value, datetime):
            out[key] = [f"must be a date such as 2027-05-06; got {value!r}"]
    if not out and rule.end < rule.start:
        out["end"] = [f"{rule.end} is before start {rule.start}; swap them"]
    return out


def policy_problems(rules: tuple, categories: tuple, kinds: tuple) -> list[str]:
    """List every problem of a policy's rules against its vocabularies, one line each.

    Parameters
    ----------
    rules
        The rules to check; anything that is not a rule is a problem too.
    categories
        Advertiser categories the rules may name.
    kinds
        Site kinds exclusion rules may name.

    Returns
    -------
    list of str
        ``"rule '<id>', key '<key>': <problem>"`` per problem, in rule order; empty when
        the rules are sound.

    Examples
    --------
    >>> policy_problems((BanRule("b", ("nope",)),), CATEGORIES, DEFAULT_KINDS)[0][:26]
    "rule 'b', key 'categories'"
    """
    problems = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if type(rule) not in RULE_CLASSES.values():
            problems.append(f"rule #{i + 1}: {rule!r} is not a policy rule")
            continue
        if rule.id in seen:
            problems.append(f"{_where(rule, i)}, key 'id': duplicate id; give each rule its own id")
        seen.add(rule.id)
        for key, msgs in rule_problems(rule, categories, kinds).items():
            problems += [f"{_where(rule, i)}, key '{key}': {m}" for m in msgs]
    return problems


def is_number(v: Any) -> bool:
    """Tell whether ``v`` is an int or a float, but not a bool (TOML's true is no distance).

    Examples
    --------
    >>> is_number(100), is_number(0.25), is_number(True), is_number("100")
    (True, True, False, False)
    """
    return isinstance(v, int | float) and not isinstance(v, bool)
