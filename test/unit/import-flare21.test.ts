/**
 * The FLARE21 importer end to end (src-main/import, issue 8):
 *  (a) the authors' real localization weights, imported and run through the 6 mm localization
 *      stage on example_ct: Dice of the foreground against TotalSegmentator's organ labels; a
 *      deliberately wrong kernel layout must fail the same check (the test can fail);
 *  (b) the REAL segmentation index with a data file of known values: every one of its variables
 *      lands in exactly one initializer, at the right positions (checked here and by the official
 *      onnx/numpy reader in Python), and the written model loads in ONNX Runtime;
 *  (c) errors: missing data file, wrong architecture, unknown variable, shape mismatch, target in
 *      the app's models folder.
 * Template graphs come from training/export_onnx.py --random (needs Debian python3 with torch).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertNetwork } from '../../src-main/import/convert.js'
import { ImportError } from '../../src-main/import/errors.js'
import { expectedVariables, tfKernelShapeToOnnx } from '../../src-main/import/flare21-mapping.js'
import { addCardMetric, importFlare21, sha256File } from '../../src-main/import/import-flare21.js'
import { checkLocalization } from '../../src-main/import/localization-check.js'
import { listInitializers, readInitializer, replaceInitializers } from '../../src-main/import/onnx-initializers.js'
import { openTensorBundle } from '../../src-main/import/tensor-bundle.js'
import { writeTensorBundle, type BundleTensor } from '../helpers/tensor-bundle-writer.js'
import { readModelCard } from '../../src-main/inference/model-card.js'
import { listModels } from '../../src-main/inference/models.js'
import { openSession } from '../../src-main/inference/onnx-session.js'
import { appModelsDir } from '../../src-main/util/app-paths.js'
import { hasPythonModules, PYTHON, runPythonJson } from '../helpers/python.js'
import { NEEDS_DATA, sharedData } from '../helpers/shared-data.js'
import { setEnv } from '../helpers/env.js'

const REPO = resolve(import.meta.dirname, '../..')
const HAS_TORCH = hasPythonModules('torch', 'onnx')
const locVars = sharedData('flare21-efficientscn/localization/variables/variables.index')
const segIndex = sharedData('flare21-efficientscn/segmentation/variables/variables.index')
const exampleCt = sharedData('totalsegmentator/example_ct.nii.gz')
const exampleSeg = sharedData('totalsegmentator/example_seg_fast_force_split.nii.gz')
const flareRoot = locVars ? resolve(locVars, '../../..') : undefined

const work = mkdtempSync(join(tmpdir(), 'scn-import-'))
const template = join(work, 'template')
let restoreEnv = () => {}
beforeAll(() => {
  restoreEnv = setEnv({ SCN_STUDIO_HOME: join(work, 'home') })
  if (!HAS_TORCH) return
  const r = spawnSync(PYTHON, [join(REPO, 'training/export_onnx.py'), '--random', '--out', template], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`export_onnx.py failed: ${r.stderr}`)
})
afterAll(() => {
  restoreEnv()
  rmSync(work, { recursive: true, force: true })
})

function expectImportError(p: Promise<unknown> | (() => unknown), code: string, re: RegExp): Promise<void> | void {
  const check = (e: unknown) => {
    expect(e).toBeInstanceOf(ImportError)
    expect((e as ImportError).code).toBe(code)
    expect((e as ImportError).message).toMatch(re)
  }
  if (typeof p === 'function') {
    try {
      p()
    } catch (e) {
      return check(e)
    }
    throw new Error(`expected ImportError ${code}`)
  }
  return p.then(
    () => {
      throw new Error(`expected ImportError ${code}`)
    },
    check,
  )
}

/** TF shape of the variable that fills an ONNX initializer of the template. */
function tfShapeFor(onnxDims: number[]): number[] {
  if (onnxDims.length !== 5) return onnxDims
  const [o, i, d, h, w] = onnxDims
  return [d, h, w, i, o]
}

/** A synthetic bundle with the localization layout (optionally changed), values from a seeded LCG. */
function syntheticLocalization(dir: string, change?: (t: BundleTensor[]) => void): string {
  const inits = new Map(listInitializers(readFileSync(join(template, 'localization.onnx'))).map((i) => [i.name, i.dims]))
  let seed = 1
  const tensors: BundleTensor[] = expectedVariables('localization').map((s) => {
    const shape = tfShapeFor(inits.get(s.onnxName)!)
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1))
    for (let k = 0; k < v.length; k++) v[k] = ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1
    return { name: s.tfKey, dtype: 1, shape, data: new Uint8Array(v.buffer) }
  })
  change?.(tensors)
  mkdirSync(join(dir, 'localization', 'variables'), { recursive: true })
  writeTensorBundle(join(dir, 'localization', 'variables', 'variables'), tensors)
  return dir
}

