/**
 * The whole SCN pipeline on phantoms, with the synthetic intensity-window model (test/fixtures/
 * synthetic-scn.ts): labels must land on the right voxels of the CT's own grid whatever its size,
 * spacing, axis flips, permutations or oblique direction. Also progress events and cancellation.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runScn, liveWorkers, prestartEngine, SegmentCancelledError, type SegmentProgress } from '../../src-main/inference/index.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { rotationMatrix, mat3Mul } from '../../src-shared/geometry.js'
import type { LabelVolume, Mat3, Vec3 } from '../../src-shared/volume.js'
import { hasPythonModules } from '../helpers/python.js'
import { writeSyntheticScnModel, syntheticLabel } from '../fixtures/synthetic-scn.js'
import { setEnv } from '../helpers/env.js'

const hasOnnx = hasPythonModules('onnx')
let home: string
let restoreEnv = () => {}

beforeAll(() => {
  if (!hasOnnx) return
  home = mkdtempSync(join(tmpdir(), 'scn-inf-'))
  // no bundled models: the synthetic one is the only choice
  restoreEnv = setEnv({ SCN_STUDIO_HOME: home, SCN_STUDIO_APP_MODELS: join(home, 'no-app-models') })
  writeSyntheticScnModel(join(home, 'models', 'synthetic-scn'))
})

afterAll(() => {
  restoreEnv()
  if (home) rmSync(home, { recursive: true, force: true })
})

function dice(a: Uint8Array, b: Uint8Array, value: number): number {
  let na = 0
  let nb = 0
  let both = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === value
    const y = b[i] === value
    if (x) na++
    if (y) nb++
    if (x && y) both++
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb)
}

/** The synthetic model applied voxel by voxel on the CT grid itself: what a perfect pipeline returns. */
function intensityReference(ct: Int16Array | Float32Array): Uint8Array {
  const out = new Uint8Array(ct.length)
  for (let i = 0; i < ct.length; i++) out[i] = syntheticLabel(ct[i])
  return out
}

function flipX(l: LabelVolume): Uint8Array {
  const [nx, ny, nz] = l.dims
  const out = new Uint8Array(l.data.length)
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[i + nx * (j + ny * k)] = l.data[nx - 1 - i + nx * (j + ny * k)]
  return out
}

interface Case {
  name: string
  dims: Vec3
  spacing: Vec3
  direction?: Mat3
  centre?: Vec3
  /** stated Dice thresholds per label 1..4 (liver, kidney, spleen, pancreas): vs phantom truth, vs the voxel-wise reference */
  minTruth: [number, number, number, number]
  minRef: [number, number, number, number]
}

