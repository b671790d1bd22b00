"""
Segmentation metrics, defined exactly as in src-main/evaluation/metrics.ts (tests compare them):

* Dice = 2|A∩B| / (|A|+|B|); both empty -> 1.
* NSD at tolerance t (mm): border voxels of a mask are its voxels with a 6-neighbour outside the
  mask (or outside the grid). NSD = (#{a in ∂A: d(a,∂B) <= t} + #{b in ∂B: d(b,∂A) <= t}) / (|∂A|+|∂B|),
  with exact Euclidean distances in mm between voxel centres. Both empty -> 1; one empty -> 0.
  (The DeepMind surface-distance code FLARE21 used weights surface elements by area; this voxel
  count version is the common simplification, e.g. MONAI use_subvoxels=False.)
* Volume difference = (|A| - |B|) * voxel volume, in mL (A = prediction, B = truth).
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence

import numpy as np
from scipy import ndimage


def dice(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = int(a.sum()), int(b.sum())
    if sa + sb == 0:
        return 1.0
    return 2.0 * int(np.logical_and(a, b).sum()) / (sa + sb)


def border(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1, constant_values=False)
    eroded = ndimage.binary_erosion(padded, structure=ndimage.generate_binary_structure(3, 1))[1:-1, 1:-1, 1:-1]
    return mask & ~eroded


def nsd(a: np.ndarray, b: np.ndarray, spacing: Sequence[float], tolerance_mm: float) -> float:
    """spacing per array axis (same order as the array)."""
    if not a.any() and not b.any():
        return 1.0
    if not a.any() or not b.any():
        return 0.0
    both = np.argwhere(a | b)
    lo, hi = both.min(0), both.max(0) + 1
    sl = tuple(slice(l, h) for l, h in zip(lo, hi))
    a, b = a[sl], b[sl]
    ba, bb = border(a), border(b)
    da = ndimage.distance_transform_edt(~bb, sampling=spacing)  # distance to B's border
    db = ndimage.distance_transform_edt(~ba, sampling=spacing)
    ok = int((da[ba] <= tolerance_mm).sum()) + int((db[bb] <= tolerance_mm).sum())
    return ok / (int(ba.sum()) + int(bb.sum()))


def evaluate(pred: np.ndarray, truth: np.ndarray, spacing: Sequence[float], labels: Iterable[int],
             tolerance_mm: float = 1.0) -> Dict[int, Dict[str, float]]:
    voxel_ml = float(np.prod(spacing)) / 1000.0
    out = {}
    for v in labels:
        a, b = pred == v, truth == v
        out[int(v)] = {
            'dice': dice(a, b), 'nsd': nsd(a, b, spacing, tolerance_mm),
            'volumePredMl': int(a.sum()) * voxel_ml, 'volumeTruthMl': int(b.sum()) * voxel_ml,
            'volumeDiffMl': (int(a.sum()) - int(b.sum())) * voxel_ml,
        }
    return out
