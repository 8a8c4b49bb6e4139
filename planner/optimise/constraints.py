"""One function per business rule of the placement model (CP-SAT).

Every function takes the model, the candidate variables ``x`` (one Boolean per candidate
placement of the `Instance`) and the instance, and adds its rule. ``guard(key, words)``
returns an enforcement literal for a named group of constraints, or None: when the
planner explains an infeasible plan, each group becomes an assumption so that CP-SAT can
name the groups that conflict.

Algebra: ``x[a,c,t]`` is the candidate variable of asset *a*, campaign *c*, cycle *t*
(it exists only for eligible triples); money is in pence, distances in metres. Each rule
is written with as few and as tight constraints as it allows (at-most-one groups,
arrays written straight into the model proto), since large plans have millions of
candidates. The solver-independent statement of every rule is
`planner.optimise.verify.plan_violations`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from ortools.sat.python import cp_model

from planner.optimise.instance import Instance

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
    "sector_cliques",
]

# guard(key, words): the enforcement literal of constraint group ``key``, described in
# ``words`` for the explanation, or None when the model is not being explained.
Guard = Callable[[str, str], "cp_model.IntVar | None"]
SHARE_SCALE = 1000


def groups(keys: np.ndarray) -> dict[tuple, np.ndarray]:
    """Group candidate indices by the rows of ``keys`` (one key column or several).

    Parameters
    ----------
    keys
        Key of each candidate: shape (n_candidates,) for one column, or
        (n_candidates, n_columns).

    Returns
    -------
    dict
        ``(key values as ints) -> candidate indices`` in ascending key order; a single
        column gives 1-tuples. Empty for no candidates.

    Examples
    --------
    >>> groups(np.array([[0, 1], [0, 1], [2, 1]]))
    {(0, 1): array([0, 1]), (2, 1): array([2])}
    """
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
    """Make ``constraint`` conditional on ``literal``, unless that is None."""
    if literal is not None:
        constraint.only_enforce_if(literal)


def _literals(x: Sequence) -> np.ndarray:
    """Return the proto index of every variable in ``x`` (read once for `BoolVars`)."""
    indices = getattr(x, "indices", None)
    if indices is not None:
        return indices
    return np.fromiter((v.index for v in x), dtype=np.int64, count=len(x))


def _add_linear(model: cp_model.CpModel, lits, coefs, lo: int, hi: int, literal=None) -> None:
    """Add ``lo <= sum coefs * lits <= hi`` straight into the model proto (one call per array)."""
    ct = model.proto.constraints.add()
    ct.linear.vars.extend(np.asarray(lits, dtype=np.int64).tolist())
    ct.linear.coeffs.extend(np.broadcast_to(coefs, np.shape(lits)).astype(np.int64).tolist())
    ct.linear.domain.extend([int(lo), int(hi)])
    if literal is not None:
        ct.enforcement_literal.append(literal.index)


def _add_at_most_one(model: cp_model.CpModel, lits, literal=None) -> None:
    """Add ``sum lits <= 1``: a native at-most-one, or a linear one when enforced.

    CP-SAT's at-most-one constraint takes no enforcement literal, so a guarded group is
    written as ``0 <= sum lits <= 1`` with the literal.
    """
    if literal is not None:
        _add_linear(model, lits, 1, 0, 1, literal)
    else:
        model.proto.constraints.add().at_most_one.literals.extend(np.asarray(lits).tolist())


def _runs(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort candidates by the key columns; return the order and where equal-key runs start, end."""
    order = np.lexsort(columns[::-1])
    keys = np.column_stack([np.asarray(c)[order] for c in columns])
    change = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1
    starts = np.concatenate([[0], change]) if len(order) else np.empty(0, np.int64)
    ends = np.concatenate([change, [len(order)]]) if len(order) else np.empty(0, np.int64)
    return order, starts, ends


