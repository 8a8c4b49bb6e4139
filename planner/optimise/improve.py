"""Improve a valid plan by ruin and recreate: a large-neighbourhood search without a solver.

Each move picks a campaign that could spend more (budget left, for revenue) or any
campaign (for impacts), and one of its candidates not booked; unbooks every placement
within ``radius_m`` of that candidate's asset in its cycle, and the campaign's own least
valuable faces there; then books again: the minimums of the campaigns touched, the best
candidates of the area (ties to the campaign with the most budget left), and the best
candidates of the campaigns touched anywhere in the cycle. The move is kept when the plan
gains value (or, one time in two, when it keeps the same value) and every rule holds,
else undone ("ruin and recreate", Schrimpf, Schneider, Stamm-Wilbrandt & Dueck 2000).

Where budgets bind, the value is in who gets the dear faces: a campaign that cannot spend
its budget on its ``max_faces`` cheap faces gains from a digital slot that a campaign
with budget to spare anywhere took first; these moves hand such faces over. The number of
moves is the only limit (no clock is read, except a safety stop), so the same plan and
seed give the same result on any machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from planner.optimise.construct import _Bookings, _meet_minimum, _scores
from planner.optimise.instance import Instance

__all__ = ["Improvement", "improve_plan"]

#: Faces of the chosen campaign unbooked with the area (its least valuable in the cycle).
_OWN = 3
#: Candidates drawn for a move; the most valuable free one is taken.
_TOURNAMENT = 8
#: Most candidates of one campaign tried when booking it again in the cycle.
_REFILL = 1_000


@dataclass(frozen=True)
class Improvement:
    """What `improve_plan` did.

    Attributes
    ----------
    chosen
        The improved plan: candidate indices, sorted, ``int64``.
    moves, kept
        Moves tried and moves kept.
    cut
        True when the wall-clock safety stop ended the search before its moves ran out
        (the result then depends on the machine's speed and load).
    """

    chosen: np.ndarray
    moves: int
    kept: int
    cut: bool


def improve_plan(
    inst: Instance,
    chosen: np.ndarray,
    objective: str = "revenue",
    *,
    moves: int = 10**9,
    seed: int = 0,
    radius_m: float = 300.0,
    stall: int = 400,
    work: int | None = None,
    deadline: float | None = None,
) -> Improvement:
    """Improve a plan that keeps every rule by ruin-and-recreate moves.

    Parameters
    ----------
    inst
        The instance.
    chosen
        A plan that keeps every rule (e.g. `planner.optimise.construct.construct_plan`'s),
        candidate indices, shape (n_chosen,).
    objective
        ``revenue`` or ``impacts`` (additive objectives; anything else returns the plan
        unchanged).
    moves
        Most moves tried (by default no limit but ``work``, ``stall`` and ``deadline``).
    seed
        Seed of the moves' random choices.
    radius_m
        Radius of the area unbooked around the chosen candidate's asset, metres.
    stall
        Stop after this many moves in a row without a gain.
    work
        Stop once the moves have made this many rule checks (`_Bookings.failure` calls):
        the work done, counted without a clock, so the stop is the same on any machine;
        None for no such limit.
    deadline
        A `time.perf_counter` value after which the search stops (a safety stop; the
        result is then marked ``cut``), or None.

    Returns
    -------
    Improvement
        The plan, never worse than ``chosen``, still keeping every rule, and what was done.

    Examples
    --------
    >>> better = improve_plan(inst, construct_plan(inst), "revenue", moves=2_000)
    >>> objective_value(inst, better.chosen, "revenue") >= objective_value(inst, start, "revenue")
    True
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    if objective not in ("revenue", "impacts") or moves <= 0 or not inst.n_candidates:
        return Improvement(np.sort(chosen), 0, 0, False)
    search = _Search(inst, chosen, objective, seed, radius_m)
    quiet = kept = done = 0
    cut = False
    checks = search.book.checks
    limit = float("inf") if work is None else checks + work
    while done < moves and quiet < stall and search.book.checks < limit:
        if deadline is not None and time.perf_counter() > deadline:
            cut = True
            break
        campaign = search.pick_campaign()
        if campaign is None:
            break
        done += 1
        gain = search.move(campaign)
        kept += gain is not None
        quiet = 0 if gain is not None and gain > 0 else quiet + 1
    return Improvement(np.flatnonzero(search.book.chosen).astype(np.int64), done, kept, cut)


class _Search:
    """The bookings, the areas around each asset and the move of `improve_plan`."""

    def __init__(self, inst: Instance, chosen, objective: str, seed: int, radius_m: float):
        self.inst = inst
        self.score = _scores(inst, objective)
        self.revenue = objective == "revenue"
        book = _Bookings(inst)
        book.prepare(self.score)
        for k in np.sort(chosen).tolist():
            book.add(k)
        self.book = book
        self.rng = np.random.default_rng(seed)
        self.tree = cKDTree(inst.xy)
        self.radius = radius_m
        key = np.asarray(book.ac, dtype=np.int64)
        self.by_ac = np.argsort(key, kind="stable")
        self.ac_sorted = key[self.by_ac]
        self.own = _by_campaign(inst)
        price = inst.cand_price.astype(np.int64)
        cheapest = np.full(len(inst.campaigns), np.iinfo(np.int64).max)
        np.minimum.at(cheapest, inst.cand_campaign, price)
        self.cheapest = cheapest
        self.fill_order: dict[int, list[int]] = {}

    def pick_campaign(self) -> int | None:
        """Pick a campaign at random: one with budget for another face (revenue), or any.

        Returns None when, for revenue, every campaign has spent its budget (to within
        its cheapest face): no move can add value.
        """
        slack = np.asarray(self.book.budget) - np.asarray(self.book.spend)
        hungry = np.flatnonzero(slack >= self.cheapest)
        if self.revenue:
            return int(self.rng.choice(hungry)) if len(hungry) else None
        return int(self.rng.integers(len(self.inst.campaigns)))

    def move(self, c: int) -> float | None:
        """Ruin and recreate around a free candidate of campaign ``c``; return the gain.

        None when the move was undone (a rule broken, or value lost).
        """
        book, score = self.book, self.score
        k = self._free_candidate(c)
        if k is None:
            return None
        t = book.cyc[k]
        before = book.chosen.copy()
        region = self._region(book.asset[k], t)
        ruined = [j for j in region.tolist() if book.chosen[j]]
        own = sorted(book._faces_of(c, t), key=lambda j: (score[j], j))[:_OWN]
        ruined = list(dict.fromkeys(ruined + own))
        # Faces under a share rule first, so that unbooking the others keeps the share.
        ruined.sort(key=lambda j: (not book.share_rules[book.camp[j]], j))
        for j in ruined:
            if book.can_remove(j):
                book.remove(j)
        touched = sorted({book.camp[j] for j in ruined} | {c})
        self._recreate(touched, t, region)
        return self._settle(before, touched, t)

    def _free_candidate(self, c: int) -> int | None:
        """Return a candidate of ``c`` not booked: the best of `_TOURNAMENT` drawn at random.

        Drawing several and keeping the most valuable aims the move at the faces worth
        having (a dear digital slot rather than one more cheap face). None when no draw
        finds one free.
        """
        ks = self.own[c]
        if not len(ks):
            return None
        drawn = ks[self.rng.integers(len(ks), size=_TOURNAMENT)]
        free = drawn[~self.book.chosen[drawn]]
        if not len(free):
            return None
        return int(free[np.argmax(self.score[free])])

    def _region(self, asset: int, t: int) -> np.ndarray:
        """Return the candidates on assets within the radius of ``asset`` in cycle ``t``."""
        near = np.asarray(self.tree.query_ball_point(self.inst.xy[asset], self.radius))
        keys = near.astype(np.int64) * self.book.n_cycles + t
        lo = np.searchsorted(self.ac_sorted, keys, side="left")
        hi = np.searchsorted(self.ac_sorted, keys, side="right")
        parts = [self.by_ac[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def _recreate(self, touched: list[int], t: int, region: np.ndarray) -> None:
        """Book again: minimums of the campaigns touched, the area, then those campaigns."""
        book, score = self.book, self.score
        cycle = self.inst.cycles[t]
        for d in touched:
            if cycle in self.inst.campaigns[d].cycles and book.deficit(d, t):
                _meet_minimum(book, d * book.n_cycles + t, score)
        slack = np.asarray(book.budget) - np.asarray(book.spend)
        hunger = -slack[self.inst.cand_campaign[region]]
        for j in region[np.lexsort((region, hunger, -score[region]))].tolist():
            if not book.chosen[j] and book.fits(j):
                book.add(j)
        for d in touched:
            self._refill(d, t)

    def _refill(self, d: int, t: int) -> None:
        """Book campaign ``d``'s best candidates in cycle ``t`` that fit (a bounded scan).

        The `_REFILL` best first; if budget and room are left, a window of as many from
        a random place further down (the best are often all taken on a large instance).
        """
        book = self.book
        key = d * book.n_cycles + t
        order = self.fill_order.get(key)
        if order is None:
            ks = np.asarray(book.by_campaign_cycle.get(key, []), dtype=np.int64)
            order = ks[np.lexsort((ks, -self.score[ks]))].tolist()
            self.fill_order[key] = order
        start = 0
        for window in range(2):
            if window:  # budget left after the best: a random window further down
                if len(order) <= _REFILL:
                    break
                start = int(self.rng.integers(_REFILL, len(order)))
            for j in order[start : start + _REFILL]:
                if book.count[key] >= book.max_faces[d]:
                    return
                if book.budget[d] - book.spend[d] < self.cheapest[d]:
                    return
                if not book.chosen[j] and book.fits(j):
                    book.add(j)

    def _settle(self, before: np.ndarray, touched: list[int], t: int) -> float | None:
        """Keep the move if every rule holds and value is not lost; else undo it."""
        book, score, inst = self.book, self.score, self.inst
        added = np.flatnonzero(book.chosen & ~before)
        removed = np.flatnonzero(before & ~book.chosen)
        gain = float(score[added].sum() - score[removed].sum())
        cycle = inst.cycles[t]
        valid = all(
            not book.deficit(d, t) for d in touched if cycle in inst.campaigns[d].cycles
        ) and (book.sales >= inst.required_sales_pence)
        if valid and (gain > 0 or (gain == 0 and self.rng.random() < 0.5)):
            return gain
        for j in added.tolist():
            book.remove(j)
        for j in removed.tolist():
            book.add(j)
        return None


def _by_campaign(inst: Instance) -> list[np.ndarray]:
    """Return the candidates of each campaign, in candidate order."""
    order = np.argsort(inst.cand_campaign, kind="stable")
    bounds = np.searchsorted(inst.cand_campaign[order], np.arange(len(inst.campaigns) + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(len(inst.campaigns))]
