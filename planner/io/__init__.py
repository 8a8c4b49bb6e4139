"""Stage 1, load: every reader and writer of user files, validation and the OSM import.

Only this subpackage reads or writes the user's files. Loaders return GeoDataFrames in
EPSG:4326 with the data contract's columns (`planner.schema`), after collecting every
problem and raising them once as a `planner.errors.DataValidationError`.
"""

from __future__ import annotations

from planner.io.osm import (
    ATTRIBUTION,
    LAYERS,
    import_osm,
    import_osm_layers,
)
from planner.io.readers import (
    MAX_ROWS,
    MAX_UNZIPPED_BYTES,
    atomic_path,
    load_assets,
    load_campaigns,
    load_layer,
    load_placements,
    load_sites,
    load_zones,
    read_campaigns_table,
    read_table,
    validate_file,
    write_layers,
    write_table,
)
from planner.io.validation import (
    ValidationReport,
    normalise_columns,
    validate_frame,
)

__all__ = [
    "ATTRIBUTION",
    "LAYERS",
    "MAX_ROWS",
    "MAX_UNZIPPED_BYTES",
    "ValidationReport",
    "atomic_path",
    "import_osm",
    "import_osm_layers",
    "load_assets",
    "load_campaigns",
    "load_layer",
    "load_placements",
    "load_sites",
    "load_zones",
    "normalise_columns",
    "read_campaigns_table",
    "read_table",
    "validate_file",
    "validate_frame",
    "write_layers",
    "write_table",
]
