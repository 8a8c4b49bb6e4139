"""One function per business rule of the placement model (CP-SAT).

Every function takes the model, the candidate variables ``x`` (one Boolean per candidate
placement of the `Instance`) and the instance, and adds its rule. ``guard(key, words)``
returns an enforcement literal for a named group of constraints, or None: when the
planner explains an infeasible plan, each group becomes an assumption so that CP-SAT can
name the groups that conflict.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from planner.instance import Instance

__all__ = [
    "Guard",
    "add_campaign_budget",
    "add_category_share",
    "add_competitor_separation",
    "add_density_rule",
    "add_face_capacity",
    "add_faces_per_cycle",
    "add_locked_placements",
    "add_min_spacing",
    "add_revenue_target",
    "groups",
]

Guard = Callable[[str, str], "cp_model.IntVar | None"]
SHARE_SCALE = 1000


def groups(keys: np.ndarray) -> dict[tuple, np.ndarray]:
    """Candidate indices grouped by the rows of ``keys`` (one key column or several)."""
    keys = np.atleast_2d(np.asarray(keys).T).T if np.ndim(keys) == 1 else np.asarray(keys)
    if len(keys) == 0:
        return {}
    order = np.lexsort(keys.T[::-1])
    sorted_keys = keys[order]
    change = np.flatnonzero(np.any(np.diff(sorted_keys, axis=0) != 0, axis=1)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(order)]])
    return {
        tuple(int(v) for v in sorted_keys[s]): order[s:e] for s, e in zip(starts, ends, strict=True)
    }


def _enforce(constraint: cp_model.Constraint, literal) -> None:
    if literal is not None:
        constraint.only_enforce_if(literal)


def add_face_capacity(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """Each asset carries at most its capacity per cycle.

    For every asset *a* and cycle *t*: ``sum_c x[a,c,t] <= faces_a`` for a classic asset,
    ``<= faces_a * slots_a`` for a digital one (a campaign takes one face of an asset).
    """
    literal = guard(
        "capacity", "each face carries one campaign per cycle (a digital face one per slot)"
    )
    keys = np.column_stack([inst.cand_asset, inst.cand_cycle])
    for (a, _t), ks in groups(keys).items():
        if len(ks) > inst.capacity[a]:
            _enforce(model.add(sum(x[k] for k in ks) <= int(inst.capacity[a])), literal)


def add_campaign_budget(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """A campaign's spend over all its cycles stays within its budget.

    For every campaign *c*: ``sum_{a,t} price_a * x[a,c,t] <= budget_c`` (pence).
    """
    for (c,), ks in groups(inst.cand_campaign).items():
        price = inst.cand_price[ks]
        if price.sum() <= inst.budget_pence[c]:
            continue
        camp = inst.campaigns[c]
        literal = guard(
            f"budget:{c}", f"campaign {camp.campaign_id} has a budget of {camp.budget:,.0f}"
        )
        expr = cp_model.LinearExpr.weighted_sum([x[k] for k in ks], price.tolist())
        _enforce(model.add(expr <= int(inst.budget_pence[c])), literal)


def add_faces_per_cycle(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """Each campaign gets between ``min_faces`` and ``max_faces`` faces in each of its cycles.

    For every campaign *c* and cycle *t* of *c*: ``min_c <= sum_a x[a,c,t] <= max_c``.
    """
    by_cycle = groups(np.column_stack([inst.cand_campaign, inst.cand_cycle]))
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            ks = by_cycle.get((c, t), np.empty(0, dtype=np.int64))
            total = sum(x[k] for k in ks) if len(ks) else 0
            if camp.min_faces > 0:
                literal = guard(
                    f"min_faces:{c}:{t}",
                    f"campaign {camp.campaign_id} needs {camp.min_faces} faces in cycle {t}",
                )
                if len(ks) < camp.min_faces and literal is None:
                    model.add_bool_or([])  # cannot be met: the model is infeasible
                    continue
                _enforce(model.add(total >= camp.min_faces), literal)
            if len(ks) > camp.max_faces:
                literal = guard(
                    f"max_faces:{c}:{t}",
                    f"campaign {camp.campaign_id} takes at "
                    f"most {camp.max_faces} faces in cycle {t}",
                )
                _enforce(model.add(total <= camp.max_faces), literal)


def add_min_spacing(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """Two faces of one campaign in one cycle are at least ``min_spacing_m`` apart.

    For every campaign *c*, cycle *t* and asset pair (a, b) closer than the spacing:
    ``x[a,c,t] + x[b,c,t] <= 1``.
    """
    index = _index(inst)
    for c, pairs in inst.spacing_pairs.items():
        if not len(pairs):
            continue
        camp = inst.campaigns[c]
        literal = guard(
            f"spacing:{c}",
            f"campaign {camp.campaign_id} keeps its faces {camp.min_spacing_m:g} m apart",
        )
        for t in camp.cycles:
            for a, b in pairs:
                ka, kb = index.get((a, c, t)), index.get((b, c, t))
                if ka is not None and kb is not None:
                    _enforce(model.add_bool_or([x[ka].Not(), x[kb].Not()]), literal)


def add_competitor_separation(
    model: cp_model.CpModel, x: list, inst: Instance, guard: Guard
) -> None:
    """Campaigns of one competitor group are never on one asset, nor close, in one cycle.

    For campaigns c != d of a group, cycle t, and assets a, b with a == b or closer than the
    separation distance: ``x[a,c,t] + x[b,d,t] <= 1``.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for c, camp in enumerate(inst.campaigns):
        if camp.competitor_group:
            members[camp.competitor_group].append(c)
    index = _index(inst)
    by_asset = defaultdict(list)
    for (a, c, t), k in index.items():
        by_asset[(a, t)].append((c, k))
    for group, camps in members.items():
        if len(camps) < 2:
            continue
        literal = guard(
            f"competitors:{group}",
            f"competitor group '{group}' is kept {inst.settings.competitor_separation_m:g} m apart",
        )
        inside = set(camps)
        pairs = [(a, a) for a in range(len(inst.asset_ids))]
        pairs += [tuple(p) for p in inst.competitor_pairs.tolist()]
        for t in sorted({t for c in camps for t in inst.campaigns[c].cycles}):
            for a, b in pairs:
                left = [(c, k) for c, k in by_asset.get((a, t), ()) if c in inside]
                right = [(c, k) for c, k in by_asset.get((b, t), ()) if c in inside]
                for c, ka in left:
                    for d, kb in right:
                        if c < d or (a != b and c != d):
                            _enforce(model.add_bool_or([x[ka].Not(), x[kb].Not()]), literal)


