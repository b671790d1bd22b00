"""
Cases and training samples. A case is a CT (HU) and its labels as [z, y, x] arrays in the LPS
identity-direction frame (x -> patient left, y -> posterior, z -> superior), which is the frame
the inference engine resamples into before it runs the networks. Samples are drawn with random
rigid + scale + elastic transforms on valid-size grids centred on the organ box (docs/scn-model.md).
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
    # (low, high) HU when the stored CT was windowed (its voxels are clipped to that range)
    window: Optional[Tuple[float, float]] = None
    # label value of the organs' neighbours (make_real_dataset.py --neighbours): background that the
    # loss weighs more (train.py --neighbour-weight), never part of the organ box
    neighbour: Optional[int] = None
    _organ_shapes: Optional[Dict[int, Tuple[np.ndarray, float]]] = field(default=None, repr=False)

    def organ_shapes_mm(self) -> Dict[int, Tuple[np.ndarray, float]]:
        """Each labelled organ's centroid (case mm) and equivalent-sphere radius (mm), cached."""
        if self._organ_shapes is None:
            sp = np.array(self.spacing)
            shapes = {}
            for k in np.unique(self.labels):
                if k == 0 or k == self.neighbour:
                    continue
                idx = np.argwhere(self.labels == k)
                volume = len(idx) * float(np.prod(sp))
                shapes[int(k)] = (idx.mean(0) * sp, float((3 * volume / (4 * np.pi)) ** (1 / 3)))
            self._organ_shapes = shapes
        return self._organ_shapes

    def image_smoothed(self, sigma_mm: float) -> np.ndarray:
        """Gaussian-smoothed CT (sigma in mm), cached: the engine smooths before it downsamples."""
        if sigma_mm <= 0:
            return self.image
        if sigma_mm not in self.smoothed:
            self.smoothed[sigma_mm] = ndimage.gaussian_filter(self.image, [sigma_mm / s for s in self.spacing]).astype(np.float32)
        return self.smoothed[sigma_mm]

    def organ_box_mm(self) -> Tuple[np.ndarray, np.ndarray]:
        """(min, max) of the labelled voxels in case mm ([z, y, x] = index * spacing)."""
        organs = self.labels > 0 if self.neighbour is None else (self.labels > 0) & (self.labels != self.neighbour)
        idx = np.argwhere(organs)
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


def write_nnunet_case(folder: str, name: str, image_hu: np.ndarray, labels: np.ndarray, spacing, label_names: Dict[str, int],
                      origin_lps=None, extra: Optional[dict] = None) -> None:
    """Writes one case (arrays [z,y,x] LPS) into an nnU-Net v2 folder; used by tests and tools.
    origin_lps: world position (LPS mm) of voxel 0 (default 0). extra: per-case facts merged into
    dataset.json's "scn_studio" object (e.g. {"amos_0018": {"windowHU": [-160, 240]}})."""
    import nibabel as nib
    os.makedirs(os.path.join(folder, 'imagesTr'), exist_ok=True)
    os.makedirs(os.path.join(folder, 'labelsTr'), exist_ok=True)
    sz, sy, sx = spacing
    aff = np.diag([-sx, -sy, sz, 1.0])  # LPS index axes in RAS world
    if origin_lps is not None:
        aff[:3, 3] = [-origin_lps[0], -origin_lps[1], origin_lps[2]]
    nib.save(nib.Nifti1Image(np.transpose(image_hu, (2, 1, 0)).astype(np.int16), aff), os.path.join(folder, 'imagesTr', f'{name}_0000.nii.gz'))
    nib.save(nib.Nifti1Image(np.transpose(labels, (2, 1, 0)).astype(np.uint8), aff), os.path.join(folder, 'labelsTr', f'{name}.nii.gz'))
    ds = os.path.join(folder, 'dataset.json')
    old = json.load(open(ds)) if os.path.exists(ds) else {}
    n = len(glob.glob(os.path.join(folder, 'labelsTr', '*.nii.gz')))
    facts = {**old.get('scn_studio', {}), **(extra or {})}
    out = {'channel_names': {'0': 'CT'}, 'labels': {'background': 0, **label_names}, 'numTraining': n, 'file_ending': '.nii.gz'}
    if facts:
        out['scn_studio'] = facts
    json.dump(out, open(ds, 'w'), indent=2)


