"""Solve a placement instance: construction heuristic, CP-SAT, a valid bound, explanations.

`solve_instance` returns the chosen candidates with status, objective, bound and gap. The
construction heuristic (`planner.optimise.construct`) gives a plan that keeps every rule;
CP-SAT starts from it (a complete hint) and improves it, its objective domain capped by a
bound known up front (`planner.optimise.model.objective_ceiling`); a lexicographic
objective is solved stage by stage, each keeping the previous stage's value. The gap is
against the smallest valid bound on the whole problem (CP-SAT's, the LP relaxation's or
the ceiling). An infeasible instance is explained by naming the conflicting rules, found as
CP-SAT's sufficient assumptions for infeasibility over named constraint groups; a time-out
(``TIME_LIMIT``) returns the heuristic's plan when it keeps every rule, and says what to
change.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from planner.errors import PlannerError
from planner.optimise.bound import BackgroundBound, lp_relaxation
from planner.optimise.construct import construct_plan
from planner.optimise.explain import explain_infeasible, quick_explanation, unplaceable
from planner.optimise.improve import improve_plan
from planner.optimise.instance import Instance, restrict, slot_ranks
from planner.optimise.model import (
    PlacementModel,
    build_model,
    candidate_values,
    objective_ceiling,
    objective_value,
)
from planner.optimise.settings import SolverSettings
from planner.optimise.verify import plan_violations

__all__ = [
    "Objective",
    "SolveResult",
    "parse_objective",
    "solve_instance",
    "unplaceable",
]

Progress = Callable[[float, str], None]
# A blended stage is sum_i weight_i / sum(weights) * term_i / greedy value_i, times this
# scale and rounded to integer coefficients, so the greedy plan scores about 1,000,000.
_SCALE = 1_000_000


@dataclass(frozen=True)
class Objective:
    """What to maximise: weights of ``revenue``, ``impacts`` and ``reach``, or an order.

    ``order`` holds the stages of a lexicographic objective (e.g. revenue, then reach),
    each a weight dict; a single stage is a plain or blended objective.

    Attributes
    ----------
    order
        Stages, first the most important; each stage is a tuple of ``(name, weight)``
        with ``name`` in ``revenue``, ``impacts``, ``reach`` and ``weight > 0``. Within a
        blended stage each term is divided by its greedy plan's value before weighting,
        so weights compare terms of different units.

    Examples
    --------
    >>> Objective(((("revenue", 1.0),), (("reach", 1.0),))).label
    'revenue>reach'
    """

    order: tuple[tuple[tuple[str, float], ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Return every objective term used, in first-use order."""
        return tuple(dict.fromkeys(n for stage in self.order for n, _ in stage))

    @property
    def label(self) -> str:
        """Return the text form, e.g. ``revenue>reach`` or ``revenue=0.7+reach=0.3``."""
        return ">".join(
            "+".join(n if len(s) == 1 else f"{n}={w:g}" for n, w in s) for s in self.order
        )


def parse_objective(text: str) -> Objective:
    """Parse ``revenue``, ``reach``, ``revenue>reach`` or ``revenue=0.7+reach=0.3``.

    ``>`` separates lexicographic stages, ``+`` the terms of a blend, ``=`` a term from
    its weight (1 when left out). Spaces and case are ignored.

    Parameters
    ----------
    text
        The objective as text.

    Returns
    -------
    Objective
        The parsed stages.

    Raises
    ------
    PlannerError
        When a term is not ``revenue``, ``impacts`` or ``reach``, a weight is not a
        number above 0, or a stage is empty; the message shows the forms accepted.

    Examples
    --------
    >>> parse_objective("revenue>reach").names
    ('revenue', 'reach')
    """
    stages = []
    for stage in str(text).replace(" ", "").lower().split(">"):
        terms = []
        for part in filter(None, stage.split("+")):
            name, sep, weight = part.partition("=")
            try:
                w = float(weight) if sep else 1.0
            except ValueError:
                w = -1.0
            if name not in ("revenue", "impacts", "reach") or not 0 < w < math.inf:
                raise PlannerError(
                    f"Objective '{text}' is not understood: use revenue, "
                    "impacts, reach, a blend such as revenue=0.7+reach=0.3, "
                    "or an order such as revenue>reach"
                )
            terms.append((name, w))
        if not terms:
            raise PlannerError(f"Objective '{text}' is empty; use revenue, impacts or reach")
        stages.append(tuple(terms))
    names = [name for stage in stages for name, _ in stage]
    if len(set(names)) < len(names):
        raise PlannerError(
            f"Objective '{text}' names a term twice; name each of revenue, impacts and "
            "reach at most once"
        )
    return Objective(tuple(stages))


