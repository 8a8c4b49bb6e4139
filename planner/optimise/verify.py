"""A solver-independent check of a plan against every rule of the instance: the specification.

`plan_violations` is what the model must satisfy, written plainly; tests compare solver
output against it, and the planner uses it to accept a greedy plan when the solver has none.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy.spatial import cKDTree

from planner.optimise.instance import Instance
from planner.optimise.money import to_major

__all__ = ["plan_violations"]


def plan_violations(inst: Instance, chosen: np.ndarray) -> list[str]:
    """List every rule the chosen candidates break, in words (empty when the plan is valid).

    Checks, with the same readings as the model: capacity per asset and cycle, budget
    per campaign, ``min_faces``-``max_faces`` per campaign and cycle, minimum spacing and
    competitor separation (close pairs from a k-d tree), density rules (faces booked
    within ``within_m`` of each booked asset), category shares (rounded down to
    thousandths), the revenue target and locked placements.

    Parameters
    ----------
    inst
        The instance the candidates index.
    chosen
        Chosen candidate indices, shape (n_chosen,); duplicates count once.

    Returns
    -------
    list of str
        One line per breach, starting with the rule: ``capacity:``, ``budget:``,
        ``faces:``, ``spacing:``, ``competitors:``, ``density <id>:``, ``share <id>:``,
        ``revenue target:`` or ``locked:``. Money is shown in currency units, distances in
        metres.

    Examples
    --------
    >>> plan_violations(inst, greedy_plan(inst))
    []
    """
    chosen = np.asarray(sorted(set(np.asarray(chosen, dtype=np.int64).tolist())), np.int64)
    a = inst.cand_asset[chosen]
    c = inst.cand_campaign[chosen]
    t = inst.cand_cycle[chosen]
    out: list[str] = []
    for (asset, cycle), n in Counter(zip(a.tolist(), t.tolist(), strict=True)).items():
        if n > inst.capacity[asset]:
            out.append(
                f"capacity: asset {inst.asset_ids[asset]} carries {n} campaigns in "
                f"cycle {cycle}, capacity {inst.capacity[asset]}"
            )
    spend = np.bincount(c, weights=inst.cand_price[chosen], minlength=len(inst.campaigns))
    per_cycle = Counter(zip(c.tolist(), t.tolist(), strict=True))
    for ci, camp in enumerate(inst.campaigns):
        if spend[ci] > inst.budget_pence[ci]:
            out.append(
                f"budget: {camp.campaign_id} spends {to_major(spend[ci]):,.2f} "
                f"of {camp.budget:,.2f}"
            )
        for cycle in camp.cycles:
            n = per_cycle.get((ci, cycle), 0)
            if not camp.min_faces <= n <= camp.max_faces:
                out.append(
                    f"faces: {camp.campaign_id} has {n} faces in cycle {cycle}, needs "
                    f"{camp.min_faces}-{camp.max_faces}"
                )
    out += _distance_violations(inst, a, c, t)
    out += _density_violations(inst, a, t)
    out += _share_violations(inst, c, t)
    if inst.cand_price[chosen].sum() < inst.required_sales_pence:
        out.append(
            f"revenue target: sales {to_major(inst.cand_price[chosen].sum()):,.2f} below "
            f"the {to_major(inst.required_sales_pence):,.2f} needed"
        )
    missing = set(inst.locked.tolist()) - set(chosen.tolist())
    if missing:
        out.append(f"locked: {len(missing)} locked placement(s) missing")
    return out


def _distance_violations(inst: Instance, a, c, t) -> list[str]:
    """List spacing and competitor-separation breaches, from close pairs in a k-d tree.

    Pairs are searched per cycle within the largest distance any rule uses, then each
    pair is checked against its own campaign's spacing or the competitor separation.
    """
    out: list[str] = []
    spacing = np.array([camp.min_spacing_m for camp in inst.campaigns], dtype=float)
    groups = np.array([camp.competitor_group for camp in inst.campaigns], dtype=object)
    sep = inst.settings.competitor_separation_m
    radius = max(float(spacing.max(initial=0.0)), sep if any(groups) else 0.0)
    if radius <= 0:
        return out
    for cycle in np.unique(t):
        assets, camps = a[t == cycle], c[t == cycle]
        if len(assets) < 2:
            continue
        pairs = cKDTree(inst.xy[assets]).query_pairs(radius, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        d = np.hypot(*(inst.xy[assets[i]] - inst.xy[assets[j]]).T)
        c1, c2 = camps[i], camps[j]
        same = (c1 == c2) & (spacing[c1] > 0) & (d <= spacing[c1])
        rivals = (c1 != c2) & (groups[c1] != "") & (groups[c1] == groups[c2]) & (d <= sep)
        for k in np.flatnonzero(same):
            out.append(
                f"spacing: {inst.campaigns[c1[k]].campaign_id} on "
                f"{inst.asset_ids[assets[i[k]]]} and {inst.asset_ids[assets[j[k]]]} "
                f"{d[k]:.0f} m apart in cycle {cycle}"
            )
        for k in np.flatnonzero(rivals):
            out.append(
                f"competitors: {inst.campaigns[c1[k]].campaign_id} and "
                f"{inst.campaigns[c2[k]].campaign_id} {d[k]:.0f} m apart in cycle {cycle}"
            )
    return out


def _density_violations(inst: Instance, a, t) -> list[str]:
    """List density breaches: more than ``max_faces`` booked within ``within_m`` of an asset.

    Every placement counts as one face; ``a`` and ``t`` are the asset and cycle of each
    chosen candidate.
    """
    out = []
    for rule, _ in inst.density:
        for cycle in np.unique(t):
            assets = a[t == cycle]
            ids, faces = np.unique(assets, return_counts=True)
            xy = inst.xy[ids]
            near = cKDTree(xy).query_ball_point(xy, rule.within_m)
            for i, neighbours in enumerate(near):
                total = int(faces[neighbours].sum())
                if total > rule.max_faces:
                    out.append(
                        f"density {rule.id}: {total} faces near "
                        f"{inst.asset_ids[ids[i]]} in cycle {cycle}"
                    )
    return out


def _share_violations(inst: Instance, c, t) -> list[str]:
    """List share breaches: ``1000 * taken > floor(1000 * max_share) * total`` in a cycle."""
    out = []
    for rule, in_rule in inst.shares:
        for cycle in np.unique(t):
            camps = c[t == cycle]
            taken = int(in_rule[camps].sum())
            if taken * 1000 > math.floor(rule.max_share * 1000 + 1e-9) * len(camps):
                out.append(f"share {rule.id}: {taken} of {len(camps)} faces in cycle {cycle}")
    return out
