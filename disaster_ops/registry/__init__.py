"""Camera registry: read Korean public CCTV standard data, GeoJSON and plain CSV into
typed :class:`CameraRecord` values (no database here; see ``services.cameras``)."""

from disaster_ops.registry.readers import RegistryFormat, detect_format, read_registry
from disaster_ops.registry.records import CameraRecord, ImportReport, RowIssue
from disaster_ops.registry.view_text import ViewSpec, parse_view_text

__all__ = [
    "CameraRecord",
    "ImportReport",
    "RegistryFormat",
    "RowIssue",
    "ViewSpec",
    "detect_format",
    "parse_view_text",
    "read_registry",
]
