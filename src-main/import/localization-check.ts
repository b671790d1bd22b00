/**
 * A check that an imported localization network works: run it on a CT through the pipeline's
 * 6 mm localization stage (localizeForeground, the code runPipeline runs) and compare its
 * foreground with reference organ labels resampled onto the same grid (Dice). A correct port of
 * the authors' weights gives a high Dice; a wrong transposition or channel order gives nonsense.
 */
import { join } from 'node:path'
import { maskDice } from '../evaluation/metrics.js'
import { readModelCard } from '../inference/model-card.js'
import { localizeForeground } from '../inference/pipeline.js'
import { resampleToGrid } from '../inference/transforms.js'
import { readCt, readLabels } from '../volumes/read.js'
import type { Geometry, Vec3 } from '../../src-shared/volume.js'

export interface LocalizationCheck {
  dice: number
  grid: { dims: Vec3; spacing: Vec3 }
  foregroundVoxels: number
  referenceVoxels: number
  seconds: number
}

/** The localization foreground of `ctFile` on the CPU: the pipeline's mask, grid and network seconds. */
export async function localizationForeground(modelDir: string, ctFile: string): Promise<{ mask: Uint8Array; grid: Geometry; seconds: number }> {
  const card = readModelCard(join(modelDir, 'model.json'))
  const ct = await readCt(ctFile)
  const { mask, grid, seconds } = await localizeForeground(ct, modelDir, card.stages.localization, { device: 'cpu' })
  return { mask, grid, seconds }
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

export async function checkLocalization(modelDir: string, ctFile: string, labelsFile: string, labelValues: readonly number[]): Promise<LocalizationCheck> {
  const fg = await localizationForeground(modelDir, ctFile)
  const ref = await referenceMask(labelsFile, labelValues, fg.grid)
  const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0)
  return {
    dice: maskDice(fg.mask, ref),
    grid: { dims: fg.grid.dims, spacing: fg.grid.spacing },
    foregroundVoxels: count(fg.mask),
    referenceVoxels: count(ref),
    seconds: fg.seconds,
  }
}