#: Method of a plan that is the heuristic's (construction, then local search), returned
#: because the solver found none in the time allowed; it keeps every rule.
FALLBACK = "greedy + repair + local search (the solver found no plan in time)"
#: Rule checks the local search (`planner.optimise.improve`) may make per second of time
#: limit: the work done, counted without a clock, so a deterministic plan takes about its
#: time limit on a quiet machine and longer (never a different plan) on a busy one.
#: Measured on the 2-core benchmark machine: ~560,000 checks per second of wall clock
#: when it was quiet (London: 14.4 million in 25.6 s), ~210,000 when other work shared it
#: (12.6 million in 59 s).
CHECKS_PER_SECOND = 450_000
#: Share of the time limit the local search's work is sized for when CP-SAT follows, and
#: when it runs alone (a model too large for CP-SAT, see `CP_SAT_MAX_CANDIDATES`).
LOCAL_SEARCH_SHARE = 0.4
LOCAL_SEARCH_ALONE = 0.8
#: Largest model CP-SAT is given, in candidates (after pruning). London's 1.6 million
#: took 24-33 s of presolve and 6-13 GB before any search; 400,000 keeps CP-SAT under
#: about 2 GB.
CP_SAT_MAX_CANDIDATES = 400_000
#: Method of a plan from the heuristic alone (greedy + repair, then local search), when
#: the model is too large for CP-SAT.
HEURISTIC = "greedy + repair + local search (model too large for CP-SAT)"
#: Share of the time limit the construction heuristic's repair of unmet minimum faces
#: is sized for (in rule checks, `CHECKS_PER_SECOND`): an impossible set of minimums
#: (rivals that together need more faces than exist) would otherwise keep it busy for
#: minutes; CP-SAT then decides.
REPAIR_SHARE = 0.2
#: Rule checks the repair may always make, however short the time limit (about 0.2 s).
REPAIR_MIN_CHECKS = 100_000
#: Share of the time limit, from the start of the solve, that the LP bound gets in its
#: child process when the model is too large for CP-SAT (see `BackgroundBound`).
BACKGROUND_LP_SHARE = 0.9
#: Wall-clock safety stop of the repair and the local search: this multiple of the time
#: limit, plus `SAFETY_SLACK` seconds,
#: from the start of the solve; a plan cut by it is marked not reproducible.
LOCAL_SEARCH_WALL = 3
#: Share of the time limit CP-SAT gets after the local search has run.
CP_SAT_SHARE = 0.5
#: CP-SAT deterministic seconds per second of (its share of the) time limit, in
#: deterministic mode (one worker): on the borough benchmark one deterministic second took
#: about 3.6 CPU seconds (presolve included), so a third keeps the search near its limit.
DETERMINISTIC_PER_SECOND = 1 / 3
#: The deterministic search's wall-clock safety stop, as a multiple of its seconds (plus
#: `SAFETY_SLACK`); when it fires the plan is marked not reproducible.
WATCHDOG = 3
#: Seconds added to every wall-clock safety stop, so that short limits on a busy machine
#: (a 2 s CP-SAT share at a load average of 8) do not trip it.
SAFETY_SLACK = 30


@dataclass
class SolveResult:
    """What the solver found.

    Attributes
    ----------
    chosen
        Indices of the chosen candidates (empty when there is no plan).
    status
        ``OPTIMAL`` (proven best), ``FEASIBLE`` (a plan, with its gap), ``INFEASIBLE``
        (no plan exists; ``explanation`` names the rules in conflict) or ``TIME_LIMIT``
        (the solver found no plan in the time allowed; ``chosen`` is then the
        construction heuristic's plan when it keeps every rule, see ``fallback``).
    objective, bound, gap
        Objective value of the last stage, the best valid upper bound on it for the
        whole problem, and the relative gap ``(bound - objective) / bound`` (0 when
        optimal). A blended stage is in scaled units. NaN when no valid bound is known
        (a blend solved on pruned candidates) or there is no plan.
    seconds
        Wall-clock seconds of the whole solve.
    values
        Every objective term's value (revenue in pence, impacts, reach).
    greedy_values
        The same for the heuristic's plan (greedy + repair, then ruin-and-recreate local
        search for revenue or impacts), the solver's starting point.
    explanation
        Why there is no plan, or why the plan is the heuristic's, in words, with what to
        change (for ``INFEASIBLE`` and ``TIME_LIMIT``).
    method
        ``cp-sat``, ``pre-check`` (infeasible before any search) or `FALLBACK`.
    timings
        Wall seconds of each step: ``heuristic`` (the construction heuristic), ``local
        search`` (`planner.optimise.improve.improve_plan`), ``model`` (building the
        CP-SAT model), ``search`` and ``bound`` (the LP relaxation).
    pruned
        Candidates left out by ``SolverSettings.candidates_per_face``; the bound is then
        never CP-SAT's (which covers only the candidates kept).
    bound_source
        Where ``bound`` comes from: ``cp-sat`` (the solver's bound on the full model),
        ``lp relaxation`` (`planner.optimise.bound.lp_relaxation`), ``per-campaign
        ceiling`` (`planner.optimise.model.objective_ceiling`) or ``none``; the
        smallest valid one is kept.
    fallback
        True when ``chosen`` is the construction heuristic's plan, returned (with status
        ``TIME_LIMIT``) because the solver found none in time; it keeps every rule.
    reproducible
        True when the same inputs and seed give this same plan on any machine: the
        deterministic search ran and no wall-clock safety stop cut it.
    """

    chosen: np.ndarray
    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    values: dict[str, int] = field(default_factory=dict)
    greedy_values: dict[str, int] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)
    method: str = "cp-sat"
    timings: dict[str, float] = field(default_factory=dict)
    pruned: int = 0
    bound_source: str = "none"
    fallback: bool = False
    reproducible: bool = True

    @property
    def ok(self) -> bool:
        """True when ``chosen`` is a plan that keeps every rule."""
        return self.status in ("OPTIMAL", "FEASIBLE") or self.fallback


