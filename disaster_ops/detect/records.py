"""``Detections``: one validated record of arrays for all detections in a frame.

Modelled on supervision's ``Detections``: parallel arrays (``xyxy``, ``confidence``,
``kind``) checked in ``__post_init__``, optional per-detection polygons for area
hazards (flood), boolean-mask filtering with ``dets[mask]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Detections of one frame.

    Attributes:
        xyxy: ``(n, 4)`` float32 pixel boxes ``x1, y1, x2, y2`` in the input frame.
        confidence: ``(n,)`` float32 in 0..1.
        kind: ``(n,)`` array of kind names (``"fire"``, ``"smoke"``, ``"flood"``...).
        polygons: per detection an ``(k, 2)`` float32 pixel polygon or ``None``
            (area hazards such as flood carry the water outline).
        area_share: ``(n,)`` float32 share of the frame (or of the ground ROI) covered,
            NaN where not meaningful.
        data: extra per-detection arrays of length ``n`` by name (as supervision's
            ``Detections.data``), e.g. ``posture`` of a person and its ``track_id``.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    kind: np.ndarray
    polygons: tuple[np.ndarray | None, ...] = ()
    area_share: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = xyxy.shape[0]
        conf = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        kind = np.asarray(self.kind, dtype=object).reshape(-1)
        polys = tuple(self.polygons) if len(self.polygons) else (None,) * n
        share = np.asarray(self.area_share, dtype=np.float32).reshape(-1)
        if share.size == 0 and n:
            share = np.full(n, np.nan, np.float32)
        data = {str(k): np.asarray(v).reshape(-1) for k, v in dict(self.data).items()}
        for name, arr in (("confidence", conf), ("kind", kind), ("polygons", polys), ("area_share", share),
                          *((f"data[{k!r}]", v) for k, v in data.items())):
            if len(arr) != n:
                raise ValueError(f"Detections.{name} has {len(arr)} entries, xyxy has {n}")
        if n and (np.any(conf < 0) or np.any(conf > 1) or np.any(~np.isfinite(conf))):
            raise ValueError("Detections.confidence must lie in 0..1")
        if n and np.any(xyxy[:, 2:] < xyxy[:, :2]):
            raise ValueError("Detections.xyxy needs x2 >= x1 and y2 >= y1")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "polygons", polys)
        object.__setattr__(self, "area_share", share)
        object.__setattr__(self, "data", data)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, object))

    @classmethod
    def merge(cls, parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        shared = set.intersection(*(set(p.data) for p in parts))  # a key some parts lack is dropped
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.kind for p in parts]),
            tuple(poly for p in parts for poly in p.polygons),
            np.concatenate([p.area_share for p in parts]),
            {k: np.concatenate([p.data[k] for p in parts]) for k in sorted(shared)},
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: np.ndarray | slice | int) -> Detections:
        """Filter with a boolean mask, an index array or a slice."""
        if isinstance(index, (int, np.integer)):
            index = np.array([index])
        idx = np.arange(len(self))[index]
        return Detections(
            self.xyxy[idx],
            self.confidence[idx],
            self.kind[idx],
            tuple(self.polygons[i] for i in idx),
            self.area_share[idx],
            {k: v[idx] for k, v in self.data.items()},
        )

    def kinds(self) -> set[str]:
        return {str(k) for k in self.kind}

    def max_confidence(self, kind: str) -> float:
        sel = self.kind == kind
        return float(self.confidence[sel].max()) if np.any(sel) else 0.0

    def with_data(self, **arrays: np.ndarray) -> Detections:
        """A copy with these ``data`` arrays added or replaced."""
        return Detections(self.xyxy, self.confidence, self.kind, self.polygons, self.area_share,
                          {**self.data, **arrays})

    def to_json(self) -> list[dict[str, Any]]:
        """The CLI/JSON shape: ``[{"kind", "confidence", "bbox"[, "polygon", "area_share"], **data}]``."""
        out = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "kind": str(self.kind[i]),
                "confidence": round(float(self.confidence[i]), 4),
                "bbox": [round(float(v), 1) for v in self.xyxy[i]],
            }
            if self.polygons[i] is not None:
                item["polygon"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.polygons[i]]
            if np.isfinite(self.area_share[i]):
                item["area_share"] = round(float(self.area_share[i]), 4)
            for key, arr in self.data.items():
                if isinstance(arr[i], np.ndarray) and arr[i].ndim:
                    continue  # per-detection arrays (e.g. a column's cells) are not part of the JSON shape
                item[key] = arr[i].item() if hasattr(arr[i], "item") else arr[i]
            out.append(item)
        return out