def add_face_capacity(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Keep each asset within its capacity in every cycle.

    For every asset *a* and cycle *t*: ``sum_c x[a,c,t] <= faces_a`` for a classic asset,
    ``<= faces_a * slots_a`` for a digital one (a campaign takes one face of an asset).
    A capacity of one is written as an at-most-one group; an (asset, cycle) with no more
    candidates than its capacity gets no constraint.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``cand_asset``, ``cand_cycle`` and ``capacity``.
    guard
        Gives the enforcement literal of the group ``"capacity"`` when explaining, else None.
    """
    literal = guard(
        "capacity", "each face carries one campaign per cycle (a digital face one per slot)"
    )
    lits = _literals(x)
    order, starts, ends = _runs(inst.cand_asset, inst.cand_cycle)
    caps = inst.capacity[inst.cand_asset[order[starts]]] if len(order) else starts
    for s, e, cap in zip(starts.tolist(), ends.tolist(), caps.tolist(), strict=True):
        if e - s <= cap:
            continue
        if cap == 1:
            _add_at_most_one(model, lits[order[s:e]], literal)
        else:
            _add_linear(model, lits[order[s:e]], 1, 0, cap, literal)


def add_campaign_budget(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Keep a campaign's spend over all its cycles within its budget.

    For every campaign *c*: ``sum_{a,t} price_a * x[a,c,t] <= budget_c`` (pence). A
    campaign whose candidates together cost no more than its budget gets no constraint.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``cand_campaign``, ``cand_price`` and ``budget_pence``.
    guard
        Gives the enforcement literal of the group ``"budget:<c>"`` when explaining, else None.
    """
    lits = _literals(x)
    for (c,), ks in groups(inst.cand_campaign).items():
        price = inst.cand_price[ks]
        if price.sum() <= inst.budget_pence[c]:
            continue
        camp = inst.campaigns[c]
        literal = guard(
            f"budget:{c}", f"campaign {camp.campaign_id} has a budget of {camp.budget:,.0f}"
        )
        _add_linear(model, lits[ks], price, 0, inst.budget_pence[c], literal)


def add_faces_per_cycle(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Give each campaign between ``min_faces`` and ``max_faces`` faces in each of its cycles.

    For every campaign *c* and cycle *t* of *c*: ``min_c <= sum_a x[a,c,t] <= max_c``.
    Unguarded, a minimum above the number of candidates makes the model infeasible at
    once (an empty clause); when explaining, the minimum and maximum are separate groups.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``cand_campaign``, ``cand_cycle`` and each campaign's
        ``min_faces``, ``max_faces`` and ``cycles``.
    guard
        Gives the enforcement literal of the group ``"min_faces:<c>:<t>"`` or
        ``"max_faces:<c>:<t>"`` when explaining, else None.
    """
    lits = _literals(x)
    by_cycle = groups(np.column_stack([inst.cand_campaign, inst.cand_cycle]))
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            ks = by_cycle.get((c, t), np.empty(0, dtype=np.int64))
            low = high = None
            if camp.min_faces > 0:
                low = guard(
                    f"min_faces:{c}:{t}",
                    f"campaign {camp.campaign_id} needs {camp.min_faces} faces in cycle {t}",
                )
                if len(ks) < camp.min_faces and low is None:
                    model.add_bool_or([])  # cannot be met: the model is infeasible
                    continue
            if len(ks) > camp.max_faces:
                high = guard(
                    f"max_faces:{c}:{t}",
                    f"campaign {camp.campaign_id} takes at "
                    f"most {camp.max_faces} faces in cycle {t}",
                )
            top = min(camp.max_faces, len(ks))
            if low is None and high is None:
                if camp.min_faces > 0 or len(ks) > camp.max_faces:
                    _add_linear(model, lits[ks], 1, camp.min_faces, top)
                continue
            if camp.min_faces > 0:
                _add_linear(model, lits[ks], 1, camp.min_faces, cp_model.INT_MAX, low)
            if len(ks) > camp.max_faces:
                _add_linear(model, lits[ks], 1, 0, camp.max_faces, high)


def add_min_spacing(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Keep two faces of one campaign in one cycle at least ``min_spacing_m`` apart.

    For every campaign *c*, cycle *t* and asset pair (a, b) closer than the spacing:
    ``x[a,c,t] + x[b,c,t] <= 1``. Written as at-most-one groups over cliques: an asset
    *a* with the close assets ahead of it (east, or due north) in one 45-degree sector
    seen from *a*. Any two of them are close too (``|bc|^2 <= |ab|^2 + |ac|^2 -
    sqrt(2)|ab||ac| <= d^2``), and every close pair lies in the clique of one of its
    ends, so ``sum_{a in Q} x[a,c,t] <= 1`` for every clique *Q* is the same rule with
    fewer constraints and a tighter linear relaxation.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``spacing_pairs``, ``xy``, ``cand_asset``, ``cand_campaign`` and
        ``cand_cycle``.
    guard
        Gives the enforcement literal of the group ``"spacing:<c>"`` when explaining, else None.
    """
    lits = _literals(x)
    slot = np.full(len(inst.asset_ids), -1, dtype=np.int64)
    by_cycle = groups(np.column_stack([inst.cand_campaign, inst.cand_cycle]))
    for c, pairs in inst.spacing_pairs.items():
        if not len(pairs):
            continue
        camp = inst.campaigns[c]
        literal = guard(
            f"spacing:{c}",
            f"campaign {camp.campaign_id} keeps its faces {camp.min_spacing_m:g} m apart",
        )
        heads, members, starts = sector_cliques(inst.xy, pairs)
        for t in camp.cycles:
            ks = by_cycle.get((c, t))
            if ks is None:
                continue
            slot[:] = -1
            slot[inst.cand_asset[ks]] = lits[ks]
            _add_cliques(model, slot[heads], slot[members], starts, literal)


def sector_cliques(xy: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cover every close pair with cliques: each asset with its partners in a 45-degree sector.

    Each pair is oriented from its western (then southern) end, so partners lie in the
    half-plane ahead, split into four sectors. Two partners in one sector are at most
    45 degrees apart as seen from the head, so they are no farther apart than the farther
    of them is from the head: every clique is pairwise close.

    Parameters
    ----------
    xy
        Asset positions in a metric CRS, shape (n_assets, 2), metres.
    pairs
        Close asset pairs, shape (n_pairs, 2), e.g. from
        `planner.optimise.instance.pairs_within`.

    Returns
    -------
    heads : numpy.ndarray
        One asset per clique, shape (n_cliques,).
    members : numpy.ndarray
        The partners, clique after clique, shape (n_pairs,).
    starts : numpy.ndarray
        Where each clique's partners begin in ``members``, shape (n_cliques,).

    Examples
    --------
    >>> sector_cliques(np.array([[0, 0], [50, 0], [60, 5]]), np.array([[0, 1], [0, 2], [1, 2]]))
    (array([0, 1]), array([1, 2, 2]), array([0, 2]))
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    a, b = pairs[:, 0], pairs[:, 1]
    dx, dy = xy[b, 0] - xy[a, 0], xy[b, 1] - xy[a, 1]
    flip = (dx < 0) | ((dx == 0) & ((dy < 0) | ((dy == 0) & (b < a))))
    head, other = np.where(flip, b, a), np.where(flip, a, b)
    angle = np.arctan2(np.where(flip, -dy, dy), np.where(flip, -dx, dx))  # (-90, 90] degrees
    sector = np.minimum((angle + np.pi / 2) // (np.pi / 4), 3).astype(np.int64)
    order = np.lexsort((other, sector, head))
    head, sector, other = head[order], sector[order], other[order]
    new = np.ones(len(head), dtype=bool)
    new[1:] = (head[1:] != head[:-1]) | (sector[1:] != sector[:-1])
    starts = np.flatnonzero(new)
    return head[starts], other, starts


def _add_cliques(model, heads, members, starts, literal) -> None:
    """Add one at-most-one group per clique, over the members that are variables (>= 0)."""
    present = members >= 0
    counts = np.add.reduceat(present.astype(np.int64), starts) if len(starts) else starts
    ends = np.append(starts[1:], len(members))
    for i in np.flatnonzero((heads >= 0) & (counts > 0)).tolist():
        part = members[starts[i] : ends[i]]
        _add_at_most_one(model, [heads[i], *part[part >= 0].tolist()], literal)


def add_competitor_separation(
    model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard
) -> None:
    """Keep campaigns of one competitor group off one asset, and apart, in each cycle.

    For campaigns c != d of a group, cycle t, and assets a, b with a == b or closer than the
    separation distance: ``x[a,c,t] + x[b,d,t] <= 1``. Written as at-most-one groups whose
    members pairwise break the rule: ``{x[a,c,t] : c in group}`` per asset, and
    ``{x[a,c,t]} + {x[b,d,t] : d != c}`` per close pair and campaign *c* (two campaigns on
    *b* are the first case). Each forbidden pair is in one group. The per-asset group is
    left out on an asset of capacity one, where the capacity rule says the same, unless
    the rule is being explained.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``campaigns`` (their ``competitor_group``), ``competitor_pairs``
        and ``capacity``.
    guard
        Gives the enforcement literal of the group ``"competitors:<group>"`` when
        explaining, else None.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for c, camp in enumerate(inst.campaigns):
        if camp.competitor_group:
            members[camp.competitor_group].append(c)
    lits = _literals(x)
    for group, camps in members.items():
        if len(camps) < 2:
            continue
        literal = guard(
            f"competitors:{group}",
            f"competitor group '{group}' is kept {inst.settings.competitor_separation_m:g} m apart",
        )
        for t in sorted({t for c in camps for t in inst.campaigns[c].cycles}):
            grid = _group_grid(inst, lits, camps, t)
            if grid.shape[1] >= 2:
                _add_rivals(model, inst, grid, literal)


def _group_grid(inst: Instance, lits: np.ndarray, camps: list[int], t: int) -> np.ndarray:
    """Return the variable of each (asset, campaign of the group) in cycle t, -1 for none.

    Columns of campaigns with no candidate in the cycle are dropped.
    """
    grid = np.full((len(inst.asset_ids), len(camps)), -1, dtype=np.int64)
    for j, c in enumerate(camps):
        ks = np.flatnonzero((inst.cand_campaign == c) & (inst.cand_cycle == t))
        grid[inst.cand_asset[ks], j] = lits[ks]
    return grid[:, (grid >= 0).any(axis=0)]


def _add_rivals(model, inst: Instance, grid: np.ndarray, literal) -> None:
    """Add one competitor group's at-most-one groups for one cycle.

    ``grid`` is the group's (asset, campaign) variable grid from `_group_grid`. One group
    per asset two of its campaigns could share (skipped on an asset of capacity one
    unless explaining), and, per close pair (a, b) and campaign *c*, one group of
    ``x[a,c]`` with ``x[b,d]`` for every other campaign *d*.
    """
    used = (grid >= 0).sum(axis=1)
    shared = np.flatnonzero((used >= 2) & ((inst.capacity > 1) | (literal is not None)))
    for a in shared.tolist():
        _add_at_most_one(model, grid[a][grid[a] >= 0], literal)
    pairs = inst.competitor_pairs
    if not len(pairs):
        return
    left, right = grid[pairs[:, 0]], grid[pairs[:, 1]]
    for j in range(grid.shape[1]):
        others = np.delete(right, j, axis=1)
        keep = np.flatnonzero((left[:, j] >= 0) & (others >= 0).any(axis=1))
        for i in keep.tolist():
            row = others[i]
            _add_at_most_one(model, [left[i, j], *row[row >= 0].tolist()], literal)


def add_density_rule(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Allow at most ``max_faces`` booked faces within ``within_m`` of any booked asset.

    For every rule, cycle *t* and asset *a* booked in *t* (``booked[a,t]`` is implied by
    any ``x[a,c,t]``): ``sum_{b within d of a} sum_c x[b,c,t] <= max_faces``. Each
    placement counts as one booked face (a digital slot counts as a face), as the audit.
    The condition on *a* being booked is why this is not a plain window sum: a crowded
    area is allowed as long as no booked asset has more than ``max_faces`` around it.
    Assets whose neighbourhood has no more candidates than ``max_faces`` get nothing.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``density`` (each rule with its neighbour lists), ``cycles``,
        ``cand_asset`` and ``cand_cycle``.
    guard
        Gives the enforcement literal of the group ``"rule:<rule id>"`` when explaining, else None.
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


def add_category_share(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Keep the listed categories to at most ``max_share`` of the faces booked in a cycle.

    For every rule and cycle: ``1000 * sum_{c in cats} x <= floor(1000 * share) * sum x``,
    written as ``sum_k (1000 [c_k in cats] - floor(1000 share)) x_k <= 0``. The share is
    rounded down to thousandths, so the model is never looser than the audit.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``shares`` (each rule with its campaign mask), ``cand_cycle`` and
        ``cand_campaign``.
    guard
        Gives the enforcement literal of the group ``"rule:<rule id>"`` when explaining, else None.
    """
    lits = _literals(x)
    by_cycle = groups(inst.cand_cycle)
    for rule, in_rule in inst.shares:
        literal = guard(
            f"rule:{rule.id}",
            f"rule {rule.id}: {', '.join(rule.categories)} at most {rule.max_share:.0%} of faces",
        )
        # Rounded down, so the model is never looser than the audit.
        share = math.floor(rule.max_share * SHARE_SCALE + 1e-9)
        for (_t,), ks in by_cycle.items():
            hit = in_rule[inst.cand_campaign[ks]]
            if not hit.any():
                continue
            # The same inequality with every term on the left: sum (1000 [hit] - share) x <= 0.
            coefs = np.where(hit, SHARE_SCALE - share, -share)
            _add_linear(model, lits[ks], coefs, cp_model.INT_MIN, 0, literal)


def add_revenue_target(model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard) -> None:
    """Book at least the sales that give the council its revenue target.

    ``sum_k price_k * x_k >= required_sales`` (pence); the target in council revenue was
    turned into gross sales through the commission and concession terms
    (`planner.plan.required_sales`) when the instance was built. Nothing is added when
    there is no target.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``cand_price``, ``required_sales_pence`` and
        ``settings.revenue_target`` (for the words).
    guard
        Gives the enforcement literal of the group ``"revenue_target"`` when explaining, else None.
    """
    if inst.required_sales_pence <= 0:
        return
    literal = guard(
        "revenue_target", f"the council's revenue target of {inst.settings.revenue_target:,.0f}"
    )
    lits = _literals(x)
    _add_linear(model, lits, inst.cand_price, inst.required_sales_pence, cp_model.INT_MAX, literal)


def add_locked_placements(
    model: cp_model.CpModel, x: Sequence, inst: Instance, guard: Guard
) -> None:
    """Keep existing contracts: ``x_k = 1`` for every locked candidate *k*.

    Parameters
    ----------
    model
        The CP-SAT model to add to.
    x
        Boolean variable of each candidate, shape (n_candidates,).
    inst
        The instance; uses ``locked``.
    guard
        Gives the enforcement literal of the group ``"locked"`` when explaining, else None.
    """
    if not len(inst.locked):
        return
    literal = guard("locked", f"{len(inst.locked)} locked placement(s) from existing contracts")
    for k in inst.locked:
        _enforce(model.add(x[int(k)] == 1), literal)
