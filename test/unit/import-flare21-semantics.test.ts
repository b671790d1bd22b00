/**
 * Do our ONNX graphs compute what the authors' TensorFlow networks compute? A NumPy re-statement of
 * the TF code (MedicalDataAugmentationTool tensorflow_train_v2 + FLARE21 network_inference.py:
 * Keras Conv3D 'same' on [kd,kh,kw,in,out] kernels, leaky ReLU 0.1, AveragePooling3D, UpSampling3D
 * Linear/Cubic via shift_with_padding('repeat') and f_linear / f_cubic (Keys a = -0.5) at positions
 * (1 - f + 2i) / 2f, ConcatChannels [skip, upsampled], the spatial branch's unets[i - 1] with inputs
 * [image, other organs], the entropy merge and x / (sum + 1e-5)) runs on the TF-layout weights, and
 * the imported ONNX graph runs in ONNX Runtime on the same input: the outputs must agree.
 * Localization: the authors' real weights. Segmentation: random TF-layout weights in a bundle with
 * the real index's variable names and shapes (its data file is not available).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertNetwork } from '../../src-main/import/convert.js'
import type { NetworkKind } from '../../src-main/import/flare21-mapping.js'
import { openTensorBundle, type TensorBundle } from '../../src-main/import/tensor-bundle.js'
import { writeTensorBundle } from '../helpers/tensor-bundle-writer.js'
import { openSession } from '../../src-main/inference/onnx-session.js'
import { hasPythonModules, PYTHON, runPythonJson } from '../helpers/python.js'
import { NEEDS_DATA, sharedData } from '../helpers/shared-data.js'

const REPO = resolve(import.meta.dirname, '../..')
const HAS_PY = hasPythonModules('torch', 'onnx', 'numpy')
const locIndex = sharedData('flare21-efficientscn/localization/variables/variables.index')
const segIndex = sharedData('flare21-efficientscn/segmentation/variables/variables.index')
const work = mkdtempSync(join(tmpdir(), 'scn-semantics-'))
const template = join(work, 'template')

beforeAll(() => {
  if (!HAS_PY) return
  const r = spawnSync(PYTHON, [join(REPO, 'training/export_onnx.py'), '--random', '--out', template], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`export_onnx.py failed: ${r.stderr}`)
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** The TF reference, written from the authors' code, never from our PyTorch/ONNX graph. */
const REFERENCE = String.raw`
import json, sys, numpy as np
kind, plan_file, data_file, input_file, output_file, dims = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
plan = json.load(open(plan_file)); raw = np.fromfile(data_file, dtype='<f4')
W = {p['tfKey']: raw[p['offset'] // 4: p['offset'] // 4 + int(np.prod(p['tfShape']))].reshape(p['tfShape']).astype(np.float64) for p in plan}
Z, Y, X = dims
img = np.fromfile(input_file, dtype='<f4').reshape(1, Z, Y, X).astype(np.float64)   # [C, D, H, W]
onnx_out = np.fromfile(output_file, dtype='<f4')

def conv(x, k, b):  # Keras Conv3D, padding 'same', stride 1, channels_first, kernel [kd,kh,kw,in,out]
    kd, kh, kw, ci, co = k.shape
    pd, ph, pw = (kd - 1) // 2, (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (pd, kd - 1 - pd), (ph, kh - 1 - ph), (pw, kw - 1 - pw)))
    D, H, Wd = x.shape[1:]
    out = np.zeros((co, D, H, Wd))
    for a in range(kd):
        for b_ in range(kh):
            for c in range(kw):
                patch = xp[:, a:a + D, b_:b_ + H, c:c + Wd].reshape(ci, -1)
                out += (k[a, b_, c].T @ patch).reshape(co, D, H, Wd)
    return out + b[:, None, None, None]

lrelu = lambda x: np.where(x > 0, x, 0.1 * x)
def avgpool(x, f):
    C, D, H, Wd = x.shape
    return x.reshape(C, D // f, f, H // f, f, Wd // f, f).mean(axis=(2, 4, 6))

def shift_with_padding(x, shift, axis):  # tensorflow_util.shift_with_padding(..., padding='repeat')
    if shift == 0: return x
    n = x.shape[axis]; s = abs(shift)
    take = lambda sl: x[tuple(sl if i == axis else slice(None) for i in range(x.ndim))]
    if shift > 0:
        pad = np.concatenate([take(slice(0, 1))] * s, axis=axis); return np.concatenate([pad, take(slice(0, n - s))], axis=axis)
    pad = np.concatenate([take(slice(n - 1, n))] * s, axis=axis); return np.concatenate([take(slice(s, n)), pad], axis=axis)

def f_linear(x): return 1 - abs(x) if abs(x) <= 1 else 0
def f_cubic(x):
    A = -0.5; x = abs(x)
    if x <= 1: return (A + 2) * x ** 3 - (A + 3) * x ** 2 + 1
    if x < 2: return A * x ** 3 - 5 * A * x ** 2 + 8 * A * x - 4 * A
    return 0

def upsample_axis_with_f(x, factor, axis, f, support):
    xs = [shift_with_padding(x, s, axis) for s in range(-support, support + 1)]
    reps = []
    for i in range(factor):
        pos = (1 - factor + i * 2) / (factor * 2)
        reps.append(sum(cx * f(pos + off) for cx, off in zip(xs, range(-support, support + 1)) if f(pos + off) != 0))
    st = np.stack(reps, axis=axis + 1)
    shape = list(x.shape); shape[axis] *= factor
    return st.reshape(shape)

def upsample(x, factor, f, support):
    for axis in (1, 2, 3): x = upsample_axis_with_f(x, factor, axis, f, support)
    return x

def unet(x, weights, levels):  # UnetBase with UnetAvgLinear3D; weights in Keras variable order
    it = iter(weights)
    blocks = {}
    for kind_ in ('contracting', 'expanding'):
        for L in range(levels): blocks[(kind_, L)] = [(next(it), next(it)), (next(it), next(it))]
    def block(x, bl):
        for k, b in bl: x = lrelu(conv(x, k, b))
        return x
    skips = []
    for L in range(levels):
        x = block(x, blocks[('contracting', L)]); skips.append(x)
        if L < levels - 1: x = avgpool(x, 2)
    node = None
    for L in reversed(range(levels)):
        if L == levels - 1: node = skips[L]
        else:
            node = upsample(node, 2, f_linear, 1)
            node = np.concatenate([skips[L], node], axis=0)
        node = block(node, blocks[('expanding', L)])
    return node

sigmoid = lambda x: 1 / (1 + np.exp(-x))
keys = [p['tfKey'] for p in plan]
if kind == 'localization':
    ws = [W[k] for k in keys]
    logits = conv(unet(img, ws[:40], 5), ws[40], ws[41])
    e = np.exp(logits - logits.max(axis=0)); ref = e / e.sum(axis=0)
else:
    la = [W[f'local_appearance/variables/{i}/.ATTRIBUTES/VARIABLE_VALUE'] for i in range(40)]
    local = conv(unet(img, la, 5), W['local_appearance/prediction/kernel/.ATTRIBUTES/VARIABLE_VALUE'], W['local_appearance/prediction/bias/.ATTRIBUTES/VARIABLE_VALUE'])
    sv = [W[f'spatial_configuration/variables/{i}/.ATTRIBUTES/VARIABLE_VALUE'] for i in range(170)]
    unets = [sv[34 * k: 34 * k + 34] for k in range(5)]
    num_labels = 5
    node = avgpool(sigmoid(local), 4)[1:]        # input_background=False drops channel 0
    node_img = avgpool(img, 4)
    outs = []
    for i in range(num_labels):                  # output_background=True
        idx = [j - 1 for j in range(1, num_labels) if j != i]
        x = np.concatenate([node_img] + [node[j:j + 1] for j in idx], axis=0)
        u = unets[i - 1]                         # self.unets[i - (not input_background)]
        outs.append(conv(unet(x, u[:32], 4), u[32], u[33]))
    spatial = upsample(np.concatenate(outs, axis=0), 4, f_cubic, 2)
    ce = np.maximum(spatial, 0) - spatial * sigmoid(spatial) + np.log1p(np.exp(-np.abs(spatial)))
    unc = ce / 0.6931471805599453
    merged = sigmoid(local) * unc + sigmoid(spatial) * (1 - unc)
    ref = merged / (merged.sum(axis=0) + 1e-5)
ref = ref.astype(np.float32).ravel()
print(json.dumps({'n': int(ref.size), 'maxAbs': float(np.abs(ref - onnx_out).max()), 'refMean': float(np.abs(ref).mean()), 'refStd': float(ref.std())}))
`