describe.skipIf(!HAS_TORCH || !segIndex)(`segmentation mapping on the real index (${!segIndex ? NEEDS_DATA : 'needs python3 torch+onnx'})`, () => {
  const dir = join(work, 'seg-known')
  const varsDir = join(dir, 'segmentation', 'variables')
  const onnxFile = join(work, 'seg-known.onnx')
  /** bit pattern of element j of the i-th index entry: unique, and a finite (denormal) float32 */
  const pattern = (i: number, j: number) => (((i + 1) << 18) | j) >>> 0
  let report: ReturnType<typeof convertNetwork>['report']
  let onnx: Uint8Array

  beforeAll(() => {
    mkdirSync(varsDir, { recursive: true })
    copyFileSync(segIndex!, join(varsDir, 'variables.index'))
    const bundle = openTensorBundle(varsDir)
    const end = Math.max(...bundle.entries.map((e) => e.offset + e.size))
    const data = new Uint8Array(end)
    const dv = new DataView(data.buffer)
    bundle.entries.forEach((e, i) => {
      if (e.dtype !== 1) return // the object graph: zeros (its real bytes are not here)
      for (let j = 0; j < e.size / 4; j++) dv.setUint32(e.offset + 4 * j, pattern(i, j), true)
    })
    writeFileSync(bundle.dataFile(0), data)
    // The real index holds the real data's checksums: they cannot match known values.
    const r = convertNetwork('segmentation', bundle, new Uint8Array(readFileSync(join(template, 'segmentation.onnx'))), 'segmentation.onnx', { verifyChecksums: false })
    report = r.report
    onnx = r.onnx
    writeFileSync(onnxFile, onnx)
  })

  it('maps all 212 weight variables of the index, skipping only the object graph', () => {
    const bundle = openTensorBundle(varsDir)
    expect(bundle.entries.length).toBe(213)
    expect(report.mapped).toBe(212)
    expect(report.parameters).toBe(1_270_090)
    expect(report.skipped).toEqual([{ key: '_CHECKPOINTABLE_OBJECT_GRAPH', reason: expect.stringMatching(/object graph/) }])
    const onnxNames = report.mapping.map((m) => m.onnxName)
    expect(new Set(onnxNames).size).toBe(212)
    expect(new Set(report.mapping.map((m) => m.tfKey)).size).toBe(212)
    // every float weight of our graph is filled
    const weights = listInitializers(onnx).filter((i) => /\.(weight|bias)$/.test(i.name)).map((i) => i.name)
    expect(new Set(weights)).toEqual(new Set(onnxNames))
    console.log(`segmentation: ${report.mapped} variables mapped, ${report.skipped.length} skipped (${report.skipped.map((s) => s.key).join(', ')}), ${report.parameters} parameters`)
  })

  it('puts the background U-Net (5 inputs) and the 64-channel expanding convs where the index has them', () => {
    const at = (onnxName: string) => report.mapping.find((m) => m.onnxName === onnxName)!
    expect(at('spatial_configuration.unets.4.unet.contracting.level0.conv0.weight')).toMatchObject({ tfKey: 'spatial_configuration/variables/136/.ATTRIBUTES/VARIABLE_VALUE', tfShape: [3, 3, 3, 5, 16], onnxShape: [16, 5, 3, 3, 3] })
    expect(at('spatial_configuration.unets.0.unet.expanding.level0.conv0.weight').tfShape).toEqual([3, 3, 3, 32, 16])
    expect(at('local_appearance.unet.expanding.level3.conv0.weight').tfShape).toEqual([3, 3, 3, 64, 32])
    expect(at('local_appearance.unet.expanding.level4.conv0.weight').tfShape).toEqual([3, 3, 3, 32, 32])
    expect(at('local_appearance.prediction.weight')).toMatchObject({ tfKey: 'local_appearance/prediction/kernel/.ATTRIBUTES/VARIABLE_VALUE', onnxShape: [5, 32, 1, 1, 1] })
  })

  it('every value lands at its ONNX position ([kd,kh,kw,in,out] -> [out,in,kd,kh,kw])', () => {
    const bundle = openTensorBundle(varsDir)
    const entryIndex = new Map(bundle.entries.map((e, i) => [e.name, i]))
    let checked = 0
    for (const m of report.mapping) {
      const got = new Uint32Array(readInitializer(onnx, m.onnxName).buffer)
      const i = entryIndex.get(m.tfKey)!
      if (m.tfShape.length === 1) {
        for (let j = 0; j < got.length; j++) expect(got[j]).toBe(pattern(i, j))
      } else {
        const [kd, kh, kw, ci, co] = m.tfShape
        let bad = 0
        for (let a = 0; a < kd; a++)
          for (let b = 0; b < kh; b++)
            for (let c = 0; c < kw; c++)
              for (let x = 0; x < ci; x++)
                for (let o = 0; o < co; o++) {
                  const tf = (((a * kh + b) * kw + c) * ci + x) * co + o
                  const on = (((o * ci + x) * kd + a) * kh + b) * kw + c
                  if (got[on] !== pattern(i, tf)) bad++
                }
        expect(bad, m.onnxName).toBe(0)
      }
      checked += got.length
    }
    expect(checked).toBe(1_270_090)
  })

  it('the official onnx reader agrees (numpy transpose of the raw data file), and ONNX Runtime loads the model', async () => {
    const plan = report.mapping.map((m) => ({ ...m, offset: openTensorBundle(varsDir).byName.get(m.tfKey)!.offset }))
    const planFile = join(work, 'plan.json')
    writeFileSync(planFile, JSON.stringify(plan))
    const r = runPythonJson<{ checked: number; bad: string[] }>(
      `
import json, sys, numpy as np, onnx
from onnx import numpy_helper
plan = json.load(open(sys.argv[1])); data = np.fromfile(sys.argv[2], dtype='<u4')
model = onnx.load(sys.argv[3]); onnx.checker.check_model(model)
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
bad = []
for p in plan:
    n = int(np.prod(p['tfShape'])); tf = data[p['offset'] // 4: p['offset'] // 4 + n].reshape(p['tfShape'])
    want = tf.transpose(4, 3, 0, 1, 2) if len(p['tfShape']) == 5 else tf
    got = inits[p['onnxName']].view('<u4')
    if got.shape != want.shape or not np.array_equal(got, want): bad.append(p['onnxName'])
print(json.dumps({'checked': len(plan), 'bad': bad}))
`,
      [planFile, openTensorBundle(varsDir).dataFile(0), onnxFile],
    )
    expect(r).toEqual({ checked: 212, bad: [] })
    const { session } = await openSession(onnxFile, 'cpu')
    expect(session.inputNames).toEqual(['image'])
    await session.release()
  })
})