// Why the thresholds differ: the synthetic model is an intensity window, so where the pipeline's
// 1 mm smoothing and 2 mm resampling blend two tissues, the blend can fall in another organ's
// window (liver 100 HU next to 20 HU soft tissue passes through pancreas' 80 HU), leaving thin
// false shells; and the kidney truth includes renal-sinus fat that no intensity window calls kidney.
// On 3-4 mm grids these effects are below a voxel and the pipeline must match the voxel-wise
// reference (the model applied on the CT grid itself) almost exactly; on the fine clinical-like
// grid the shells cost the small pancreas most. A half-voxel or orientation error costs far more
// (the mirrored check below drops the liver under 0.5).
const CASES: Case[] = [
  { name: 'identity LPS, 3 mm isotropic', dims: [128, 100, 90], spacing: [3, 3, 3], minTruth: [0.98, 0.85, 0.97, 0.97], minRef: [0.97, 0.97, 0.97, 0.97] },
  {
    name: 'RAS-like flips (x and y reversed), anisotropic 3 x 3 x 5 mm',
    dims: [120, 96, 56],
    spacing: [3, 3, 5],
    direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1],
    minTruth: [0.97, 0.8, 0.95, 0.9],
    minRef: [0.97, 0.93, 0.95, 0.9],
  },
  {
    name: 'permuted and flipped axes (i=S, j=L, k=A), off-centre',
    dims: [70, 130, 110],
    spacing: [4, 2.6, 3],
    direction: [0, 1, 0, 0, 0, -1, 1, 0, 0],
    centre: [12, -9, 20],
    minTruth: [0.97, 0.8, 0.95, 0.88],
    minRef: [0.97, 0.95, 0.95, 0.88],
  },
  {
    name: 'oblique: rotated 0.35 rad about (1, 0.5, 0.3), then z flipped',
    dims: [120, 110, 80],
    spacing: [3, 3, 3.5],
    direction: mat3Mul(rotationMatrix([1, 0.5, 0.3], 0.35), [1, 0, 0, 0, 1, 0, 0, 0, -1]),
    minTruth: [0.98, 0.85, 0.97, 0.97],
    minRef: [0.97, 0.97, 0.97, 0.97],
  },
  {
    name: 'clinical-like 0.8 x 0.8 x 2.5 mm, feet-first (z reversed)',
    dims: [438, 350, 96],
    spacing: [0.8, 0.8, 2.5],
    direction: [1, 0, 0, 0, 1, 0, 0, 0, -1],
    minTruth: [0.95, 0.7, 0.88, 0.68],
    minRef: [0.95, 0.82, 0.88, 0.68],
  },
]

