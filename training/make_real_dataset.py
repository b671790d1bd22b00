#!/usr/bin/env python3
"""
Turns every real labelled CT in ../shared/data (each folder's README) into one nnU-Net v2 dataset in the
engine's LPS frame, with our label values (1 liver, 2 kidney, 3 spleen, 4 pancreas):

  /usr/bin/python3 training/make_real_dataset.py --data ../shared/data --out /tmp/Dataset501_Real

Cases (each skipped with a note when its files are absent):
- example_ct      TotalSegmentator example, 3 mm, real HU, automatic labels (TotalSegmentator ids mapped)
- amos_0018       AMOS whole abdomen, stored 8-bit windowed L40/W400: mapped back to HU
                  (value / 255 * 400 - 160), so it is clipped to [-160, 240]; dataset.json records that
                  window so that training reproduces the clipping on the other cases (scn/data.py)
- amos_0001-slab  AMOS 11-slice slab, DICOM in HU with label DICOMs (rows run toward the front)

The images keep their world position (NIfTI affine from the DICOM geometry where there is one), so a
model's prediction on the original DICOM can be scored against these labels voxel for voxel.
dataset.json carries an extra "scn_studio" object: per case its source, licence, label kind and
window. Nothing is written inside the repository unless you ask for it.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scn.data import load_nifti_lps, write_nnunet_case  # noqa: E402
from scn.labels import FLARE_LABELS, TOTALSEGMENTATOR_TO_FLARE  # noqa: E402

AMOS_TO_FLARE = {6: 1, 2: 2, 3: 2, 1: 3, 10: 4}
AMOS_WINDOW_HU = (-160.0, 240.0)
# --neighbours: the structures next to our organs that a network confuses with them (gallbladder,
# oesophagus, stomach, aorta, inferior vena cava, adrenal glands, duodenum), labelled in every real
# case (AMOS manually, TotalSegmentator automatically), become one extra value, NEIGHBOUR, for
# train.py --neighbour-weight: background for the organ box and the Dice terms, weighted in the
# cross-entropies, and shifted in HU as one group by the realism augmentation's per-label shift (as
# each organ is), so that the network cannot lean on the neighbours' own HU. Other runs zero them.
NEIGHBOUR = 5
AMOS_NEIGHBOURS = (4, 5, 7, 8, 9, 11, 12, 13)
TOTALSEGMENTATOR_NEIGHBOURS = (4, 6, 8, 9, 15, 19, 52, 63)  # v2 ids, checked by position in example_ct


def map_labels(labels: np.ndarray, mapping: dict, neighbours=()) -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    for a in neighbours:
        lut[a] = NEIGHBOUR
    for a, b in mapping.items():
        lut[a] = b
    return lut[labels.astype(np.uint8)]


def read_dicom_stack_lps(folder: str):
    """A single-series axial DICOM folder -> ([z,y,x] LPS-identity float32, spacing (sz,sy,sx), origin LPS).
    Only axis-aligned stacks (direction cosines a signed permutation) are accepted: a tilted stack
    would need resampling, and these training cases are not tilted."""
    import pydicom
    files = sorted(glob.glob(os.path.join(folder, '*.dcm')))
    if not files:
        raise FileNotFoundError(f'{folder}: no .dcm files')
    ds = [pydicom.dcmread(f) for f in files]
    row = np.array(ds[0].ImageOrientationPatient[:3], float)
    col = np.array(ds[0].ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    ds.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    pos = np.array([np.array(d.ImagePositionPatient, float) for d in ds])
    steps = np.diff(pos @ normal)
    if len(ds) > 1 and (np.ptp(steps) > 1e-3 or steps.min() <= 0):
        raise ValueError(f'{folder}: uneven or duplicate slice positions {steps}')
    for v in (row, col):
        if not np.allclose(np.abs(v), np.round(np.abs(v)), atol=1e-4):
            raise ValueError(f'{folder}: oblique orientation {list(row) + list(col)} is not supported here')
    arr = np.stack([d.pixel_array.astype(np.float32) * float(getattr(d, 'RescaleSlope', 1) or 1) + float(getattr(d, 'RescaleIntercept', 0) or 0) for d in ds])
    ps = [float(v) for v in ds[0].PixelSpacing]  # (row spacing, column spacing)
    sz = float(steps[0]) if len(ds) > 1 else float(getattr(ds[0], 'SliceThickness', 1.0))
    out, spacing, origin = stack_to_lps(arr, row, col, normal, ps, sz, pos[0])
    return out, spacing, origin, (pos @ normal)


def stack_to_lps(arr, row, col, normal, ps, sz, pos0):
    """[slice, row, column] stack (slices ascending along normal) -> LPS-identity [z,y,x] array, spacing, origin."""
    # voxel (k, r, c) sits at pos[k] + c*ps[1]*row + r*ps[0]*col; bring axes to LPS identity
    axes = [(normal, sz, 0), (col, ps[0], 1), (row, ps[1], 2)]
    origin = np.array(pos0, float).copy()
    spacing = [0.0, 0.0, 0.0]
    order = [0, 0, 0]
    for vec, step, arr_axis in axes:
        world_axis = int(np.argmax(np.abs(vec)))  # 0 x(L), 1 y(P), 2 z(S)
        target = 2 - world_axis                   # [z, y, x] array order
        order[target] = arr_axis
        spacing[target] = step
        if vec[world_axis] < 0:  # flip so the index grows toward +L/+P/+S
            n = arr.shape[arr_axis]
            origin = origin + vec * step * (n - 1)
            arr = np.flip(arr, arr_axis)
    arr = np.ascontiguousarray(np.transpose(arr, order))
    return arr, tuple(spacing), origin


def write_liver_only_case(out_dir, name, ct_folder, seg_path, info):
    """A DICOM CT and a one-segment DICOM SEG of its liver -> evalOnly/<name>_0000.nii.gz and
    evalOnly/<name>.nii.gz in the dataset, listed in dataset.json's scn_studio.evalOnly (not in
    imagesTr: nnU-Net and train.py never see it)."""
    import pydicom
    import nibabel as nib
    img, sp, origin, positions = read_dicom_stack_lps(ct_folder)
    seg = pydicom.dcmread(seg_path)
    frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)
    iop = np.array(seg.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    first = pydicom.dcmread(sorted(glob.glob(os.path.join(ct_folder, '*.dcm')))[0])
    if not np.allclose(iop, np.array(first.ImageOrientationPatient, float), atol=1e-4) or (seg.Rows, seg.Columns) != (first.Rows, first.Columns):
        raise SystemExit(f'{seg_path}: not on the grid of {ct_folder}')
    stack = np.zeros((len(positions), seg.Rows, seg.Columns), np.uint8)
    for f, frame in zip(seg.PerFrameFunctionalGroupsSequence, frames):
        z = float(np.dot(np.array(f.PlanePositionSequence[0].ImagePositionPatient, float), normal))
        k = int(np.argmin(np.abs(positions - z)))
        if abs(positions[k] - z) > 1e-2:
            raise SystemExit(f'{seg_path}: a frame at {z:.2f} mm matches no slice of {ct_folder}')
        stack[k] |= (frame > 0).astype(np.uint8)
    ps = [float(v) for v in first.PixelSpacing]
    sz = float(positions[1] - positions[0]) if len(positions) > 1 else float(first.SliceThickness)
    lab, _, _ = stack_to_lps(stack.astype(np.float32), row, col, normal, ps, sz, np.zeros(3))
    os.makedirs(os.path.join(out_dir, 'evalOnly'), exist_ok=True)
    aff = lps_origin_to_ras_affine(sp, origin)
    nib.save(nib.Nifti1Image(np.transpose(np.round(img).astype(np.int16), (2, 1, 0)), aff), os.path.join(out_dir, 'evalOnly', f'{name}_0000.nii.gz'))
    nib.save(nib.Nifti1Image(np.transpose(np.round(lab).astype(np.uint8), (2, 1, 0)), aff), os.path.join(out_dir, 'evalOnly', f'{name}.nii.gz'))
    ds_path = os.path.join(out_dir, 'dataset.json')
    ds = json.load(open(ds_path))
    ds.setdefault('scn_studio', {}).setdefault('evalOnly', {})[name] = info
    tmp = ds_path + '.tmp'
    json.dump(ds, open(tmp, 'w'), indent=2)
    os.replace(tmp, ds_path)
    print(f'{name}: evaluation only, {img.shape[::-1]} (x,y,z) at {tuple(round(s, 3) for s in sp[::-1])} mm; liver voxels {int(lab.sum())}')


def lps_origin_to_ras_affine(spacing, origin_lps):
    sz, sy, sx = spacing
    aff = np.diag([-sx, -sy, sz, 1.0])
    aff[:3, 3] = [-origin_lps[0], -origin_lps[1], origin_lps[2]]
    return aff


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=os.environ.get('SCN_STUDIO_TEST_DATA', os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data')))
    ap.add_argument('--out', required=True, help='dataset folder to write (outside the repository)')
    ap.add_argument('--exclude', default='', help='comma-separated case names to leave out (e.g. a held-out case)')
    ap.add_argument('--neighbours', action='store_true',
                    help=f'label the organs\' neighbours (gallbladder, stomach, duodenum, great vessels, ...) {NEIGHBOUR} for train.py --neighbour-weight')
    a = ap.parse_args(argv)
    nb_amos = AMOS_NEIGHBOURS if a.neighbours else ()
    nb_ts = TOTALSEGMENTATOR_NEIGHBOURS if a.neighbours else ()
    data = os.path.abspath(a.data)
    exclude = set(filter(None, a.exclude.split(',')))
    names = {l['name']: l['value'] for l in FLARE_LABELS}
    if a.neighbours:
        names['neighbour'] = NEIGHBOUR
    meta = {}
    written = []

    def put(name, image, labels, spacing, origin, info):
        if name in exclude:
            print(f'{name}: left out (--exclude)')
            return
        write_nnunet_case(a.out, name, np.round(image).astype(np.int16), labels, spacing, names, origin_lps=origin, extra={name: info} if info else None)
        present = {n: int((labels == v).sum()) for n, v in names.items()}
        print(f'{name}: {labels.shape[::-1]} (x,y,z) at {tuple(round(s, 3) for s in spacing[::-1])} mm; voxels {present}')
        written.append(name)

    ts = os.path.join(data, 'totalsegmentator')
    if os.path.exists(os.path.join(ts, 'example_ct.nii.gz')):
        img, sp = load_nifti_lps(os.path.join(ts, 'example_ct.nii.gz'))
        lab, _ = load_nifti_lps(os.path.join(ts, 'example_seg_fast_force_split.nii.gz'), np.int32)
        put('example_ct', img, map_labels(lab, TOTALSEGMENTATOR_TO_FLARE, nb_ts), sp, None,
            {'source': 'TotalSegmentator example_ct', 'license': 'Apache-2.0', 'labels': 'automatic (TotalSegmentator fast)'})
    else:
        print(f'{ts}: example_ct not found, skipped')

    a18 = os.path.join(data, 'amos', 'amos_0018')
    if os.path.exists(os.path.join(a18, 'amos_0018_ct_from_window.nii.gz')):
        img, sp = load_nifti_lps(os.path.join(a18, 'amos_0018_ct_from_window.nii.gz'))
        lab, _ = load_nifti_lps(os.path.join(a18, 'amos_0018_labels.nii.gz'), np.int32)
        put('amos_0018', img, map_labels(lab, AMOS_TO_FLARE, nb_amos), sp, None,
            {'source': 'AMOS 2022 amos_0018', 'license': 'CC BY 4.0', 'labels': 'manual', 'windowHU': list(AMOS_WINDOW_HU)})
    else:
        print(f'{a18}: not found, skipped')

    slab = os.path.join(data, 'amos', 'amos_0001-slab')
    if os.path.isdir(os.path.join(slab, 'img')):
        img, sp, origin, _ = read_dicom_stack_lps(os.path.join(slab, 'img'))
        lab, sp2, origin2, _ = read_dicom_stack_lps(os.path.join(slab, 'msk'))
        if img.shape != lab.shape or not np.allclose(sp, sp2) or not np.allclose(origin, origin2):
            raise SystemExit(f'{slab}: label DICOMs are not on the image grid')
        put('amos_0001-slab', img, map_labels(np.round(lab).astype(np.uint8), AMOS_TO_FLARE, nb_amos), sp, origin,
            {'source': 'AMOS 2022 amos_0001 slices 60-70', 'license': 'CC BY 4.0', 'labels': 'manual'})
    else:
        print(f'{slab}: not found, skipped')

    # evaluation only (never trained on): a real 3-slice CT with a liver segmentation (liver only, so
    # the other organs are unknown there, not background)
    dq = os.path.join(data, 'dcmqi')
    if os.path.exists(os.path.join(dq, 'liver.dcm')) and os.path.isdir(os.path.join(dq, 'ct-3slice')):
        write_liver_only_case(a.out, 'dcmqi_ct-3slice', os.path.join(dq, 'ct-3slice'), os.path.join(dq, 'liver.dcm'),
                              {'source': 'dcmqi test data ct-3slice with liver.dcm (DICOM SEG)', 'license': 'BSD-style (dcmqi)',
                               'labels': 'semi-automatic (3D Slicer Editor), liver only', 'organs': ['liver'], 'input': 'dcmqi/ct-3slice'})
    else:
        print(f'{dq}: ct-3slice/liver.dcm not found, skipped')

    if not written:
        raise SystemExit(f'{data}: no real labelled case found')
    print(json.dumps({'dataset': os.path.abspath(a.out), 'cases': written}))


if __name__ == '__main__':
    main()