def dataset_case_facts(folder: str) -> Dict[str, dict]:
    """The per-case "scn_studio" facts of a dataset.json (window, source, licence), {} when absent."""
    ds = os.path.join(folder, 'dataset.json')
    return json.load(open(ds)).get('scn_studio', {}) if os.path.exists(ds) else {}


# ---------------------------------------------------------------------------------------------
# sampling with augmentation


@dataclass
class Normalization:
    """The card's 'clip-scale' normalization: x = clip((HU - offset) / scale, -1, 1). The authors'
    is offset 0, scale 2048. A window (e.g. L40/W400: offset 40, scale 200) gives soft tissue ten
    times the input contrast, and makes a CT stored windowed to that range (AMOS 0018) the same
    input as one in full HU."""
    offset: float = 0.0
    scale: float = 2048.0

    @staticmethod
    def window(low_hu: float, high_hu: float) -> 'Normalization':
        return Normalization((low_hu + high_hu) / 2, (high_hu - low_hu) / 2)

    def apply(self, hu: np.ndarray) -> np.ndarray:
        return np.clip((hu - self.offset) / self.scale, -1, 1).astype(np.float32)

    @staticmethod
    def of_run(args: dict) -> 'Normalization':
        """A segmentation run's (train.py --window LOW,HIGH in its checkpoint's args), else the authors'."""
        window = args.get('window')
        if not window:
            return Normalization()
        low, high = (float(v) for v in str(window).split(','))
        if not high > low:
            raise ValueError(f'window {window}: HIGH must be above LOW')
        return Normalization.window(low, high)

    @staticmethod
    def of_model(model_dir: str) -> 'Normalization':
        """The segmentation stage's, from an installed model folder's card (model.json)."""
        n = json.load(open(os.path.join(model_dir, 'model.json')))['stages']['segmentation']['normalization']
        return Normalization(float(n.get('offset', 0.0)), float(n['scale']))

    def card(self) -> dict:
        out = {'type': 'clip-scale', 'scale': self.scale, 'min': -1, 'max': 1}
        if self.offset:
            out['offset'] = self.offset
        return out


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


@dataclass
class Realism:
    """
    What three real cases cannot show on their own (issue 12): other scanners, phases, windows,
    slice thicknesses and lesions. Applied to the sampled HU grid, before normalisation; labels
    never change (a liver with a tumour is still liver in FLARE's labels).
    """
    p_phase: float = 0.4            # move each organ's median HU to a contrast phase drawn for the crop
    # Organ medians (HU) without contrast (t = 0) and in a portal-venous / nephrographic phase (t = 1),
    # labels 1..4 (liver, kidney, spleen, pancreas). The real cases span only part of this (kidney 14
    # and 27 HU in the two non-contrast cases, 163 HU in AMOS 0018), and a ±30 HU shift cannot take
    # one phase to the other: the leave-one-out slab lost its kidney rims.
    phase_hu: Tuple[Tuple[float, float], ...] = ((50.0, 125.0), (25.0, 190.0), (40.0, 130.0), (35.0, 110.0))
    phase_jitter_hu: float = 20.0   # per organ, on top of the phase (fatty liver, arterial spleen)
    p_organ_shift: float = 0.5      # per-label HU shift, each organ its own (and the neighbours, when labelled, as one group)
    organ_shift_hu: float = 30.0
    p_noise: float = 0.4            # white noise, sd up to noise_hu
    noise_hu: float = 12.0
    p_thick: float = 0.3            # extra blur along z (thick slices) up to thick_sigma voxels
    thick_sigma: float = 0.7
    p_window: float = 0.15          # clip to L40/W400, as the windowed AMOS case was stored
    window_hu: Tuple[float, float] = (-160.0, 240.0)
    p_lesion: float = 0.35          # 1-4 hypo- or hyperdense blobs inside the liver
    lesion_radius_vox: Tuple[float, float] = (1.5, 12.0)  # log-uniform: 6 mm nodules to 10 cm masses at 4 mm
    liver_label: int = 1

    @staticmethod
    def none() -> 'Realism':
        return Realism(p_phase=0, p_organ_shift=0, organ_shift_hu=0, p_noise=0, noise_hu=0, p_thick=0, thick_sigma=0, p_window=0, p_lesion=0)


