#!/usr/bin/env python3
"""
Export the two SCN stages to ONNX (opset 17) plus the model card, in the layout the inference
engine loads (src-main/inference):

  localization.onnx   image [1,1,Z,Y,X] float32 (clip(HU/2048,-1,1)) -> probs [1,2,Z,Y,X] (softmax)
  segmentation.onnx   image [1,1,Z,Y,X] -> probs [1,1+organs,Z,Y,X] (merged, normalised; channel c = label c)
  model.json          src-main/inference/model-card.ts

Initializers keep the PyTorch parameter names (do_constant_folding=False; checked after export).

  python3 training/export_onnx.py --random --out DIR          random weights (tests, importer template)
  python3 training/export_onnx.py --checkpoint-loc L.pt --checkpoint-seg S.pt --out DIR [--card-extra X.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scn.data import Normalization  # noqa: E402
from scn.labels import FLARE_LABELS  # noqa: E402
from scn.networks import LocalizationExport, LocalizationNet, SegmentationExport, SpatialConfigurationNet  # noqa: E402

OPSET = 17
SPATIAL_AXES = {2: 'Z', 3: 'Y', 4: 'X'}


def _check_initializer_names(path: str, module: torch.nn.Module) -> None:
    import onnx
    model = onnx.load(path, load_external_data=False)
    names = {i.name for i in model.graph.initializer}
    missing = [n for n, _ in module.named_parameters() if n not in names]
    if missing:
        raise RuntimeError(f'{path}: the export renamed or folded parameters (missing {missing[:5]}...)')


def _export(module: torch.nn.Module, path: str, size) -> None:
    module.eval()
    dummy = torch.zeros(1, 1, *size)
    with torch.no_grad():
        torch.onnx.export(
            module, dummy, path, opset_version=OPSET, input_names=['image'], output_names=['probs'],
            dynamic_axes={'image': SPATIAL_AXES, 'probs': SPATIAL_AXES}, do_constant_folding=False,
        )
    _check_initializer_names(path, module)


def export_localization(net: LocalizationNet, path: str) -> None:
    exp = LocalizationExport(num_classes=net.prediction.out_channels)
    exp.load_state_dict(net.state_dict())
    _export(exp, path, (32, 32, 32))


def export_segmentation(net: SpatialConfigurationNet, path: str) -> None:
    exp = SegmentationExport(num_organs=net.num_labels - 1)
    exp.load_state_dict(net.state_dict())
    _export(exp, path, (32, 32, 32))


def stage_cards(seg_spacing: float = 2.0, margin_mm: float = 10.0, min_scan_extent_mm: float = 0.0,
                z_padding: str = 'constant', seg_normalization: Optional[dict] = None,
                in_plane_padding: str = 'constant') -> Dict[str, dict]:
    """Preprocessing contract of the FLARE21 SCN (docs/scn-model.md; localization/main.py, scn/main.py).
    seg_spacing: the segmentation input spacing the network was trained at (the authors: 2 mm).
    margin_mm: margin around the localized box (the authors: 10 mm; train.py --engine-crops draws
    5-40 mm). min_scan_extent_mm: shorter scans are slabs, segmented on their whole field of view
    (train.py --engine-crops trains on such slabs; 0 = always localize, as the authors).
    z_padding: 'replicate' when the segmentation run was trained with --z-replicate (beyond the CT's
    first and last slice the network saw those slices repeated), else 'constant' (-1024 HU).
    in_plane_padding: 'replicate' to have the engine repeat the in-plane edges of the field of view
    instead of padding with air (a field of view that cuts the body; chosen by measurement).
    seg_normalization: the segmentation stage's 'clip-scale' (scn/data.py Normalization.card(); a run
    trained with --window has an offset); default the authors' HU / 2048."""
    norm = {'type': 'clip-scale', 'scale': 2048, 'min': -1, 'max': 1}
    return {
        'localization': {
            'file': 'localization.onnx', 'spacing': [6, 6, 6],
            'validSizes': {'x': [32, 48, 64, 80], 'y': [32, 48, 64, 80], 'z': list(range(32, 257, 16))},
            'normalization': norm, 'padValue': -1024,
            # the authors smooth the CT with sigma 3 (input_gaussian_sigma) before going to 6 mm
            'smoothingSigmaMm': 3, 'resampling': 'linear',
            'inputName': 'image', 'outputName': 'probs', 'foregroundChannel': 1, 'marginMm': margin_mm,
            'minScanExtentMm': min_scan_extent_mm,
        },
        'segmentation': {
            'file': 'segmentation.onnx', 'spacing': [seg_spacing] * 3,
            'validSizes': {'x': [32, 64, 96, 128, 160], 'y': [32, 64, 96, 128], 'z': [32, 64, 96, 128, 160]},
            'normalization': seg_normalization or norm, 'padValue': -1024, 'smoothingSigmaMm': seg_spacing / 2,
            # training samples the smoothed CT trilinearly (scn/data.py), so the engine should too
            'resampling': 'linear',
            'inputName': 'image', 'outputName': 'probs', 'zPadding': z_padding, 'inPlanePadding': in_plane_padding,
        },
    }


