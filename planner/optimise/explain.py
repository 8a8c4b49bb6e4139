"""Why a plan is impossible, in words: quick checks and CP-SAT's conflicting rule groups.

`unplaceable` finds campaigns that cannot be placed whatever else happens (too few eligible
faces, a budget below the cheapest minimum); `explain_infeasible` names the groups of rules
that conflict, from CP-SAT's sufficient assumptions for infeasibility.
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from planner.calendar import cycle_dates
from planner.optimise.instance import Instance
from planner.optimise.model import build_model, objective_ceiling
from planner.optimise.money import to_major
from planner.optimise.settings import SolverSettings

__all__ = ["explain_infeasible", "quick_explanation", "unplaceable"]


def quick_explanation(inst: Instance) -> list[str]:
    """List conflicts visible without a solver.

    Too few eligible faces or a budget too small for a campaign (`unplaceable`), rivals
    whose minimums need more assets than they have, and a revenue target above what the
    campaigns can pay.

    Parameters
    ----------
    inst
        The instance.

    Returns
    -------
    list of str
        The messages of `unplaceable`, one per campaign and reason; empty when none is
        found (the plan may still be infeasible through rules that interact).
    """
    messages = [message for _, message in unplaceable(inst)]
    return messages + _rivals_short(inst) + _target_out_of_reach(inst)


def _most_demanding(inst: Instance, most: int = 3) -> str:
    """Name the campaign-cycles whose minimum faces take the largest share of their supply."""
    rows = []
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            have = inst.eligible_counts.get((c, t), 0)
            if camp.min_faces and have:
                rows.append((camp.min_faces / have, c, t, have))
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    words = []
    for _, c, t, have in rows[:most]:
        camp = inst.campaigns[c]
        apart = f", {camp.min_spacing_m:g} m apart," if camp.min_spacing_m else ""
        words.append(
            f"{camp.campaign_id} needs {camp.min_faces} faces{apart} in cycle {t} ({have} eligible)"
        )
    return " The most demanding minimums: " + "; ".join(words) + "." if words else ""


def _rivals_short(inst: Instance) -> list[str]:
    """Name competitor groups whose minimums in a cycle need more assets than they have.

    Rival campaigns never share an asset in a cycle (competitor separation), and a
    campaign books at most one face of an asset a cycle, so the group's minimum faces
    in a cycle cannot exceed the assets eligible to any of them.
    """
    groups: dict[str, list[int]] = {}
    for c, camp in enumerate(inst.campaigns):
        if camp.competitor_group:
            groups.setdefault(camp.competitor_group, []).append(c)
    out = []
    for name, camps in groups.items():
        if len(camps) < 2:
            continue
        for t in sorted({t for c in camps for t in inst.campaigns[c].cycles}):
            members = [c for c in camps if t in inst.campaigns[c].cycles]
            need = sum(inst.campaigns[c].min_faces for c in members)
            mine = np.isin(inst.cand_campaign, members) & (inst.cand_cycle == t)
            have = len(np.unique(inst.cand_asset[mine]))
            if len(members) > 1 and need > have:
                ids = ", ".join(inst.campaigns[c].campaign_id for c in members)
                out.append(
                    f"Competitor group '{name}' ({ids}) needs {need} faces in cycle {t}, "
                    f"but rivals may not share an asset and only {have} assets are eligible "
                    "to any of them: lower their minimum faces or put them in different "
                    "cycles."
                )
    return out


def _target_out_of_reach(inst: Instance) -> list[str]:
    """Name a revenue target above what the campaigns can pay at most.

    The most is the per-campaign ceiling (`planner.optimise.model.objective_ceiling`):
    no campaign pays more than its budget, nor more than its dearest ``max_faces``
    candidates in each cycle.
    """
    if inst.required_sales_pence <= 0:
        return []
    most = objective_ceiling(inst, "revenue")
    if most is None or inst.required_sales_pence <= most:
        return []
    return [
        f"The council's revenue target of {inst.settings.revenue_target:,.0f} needs gross "
        f"sales of {to_major(inst.required_sales_pence):,.0f} in the plan's cycles, but the "
        f"campaigns can pay at most {to_major(int(most)):,.0f} (their "
        "budgets, and their dearest maximum faces each cycle): lower the target or add "
        "campaigns."
    ]


def unplaceable(inst: Instance) -> list[tuple[int, str]]:
    """Find campaigns that cannot be placed whatever else happens, each with the reason.

    Two checks per campaign: a cycle with fewer eligible faces than ``min_faces`` (with
    the policy rules that removed faces, or the cycle's dates when none is left), and a
    budget below the cost of its ``min_faces`` cheapest candidates in every cycle.

    Parameters
    ----------
    inst
        The instance.

    Returns
    -------
    list of (int, str)
        ``(campaign index, message)``; a campaign appears once per failing cycle and once
        more for its budget. Money in the message is in currency units.
    """
    out = []
    for c, camp in enumerate(inst.campaigns):
        for t in camp.cycles:
            n = inst.eligible_counts.get((c, t), 0)
            if n < camp.min_faces:
                message = (
                    f"Campaign {camp.campaign_id} needs {camp.min_faces} faces in cycle "
                    f"{t} but only {n} faces are open to it" + _because(inst, c, t) + "."
                )
                out.append((c, message))
        mine = inst.cand_campaign == c
        per_cycle = [np.sort(inst.cand_price[mine & (inst.cand_cycle == t)]) for t in camp.cycles]
        enough = all(len(prices) >= camp.min_faces for prices in per_cycle)
        need = sum(int(prices[: camp.min_faces].sum()) for prices in per_cycle)
        if camp.min_faces and enough and need > inst.budget_pence[c]:
            message = (
                f"Campaign {camp.campaign_id} needs at least {to_major(need):,.0f} to book "
                f"{camp.min_faces} faces in each of its {len(camp.cycles)} cycle(s) but "
                f"its budget is {camp.budget:,.0f}."
            )
            out.append((c, message))
    return out


def _because(inst: Instance, c: int, t: int) -> str:
    """Return why campaign ``c`` has few eligible faces in cycle ``t``, as a clause.

    The faces each policy rule removed, or, when no face is left and no rule removed
    any, the cycle's dates (a period rule, the targeting or the area).
    """
    reasons = [
        f"{n} removed by rule {rid}"
        for (ci, rid), n in sorted(inst.removed_by_rule.items())
        if ci == c
    ]
    if inst.eligible_counts.get((c, t), 0) == 0 and not reasons:
        first, last = cycle_dates(t, inst.settings.start)
        return (
            f" (none in cycle {t}, {first} to {last}: a period rule, its targeting or its "
            "area leaves no face)"
        )
    return f" after the policy ({'; '.join(reasons)})" if reasons else ""


def explain_infeasible(inst: Instance, solver: SolverSettings) -> list[str]:
    """Name the groups of rules that together make the plan impossible.

    CP-SAT's sufficient assumptions for infeasibility over named constraint groups (one
    literal per campaign budget, per campaign and cycle minimum, per policy rule, ...).
    The core is sufficient, not necessarily minimal: relaxing any one group named may
    or may not be enough.

    Parameters
    ----------
    inst
        The instance found infeasible.
    solver
        Solver settings; the search runs on one worker for ``max(5, time_limit / 2)``
        seconds with the settings' seed.

    Returns
    -------
    list of str
        Sentences for the user: the requirements that cannot all be met and how to
        relax them, or a general hint when no conflict is isolated in time.
    """
    built = build_model(inst, objectives=(), explain=True)
    cp = cp_model.CpSolver()
    cp.parameters.num_workers = 1
    cp.parameters.max_time_in_seconds = max(5.0, solver.time_limit / 2)
    cp.parameters.random_seed = solver.seed
    code = cp.solve(built.model)
    if code != cp_model.INFEASIBLE:
        return [
            "No plan exists (the solver proved it), but the rules in conflict could not be "
            f"isolated within {cp.parameters.max_time_in_seconds:g} s."
            + _most_demanding(inst)
            + " Relax those minimum faces or their spacing, or the revenue target, and try "
            "again."
        ]
    by_index = {lit.index: words for lit, words in built.guards.values()}
    core = [by_index[i] for i in cp.sufficient_assumptions_for_infeasibility() if i in by_index]
    if not core:
        return ["The campaigns cannot all be placed: the faces available are not enough."]
    return [
        "These requirements cannot all be met together: " + "; ".join(core) + ".",
        "Relax one of them (a lower minimum, a larger budget or area, a smaller target) "
        "and plan again.",
    ]