describe.skipIf(!hasOnnx)('SCN pipeline on phantoms (synthetic intensity-window model)', () => {
  for (const c of CASES) {
    it(`labels land on the CT grid: ${c.name}`, async () => {
      const ph = generatePhantom({ dims: c.dims, spacing: c.spacing, direction: c.direction, centre: c.centre, noise: 0, seed: 3 })
      const { labels, report } = await runScn(ph.ct, { device: 'cpu' })
      // exact geometry: the CT's own grid
      expect(labels.dims).toEqual(ph.ct.dims)
      expect(labels.spacing).toEqual(ph.ct.spacing)
      expect(labels.origin).toEqual(ph.ct.origin)
      expect(labels.direction).toEqual(ph.ct.direction)
      expect(labels.data).toBeInstanceOf(Uint8Array)
      expect(labels.data.length).toBe(ph.ct.data.length)
      const ref = intensityReference(ph.ct.data)
      const dt = [1, 2, 3, 4].map((v) => dice(labels.data, ph.labels.data, v))
      const dr = [1, 2, 3, 4].map((v) => dice(labels.data, ref, v))
      console.log(`[dice] ${c.name}: ${dt.map((d, i) => `${i + 1}: truth ${d.toFixed(3)} ref ${dr[i].toFixed(3)}`).join(', ')}`)
      for (const v of [1, 2, 3, 4]) {
        expect(dt[v - 1], `label ${v} vs truth`).toBeGreaterThan(c.minTruth[v - 1])
        expect(dr[v - 1], `label ${v} vs intensity reference`).toBeGreaterThan(c.minRef[v - 1])
      }
      // the test is sensitive to orientation mistakes: mirrored labels miss the liver
      expect(dice(flipX(labels), ph.labels.data, 1)).toBeLessThan(0.5)
      expect(report.provider).toBe('cpu')
      expect(report.organs.map((o) => o.name)).toEqual(['liver', 'kidney', 'spleen', 'pancreas'])
      const liver = report.organs[0]
      expect(liver.volumeMl).toBeCloseTo((liver.voxels * c.spacing[0] * c.spacing[1] * c.spacing[2]) / 1000, 1)
    })
  }

  it('reports progress: stages in order, fractions from 0 to 1, never decreasing', async () => {
    const ph = generatePhantom({ dims: [96, 80, 64], spacing: [4, 4, 4], noise: 0 })
    const events: SegmentProgress[] = []
    const { report } = await runScn(ph.ct, { device: 'cpu', onProgress: (p) => events.push(p) })
    expect(events[0].fraction).toBe(0)
    expect(events.at(-1)!.fraction).toBe(1)
    for (let i = 1; i < events.length; i++) expect(events[i].fraction).toBeGreaterThanOrEqual(events[i - 1].fraction)
    const order = [...new Set(events.map((e) => e.stage))]
    expect(order).toEqual(['localization-input', 'localization', 'segmentation-input', 'segmentation', 'labels', 'done'])
    expect(Object.keys(report.stageSeconds)).toEqual(['localization-input', 'localization', 'segmentation-input', 'segmentation', 'labels'])
    expect(events.every((e) => typeof e.message === 'string' && e.message.length > 0)).toBe(true)
  })

  it('cancels at any point: rejects at once, and the worker (and its memory) is gone right after its in-flight step', async () => {
    const ph = generatePhantom({ dims: [96, 80, 64], spacing: [4, 4, 4], noise: 0 })
    const pre = new AbortController()
    pre.abort()
    await expect(runScn(ph.ct, { signal: pre.signal })).rejects.toBeInstanceOf(SegmentCancelledError)

    for (const stage of ['localization', 'segmentation', 'labels']) {
      const ac = new AbortController()
      let abortedAt = 0
      const run = runScn(ph.ct, {
        device: 'cpu',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.stage === stage && !abortedAt) {
            abortedAt = performance.now()
            ac.abort()
          }
        },
      })
      const err = await run.then(() => null, (e: Error) => e)
      expect(err, `cancel during ${stage}`).toBeInstanceOf(SegmentCancelledError)
      expect(err!.name).toBe('AbortError')
      expect(performance.now() - abortedAt).toBeLessThan(200)
      const t = performance.now()
      while (liveWorkers() > 0 && performance.now() - t < 20_000) await new Promise((r) => setTimeout(r, 20))
      expect(liveWorkers(), `worker still alive after cancelling during ${stage}`).toBe(0)
    }
    // and the engine still works afterwards
    const { labels } = await runScn(ph.ct, { device: 'cpu' })
    expect(labels.data.some((v) => v > 0)).toBe(true)
  })

  it('a prestarted engine stopped at once is stopped only after ONNX Runtime has loaded in it; one a run takes over segments', async () => {
    // stopping the worker while the native addon loads can abort the process: the CLI's quick
    // refusals (a non-CT series) lost their exit code that way under load
    const engine = prestartEngine()
    const seen: string[] = []
    engine.worker.on('message', (m: { type: string }) => seen.push(m.type))
    engine.worker.once('exit', () => seen.push('exit'))
    await engine.dispose()
    expect(seen).toEqual(['ready', 'exit'])
    expect(liveWorkers()).toBe(0)
    const ph = generatePhantom({ dims: [96, 80, 64], spacing: [4, 4, 4], noise: 0 })
    const { labels } = await runScn(ph.ct, { device: 'cpu', engine: prestartEngine() })
    expect(labels.data.some((v) => v > 0)).toBe(true)
  })

  it('returns empty labels (not an error) for a CT without any organ', async () => {
    const ph = generatePhantom({ dims: [40, 40, 40], spacing: [3, 3, 3], centre: [0, 0, 400], noise: 0 }) // above the abdomen: no organs
    ph.ct.data.fill(-1000)
    const { labels, report } = await runScn(ph.ct, { device: 'cpu' })
    expect(labels.data.every((v) => v === 0)).toBe(true)
    expect(report.organs.every((o) => o.voxels === 0)).toBe(true)
  })

  it('fails with a clear message for an unknown model id', async () => {
    const ph = generatePhantom({ dims: [32, 32, 32], spacing: [4, 4, 4], noise: 0 })
    await expect(runScn(ph.ct, { modelId: 'no-such-model' })).rejects.toThrow(/model "no-such-model" is not installed.*available: synthetic-scn/)
  })
})
