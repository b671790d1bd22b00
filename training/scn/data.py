"""
Cases and training samples. A case is a CT (HU) and its labels as [z, y, x] arrays in the LPS
identity-direction frame (x -> patient left, y -> posterior, z -> superior), which is the frame
the inference engine resamples into before it runs the networks. Samples are drawn with random
rigid + scale + elastic transforms on valid-size grids centred on the organ box (DESIGN.md §3).
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

LPS = (('L', 'P', 'S'))


@dataclass
class Case:
    name: str
    image: np.ndarray            # float32 HU [z, y, x]
    labels: np.ndarray           # uint8 [z, y, x]
    spacing: Tuple[float, float, float]  # (sz, sy, sx) mm
    smoothed: Dict[float, np.ndarray] = field(default_factory=dict)

    def image_smoothed(self, sigma_mm: float) -> np.ndarray:
        """Gaussian-smoothed CT (sigma in mm), cached: the engine smooths before it downsamples."""
        if sigma_mm <= 0:
            return self.image
        if sigma_mm not in self.smoothed:
            self.smoothed[sigma_mm] = ndimage.gaussian_filter(self.image, [sigma_mm / s for s in self.spacing]).astype(np.float32)
        return self.smoothed[sigma_mm]

    def organ_box_mm(self) -> Tuple[np.ndarray, np.ndarray]:
        """(min, max) of the labelled voxels in case mm ([z, y, x] = index * spacing)."""
        idx = np.argwhere(self.labels > 0)
        if len(idx) == 0:
            c = (np.array(self.labels.shape) - 1) / 2 * np.array(self.spacing)
            return c, c
        sp = np.array(self.spacing)
        return idx.min(0) * sp, idx.max(0) * sp


def apply_label_map(labels: np.ndarray, mapping: Optional[Dict[int, int]]) -> np.ndarray:
    if not mapping:
        return labels.astype(np.uint8)
    lut = np.zeros(max(int(labels.max()), max(mapping)) + 1, np.uint8)
    for a, b in mapping.items():
        lut[a] = b
    return lut[labels.astype(np.int64)]


def load_nifti_lps(path: str, dtype=np.float32) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """NIfTI -> ([z, y, x] array in LPS identity orientation, (sz, sy, sx))."""
    import nibabel as nib
    img = nib.load(path)
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(img.affine), nib.orientations.axcodes2ornt(LPS))
    data = nib.orientations.apply_orientation(np.asanyarray(img.dataobj), ornt)
    zooms = np.array(img.header.get_zooms()[:3], float)
    zooms = zooms[ornt[:, 0].argsort()] if False else _permuted_zooms(zooms, ornt)
    return np.ascontiguousarray(np.transpose(data, (2, 1, 0))).astype(dtype), (float(zooms[2]), float(zooms[1]), float(zooms[0]))


def _permuted_zooms(zooms, ornt):
    out = np.zeros(3)
    for i, (axis, _) in enumerate(ornt):
        out[int(axis)] = zooms[i]
    return out


def load_case(image_path: str, label_path: str, label_map: Optional[Dict[int, int]] = None, name: Optional[str] = None) -> Case:
    image, sp = load_nifti_lps(image_path, np.float32)
    labels, sp2 = load_nifti_lps(label_path, np.int32)
    if image.shape != labels.shape or not np.allclose(sp, sp2, atol=1e-3):
        raise ValueError(f'{label_path}: the labels grid {labels.shape} {sp2} differs from the image {image.shape} {sp}')
    return Case(name or os.path.basename(image_path), image, apply_label_map(labels, label_map), sp)


def nnunet_cases(folder: str) -> List[Tuple[str, str, str]]:
    """(name, image, labels) of an nnU-Net v2 dataset folder (imagesTr/X_0000.nii.gz, labelsTr/X.nii.gz)."""
    ds = os.path.join(folder, 'dataset.json')
    if not os.path.exists(ds):
        raise FileNotFoundError(f'{folder}: no dataset.json (not an nnU-Net v2 dataset folder)')
    meta = json.load(open(ds))
    ending = meta.get('file_ending', '.nii.gz')
    out = []
    for img in sorted(glob.glob(os.path.join(folder, 'imagesTr', f'*_0000{ending}'))):
        name = os.path.basename(img)[: -len(f'_0000{ending}')]
        lab = os.path.join(folder, 'labelsTr', name + ending)
        if not os.path.exists(lab):
            raise FileNotFoundError(f'{lab}: labels for {img} are missing')
        out.append((name, img, lab))
    if not out:
        raise FileNotFoundError(f'{folder}/imagesTr: no *_0000{ending} images')
    return out


def write_nnunet_case(folder: str, name: str, image_hu: np.ndarray, labels: np.ndarray, spacing, label_names: Dict[str, int]) -> None:
    """Writes one case (arrays [z,y,x] LPS) into an nnU-Net v2 folder; used by tests and tools."""
    import nibabel as nib
    os.makedirs(os.path.join(folder, 'imagesTr'), exist_ok=True)
    os.makedirs(os.path.join(folder, 'labelsTr'), exist_ok=True)
    sz, sy, sx = spacing
    aff = np.diag([-sx, -sy, sz, 1.0])  # LPS index axes in RAS world
    nib.save(nib.Nifti1Image(np.transpose(image_hu, (2, 1, 0)).astype(np.int16), aff), os.path.join(folder, 'imagesTr', f'{name}_0000.nii.gz'))
    nib.save(nib.Nifti1Image(np.transpose(labels, (2, 1, 0)).astype(np.uint8), aff), os.path.join(folder, 'labelsTr', f'{name}.nii.gz'))
    ds = os.path.join(folder, 'dataset.json')
    n = len(glob.glob(os.path.join(folder, 'labelsTr', '*.nii.gz')))
    json.dump({'channel_names': {'0': 'CT'}, 'labels': {'background': 0, **label_names}, 'numTraining': n, 'file_ending': '.nii.gz'}, open(ds, 'w'), indent=2)


# ---------------------------------------------------------------------------------------------
# sampling with augmentation


@dataclass
class Augment:
    translation_mm: float = 20.0
    rotation_rad: float = 0.35
    scale: float = 0.2
    scale_axis: float = 0.1
    elastic_grid: int = 8
    elastic_mm: float = 15.0
    intensity_shift: float = 0.2
    intensity_scale: float = 0.2

    @staticmethod
    def none() -> 'Augment':
        return Augment(0, 0, 0, 0, 0, 0, 0, 0)


def _rotation(angles):
    out = np.eye(3)
    for axis, a in enumerate(angles):
        c, s = np.cos(a), np.sin(a)
        r = np.eye(3)
        i, j = [k for k in range(3) if k != axis]
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
        out = r @ out
    return out


def sample(case: Case, out_size: Sequence[int], out_spacing: float, centre_mm: np.ndarray, rng: np.random.Generator,
           aug: Augment, smoothing_mm: float, pad_hu: float = -1024.0) -> Tuple[np.ndarray, np.ndarray]:
    """
    Resamples case onto a [z,y,x] grid of out_size at out_spacing centred at centre_mm (case mm),
    with a random similarity + elastic transform. Returns (normalised image float32, labels uint8).
    """
    size = np.array(out_size)
    grid = np.stack(np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * out_spacing for n in size], indexing='ij'), 0).reshape(3, -1)
    A = np.eye(3)
    if aug.rotation_rad > 0:
        A = _rotation(rng.uniform(-aug.rotation_rad, aug.rotation_rad, 3))
    if aug.scale > 0 or aug.scale_axis > 0:
        A = A @ np.diag((1 + rng.uniform(-aug.scale, aug.scale)) * (1 + rng.uniform(-aug.scale_axis, aug.scale_axis, 3)))
    t = centre_mm + (rng.uniform(-aug.translation_mm, aug.translation_mm, 3) if aug.translation_mm > 0 else 0)
    pts = A @ grid + t[:, None]
    if aug.elastic_grid > 0 and aug.elastic_mm > 0:
        extent = size * out_spacing
        node = extent / (aug.elastic_grid - 1)
        amp = np.minimum(aug.elastic_mm, 0.4 * node)  # keep the field fold-free on small crops
        for d in range(3):
            coarse = rng.uniform(-1, 1, (aug.elastic_grid,) * 3) * amp[d]
            pts[d] += ndimage.zoom(coarse, size / aug.elastic_grid, order=3, mode='nearest')[: size[0], : size[1], : size[2]].reshape(-1)
    src = pts / np.array(case.spacing)[:, None]
    img = ndimage.map_coordinates(case.image_smoothed(smoothing_mm), src, order=1, mode='constant', cval=pad_hu).reshape(size)
    lab = ndimage.map_coordinates(case.labels, src, order=0, mode='constant', cval=0).reshape(size)
    x = np.clip(img / 2048.0, -1, 1).astype(np.float32)
    if aug.intensity_scale > 0 or aug.intensity_shift > 0:
        x = x * (1 + rng.uniform(-aug.intensity_scale, aug.intensity_scale)) + rng.uniform(-aug.intensity_shift, aug.intensity_shift)
    return x.astype(np.float32), lab.astype(np.uint8)


def segmentation_centre(case: Case, out_size: Sequence[int], out_spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Centre on the organ box; when the crop is smaller than the box, move it randomly inside the box."""
    lo, hi = case.organ_box_mm()
    c = (lo + hi) / 2
    slack = np.maximum(0, (hi - lo) - np.array(out_size) * out_spacing) / 2
    return c + rng.uniform(-1, 1, 3) * slack


def localization_sample(case: Case, out_size: Sequence[int], rng: np.random.Generator, aug: Augment,
                        spacing_mm: float = 6.0, smoothing_mm: float = 3.0):
    """Whole CT at 6 mm centred on the image centre (the engine pads the CT to a valid size)."""
    centre = (np.array(case.image.shape) - 1) / 2 * np.array(case.spacing)
    x, lab = sample(case, out_size, spacing_mm, centre, rng, aug, smoothing_mm)
    return x, (lab > 0).astype(np.uint8)


def valid_size_for(extent_mm: np.ndarray, spacing: float, valid: Sequence[Sequence[int]]) -> List[int]:
    """Smallest valid size per axis ([z,y,x] lists) that covers extent_mm, else the largest."""
    out = []
    for e, vs in zip(extent_mm, valid):
        need = e / spacing
        out.append(next((v for v in vs if v >= need), vs[-1]))
    return out
