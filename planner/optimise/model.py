"""The CP-SAT placement model: variables for eligible candidates, every rule, the objectives.

Ethics holds by construction: a variable exists only for an (asset, campaign, cycle) the
policy and the campaign's targeting allow. The rules live in `planner.optimise.constraints`.
Objectives are integer terms: revenue in pence, impacts weighted by campaign priority, and
reach as maximal covering of demand zones (Church & ReVelle 1974).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from planner.errors import PlannerError
from planner.optimise import constraints as rules
from planner.optimise.instance import Instance, slot_ranks

__all__ = [
    "OBJECTIVES",
    "BoolVars",
    "PlacementModel",
    "build_model",
    "candidate_values",
    "objective_ceiling",
    "objective_value",
]

OBJECTIVES = ("revenue", "impacts", "reach")
_RULES = (
    rules.add_face_capacity,
    rules.add_campaign_budget,
    rules.add_faces_per_cycle,
    rules.add_min_spacing,
    rules.add_competitor_separation,
    rules.add_density_rule,
    rules.add_category_share,
    rules.add_revenue_target,
    rules.add_locked_placements,
)


class BoolVars(Sequence):
    """Consecutive Boolean variables of a model, as a sequence made on demand.

    Large models have millions of candidates: the variables are added to the model in one
    call and a Python object is made only for the ones that are read; ``indices`` gives
    their proto indices for rules written straight into the model.

    Examples
    --------
    >>> x = BoolVars.add(cp_model.CpModel(), 3)
    >>> len(x), x.indices.tolist()
    (3, [0, 1, 2])
    """

    def __init__(self, model: cp_model.CpModel, start: int, n: int) -> None:
        """Wrap the ``n`` variables of ``model`` from proto index ``start`` on."""
        self.model = model
        self.indices = np.arange(start, start + n, dtype=np.int64)

    @classmethod
    def add(cls, model: cp_model.CpModel, n: int) -> BoolVars:
        """Add ``n`` new Boolean variables to ``model``.

        Parameters
        ----------
        model
            The model to add to.
        n
            Number of variables (one per candidate).

        Returns
        -------
        BoolVars
            The new variables, proto indices consecutive from the model's variable count.
        """
        start = len(model.proto.variables)
        if n:
            # One text-format merge is several times faster than n calls of new_bool_var.
            model.proto.merge_text_format("variables { domain: [0, 1] }\n" * n)
        return cls(model, start, n)

    def __len__(self) -> int:
        """Return the number of variables."""
        return len(self.indices)

    def __getitem__(self, k):
        """Return variable ``k`` as a CP-SAT literal, or a list of them for a slice."""
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        return self.model.get_bool_var_from_proto_index(int(self.indices[k]))


@dataclass
class PlacementModel:
    """A built model: its variables, objective terms and named constraint groups.

    Attributes
    ----------
    model
        The CP-SAT model, rules added, no objective set (the caller sets it).
    x
        Boolean variable of each candidate, shape (n_candidates,).
    terms
        Objective name -> (variables, integer coefficients): ``revenue`` (pence) and
        ``impacts`` over ``x``, and ``reach`` over the coverage variables when built.
    coverage
        ``(zone, campaign index) -> Boolean`` that may be 1 only when a chosen face of
        the campaign is within walking distance of the zone (reach objective only).
    guards
        Constraint group key -> (assumption literal, words), filled when built with
        ``explain=True`` (see `planner.optimise.explain.explain_infeasible`).
    """

    model: cp_model.CpModel
    x: BoolVars
    terms: dict[str, tuple[Sequence, np.ndarray]]
    coverage: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    guards: dict[str, tuple[cp_model.IntVar, str]] = field(default_factory=dict)


def build_model(
    inst: Instance, *, objectives: tuple[str, ...] = ("revenue",), explain: bool = False
) -> PlacementModel:
    """Build the CP-SAT model of an instance.

    Parameters
    ----------
    inst
        The solver-ready instance.
    objectives
        Objective terms to build (``revenue``, ``impacts``, ``reach``); the caller sets
        the objective from them.
    explain
        Put every constraint group behind an assumption literal, to explain infeasibility.

    Returns
    -------
    PlacementModel
        The model with every rule of `planner.optimise.constraints` added, in the order
        capacity, budget, faces per cycle, spacing, competitors, density, share, revenue
        target, locked placements.

    Raises
    ------
    PlannerError
        When an objective name is unknown, or ``reach`` is asked for without demand
        zones.
    """
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown:
        raise PlannerError(f"Unknown objective '{unknown[0]}'; use one of {', '.join(OBJECTIVES)}")
    model = cp_model.CpModel()
    x = BoolVars.add(model, inst.n_candidates)
    guards: dict[str, tuple[cp_model.IntVar, str]] = {}

    def guard(key: str, words: str):
        """Return the assumption literal of group ``key`` (made once), or None."""
        if not explain:
            return None
        if key not in guards:
            guards[key] = (model.new_bool_var(f"g_{key}"), words)
        return guards[key][0]

    for add in _RULES:
        add(model, x, inst, guard)
    if explain:
        model.add_assumptions([lit for lit, _ in guards.values()])
    terms: dict[str, tuple[Sequence, np.ndarray]] = {
        "revenue": (x, inst.cand_price.astype(np.int64)),
        "impacts": (x, _weighted_impacts(inst)),
    }
    built = PlacementModel(model, x, terms, guards=guards)
    if "reach" in objectives:
        built.terms["reach"] = _reach_term(built, inst)
    return built


def _weighted_impacts(inst: Instance) -> np.ndarray:
    """Return each candidate's impacts per cycle times its campaign's priority."""
    priority = np.array([c.priority for c in inst.campaigns], dtype=np.int64)
    return (
        inst.cand_impacts * priority[inst.cand_campaign]
        if inst.n_candidates
        else (np.empty(0, np.int64))
    )


def _reach_term(built: PlacementModel, inst: Instance) -> tuple[list, np.ndarray]:
    """Build the maximal-covering reach term: population of zones within walking distance of a face.

    ``cover[z,c] <= sum_{k of c covering z} x_k``; reach = ``sum pop_z * priority_c *
    cover[z,c]`` — each zone counts once per campaign, however many faces reach it. The
    maximal covering location problem of Church & ReVelle (1974), one cover variable per
    (zone, campaign) pair some candidate reaches; fills ``built.coverage``.

    Raises
    ------
    PlannerError
        When the instance has no demand zones.
    """
    if not inst.asset_zones:
        raise PlannerError("The reach objective needs demand zones (a layer with population)")
    covering: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, (a, c) in enumerate(zip(inst.cand_asset, inst.cand_campaign, strict=True)):
        for z in inst.asset_zones[a]:
            covering[(int(z), int(c))].append(k)
    coefs, cover_vars = [], []
    for (z, c), ks in covering.items():
        var = built.model.new_bool_var(f"cover_{z}_{c}")
        built.model.add_bool_or([built.x[k] for k in ks]).only_enforce_if(var)
        built.coverage[(z, c)] = var
        cover_vars.append(var)
        coefs.append(int(inst.zone_pop[z]) * inst.campaigns[c].priority)
    return cover_vars, np.array(coefs, dtype=np.int64)


def candidate_values(inst: Instance, name: str) -> np.ndarray:
    """Return each candidate's value on its own, for greedy scores and bounds.

    Its price, its priority-weighted impacts, or (reach) the priority-weighted population
    within walking distance, before de-duplication: two faces reaching one zone both
    count it here.

    Parameters
    ----------
    inst
        The instance.
    name
        ``revenue``, ``impacts`` or ``reach``.

    Returns
    -------
    numpy.ndarray
        Value of each candidate, shape (n_candidates,), ``int64``: pence per cycle,
        impacts per cycle times priority, or people times priority (all 0 for reach
        without zones).

    Raises
    ------
    PlannerError
        When ``name`` is not one of the three objectives.
    """
    if name == "revenue":
        return inst.cand_price.astype(np.int64)
    if name == "impacts":
        return _weighted_impacts(inst)
    if name == "reach":
        if not inst.asset_zones:
            return np.zeros(inst.n_candidates, dtype=np.int64)
        pops = np.array([inst.zone_pop[z].sum() for z in inst.asset_zones], dtype=np.int64)
        priority = np.array([c.priority for c in inst.campaigns], dtype=np.int64)
        return pops[inst.cand_asset] * priority[inst.cand_campaign]
    raise PlannerError(f"Unknown objective '{name}'")


def objective_ceiling(inst: Instance, name: str) -> int | None:
    """Bound ``revenue`` or ``impacts`` from above by each campaign on its own.

    A campaign earns at most its ``max_faces`` best candidates in each of its cycles and,
    for revenue, at most its budget (rounded down to what its prices can add up to); every
    other rule can only lower that. `planner.optimise.solve` puts the bound into the
    objective's domain, so a warm start that reaches it is proven optimal at once.

    Parameters
    ----------
    inst
        The instance.
    name
        Objective name.

    Returns
    -------
    int or None
        The bound (pence for revenue, priority-weighted impacts), or None for ``reach``
        or an unknown name.

    Examples
    --------
    >>> objective_ceiling(inst, "revenue") >= objective_value(inst, greedy_plan(inst), "revenue")
    True
    """
    if name not in ("revenue", "impacts"):
        return None
    values = candidate_values(inst, name)
    max_faces = np.array([c.max_faces for c in inst.campaigns], dtype=np.int64)
    top = slot_ranks(inst, -values) < max_faces[inst.cand_campaign]
    per_campaign = np.zeros(len(inst.campaigns), dtype=np.int64)
    np.add.at(per_campaign, inst.cand_campaign[top], values[top])
    if name == "revenue":
        per_campaign = np.minimum(per_campaign, _spendable(inst))
    return int(per_campaign.sum())


def _spendable(inst: Instance) -> np.ndarray:
    """Return the most each campaign can spend, in pence, shape (n_campaigns,).

    Its budget rounded down to a multiple of the greatest common divisor of its prices
    (with one price, a whole number of faces).
    """
    step = np.zeros(len(inst.campaigns), dtype=np.int64)
    np.gcd.at(step, inst.cand_campaign, inst.cand_price.astype(np.int64))
    step = np.maximum(step, 1)
    return inst.budget_pence // step * step


def objective_value(inst: Instance, chosen: np.ndarray, name: str) -> int:
    """Return the value of an objective for a set of chosen candidates (solver-independent).

    Parameters
    ----------
    inst
        The instance.
    chosen
        Chosen candidate indices, shape (n_chosen,).
    name
        ``revenue``, ``impacts`` or ``reach``.

    Returns
    -------
    int
        Revenue in pence, priority-weighted impacts per cycle summed over the plan, or
        reach: priority-weighted population, each zone counted once per campaign.

    Raises
    ------
    PlannerError
        When ``name`` is not one of the three objectives.
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    if name == "revenue":
        return int(inst.cand_price[chosen].sum())
    if name == "impacts":
        return int(_weighted_impacts(inst)[chosen].sum()) if len(chosen) else 0
    if name == "reach":
        return int(sum(reach_by_campaign(inst, chosen).values()))
    raise PlannerError(f"Unknown objective '{name}'")


def reach_by_campaign(inst: Instance, chosen: np.ndarray) -> dict[int, int]:
    """Return the priority-weighted population each campaign reaches with the chosen faces.

    A zone counts once per campaign, however many of its faces are within walking
    distance (``settings.walk_m``) of it.

    Parameters
    ----------
    inst
        The instance (empty result without demand zones).
    chosen
        Chosen candidate indices, shape (n_chosen,).

    Returns
    -------
    dict
        Campaign index -> people reached times the campaign's priority; campaigns with
        no chosen face are left out.
    """
    zones: dict[int, set[int]] = defaultdict(set)
    if not inst.asset_zones:
        return {}
    for k in np.asarray(chosen, dtype=np.int64):
        zones[int(inst.cand_campaign[k])].update(inst.asset_zones[inst.cand_asset[k]].tolist())
    return {
        c: int(inst.zone_pop[list(z)].sum()) * inst.campaigns[c].priority for c, z in zones.items()
    }