class _Progress(cp_model.CpSolverSolutionCallback):
    """Report each CP-SAT solution as progress: its objective, bound and time used."""

    def __init__(self, report: Progress | None, limit: float, offset: float, share: float):
        """Report into ``[offset, offset + share]`` of the bar over ``limit`` seconds."""
        super().__init__()
        self.report, self.limit, self.offset, self.share = report, limit, offset, share

    def on_solution_callback(self) -> None:
        """Call the progress function with the solution's value and the bound."""
        if self.report is not None:
            done = self.offset + self.share * min(self.wall_time / max(self.limit, 1e-9), 1.0)
            self.report(
                min(done, 0.99),
                f"solution {self.objective_value:,.0f} (bound {self.best_objective_bound:,.0f})",
            )


def solve_instance(
    inst: Instance,
    objective: Objective | str = "revenue",
    *,
    solver: SolverSettings = SolverSettings(),
    progress: Progress | None = None,
) -> SolveResult:
    """Plan an instance: quick checks, the construction heuristic, CP-SAT, then the bound.

    The construction heuristic (`planner.optimise.construct.construct_plan`, greedy +
    repair) gives a plan that keeps every rule whenever it can; for a revenue or impacts
    objective, ruin-and-recreate local search (`planner.optimise.improve.improve_plan`,
    ``CHECKS_PER_SECOND`` rule checks per second of time limit) improves it; CP-SAT starts
    from it (a complete hint, ``CP_SAT_SHARE`` of the time limit) and improves it further,
    unless the model has more than ``CP_SAT_MAX_CANDIDATES`` candidates (the heuristic's
    plan is then the answer, method `HEURISTIC`).
    The bound is the smallest valid upper bound on the whole problem: CP-SAT's (on the
    full model only), the LP relaxation's (`planner.optimise.bound.lp_relaxation`) or the
    per-campaign ceiling.

    Parameters
    ----------
    inst
        The instance.
    objective
        An `Objective` or its text form (see `parse_objective`).
    solver
        Solver settings.
    progress
        Called with (fraction done, message) as the solve goes.

    Returns
    -------
    SolveResult
        The plan with its status. ``INFEASIBLE`` comes with an explanation: campaigns
        that cannot be placed (`planner.optimise.explain.quick_explanation`) or the
        rule groups CP-SAT finds in conflict. ``TIME_LIMIT`` when CP-SAT found no plan
        in time: the heuristic's plan is returned when it keeps every rule
        (``fallback``), and the explanation says what to change.

    Raises
    ------
    PlannerError
        When the objective cannot be parsed, ``time_limit`` is not a finite number of
        seconds above 0, or ``workers`` is below 1.
    """
    objective = parse_objective(objective) if isinstance(objective, str) else objective
    if not 0 < solver.time_limit < math.inf:
        raise PlannerError(
            f"The time limit must be a number of seconds above 0; got {solver.time_limit!r}"
        )
    if solver.workers < 1:
        raise PlannerError(f"Workers must be at least 1; got {solver.workers!r}")
    if solver.seed < 0:
        raise PlannerError(f"The seed must be a whole number of 0 or more; got {solver.seed!r}")
    if not 0 <= solver.candidates_per_face < math.inf:
        raise PlannerError(
            "Candidates per face must be 0 (keep every candidate) or more; got "
            f"{solver.candidates_per_face!r}"
        )
    started = time.perf_counter()
    progress = _monotone(progress)
    _say(progress, 0.0, "checking the campaigns against the eligible faces")
    quick = quick_explanation(inst)
    if quick:
        return SolveResult(
            np.empty(0, np.int64),
            "INFEASIBLE",
            0,
            0,
            0,
            time.perf_counter() - started,
            explanation=quick,
            method="pre-check",
        )
    first = objective.order[0][0][0]
    too_big = _model_size(inst, first, solver) > CP_SAT_MAX_CANDIDATES
    background = _background_bound(inst, objective, solver, started) if too_big else None
    clock = time.perf_counter()
    if solver.deterministic:  # counted work, and a safety stop far off
        work = max(REPAIR_MIN_CHECKS, round(CHECKS_PER_SECOND * REPAIR_SHARE * solver.time_limit))
        repair_stop = started + LOCAL_SEARCH_WALL * solver.time_limit + SAFETY_SLACK
    else:  # the fast search: its share of the wall clock
        work, repair_stop = None, started + REPAIR_SHARE * solver.time_limit
    start = construct_plan(inst, first, seed=solver.seed, work=work, deadline=repair_stop)
    repair_cut = solver.deterministic and time.perf_counter() > repair_stop
    problems = plan_violations(inst, start)
    timings = {"heuristic": time.perf_counter() - clock}
    _say(progress, 0.05, "starting plan ready" if not problems else "searching for a plan")
    cut, seconds = repair_cut, solver.time_limit
    if not problems and len(objective.order[0]) == 1 and first in ("revenue", "impacts"):
        clock = time.perf_counter()
        share = LOCAL_SEARCH_ALONE if too_big else LOCAL_SEARCH_SHARE
        if solver.deterministic:  # counted work, and a safety stop far off
            work = round(CHECKS_PER_SECOND * share * solver.time_limit)
            deadline = started + LOCAL_SEARCH_WALL * solver.time_limit + SAFETY_SLACK
        else:  # the fast search: its share of the wall clock, whatever the work
            work, deadline = None, started + share * solver.time_limit
        better = improve_plan(
            inst, start, first, stall=1_000, work=work, seed=solver.seed, deadline=deadline
        )
        cut = cut or (better.cut and solver.deterministic)
        start, seconds = better.chosen, solver.time_limit * CP_SAT_SHARE
        timings["local search"] = time.perf_counter() - clock
        _say(progress, 0.3, f"starting plan improved ({better.kept:,} of {better.moves:,} moves)")
    start_values = {n: objective_value(inst, start, n) for n in objective.names}
    hint = None if problems else start
    if too_big:
        # CP-SAT's presolve alone would outlast the time limit and the memory (London:
        # 24-33 s and 6-13 GB); the heuristic's plan, bounded below, is the answer.
        result = (
            _heuristic_result(inst, objective, start, start_values)
            if hint is not None
            else SolveResult(np.empty(0, np.int64), "TIME_LIMIT", 0, math.nan, math.nan, 0)
        )
    else:
        keep = _kept(inst, first, hint, solver)
        result = _solve_stages(
            inst, objective, solver, start, hint, progress, timings, keep, seconds
        )
    result.greedy_values = start_values
    result.timings = timings
    result.reproducible = result.reproducible and solver.deterministic and not cut
    if result.status == "TIME_LIMIT" and hint is not None:
        result.chosen, result.fallback, result.method = start, True, FALLBACK
        result.values = start_values
        result.objective = _stage_value(inst, objective.order[-1], start, start)
    if result.ok:
        _say(progress, 0.96, "bounding the best possible plan")
        clock = time.perf_counter()
        _bound(result, inst, objective, solver, background, started)
    elif background is not None:
        background.result(0.0)  # no plan to bound: stop the child
        timings["bound"] = time.perf_counter() - clock
    if result.status == "INFEASIBLE":
        result.explanation = explain_infeasible(inst, solver)
    elif result.status == "TIME_LIMIT":
        result.explanation = _time_out_advice(inst, solver, start, result.fallback)
    result.seconds = time.perf_counter() - started
    _say(progress, 1.0, f"done: {result.status.lower()}")
    return result


