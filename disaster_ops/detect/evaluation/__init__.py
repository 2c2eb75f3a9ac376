"""Image-level and box-level evaluation of detectors on labelled folders."""

from disaster_ops.detect.evaluation.audit import AuditChange, LabelAudit, load_audit
from disaster_ops.detect.evaluation.datasets import EvalSample, load_dataset
from disaster_ops.detect.evaluation.metrics import KindMetrics, average_precision_50
from disaster_ops.detect.evaluation.runner import EvalReport, evaluate

__all__ = ["AuditChange", "EvalReport", "EvalSample", "KindMetrics", "LabelAudit", "average_precision_50", "evaluate", "load_audit", "load_dataset"]
