"""Settings shared by every optimiser, and the time budget a search spends.

`SolverSettings` (time limit, workers, seed, determinism), `PlanSettings` (the plan's
business settings) and `Clock` (wall-clock or deterministic time left).

Placement (`planner.plan`), site selection (`planner.select_sites`) and maximal covering
(`planner.max_cover`) all take one ``solver=SolverSettings(...)``, so a time limit, seed,
worker count or deterministic mode is set the same way everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from planner.calendar import DEFAULT_START

__all__ = ["Clock", "PlanSettings", "SolverSettings"]


@dataclass(frozen=True)
class SolverSettings:
    """Solver settings in one place.

    Attributes
    ----------
    time_limit
        Seconds the solver may run (split between stages of a lexicographic objective).
    workers
        CP-SAT search workers; 2 or more is much better than 1 (placement's
        deterministic search uses one, and the LP bound the rest).
    seed
        Random seed; with ``deterministic`` the same inputs and seed give the same plan.
    deterministic
        Count the time limit in work, not seconds, so that the same inputs and seed give
        the same plan on an idle or a loaded machine; a wall-clock safety stop ends a
        search that runs far over (and the result then says it is not reproducible).
        For placement (`planner.plan`): a fixed number of local-search moves, then one
        CP-SAT worker with a deterministic time limit (`planner.optimise.solve`); site
        selection and covering charge deterministic estimates to a `Clock`. False: plain
        parallel search on the wall clock, which may find better plans on a busy machine
        but differs run to run.
    log
        Print CP-SAT's search log.
    candidates_per_face
        Candidate pruning for large instances (0, the default, keeps every candidate).
        Otherwise each campaign keeps, in each cycle, its best ``candidates_per_face *
        max_faces`` candidates by the first objective (equal values in a random order, so
        the faces kept spread out), plus the starting plan's. The model is then much
        smaller, and the plan optimal only among the candidates kept; placement's bound
        and gap still cover every candidate (the LP relaxation or the per-campaign
        ceiling, never the pruned model's bound).
    """

    time_limit: float = 30.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = True
    log: bool = False
    candidates_per_face: float = 0.0


@dataclass(frozen=True)
class PlanSettings:
    """Business settings of a plan (solver settings: `planner.optimise.solve.SolverSettings`).

    Attributes
    ----------
    start
        First day of cycle 1 (for the policy's period rules).
    revenue_target
        Least council revenue the plan must earn, in the rate card's currency (0: none).
    competitor_separation_m
        Two campaigns of one competitor group are never on one asset, nor within this
        distance of each other, in the same cycle.
    walk_m
        A demand zone counts as reached by a campaign when one of its faces is within this
        walking distance of the zone's representative point.
    skip_unplaceable
        Leave out campaigns that cannot be placed at all (e.g. a category the policy bans
        everywhere) and say so in the plan's notes, instead of declaring the plan infeasible.
    """

    start: date = DEFAULT_START
    revenue_target: float = 0.0
    competitor_separation_m: float = 100.0
    walk_m: float = 400.0
    skip_unplaceable: bool = False


class Clock:
    """Time left for a search, in wall-clock or deterministic seconds.

    In ``deterministic`` mode the time used is the sum of deterministic estimates of the
    CPU seconds each step needs (charged with `charge`), so the same inputs stop at the
    same point whatever the machine's load; a watchdog still stops the search once
    ``watchdog * limit`` wall-clock seconds have passed.

    Parameters
    ----------
    limit
        Seconds the search may spend.
    deterministic
        Count charged estimates (True) or wall-clock time (False).
    watchdog
        Multiple of ``limit`` in wall-clock seconds after which no time is left.
    """

    def __init__(self, limit: float, deterministic: bool, *, watchdog: float = 2.0) -> None:
        self.limit, self.deterministic, self.watchdog = float(limit), deterministic, watchdog
        self.started = time.perf_counter()
        self.charged = 0.0

    def charge(self, seconds: float) -> None:
        """Record ``seconds`` of estimated CPU time spent by a step."""
        self.charged += seconds

    def wall(self) -> float:
        """Return the wall-clock seconds since the clock started."""
        return time.perf_counter() - self.started

    def left(self) -> float:
        """Return the seconds left (0 once the watchdog has fired); may be negative."""
        used = self.charged if self.deterministic else self.wall()
        return 0.0 if self.wall() > self.watchdog * self.limit else self.limit - used