def _stage_value(inst: Instance, stage, chosen: np.ndarray, reference: np.ndarray) -> float:
    """Return a stage's objective for ``chosen``, scaled as the solver's (blends normalised)."""
    if len(stage) == 1:
        return float(objective_value(inst, chosen, stage[0][0]))
    refs = _references(inst, reference, [n for n, _ in stage])
    total = sum(w for _, w in stage)
    return float(
        sum(_SCALE * w / total / refs[n] * objective_value(inst, chosen, n) for n, w in stage)
    )


def _background_bound(
    inst: Instance, objective: Objective, solver: SolverSettings, started: float
) -> BackgroundBound | None:
    """Start the LP bound in a child process for a single revenue or impacts objective.

    It gets ``BACKGROUND_LP_SHARE`` of the time limit from the start of the solve (the
    local search runs meanwhile); None when the objective is not one of those or the
    child cannot be started (the per-campaign ceiling is then the bound).
    """
    if len(objective.order) != 1 or len(objective.order[0]) != 1:
        return None
    name = objective.order[0][0][0]
    if name not in ("revenue", "impacts"):
        return None
    seconds = BACKGROUND_LP_SHARE * solver.time_limit - (time.perf_counter() - started)
    try:
        return BackgroundBound(inst, {name: 1.0}, max(1.0, seconds))
    except OSError:
        return None


