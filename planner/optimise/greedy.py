"""A greedy planner: the optimiser's warm start and the baseline in benchmarks.

It books locked placements, then each campaign's minimum faces cheapest first, then the
candidates of highest value (marginal reach for the reach objective, lazily updated),
checking every rule as it goes; a last pass trims category shares. For reach, the lazy
greedy of Minoux (1978) on a submodular objective, whose plain form guarantees at least
``1 - 1/e`` of the best reach under a cardinality limit (Nemhauser, Wolsey & Fisher 1978);
the other rules remove that guarantee, which is why CP-SAT follows.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict

import numpy as np

from planner.optimise.instance import Instance
from planner.optimise.model import candidate_values

__all__ = ["greedy_plan"]


class _State:
    """Bookings so far, with the checks every rule needs.

    Every check is incremental: faces used per (asset, cycle), faces per (campaign,
    cycle), spend per campaign (pence) and the campaigns on each (asset, cycle).
    """

    def __init__(self, inst: Instance) -> None:
        """Start with nothing booked, and adjacency lists of the spacing and rival pairs."""
        self.inst = inst
        self.used: dict[tuple[int, int], int] = defaultdict(int)
        self.spend = np.zeros(len(inst.campaigns), dtype=np.int64)
        self.count: dict[tuple[int, int], int] = defaultdict(int)
        self.on: dict[tuple[int, int], set[int]] = defaultdict(set)  # (asset, cycle) -> camps
        self.chosen: set[int] = set()
        self.spacing = {c: _adjacency(p) for c, p in inst.spacing_pairs.items()}
        self.rivals = _adjacency(inst.competitor_pairs)
        self.group = [c.competitor_group for c in inst.campaigns]

    def fits(self, k: int) -> bool:
        """Tell whether booking candidate ``k`` now keeps every rule but the minimums.

        Checks capacity, ``max_faces``, budget, spacing, competitor separation and
        density against the bookings so far; category shares are trimmed at the end.
        """
        inst = self.inst
        a, c, t = int(inst.cand_asset[k]), int(inst.cand_campaign[k]), int(inst.cand_cycle[k])
        camp = inst.campaigns[c]
        if k in self.chosen or c in self.on[(a, t)]:
            return False
        if self.used[(a, t)] >= inst.capacity[a] or self.count[(c, t)] >= camp.max_faces:
            return False
        if self.spend[c] + inst.cand_price[k] > inst.budget_pence[c]:
            return False
        if any(c in self.on[(b, t)] for b in self.spacing.get(c, {}).get(a, ())):
            return False
        return self._rivals_ok(a, c, t) and self._density_ok(a, t)

    def _rivals_ok(self, a: int, c: int, t: int) -> bool:
        """Tell whether no rival of ``c`` is on ``a`` or a close asset in cycle ``t``."""
        group = self.group[c]
        if not group:
            return True
        for b in (a, *self.rivals.get(a, ())):
            if any(d != c and self.group[d] == group for d in self.on[(b, t)]):
                return False
        return True

    def _density_ok(self, a: int, t: int) -> bool:
        """Tell whether one more face on ``a`` in cycle ``t`` keeps every density rule.

        Both around ``a`` itself and around every booked neighbour, whose count the new
        face also raises.
        """
        for rule, neighbours in self.inst.density:
            if sum(self.used[(b, t)] for b in neighbours[a]) + 1 > rule.max_faces:
                return False
            for b in neighbours[a]:
                if (
                    self.used[(b, t)]
                    and sum(self.used[(d, t)] for d in neighbours[b]) + 1 > rule.max_faces
                ):
                    return False
        return True

    def add(self, k: int) -> None:
        """Book candidate ``k`` (unchecked: call `fits` first, except for locked ones)."""
        inst = self.inst
        a, c, t = int(inst.cand_asset[k]), int(inst.cand_campaign[k]), int(inst.cand_cycle[k])
        self.chosen.add(k)
        self.used[(a, t)] += 1
        self.count[(c, t)] += 1
        self.spend[c] += inst.cand_price[k]
        self.on[(a, t)].add(c)

    def remove(self, k: int) -> None:
        """Unbook candidate ``k``."""
        inst = self.inst
        a, c, t = int(inst.cand_asset[k]), int(inst.cand_campaign[k]), int(inst.cand_cycle[k])
        self.chosen.discard(k)
        self.used[(a, t)] -= 1
        self.count[(c, t)] -= 1
        self.spend[c] -= inst.cand_price[k]
        self.on[(a, t)].discard(c)


def _adjacency(pairs: np.ndarray) -> dict[int, list[int]]:
    """Return each asset's partners in ``pairs`` (both directions)."""
    adj: dict[int, list[int]] = defaultdict(list)
    for a, b in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
        adj[a].append(b)
        adj[b].append(a)
    return adj