def build_card(model_id: str, version: str, description: str, license_: str, training_data: str,
               labels: Optional[List[dict]] = None, metrics: Optional[list] = None,
               training: Optional[dict] = None, source: Optional[dict] = None, seg_spacing: float = 2.0,
               margin_mm: float = 10.0, min_scan_extent_mm: float = 0.0, z_padding: str = 'constant',
               seg_normalization: Optional[dict] = None, in_plane_padding: str = 'constant') -> dict:
    card = {
        'id': model_id, 'version': version, 'description': description, 'license': license_,
        'trainingData': training_data, 'labels': labels or FLARE_LABELS, 'stages': stage_cards(seg_spacing, margin_mm, min_scan_extent_mm, z_padding, seg_normalization, in_plane_padding),
        'metrics': metrics or [],
    }
    if training is not None:
        card['training'] = training
    if source is not None:
        card['source'] = source
    return card


def write_model_folder(loc: LocalizationNet, seg: SpatialConfigurationNet, out: str, card: dict) -> None:
    os.makedirs(out, exist_ok=True)
    if len(card['labels']) != seg.num_labels - 1:
        raise ValueError(f'{out}: the card lists {len(card["labels"])} labels but the network has {seg.num_labels - 1} organs')
    export_localization(loc, os.path.join(out, 'localization.onnx'))
    export_segmentation(seg, os.path.join(out, 'segmentation.onnx'))
    tmp = os.path.join(out, 'model.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    os.replace(tmp, os.path.join(out, 'model.json'))


def load_weights(path: str, module: torch.nn.Module, use_ema: bool = True) -> dict:
    ckpt = torch.load(path, map_location='cpu')
    state = ckpt.get('ema' if use_ema and 'ema' in ckpt else 'model', ckpt) if isinstance(ckpt, dict) else ckpt
    module.load_state_dict(state)
    return ckpt if isinstance(ckpt, dict) else {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True, help='model folder to write')
    ap.add_argument('--random', action='store_true', help='random weights (seeded), for tests and as an import template')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--organs', type=int, default=4, help='number of organ labels (random mode)')
    ap.add_argument('--checkpoint-loc', help='training checkpoint of the localization net (train.py --stage localization)')
    ap.add_argument('--checkpoint-seg', help='training checkpoint of the SCN (train.py --stage segmentation)')
    ap.add_argument('--no-ema', action='store_true', help='export the raw weights instead of their moving average')
    ap.add_argument('--card-extra', help='JSON merged into model.json (id, version, description, metrics, training, ...)')
    ap.add_argument('--labels', help='JSON file with the label table (default: FLARE liver, kidney, spleen, pancreas)')
    a = ap.parse_args(argv)

    labels = json.load(open(a.labels)) if a.labels else None
    organs = len(labels) if labels else a.organs
    if a.random:
        torch.manual_seed(a.seed)
        loc, seg = LocalizationNet(), SpatialConfigurationNet(organs)
        if labels is None and organs != len(FLARE_LABELS):
            labels = [{'value': i, 'name': f'label{i}', 'color': [200, 200, 200], 'snomed': {'code': '123037004', 'meaning': 'Body structure'}} for i in range(1, organs + 1)]
        card = build_card('scn-random', '0.0.0', 'Random weights (structure only): not a usable model.', 'Apache-2.0',
                          'none (random initialisation)', labels=labels, training={'iterations': 0, 'seed': a.seed})
    else:
        if not (a.checkpoint_loc and a.checkpoint_seg):
            ap.error('give --random, or both --checkpoint-loc and --checkpoint-seg')
        loc = LocalizationNet()
        ck = load_weights(a.checkpoint_seg, seg := SpatialConfigurationNet(organs), not a.no_ema)
        load_weights(a.checkpoint_loc, loc, not a.no_ema)
        card = build_card('scn-custom', '0.1.0', 'SCN trained with SCN Studio training/train.py', 'Apache-2.0',
                          str(ck.get('args', {}).get('data', 'unknown')), labels=labels,
                          seg_spacing=float(ck.get('args', {}).get('spacing', 2.0)),
                          seg_normalization=Normalization.of_run(ck.get('args', {})).card())
    if a.card_extra:
        card.update(json.load(open(a.card_extra)))
    write_model_folder(loc, seg, a.out, card)
    print(json.dumps({'out': a.out, 'files': sorted(os.listdir(a.out))}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