def _bound(
    result: SolveResult,
    inst: Instance,
    objective: Objective,
    solver: SolverSettings,
    background: BackgroundBound | None = None,
    started: float = 0.0,
):
    """Set the bound (the smallest valid one on the whole problem), its source and the gap.

    CP-SAT's bound counts only when it covers every candidate (no pruning) and the
    solver found the plan (a plan optimal among pruned candidates stays ``OPTIMAL`` only
    when another bound proves it for all); the per-campaign ceiling and the LP
    relaxation need a single objective term in the last stage (for a lexicographic
    objective they drop the earlier stages' floors, which keeps them valid). The LP
    runs only while the gap is open, with PDLP's iteration limit and a wall-clock guard
    of a quarter of the time limit (at least 1 s): it moves the bound, never the plan.
    Above ``CP_SAT_MAX_CANDIDATES`` candidates PDLP needs most of the time limit to beat
    the ceiling (London: 35 s no, 55 s yes), so it ran in a child process during the
    search (`BackgroundBound`), and its answer is collected here, waiting at most until
    the time limit (plus 2 s) from ``started``.
    """
    stage = objective.order[-1]
    found: list[tuple[float, str]] = []
    if result.status == "OPTIMAL" and not result.pruned:
        found.append((result.objective, "cp-sat"))
    elif result.status == "FEASIBLE" and not result.pruned and math.isfinite(result.bound):
        found.append((result.bound, "cp-sat"))
    if len(stage) == 1:
        name = stage[0][0]
        ceiling = objective_ceiling(inst, name)
        if ceiling is not None:
            found.append((float(ceiling), "per-campaign ceiling"))
        best = min((b for b, _ in found), default=math.inf)
        if background is not None:
            wait = started + solver.time_limit + 2.0 - time.perf_counter()
            lp_bound = background.result(wait)
            if math.isfinite(lp_bound):
                found.append((lp_bound, "lp relaxation"))
            best = min((b for b, _ in found), default=math.inf)
        small = inst.n_candidates <= CP_SAT_MAX_CANDIDATES
        if small and best > result.objective + 0.5 and (name != "reach" or inst.asset_zones):
            lp = lp_relaxation(
                inst,
                {name: 1.0},
                seconds=max(1.0, solver.time_limit / 4),
                threads=solver.workers,
            )
            if math.isfinite(lp.bound):
                found.append((lp.bound, "lp relaxation"))
    if not found:
        result.bound, result.gap, result.bound_source = math.nan, math.nan, "none"
        return
    bound, source = min(found, key=lambda f: f[0])
    result.bound, result.bound_source = max(bound, result.objective), source
    if result.status == "OPTIMAL" and result.pruned and bound > result.objective + 0.5:
        result.status = "FEASIBLE"  # optimal among the candidates kept, not proven for all
    if (
        result.status == "FEASIBLE"
        and len(objective.order) == 1
        and bound <= result.objective + 0.5
    ):
        result.status = "OPTIMAL"  # a valid bound on the whole problem is met: proven best
    if result.status == "OPTIMAL" or result.bound <= 0:
        result.gap = 0.0
    else:
        result.gap = max(0.0, (result.bound - result.objective) / result.bound)