def greedy_plan(inst: Instance, objective: str = "revenue") -> np.ndarray:
    """Book candidates greedily; return the chosen candidate indices (sorted).

    Parameters
    ----------
    inst
        The instance.
    objective
        ``revenue``, ``impacts`` or ``reach`` (a blend or a lexicographic order uses its
        first objective). Reach without demand zones scores by revenue.

    Returns
    -------
    numpy.ndarray
        Chosen candidate indices, sorted, ``int64``. What greedy adds keeps every rule,
        but the plan may miss a campaign's ``min_faces`` or the revenue target, and
        locked placements are booked unchecked; check it with
        `planner.optimise.verify.plan_violations`.

    Examples
    --------
    >>> chosen = greedy_plan(inst, "reach")
    """
    state = _State(inst)
    for k in inst.locked:
        state.add(int(k))
    _minimum_faces(state)
    score = _scores(inst, objective)
    if objective == "reach" and inst.asset_zones:
        _lazy_reach(state)
    else:
        for k in np.lexsort((np.arange(inst.n_candidates), -score)):
            if state.fits(int(k)):
                state.add(int(k))
    _trim_shares(state, score)
    return np.array(sorted(state.chosen), dtype=np.int64)


def _scores(inst: Instance, objective: str) -> np.ndarray:
    """Return each candidate's greedy score (its stand-alone value), as floats."""
    if objective == "reach" and not inst.asset_zones:
        objective = "revenue"
    return candidate_values(inst, objective).astype(float)


def _minimum_faces(state: _State) -> None:
    """Book each campaign's minimum faces per cycle, cheapest first.

    Campaigns and cycles with the least slack (eligible faces minus the minimum) go first,
    so the tightest ones get their faces before others take them.
    """
    inst = state.inst
    need = [
        (inst.eligible_counts.get((c, t), 0) - camp.min_faces, c, t)
        for c, camp in enumerate(inst.campaigns)
        for t in camp.cycles
        if camp.min_faces
    ]
    by_cycle: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.empty(0, np.int64))
    keys = inst.cand_campaign.astype(np.int64) * 100_000 + inst.cand_cycle
    for key in np.unique(keys):
        ks = np.flatnonzero(keys == key)
        by_cycle[(int(key // 100_000), int(key % 100_000))] = ks[
            np.argsort(inst.cand_price[ks], kind="stable")
        ]
    for _slack, c, t in sorted(need):
        for k in by_cycle[(c, t)]:
            if state.count[(c, t)] >= inst.campaigns[c].min_faces:
                break
            if state.fits(int(k)):
                state.add(int(k))


def _lazy_reach(state: _State) -> None:
    """Book by lazy greedy on marginal reach (submodular), priority-weighted, ties by candidate.

    Stale gains stay in the heap until popped; a popped gain is recomputed and the
    candidate pushed back if it fell (Minoux 1978). Stops when no candidate adds reach.
    """
    inst = state.inst
    covered: dict[int, set[int]] = defaultdict(set)
    for k in state.chosen:
        covered[int(inst.cand_campaign[k])].update(inst.asset_zones[inst.cand_asset[k]].tolist())

    def gain(k: int) -> int:
        """Return the priority-weighted population ``k`` adds to its campaign's reach."""
        c = int(inst.cand_campaign[k])
        zones = [z for z in inst.asset_zones[inst.cand_asset[k]].tolist() if z not in covered[c]]
        return int(inst.zone_pop[zones].sum()) * inst.campaigns[c].priority if zones else 0

    heap = [(-gain(k), k) for k in range(inst.n_candidates)]
    heapq.heapify(heap)
    while heap:
        neg, k = heapq.heappop(heap)
        fresh = gain(k)
        if fresh < -neg:
            if fresh > 0:
                heapq.heappush(heap, (-fresh, k))
            continue
        if fresh <= 0:
            break
        if state.fits(k):
            state.add(k)
            covered[int(inst.cand_campaign[k])].update(
                inst.asset_zones[inst.cand_asset[k]].tolist()
            )


def _trim_shares(state: _State, score: np.ndarray) -> None:
    """Unbook the lowest-scoring unlocked faces of a share rule's categories until it holds.

    Per rule and cycle: ``1000 * taken <= floor(1000 * max_share) * total``, as the model
    and the audit read it.
    """
    inst = state.inst
    locked = set(inst.locked.tolist())
    for rule, in_rule in inst.shares:
        for t in inst.cycles:
            mine = [k for k in state.chosen if inst.cand_cycle[k] == t]
            hit = sorted(
                (k for k in mine if in_rule[inst.cand_campaign[k]] and k not in locked),
                key=lambda k: (score[k], k),
            )
            taken = len(mine) - len([k for k in mine if not in_rule[inst.cand_campaign[k]]])
            total = len(mine)
            while hit and taken * 1000 > math.floor(rule.max_share * 1000 + 1e-9) * total:
                state.remove(hit.pop(0))
                taken -= 1
                total -= 1
