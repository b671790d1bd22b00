#!/usr/bin/env python3
"""
Reference outputs for the ONNX parity test (test/unit/onnx-parity.test.ts): PyTorch runs the
networks on a fixed input and writes input and outputs as raw little-endian float32, next to the
ONNX graphs that onnxruntime-node (the engine's own openSession) then runs.

  python3 training/parity_reference.py --out DIR                  random weights, exported to DIR
  python3 training/parity_reference.py --out DIR --model M        weights read back from M/*.onnx by
                                                                  initializer name (checks the names too)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import export_localization, export_segmentation  # noqa: E402
from scn.networks import LocalizationExport, SegmentationExport, he_init  # noqa: E402


def load_from_onnx(path: str, net: torch.nn.Module) -> None:
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = {}
    for name, p in net.state_dict().items():
        if name not in inits:
            raise KeyError(f'{path}: no initializer named {name}')
        state[name] = torch.from_numpy(inits[name].astype(np.float32).copy()).reshape(p.shape)
    net.load_state_dict(state)


def test_input(shape):
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing='ij')
    # a smooth blob pattern in the normalised range plus a little structure, deterministic
    v = 0.35 * np.sin(x * 0.31) * np.cos(y * 0.23) + 0.25 * np.sin(z * 0.17 + x * 0.05) - 0.05
    return v.astype(np.float32)[None, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--model', help='model folder whose ONNX weights to use')
    ap.add_argument('--seed', type=int, default=3)
    ap.add_argument('--loc-shape', default='32,48,32')
    ap.add_argument('--seg-shape', default='32,32,64')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    loc, seg = LocalizationExport(), SegmentationExport(4)
    if a.model:
        load_from_onnx(os.path.join(a.model, 'localization.onnx'), loc)
        load_from_onnx(os.path.join(a.model, 'segmentation.onnx'), seg)
        loc_path, seg_path = os.path.join(a.model, 'localization.onnx'), os.path.join(a.model, 'segmentation.onnx')
    else:
        # He-initialised weights and random biases give outputs that vary over the volume (PyTorch's
        # default init gives nearly constant probabilities, which would hide upsampling errors)
        he_init(loc, 0.1, a.seed)
        he_init(seg, 0.1, a.seed + 1)
        loc_path, seg_path = os.path.join(a.out, 'localization.onnx'), os.path.join(a.out, 'segmentation.onnx')
        export_localization(loc, loc_path)
        export_segmentation(seg, seg_path)
    loc.eval()
    seg.eval()
    out = {'localization': loc_path, 'segmentation': seg_path}
    with torch.no_grad():
        for stage, net, shape in (('loc', loc, a.loc_shape), ('seg', seg, a.seg_shape)):
            dims = [int(s) for s in shape.split(',')]
            x = test_input(dims)
            y = net(torch.from_numpy(x)).numpy().astype(np.float32)
            x.astype('<f4').tofile(os.path.join(a.out, f'{stage}_input.raw'))
            y.astype('<f4').tofile(os.path.join(a.out, f'{stage}_output.raw'))
            out[stage] = {'input': list(x.shape), 'output': list(y.shape), 'outputRange': [float(y.min()), float(y.max())], 'outputStd': float(y.std(axis=(2, 3, 4)).mean())}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
