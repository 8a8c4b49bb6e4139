"""A solver-independent check of a plan against every rule of the instance: the specification.

`plan_violations` is what the model must satisfy, written plainly; tests compare solver
output against it, and the planner uses it to check the construction heuristic's plan (the
solver's starting plan, and its fallback when the solver finds none in time). It checks a
plan of any size: the pairwise rules (spacing, competitor separation, density) read close
pairs from k-d trees built on the faces each rule concerns, never all pairs.
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
    """List spacing and competitor-separation breaches, from close pairs in k-d trees.

    Per cycle: each campaign with a spacing, the pairs of its own faces within that
    spacing; each competitor group, the pairs of its faces within the separation that
    belong to two different campaigns (on one asset, 0 m apart). Only the faces a rule
    concerns go into its tree, so the work grows with the plan, never with its square.
    """
    out: list[str] = []
    spacing = np.array([camp.min_spacing_m for camp in inst.campaigns], dtype=float)
    groups = np.array([camp.competitor_group for camp in inst.campaigns], dtype=object)
    sep = inst.settings.competitor_separation_m
    for cycle in np.unique(t):
        in_cycle = t == cycle
        for ci in np.unique(c[in_cycle & (spacing[c] > 0)]).tolist():
            assets = a[in_cycle & (c == ci)]
            for i, j, d in _close(inst.xy, assets, spacing[ci]):
                out.append(
                    f"spacing: {inst.campaigns[ci].campaign_id} on {inst.asset_ids[assets[i]]} "
                    f"and {inst.asset_ids[assets[j]]} {d:.0f} m apart in cycle {cycle}"
                )
        if sep < 0:
            continue
        for group in sorted({g for g in groups[c[in_cycle]] if g}):
            mine = in_cycle & (groups[c] == group)
            assets, camps = a[mine], c[mine]
            for i, j, d in _close(inst.xy, assets, sep):
                if camps[i] != camps[j]:
                    out.append(
                        f"competitors: {inst.campaigns[camps[i]].campaign_id} and "
                        f"{inst.campaigns[camps[j]].campaign_id} {d:.0f} m apart in cycle "
                        f"{cycle}"
                    )
    return out


def _close(xy: np.ndarray, assets: np.ndarray, radius: float) -> list[tuple[int, int, float]]:
    """Return the pairs ``(i, j, metres)`` of ``assets`` at most ``radius`` apart (k-d tree)."""
    if len(assets) < 2:
        return []
    points = xy[assets]
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    if not len(pairs):
        return []
    d = np.hypot(*(points[pairs[:, 0]] - points[pairs[:, 1]]).T)
    return list(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), d.tolist(), strict=True))


def _density_violations(inst: Instance, a, t) -> list[str]:
    """List density breaches: more than ``max_faces`` booked within ``within_m`` of an asset.

    Every placement counts as one face; ``a`` and ``t`` are the asset and cycle of each
    chosen candidate. The faces around each booked asset are summed over the close pairs
    of a k-d tree (its own faces included).
    """
    out = []
    for rule, _ in inst.density:
        for cycle in np.unique(t):
            ids, faces = np.unique(a[t == cycle], return_counts=True)
            total = faces.copy()
            if len(ids) > 1:
                pairs = cKDTree(inst.xy[ids]).query_pairs(rule.within_m, output_type="ndarray")
                np.add.at(total, pairs[:, 0], faces[pairs[:, 1]])
                np.add.at(total, pairs[:, 1], faces[pairs[:, 0]])
            for i in np.flatnonzero(total > rule.max_faces).tolist():
                out.append(
                    f"density {rule.id}: {int(total[i])} faces near "
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
