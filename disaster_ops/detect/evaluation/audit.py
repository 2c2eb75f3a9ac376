"""Corrections of evaluation labels found by looking at the images (a label audit).

Public data sets carry label errors; a false-alarm figure on "normal" scenes that
plainly show fog or flood water measures the labels, not the detector. The audit file
lists every change with its reason; evaluation applies it only when asked, so the
published labels stay the default and both figures can be reported side by side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from disaster_ops.detect.errors import DatasetError
from disaster_ops.detect.evaluation.datasets import EvalSample

SHIPPED_AUDIT = Path(__file__).with_name("label_audit.json")


@dataclass(frozen=True)
class AuditChange:
    """One applied change: the sample's file, what happened and why."""

    file: str
    action: str  # "relabel <kinds>" | "exclude"
    reason: str


@dataclass(frozen=True)
class LabelAudit:
    relabel: dict[str, tuple[frozenset[str], str]]  # file name -> (kinds, reason)
    exclude_dry_crops: dict[str, str]  # file name of an aerial image -> reason its dry crop is not dry

    def apply(self, samples: list[EvalSample]) -> tuple[list[EvalSample], list[AuditChange]]:
        """Samples with the audit applied, and the changes that matched.

        Relabelled samples lose their boxes (they count for image-level figures only).
        """
        out, changes = [], []
        for s in samples:
            name = s.path.name
            if s.crop_xyxy is not None and name in self.exclude_dry_crops:
                changes.append(AuditChange(f"{name} (dry crop)", "exclude", self.exclude_dry_crops[name]))
                continue
            if s.crop_xyxy is None and name in self.relabel:
                kinds, reason = self.relabel[name]
                if kinds != s.kinds:
                    changes.append(AuditChange(name, "relabel " + ",".join(sorted(kinds)) if kinds else "relabel normal", reason))
                    s = replace(s, kinds=kinds, boxes=None)
            out.append(s)
        return out, changes


def load_audit(path: Path = SHIPPED_AUDIT) -> LabelAudit:
    """Read an audit file (see ``label_audit.json`` for the format)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        relabel = {
            name: (frozenset(entry["kinds"]), str(entry["reason"])) for name, entry in raw.get("relabel", {}).items()
        }
        exclude = {name: str(reason) for name, reason in raw.get("exclude_dry_crops", {}).items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a valid label audit file ({exc})") from exc
    return LabelAudit(relabel, exclude)
