"""Scale out on Dask: partitioned eligibility and valuation, decomposed national plans.

An edge of the package (it may use every stage; nothing imports it). Dask is optional
(``pip install -e .[scale]``): importing this subpackage does not import it, and every
function runs in one process when no cluster is given.
"""

from __future__ import annotations

from planner.scale.cluster import ClusterSettings, connect, peak_memory_per_worker, run_tasks
from planner.scale.national import NationalPlan, national_bound, plan_national, region_labels
from planner.scale.partition import DEFAULT_CELL_M, Partition, grid_cells, halo_members
from planner.scale.partitioned import (
    partitioned_eligibility,
    partitioned_eligibility_and_values,
    partitioned_value_assets,
)

__all__ = [
    "DEFAULT_CELL_M",
    "ClusterSettings",
    "NationalPlan",
    "Partition",
    "connect",
    "grid_cells",
    "halo_members",
    "national_bound",
    "partitioned_eligibility",
    "partitioned_eligibility_and_values",
    "partitioned_value_assets",
    "peak_memory_per_worker",
    "plan_national",
    "region_labels",
    "run_tasks",
]