def apply_realism(img: np.ndarray, lab: np.ndarray, inside: np.ndarray, rng: np.random.Generator, r: Realism,
                  window: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """img: sampled HU [z,y,x]; lab: its labels; inside: voxels that came from the CT (not padding)."""
    img = img.astype(np.float32, copy=True)
    if r.p_phase > 0 and rng.random() < r.p_phase:
        t = rng.uniform(0, 1)
        for k, (lo, hi) in enumerate(r.phase_hu, start=1):
            organ = (lab == k) & inside
            if organ.any():
                target = lo + t * (hi - lo) + rng.uniform(-r.phase_jitter_hu, r.phase_jitter_hu)
                img[organ] += target - float(np.median(img[organ]))
    if r.p_organ_shift > 0 and rng.random() < r.p_organ_shift:
        for k in np.unique(lab):
            if k > 0:
                img[lab == k] += rng.uniform(-r.organ_shift_hu, r.organ_shift_hu)
    if r.p_lesion > 0 and rng.random() < r.p_lesion:
        liver = np.argwhere(lab == r.liver_label)
        if len(liver):
            zz, yy, xx = np.ogrid[: img.shape[0], : img.shape[1], : img.shape[2]]
            for _ in range(int(rng.integers(1, 5))):
                c = liver[rng.integers(len(liver))]
                rad = np.exp(rng.uniform(*np.log(r.lesion_radius_vox))) * rng.uniform(0.7, 1.3, 3)
                blob = ((zz - c[0]) / rad[0]) ** 2 + ((yy - c[1]) / rad[1]) ** 2 + ((xx - c[2]) / rad[2]) ** 2 <= 1
                blob &= lab == r.liver_label
                shift = rng.uniform(-100, -20) if rng.random() < 0.8 else rng.uniform(20, 60)
                img[blob] += shift
    if r.p_thick > 0 and rng.random() < r.p_thick:
        img = ndimage.gaussian_filter1d(img, rng.uniform(0.2, r.thick_sigma), axis=0, mode='nearest')
    if r.p_noise > 0 and rng.random() < r.p_noise:
        img += rng.normal(0, rng.uniform(0, r.noise_hu), img.shape).astype(np.float32)
    clip = window
    if clip is None and r.p_window > 0 and rng.random() < r.p_window:
        clip = r.window_hu
    if clip is not None:
        img[inside] = np.clip(img[inside], clip[0], clip[1])
    return img


@dataclass
class OrganWarp:
    """
    Each organ grown or shrunk about its own centre, its surroundings following smoothly (issue 12).
    Three real cases show three livers, three spleens and three spatial configurations; the
    similarity and elastic transforms scale the whole crop, never one organ against its neighbours
    (hepatomegaly beside a small spleen, an atrophic kidney, a large pancreas head), which is what the
    SCN's spatial-configuration branch must not overfit. The displacement is d * (1/s - 1) * w with
    w = exp(-|d|^2 / 2 sigma^2), sigma = spread x the organ's equivalent radius: for s in
    [0.75, 1.35] the map stays one-to-one (radial Jacobian >= 1 - 0.45 |1/s - 1| > 0).
    """
    p: float = 0.5                                  # share of crops warped
    p_organ: float = 0.6                            # each organ present in the case, independently
    scale: Tuple[float, float] = (0.75, 1.35)       # log-uniform linear scale of an organ
    spread: float = 1.2


def organ_warp_points(pts: np.ndarray, case: Case, rng: np.random.Generator, warp: OrganWarp) -> np.ndarray:
    """pts: [3, N] sample points in case mm; returns the points that show each drawn organ scaled."""
    if rng.random() >= warp.p:
        return pts
    out = pts.copy()
    for k, (centre, radius) in sorted(case.organ_shapes_mm().items()):
        if rng.random() >= warp.p_organ or radius <= 0:
            continue
        s = float(np.exp(rng.uniform(*np.log(warp.scale))))
        d = out - centre[:, None]
        sigma = warp.spread * radius
        w = np.exp(-np.sum(d * d, 0) / (2 * sigma * sigma))
        out += d * ((1 / s - 1) * w)[None]   # sampling nearer the centre shows the organ larger
    return out


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
           aug: Augment, smoothing_mm: float, pad_hu: float = -1024.0, zrange_mm: Optional[Tuple[float, float]] = None,
           realism: Optional[Realism] = None, z_replicate: bool = False,
           norm: 'Normalization' = None,
           organ_warp: Optional[Tuple[OrganWarp, np.random.Generator]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """
    Resamples case onto a [z,y,x] grid of out_size at out_spacing centred at centre_mm (case mm),
    with a random similarity + elastic transform. Returns (normalised image float32, labels uint8).
    zrange_mm: keep only case z in [lo, hi] (a thin slab: the rest becomes padding, as beyond the
    edge of a real slab). realism: scanner/phase/lesion augmentation (Realism). z_replicate: beyond
    the case's (or the slab's) first and last slice repeat those slices, image and labels, instead
    of padding (the engine's zPadding 'replicate', src-main/inference/pipeline.ts). norm: HU -> network
    input (the card's normalization; default the authors' clip(HU / 2048, -1, 1)). organ_warp: scale
    single organs against their neighbours (OrganWarp), drawn from its own generator so that a run
    with it draws the same crops as one without.
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
    if organ_warp is not None:
        pts = organ_warp_points(pts, case, organ_warp[1], organ_warp[0])
    if z_replicate:
        lo, hi = zrange_mm if zrange_mm is not None else (0.0, (case.image.shape[0] - 1) * case.spacing[0])
        pts[0] = np.clip(pts[0], max(lo, 0.0), min(hi, (case.image.shape[0] - 1) * case.spacing[0]))
        zrange_mm = None
    src = pts / np.array(case.spacing)[:, None]
    img = ndimage.map_coordinates(case.image_smoothed(smoothing_mm), src, order=1, mode='constant', cval=pad_hu).reshape(size)
    lab = ndimage.map_coordinates(case.labels, src, order=0, mode='constant', cval=0).reshape(size)
    shape = np.array(case.image.shape)[:, None]
    inside = np.all((src > -0.5) & (src < shape - 0.5), axis=0).reshape(size)
    if zrange_mm is not None:
        out = ((pts[0] < zrange_mm[0]) | (pts[0] > zrange_mm[1])).reshape(size)
        img[out] = pad_hu
        lab[out] = 0
        inside &= ~out
    if realism is not None or case.window is not None:
        img = apply_realism(img, lab, inside, rng, realism or Realism.none(), case.window)
    x = (norm or Normalization()).apply(img)
    if aug.intensity_scale > 0 or aug.intensity_shift > 0:
        x = x * (1 + rng.uniform(-aug.intensity_scale, aug.intensity_scale)) + rng.uniform(-aug.intensity_shift, aug.intensity_shift)
    return x.astype(np.float32), lab.astype(np.uint8)


def segmentation_centre(case: Case, out_size: Sequence[int], out_spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Centre on the organ box; when the crop is smaller than the box, move it randomly inside the box."""
    lo, hi = case.organ_box_mm()
    c = (lo + hi) / 2
    slack = np.maximum(0, (hi - lo) - np.array(out_size) * out_spacing) / 2
    return c + rng.uniform(-1, 1, 3) * slack


# The segmentation network's valid sizes ([z, y, x]; the card's validSizes) and the engine's two
# ways of choosing what it sees (src-main/inference/pipeline.ts): the localization box plus a margin,
# or, for a slab or when localization finds nothing, the whole field of view.
SEG_VALID = [list(range(32, 161, 32)), list(range(32, 129, 32)), list(range(32, 161, 32))]


def organ_box_draw(case: Case, spacing: float, rng: np.random.Generator, margin_mm=(5.0, 40.0), valid=SEG_VALID):
    """(size, centre) as the engine crops after localization: organ box + margin, next valid size."""
    lo, hi = case.organ_box_mm()
    margin = rng.uniform(margin_mm[0], margin_mm[1], 3)
    extent = hi - lo + 2 * margin
    return valid_size_for(extent, spacing, valid), (lo + hi) / 2 + (margin - margin.mean()) * rng.uniform(-0.5, 0.5, 3)


def slab_draw(case: Case, spacing: float, rng: np.random.Generator, thickness_mm=(25.0, 220.0), valid=SEG_VALID):
    """(size, centre, zrange) of a random thin slab through the organs seen as the engine sees a slab:
    its whole field of view, the next valid size, centred on it."""
    lo, hi = case.organ_box_mm()
    fov = (np.array(case.image.shape) - 1) * np.array(case.spacing)
    t = min(rng.uniform(*thickness_mm), fov[0])
    zc = rng.uniform(lo[0], hi[0])
    z0 = float(np.clip(zc - t / 2, 0, max(0.0, fov[0] - t)))
    z1 = z0 + t
    extent = np.array([t, fov[1], fov[2]])
    size = valid_size_for(extent, spacing, valid)
    centre = np.array([(z0 + z1) / 2, fov[1] / 2, fov[2] / 2])
    return size, centre, (z0, z1)


def fov_draw(case: Case, rng: np.random.Generator, min_mm: float = 200.0) -> Case:
    """The case cut to a random foot-to-head field of view of at least min_mm (the localization
    stage only runs on scans that long): a scan of the pelvis and lower abdomen, or of the chest and
    upper abdomen, has its organs elsewhere in the field than a whole-abdomen scan. Organs cut by
    the field keep the labels of what remains; the smoothing cache is cut with it."""
    n = case.image.shape[0]
    keep = int(np.ceil(min_mm / case.spacing[0])) + 1
    if keep >= n:
        return case
    length = int(rng.integers(keep, n + 1))
    z0 = int(rng.integers(0, n - length + 1))
    cut = Case(case.name, case.image[z0:z0 + length], case.labels[z0:z0 + length], case.spacing, window=case.window, neighbour=case.neighbour)
    cut.smoothed = {k: v[z0:z0 + length] for k, v in case.smoothed.items()}
    return cut


LOC_VALID = [list(range(32, 257, 16)), [32, 48, 64, 80], [32, 48, 64, 80]]


def localization_sample(case: Case, out_size: Optional[Sequence[int]], rng: np.random.Generator, aug: Augment,
                        spacing_mm: float = 6.0, smoothing_mm: float = 3.0, realism: Optional[Realism] = None):
    """Whole CT at 6 mm centred on the image centre (the engine pads the CT to a valid size; with
    out_size None the size is the engine's: the smallest valid size that covers the CT)."""
    centre = (np.array(case.image.shape) - 1) / 2 * np.array(case.spacing)
    if out_size is None:
        out_size = valid_size_for((np.array(case.image.shape) - 1) * np.array(case.spacing), spacing_mm, LOC_VALID)
    x, lab = sample(case, out_size, spacing_mm, centre, rng, aug, smoothing_mm, realism=realism)
    return x, (lab > 0).astype(np.uint8)


def valid_size_for(extent_mm: np.ndarray, spacing: float, valid: Sequence[Sequence[int]]) -> List[int]:
    """Smallest valid size per axis ([z,y,x] lists) that covers extent_mm, else the largest."""
    out = []
    for e, vs in zip(extent_mm, valid):
        need = e / spacing
        out.append(next((v for v in vs if v >= need), vs[-1]))
    return out
