"""The second pass of a national plan: border conflicts resolved, shortfalls refilled.

Regional plans are each valid, but two regions do not see each other: a campaign's faces
may stand closer than its spacing across a region border, two rivals closer than the
competitor separation, and a policy's density rule may count faces from both sides. The
pass works on the merged placements, in this order:

1. **Drop.** Every pair that breaks a campaign's spacing or the competitor separation
   (the readings of `planner.optimise.verify`) loses its lower-valued placement (price for
   ``revenue``, impacts for ``impacts``). Then `planner.policy.audit.audit` re-checks the
   policy; each density violation drops the lowest-valued face around the offending
   asset, each share violation the lowest-valued face of the listed categories in that
   cycle, and any other violation its own placement. Repeated until the audit is clean.
2. **Refill.** A campaign left below its ``min_faces`` in a cycle (by a drop, or because
   a region could not place its share) gets its best remaining candidates anywhere in the
   country, greedily by value, each accepted only when it keeps every rule on its own:
   a free asset (nothing booked on it that cycle), within the budget left, beyond the
   campaign's spacing and the group's separation from what is booked, beyond every
   density rule's distance from any booked face, and within every share rule.
3. The audit runs once more; the national plan is valid only when it finds nothing and
   every campaign meets its faces and budget (`campaign_breaches`).
"""

from __future__ import annotations

from collections import Counter
from typing import cast

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.optimise.money import to_major, to_minor
from planner.policy.load import DensityRule, Policy, ShareRule
from planner.scale.supply import Supply, period_blocked

__all__ = ["campaign_breaches", "drop_conflicts", "drop_policy_violations", "refill"]

#: Rounds of drop-and-audit before giving up (each round removes at least one placement).
MAX_ROUNDS = 50
#: Candidates tried, best first, for one campaign's shortfall in one cycle.
MAX_TRIES = 5_000


def _book(placements: pd.DataFrame, supply: Supply) -> pd.DataFrame:
    """Plain working copy: asset position, campaign index, cycle and value of each placement."""
    pos = pd.Index(supply.asset_ids).get_indexer(placements["asset_id"].astype(str))
    camp = {c.campaign_id: i for i, c in enumerate(supply.campaigns)}
    return pd.DataFrame(
        {
            "pos": pos,
            "camp": placements["campaign_id"].astype(str).map(camp).to_numpy(),
            "cycle": placements["cycle"].to_numpy(dtype=np.int64),
        },
        index=placements.index,
    )


