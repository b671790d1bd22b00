#!/usr/bin/env python3
"""
Benchmark model: the real SCN graphs at their real size (training/export_onnx.py --random: 1.27 M
parameter SCN + the localization U-Net), with the synthetic intensity-window answer added on top:

    probs = window(image) + 1e-6 * scn(image)

so ONNX Runtime does all of the SCN's work (it cannot drop a branch that feeds the output), while
the foreground box and the labels are those of a plausible model on the phantom (random weights
would give a random box, and so a crop size unlike a real run).

    python3 bench/make_bench_model.py OUT_DIR
"""
import json
import math
import os
import subprocess
import sys

import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORGAN_HU = [100, 160, 120, 80]  # liver, kidney, spleen, pancreas: PHANTOM_HU in src-shared/phantom.ts
WIDTH_HU, WINDOW_HU = 8.0, 10.0


def window_nodes(kind: str, out: str):
    """Nodes computing the synthetic answer from 'image' into `out` (test/fixtures/synthetic-scn.ts)."""
    w = WIDTH_HU / 2048.0
    b = math.exp(-0.5 * (WINDOW_HU / WIDTH_HU) ** 2)
    f = lambda n, v: helper.make_tensor(n, TensorProto.FLOAT, [], [v])
    inits = [f('w_inv', 1.0 / w), f('w_mhalf', -0.5), f('w_zero', 0.0), f('w_b', b), f('w_eps', 1e-5), f('w_tiny', 1e-6),
             helper.make_tensor('w_axes', TensorProto.INT64, [1], [1])]
    nodes, gs = [], []
    for c, hu in enumerate(ORGAN_HU):
        inits.append(f(f'w_mu{c}', hu / 2048.0))
        nodes += [
            helper.make_node('Sub', ['image', f'w_mu{c}'], [f'w_d{c}']),
            helper.make_node('Mul', [f'w_d{c}', 'w_inv'], [f'w_s{c}']),
            helper.make_node('Mul', [f'w_s{c}', f'w_s{c}'], [f'w_q{c}']),
            helper.make_node('Mul', [f'w_q{c}', 'w_mhalf'], [f'w_e{c}']),
            helper.make_node('Exp', [f'w_e{c}'], [f'w_g{c}']),
        ]
        gs.append(f'w_g{c}')
    nodes += [helper.make_node('Mul', ['image', 'w_zero'], ['w_z']), helper.make_node('Add', ['w_z', 'w_b'], ['w_bg'])]
    if kind == 'localization':
        nodes.append(helper.make_node('Max', gs, ['w_fg']))
        chans = ['w_bg', 'w_fg']
    else:
        chans = ['w_bg'] + gs
    nodes += [
        helper.make_node('Concat', chans, ['w_cat'], axis=1),
        helper.make_node('ReduceSum', ['w_cat', 'w_axes'], ['w_sum'], keepdims=1),
        helper.make_node('Add', ['w_sum', 'w_eps'], ['w_den']),
        helper.make_node('Div', ['w_cat', 'w_den'], [out]),
    ]
    return nodes, inits


def merge(path: str, kind: str) -> None:
    m = onnx.load(path)
    g = m.graph
    (out,) = [o for o in g.output if o.name == 'probs']
    for n in g.node:
        n.output[:] = ['scn_probs' if o == 'probs' else o for o in n.output]
    nodes, inits = window_nodes(kind, 'w_probs')
    g.node.extend(nodes)
    g.initializer.extend(inits)
    g.node.extend([
        helper.make_node('Mul', ['scn_probs', 'w_tiny'], ['scn_tiny']),
        helper.make_node('Add', ['w_probs', 'scn_tiny'], ['probs']),
    ])
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main() -> int:
    out = sys.argv[1]
    subprocess.run([sys.executable, os.path.join(ROOT, 'training', 'export_onnx.py'), '--random', '--out', out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    card = json.load(open(os.path.join(out, 'model.json')))
    for kind in ('localization', 'segmentation'):
        merge(os.path.join(out, card['stages'][kind]['file']), kind)
    card['id'] = 'bench-scn-shaped'
    card['description'] = 'Benchmark only: SCN-sized random graphs (training/export_onnx.py --random) + intensity windows'
    json.dump(card, open(os.path.join(out, 'model.json'), 'w'), indent=2)
    print(json.dumps({'out': out, 'card': card['stages']}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
