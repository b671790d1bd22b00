#!/usr/bin/env python3
"""
Builds models/scn-flare-organs from the two training runs (EMA weights), measures it THROUGH THE
PRODUCT'S OWN ENGINE (`scn-studio segment`, the TypeScript pipeline users run: slab handling,
localization margin, resampling) and writes the model card and evaluation.json. Nothing in the
card is typed by hand: every figure comes from this run. The exact commands of the shipped run are
in training/README.md.

  /usr/bin/python3 training/ship_flare_organs.py --loc RUNS/loc --seg RUNS/seg --dataset DATASET \
      --out models/scn-flare-organs --version 0.3.0

Evaluation sets (each case scored per organ present in its reference, Dice and NSD at 1 mm):
- held-out real: dataset cases neither stage trained on (train.py --exclude); a case that came
  from DICOM is segmented from its original DICOM folder, as a user would open it;
- held-out real, evaluation only: the dataset's evalOnly cases (make_real_dataset.py; partial
  labels, e.g. a liver-only 3-slice CT), scored on the organs their reference holds;
- training-set real: the other dataset cases (reported, but never as generalisation);
- leave-one-out companion (--companion-seg): when the shipped run trained on every real case, a second
  run of the same recipe that held some out is measured on those, as the estimate of how the recipe
  does on real CT it never saw (the shipped weights are not that run's: the card says so);
- held-out phantoms: the app's TypeScript phantom (the demo's anatomy) at unseen seeds, at several
  voxel sizes and as a 50 mm slab (the invariance the engine must keep).
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from export_onnx import build_card, export_segmentation, load_weights, write_model_folder  # noqa: E402
from scn.data import Normalization, dataset_case_facts, nnunet_cases  # noqa: E402
from scn.labels import FLARE_LABELS  # noqa: E402
from scn.metrics import evaluate  # noqa: E402
from scn.networks import LocalizationNet, SpatialConfigurationNet  # noqa: E402

DATA = os.environ.get('SCN_STUDIO_TEST_DATA', os.path.join(ROOT, '..', 'shared', 'data'))
# where a dataset case came from, when it was not a NIfTI file (the engine reads the original)
ORIGINAL_INPUTS = {'amos_0001-slab': os.path.join('amos', 'amos_0001-slab', 'img')}
# evaluation group of --companion-seg: real cases the companion run held out (the shipped one trained on them)
COMPANION = 'held-out real (leave-one-out companion run)'
# evaluation group of --companion-loc: real cases its localization run held out, whole and cut to
# shorter foot-to-head fields (the segmentation network is the shipped one, which trained on them)
LOC_COMPANION = 'held-out for localization (leave-one-out companion localization run)'
# fields of view cut from such a case: (name, first, last) as fractions of its foot-to-head extent
FIELD_PROBES = [('whole', 0.0, 1.0), ('lower 70 % (pelvis side)', 0.0, 0.7), ('upper 70 % (chest side)', 0.3, 1.0)]
# held-out TypeScript phantoms: (name, seed, scale, spacing, fovZ, centreZ)
PHANTOMS = [
    ('ts-phantom 2x2x3 mm', 9001, 1.0, '2,2,3', 300, 20),
    ('ts-phantom 0.8x0.8x2.5 mm, 750 mm long', 9002, 1.0, '0.8,0.8,2.5', 750, 20),
    ('ts-phantom 5x5x5 mm', 9003, 1.0, '5,5,5', 300, 20),
    ('ts-phantom 50 mm slab, 0.7x0.7x5 mm', 9004, 1.0, '0.7,0.7,5', 50, 40),
    # lungs and a heart above the diaphragm (the heart's muscle as dense as liver): does the heart stay out of the liver
    ('ts-phantom reaching the chest, 2x2x3 mm, 400 mm long', 9005, 1.0, '2,2,3', 400, 60, 'thorax'),
]


def held_out(args: dict) -> set:
    """The dataset cases a training run left out (train.py --exclude, as its checkpoint records it)."""
    return set(filter(None, (args.get('exclude') or '').split(',')))


def cpu_name():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def load_ras(path):
    """Array, affine and zooms in nibabel's closest canonical (RAS) order: a prediction written on a
    DICOM's own grid (any index order) and a reference stored in another order compare voxel for voxel."""
    import nibabel as nib
    img = nib.as_closest_canonical(nib.load(path))
    return np.asanyarray(img.dataobj), img.affine, img.header.get_zooms()[:3]


