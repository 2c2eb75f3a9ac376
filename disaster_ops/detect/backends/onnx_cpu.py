"""One way to open an ONNX model on the CPU for every detector backend."""

from __future__ import annotations

import os
from pathlib import Path

from disaster_ops.detect.errors import ModelError


def cpu_session(onnx_path: Path, *, threads: int | None = None):
    """An ONNX Runtime session on the CPU provider (at most 2 threads unless told), or ModelError."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load ONNX model {onnx_path}: {exc}") from exc
