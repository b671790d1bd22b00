#!/usr/bin/env python3
"""
Train the SCN (segmentation) or the localization U-Net from an nnU-Net v2 dataset folder
(imagesTr/*_0000.nii.gz, labelsTr/*.nii.gz, dataset.json: what SCN Studio exports), single
image/label pairs, and/or synthetic phantoms, as the authors (docs/scn-model.md): Adam 1e-4, batch 1, EMA 0.999,
generalized Dice on the merged output + sigmoid cross-entropy on the local and spatial logits,
translation/rotation/scale/elastic/intensity augmentation, channel dropout and salt-and-pepper
noise on the spatial inputs, mixed precision on CUDA.

  python3 training/train.py --stage segmentation --data EXPORTED_DATASET --out training/runs/seg
  python3 training/train.py --stage localization --data EXPORTED_DATASET --out training/runs/loc
  ... --label-map 5:1,2:2,3:2,1:3,7:4 (TotalSegmentator ids -> ours) --phantoms 32 --phantom-ratio 0.5
  ... --resume (continue from OUT/checkpoint.pt)   --smoke (a few iterations on a tiny fixed case)

For speed on CPU run with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
or LD_PRELOAD=libtcmalloc_minimal.so.4 (docs/runtime-notes.md); train.py re-executes itself with the former
when neither is set.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import random
import signal
import sys
import time

TUNABLES = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736'
if __name__ == '__main__' and 'GLIBC_TUNABLES' not in os.environ and 'tcmalloc' not in os.environ.get('LD_PRELOAD', ''):
    # every large tensor would otherwise be a fresh mmap, page-faulted again each step (~6x slower)
    os.environ['GLIBC_TUNABLES'] = TUNABLES
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scn.data import (Augment, Case, Normalization, OrganWarp, Realism, dataset_case_facts, fov_draw, load_case, localization_sample, nnunet_cases,  # noqa: E402
                      organ_box_draw, sample, segmentation_centre, slab_draw)
from scn.labels import parse_label_map  # noqa: E402
from scn.losses import l2_kernels, localization_losses, scn_losses  # noqa: E402
from scn.networks import LocalizationNet, SpatialConfigurationNet, he_init, rescale_image_input  # noqa: E402
from scn.phantom import generate_phantom  # noqa: E402

REG_CONSTANT = 1e-6


class EMA:
    """tf.train.ExponentialMovingAverage(0.999) with num_updates: decay = min(d, (1+n)/(10+n))."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.n = 0
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for k, v in model.state_dict().items():
            self.shadow[k].mul_(d).add_(v.detach().float(), alpha=1 - d)


def parse_size(text: str):
    parts = [int(p) for p in text.split(',')]
    return parts * 3 if len(parts) == 1 else parts


def build_sources(a, rng):
    """Real cases and a phantom pool."""
    label_map = parse_label_map(a.label_map) if a.label_map else None
    real = []
    neighbours = a.neighbour_weight > 0 and a.stage == 'segmentation'
    for folder in a.data or []:
        facts = dataset_case_facts(folder)
        # the neighbours' value is the dataset's (make_real_dataset.py --neighbours); with
        # --neighbour-weight it must be the one after the organs, the value scn_losses reads as "neighbour"
        ds_json = os.path.join(folder, 'dataset.json')
        nb = json.load(open(ds_json)).get('labels', {}).get('neighbour') if os.path.exists(ds_json) else None
        if neighbours:
            if nb is None:
                raise SystemExit(f'{folder}: --neighbour-weight needs a dataset made with make_real_dataset.py --neighbours (its dataset.json has no "neighbour" label)')
            if (label_map.get(nb) if label_map else nb) != a.organs + 1:
                raise SystemExit(f'{folder}: its neighbour label {nb} must be (or be mapped to) {a.organs + 1}, the value after the {a.organs} organs')
        for name, img, lab in nnunet_cases(folder):
            if name in (a.exclude or '').split(','):
                print(f'{name}: left out (--exclude)', flush=True)
                continue
            case = load_case(img, lab, label_map, name)
            if neighbours:
                case.neighbour = a.organs + 1
            elif nb is not None:  # without --neighbour-weight the neighbours are background
                case.labels[case.labels == (label_map.get(nb, 0) if label_map else nb)] = 0
            window = facts.get(name, {}).get('windowHU')
            case.window = tuple(window) if window else None
            for _ in range(max(1, a.real_weight)):
                real.append(case)
    for pair in a.case or []:
        img, lab = pair.split(',')
        real.append(load_case(img, lab, label_map))
    phantoms = []
    for i in range(a.phantoms):
        im, lb, sp = generate_phantom(a.seed * 1000 + i, thorax=a.phantom_thorax)
        phantoms.append(Case(f'phantom{i}', im.astype(np.float32), lb, sp))
    if not real and not phantoms:
        raise SystemExit('train.py: no training data (give --data, --case or --phantoms)')
    return real, phantoms