def drop_conflicts(
    placements: pd.DataFrame, supply: Supply, separation_m: float, objective: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop the lower-valued placement of each spacing or competitor conflict.

    Parameters
    ----------
    placements
        Merged placements (``asset_id``, ``campaign_id``, ``cycle``), one row per face.
    supply
        The national supply (positions, values, campaigns).
    separation_m
        Competitor separation, metres (`PlanSettings.competitor_separation_m`).
    objective
        ``revenue`` or ``impacts``: what "lower-valued" means.

    Returns
    -------
    tuple
        The placements kept, and ``{"spacing": n, "competitors": n}`` dropped.
    """
    book = _book(placements, supply)
    spacing = np.array([c.min_spacing_m for c in supply.campaigns], dtype=float)
    groups = np.array([c.competitor_group for c in supply.campaigns], dtype=object)
    radius = max(float(spacing.max(initial=0.0)), separation_m if any(groups) else 0.0)
    dropped: set = set()
    counts = {"spacing": 0, "competitors": 0}
    if radius <= 0 or not len(book):
        return placements, counts
    value = supply.score(objective)
    for _, rows in book.groupby("cycle", sort=True):
        pos, camp, labels = rows["pos"].to_numpy(), rows["camp"].to_numpy(), rows.index
        pairs = cKDTree(supply.xy[pos]).query_pairs(radius, output_type="ndarray")
        for i, j in pairs.tolist():
            if labels[i] in dropped or labels[j] in dropped:
                continue
            d = float(np.hypot(*(supply.xy[pos[i]] - supply.xy[pos[j]])))
            c1, c2 = camp[i], camp[j]
            if c1 == c2 and spacing[c1] > 0 and d <= spacing[c1]:
                kind = "spacing"
            elif c1 != c2 and groups[c1] and groups[c1] == groups[c2] and d <= separation_m:
                kind = "competitors"
            else:
                continue
            loser = i if (value[pos[i]], -i) < (value[pos[j]], -j) else j
            dropped.add(labels[loser])
            counts[kind] += 1
    return placements.drop(index=list(dropped)), counts


def drop_policy_violations(
    placements: pd.DataFrame,
    violations: pd.DataFrame,
    supply: Supply,
    policy: Policy,
    objective: str,
) -> pd.DataFrame:
    """Drop, for each audit violation, the placement that resolves it at least cost.

    A density violation drops the lowest-valued face within the rule's distance of the
    offending asset in that cycle; a share violation the lowest-valued face of the
    rule's categories in that cycle; any other violation (ban, exclusion, period, which
    eligibility already prevents) its own placement.

    Parameters
    ----------
    placements
        Merged placements.
    violations
        `planner.audit` of them (non-empty).
    supply, policy, objective
        The national supply, the policy and what "lowest-valued" means.

    Returns
    -------
    pandas.DataFrame
        The placements kept (at least one fewer).
    """
    book = _book(placements, supply)
    value = supply.score(objective)[book["pos"].to_numpy()]
    drop: set = set()
    for v in violations.itertuples(index=False):
        rule = policy.rule(str(v.rule_id))
        in_cycle = book["cycle"].to_numpy() == int(cast("int", v.cycle))
        if v.rule_type == "density":
            assert isinstance(rule, DensityRule)
            at = supply.xy[pd.Index(supply.asset_ids).get_loc(v.asset_id)]
            d = np.hypot(*(supply.xy[book["pos"].to_numpy()] - at).T)
            pick = in_cycle & (d <= rule.within_m)
        elif v.rule_type == "share":
            assert isinstance(rule, ShareRule)
            cats = {supply.campaigns[c].category for c in book["camp"].to_numpy()}
            listed = [c for c in cats if c in rule.categories]
            pick = in_cycle & np.isin(
                [supply.campaigns[c].category for c in book["camp"].to_numpy()], listed
            )
        else:
            pick = (
                in_cycle
                & (placements["asset_id"].astype(str).to_numpy() == v.asset_id)
                & (placements["campaign_id"].astype(str).to_numpy() == v.campaign_id)
            )
        candidates = [i for i in np.flatnonzero(pick).tolist() if book.index[i] not in drop]
        if candidates:
            drop.add(book.index[min(candidates, key=lambda i: (value[i], -i))])
    return placements.drop(index=list(drop))


def refill(
    placements: pd.DataFrame,
    supply: Supply,
    policy: Policy,
    *,
    separation_m: float,
    objective: str,
    start,
) -> tuple[pd.DataFrame, int]:
    """Add faces to campaigns below ``min_faces`` in a cycle, greedily, keeping every rule.

    Parameters
    ----------
    placements
        Merged placements (``asset_id``, ``campaign_id``, ``cycle``, ...).
    supply
        The national supply.
    policy
        The policy (density, share and period rules).
    separation_m
        Competitor separation, metres.
    objective
        ``revenue`` or ``impacts``: candidates are taken best first.
    start
        First day of cycle 1, for period rules.

    Returns
    -------
    tuple
        The placements with the added rows (``asset_id``, ``campaign_id``, ``cycle``,
        ``category``, ``advertiser``, ``price`` in pence as ``price_pence``, ``impacts``),
        and the number added.
    """
    book = _book(placements, supply)
    per = Counter(zip(book["camp"].tolist(), book["cycle"].tolist(), strict=True))
    spent = np.bincount(
        book["camp"].to_numpy(dtype=np.int64),
        weights=supply.price_pence[book["pos"].to_numpy()],
        minlength=len(supply.campaigns),
    )
    budget = _budget_pence(supply)
    value = supply.score(objective)
    added: list[tuple[int, int, int]] = []
    for ci, camp in enumerate(supply.campaigns):
        for cycle in camp.cycles:
            need = camp.min_faces - per.get((ci, cycle), 0)
            if need <= 0 or period_blocked(policy, camp.category, cycle, start):
                continue
            order = np.flatnonzero(supply.masks[ci])
            order = order[np.argsort(-value[order], kind="stable")][:MAX_TRIES]
            for a in order.tolist():
                if need <= 0:
                    break
                if spent[ci] + supply.price_pence[a] > budget[ci]:
                    continue
                if not _fits(a, ci, cycle, book, supply, policy, separation_m):
                    continue
                row = pd.DataFrame(
                    {"pos": [a], "camp": [ci], "cycle": [cycle]}, index=[f"r{len(added)}"]
                )
                book = pd.concat([book, row])
                added.append((a, ci, cycle))
                spent[ci] += supply.price_pence[a]
                need -= 1
    if not added:
        return placements, 0
    new = pd.DataFrame(
        {
            "asset_id": [supply.asset_ids[a] for a, _, _ in added],
            "campaign_id": [supply.campaigns[c].campaign_id for _, c, _ in added],
            "advertiser": [supply.campaigns[c].advertiser for _, c, _ in added],
            "cycle": [t for _, _, t in added],
            "category": [supply.campaigns[c].category for _, c, _ in added],
            "price_pence": [int(supply.price_pence[a]) for a, _, _ in added],
            "impacts": [int(supply.impacts[a]) for a, _, _ in added],
        }
    )
    return pd.concat([placements, new], ignore_index=True), len(added)


def _budget_pence(supply: Supply) -> np.ndarray:
    """Each campaign's budget in whole pence, as the regions' budgets add up to."""
    return np.asarray(to_minor([c.budget for c in supply.campaigns]), dtype=np.int64).reshape(-1)


def _fits(
    a: int, ci: int, cycle: int, book: pd.DataFrame, supply: Supply, policy: Policy, sep: float
) -> bool:
    """Whether one more face of campaign ``ci`` on asset ``a`` in ``cycle`` keeps every rule."""
    rows = book[book["cycle"].to_numpy() == cycle]
    pos, camp = rows["pos"].to_numpy(), rows["camp"].to_numpy()
    if (pos == a).any():
        return False  # a free asset only: its capacity is untouched
    d = np.hypot(*(supply.xy[pos] - supply.xy[a]).T) if len(pos) else np.zeros(0)
    me = supply.campaigns[ci]
    if me.min_spacing_m > 0 and (d[camp == ci] <= me.min_spacing_m).any():
        return False
    if me.competitor_group:
        rivals = np.array(
            [c != ci and supply.campaigns[c].competitor_group == me.competitor_group for c in camp],
            dtype=bool,
        )
        if (d[rivals] <= sep).any():
            return False
    if any((d <= rule.within_m).any() for rule in policy.densities):
        return False
    for rule in policy.shares:
        if me.category in rule.categories:
            taken = sum(supply.campaigns[c].category in rule.categories for c in camp) + 1
            if taken > rule.max_share * (len(camp) + 1) + 1e-9:
                return False
    return True


def campaign_breaches(placements: pd.DataFrame, supply: Supply, separation_m: float) -> list[str]:
    """List every campaign rule the national placements break (empty when all hold).

    Capacity per asset and cycle, budget per campaign (whole pence), faces per cycle
    (``min_faces``-``max_faces``), spacing and competitor separation, with the readings
    of `planner.optimise.verify.plan_violations`.

    Parameters
    ----------
    placements
        National placements (``asset_id``, ``campaign_id``, ``cycle``).
    supply
        The national supply.
    separation_m
        Competitor separation, metres.

    Returns
    -------
    list of str
        One line per breach, starting ``capacity:``, ``budget:``, ``faces:``,
        ``spacing:`` or ``competitors:``.
    """
    book = _book(placements, supply)
    out = []
    booked = Counter(zip(book["pos"].tolist(), book["cycle"].tolist(), strict=True))
    for (a, t), n in booked.items():
        if n > supply.capacity[a]:
            out.append(f"capacity: asset {supply.asset_ids[a]} carries {n} in cycle {t}")
    spent = np.bincount(
        book["camp"].to_numpy(dtype=np.int64),
        weights=supply.price_pence[book["pos"].to_numpy()],
        minlength=len(supply.campaigns),
    )
    per = Counter(zip(book["camp"].tolist(), book["cycle"].tolist(), strict=True))
    budget = _budget_pence(supply)
    for ci, camp in enumerate(supply.campaigns):
        if spent[ci] > budget[ci]:
            out.append(
                f"budget: {camp.campaign_id} spends {to_major(spent[ci]):,.2f} of "
                f"{camp.budget:,.2f}"
            )
        for t in camp.cycles:
            n = per.get((ci, t), 0)
            if not camp.min_faces <= n <= camp.max_faces:
                out.append(
                    f"faces: {camp.campaign_id} has {n} faces in cycle {t}, needs "
                    f"{camp.min_faces}-{camp.max_faces}"
                )
    kept, counts = drop_conflicts(placements, supply, separation_m, "revenue")
    if len(kept) < len(placements):
        out += [f"{kind}: {n} pair(s) too close" for kind, n in counts.items() if n]
    return out