def foot_to_head(img):
    """(array axis that runs foot to head, the scan's extent along it in mm) of a nibabel image."""
    axis = int(np.argmax(np.abs(img.affine[2, :3])))
    return axis, img.shape[axis] * float(img.header.get_zooms()[axis])


def cut_field(ct, labels, first, last, out_dir):
    """The CT and its labels cut to slices [first, last) (fractions) of the foot-to-head axis, as a
    scan of that field of view would be stored (same voxels, origin moved): NIfTI pair in out_dir."""
    import nibabel as nib
    img, lab = nib.load(ct), nib.load(labels)
    axis, _ = foot_to_head(img)
    n = img.shape[axis]
    cut = [slice(None)] * 3
    cut[axis] = slice(int(round(first * n)), int(round(last * n)))
    os.makedirs(out_dir, exist_ok=True)
    paths = os.path.join(out_dir, 'ct.nii.gz'), os.path.join(out_dir, 'labels.nii.gz')
    nib.save(img.slicer[tuple(cut)], paths[0])
    nib.save(lab.slicer[tuple(cut)], paths[1])
    return paths


def engine_segment(model_dir, model_id, ct, out):
    """`scn-studio segment` with only this model installed (a private SCN_STUDIO_HOME)."""
    home = tempfile.mkdtemp(prefix='scn-ship-')
    try:
        shutil.copytree(model_dir, os.path.join(home, 'models', model_id))
        env = {**os.environ, 'SCN_STUDIO_HOME': home, 'SCN_STUDIO_APP_MODELS': os.path.join(home, 'none')}
        r = subprocess.run(['node', os.path.join(ROOT, 'bin', 'scn-studio.mjs'), 'segment', ct, '-o', out, '--model', model_id, '--json', '--device', 'cpu', '--overwrite'],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f'segment {ct} failed ({r.returncode}): {r.stderr}')
        return json.loads(r.stdout)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def score(pred_path, truth_path):
    pred, pa, _ = load_ras(pred_path)
    truth, ta, zooms = load_ras(truth_path)
    if pred.shape != truth.shape or not np.allclose(pa, ta, atol=1e-3):
        raise SystemExit(f'{pred_path}: the prediction is not on the grid of {truth_path} ({pred.shape} vs {truth.shape})')
    m = evaluate(pred.astype(np.uint8), truth.astype(np.uint8), [float(z) for z in zooms], range(1, len(FLARE_LABELS) + 1), 1.0)
    out = {}
    for k, v in m.items():
        name = FLARE_LABELS[k - 1]['name']
        if v['volumeTruthMl'] == 0:
            out[name] = {'present': False, 'volumePredMl': round(v['volumePredMl'], 1)}
        else:
            out[name] = {'present': True, 'dice': round(v['dice'], 4), 'nsd': round(v['nsd'], 4),
                         'volumePredMl': round(v['volumePredMl'], 1), 'volumeTruthMl': round(v['volumeTruthMl'], 1)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--loc', default='',
                    help='localization run folder (checkpoint.pt), or a released model folder whose localization stage is kept unchanged')
    ap.add_argument('--seg', required=True,
                    help='segmentation run folder (checkpoint.pt), or a released model folder: then both its networks ship byte for '
                         'byte with its training record, only the engine settings of the card change (--border-trim-below-hu, '
                         '--in-plane-padding, --run-spacing), every figure is measured again, and its leave-one-out rows carry over')
    ap.add_argument('--dataset', required=True, help='the nnU-Net dataset the runs trained on (training/make_real_dataset.py)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--version', required=True)
    ap.add_argument('--margin', type=float, default=25.0, help='localization margin in mm written to the card')
    ap.add_argument('--min-scan-extent', type=float, default=200.0, help='slab threshold in mm written to the card')
    ap.add_argument('--run-spacing', type=float, default=None,
                    help='segmentation spacing in mm written to the card, when the engine should run the network finer or '
                         'coarser than it trained (default: the training spacing); the card says both')
    ap.add_argument('--companion-seg', default='',
                    help='segmentation run folder of the same recipe with real cases held out (--exclude): measured on those '
                         'cases as the leave-one-out estimate, when --seg trained on all of them')
    ap.add_argument('--companion-loc', default='',
                    help='localization run folder of the same recipe with real cases held out: measured (with the shipped '
                         'segmentation network) on those cases, whole and cut to shorter fields of view')
    ap.add_argument('--border-trim-below-hu', type=float, default=None,
                    help='card segmentation.borderTrimBelowHu: at label borders the engine turns organ voxels below this HU '
                         '(fat, air) into background (an engine choice, measured)')
    ap.add_argument('--review-unsure-above', type=float, default=None,
                    help='card segmentation.reviewUnsureAbove: the unsure share above which the engine flags an organ for review; '
                         'calibrate it on held-out CT (training/README.md, "The network\'s own doubt"); 0.3 was calibrated on this '
                         'recipe\'s networks. Default: the released card\'s, else none (the engine then uses 0.3)')
    ap.add_argument('--in-plane-padding', choices=['constant', 'replicate'], default=None,
                    help="card segmentation.inPlanePadding: 'replicate' has the engine repeat the edges of a field of view that "
                         'cuts the body instead of padding with air (an engine choice, measured; training crops stay inside the scan in-plane); '
                         'default constant, or the released card\'s')
    ap.add_argument('--ensemble-run', action='append', default=[],
                    help='with a released --seg folder: a segmentation run folder (checkpoint.pt) whose EMA weights ship beside the '
                         "released networks as segmentation-<k>.onnx in the card's segmentation.ensembleFiles; the engine averages "
                         "the networks' probabilities (repeatable)")
    ap.add_argument('--history', default='', help='free text: how the runs went (restarts, learning-rate changes)')
    ap.add_argument('--initialised-from', default='',
                    help='the model (id version) the runs were fine-tuned from, when --init-from\'s folder has been replaced since (e.g. by this script)')
    a = ap.parse_args()
    if os.path.exists(os.path.join(a.seg, 'model.json')):
        return recard(a)
    if a.ensemble_run:
        ap.error('--ensemble-run needs a released model folder as --seg')
    if not a.loc:
        ap.error('--loc is required with a segmentation run folder')
    loc, seg = LocalizationNet(), SpatialConfigurationNet(len(FLARE_LABELS))
    # a released model folder: its localization network ships unchanged (only the SCN was retrained),
    # and its card's record of how that network was trained carries over
    loc_release = None
    if os.path.exists(os.path.join(a.loc, 'model.json')):
        from parity_reference import load_from_onnx
        loc_release = json.load(open(os.path.join(a.loc, 'model.json')))
        load_from_onnx(os.path.join(a.loc, 'localization.onnx'), loc)
        ck_loc = {'args': {'exclude': ','.join(loc_release.get('training', {}).get('localization', {}).get('heldOut', []))}}
    else:
        ck_loc = load_weights(os.path.join(a.loc, 'checkpoint.pt'), loc)
    ck_seg = load_weights(os.path.join(a.seg, 'checkpoint.pt'), seg)
    train_spacing = float(ck_seg['args'].get('spacing', 2.0))
    seg_spacing = a.run_spacing or train_spacing
    # held out = neither stage trained on it (the localization kept from a release may have held out
    # more than this segmentation run did)
    loc_held = held_out(ck_loc['args'])
    excluded = held_out(ck_seg['args']) & loc_held
    facts = dataset_case_facts(a.dataset)

    trained_on = [n for n, _, _ in nnunet_cases(a.dataset) if n not in excluded]
    # evaluation-only real cases (make_real_dataset.py: partial labels, never trained on)
    eval_only = json.load(open(os.path.join(a.dataset, 'dataset.json'))).get('scn_studio', {}).get('evalOnly', {})
    licences = '; '.join(f"{n}: {facts.get(n, {}).get('source', n)} ({facts.get(n, {}).get('license', 'see shared/data')}, {facts.get(n, {}).get('labels', 'labels')})" for n in trained_on)
    extra_cases = [c for c in (ck_seg['args'].get('case') or [])]
    card = build_card(
        'scn-flare-organs', a.version, '(filled in below from the measurements)', 'Apache-2.0',
        f'Real CTs: {licences}. AMOS 2022 (Ji et al., NeurIPS 2022) is licensed CC BY 4.0 by its authors. '
        f'Plus {ck_seg["args"]["phantoms"]} SynthSeg-style phantoms (training/scn/phantom.py) and {len(extra_cases)} TypeScript phantoms '
        '(src-shared/phantom.ts) at several body scales, voxel sizes and fields of view. Held out from training: '
        + (', '.join(sorted(excluded | set(eval_only))) or 'none') + '.',
        training={
            'hardware': f'CPU only: {cpu_name()}, 1-2 threads per stage (shared 2-core machine, niced); no GPU was available',
            'framework': f'PyTorch {torch.__version__}',
            'localization': run_info(ck_loc, a) if loc_release is None else {
                **loc_release.get('training', {}).get('localization', {}),
                'keptFrom': f"{loc_release['id']} {loc_release['version']} (localization network unchanged)"},
            'segmentation': run_info(ck_seg, a),
            'weights': 'exponential moving average (0.999 with warm-up) of the Adam iterates',
            'losses': 'generalized Dice (absent organs weighted as the smallest present one) + sigmoid cross-entropy (local, spatial)'
                      + (f" + {ck_seg['args']['organ_dice']:g} x mean soft Dice over the organs present (train.py --organ-dice)" if ck_seg['args'].get('organ_dice') else '')
                      + (f"; in both cross-entropies the organs' labelled neighbours (make_real_dataset.py --neighbours: stomach, duodenum, "
                         f"gallbladder, oesophagus, aorta, IVC, adrenals ...) count {ck_seg['args']['neighbour_weight']:g} x as background "
                         '(train.py --neighbour-weight)' if ck_seg['args'].get('neighbour_weight') else '')
                      + '; localization: generalized Dice + softmax cross-entropy',
            'augmentation': 'translation 20 mm, rotation 0.35 rad, scale 0.2 (+0.1 per axis), elastic 8^3 grid (<=15 mm), intensity shift/scale 0.2; '
                            'realism (scn/data.py Realism): per-organ HU shifts (contrast phase), liver lesions, thick-slice blur, noise, L40/W400 window clipping; '
                            f"thin slabs {ck_seg['args'].get('slab_min_mm', 25.0):g}-220 mm seen as the engine sees them"
                            + ('; beyond the first and last slice (of a scan or a slab) those slices repeated, as the card\'s zPadding replicate' if ck_seg['args'].get('z_replicate') else '')
                            + (f"; in {ck_seg['args']['organ_warp']:g} of crops single organs grown or shrunk x0.75-1.35 about their centre against their neighbours "
                               '(scn/data.py OrganWarp, train.py --organ-warp)' if ck_seg['args'].get('organ_warp') else ''),
            'history': a.history,
        },
        seg_spacing=seg_spacing, margin_mm=a.margin, min_scan_extent_mm=a.min_scan_extent,
        z_padding='replicate' if ck_seg['args'].get('z_replicate') else 'constant', in_plane_padding=a.in_plane_padding or 'constant',
        seg_normalization=Normalization.of_run(ck_seg['args']).card(),
        source={'architecture': 'franzthaler/FLARE21-EfficientSCN (GPL-3.0 code; re-implemented, weights trained here)',
                'code': 'training/ (make_real_dataset.py, train.py, export_onnx.py, ship_flare_organs.py)'},
    )
    if a.border_trim_below_hu is not None:
        card['stages']['segmentation']['borderTrimBelowHu'] = a.border_trim_below_hu
    if a.review_unsure_above is not None:
        card['stages']['segmentation']['reviewUnsureAbove'] = a.review_unsure_above
    write_model_folder(loc, seg, a.out, card)

    work = tempfile.mkdtemp(prefix='scn-ship-eval-')
    cases = measured_cases(a.dataset, excluded, eval_only, work)

    companion_dir = None
    if a.companion_seg:
        # the companion's SCN with the same localization, in a model folder of its own
        ck_comp = load_weights(os.path.join(a.companion_seg, 'checkpoint.pt'), comp := SpatialConfigurationNet(len(FLARE_LABELS)))
        # held out by the companion and by the localization it runs with
        held = held_out(ck_comp['args']) & loc_held
        if not held:
            raise SystemExit(f'{a.companion_seg}: the companion run held out no real case that the localization also held out (--exclude)')
        companion_dir = os.path.join(work, 'companion')
        comp_card = json.loads(json.dumps(card))
        comp_card['stages']['segmentation']['normalization'] = Normalization.of_run(ck_comp['args']).card()
        write_model_folder(loc, comp, companion_dir, comp_card)
        for group, name, ct, lab in list(cases):
            if name in held and group == 'training-set real':
                cases.append((COMPANION, name, ct, lab))
        companion_info = {**run_info(ck_comp, a), 'role': 'leave-one-out estimate of this recipe; not the shipped weights'}
        card['training']['companionSegmentation'] = companion_info

    loc_companion_dir = None
    if a.companion_loc:
        # the companion localization with the shipped SCN: does the box hold on CTs (and fields of
        # view) the localization never saw? The SCN trained on these cases: this measures the box.
        ck_cl = load_weights(os.path.join(a.companion_loc, 'checkpoint.pt'), comp_loc := LocalizationNet())
        held = held_out(ck_cl['args']) - loc_held
        probes = [(name, lab) for group, name, _, lab in cases if name in held and group == 'training-set real']
        if not probes:
            raise SystemExit(f'{a.companion_loc}: the companion localization run held out no case that the shipped one trained on (--exclude)')
        loc_companion_dir = os.path.join(work, 'companion-loc')
        write_model_folder(comp_loc, seg, loc_companion_dir, card)
        import nibabel as nib
        for name, lab in probes:
            img = os.path.join(a.dataset, 'imagesTr', f'{name}_0000.nii.gz')
            _, extent = foot_to_head(nib.load(img))
            for probe, first, last in FIELD_PROBES:
                if (last - first) * extent < a.min_scan_extent:
                    continue  # a slab: the localization stage does not run on it
                pair = cut_field(img, lab, first, last, os.path.join(work, f'field-{name}-{first}-{last}'))
                cases.append((LOC_COMPANION, f'{name}, {probe}', *pair))
        card['training']['companionLocalization'] = {**run_info(ck_cl, a), 'role': 'leave-one-out estimate of the localization recipe; not the shipped weights'}

    carried = []
    if loc_release is not None and not a.companion_loc:
        # the localization ships unchanged: its leave-one-out rows from the release it is kept from
        # still describe it (they were measured with that release's segmentation network: said so)
        carried = carried_rows(a.loc, (LOC_COMPANION,), "(with that release's segmentation network)")
    if loc_release is not None and not a.companion_seg:
        # a continuation of a release with no companion run of its own: the release's leave-one-out
        # rows stay, marked as measured with that release's (older) companion, not with these weights
        carried += carried_rows(a.loc, (COMPANION,), '(its leave-one-out companion run, not these weights)')
    model_dirs = {COMPANION: companion_dir, LOC_COMPANION: loc_companion_dir}
    measure_and_write(a, card, cases, model_dirs, carried, trained_on, seg_spacing, train_spacing, work)