def pick(real, phantoms, ratio, rng):
    if real and phantoms:
        return phantoms[rng.integers(len(phantoms))] if rng.random() < ratio else real[rng.integers(len(real))]
    pool = real or phantoms
    return pool[rng.integers(len(pool))]


def segmentation_normalization(a) -> Normalization:
    """--window LOW,HIGH, else the authors' HU / 2048 (localization always keeps the latter)."""
    if a.stage != 'segmentation':
        return Normalization()
    try:
        return Normalization.of_run(vars(a))
    except ValueError as e:
        raise SystemExit(f'--{e}')


def make_model(stage: str, organs: int):
    return LocalizationNet() if stage == 'localization' else SpatialConfigurationNet(organs)


def save_checkpoint(path, model, ema, opt, it, args, rng, extra):
    tmp = path + '.tmp'
    torch.save({'model': model.state_dict(), 'ema': ema.shadow, 'ema_n': ema.n, 'optimizer': opt.state_dict(), 'iteration': it,
                'args': vars(args), 'rng': rng.bit_generator.state, 'torch_rng': torch.get_rng_state(), 'extra': extra}, tmp)
    os.replace(tmp, path)


def train(a) -> dict:
    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    warp_rng = np.random.default_rng([a.seed, 1])
    input_norm = segmentation_normalization(a)
    device = torch.device(a.device if a.device != 'auto' else ('cuda' if torch.cuda.is_available() else 'cpu'))
    os.makedirs(a.out, exist_ok=True)

    if a.smoke:
        # one fixed tiny case, fixed sample, no augmentation: the loss must go down
        im, lb, sp = generate_phantom(a.seed, shape_zyx=(48, 40, 48), spacing=6.0, synth_intensity=False)
        case = Case('smoke', im.astype(np.float32), lb, sp)
        size = [32, 32, 32]
        if a.stage == 'localization':
            x, y = localization_sample(case, size, rng, Augment.none())
        else:
            x, y = sample(case, size, 6.0, segmentation_centre(case, size, 6.0, rng), rng, Augment.none(), 0.0, norm=input_norm)
        fixed = (x, y)
        real, phantoms = [], []
    else:
        fixed = None
        real, phantoms = build_sources(a, rng)
        size = parse_size(a.size)

    organs = a.organs
    model = make_model(a.stage, organs)
    if a.init_from:
        # fine-tune a model folder (e.g. the shipped one, or your last export) instead of starting cold
        from parity_reference import load_from_onnx
        load_from_onnx(os.path.join(a.init_from, f'{a.stage}.onnx'), model)
        print(f'initialised from {a.init_from}/{a.stage}.onnx', flush=True)
        if a.stage == 'segmentation':
            was = Normalization.of_model(a.init_from)
            if (was.offset, was.scale) != (input_norm.offset, input_norm.scale):
                # same function of HU inside the window: only the image-facing convolutions change
                rescale_image_input(model, gain=input_norm.scale / was.scale, shift=(input_norm.offset - was.offset) / was.scale)
                print(f'input rescaled from offset {was.offset} scale {was.scale} to offset {input_norm.offset} scale {input_norm.scale}', flush=True)
    elif a.init == 'he':
        # the authors' he_initializer; PyTorch's default conv init (variance 1/(3 fan_in)) makes the
        # 20-conv-deep U-Nets start with nearly constant outputs and learn far more slowly
        he_init(model, seed=a.seed)
    model = model.to(device)
    if a.stage == 'segmentation':
        model.spatial_configuration.channel_dropout = a.channel_dropout
        model.spatial_configuration.salt_pepper_ratio = a.salt_pepper
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ema = EMA(model, a.ema)
    start = 0
    ckpt_path = os.path.join(a.out, 'checkpoint.pt')
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['optimizer'])
        ema.shadow = {k: v.to(device) for k, v in ck['ema'].items()}
        ema.n = ck.get('ema_n', ck['iteration'])
        start = ck['iteration']
        for g in opt.param_groups:  # --lr applies on resume too (e.g. to change the schedule)
            g['lr'] = a.lr
        rng.bit_generator.state = ck['rng']
        if 'warp_rng' in ck.get('extra', {}):
            warp_rng.bit_generator.state = ck['extra']['warp_rng']
        torch.set_rng_state(ck['torch_rng'])
        print(f'resumed {ckpt_path} at iteration {start}', flush=True)

    use_amp = device.type == 'cuda' and not a.no_amp
    scaler = torch.cuda.amp.GradScaler(enabled=use_amp)
    aug = Augment() if not a.no_augment else Augment.none()
    # a slab's edges are axis-aligned planes at inference: small rotations only
    slab_aug = Augment(translation_mm=10, rotation_rad=0.08) if not a.no_augment else Augment.none()
    realism = Realism() if not (a.no_augment or a.no_realism) else None
    # its own generator: a run with --organ-warp draws the same crops as the same run without it
    warp = (OrganWarp(p=a.organ_warp), warp_rng) if a.organ_warp > 0 and a.stage == 'segmentation' and not a.no_augment else None
    log_path = os.path.join(a.out, 'log.csv')
    new_log = not (a.resume and os.path.exists(log_path))
    if not new_log:
        # drop rows logged after the checkpoint we resume from (a run killed between checkpoints)
        with open(log_path, newline='') as f:
            rows = list(csv.reader(f))
        keep = [rows[0]] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= start]
        with open(log_path, 'w', newline='') as f:
            csv.writer(f).writerows(keep)
    log = open(log_path, 'w' if new_log else 'a', newline='')
    writer = csv.writer(log)
    if new_log:
        writer.writerow(['iteration', 'loss', 'parts', 'seconds', 'source'])
    norm_avg = 10.0
    t0 = time.time()
    deadline = t0 + a.time_limit * 60 if a.time_limit else None
    losses_seen = []
    it = start
    model.train()
    stop = {'now': False}

    def on_term(signum, frame):  # SIGTERM/SIGINT: finish the step, checkpoint, exit cleanly
        stop['now'] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while it < a.iterations and (deadline is None or time.time() < deadline) and not stop['now']:
        ts = time.time()
        if fixed is not None:
            x, y = fixed
            src = 'smoke'
        else:
            case = pick(real, phantoms, a.phantom_ratio, rng)
            src = case.name
            if a.stage == 'localization':
                if a.fov_ratio and rng.random() < a.fov_ratio:  # (no draw when off: older runs resume unchanged)
                    case.image_smoothed(3.0)  # smoothed once on the whole case, then cut with it
                    case = fov_draw(case, rng, a.fov_min_mm)
                    src += ':fov'
                x, y = localization_sample(case, None if a.engine_crops else size, rng, aug, realism=realism)
            elif a.engine_crops:
                # what the engine feeds the network: the organ box plus a margin after localization,
                # or a thin slab's whole field of view (pipeline.ts); smoothed with sigma = spacing / 2
                if rng.random() < a.slab_ratio:
                    sz, centre, zr = slab_draw(case, a.spacing, rng, (a.slab_min_mm, 220.0))
                    x, y = sample(case, sz, a.spacing, centre, rng, slab_aug, a.spacing / 2, zrange_mm=zr, realism=realism, z_replicate=a.z_replicate, norm=input_norm, organ_warp=warp)
                    src += ':slab'
                else:
                    sz, centre = organ_box_draw(case, a.spacing, rng)
                    x, y = sample(case, sz, a.spacing, centre, rng, aug, a.spacing / 2, realism=realism, z_replicate=a.z_replicate, norm=input_norm, organ_warp=warp)
            else:
                # the CT is smoothed with sigma = spacing / 2 (1 mm at the authors' 2 mm) before sampling
                x, y = sample(case, size, a.spacing, segmentation_centre(case, size, a.spacing, rng), rng, aug, a.spacing / 2, realism=realism, norm=input_norm, organ_warp=warp)
        xt = torch.from_numpy(x)[None, None].to(device)
        yt = torch.from_numpy(y.astype(np.int64))[None].to(device)
        with torch.autocast(device_type=device.type, enabled=use_amp):
            out = model(xt)
        parts = localization_losses(out, yt) if a.stage == 'localization' else scn_losses(out, yt, organs + 1, a.organ_dice, a.neighbour_weight)
        loss = sum(parts.values()) + REG_CONSTANT * l2_kernels(model)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        # the authors clip to 5x a running average of the gradient norm
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), norm_avg * 5))
        if np.isfinite(norm):
            norm_avg = 0.01 * min(norm, norm_avg * 5) + 0.99 * norm_avg
        scaler.step(opt)
        scaler.update()
        ema.update(model)
        it += 1
        lv = float(loss)
        losses_seen.append(lv)
        writer.writerow([it, f'{lv:.5f}', json.dumps({k: round(float(v), 5) for k, v in parts.items()}), f'{time.time() - ts:.3f}', src])
        if it % a.log_every == 0:
            log.flush()
            recent = np.mean(losses_seen[-a.log_every:])
            print(f'{a.stage} it {it} loss {recent:.4f} ({time.time() - t0:.0f} s)', flush=True)
        if it % a.checkpoint_every == 0:
            save_checkpoint(ckpt_path, model, ema, opt, it, a, rng, {'seconds': time.time() - t0, 'warp_rng': warp_rng.bit_generator.state})
    log.close()
    if it > start:
        save_checkpoint(ckpt_path, model, ema, opt, it, a, rng, {'seconds': time.time() - t0, 'warp_rng': warp_rng.bit_generator.state})
    return {'iterations': it, 'seconds': time.time() - t0, 'losses': losses_seen, 'checkpoint': ckpt_path}