def add_density_rule(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """At most ``max_faces`` booked faces within ``within_m`` of any booked asset.

    For every rule, cycle *t* and asset *a* booked in *t* (``booked[a,t]`` is implied by
    any ``x[a,c,t]``): ``sum_{b within d of a} sum_c x[b,c,t] <= max_faces``. Each
    placement counts as one booked face (a digital slot counts as a face), as the audit.
    """
    by_asset_cycle = groups(np.column_stack([inst.cand_asset, inst.cand_cycle]))
    for rule, neighbours in inst.density:
        literal = guard(
            f"rule:{rule.id}",
            f"rule {rule.id}: at most {rule.max_faces} faces within {rule.within_m:g} m",
        )
        for t in inst.cycles:
            for a, near in enumerate(neighbours):
                own = by_asset_cycle.get((a, t))
                if own is None:
                    continue
                ks = np.concatenate(
                    [by_asset_cycle.get((b, t), np.empty(0, np.int64)) for b in near]
                )
                if len(ks) <= rule.max_faces:
                    continue
                booked = model.new_bool_var(f"booked_{a}_{t}_{rule.id}")
                for k in own:
                    model.add_implication(x[k], booked)
                enforce = [booked] + ([literal] if literal is not None else [])
                model.add(sum(x[k] for k in ks) <= rule.max_faces).only_enforce_if(enforce)


def add_category_share(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """Listed categories take at most ``max_share`` of the faces booked in a cycle.

    For every rule and cycle: ``1000 * sum_{c in cats} x <= floor(1000 * share) * sum x``.
    """
    by_cycle = groups(inst.cand_cycle)
    for rule, in_rule in inst.shares:
        literal = guard(
            f"rule:{rule.id}",
            f"rule {rule.id}: {', '.join(rule.categories)} at most {rule.max_share:.0%} of faces",
        )
        # Rounded down, so the model is never looser than the audit.
        share = math.floor(rule.max_share * SHARE_SCALE + 1e-9)
        for (_t,), ks in by_cycle.items():
            hit = ks[in_rule[inst.cand_campaign[ks]]]
            if not len(hit):
                continue
            taken = sum(x[k] for k in hit)
            total = sum(x[k] for k in ks)
            _enforce(model.add(SHARE_SCALE * taken <= share * total), literal)


def add_revenue_target(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """The plan books at least the sales that give the council its revenue target.

    ``sum price_k * x_k >= required_sales`` (pence); the target in council revenue was
    turned into sales through the concession terms when the instance was built.
    """
    if inst.required_sales_pence <= 0:
        return
    literal = guard(
        "revenue_target", f"the council's revenue target of {inst.settings.revenue_target:,.0f}"
    )
    expr = cp_model.LinearExpr.weighted_sum(x, inst.cand_price.tolist())
    _enforce(model.add(expr >= inst.required_sales_pence), literal)


def add_locked_placements(model: cp_model.CpModel, x: list, inst: Instance, guard: Guard) -> None:
    """Existing contracts stay: ``x_k = 1`` for every locked candidate *k*."""
    if not len(inst.locked):
        return
    literal = guard("locked", f"{len(inst.locked)} locked placement(s) from existing contracts")
    for k in inst.locked:
        _enforce(model.add(x[int(k)] == 1), literal)


def _index(inst: Instance) -> dict[tuple[int, int, int], int]:
    return {
        (int(a), int(c), int(t)): k
        for k, (a, c, t) in enumerate(
            zip(inst.cand_asset, inst.cand_campaign, inst.cand_cycle, strict=True)
        )
    }
