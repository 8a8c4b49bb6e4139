"""Solve a placement instance: greedy warm start, CP-SAT, explanation of infeasibility.

`solve_instance` returns the chosen candidates with status, objective, bound and gap; an
infeasible instance is explained in words by naming the conflicting rules, found as
CP-SAT's sufficient assumptions for infeasibility over named constraint groups. The CP-SAT
model is warm-started with a complete hint from the greedy plan, its objective domain is
capped by a bound known up front (`planner.optimise.model.objective_ceiling`), and a
lexicographic objective is solved stage by stage, each keeping the previous stage's value.
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
from planner.optimise.explain import explain_infeasible, quick_explanation, unplaceable
from planner.optimise.greedy import greedy_plan
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
            if name not in ("revenue", "impacts", "reach") or w <= 0:
                raise PlannerError(
                    f"Objective '{text}' is not understood: use revenue, "
                    "impacts, reach, a blend such as revenue=0.7+reach=0.3, "
                    "or an order such as revenue>reach"
                )
            terms.append((name, w))
        if not terms:
            raise PlannerError(f"Objective '{text}' is empty; use revenue, impacts or reach")
        stages.append(tuple(terms))
    return Objective(tuple(stages))


@dataclass
class SolveResult:
    """What the solver found.

    Attributes
    ----------
    chosen
        Indices of the chosen candidates (empty when no plan).
    status
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE`` or ``UNKNOWN`` (time out, no plan).
    objective, bound, gap
        Objective value of the last stage, its best proven bound, and the relative gap
        ``(bound - objective) / bound`` (0 when optimal). A blended stage is in scaled
        units; after a greedy fallback the bound and gap are NaN.
    seconds
        Wall-clock seconds of the whole solve.
    values
        Every objective term's value (revenue in pence, impacts, reach).
    greedy_values
        The same for the greedy warm start.
    explanation
        Why no plan exists, in words (for ``INFEASIBLE`` and ``UNKNOWN``).
    method
        ``cp-sat``, ``pre-check`` (infeasible before any search) or ``greedy (solver
        timed out)``.
    timings
        Wall seconds of each step: ``greedy`` (the warm start), ``model`` (building the
        CP-SAT model) and ``search``.
    pruned
        Candidates left out by ``SolverSettings.candidates_per_face``; when above 0, the
        bound and gap are those of the problem on the candidates kept.
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
    """Plan an instance: quick checks, greedy warm start, then CP-SAT.

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
        rule groups CP-SAT finds in conflict. When CP-SAT finds no plan in time but the
        greedy plan breaks no rule, that plan is returned as ``FEASIBLE`` with method
        ``greedy (solver timed out)``.

    Raises
    ------
    PlannerError
        When the objective cannot be parsed, ``time_limit`` is not a finite number of
        seconds above 0, or ``workers`` is below 1.
    """
    objective = parse_objective(objective) if isinstance(objective, str) else objective
    if not 0 < solver.time_limit < math.inf or solver.workers < 1:
        raise PlannerError(
            "The time limit must be a number of seconds above 0 and workers at least 1; got "
            f"time_limit={solver.time_limit!r}, workers={solver.workers!r}"
        )
    started = time.perf_counter()
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
    clock = time.perf_counter()
    greedy = greedy_plan(inst, first)
    timings = {"greedy": time.perf_counter() - clock}
    greedy_values = {n: objective_value(inst, greedy, n) for n in objective.names}
    _say(progress, 0.05, "greedy warm start ready")
    keep = _kept(inst, first, greedy, solver)
    result = _solve_stages(inst, objective, solver, greedy, progress, timings, keep)
    result.greedy_values = greedy_values
    result.timings = timings
    # Checked only when needed: the check is slow on large plans.
    if result.status == "UNKNOWN" and not plan_violations(inst, greedy):
        result.chosen, result.status, result.method = (
            greedy,
            "FEASIBLE",
            "greedy (solver timed out)",
        )
        result.values = greedy_values
        result.objective = float(sum(w * greedy_values[n] for n, w in objective.order[-1]))
        result.bound = result.gap = float("nan")
    if result.status == "INFEASIBLE":
        result.explanation = explain_infeasible(inst, solver)
    elif result.status == "UNKNOWN":
        result.explanation = [
            f"No plan was found within {solver.time_limit:g} s. Allow more time, use at least "
            "2 workers, or relax the tightest requirements (minimum faces, revenue target, "
            "spacing)."
        ]
    result.seconds = time.perf_counter() - started
    _say(progress, 1.0, f"done: {result.status.lower()}")
    return result


def _say(progress: Progress | None, fraction: float, message: str) -> None:
    """Report progress when there is someone to report to."""
    if progress is not None:
        progress(fraction, message)


