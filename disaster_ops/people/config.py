"""Typed settings of the people detectors of one camera: collapse, crowding, loitering.

One pydantic model per section, ``extra="forbid"``, units in names and bounds on every
field. Stored with the camera's detection settings (``CameraDetectConfig.people``) and set
with ``disaster-ops cameras config KEY --people-json FILE``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Point = tuple[float, float]
Polygon = Annotated[list[Point], Field(min_length=3, description="Pixel polygon [[x, y], ...], at least 3 points.")]


class CollapseConfig(BaseModel):
    """A person who went down (upright, then the fall class) and stays still."""

    model_config = ConfigDict(extra="forbid")

    fall_score_min: float = Field(0.5, ge=0.0, le=1.0, description="Model 'Fall' score that counts as lying, 0..1.")
    still_s: float = Field(
        5.0, ge=0.0, le=3600.0,
        description="N: lying and still this long raises a collapse, s (someone who trips and gets up is no alarm).")
    fall_window_s: float = Field(
        2.0, ge=0.0, le=60.0,
        description="A fall: the person was seen upright at most this long before first seen lying, s (a fast "
                    "upright-to-lying change; lying down slowly, or lying when first seen, waits for still_s).")
    fall_still_s: float = Field(
        2.0, ge=0.0, le=3600.0,
        description="After a fall, lying and still this long raises a collapse, s (the shorter N of a fall; "
                    "still_s still applies when it is shorter).")
    fall_still_frames: int = Field(
        3, ge=1, le=10000,
        description="After a fall, lying and still on at least this many sampled frames too, a count (one frame "
                    "of 'Fall' while stumbling is no collapse).")
    still_box_share: float = Field(
        0.35, gt=0.0, le=5.0,
        description="Moving less than this share of the box diagonal counts as still (resets the timer when exceeded).")
    require_upright_first: bool = Field(
        True, description="Only a person first seen upright can collapse (a static object the model calls 'Fall' cannot).")
    upright_memory_s: float = Field(
        3.0, ge=0.0, le=60.0,
        description="A new track lying where an upright track was lost within this time inherits 'was upright', s.")
    cooldown_s: float = Field(
        300.0, ge=0.0, le=86400.0, description="No second collapse at the same place of the same camera within, s.")


class CrowdingConfig(BaseModel):
    """People per square metre in a zone (or the whole view) above a level for a while."""

    model_config = ConfigDict(extra="forbid")

    zone: Polygon | None = Field(None, description="Pixel polygon counted; None = the whole view.")
    zone_area_m2: float | None = Field(
        None, gt=0.0, le=1e7,
        description="Ground area of the zone, m^2; None = from the camera's ground projection.")
    density_per_m2: float = Field(2.0, gt=0.0, le=20.0, description="Density that counts as crowding, persons/m^2.")
    min_people: int = Field(10, ge=1, le=100000, description="Never crowding with fewer people than this.")
    hold_s: float = Field(10.0, ge=0.0, le=3600.0, description="N: density above the level this long raises crowding, s.")
    cooldown_s: float = Field(600.0, ge=0.0, le=86400.0, description="No second crowding event of the zone within, s.")


class LoiterZone(BaseModel):
    """A place where staying long is worth a look (park, riverbank, bridge at night)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=80, description="Zone name shown with the event.")
    polygon: Polygon
    max_dwell_s: float = Field(120.0, gt=0.0, le=86400.0, description="N: a track inside longer than this loiters, s.")
    leave_grace_s: float = Field(
        3.0, ge=0.0, le=600.0, description="Outside (or unseen) shorter than this does not end a stay, s.")


class PeopleConfig(BaseModel):
    """People analytics of one camera or drone stream."""

    model_config = ConfigDict(extra="forbid")

    collapse: CollapseConfig = Field(default_factory=CollapseConfig)
    crowding: CrowdingConfig = Field(default_factory=CrowdingConfig)
    loitering: list[LoiterZone] = Field(default_factory=list, description="Loitering zones; none = no loitering check.")
    track_lost_s: float = Field(3.0, gt=0.0, le=60.0, description="A track unseen this long is ended, s.")
    count_hold_s: float = Field(
        0.6, ge=0.0, le=60.0,
        description="A tracked person unseen this long or less still counts (hidden behind someone or a post), s; "
                    "0 counts detections only.")
    count_min_frames: int = Field(
        3, ge=1, le=10000, description="Only a track seen on at least this many frames counts while hidden, a count.")
    count_edge_px: float = Field(
        10.0, ge=0.0, le=10000.0,
        description="A hidden track whose last box came this close to the picture's edge has left the view, px.")
    count_occluded_hold_s: float = Field(
        4.0, ge=0.0, le=60.0,
        description="A tracked person unseen longer than count_hold_s still counts up to this long while they may be "
                    "hidden: their predicted box overlaps a detected person, or stays inside the picture "
                    "(count_inner_margin_share from every edge), s; 0 = off.")
    count_occluder_share: float = Field(
        0.5, gt=0.0, le=1.0,
        description="Share of a hidden person's predicted box another detected person must cover to hide them, 0..1.")
    count_inner_margin_share: float = Field(
        0.2, ge=0.0, le=0.5,
        description="A hidden person's predicted box centre at least this share of the picture's width and height "
                    "from every edge may be hidden behind something (a post), 0..0.5; 0.5 = only people hide people.")
    far_zoom_share: float = Field(
        0.0, ge=0.0, le=0.6,
        description="Far-field zoom: a second person-model pass on the top this share of the picture (where "
                    "people are far and small), cut in two overlapping halves stacked into one model input, so "
                    "they are seen about 1.6x larger; merged with the whole-frame pass. 0..0.6 of the height; "
                    "0 = off (it doubles the person model's CPU per frame).")
    sightings_every_s: float = Field(
        2.0, ge=0.0, le=3600.0, description="Store one sighting (missing-person search) per track at most this "
                                            "often, s; 0 stores none.")

    @field_validator("loitering")
    @classmethod
    def _unique_names(cls, v: list[LoiterZone]) -> list[LoiterZone]:
        names = [z.name for z in v]
        if len(set(names)) != len(names):
            raise ValueError(f"loitering zone names repeat: {names}")
        return v

    @model_validator(mode="after")
    def _sane(self) -> PeopleConfig:
        if self.collapse.upright_memory_s > self.track_lost_s * 10:
            raise ValueError("collapse.upright_memory_s must be at most 10 x track_lost_s")
        return self
