#!/usr/bin/env python3
"""
Builds models/scn-flare-organs from the two training runs (EMA weights), measures it and writes
an honest model card. The exact commands of the shipped run are in training/README.md.

  python3 training/ship_flare_organs.py --loc training/runs/ship-loc --seg training/runs/ship-seg \
      --out models/scn-flare-organs
"""
import argparse
import json
import os
import platform
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from evaluate_model import run_evaluation  # noqa: E402
from export_onnx import build_card, load_weights, write_model_folder  # noqa: E402
from scn.data import Case, load_case  # noqa: E402
from scn.labels import TOTALSEGMENTATOR_TO_FLARE  # noqa: E402
from scn.networks import LocalizationNet, SpatialConfigurationNet  # noqa: E402
from scn.phantom import generate_phantom  # noqa: E402

DATA = os.environ.get('SCN_STUDIO_TEST_DATA', os.path.join(HERE, '..', '..', 'shared', 'data'))


def cpu_name():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--loc', required=True)
    ap.add_argument('--seg', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--held-out-phantoms', type=int, default=3)
    ap.add_argument('--history', default='', help='free text: how the runs went (restarts, learning-rate changes)')
    ap.add_argument('--ts-scales', default='', help='body scales of the TypeScript phantoms the runs trained on (comma list; empty: none)')
    ap.add_argument('--version', default='0.2.0')
    ap.add_argument('--description', default='', help="the card's description (write it after reading the measured metrics)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    loc, seg = LocalizationNet(), SpatialConfigurationNet(4)
    ck_loc = load_weights(os.path.join(a.loc, 'checkpoint.pt'), loc)
    ck_seg = load_weights(os.path.join(a.seg, 'checkpoint.pt'), seg)

    ct = os.path.join(DATA, 'totalsegmentator/example_ct.nii.gz')
    lab = os.path.join(DATA, 'totalsegmentator/example_seg_fast_force_split.nii.gz')
    ts_dir = os.path.join(a.seg, 'ts-phantom')
    subprocess.run(['npx', 'tsx', os.path.join(HERE, 'make_ts_phantom.ts'), ts_dir, '11'], check=True, cwd=os.path.join(HERE, '..'), stdout=subprocess.DEVNULL)
    seed_seg = ck_seg['args']['seed']
    seg_spacing = float(ck_seg['args'].get('spacing', 2.0))
    n_phantoms = ck_seg['args']['phantoms']
    ts_scales = [x for x in a.ts_scales.split(',') if x]
    ts_name = ('TypeScript phantom at body scale 1.0, the demo\'s anatomy (training saw this generator only at scales ' + ', '.join(ts_scales) + ')'
               if ts_scales else 'held-out TypeScript phantom (src-main/volumes/phantom.ts, a generator training never used)')
    cases = [('training set: example_ct with TotalSegmentator-fast labels', load_case(ct, lab, TOTALSEGMENTATOR_TO_FLARE, 'example_ct'))]
    for i in range(2):
        im, lb, sp = generate_phantom(seed_seg * 1000 + i)
        cases.append(('training-set python phantoms', Case(f'phantom{seed_seg * 1000 + i}', im.astype('float32'), lb, sp)))
    for s in range(90000, 90000 + a.held_out_phantoms):
        im, lb, sp = generate_phantom(s)
        cases.append(('held-out python phantoms (unseen seeds)', Case(f'phantom{s}', im.astype('float32'), lb, sp)))
    cases.append((ts_name,
                  load_case(os.path.join(ts_dir, 'ts_phantom_ct.nii.gz'), os.path.join(ts_dir, 'ts_phantom_labels.nii.gz'), None, 'ts-phantom-11')))
    metrics, report = run_evaluation(loc, seg, cases, 1.0, seg_spacing)
    json.dump(report, open(os.path.join(a.seg, 'evaluation.json'), 'w'), indent=2)

    def run_info(ck):
        args = ck['args']
        info = {'iterations': ck['iteration'], 'seconds': round(ck.get('extra', {}).get('seconds', 0)), 'crop': args['size'],
                'phantoms': args['phantoms'], 'phantomRatio': args['phantom_ratio'], 'seed': args['seed'], 'threads': args['threads'],
                'lr': args['lr'], 'ema': args['ema']}
        if args['stage'] == 'segmentation':
            info['spacingMm'] = args.get('spacing', 2.0)
        init_from = args.get('init_from')
        if init_from:
            # name the model it was fine-tuned from by its card, not by a local folder name
            card_path = os.path.join(init_from, 'model.json')
            prev = json.load(open(card_path)) if os.path.exists(card_path) else {}
            info['initialisedFrom'] = f"{prev['id']} {prev['version']}" if prev else init_from
        else:
            info['init'] = args.get('init', 'pytorch')
        return info

    threads = ck_seg['args']['threads']
    card = build_card(
        'scn-flare-organs', a.version,
        a.description or ('FLARE21 SpatialConfiguration-Net (EfficientSCN layout) for liver, kidneys, spleen and pancreas, trained by SCN Studio '
                          'on a shared 2-core CPU from ONE real CT plus synthetic phantoms; see metrics.'),
        'Apache-2.0',
        'One real CT: TotalSegmentator example_ct.nii.gz (Apache-2.0) with its TotalSegmentator fast-model labels (automatic, '
        'not manual) mapped 5->1 liver, 2,3->2 kidney, 1->3 spleen, 7->4 pancreas; plus '
        f'{n_phantoms} synthetic SynthSeg-style phantoms (training/scn/phantom.py), drawn for {round(100 * ck_seg["args"]["phantom_ratio"])} % of the iterations'
        + (f'; and the TypeScript phantom generator (src-main/volumes/phantom.ts, the demo\'s anatomy) at body scales {", ".join(ts_scales)}.' if ts_scales else '.'),
        metrics=metrics,
        training={
            'hardware': f'CPU only: {cpu_name()}, {threads} thread(s) per stage (shared 2-core machine, niced); no GPU was available',
            'framework': f'PyTorch {torch.__version__}',
            'localization': run_info(ck_loc), 'segmentation': run_info(ck_seg),
            'weights': 'exponential moving average (0.999 with warm-up) of the Adam iterates',
            'losses': 'generalized Dice (merged output) + sigmoid cross-entropy (local, spatial); localization: generalized Dice + softmax cross-entropy',
            'augmentation': 'translation 20 mm, rotation 0.35 rad, scale 0.2 (+0.1 per axis), elastic 8^3 grid (<=15 mm), intensity shift/scale 0.2',
            'history': a.history,
            'caveats': 'Far fewer iterations than the authors\' 100,000 on a GPU, and a single real training case: held-out numbers are on '
                       'synthetic phantoms only; no independent real CT with manual labels was available to measure generalisation.',
        },
        seg_spacing=seg_spacing,
        source={'architecture': 'franzthaler/FLARE21-EfficientSCN (GPL-3.0 code; re-implemented, weights trained here)',
                'code': 'training/ (train.py, export_onnx.py, ship_flare_organs.py)'},
    )
    write_model_folder(loc, seg, a.out, card)
    print(json.dumps({'out': a.out, 'metrics': len(metrics)}))


if __name__ == '__main__':
    main()