async function compare(kind: NetworkKind, bundle: TensorBundle, dims: [number, number, number]) {
  const templateFile = join(template, `${kind}.onnx`)
  const { onnx, report } = convertNetwork(kind, bundle, new Uint8Array(readFileSync(templateFile)), templateFile)
  const onnxFile = join(work, `${kind}.onnx`)
  writeFileSync(onnxFile, onnx)
  const [Z, Y, X] = dims
  const input = new Float32Array(Z * Y * X)
  let s = 7
  for (let i = 0; i < input.length; i++) input[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1.2 - 0.7
  const { session } = await openSession(onnxFile, 'cpu')
  const out = await session.run({ image: new ort.Tensor('float32', input, [1, 1, Z, Y, X]) })
  await session.release()
  const probs = out.probs.data as Float32Array
  const files = { plan: join(work, `${kind}-plan.json`), input: join(work, `${kind}-in.f32`), output: join(work, `${kind}-out.f32`) }
  writeFileSync(files.plan, JSON.stringify(report.mapping.map((m) => ({ tfKey: m.tfKey, tfShape: m.tfShape, offset: bundle.byName.get(m.tfKey)!.offset }))))
  writeFileSync(files.input, input)
  writeFileSync(files.output, probs)
  const r = runPythonJson<{ n: number; maxAbs: number; refMean: number; refStd: number }>(REFERENCE, [kind, files.plan, bundle.dataFile(0), files.input, files.output, JSON.stringify(dims)])
  console.log(`${kind}: ONNX vs NumPy TF reference on ${dims.join('x')}: max |diff| ${r.maxAbs.toExponential(2)} over ${r.n} values (mean |ref| ${r.refMean.toFixed(3)}, std ${r.refStd.toFixed(3)})`)
  expect(r.n).toBe(probs.length)
  // not a degenerate (constant) output that would hide errors
  expect(r.refStd).toBeGreaterThan(0.05)
  return r
}

describe.skipIf(!HAS_PY || !locIndex)(`localization graph vs TF semantics (${!locIndex ? NEEDS_DATA : 'needs python3 torch+onnx+numpy'})`, () => {
  it("the authors' weights give the same softmax in ONNX Runtime and in the NumPy TF reference", async () => {
    const r = await compare('localization', openTensorBundle(locIndex!), [32, 48, 32])
    expect(r.maxAbs).toBeLessThan(1e-4)
  })
})

describe.skipIf(!HAS_PY || !segIndex)(`segmentation graph vs TF semantics (${!segIndex ? NEEDS_DATA : 'needs python3 torch+onnx+numpy'})`, () => {
  it('random TF-layout weights with the real index layout give the same merged probabilities', async () => {
    const real = openTensorBundle(segIndex!)
    let s = 3
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const tensors = real.entries
      .filter((e) => e.dtype === 1)
      .map((e) => {
        const v = new Float32Array(e.shape.reduce((a, b) => a * b, 1))
        // He-like scale for kernels so activations stay in a useful range, larger for the 1x1x1
        // prediction convs so that the sigmoid maps (and the merge) are far from uniform
        const fanIn = e.shape.length === 5 ? e.shape[0] * e.shape[1] * e.shape[2] * e.shape[3] : 0
        const scale = fanIn ? Math.sqrt(6 / fanIn) * (e.shape[0] === 1 ? 8 : 1) : 0.5
        for (let i = 0; i < v.length; i++) v[i] = (rnd() * 2 - 1) * scale
        return { name: e.name, dtype: 1, shape: e.shape, data: new Uint8Array(v.buffer) }
      })
    const dir = join(work, 'seg-random')
    mkdirSync(dir, { recursive: true })
    writeTensorBundle(join(dir, 'variables'), tensors)
    const r = await compare('segmentation', openTensorBundle(dir), [32, 32, 64])
    expect(r.maxAbs).toBeLessThan(1e-4)
  })
})
