"""
Synthetic abdomen phantoms for training (SynthSeg-style): plausible anatomy with randomised organ
positions, sizes, orientations and a smooth random deformation, and randomised tissue intensities
(half of them near real portal-venous HU, half arbitrary), so that a model can learn the spatial
configuration of the organs from more than the one real case we have. Arrays are [z, y, x] in the
LPS identity-direction frame the inference engine uses (x -> patient left, y -> posterior, z -> superior).

The anatomy follows src-main/volumes/phantom.ts (so that the TypeScript phantom, which training
never sees, is a fair held-out test), with random variation on top.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

HU = {'fat': -100, 'muscle': 50, 'bone': 450, 'liver': 100, 'kidney': 160, 'spleen': 120, 'pancreas': 80,
      'soft': 20, 'vessel': 180, 'stomach': 10, 'gas': -700, 'lung': -850, 'myocardium': 90}
TISSUES = ['fat', 'muscle', 'bone', 'liver', 'kidney', 'spleen', 'pancreas', 'soft', 'vessel', 'stomach', 'gas']
THORAX_TISSUES = ['lung', 'myocardium']  # drawn by the thorax's own generator (generate_phantom thorax=True)


def _rot(rng, max_rad):
    a = rng.uniform(-max_rad, max_rad, 3)
    cx, sx, cy, sy, cz, sz = np.cos(a[0]), np.sin(a[0]), np.cos(a[1]), np.sin(a[1]), np.cos(a[2]), np.sin(a[2])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _put_thorax(rng, X, Y, Z, s, inner, liver, spine, vessels, ribs, put, mean, std, synth_intensity):
    """Diaphragm, lungs and heart above the liver; returns the mask below the diaphragm (where organs may be)
    and the liver's left lobe.
    The domes follow the liver's top (right) and sit lower on the left and under the heart (central
    tendon); the diaphragm reaches further down at the back and the sides (the costophrenic recesses)."""
    top = liver.c[2] + liver.r[2] * rng.uniform(0.8, 1.0)
    z_left = top - rng.uniform(0, 25) * s
    z_centre = min(top, z_left) - rng.uniform(5, 25) * s
    dome = (z_centre + (top - z_centre) * np.exp(-((X + 60 * s) / (55 * s)) ** 2)
            + (z_left - z_centre) * np.exp(-((X - 65 * s) / (50 * s)) ** 2)
            - rng.uniform(0.3, 0.7) * np.clip(Y - 10 * s, 0, None) - 0.4 * np.clip(np.abs(X) - 100 * s, 0, None))
    thickness = rng.uniform(3, 7)
    chest = inner & (Z > dome)
    heart = _Ellipsoid(rng, [15, -30, 0], [60, 45, 55], 12, (0.85, 1.15), 0.3, s)
    heart.c[2] = z_centre + heart.r[2] * rng.uniform(0.6, 0.9)  # resting on the central tendon
    hq = heart.q(X, Y, Z)
    chambers = rng.uniform(0.35, 0.6) ** 2
    mediastinum = chest & (np.abs(X - 5 * s) < 30 * s) & (Y > -15 * s)
    if synth_intensity:
        mean['lung'], mean['myocardium'] = rng.uniform(-1000, -200), rng.uniform(-200, 300)
    else:
        mean['lung'] = HU['lung'] + rng.uniform(-60, 60)
        # half the hearts' muscle as dense as this phantom's liver: the confusion the network must learn to avoid
        mean['myocardium'] = mean['liver'] + rng.uniform(-25, 25) if rng.random() < 0.5 else HU['myocardium'] + rng.uniform(-40, 40)
    std['lung'], std['myocardium'] = rng.uniform(20, 80), rng.uniform(3, 25)
    put(chest, 'lung')
    put(mediastinum, 'soft')
    put(chest & (hq <= 1.25), 'fat')  # pericardial fat
    put(chest & (hq <= 1), 'myocardium')
    put(chest & (hq <= chambers), 'vessel')  # blood, as dense as the great vessels
    put(inner & (Z > dome - thickness) & (Z <= dome), 'muscle')  # the diaphragm
    put(chest & (spine | ribs), 'bone')
    put(chest & vessels & ~(hq <= 1), 'vessel')
    # the left lobe, continuous with the right: across the midline in front of the stomach, right under the
    # heart, tapering to a thin edge towards the left wall (the abdomen-only phantom's liver stops at the
    # midline, so a heart above it alone taught that liver-dense tissue there is never liver). A first,
    # small lobe (55x22x28 mm radii, not tapered) was not enough: real lobes at the dome's level reach
    # two thirds of the way to the left wall and are 60-80 mm thick at the midline (dcmqi's 3-slice CT)
    lobe = _Ellipsoid(rng, [10, -35, 0], [80, 38, 35], 10, (0.7, 1.25), 0.25, s)
    lobe.c[2] = z_centre - lobe.r[2] * rng.uniform(0.2, 0.7)
    d = lobe.frame(X, Y, Z)
    thin = 1 - rng.uniform(0.5, 0.8) * np.clip(d[0] / lobe.r[0], 0, 1)  # thinner towards the left
    in_lobe = (d[0] / lobe.r[0]) ** 2 + (d[1] / (lobe.r[1] * thin)) ** 2 + (d[2] / lobe.r[2]) ** 2 <= 1
    return Z <= dome - thickness, in_lobe


class _Ellipsoid:
    def __init__(self, rng, c, r, jitter_mm, scale_range, rot_rad, s):
        self.c = np.array(c, float) * s + rng.uniform(-jitter_mm, jitter_mm, 3)
        self.r = np.array(r, float) * s * rng.uniform(*scale_range, 3)
        self.R = _rot(rng, rot_rad)

    def frame(self, X, Y, Z):
        """Coordinates in the ellipsoid's own rotated frame, centred on it ([3, ...])."""
        return np.tensordot(self.R.T, np.stack([X - self.c[0], Y - self.c[1], Z - self.c[2]], 0), axes=1)

    def q(self, X, Y, Z):
        d = self.frame(X, Y, Z)
        return (d[0] / self.r[0]) ** 2 + (d[1] / self.r[1]) ** 2 + (d[2] / self.r[2]) ** 2