def _kept(inst: Instance, name: str, greedy: np.ndarray, solver: SolverSettings):
    """Return the candidates ``candidates_per_face`` keeps (sorted), or None to keep them all.

    Only when the greedy plan meets every minimum: it is then a plan of the reduced problem.
    """
    if solver.candidates_per_face <= 0 or not inst.n_candidates:
        return None
    booked = Counter(
        zip(inst.cand_campaign[greedy].tolist(), inst.cand_cycle[greedy].tolist(), strict=True)
    )
    if any(
        booked[(c, t)] < camp.min_faces
        for c, camp in enumerate(inst.campaigns)
        for t in camp.cycles
    ):
        return None
    rng = np.random.default_rng(solver.seed)
    order = np.lexsort((rng.random(inst.n_candidates), -candidate_values(inst, name)))
    position = np.empty(inst.n_candidates, dtype=np.int64)
    position[order] = np.arange(inst.n_candidates)
    room = np.array([np.ceil(solver.candidates_per_face * c.max_faces) for c in inst.campaigns])
    keep = slot_ranks(inst, position) < room[inst.cand_campaign]
    keep[greedy] = True
    keep[inst.locked] = True
    return None if keep.all() else np.flatnonzero(keep)


def _solve_stages(inst, objective, solver, greedy, progress, timings, keep=None) -> SolveResult:
    """Solve each stage of the objective in turn, keeping the previous stage's value.

    A stage that ends without a solution keeps the previous stage's plan (FEASIBLE); the
    first stage without one leaves the caller to fall back on the greedy plan. With
    ``keep``, the model has only those candidates. Adds the ``model`` and ``search``
    seconds to ``timings``.
    """
    if keep is not None:
        result = _solve_stages(
            restrict(inst, keep),
            objective,
            solver,
            np.searchsorted(keep, greedy),
            progress,
            timings,
        )
        if result.status != "INFEASIBLE":
            result.chosen, result.pruned = keep[result.chosen], inst.n_candidates - len(keep)
            return result
    clock = time.perf_counter()
    built = build_model(inst, objectives=objective.names)
    timings["model"] = time.perf_counter() - clock
    clock = time.perf_counter()
    try:
        return _search(built, inst, objective, solver, greedy, progress)
    finally:
        timings["search"] = time.perf_counter() - clock


def _search(built, inst, objective, solver, greedy, progress) -> SolveResult:
    """Run CP-SAT on each stage of the objective, hinted with the best plan so far.

    Each stage gets an equal share of the time limit; after a stage, ``stage value >=
    its optimum found`` is added before the next objective is set.
    """
    hint = np.zeros(inst.n_candidates, dtype=bool)
    hint[greedy] = True
    share = 0.95 / len(objective.order)
    best: tuple[str, float, float] | None = None
    for i, stage in enumerate(objective.order):
        _set_objective(built, inst, stage, greedy)
        _set_hint(built, inst, hint)
        cp = _solver(solver, solver.time_limit / len(objective.order))
        watch = _Progress(progress, cp.parameters.max_time_in_seconds, 0.05 + i * share, share)
        code = cp.solve(built.model, watch)
        if code == cp_model.INFEASIBLE and best is None:
            return SolveResult(np.empty(0, np.int64), "INFEASIBLE", 0, 0, 0, 0)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if best is not None:
                best = ("FEASIBLE", best[1], best[2])
            break
        best = (cp.status_name(code), cp.objective_value, cp.best_objective_bound)
        hint = np.asarray(cp.response_proto.solution, dtype=np.int64)[_indices(built.x)] > 0
        if i + 1 < len(objective.order):
            # Keep this stage's value while optimising the next.
            lits, coefs = _stage_terms(built, inst, stage, greedy)
            _add_at_least(built.model, lits, coefs, round(cp.objective_value))
            built.model.clear_objective()
    if best is None:
        return SolveResult(np.empty(0, np.int64), "UNKNOWN", 0, 0, 0, 0)
    status, objective_v, bound = best
    chosen = np.flatnonzero(hint)
    gap = 0.0 if status == "OPTIMAL" or bound <= 0 else max(0.0, (bound - objective_v) / bound)
    values = {n: objective_value(inst, chosen, n) for n in objective.names}
    return SolveResult(chosen, status, objective_v, bound, gap, 0, values=values)


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
        # Deterministic time keeps results reproducible; the wall clock is only a watchdog.
        params.interleave_search = True
        params.max_deterministic_time = seconds
        params.max_time_in_seconds = 2 * seconds + 5
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


def _set_hint(built: PlacementModel, inst: Instance, hint: np.ndarray) -> None:
    """Hint the model completely: every candidate, and every coverage variable it implies.

    A complete hint lets CP-SAT start from a known feasible solution at once.
    """
    built.model.clear_hints()
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