def measured_cases(dataset, excluded, eval_only, work):
    """(group, name, CT, reference) of every case the card measures: the dataset's real cases (from their
    original DICOM where they came from one), its evaluation-only cases, and the held-out phantoms."""
    cases = []
    for name, img, lab in nnunet_cases(dataset):
        original = ORIGINAL_INPUTS.get(name)
        ct = os.path.join(DATA, original) if original and os.path.isdir(os.path.join(DATA, original)) else img
        cases.append(('held-out real' if name in excluded else 'training-set real', name, ct, lab))
    # evaluation-only real cases (make_real_dataset.py: partial labels, never trained on); scored on
    # the organs their reference holds, from their original files
    for name, info in sorted(eval_only.items()):
        original = os.path.join(DATA, info['input']) if info.get('input') else ''
        ct = original if original and os.path.exists(original) else os.path.join(dataset, 'evalOnly', f'{name}_0000.nii.gz')
        cases.append(('held-out real', name, ct, os.path.join(dataset, 'evalOnly', f'{name}.nii.gz')))
    for name, seed, scale, spacing, fov_z, centre_z, *extra in PHANTOMS:
        d = os.path.join(work, f'ts{seed}')
        thorax = '1' if 'thorax' in extra else '0'
        subprocess.run(['npx', 'tsx', os.path.join(HERE, 'make_ts_phantom.ts'), d, str(seed), str(scale), spacing, str(fov_z), str(centre_z), thorax],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        cases.append(('held-out phantoms', name, os.path.join(d, 'ts_phantom_ct.nii.gz'), os.path.join(d, 'ts_phantom_labels.nii.gz')))
    return cases


def carried_rows(release_dir, groups, network_note):
    """The rows of a release's evaluation.json in these groups (leave-one-out companions that are not
    re-run), each saying which release measured it; rows that release itself carried keep theirs."""
    path = os.path.join(release_dir, 'evaluation.json')
    if not os.path.exists(path):
        return []
    rel = json.load(open(os.path.join(release_dir, 'model.json')))
    src = f"{rel['id']} {rel['version']}"
    def group(g):  # 'held-out real (how)' -> 'held-out real (how, measured in src)': what the demo and the app parse
        return f'{g[:-1]}, measured in {src})' if g.endswith(')') else f'{g} (measured in {src})'
    return [e if 'measuredWith' in e else {**e, 'group': group(e['group']), 'measuredWith': f'{src} {network_note}'}
            for e in json.load(open(path)).get('cases', []) if e.get('group', '').startswith(tuple(g.rstrip(')') for g in groups))]


def run_info(ck, a):
    """The card's record of one training run (its checkpoint's args): data, crops, recipe, start."""
    args = ck['args']
    info = {'iterations': ck['iteration'], 'secondsOfLastPhase': round(ck.get('extra', {}).get('seconds', 0)),
            'crops': 'engine-like (organ box + 5-40 mm margin; thin slabs ' + str(args.get('slab_ratio')) + ' of draws, whole field of view)' if args.get('engine_crops') else args['size'],
            'phantoms': args['phantoms'], 'phantomRatio': args['phantom_ratio'], 'realWeight': args.get('real_weight', 1),
            'seed': args['seed'], 'threads': args['threads'], 'lr': args['lr'], 'ema': args['ema'],
            'realism': not args.get('no_realism', False), 'heldOut': sorted(held_out(args))}
    if args['stage'] == 'localization' and args.get('engine_crops'):
        info['crops'] = 'the whole scan at 6 mm in the smallest valid grid that covers it, as the engine'
    if args['stage'] == 'localization' and args.get('fov_ratio'):
        info['fieldOfViewCuts'] = f"{args['fov_ratio']} of draws cut to a random foot-to-head field of at least {args.get('fov_min_mm', 200.0):g} mm"
    if args['stage'] == 'segmentation':
        info['spacingMm'] = args.get('spacing', 2.0)
        if a.run_spacing and a.run_spacing != info['spacingMm']:
            info['runSpacingMm'] = a.run_spacing  # the card's: what the engine feeds it
        if args.get('window'):
            info['inputWindowHu'] = [float(v) for v in str(args['window']).split(',')]
        if args.get('organ_dice'):
            info['organDiceWeight'] = args['organ_dice']
        if args.get('neighbour_weight'):
            info['neighbourWeight'] = args['neighbour_weight']
        if args.get('organ_warp'):
            info['organWarp'] = args['organ_warp']
        if args.get('phantom_thorax'):
            info['phantomThorax'] = 'phantoms with a diaphragm, lungs, a heart and a liver left lobe (train.py --phantom-thorax)'
    init_from = args.get('init_from')
    if init_from and a.initialised_from:
        info['initialisedFrom'] = a.initialised_from
    elif init_from:
        card_path = os.path.join(init_from, 'model.json')
        prev = json.load(open(card_path)) if os.path.exists(card_path) else {}
        info['initialisedFrom'] = f"{prev['id']} {prev['version']}" if prev else init_from
    else:
        info['init'] = args.get('init', 'pytorch')
    return info


def recard(a):
    """--seg is a released model folder: its two networks ship byte for byte and its card's training
    record carries over; the engine settings given change, and every figure is measured again (the
    leave-one-out companion rows, whose runs are not re-run, carry over marked with their release)."""
    rel = json.load(open(os.path.join(a.seg, 'model.json')))
    card = json.loads(json.dumps(rel))
    card['version'] = a.version
    seg_card = card['stages']['segmentation']
    a.min_scan_extent = card['stages']['localization']['minScanExtentMm']  # the card's, for the description
    if a.run_spacing:
        seg_card['spacing'] = [a.run_spacing] * 3
    if a.in_plane_padding:
        seg_card['inPlanePadding'] = a.in_plane_padding
    if a.border_trim_below_hu is not None:
        seg_card['borderTrimBelowHu'] = a.border_trim_below_hu
    if a.review_unsure_above is not None:
        seg_card['reviewUnsureAbove'] = a.review_unsure_above
    record = card.setdefault('training', {})
    released = [card['stages']['localization']['file'], seg_card['file'], *seg_card.get('ensembleFiles', [])]
    record['recardedFrom'] = {'model': f"{rel['id']} {rel['version']}", 'networks': f"{', '.join(released)} byte for byte",
                              'changes': a.history or 'engine settings of the card only'}
    os.makedirs(a.out, exist_ok=True)
    for f in released:
        if os.path.abspath(os.path.join(a.seg, f)) != os.path.abspath(os.path.join(a.out, f)):
            shutil.copyfile(os.path.join(a.seg, f), os.path.join(a.out, f))
    trained = record.get('segmentation', {})
    excluded = set(trained.get('heldOut', [])) & set(record.get('localization', {}).get('heldOut', []))
    for run in a.ensemble_run:
        member = add_ensemble_member(run, a, card)
        excluded &= set(member['heldOut'])  # held out only where no network trained on it
    write_json(os.path.join(a.out, 'model.json'), card)  # the engine measures with the new settings
    eval_only = json.load(open(os.path.join(a.dataset, 'dataset.json'))).get('scn_studio', {}).get('evalOnly', {})
    trained_on = [n for n, _, _ in nnunet_cases(a.dataset) if n not in excluded]
    work = tempfile.mkdtemp(prefix='scn-ship-eval-')
    cases = measured_cases(a.dataset, excluded, eval_only, work)
    carried = carried_rows(a.seg, (COMPANION, LOC_COMPANION), "(before this card's engine settings)")
    train_spacing = float(trained.get('spacingMm', seg_card['spacing'][0]))
    measure_and_write(a, card, cases, {}, carried, trained_on, float(seg_card['spacing'][0]), train_spacing, work)


def add_ensemble_member(run, a, card):
    """Exports a segmentation run's EMA weights into a.out as the card's next ensemble file and records
    the run in card['training']['ensemble']; the run must read its input as the card's network does."""
    seg_card = card['stages']['segmentation']
    net = SpatialConfigurationNet(len(FLARE_LABELS))
    ck = load_weights(os.path.join(run, 'checkpoint.pt'), net)
    if ck['args'].get('stage') != 'segmentation':
        raise SystemExit(f'{run}: not a segmentation run')
    norm = Normalization.of_run(ck['args']).card()
    if {**norm, 'offset': norm.get('offset', 0)} != {**seg_card['normalization'], 'offset': seg_card['normalization'].get('offset', 0)}:
        raise SystemExit(f"{run}: the run's input normalization {norm} is not the card's {seg_card['normalization']}; ensemble members share their input")
    files = seg_card.setdefault('ensembleFiles', [])
    f = f'segmentation-{len(files) + 2}.onnx'
    export_segmentation(net, os.path.join(a.out, f))
    files.append(f)
    info = {**run_info(ck, a), 'file': f}
    card['training'].setdefault('ensemble', []).append(info)
    return info


def write_json(path, value):
    """Atomic: a reader sees the old file or the new one, never half of one."""
    with open(path + '.tmp', 'w') as f:
        json.dump(value, f, indent=2)
        f.write('\n')
    os.replace(path + '.tmp', path)


def with_doubt(organs, report):
    """Each scored organ with the engine's unsure share beside its Dice (the report's unsureFraction), so
    evaluation.json shows where the review hint (src-shared/review-hint.ts) fires and where it does not."""
    doubt = {o['name']: o['unsureFraction'] for o in report['organs'] if 'unsureFraction' in o}
    return {name: ({**v, 'unsureFraction': doubt[name]} if name in doubt else v) for name, v in organs.items()}


def measure_and_write(a, card, cases, model_dirs, carried, trained_on, seg_spacing, train_spacing, work):
    """Every case through `scn-studio segment` with the model in a.out (or the companion folder of its
    group), then the card's metrics and description and evaluation.json, written atomically."""
    evaluation = []
    for i, (group, name, ct, truth) in enumerate(cases):
        pred = os.path.join(work, f'{i:02d}_{name.replace(" ", "_")}_pred.nii.gz')
        model_dir = model_dirs.get(group) or a.out
        report = engine_segment(model_dir, 'scn-flare-organs', ct, pred)
        organs = with_doubt(score(pred, truth), report)
        evaluation.append({'group': group, 'case': name, 'input': os.path.relpath(ct, DATA) if ct.startswith(os.path.abspath(DATA)) else os.path.basename(ct),
                           'seconds': round(sum(report['stageSeconds'].values()), 2), 'warnings': report['warnings'], 'organs': organs})
        print(f'{group:18} {name:36} ' + ', '.join(f"{o} {v['dice']:.3f}/{v['nsd']:.3f}" if v['present'] else f'{o} absent' for o, v in organs.items()), flush=True)

    evaluation += carried
    metrics = []
    for e in evaluation:
        for organ, v in e['organs'].items():
            if not v['present']:
                continue
            ds = f"{e['group']}: {e['case']}"
            metrics.append({'name': 'dice', 'organ': organ, 'value': v['dice'], 'dataset': ds, 'method': 'Dice, `scn-studio segment` (the TypeScript engine) vs reference, on the CT grid'})
            metrics.append({'name': 'nsd@1mm', 'organ': organ, 'value': v['nsd'], 'dataset': ds, 'method': 'NSD at 1 mm (border voxels; src-main/evaluation/metrics.ts definition)'})

    def summary(group):
        rows = [e for e in evaluation if e['group'] == group]
        parts = []
        for e in rows:
            parts.append(f"{e['case']}: " + ', '.join(f"{o} {v['dice']:.2f}" for o, v in e['organs'].items() if v['present']))
        return '; '.join(parts)

    card['metrics'] = metrics
    card['description'] = (
        'FLARE21 SpatialConfiguration-Net (EfficientSCN layout) for liver, kidneys, spleen and pancreas, trained by SCN Studio on a shared '
        f'2-core CPU (no GPU) from {len(trained_on)} real CTs ({", ".join(trained_on)}) plus synthetic phantoms. Segmentation at {seg_spacing:g} mm '
        + (f'(trained at {train_spacing:g} mm; the authors: 2 mm). ' if seg_spacing != train_spacing else '(the authors: 2 mm). ') +
        (f"The segmentation is the mean of {1 + len(card['stages']['segmentation']['ensembleFiles'])} separately trained networks' probabilities. "
           if card['stages']['segmentation'].get('ensembleFiles') else '') +
        f'Scans shorter than {a.min_scan_extent:g} mm are segmented on their whole field of view. '
        + (f"At label borders, organ voxels below {card['stages']['segmentation']['borderTrimBelowHu']:g} HU (fat, air) become background. "
           if card['stages']['segmentation'].get('borderTrimBelowHu') is not None else '') +
        (f"An organ more than {card['stages']['segmentation']['reviewUnsureAbove'] * 100:g} % of whose voxels the network chose by under 0.5 "
         'probability is flagged for review (calibrated on held-out CT; no flag is not a guarantee). '
           if card['stages']['segmentation'].get('reviewUnsureAbove') is not None else '') +
        f'Dice through the engine, held-out real: {summary("held-out real") or "none available"}. '
        + (f'Leave-one-out estimate (a run of the same recipe that did not train on it): {summary(COMPANION)}. ' if summary(COMPANION) else '') +
        (f'Localization on CTs it never saw (a companion localization run; the segmentation network trained on them), whole and cut to shorter fields: {summary(LOC_COMPANION)}. ' if summary(LOC_COMPANION) else '') +
        ''.join(f"Carried from {rows[0]['measuredWith']}, not re-run: {re.sub(r', measured in [^)]*', '', g)}: {summary(g)}. "
                for g in dict.fromkeys(e['group'] for e in carried) for rows in [[e for e in carried if e['group'] == g]]) +
        f'Training-set real (not generalisation): {summary("training-set real")}. '
        'Few real cases and CPU-only training: expect masks to need correction on your scans; measure on your own data with '
        '`scn-studio evaluate` and retrain on the exported dataset (training/README.md).')
    # the networks are in a.out already (written or copied before measuring): only the card changes
    write_json(os.path.join(a.out, 'model.json'), card)
    write_json(os.path.join(a.out, 'evaluation.json'), {'model': f'scn-flare-organs {a.version}', 'engine': 'scn-studio segment --device cpu', 'cases': evaluation})
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({'out': a.out, 'metrics': len(metrics)}))


if __name__ == '__main__':
    main()