def generate_phantom(seed: int, shape_zyx=(112, 96, 120), spacing=3.0, synth_intensity=None, thorax=False):
    """Returns (image int16 HU [z,y,x], labels uint8 [z,y,x] FLARE values, spacing (sz,sy,sx)).

    thorax: above a diaphragm that caps the liver and spleen, lungs and a heart, and under the heart the
    liver's left lobe across the midline (train.py --phantom-thorax).
    Without it the abdomen simply continues upwards, so the networks never see the lower heart that sits
    on the liver in every scan reaching the dome (its blood and muscle have liver-like HU; a network that
    did not see AMOS 0018 spilled 140-330 mL of liver into it and onto the dome). Its draws come from
    their own generator, so a phantom's abdominal anatomy is the same with and without it (its noise is not)."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape_zyx
    s = rng.uniform(0.85, 1.15)
    # world mm coordinates of voxel centres, body centred; a random z offset moves the field of view
    z0 = rng.uniform(-60, 40)
    zz, yy, xx = np.meshgrid((np.arange(nz) - (nz - 1) / 2) * spacing + z0, (np.arange(ny) - (ny - 1) / 2) * spacing,
                             (np.arange(nx) - (nx - 1) / 2) * spacing, indexing='ij')
    # smooth random deformation (coarse 5^3 grid, +-10 mm)
    disp = [ndimage.zoom(rng.uniform(-10, 10, (5, 5, 5)), (nz / 5, ny / 5, nx / 5), order=3)[:nz, :ny, :nx] for _ in range(3)]
    X, Y, Z = xx + disp[0], yy + disp[1], zz + disp[2]

    body = (X / (160 * s * rng.uniform(0.9, 1.1))) ** 2 + (Y / (115 * s * rng.uniform(0.9, 1.1))) ** 2 <= 1
    wall = (X / (145 * s)) ** 2 + (Y / (100 * s)) ** 2 <= 1
    cavity = (X / (130 * s)) ** 2 + ((Y + 5 * s) / (85 * s)) ** 2 <= 1
    spine = (X / (20 * s)) ** 2 + ((Y - 75 * s) / (18 * s)) ** 2 <= 1
    aorta = ((X - 15 * s) / (11 * s)) ** 2 + ((Y - 45 * s) / (11 * s)) ** 2 <= 1
    ivc = ((X + 20 * s) / (12 * s)) ** 2 + ((Y - 35 * s) / (10 * s)) ** 2 <= 1

    liver = _Ellipsoid(rng, [-65, -5, 45], [70, 70, 65], 12, (0.85, 1.15), 0.2, s)
    spleen = _Ellipsoid(rng, [85, 40, 55], [30, 40, 50], 12, (0.75, 1.25), 0.3, s)
    kid_r = _Ellipsoid(rng, [-60, 55, -15], [26, 26, 55], 10, (0.85, 1.15), 0.25, s)
    kid_l = _Ellipsoid(rng, [60, 55, -5], [26, 26, 55], 10, (0.85, 1.15), 0.25, s)
    stomach = _Ellipsoid(rng, [45, -35, 45], [45, 30, 40], 15, (0.6, 1.2), 0.4, s)
    p0 = np.array([-15, 10, 5]) * s + rng.uniform(-10, 10, 3)
    p1 = np.array([70, 30, 30]) * s + rng.uniform(-12, 12, 3)
    pr = 13 * s * rng.uniform(0.7, 1.2)

    if synth_intensity is None:
        synth_intensity = rng.random() < 0.5
    if synth_intensity:
        mean = {t: rng.uniform(-200, 300) for t in TISSUES}
        mean['fat'] = rng.uniform(-200, 0)
        mean['gas'] = rng.uniform(-1000, -300)
    else:
        mean = {t: HU[t] + rng.uniform(-40, 40) for t in TISSUES}
    std = {t: rng.uniform(3, 25) for t in TISSUES}
    T_ALL = TISSUES + THORAX_TISSUES

    img = np.full(X.shape, -1000.0, np.float32)
    lab = np.zeros(X.shape, np.uint8)
    tissue = np.full(X.shape, -1, np.int8)
    T = {t: i for i, t in enumerate(T_ALL)}

    def put(mask, t, label=None):
        tissue[mask] = T[t]
        if label is not None:
            lab[mask] = label

    put(body, 'fat')
    put(body & wall, 'muscle')
    inner = body & cavity
    put(inner, 'soft')
    # bowel loops: blobs of soft tissue, fluid and gas
    blobs = ndimage.gaussian_filter(rng.normal(size=X.shape).astype(np.float32), 4) 
    put(inner & (blobs > 0.08), 'stomach')
    put(inner & (blobs < -0.12), 'gas')
    put(inner & spine, 'bone')
    ring = (X / (130 * s)) ** 2 + ((Y + 5 * s) / (85 * s)) ** 2
    ribs = inner & (Z > 20 * s) & (ring > 0.88) & (np.mod(Z / s, 25) < 8)
    put(ribs, 'bone')
    put(inner & (aorta | ivc), 'vessel')
    put(inner & (stomach.q(X, Y, Z) <= 1), 'stomach')
    below_diaphragm, left_lobe = np.ones(X.shape, bool), np.zeros(X.shape, bool)
    if thorax:
        below_diaphragm, left_lobe = _put_thorax(np.random.default_rng([seed, 7]), X, Y, Z, s, inner, liver, spine, aorta | ivc, ribs,
                                      put, mean, std, synth_intensity)
    pd = p1 - p0
    t = np.clip(((X - p0[0]) * pd[0] + (Y - p0[1]) * pd[1] + (Z - p0[2]) * pd[2]) / (pd @ pd), 0, 1)
    pan = inner & ((X - p0[0] - t * pd[0]) ** 2 + (Y - p0[1] - t * pd[1]) ** 2 + (Z - p0[2] - t * pd[2]) ** 2 <= pr * pr)
    pan &= below_diaphragm
    liv = inner & below_diaphragm & (((liver.q(X, Y, Z) <= 1) & ~((X > -20 * s) & (Y > 20 * s))) | left_lobe) & ~pan
    spl = inner & below_diaphragm & (spleen.q(X, Y, Z) <= 1) & ~pan & ~liv
    kid = inner & below_diaphragm & ((kid_r.q(X, Y, Z) <= 1) | (kid_l.q(X, Y, Z) <= 1)) & ~pan & ~liv & ~spl
    put(kid, 'kidney', 2)
    put(spl, 'spleen', 3)
    put(liv, 'liver', 1)
    put(pan, 'pancreas', 4)

    for name, i in T.items():
        m = tissue == i
        n = int(m.sum())
        if n:
            img[m] = mean[name] + std[name] * rng.standard_normal(n).astype(np.float32)
    # texture and partial-volume blur
    img += ndimage.gaussian_filter(rng.normal(size=X.shape).astype(np.float32), 2) * rng.uniform(0, 60)
    img = ndimage.gaussian_filter(img, rng.uniform(0.3, 1.0))
    img += rng.normal(0, rng.uniform(2, 15), img.shape).astype(np.float32)
    img = np.clip(np.round(img), -1024, 3071).astype(np.int16)
    return img, lab, (spacing, spacing, spacing)