def _time_out_advice(inst: Instance, solver: SolverSettings, start, fallback: bool) -> list[str]:
    """Say why the plan is the heuristic's (or why there is none) and what to change.

    Only advice the user does not already follow: more time, two or more workers only
    when fewer are used, the fast search only in deterministic mode; pruning for large
    instances that do not prune (instead of the rest when the model is too large for
    CP-SAT, which then never ran); and, without a plan, the minimum faces (and spacing)
    the heuristic could not meet.
    """
    limit = f"{solver.time_limit:g} s"
    unpruned = solver.candidates_per_face <= 0
    if fallback:
        lines = [
            f"The solver found no plan within {limit}, so this is the construction "
            "heuristic's plan (greedy + repair, then local search): it keeps every rule "
            "(checked), but CP-SAT did not get to improve it; its gap is against the bound "
            "given."
        ]
    else:
        lines = [f"No plan was found within {limit}."]
    if unpruned and _model_size(inst, "revenue", solver) > CP_SAT_MAX_CANDIDATES:
        changes = [
            f"prune the candidates (candidates per face 3) so that CP-SAT can search them "
            f"({inst.n_candidates:,} are too many)"
        ]
    else:
        changes = [f"allow more time than {limit}"]
        if solver.workers < 2 and not solver.deterministic:  # one worker when reproducible
            changes.append(f"use 2 or more workers (now {solver.workers})")
        if solver.deterministic:
            changes.append("use the fast search (not reproducible run to run)")
        if unpruned and inst.n_candidates > 200_000:
            changes.append("prune the candidates (candidates per face 3)")
    if not fallback:
        short = _short_minimums(inst, start)
        if short:
            lines.append("The construction heuristic could not meet: " + "; ".join(short) + ".")
            changes.append("relax those minimum faces or their spacing")
        elif inst.required_sales_pence > inst.cand_price[start].sum():
            changes.append("lower the revenue target")
    lines.append("To get a plan: " + "; ".join(changes) + ".")
    return lines


def _short_minimums(inst: Instance, chosen: np.ndarray, most: int = 5) -> list[str]:
    """Name the (up to ``most``) campaign-cycles whose minimum faces ``chosen`` misses."""
    booked = Counter(
        zip(inst.cand_campaign[chosen].tolist(), inst.cand_cycle[chosen].tolist(), strict=True)
    )
    out = []
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            if booked[(c, t)] < camp.min_faces:
                spacing = f", {camp.min_spacing_m:g} m apart," if camp.min_spacing_m else ""
                out.append(
                    f"{camp.campaign_id} needs {camp.min_faces} faces{spacing} in cycle {t} "
                    f"(found {booked[(c, t)]})"
                )
    return out[:most] + ([f"and {len(out) - most} more"] if len(out) > most else [])


def _monotone(progress: Progress | None) -> Progress | None:
    """Wrap ``progress`` so that the fraction it reports never goes back.

    The steps (construction, improvement, CP-SAT stages) each report on their own share of
    the bar; a solver callback may start below a step already reported.
    """
    if progress is None:
        return None
    report = progress
    done = [0.0]

    def monotone(fraction: float, message: str) -> None:
        done[0] = max(done[0], fraction)
        report(done[0], message)

    return monotone


def _say(progress: Progress | None, fraction: float, message: str) -> None:
    """Report progress when there is someone to report to."""
    if progress is not None:
        progress(fraction, message)


def _model_size(inst: Instance, name: str, solver: SolverSettings) -> int:
    """Return the candidates CP-SAT's model would have: all, or those pruning keeps.

    Pruning keeps each campaign's best ``candidates_per_face * max_faces`` per cycle (and
    the starting plan, not counted here).
    """
    if solver.candidates_per_face <= 0 or not inst.n_candidates:
        return inst.n_candidates
    room = np.array([np.ceil(solver.candidates_per_face * c.max_faces) for c in inst.campaigns])
    ranks = slot_ranks(inst, -candidate_values(inst, name))
    return int((ranks < room[inst.cand_campaign]).sum())


def _heuristic_result(inst: Instance, objective: Objective, chosen, values) -> SolveResult:
    """Return the heuristic's plan as the answer (``FEASIBLE``, bounded by `_bound`)."""
    value = _stage_value(inst, objective.order[-1], chosen, chosen)
    return SolveResult(
        chosen, "FEASIBLE", value, math.nan, math.nan, 0, values=dict(values), method=HEURISTIC
    )


def _kept(inst: Instance, name: str, hint: np.ndarray | None, solver: SolverSettings):
    """Return the candidates ``candidates_per_face`` keeps (sorted), or None to keep them all.

    Only with a starting plan that keeps every rule (``hint``): it is then a plan of the
    reduced problem too.
    """
    if solver.candidates_per_face <= 0 or not inst.n_candidates or hint is None:
        return None
    rng = np.random.default_rng(solver.seed)
    order = np.lexsort((rng.random(inst.n_candidates), -candidate_values(inst, name)))
    position = np.empty(inst.n_candidates, dtype=np.int64)
    position[order] = np.arange(inst.n_candidates)
    room = np.array([np.ceil(solver.candidates_per_face * c.max_faces) for c in inst.campaigns])
    keep = slot_ranks(inst, position) < room[inst.cand_campaign]
    keep[hint] = True
    keep[inst.locked] = True
    return None if keep.all() else np.flatnonzero(keep)


