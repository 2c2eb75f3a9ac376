"""The one validation layer every registry reader ends in: a pydantic schema with the
ranges a stored camera must satisfy, whatever file format it came from.

Readers parse their format and build a :class:`CameraRecord`; :func:`checked_record`
runs it through :class:`CameraSchema` and turns the first violation into a
:class:`RowIssue` naming the file, row and field. Float fields must be finite, and
their bounds keep them well inside float32 (the MAVLink and GPU paths use float32).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from disaster_ops.registry.records import CameraRecord, RowIssue

MAX_TEXT_CHARS = 1000
FLOAT32_MAX = float(np.finfo(np.float32).max)


# Finite (checked natively by pydantic-core); every float field below also has bounds far
# inside the float32 range, so a valid record is float32-representable.
Finite = Annotated[float, Field(allow_inf_nan=False)]
assert 5000.0 < FLOAT32_MAX
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class CameraSchema(BaseModel):
    """Ranges of a camera row (WGS84 degrees, metres, degrees)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source_key: str = Field(min_length=1, max_length=2 * MAX_TEXT_CHARS)
    lat: Finite = Field(ge=-90.0, le=90.0)
    lon: Finite = Field(ge=-180.0, le=180.0)
    heading_deg: Finite = Field(ge=0.0, le=360.0)
    fov_deg: Finite = Field(gt=0.0, le=360.0)
    range_m: Finite = Field(gt=0.0, le=5000.0)
    name: Annotated[str, Field(max_length=2 * MAX_TEXT_CHARS + 1)]  # operator + address
    operator: Text
    purpose: Text
    address: Text
    camera_count: int = Field(ge=1, le=10_000)
    stream_url: Text | None
    view_source: Annotated[str, Field(max_length=40)]
    mount_height_m: Finite | None = Field(None, gt=0.0, le=500.0)
    tilt_deg: Finite | None = Field(None, ge=0.0, le=90.0)
    retention_days: int | None = Field(None, ge=1, le=3650)


# The record fields the schema checks (bookkeeping such as ``fields_given`` is not user
# data). Not asdict(): it deep-copies, 6x slower.
_FIELDS = tuple(f.name for f in fields(CameraRecord) if f.name in CameraSchema.model_fields)


def checked_record(file: str, row: int, rec: CameraRecord) -> CameraRecord | RowIssue:
    """``rec`` if it satisfies :class:`CameraSchema`, else the first violation as a RowIssue."""
    try:
        CameraSchema.model_validate({f: getattr(rec, f) for f in _FIELDS})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        return RowIssue(file, row, field, err["msg"])
    return rec