def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--stage', choices=['segmentation', 'localization'], default='segmentation')
    ap.add_argument('--data', action='append', help='nnU-Net v2 dataset folder (repeatable)')
    ap.add_argument('--case', action='append', help='IMAGE,LABELS NIfTI pair (repeatable)')
    ap.add_argument('--label-map', help='source:target label values, e.g. 5:1,2:2,3:2,1:3,7:4; unlisted -> 0')
    ap.add_argument('--organs', type=int, default=4, help='number of organ labels (values 1..N)')
    ap.add_argument('--phantoms', type=int, default=0, help='synthetic phantoms in the pool')
    ap.add_argument('--phantom-thorax', action='store_true',
                    help='phantoms with lungs and a heart above a diaphragm (scn/phantom.py), not an abdomen that goes on upwards')
    ap.add_argument('--phantom-ratio', type=float, default=0.5, help='share of iterations drawn from phantoms')
    ap.add_argument('--size', default=None, help='crop size z,y,x (valid sizes; default 64 segmentation, 64 localization)')
    ap.add_argument('--spacing', type=float, default=2.0,
                    help='segmentation input spacing in mm (the authors: 2; coarser lets a CPU-sized crop cover the whole organ box)')
    ap.add_argument('--iterations', type=int, default=100000)
    ap.add_argument('--time-limit', type=float, default=0, help='minutes; stop (and checkpoint) after this')
    ap.add_argument('--lr', type=float, default=1e-4)
    ap.add_argument('--init', choices=['he', 'pytorch'], default='he', help='weight initialisation of a new run')
    ap.add_argument('--init-from', help='model folder whose ONNX weights start a new run (fine-tuning)')
    ap.add_argument('--ema', type=float, default=0.999)
    ap.add_argument('--channel-dropout', type=float, default=0.1)
    ap.add_argument('--salt-pepper', type=float, default=0.01)
    ap.add_argument('--no-augment', action='store_true')
    ap.add_argument('--no-realism', action='store_true', help='no scanner/phase/window/lesion augmentation (scn/data.py Realism)')
    ap.add_argument('--engine-crops', action='store_true',
                    help='segmentation crops as the engine makes them (organ box + margin, or a slab\'s whole field of view) instead of --size')
    ap.add_argument('--slab-ratio', type=float, default=0.35, help='with --engine-crops: share of thin-slab draws')
    ap.add_argument('--slab-min-mm', type=float, default=25.0, help='with --engine-crops: thinnest slab drawn (mm; up to 220)')
    ap.add_argument('--fov-ratio', type=float, default=0.0,
                    help='localization: share of draws cut to a random foot-to-head field of view (scans of the pelvis, or chest and upper abdomen)')
    ap.add_argument('--fov-min-mm', type=float, default=200.0, help='with --fov-ratio: the shortest field drawn (the card\'s minScanExtentMm)')
    ap.add_argument('--z-replicate', action='store_true',
                    help='segmentation: beyond the first/last slice (of the CT or a slab) repeat it instead of padding with air (card zPadding replicate)')
    ap.add_argument('--window', default=None,
                    help='segmentation: LOW,HIGH HU window of the network input, x = clip((HU - centre) / half-width, -1, 1) '
                         '(card normalization offset/scale; e.g. -160,240 = L40/W400). Default: the authors\' HU / 2048. '
                         'With --init-from, the first layers are rescaled so that the network starts where it was inside the window')
    ap.add_argument('--organ-dice', type=float, default=0.0,
                    help='weight of a mean soft Dice over the organs present (nnU-Net style), added to the authors\' losses')
    ap.add_argument('--neighbour-weight', type=float, default=0.0,
                    help='segmentation: with a dataset made by make_real_dataset.py --neighbours, the organs\' neighbours (value organs+1) '
                         'count this many times in the cross-entropies (background everywhere else)')
    ap.add_argument('--organ-warp', type=float, default=0.0,
                    help='segmentation: share of crops in which single organs are grown or shrunk against their neighbours (scn/data.py OrganWarp; 0 = off)')
    ap.add_argument('--real-weight', type=int, default=1, help='each real case counts this many times in the pool')
    ap.add_argument('--exclude', default='', help='comma-separated dataset case names to leave out (held-out cases)')
    ap.add_argument('--no-amp', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='auto')
    ap.add_argument('--out', default='training/runs/default')
    ap.add_argument('--resume', action='store_true')
    ap.add_argument('--smoke', action='store_true', help='few iterations on a tiny fixed case (CI)')
    ap.add_argument('--log-every', type=int, default=20)
    ap.add_argument('--checkpoint-every', type=int, default=200)
    return ap


def main(argv=None):
    a = parser().parse_args(argv)
    if a.size is None:
        a.size = '64'
    r = train(a)
    first, last = r['losses'][: max(1, len(r['losses']) // 5)], r['losses'][-max(1, len(r['losses']) // 5):]
    print(json.dumps({'iterations': r['iterations'], 'seconds': round(r['seconds'], 1), 'loss_first': float(np.mean(first)) if first else None,
                      'loss_last': float(np.mean(last)) if last else None, 'checkpoint': r['checkpoint']}))


if __name__ == '__main__':
    main()