def _solve_stages(
    inst, objective, solver, start, hint, progress, timings, keep=None, seconds=None
) -> SolveResult:
    """Solve each stage of the objective in turn, keeping the previous stage's value.

    ``start`` is the heuristic's plan (it normalises a blend's terms) and ``hint`` the
    same plan when it keeps every rule, else None (an infeasible hint slows CP-SAT
    down). A stage that ends without a solution keeps the previous stage's plan
    (FEASIBLE); the first stage without one is ``TIME_LIMIT``. With ``keep``, the model
    has only those candidates (they include ``hint``). CP-SAT gets ``seconds`` (the time
    limit when None). Adds the ``model`` and ``search`` seconds to ``timings``.
    """
    if keep is not None and hint is not None:
        result = _solve_stages(
            restrict(inst, keep),
            objective,
            solver,
            np.searchsorted(keep, start),
            np.searchsorted(keep, hint),
            progress,
            timings,
            seconds=seconds,
        )
        if result.status != "INFEASIBLE":
            result.chosen, result.pruned = keep[result.chosen], inst.n_candidates - len(keep)
            return result
    clock = time.perf_counter()
    built = build_model(inst, objectives=objective.names)
    timings["model"] = time.perf_counter() - clock
    clock = time.perf_counter()
    try:
        limit = solver.time_limit if seconds is None else seconds
        return _search(built, inst, objective, solver, start, hint, progress, limit)
    finally:
        timings["search"] = time.perf_counter() - clock


def _search(built, inst, objective, solver, start, hint, progress, seconds) -> SolveResult:
    """Run CP-SAT on each stage of the objective, hinted with the best plan so far.

    Each stage gets an equal share of ``seconds``; after a stage, ``stage value >=
    its optimum found`` is added before the next objective is set. In deterministic
    mode a stage that the wall-clock watchdog stopped makes the result not reproducible.
    """
    plan = None if hint is None else np.zeros(inst.n_candidates, dtype=bool)
    if plan is not None:
        plan[hint] = True
    share = 0.95 / len(objective.order)
    best: tuple[str, float, float] | None = None
    reproducible = solver.deterministic
    for i, stage in enumerate(objective.order):
        _set_objective(built, inst, stage, start)
        _set_hint(built, inst, plan)
        cp = _solver(solver, seconds / len(objective.order))
        watch = _Progress(progress, cp.parameters.max_time_in_seconds, 0.05 + i * share, share)
        code = cp.solve(built.model, watch)
        if solver.deterministic and code not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            reproducible = reproducible and not _watchdog_fired(cp)
        if code == cp_model.INFEASIBLE and best is None:
            return SolveResult(np.empty(0, np.int64), "INFEASIBLE", 0, 0, 0, 0)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if best is not None:
                best = ("FEASIBLE", best[1], best[2])
            break
        best = (cp.status_name(code), cp.objective_value, cp.best_objective_bound)
        plan = np.asarray(cp.response_proto.solution, dtype=np.int64)[_indices(built.x)] > 0
        if i + 1 < len(objective.order):
            # Keep this stage's value while optimising the next.
            lits, coefs = _stage_terms(built, inst, stage, start)
            _add_at_least(built.model, lits, coefs, round(cp.objective_value))
            built.model.clear_objective()
    if best is None or plan is None:
        return SolveResult(
            np.empty(0, np.int64), "TIME_LIMIT", 0, math.nan, math.nan, 0,
            reproducible=reproducible,
        )  # fmt: skip
    status, objective_v, bound = best
    chosen = np.flatnonzero(plan)
    gap = 0.0 if status == "OPTIMAL" or bound <= 0 else max(0.0, (bound - objective_v) / bound)
    values = {n: objective_value(inst, chosen, n) for n in objective.names}
    return SolveResult(
        chosen, status, objective_v, bound, gap, 0, values=values, reproducible=reproducible
    )


def _watchdog_fired(cp: cp_model.CpSolver) -> bool:
    """Tell whether the wall-clock limit, not the deterministic one, stopped a search.

    Only meaningful in deterministic mode, where the wall-clock limit is a safety stop.
    """
    params = cp.parameters
    spent = cp.response_proto.deterministic_time
    return spent < params.max_deterministic_time and (
        cp.wall_time >= params.max_time_in_seconds - 1e-3
    )


