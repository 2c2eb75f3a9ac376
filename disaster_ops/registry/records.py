"""Typed records produced by registry readers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class CameraRecord:
    """One camera as read from a registry file (WGS84 degrees, metres, degrees)."""

    source_key: str
    lat: float
    lon: float
    heading_deg: float
    fov_deg: float
    range_m: float
    name: str = ""
    operator: str = ""
    purpose: str = ""
    address: str = ""
    camera_count: int = 1
    stream_url: str | None = None
    view_source: str = "default"
    mount_height_m: float | None = None
    tilt_deg: float | None = None
    retention_days: int | None = None  # 보관일수: footage / person-crop retention, days
    # Which fields the row itself gave (None: all of them, e.g. the standard data). Used
    # when a row updates a camera first imported from another file (key rule, see
    # services.cameras): only what the row says overwrites the stored camera.
    fields_given: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A row that was skipped, with where and why."""

    file: str
    row: int  # 1-based line number in the file (header is line 1)
    field: str | None
    reason: str

    def __str__(self) -> str:
        f = f" [{self.field}]" if self.field else ""
        return f"{self.file}:{self.row}{f}: {self.reason}"


@dataclass
class ImportReport:
    """Outcome of one import: counts and the skipped rows."""

    file: str
    format: str = ""
    encoding: str = ""
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowIssue] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def as_dict(self) -> dict:
        return {
            "file": self.file, "format": self.format, "encoding": self.encoding,
            "rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": self.skipped_count,
            "skipped_rows": [
                {"row": i.row, "field": i.field, "reason": i.reason} for i in self.skipped
            ],
            "seconds": round(self.seconds, 3),
        }
