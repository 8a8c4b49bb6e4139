"""Stage 4, optimise: solver-ready instances, OR-Tools models, heuristics and solves.

The only subpackage that imports OR-Tools and turns money into integer minor units
(`planner.optimise.money`). It never imports `planner.io`, `planner.value` or
`planner.maps`: it works on tables and dataclasses handed to it.
"""

from __future__ import annotations

from planner.optimise.covering import (
    CoverResult,
    coverage_from_frames,
    coverage_matrix,
    max_cover,
)
from planner.optimise.greedy import (
    greedy_plan,
)
from planner.optimise.instance import (
    Instance,
    build_instance,
    pairs_within,
    restrict,
    slot_ranks,
)
from planner.optimise.money import (
    MINOR_PER_MAJOR,
    to_major,
    to_minor,
)
from planner.optimise.settings import (
    Clock,
    PlanSettings,
    SolverSettings,
)
from planner.optimise.site_selection import (
    SiteSelection,
    select_sites,
)
from planner.optimise.solve import (
    Objective,
    SolveResult,
    parse_objective,
    solve_instance,
    unplaceable,
)

__all__ = [
    "MINOR_PER_MAJOR",
    "Clock",
    "CoverResult",
    "Instance",
    "Objective",
    "PlanSettings",
    "SiteSelection",
    "SolveResult",
    "SolverSettings",
    "build_instance",
    "coverage_from_frames",
    "coverage_matrix",
    "greedy_plan",
    "max_cover",
    "pairs_within",
    "parse_objective",
    "restrict",
    "select_sites",
    "slot_ranks",
    "solve_instance",
    "to_major",
    "to_minor",
    "unplaceable",
]