def _solver(settings: SolverSettings, seconds: float) -> cp_model.CpSolver:
    """Return a CP-SAT solver with the settings' workers, seed and a ``seconds`` limit."""
    cp = cp_model.CpSolver()
    params = cp.parameters
    params.num_workers = settings.workers
    params.random_seed = settings.seed
    params.log_search_progress = settings.log
    params.max_time_in_seconds = seconds
    # Spacing and competitor pairs make thousands of overlapping at-most-one groups; full
    # presolve spends seconds merging them for no gain in the bound (measured on the demo:
    # 9.9 s of presolve, bound 19x the optimum, against 0.5 s and a bound 12% above).
    params.max_presolve_iterations = 1
    # Lighter presolve still: on the Greenwich benchmark (60,000 candidates) presolve takes
    # 3.9 CPU s by default, 1.7 s with one iteration and 0.8 s with these three off too,
    # for the same or better bounds there and on the demo (revenue gap 7.8% against 9.9%).
    params.find_big_linear_overlap = False
    params.symmetry_level = 0
    params.cp_model_probing_level = 0
    if settings.deterministic:
        # One worker and deterministic time keep results reproducible; the wall clock is
        # only a safety stop. Interleaved parallel search (the other deterministic mode)
        # overshot its limit fourfold on the borough benchmark: 3 deterministic seconds
        # asked, 11.8 spent, 78 s of wall clock; one worker spent exactly 3 in 17 s.
        params.num_workers = 1
        params.max_deterministic_time = seconds * DETERMINISTIC_PER_SECOND
        params.max_time_in_seconds = WATCHDOG * seconds + SAFETY_SLACK
    return cp


def _references(inst: Instance, greedy: np.ndarray, names) -> dict[str, float]:
    """Return the greedy plan's value of each term (1 where it is 0), to normalise a blend."""
    refs = {}
    for name in names:
        value = objective_value(inst, greedy, name)
        refs[name] = float(value) if value > 0 else 1.0
    return refs


def _indices(variables) -> np.ndarray:
    """Return the proto indices of a list of variables (read once for `BoolVars`)."""
    indices = getattr(variables, "indices", None)
    if indices is not None:
        return indices
    return np.array([v.index for v in variables], dtype=np.int64)


def _stage_terms(built: PlacementModel, inst: Instance, stage, greedy):
    """Return one stage's objective as (variable indices, integer coefficients).

    A blend normalises each term by its greedy value before the weights apply.
    """
    if len(stage) == 1:
        variables, coefs = built.terms[stage[0][0]]
        return _indices(variables), np.asarray(coefs, dtype=np.int64)
    refs = _references(inst, greedy, [n for n, _ in stage])
    total = sum(w for _, w in stage)
    lits, weights = [], []
    for name, weight in stage:
        variables, coefs = built.terms[name]
        lits.append(_indices(variables))
        weights.append(np.asarray(coefs, dtype=float) * (_SCALE * weight / total / refs[name]))
    unique, where = np.unique(np.concatenate(lits), return_inverse=True)
    summed = np.rint(np.bincount(where, weights=np.concatenate(weights))).astype(np.int64)
    return unique[summed != 0], summed[summed != 0]


def _add_at_least(model: cp_model.CpModel, lits, coefs, value: int) -> None:
    """Add ``sum coefs * lits >= value`` straight into the model proto."""
    ct = model.proto.constraints.add()
    ct.linear.vars.extend(lits.tolist())
    ct.linear.coeffs.extend(coefs.tolist())
    ct.linear.domain.extend([int(value), cp_model.INT_MAX])


def _set_objective(built: PlacementModel, inst: Instance, stage, greedy) -> None:
    """Make ``stage`` the model's objective (to maximise), with its ceiling when known."""
    lits, coefs = _stage_terms(built, inst, stage, greedy)
    built.model.clear_objective()
    # Maximise as CpModel.maximize writes it (minimise the negated sum, scaling -1), but
    # from arrays: a Python expression over millions of terms is slow to build.
    objective = built.model.proto.objective
    objective.vars.extend(lits.tolist())
    objective.coeffs.extend((-coefs).tolist())
    objective.scaling_factor = -1
    ceiling = objective_ceiling(inst, stage[0][0]) if len(stage) == 1 else None
    if ceiling is not None:
        # A valid bound known up front: a warm start that reaches it is proven optimal
        # without waiting for the linear relaxation (budget-bound plans often do).
        objective.domain.extend([-ceiling, 0])


def _set_hint(built: PlacementModel, inst: Instance, hint: np.ndarray | None) -> None:
    """Hint the model completely: every candidate, and every coverage variable it implies.

    A complete hint lets CP-SAT start from a known feasible solution at once; None
    leaves the model without a hint.
    """
    built.model.clear_hints()
    if hint is None:
        return
    lits, values = _indices(built.x), hint.astype(np.int64)
    if built.coverage:
        covered: set[tuple[int, int]] = set()
        for k in np.flatnonzero(hint):
            c = int(inst.cand_campaign[k])
            covered.update((int(z), c) for z in inst.asset_zones[inst.cand_asset[k]])
        lits = np.concatenate([lits, [v.index for v in built.coverage.values()]])
        values = np.concatenate([values, [int(key in covered) for key in built.coverage]])
    built.model.proto.solution_hint.vars.extend(lits.tolist())
    built.model.proto.solution_hint.values.extend(values.tolist())
