"""A compact appearance record of one person box: clothing colours and build.

Not a re-identification model: no licensed person re-id model whose weights ship in an
installable package was found (docs/MODELS.md "Person appearance"), so the 'photo' query
of missing-person search compares these colour histograms, and is reported as such.

What is computed from a BGR frame and a person box (``xyxy`` pixels):

- two regions of the box: **upper** (torso, 18-50 % of the box height) and **lower**
  (legs, 55-92 %); the middle 70 % of the width, pixels weighted towards the box's
  vertical centre line (less road behind the person). A box wider than tall
  (height < :data:`LYING_ASPECT` x width: a person lying on the ground, or seen straight
  from above) has no known head end, so both regions are its middle band (20-80 % of the
  height, 80 % of the width): the whole body's colours;
- per region, the share of pixels of each of 11 **named colours** (:data:`COLOUR_NAMES`,
  HSV rules: black/grey/white by value and saturation, the rest by hue, brown = dark
  orange/red; a dark pixel that is clearly blue in CIE Lab (b* < -:data:`NAVY_MIN_BLUE`,
  value >= 25) is **blue**, not black: navy), and a 16-bin **hue/lightness histogram**
  (12 hue bins of saturated pixels, 4 lightness bins of grey pixels);
- **build** from the box aspect (height / width): ``slim`` >= 3.0 > ``medium`` >= 2.3 >
  ``broad``. Weak: a walking person's stride widens the box. Height is not estimated.

Descriptions score the **geometric mean** of the regions' colour shares (both must match:
a red top over grey trousers is not "red top, blue jeans"), and a bag colour the witness
gives counts in the torso region at :data:`BAG_WEIGHT` (a drone sees backpacks from
behind and above). Every choice here was measured on the development sets (PETS 2009 with
published and detector boxes, the P-DESTRE drone views): docs/BENCHMARKS.md,
"Missing-person search, third pass".

Packed as :data:`VECTOR_BYTES` uint8 (each block's shares x 255) so a million sightings
are 54 MB and score with numpy (:func:`unpack`, :func:`description_scores`,
:func:`photo_scores`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

# 2: navy read as blue, lying boxes' regions (same 54-byte layout as 1: version-1 rows
# are still scored; their navy reads black, which a description "blue" finds at 0.3).
FEATURE_VERSION = 2
COLOUR_NAMES: tuple[str, ...] = ("black", "grey", "white", "red", "orange", "yellow", "green", "blue",
                                 "purple", "pink", "brown")
N_NAMED = len(COLOUR_NAMES)
N_HIST = 16
BLOCK = N_NAMED + N_HIST  # one region's bins
VECTOR_BYTES = 2 * BLOCK
UPPER_ROWS = (0.18, 0.50)  # share of the box height
LOWER_ROWS = (0.55, 0.92)
MIN_BOX_PX = (6, 16)  # short side, long side: smaller boxes carry no usable colour
LYING_ASPECT = 0.8  # height / width below this: lying (or seen from straight above)
LYING_ROWS = (0.20, 0.80)
NAVY_MIN_BLUE = 16  # -b* (CIE Lab, OpenCV 8-bit scale) of a dark pixel read as blue
NAVY_MIN_VALUE = 25  # HSV value (0..255): darker is black whatever its hue
BAG_WEIGHT = 0.3  # how far a bag colour counts in the torso region (a shirt colour counts 1)
SCORE_FLOOR = 0.02  # added to each region's score before the geometric mean (no ties at 0)

# How far one named colour counts for another when an operator says it (dark navy is
# often seen as black; light grey as white). Rows: said; columns: seen. Symmetric.
_NEAR = {("black", "grey"): 0.35, ("grey", "white"): 0.35, ("black", "blue"): 0.3, ("black", "brown"): 0.35,
         ("red", "orange"): 0.4, ("red", "pink"): 0.4, ("orange", "yellow"): 0.4, ("orange", "brown"): 0.4,
         ("blue", "purple"): 0.3, ("purple", "pink"): 0.3, ("green", "blue"): 0.2, ("red", "brown"): 0.3,
         ("grey", "blue"): 0.2}
COLOUR_SIMILARITY = np.eye(N_NAMED, dtype=np.float32)
for (_a, _b), _v in _NEAR.items():
    _i, _j = COLOUR_NAMES.index(_a), COLOUR_NAMES.index(_b)
    COLOUR_SIMILARITY[_i, _j] = COLOUR_SIMILARITY[_j, _i] = _v


class Build(str, enum.Enum):
    """Body build class from the box aspect (height / width)."""

    SLIM = "slim"
    MEDIUM = "medium"
    BROAD = "broad"


def build_of(aspect: float) -> Build:
    """``slim`` at aspect >= 3.0, ``medium`` >= 2.3, else ``broad``."""
    return Build.SLIM if aspect >= 3.0 else (Build.MEDIUM if aspect >= 2.3 else Build.BROAD)


@dataclass(frozen=True)
class Appearance:
    """One person box's appearance.

    Attributes:
        vector: :data:`VECTOR_BYTES` uint8: upper named shares, upper histogram, lower
            named shares, lower histogram (each block sums to ~255).
        upper_colour / lower_colour: the dominant named colour of the torso / legs.
        build: from the box aspect.
        aspect: box height / width.
    """

    vector: np.ndarray
    upper_colour: str
    lower_colour: str
    build: Build
    aspect: float

    def colours(self, region: str, *, min_share: float = 0.15) -> list[str]:
        """Named colours of ``region`` (``upper``/``lower``) with at least ``min_share``, biggest first."""
        start = 0 if region == "upper" else BLOCK
        shares = self.vector[start:start + N_NAMED].astype(np.float32) / 255.0
        order = np.argsort(-shares)
        return [COLOUR_NAMES[i] for i in order if shares[i] >= min_share]


def _named_and_hist(hsv: np.ndarray, weight: np.ndarray, lab_b: np.ndarray | None = None) -> np.ndarray:
    """Weighted shares of the 11 named colours and the 16-bin hue/lightness histogram.
    ``lab_b``: the pixels' CIE Lab b* (OpenCV 8-bit, 128 = neutral) to tell navy from black."""
    h = hsv[..., 0].astype(np.int16)  # OpenCV hue 0..179
    s = hsv[..., 1].astype(np.int16)
    v = hsv[..., 2].astype(np.int16)
    w = weight.astype(np.float32)
    grey = (s < 45) | (v < 55)
    named = np.full(h.shape, -1, np.int16)
    named[v < 55] = 0  # black
    named[(s < 45) & (v >= 55) & (v < 185)] = 1  # grey
    named[(s < 45) & (v >= 185)] = 2  # white
    col = ~grey
    hue_name = np.select(
        [(h < 8) | (h >= 170), h < 20, h < 33, h < 85, h < 130, h < 150, h < 170],
        [3, 4, 5, 6, 7, 8, 9], default=3)
    brown = col & (h >= 3) & (h < 22) & (v < 150)
    named[col] = hue_name[col]
    named[brown] = 10
    if lab_b is not None:  # dark navy: too dark for HSV hue, but clearly blue in Lab
        navy = (v < 55) & (v >= NAVY_MIN_VALUE) & (lab_b.astype(np.int16) - 128 < -NAVY_MIN_BLUE)
        named[navy] = 7
    named_bins = np.bincount(named.ravel(), weights=w.ravel(), minlength=N_NAMED)[:N_NAMED]
    hist_idx = np.where(grey, 12 + np.clip(v // 64, 0, 3), np.clip(h * 12 // 180, 0, 11))
    hist_bins = np.bincount(hist_idx.ravel(), weights=w.ravel(), minlength=N_HIST)[:N_HIST]
    total = max(float(w.sum()), 1e-6)
    return np.concatenate([named_bins / total, hist_bins / total])


def _region(frame: np.ndarray, box: tuple[int, int, int, int], rows: tuple[float, float],
            side: float = 0.15) -> np.ndarray | None:
    x1, y1, x2, y2 = box
    bh = y2 - y1
    top, bottom = y1 + round(bh * rows[0]), y1 + round(bh * rows[1])
    bw = x2 - x1
    left, right = x1 + round(bw * side), x2 - round(bw * side)
    crop = frame[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
    return crop if crop.size else None


def appearance_of(frame: np.ndarray, xyxy) -> Appearance | None:
    """The appearance of the person in box ``xyxy`` (pixels) of BGR ``frame``; None when the
    box is too small or outside the frame."""
    hgt, wid = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    box = (max(0, round(x1)), max(0, round(y1)), min(wid, round(x2)), min(hgt, round(y2)))
    bw, bh = box[2] - box[0], box[3] - box[1]
    if min(bw, bh) < MIN_BOX_PX[0] or max(bw, bh) < MIN_BOX_PX[1]:  # by the body's sides: a lying
        return None  # person's box is wide
    # Lying by the whole box, not the part inside the frame: a standing person cut by the
    # frame's edge (only the legs in view) is not lying.
    lying = (y2 - y1) < LYING_ASPECT * (x2 - x1)
    regions = [(LYING_ROWS, 0.10)] * 2 if lying else [(UPPER_ROWS, 0.15), (LOWER_ROWS, 0.15)]
    blocks = []
    for rows, side in regions:
        crop = _region(frame, box, rows, side)
        if crop is None:
            return None
        crop = np.ascontiguousarray(crop)
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        lab_b = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)[..., 2]
        xs = np.linspace(-1.0, 1.0, hsv.shape[1], dtype=np.float32)
        weight = np.broadcast_to(np.exp(-(xs / 0.6) ** 2), hsv.shape[:2])
        blocks.append(_named_and_hist(hsv, weight, lab_b))
    vec = np.clip(np.round(np.concatenate(blocks) * 255.0), 0, 255).astype(np.uint8)
    upper = COLOUR_NAMES[int(np.argmax(blocks[0][:N_NAMED]))]
    lower = COLOUR_NAMES[int(np.argmax(blocks[1][:N_NAMED]))]
    aspect = (y2 - y1) / max(x2 - x1, 1e-6)
    return Appearance(vec, upper, lower, build_of(aspect), float(aspect))


def unpack(blobs: np.ndarray) -> np.ndarray:
    """``(n, VECTOR_BYTES)`` uint8 -> float32 shares (each block sums to ~1)."""
    return np.asarray(blobs, dtype=np.float32).reshape(-1, VECTOR_BYTES) * np.float32(1.0 / 255.0)


def _lut_sum(packed: np.ndarray, columns: list[int], luts: np.ndarray) -> np.ndarray:
    """sum_k luts[k][packed[:, columns[k]]]: a per-column table lookup, no float copy of the
    whole matrix (a million rows score in tens of milliseconds)."""
    out = np.zeros(packed.shape[0], np.float32)
    for k, col in enumerate(columns):
        out += luts[k][packed[:, col]]
    return out


_LEVELS = np.arange(256, dtype=np.float32) / np.float32(255.0)


def colour_index(name: str) -> int:
    """Index of a named colour; ValueError naming the choices otherwise."""
    key = name.strip().lower().replace("gray", "grey")
    if key not in COLOUR_NAMES:
        raise ValueError(f"unknown colour {name!r}: expected one of {', '.join(COLOUR_NAMES)}")
    return COLOUR_NAMES.index(key)


def colour_weights(colours: list[str], also: list[str] | None = None, also_weight: float = BAG_WEIGHT) -> np.ndarray:
    """How far each of the 11 seen colours counts for a region described as ``colours``
    (its best similarity to any of them, :data:`COLOUR_SIMILARITY`), and for ``also`` (a
    bag's colours) at ``also_weight``; (11,) float32."""
    w = np.zeros(N_NAMED, np.float32)
    if colours:
        w = np.max([COLOUR_SIMILARITY[colour_index(c)] for c in colours], axis=0)
    if also:
        w = np.maximum(w, also_weight * np.max([COLOUR_SIMILARITY[colour_index(c)] for c in also], axis=0))
    return w.astype(np.float32)


def region_colour_score(packed: np.ndarray, region: str, colours: list[str],
                        bag: list[str] | None = None) -> np.ndarray:
    """How well each row (``(n, VECTOR_BYTES)`` uint8) of ``region`` matches ``colours``
    (0..1): the share of the region's pixels that are **any** of the colours given, near
    colours counting partly (:data:`COLOUR_SIMILARITY`; a seen colour counts with its
    best similarity to any colour given). A two-tone garment ("red, blue") scores the two
    shares together. Chosen on the PETS development set over the best single colour (same
    top-5, better top-1 and mean rank: docs/BENCHMARKS.md, "Missing-person search").
    ``bag``: the bag's colours, counting :data:`BAG_WEIGHT` where they are not also
    the garment's (a backpack covers the torso seen from behind)."""
    start = 0 if region == "upper" else BLOCK
    weights = colour_weights(colours, bag)  # (11,)
    keep = [k for k in range(N_NAMED) if weights[k] > 0]
    luts = _LEVELS[None, :] * weights[keep][:, None]
    return np.minimum(_lut_sum(packed, [start + k for k in keep], luts), 1.0)


def description_scores(packed: np.ndarray, *, upper: list[str] | None, lower: list[str] | None,
                       bag: list[str] | None = None, build: Build | None = None,
                       builds: np.ndarray | None = None, build_weight: float = 0.1) -> np.ndarray:
    """Score (0..1) of each packed row (``(n, VECTOR_BYTES)`` uint8) for a description: the
    **geometric mean** of the given regions' colour scores (each plus
    :data:`SCORE_FLOOR`; the more of the region in the colour, the higher: no saturation,
    so candidates do not tie), so a person must match both the top and the trousers given;
    ``bag`` colours count :data:`BAG_WEIGHT` in the torso region (with or without an upper
    colour); plus ``build_weight`` when the build class matches. The geometric mean and
    the bag weight were chosen on the development sets over the arithmetic mean and over
    a bag colour counting as a shirt colour (docs/BENCHMARKS.md)."""
    packed = np.asarray(packed, np.uint8).reshape(-1, VECTOR_BYTES)
    parts = []
    if upper or bag:
        torso = region_colour_score(packed, "upper", list(upper or []), bag=list(bag or []))
        if not upper:  # a bag alone: on the 0..1 scale of the other scores (the build stays a tenth)
            torso = np.minimum(torso / np.float32(BAG_WEIGHT), 1.0)
        parts.append(torso)
    if lower:
        parts.append(region_colour_score(packed, "lower", lower))
    if len(parts) == 2:
        f = np.float32(SCORE_FLOOR)
        score = np.clip(np.sqrt((parts[0] + f) * (parts[1] + f)) - f, 0.0, 1.0)
    elif parts:
        score = parts[0]
    else:
        score = np.zeros(len(packed), np.float32)
    if build is not None and builds is not None:
        score = score * (1.0 - build_weight) + build_weight * (np.asarray(builds) == Build(build).value)
    return score.astype(np.float32)


def photo_scores(packed: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Similarity (0..1) of each packed row (``(n, VECTOR_BYTES)`` uint8) to a packed query
    vector: the Bhattacharyya coefficient (sum of sqrt(p * q)) of the upper and of the lower
    hue/lightness histograms and of their named-colour shares, averaged."""
    packed = np.asarray(packed, np.uint8).reshape(-1, VECTOR_BYTES)
    q = np.sqrt(unpack(query)[0])
    sq = np.sqrt(_LEVELS)
    cols = [k for k in range(VECTOR_BYTES) if q[k] > 0]
    # each of the 4 blocks (named/hist x upper/lower) counts a quarter
    luts = np.stack([sq * q[k] for k in cols]) * np.float32(0.25)
    return np.minimum(_lut_sum(packed, cols, luts), 1.0)
