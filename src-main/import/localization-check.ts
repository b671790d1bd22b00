/**
 * A check that an imported localization network works: run it on a CT through the pipeline's
 * 6 mm localization stage and compare its foreground with reference organ labels resampled onto
 * the same grid (Dice). A correct port of the authors' weights gives a high Dice; a wrong
 * transposition or channel order gives nonsense.
 *
 * The stage is inline in runPipeline (src-main/inference/pipeline.ts, steps 1-2) and not exported,
 * so these lines repeat its steps with the same exported transforms (localizationSpacing,
 * validSize, centredGrid, resampleToGrid, gaussianSmooth, clipScale) and openSession.
 */
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { readModelCard } from '../inference/model-card.js'
import { openSession } from '../inference/onnx-session.js'
import { centredGrid, clipScale, gaussianSmooth, localizationSpacing, resampleToGrid, validSize, worldEdgeBox } from '../inference/transforms.js'
import { readCt, readLabels } from '../volumes/read.js'
import type { Geometry, Vec3 } from '../volumes/volume.js'

export interface LocalizationCheck {
  dice: number
  grid: { dims: Vec3; spacing: Vec3 }
  foregroundVoxels: number
  referenceVoxels: number
  seconds: number
}

export async function localizationForeground(modelDir: string, ctFile: string): Promise<{ mask: Uint8Array; grid: Geometry; seconds: number }> {
  const card = readModelCard(join(modelDir, 'model.json'))
  const loc = card.stages.localization
  const ct = await readCt(ctFile)
  const box = worldEdgeBox(ct)
  const extent = [0, 1, 2].map((a) => box.max[a] - box.min[a]) as Vec3
  const centre = [0, 1, 2].map((a) => (box.max[a] + box.min[a]) / 2) as Vec3
  const spacing = localizationSpacing(extent, loc.spacing, loc.validSizes, 0.02)
  const need = [0, 1, 2].map((a) => Math.ceil(extent[a] / spacing[a] - 1e-9))
  const dims: Vec3 = [validSize(need[0], loc.validSizes.x), validSize(need[1], loc.validSizes.y), validSize(need[2], loc.validSizes.z)]
  const grid = centredGrid(centre, spacing, dims)
  const input = resampleToGrid(ct, grid, loc.resampling, loc.padValue)
  if (loc.smoothingSigmaMm > 0) gaussianSmooth(input, dims, spacing.map((s) => loc.smoothingSigmaMm / s) as Vec3)
  clipScale(input, loc.normalization.scale, loc.normalization.min, loc.normalization.max)
  const t0 = performance.now()
  const { session } = await openSession(join(modelDir, loc.file), 'cpu')
  try {
    const out = await session.run({ [loc.inputName]: new ort.Tensor('float32', input, [1, 1, dims[2], dims[1], dims[0]]) })
    const probs = out[loc.outputName].data as Float32Array
    const n = dims[0] * dims[1] * dims[2]
    const mask = new Uint8Array(n)
    for (let i = 0; i < n; i++) mask[i] = probs[loc.foregroundChannel * n + i] > loc.foregroundThreshold ? 1 : 0
    return { mask, grid, seconds: (performance.now() - t0) / 1000 }
  } finally {
    await session.release()
  }
}

/** Reference mask on `grid`: the union of `labelValues`, area-resampled, at least half covered. */
export async function referenceMask(labelsFile: string, labelValues: readonly number[], grid: Geometry): Promise<Uint8Array> {
  const labels = await readLabels(labelsFile)
  const want = new Uint8Array(256)
  for (const v of labelValues) want[v] = 1
  const binary = new Float32Array(labels.data.length)
  for (let i = 0; i < binary.length; i++) binary[i] = want[labels.data[i]]
  const frac = resampleToGrid({ ...labels, data: binary }, grid, 'area', 0)
  const out = new Uint8Array(frac.length)
  for (let i = 0; i < frac.length; i++) out[i] = frac[i] >= 0.5 ? 1 : 0
  return out
}

export function dice(a: Uint8Array, b: Uint8Array): number {
  let inter = 0
  let sa = 0
  let sb = 0
  for (let i = 0; i < a.length; i++) {
    sa += a[i]
    sb += b[i]
    inter += a[i] & b[i]
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb)
}

export async function checkLocalization(modelDir: string, ctFile: string, labelsFile: string, labelValues: readonly number[]): Promise<LocalizationCheck> {
  const fg = await localizationForeground(modelDir, ctFile)
  const ref = await referenceMask(labelsFile, labelValues, fg.grid)
  const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0)
  return {
    dice: dice(fg.mask, ref),
    grid: { dims: fg.grid.dims, spacing: fg.grid.spacing },
    foregroundVoxels: count(fg.mask),
    referenceVoxels: count(ref),
    seconds: fg.seconds,
  }
}
