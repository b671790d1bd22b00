"""
The two-stage pipeline in PyTorch, as the engine (src-main/inference) runs it on the ONNX graphs:
used for validation during training and for the metrics in the model card.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from scipy import ndimage

from .data import Augment, Case, Normalization, sample, valid_size_for
from .networks import LocalizationNet, SpatialConfigurationNet

LOC_VALID = [list(range(32, 257, 16)), [32, 48, 64, 80], [32, 48, 64, 80]]  # z, y, x
SEG_VALID = [[32, 64, 96, 128, 160], [32, 64, 96, 128], [32, 64, 96, 128, 160]]


def _fit_spacing(extent_mm: np.ndarray, base: float, valid, grow: float) -> float:
    maxs = np.array([v[-1] for v in valid])
    need = extent_mm / maxs
    return base if (need <= base).all() else float(need.max()) * grow if grow > 1 else float(need.max()) + grow


@torch.no_grad()
def localize(net: LocalizationNet, case: Case, margin_mm: float = 10.0) -> Tuple[np.ndarray, np.ndarray]:
    """Foreground box (case mm, [z,y,x]) + margin."""
    extent = np.array(case.image.shape) * np.array(case.spacing)
    spacing = _fit_spacing(extent, 6.0, LOC_VALID, 1.02)
    size = valid_size_for(extent, spacing, LOC_VALID)
    centre = (np.array(case.image.shape) - 1) / 2 * np.array(case.spacing)
    x, _ = sample(case, size, spacing, centre, np.random.default_rng(0), Augment.none(), 3.0)
    probs = torch.softmax(net(torch.from_numpy(x)[None, None]), 1)[0].numpy()
    fg = probs.argmax(0) == 1
    if not fg.any():
        return centre - 50, centre + 50
    idx = np.argwhere(fg)
    half = (np.array(size) - 1) / 2
    lo = (idx.min(0) - half) * spacing + centre - margin_mm
    hi = (idx.max(0) - half) * spacing + centre + margin_mm
    return lo, hi


@torch.no_grad()
def segment_box(net: SpatialConfigurationNet, case: Case, lo: np.ndarray, hi: np.ndarray, seg_spacing: float = 2.0,
                norm: Normalization = None) -> np.ndarray:
    """Labels on the case grid: SCN on the box at seg_spacing (2 mm), probabilities resampled back linearly, argmax.
    norm: the segmentation stage's input normalization (the card's; default the authors' HU / 2048)."""
    extent = hi - lo
    spacing = _fit_spacing(extent, seg_spacing, SEG_VALID, 0.1)
    size = valid_size_for(extent, spacing, SEG_VALID)
    centre = (lo + hi) / 2
    x, _ = sample(case, size, spacing, centre, np.random.default_rng(0), Augment.none(), seg_spacing / 2, norm=norm)
    probs = net(torch.from_numpy(x)[None, None])[3][0].numpy()
    # case voxels inside the box -> network grid coordinates
    sp = np.array(case.spacing)
    ilo = np.maximum(0, np.floor(lo / sp)).astype(int)
    ihi = np.minimum(np.array(case.image.shape) - 1, np.ceil(hi / sp)).astype(int)
    grids = np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(ilo, ihi)], indexing='ij')
    coords = np.stack([(g * s - c) / spacing + (n - 1) / 2 for g, s, c, n in zip(grids, sp, centre, size)], 0)
    best = np.full(grids[0].shape, -1.0, np.float32)
    lab = np.zeros(grids[0].shape, np.uint8)
    for ch in range(probs.shape[0]):
        p = ndimage.map_coordinates(probs[ch], coords.reshape(3, -1), order=1, mode='nearest').reshape(best.shape)
        better = p > best
        best[better] = p[better]
        lab[better] = ch
    out = np.zeros(case.image.shape, np.uint8)
    out[ilo[0]:ihi[0] + 1, ilo[1]:ihi[1] + 1, ilo[2]:ihi[2] + 1] = lab
    return out


def segment(loc: LocalizationNet, seg: SpatialConfigurationNet, case: Case, seg_spacing: float = 2.0,
            norm: Normalization = None) -> np.ndarray:
    loc.eval()
    seg.eval()
    lo, hi = localize(loc, case)
    return segment_box(seg, case, lo, hi, seg_spacing, norm)
