"""Stage 1, load: every reader and writer of user files, validation and the OSM import.

Only this subpackage reads or writes the user's files. Loaders return GeoDataFrames in
EPSG:4326 with the data contract's columns (`planner.schema`), after collecting every
problem and raising them once as a `planner.errors.DataValidationError`.
"""

from __future__ import annotations

from planner.io.osm import (
    ATTRIBUTION,
    LAYERS,
    STOP_MERGE_M,
    OsmImportReport,
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
from planner.io.source import (
    FileSource,
    Source,
)
from planner.io.validation import (
    ValidationReport,
    alias_fits,
    check_layers_overlap,
    normalise_columns,
    validate_frame,
    value_counts_text,
)

__all__ = [
    "ATTRIBUTION",
    "LAYERS",
    "MAX_ROWS",
    "MAX_UNZIPPED_BYTES",
    "STOP_MERGE_M",
    "FileSource",
    "OsmImportReport",
    "Source",
    "ValidationReport",
    "alias_fits",
    "atomic_path",
    "check_layers_overlap",
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
    "value_counts_text",
    "write_layers",
    "write_table",
]
