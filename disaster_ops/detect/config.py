"""Typed detector configuration: per camera kinds, thresholds, ROI / exclusion masks,
motion gating and temporal confirmation. One pydantic model per section,
``extra="forbid"``, every field with unit and bounds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from disaster_ops.capture.onvif_ptz import PtzSettings
from disaster_ops.people.config import PeopleConfig, Point, Polygon  # noqa: F401  (Point, Polygon re-exported)

KNOWN_KINDS = ("fire", "smoke", "flood")
# People detectors (docs/DESIGN.md "People"): persons, and the events made from them.
PEOPLE_KINDS = ("person", "collapse", "crowding", "loitering")
ALL_KINDS = KNOWN_KINDS + PEOPLE_KINDS


class MotionConfig(BaseModel):
    """Frame-differencing gate (Frigate-style) deciding when the model runs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Run the model only on motion (plus the schedule below).")
    frame_width_px: int = Field(160, ge=32, le=1280, description="Width the grayscale frame is downscaled to, px.")
    pixel_threshold: int = Field(25, ge=1, le=255, description="Grey-level change counted as motion, 0..255.")
    min_changed_share: float = Field(
        0.005, ge=0.0, le=1.0, description="Share of (ROI) pixels that must change to call it motion."
    )
    background_alpha: float = Field(
        0.05, gt=0.0, le=1.0, description="Running-average weight of a new frame in the background model."
    )
    scheduled_interval_s: float = Field(
        10.0, gt=0.0, le=3600.0, description="Run the model at least this often without motion (slow smoke, rising water), s."
    )


class ConfirmConfig(BaseModel):
    """N of the last M sampled frames must agree before a hazard is raised."""

    model_config = ConfigDict(extra="forbid")

    required: int = Field(3, ge=1, le=100, description="N: frames with the kind needed among the window.")
    window: int = Field(5, ge=1, le=100, description="M: number of most recent sampled frames considered.")

    @model_validator(mode="after")
    def _n_le_m(self) -> ConfirmConfig:
        if self.required > self.window:
            raise ValueError(f"confirm.required ({self.required}) must be <= confirm.window ({self.window})")
        return self


class FloodConfig(BaseModel):
    """How a camera reports flood.

    ``direct``: the model's water map of the frame (drones, aerial views). ``reference``
    (fixed CCTV): only water that is new since a dry reference frame of the same view and
    inside the ground ROI counts, so a river or pond in view never raises a flood.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["direct", "reference"] = Field("direct", description="'direct' or 'reference' (see above).")
    reference_image: str | None = Field(None, description="Dry-weather frame of this view (absolute path).")
    ground_roi: list[Polygon] = Field(
        default_factory=list, description="Ground that can flood (road, car park), pixel polygons; empty = whole frame."
    )
    min_roi_share: float = Field(
        0.1, gt=0.0, le=1.0, description="Share of the ground ROI newly under water that makes a flood, 0..1."
    )

    @model_validator(mode="after")
    def _reference_needs_image(self) -> FloodConfig:
        if self.mode == "reference" and not self.reference_image:
            raise ValueError("flood.mode 'reference' needs flood.reference_image (a dry-weather frame of the view)")
        return self


class DetectorConfig(BaseModel):
    """Which detector backend runs and with which weights (the registry ``type`` key)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field("hazardnet", description="Registered detector type: 'hazardnet' or 'ultralytics'.")
    weights: str | None = Field(None, description="Weights path; None = the shipped default of that type.")
    input_size_px: int | None = Field(None, ge=64, le=1280, description="Square model input, px; None = model default.")
    class_map: dict[str, str] = Field(
        default_factory=dict, description="ultralytics only: model class name -> kind (e.g. {'Fire': 'fire'})."
    )

    @field_validator("input_size_px")
    @classmethod
    def _multiple_of_32(cls, v: int | None) -> int | None:
        if v is not None and v % 32:
            raise ValueError(f"input_size_px must be a multiple of 32, got {v}")
        return v


class CameraDetectConfig(BaseModel):
    """Detection settings of one camera (or one drone video stream)."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(default_factory=lambda: list(KNOWN_KINDS), description="Hazard kinds reported.")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-kind minimum confidence 0..1; missing kinds use the model's own."
    )
    roi: list[Polygon] = Field(
        default_factory=list, description="Regions of interest (pixel polygons); empty = whole frame."
    )
    exclude: list[Polygon] = Field(
        default_factory=list, description="Exclusion masks (neon sign, sky...), pixel polygons."
    )
    min_area_px: float = Field(64.0, ge=0.0, description="Smallest detection box area kept, px^2.")
    motion: MotionConfig = Field(default_factory=MotionConfig)
    confirm: ConfirmConfig = Field(default_factory=ConfirmConfig)
    flood: FloodConfig = Field(default_factory=FloodConfig)
    ptz: PtzSettings | None = Field(
        None, description="PTZ / 360° camera: ask it over ONVIF where it looks when a hazard is reported "
                          "(disaster_ops.capture.onvif_ptz); without it detections stay at the pole.")
    people: PeopleConfig = Field(default_factory=PeopleConfig)

    @field_validator("kinds")
    @classmethod
    def _kinds_nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("kinds must name at least one hazard kind")
        if len(set(v)) != len(v):
            raise ValueError(f"kinds has duplicates: {v}")
        unknown = [k for k in v if k not in ALL_KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(ALL_KINDS)}")
        return v

    def people_kinds(self) -> list[str]:
        """The people kinds this camera reports (person, collapse, crowding, loitering)."""
        return [k for k in self.kinds if k in PEOPLE_KINDS]

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for kind, t in v.items():
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"thresholds[{kind!r}] = {t} is outside 0..1")
        return v

    @model_validator(mode="after")
    def _threshold_kinds_enabled(self) -> CameraDetectConfig:
        extra = set(self.thresholds) - set(self.kinds)
        if extra:
            raise ValueError(f"thresholds given for kinds not enabled: {sorted(extra)}")
        return self
