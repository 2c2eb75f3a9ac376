"""HazardNet: a small dense hazard head on a frozen pretrained YOLOv8s backbone.

Why this shape: 924 CCTV frames and 203 aerial flood photos are far too few to train
a detector from zero, and a 2-core CPU cannot fine-tune a whole YOLO in the time we
have. So the first seven layers (stride 8 and 16 feature maps) of a pretrained
YOLOv8s stay frozen and a ~0.2 M-parameter head predicts, for every 8x8-pixel cell,
the probability of ``fire``, ``smoke`` and ``flood`` (water). Boxes and flood
polygons come from connected regions of those maps (see ``postprocess.py``).

The network takes a uint8 BGR batch ``(N, H, W, 3)`` as it comes from OpenCV, so the
exported ONNX graph does the colour swap and scaling itself, and returns per-cell
probabilities ``(N, 3, H/8, W/8)``.

This module needs torch and ultralytics (training and first-use ONNX export only);
inference uses onnxruntime.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

KINDS: tuple[str, ...] = ("fire", "smoke", "flood")
STRIDE_PX = 8
BACKBONE_LAYERS = 7  # YOLOv8s layers 0..6: P3 (layer 4, 128 ch) and P4 (layer 6, 256 ch)


def build_backbone() -> nn.ModuleList:
    """YOLOv8s layers 0..6 with random weights (state is loaded afterwards)."""
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolov8s.yaml", nc=2, verbose=False)
    return nn.ModuleList(list(model.model[:BACKBONE_LAYERS]))


class ConvBNAct(nn.Sequential):
    """Conv + BatchNorm + SiLU."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.SiLU(inplace=True),
        )


class HazardHead(nn.Module):
    """Fuses P3/P4 features plus a global context vector into per-cell hazard logits.

    With ``scene_gate`` (v8 on) the head also gives one image-level logit per kind from
    pooled features of the whole frame ("does this scene show fire / smoke / flood at
    all?"); the network's cell probabilities are multiplied by that scene probability, so
    an ordinary scene vetoes weak local evidence (a sunset, a lamp, a glossy floor).
    ``forward`` returns cell logits, or ``(cell logits, scene logits)`` with the gate.
    """

    def __init__(self, *, c3: int = 128, c4: int = 256, width: int = 64, n_kinds: int = 3, scene_gate: bool = False) -> None:
        super().__init__()
        self.p4 = ConvBNAct(c4, width, 3)
        self.ctx_down = ConvBNAct(width, width, 3, 2)
        self.ctx_fc = nn.Conv2d(width, width, 1)
        self.p3 = ConvBNAct(c3, width // 2, 1)
        self.fuse = ConvBNAct(width + width // 2, width, 3)
        self.out = nn.Conv2d(width, n_kinds, 1)
        self.scene_gate = scene_gate
        if scene_gate:
            self.scene = nn.Sequential(nn.Linear(3 * width, width), nn.SiLU(inplace=True), nn.Dropout(0.2), nn.Linear(width, n_kinds))

    def forward(self, p3: torch.Tensor, p4: torch.Tensor):
        a = self.p4(p4)
        down = self.ctx_down(a)
        pooled = F.adaptive_avg_pool2d(down, 1)
        a = a + self.ctx_fc(pooled)
        up = F.interpolate(a, scale_factor=2.0, mode="nearest")
        f = self.fuse(torch.cat([up, self.p3(p3)], dim=1))
        cell = self.out(f)
        if not self.scene_gate:
            return cell
        g = torch.cat([F.adaptive_avg_pool2d(f, 1), F.adaptive_max_pool2d(f, 1), pooled], dim=1).flatten(1)
        return cell, self.scene(g)


def head_probabilities(out) -> torch.Tensor:
    """Cell probabilities from the head's output (scene-gated when the head has a gate)."""
    if isinstance(out, tuple):
        cell, scene = out
        return torch.sigmoid(cell) * torch.sigmoid(scene)[:, :, None, None]
    return torch.sigmoid(out)


class HazardNet(nn.Module):
    """Backbone + head; ``forward`` maps uint8 BGR NHWC to per-cell probabilities."""

    def __init__(self, backbone: nn.ModuleList | None = None, head: HazardHead | None = None) -> None:
        super().__init__()
        self.backbone = backbone if backbone is not None else build_backbone()
        self.head = head if head is not None else HazardHead()

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """P3 and P4 maps of a float RGB NCHW batch scaled to 0..1."""
        p3 = None
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i == 4:
                p3 = x
        assert p3 is not None
        return p3, x

    def forward(self, bgr_nhwc_u8: torch.Tensor) -> torch.Tensor:
        x = bgr_nhwc_u8.to(torch.float32).permute(0, 3, 1, 2).flip(1) / 255.0
        p3, p4 = self.features(x)
        return head_probabilities(self.head(p3, p4))


def load_hazard_net(state: dict) -> HazardNet:
    """Rebuild the network from a shipped checkpoint dict (``{'state_dict', 'meta'}``)."""
    sd = {k: v.float() for k, v in state["state_dict"].items()}
    net = HazardNet(head=HazardHead(scene_gate=any(k.startswith("head.scene.") for k in sd)))
    net.load_state_dict(sd)
    return net.eval()


def export_onnx(net: HazardNet, out_path, *, size_px: int = 320) -> None:
    """Write ``net`` as ONNX with dynamic batch, height and width (needs the ``onnx`` package).

    Height and width must be multiples of 32 at run time.
    """
    import os
    import tempfile
    from pathlib import Path

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=out_path.parent)
    os.close(fd)
    import warnings

    dummy = torch.zeros(1, size_px, size_px, 3, dtype=torch.uint8)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter: no onnxscript needed
        torch.onnx.export(
            net.eval(), (dummy,), tmp, input_names=["bgr"], output_names=["prob"],
            dynamic_axes={"bgr": {0: "n", 1: "h", 2: "w"}, "prob": {0: "n", 2: "gh", 3: "gw"}},
            opset_version=17, dynamo=False,
        )
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; installed models must be readable by all
    os.replace(tmp, out_path)
