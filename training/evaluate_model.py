#!/usr/bin/env python3
"""
Measure a trained SCN the way the engine runs it (localization -> box -> SCN at 2 mm -> linear
resampling back -> argmax; training/scn/infer.py) and print Dice / NSD per organ as model-card
metrics. Every case carries the name of its data set, so that training-set numbers are never
presented as generalisation.

  python3 training/evaluate_model.py --model models/scn-flare-organs \
      --case training-set:CT.nii.gz,LABELS.nii.gz --case-map training-set=5:1,2:2,3:2,1:3,7:4 \
      --phantoms held-out-python-phantoms:90000:3 --case held-out-ts-phantom:ct.nii.gz,labels.nii.gz
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_reference import load_from_onnx  # noqa: E402
from scn.data import Case, Normalization, load_case  # noqa: E402
from scn.infer import segment  # noqa: E402
from scn.labels import FLARE_LABELS, parse_label_map  # noqa: E402
from scn.metrics import evaluate  # noqa: E402
from scn.networks import LocalizationNet, SpatialConfigurationNet  # noqa: E402
from scn.phantom import generate_phantom  # noqa: E402


def run_evaluation(loc, seg, cases, tolerance=1.0, seg_spacing=2.0, norm=None):
    """cases: [(dataset name, Case)] -> (model-card metrics, per-case report); seg_spacing and norm
    (the segmentation input's Normalization) as the card's."""
    organs = seg.num_labels - 1
    per_ds = {}
    report = []
    for ds, case in cases:
        t = time.time()
        pred = segment(loc, seg, case, seg_spacing, norm)
        m = evaluate(pred, case.labels, case.spacing, range(1, organs + 1), tolerance)
        secs = time.time() - t
        report.append({'dataset': ds, 'case': case.name, 'seconds': round(secs, 1), 'metrics': {FLARE_LABELS[k - 1]['name']: v for k, v in m.items()}})
        print(f'{ds} {case.name} ({secs:.1f} s): ' + ', '.join(f"{FLARE_LABELS[k - 1]['name']} Dice {v['dice']:.3f} NSD {v['nsd']:.3f}" for k, v in m.items()), flush=True)
        for k, v in m.items():
            per_ds.setdefault((ds, FLARE_LABELS[k - 1]['name']), []).append(v)
    metrics = []
    for (ds, organ), vals in per_ds.items():
        n = len(vals)
        metrics.append({'name': 'dice', 'organ': organ, 'value': round(float(np.mean([v['dice'] for v in vals])), 4), 'dataset': f'{ds} ({n} case{"s" if n > 1 else ""})',
                        'method': 'mean Dice, full two-stage pipeline (training/evaluate_model.py), on the label grid'})
        metrics.append({'name': f'nsd@{tolerance:g}mm', 'organ': organ, 'value': round(float(np.mean([v['nsd'] for v in vals])), 4), 'dataset': f'{ds} ({n} case{"s" if n > 1 else ""})',
                        'method': 'mean NSD (border voxels within tolerance; src-main/evaluation/metrics.ts definition)'})
    return metrics, report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', help='model folder (weights read from its ONNX initializers)')
    ap.add_argument('--checkpoint-loc')
    ap.add_argument('--checkpoint-seg')
    ap.add_argument('--case', action='append', default=[], help='DATASET:IMAGE,LABELS (repeatable)')
    ap.add_argument('--case-map', action='append', default=[], help='DATASET=a:b,... label map for the --case entries of one data set')
    ap.add_argument('--phantoms', action='append', default=[], help='DATASET:FIRST_SEED:COUNT python phantoms')
    ap.add_argument('--tolerance', type=float, default=1.0)
    ap.add_argument('--seg-spacing', type=float, help="segmentation spacing in mm (default: the model card's, else 2)")
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', help='write the metrics JSON here')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    organs = len(FLARE_LABELS)
    loc, seg = LocalizationNet(), SpatialConfigurationNet(organs)
    if a.model:
        load_from_onnx(os.path.join(a.model, 'localization.onnx'), loc)
        load_from_onnx(os.path.join(a.model, 'segmentation.onnx'), seg)
        norm = Normalization.of_model(a.model)
    else:
        from export_onnx import load_weights
        load_weights(a.checkpoint_loc, loc)
        norm = Normalization.of_run(load_weights(a.checkpoint_seg, seg).get('args', {}))
    maps = dict(m.split('=', 1) for m in a.case_map)
    cases = []
    for spec in a.case:
        ds, pair = spec.split(':', 1)
        img, lab = pair.split(',')
        mp = maps.get(ds)
        cases.append((ds, load_case(img, lab, parse_label_map(mp) if mp else None)))
    for spec in a.phantoms:
        ds, first, count = spec.split(':')
        for s in range(int(first), int(first) + int(count)):
            im, lb, sp = generate_phantom(s)
            cases.append((ds, Case(f'phantom{s}', im.astype(np.float32), lb, sp)))

    seg_spacing = a.seg_spacing
    if seg_spacing is None and a.model:
        seg_spacing = json.load(open(os.path.join(a.model, 'model.json')))['stages']['segmentation']['spacing'][0]
    metrics, report = run_evaluation(loc, seg, cases, a.tolerance, seg_spacing or 2.0, norm)
    out = {'metrics': metrics, 'cases': report}
    if a.out:
        json.dump(out, open(a.out, 'w'), indent=2)
    print(json.dumps({'metrics': len(metrics)}))


if __name__ == '__main__':
    main()