describe.skipIf(!HAS_TORCH || !flareRoot)(`import-flare21 on the authors' folder (${!flareRoot ? NEEDS_DATA : 'needs python3 torch+onnx'})`, () => {
  it('refuses a normal import when the segmentation data file is missing, saying which file', async () => {
    await expectImportError(importFlare21({ source: flareRoot!, template }), 'not-found', /segmentation\/variables\/variables\.data-00000-of-00001: the segmentation data file is missing.*--allow-partial/)
  })

  it('the CLI says which data file is missing and exits with the bad-input code; --allow-partial imports the rest', () => {
    const env = { ...process.env, SCN_STUDIO_HOME: join(work, 'cli-home') }
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin/scn-studio.mjs'), 'import-flare21', flareRoot!, '--template', template, ...args], { encoding: 'utf8', env })
    const r = cli()
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(/^error: .*segmentation\/variables\/variables\.data-00000-of-00001: the segmentation data file is missing/m)
    const ok = cli('--allow-partial', '--json')
    expect(ok.status, ok.stderr).toBe(0)
    const out = JSON.parse(ok.stdout) as { dir: string; networks: { network: string; mapped: number }[]; missing: { network: string }[] }
    expect(out.dir).toBe(join(work, 'cli-home', 'models', 'flare21-efficientscn'))
    expect(out.networks).toMatchObject([{ network: 'localization', mapped: 42 }])
    expect(out.missing).toMatchObject([{ network: 'segmentation' }])
    expect(readModelCard(join(out.dir, 'model.json')).source).toMatchObject({ partial: true })
  })

  it('imports a complete folder (real localization + known-value segmentation) into the user models folder', async () => {
    const src = join(work, 'submitted_saved_models')
    mkdirSync(join(src, 'localization', 'variables'), { recursive: true })
    for (const f of ['variables.index', 'variables.data-00000-of-00001']) copyFileSync(join(flareRoot!, 'localization', 'variables', f), join(src, 'localization', 'variables', f))
    mkdirSync(join(src, 'segmentation', 'variables'), { recursive: true })
    copyFileSync(segIndex!, join(src, 'segmentation', 'variables', 'variables.index'))
    const bundle = openTensorBundle(join(src, 'segmentation', 'variables'))
    writeFileSync(bundle.dataFile(0), new Uint8Array(Math.max(...bundle.entries.map((e) => e.offset + e.size))))
    const r = await importFlare21({ source: work, template, verifyChecksums: false })
    expect(r.dir).toBe(join(work, 'home', 'models', 'flare21-efficientscn'))
    expect(r.missing).toEqual([])
    expect(r.networks.map((n) => [n.network, n.mapped, n.skipped.length])).toEqual([
      ['localization', 42, 1],
      ['segmentation', 212, 1],
    ])
    expect(r.networks[0].objectGraph).toBe('verified')
    expect(r.networks[0].verifiedByObjectGraph).toBe(42)
    const card = readModelCard(join(r.dir, 'model.json'))
    expect(card.license).toBe('GPL-3.0')
    expect(card.stages.localization.smoothingSigmaMm).toBe(0)
    expect(card.stages.segmentation.padValue).toBe(0)
    const inputs = (card.source as { inputs: { file: string; sha256: string }[] }).inputs
    expect(inputs.map((i) => i.file).sort()).toEqual([
      'localization/variables/variables.data-00000-of-00001',
      'localization/variables/variables.index',
      'segmentation/variables/variables.data-00000-of-00001',
      'segmentation/variables/variables.index',
    ])
    for (const i of inputs) expect(i.sha256).toBe(sha256File(join(src, i.file)))
    const listed = listModels().find((m) => m.id === 'flare21-efficientscn')
    expect(listed?.source).toBe('user')
    expect(listed?.card).not.toBeNull()
    await expectImportError(importFlare21({ source: src, template, verifyChecksums: false }), 'exists', /already there/)
    await expectImportError(importFlare21({ source: src, template, out: join(appModelsDir(), 'flare21'), overwrite: true }), 'unsupported', /never go into the app's own models folder/)
    expect(existsSync(join(appModelsDir(), 'flare21'))).toBe(false)
  })

  it('rejects the localization checkpoint given as the segmentation network (different architecture)', async () => {
    const src = join(work, 'swapped')
    mkdirSync(join(src, 'segmentation', 'variables'), { recursive: true })
    for (const f of ['variables.index', 'variables.data-00000-of-00001']) copyFileSync(join(flareRoot!, 'localization', 'variables', f), join(src, 'segmentation', 'variables', f))
    await expectImportError(importFlare21({ source: src, template, allowPartial: true, out: join(work, 'swapped-out') }), 'wrong-architecture', /is not the FLARE21 SpatialConfiguration-Net .*: only 0 of its 212 expected variables.*Is it the other network's folder/)
  })
})

describe.skipIf(!HAS_TORCH)('mapping errors on synthetic checkpoints (needs python3 torch+onnx)', () => {
  const imp = (dir: string) => importFlare21({ source: dir, template, allowPartial: true, out: join(dir, 'out') })
  it('names an unknown variable', async () => {
    const d = syntheticLocalization(join(work, 'unknown'), (t) => t.push({ name: 'model/extra_head/kernel/.ATTRIBUTES/VARIABLE_VALUE', dtype: 1, shape: [2], data: new Uint8Array(8) }))
    await expectImportError(imp(d), 'unknown-variable', /"model\/extra_head\/kernel\/.ATTRIBUTES\/VARIABLE_VALUE"/)
  })
  it('names a missing variable', async () => {
    const d = syntheticLocalization(join(work, 'missing'), (t) => t.splice(40, 1))
    await expectImportError(imp(d), 'missing-variable', /"model\/variables\/40\/.ATTRIBUTES\/VARIABLE_VALUE" \(prediction.weight\)/)
  })
  it('names a shape mismatch with both shapes', async () => {
    const d = syntheticLocalization(join(work, 'shape'), (t) => {
      t[40] = { ...t[40], shape: [1, 1, 1, 32, 3], data: new Uint8Array(32 * 3 * 4) }
    })
    await expectImportError(imp(d), 'shape-mismatch', /"model\/variables\/40\/.ATTRIBUTES\/VARIABLE_VALUE" \[1,1,1,32,3\] -> prediction.weight \[2,32,1,1,1\]/)
  })
  it('calls a checkpoint with other filter counts a different architecture', async () => {
    const d = syntheticLocalization(join(work, 'wide'), (t) => {
      for (const x of t) {
        const shape = x.shape.map((s) => (s === 32 ? 16 : s === 64 ? 32 : s))
        x.shape = shape
        x.data = new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4)
      }
    })
    await expectImportError(imp(d), 'wrong-architecture', /is not the FLARE21 localization U-Net .*: 41 of 42 tensors have other shapes/)
  })
  it('a clean synthetic checkpoint imports, and its values survive the round trip', async () => {
    const d = syntheticLocalization(join(work, 'clean'))
    const r = await imp(d)
    expect(r.networks[0].objectGraph).toBe('absent')
    const w = readInitializer(readFileSync(join(r.dir, 'localization.onnx')), 'prediction.weight') // [2,32,1,1,1]
    const b = openTensorBundle(join(d, 'localization', 'variables'))
    const tf = new Float32Array(readFileSync(b.dataFile(0)).buffer.slice(b.byName.get('model/variables/40/.ATTRIBUTES/VARIABLE_VALUE')!.offset).slice(0, 256)) // [1,1,1,32,2]
    for (let o = 0; o < 2; o++) for (let i = 0; i < 32; i++) expect(w[o * 32 + i]).toBe(tf[i * 2 + o])
    expect(tfKernelShapeToOnnx([3, 3, 3, 1, 32])).toEqual([32, 1, 3, 3, 3])
  })
})

describe.skipIf(!HAS_TORCH || !flareRoot || !exampleCt || !exampleSeg)(`localization port on example_ct (${!flareRoot || !exampleCt ? NEEDS_DATA : 'needs python3 torch+onnx'})`, () => {
  it('the imported localization net finds the organs: Dice vs TotalSegmentator labels, written into the card', async () => {
    const r = await importFlare21({ source: flareRoot!, template, allowPartial: true, out: join(work, 'loc-model') })
    expect(r.missing.map((m) => m.network)).toEqual(['segmentation'])
    // TotalSegmentator ids: 1 spleen, 2 kidney_right, 3 kidney_left, 5 liver, 7 pancreas
    const check = await checkLocalization(r.dir, exampleCt!, exampleSeg!, [1, 2, 3, 5, 7])
    console.log(`FLARE21 localization port on example_ct: Dice ${check.dice.toFixed(4)} (foreground ${check.foregroundVoxels} vs reference ${check.referenceVoxels} voxels, grid ${check.grid.dims.join('x')} at ${check.grid.spacing.join('x')} mm, ${check.seconds.toFixed(2)} s)`)
    expect(check.dice).toBeGreaterThan(0.85)
    const card = await addCardMetric(r.dir, { name: 'dice-localization-foreground', value: Number(check.dice.toFixed(4)), dataset: 'TotalSegmentator example_ct.nii.gz', method: 'foreground p>0.5 at 6 mm vs union of liver, kidneys, spleen, pancreas (example_seg_fast_force_split), area-resampled to the same grid' })
    expect(readModelCard(join(r.dir, 'model.json')).metrics).toEqual(card.metrics)
    expect(card.metrics[0].value).toBeCloseTo(check.dice, 3)

    // Negative control: the same weights with in/out swapped in the 32x32 kernels (a wrong
    // transposition) must fail the same check.
    const file = join(r.dir, 'localization.onnx')
    const model = new Uint8Array(readFileSync(file))
    const swapped = new Map<string, Float32Array>()
    for (const init of listInitializers(model)) {
      if (init.dims.length !== 5 || init.dims[0] !== init.dims[1]) continue
      const [o, i, s] = [init.dims[0], init.dims[1], init.dims[2] * init.dims[3] * init.dims[4]]
      const v = readInitializer(model, init.name)
      const t = new Float32Array(v.length)
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let k = 0; k < s; k++) t[(b * o + a) * s + k] = v[(a * i + b) * s + k]
      swapped.set(init.name, t)
    }
    const wrongDir = join(work, 'loc-wrong')
    mkdirSync(wrongDir, { recursive: true })
    copyFileSync(join(r.dir, 'model.json'), join(wrongDir, 'model.json'))
    writeFileSync(join(wrongDir, 'localization.onnx'), replaceInitializers(model, swapped))
    const wrong = await checkLocalization(wrongDir, exampleCt!, exampleSeg!, [1, 2, 3, 5, 7])
    console.log(`negative control (in/out swapped): Dice ${wrong.dice.toFixed(4)}`)
    expect(wrong.dice).toBeLessThan(0.6)
  })
})
