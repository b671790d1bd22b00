/**
 * A card's segmentation.ensembleFiles: the engine runs every listed network on the same input and
 * averages their probabilities before the argmax. Checked with the synthetic intensity-window model
 * (test/fixtures/synthetic-scn.ts) and a second network whose answer is the same everywhere, so the
 * mean's argmax is known per voxel from the first network's alone.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runPipeline } from '../../src-main/inference/pipeline.js'
import { listModels } from '../../src-main/inference/models.js'
import { parseModelCard, type ModelCard } from '../../src-main/inference/model-card.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { writeSyntheticScnModel } from '../fixtures/synthetic-scn.js'

const hasOnnx = hasPythonModules('onnx')

// probs = image * 0 + CONST: the same probability vector at every voxel
const CONSTANT_NETWORK = String.raw`
import sys, json
import onnx
from onnx import helper, TensorProto
path, probs = sys.argv[1], json.loads(sys.argv[2])
inits = [helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0]),
         helper.make_tensor('const', TensorProto.FLOAT, [1, len(probs), 1, 1, 1], probs)]
nodes = [helper.make_node('Mul', ['image', 'zero'], ['z']), helper.make_node('Add', ['z', 'const'], ['probs'])]
x = helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 1, 'Z', 'Y', 'X'])
y = helper.make_tensor_value_info('probs', TensorProto.FLOAT, [1, len(probs), 'Z', 'Y', 'X'])
m = helper.make_model(helper.make_graph(nodes, 'constant', [x], [y], inits), opset_imports=[helper.make_opsetid('', 13)])
m.ir_version = 7
onnx.checker.check_model(m)
onnx.save(m, path)
print(json.dumps({'ok': True}))
`

let dir: string
let card: ModelCard

beforeAll(() => {
  if (!hasOnnx) return
  dir = mkdtempSync(join(tmpdir(), 'scn-ensemble-'))
  card = writeSyntheticScnModel(join(dir, 'models', 'ens'))
  // background 0.6, liver 0.4 everywhere
  runPythonJson(CONSTANT_NETWORK, [join(dir, 'models', 'ens', 'constant.onnx'), JSON.stringify([0.6, 0.4, 0, 0, 0])])
  runPythonJson(CONSTANT_NETWORK, [join(dir, 'models', 'ens', 'three-channels.onnx'), JSON.stringify([0.6, 0.4, 0])])
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function withEnsemble(files: string[]): ModelCard {
  return { ...card, stages: { ...card.stages, segmentation: { ...card.stages.segmentation, ensembleFiles: files } } }
}

function count(a: Uint8Array, v: number): number {
  let n = 0
  for (let i = 0; i < a.length; i++) if (a[i] === v) n++
  return n
}

describe.skipIf(!hasOnnx)('segmentation ensemble (card segmentation.ensembleFiles)', () => {
  it('averages the members: where one network says background 0.6 / liver 0.4 everywhere, only the liver survives', async () => {
    const modelDir = join(dir, 'models', 'ens')
    const ph = generatePhantom({ dims: [96, 80, 64], spacing: [4, 4, 4], noise: 0, seed: 5 })
    const single = await runPipeline({ ...ph.ct, data: ph.ct.data.slice() }, { dir: modelDir, card })
    const events: string[] = []
    const both = await runPipeline({ ...ph.ct, data: ph.ct.data.slice() }, { dir: modelDir, card: withEnsemble(['constant.onnx']) }, { onProgress: (p) => events.push(p.message) })
    // alone, the synthetic network finds every organ
    for (const v of [1, 2, 3, 4]) expect(count(single.labels.data, v)).toBeGreaterThan(100)
    // the mean: an organ c where the first network gives p_c ~ 0.68 becomes (0.68 + 0) / 2 < background
    // (0.32 + 0.6) / 2, except the liver, which the second network backs with 0.4
    for (const v of [2, 3, 4]) expect(count(both.labels.data, v)).toBe(0)
    const liver = count(both.labels.data, 1)
    expect(liver).toBeGreaterThan(0.5 * count(single.labels.data, 1))
    // and nowhere outside the first network's liver (there its background is ~1)
    for (let i = 0; i < both.labels.data.length; i++) if (both.labels.data[i] === 1) expect(single.labels.data[i]).toBe(1)
    expect(events).toContain('segmentation network 2 of 2')
  })

  it('names the member whose output has the wrong number of channels', async () => {
    const modelDir = join(dir, 'models', 'ens')
    const ph = generatePhantom({ dims: [64, 64, 48], spacing: [4, 4, 4], noise: 0, seed: 6 })
    await expect(runPipeline(ph.ct, { dir: modelDir, card: withEnsemble(['three-channels.onnx']) })).rejects.toThrow(/three-channels\.onnx: the segmentation output has 3 channels, segmentation\.onnx has 5/)
  })

  it('lists a model whose ensemble member is missing as broken, naming the file', () => {
    const home = mkdtempSync(join(tmpdir(), 'scn-ensemble-home-'))
    const saved = { home: process.env.SCN_STUDIO_HOME, app: process.env.SCN_STUDIO_APP_MODELS }
    try {
      process.env.SCN_STUDIO_HOME = home
      process.env.SCN_STUDIO_APP_MODELS = join(home, 'no-app-models')
      const m = join(home, 'models', 'ens')
      writeSyntheticScnModel(m)
      writeFileSync(join(m, 'model.json'), JSON.stringify(withEnsemble(['member-2.onnx'])))
      let entry = listModels().find((e) => e.dir === m)!
      expect(entry.card).toBeNull()
      expect(entry.error).toMatch(/member-2\.onnx: the ONNX file named in .*model\.json is missing/)
      copyFileSync(join(m, 'segmentation.onnx'), join(m, 'member-2.onnx'))
      entry = listModels().find((e) => e.dir === m)!
      expect(entry.card?.stages.segmentation.ensembleFiles).toEqual(['member-2.onnx'])
    } finally {
      for (const [k, v] of [['SCN_STUDIO_HOME', saved.home], ['SCN_STUDIO_APP_MODELS', saved.app]] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('rejects an empty member name in the card', () => {
    expect(() => parseModelCard('model.json', withEnsemble(['']))).toThrow(/model\.json: the model card is invalid/)
  })
})
