/**
 * Issue 12 item 2: the same anatomy at other voxel sizes and fields of view must give consistent
 * masks. The app's phantom (src-shared/phantom.ts: its anatomy is defined in millimetres, so
 * every grid shows the same organs) goes through the shipped model at 2x2x3 mm (the reference), as
 * the clinical 512x512x300 scan at 0.8x0.8x2.5 mm of the issue (a 750 mm field of view: 0.2.0 gave
 * 3150 mL of liver there), at a coarse 5 mm, and as a 50 mm slab at 0.7x0.7x5 mm (a slab takes the
 * engine's whole-field-of-view path). Liver Dice to the truth must stay within 0.05 of the
 * reference; the other organs are printed. Unseen seeds: the shipped run trained on other ones.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { generatePhantom } from '../../src-shared/phantom.js'
import { runScn } from '../../src-main/inference/index.js'
import { evaluateLabels } from '../../src-main/evaluation/metrics.js'
import type { Vec3 } from '../../src-shared/volume.js'
import { setEnv } from '../helpers/env.js'

const ROOT = resolve(import.meta.dirname, '../..')
const SHIPPED = join(ROOT, 'models/scn-flare-organs')
let restoreEnv = () => {}

beforeAll(() => {
  restoreEnv = setEnv({ SCN_STUDIO_APP_MODELS: join(ROOT, 'models') })
})
afterAll(() => restoreEnv())

/** A phantom covering `fov` mm ([x, y, z]), centred at z = centreZ. */
async function diceAt(spacing: Vec3, fov: Vec3, centreZ: number, seed: number, thorax = false) {
  const dims = fov.map((f, a) => Math.max(1, Math.round(f / spacing[a]))) as Vec3
  const { ct, labels: truth } = generatePhantom({ dims, spacing, seed, noise: 12, centre: [0, 0, centreZ], thorax })
  const { labels, report } = await runScn(ct, { device: 'cpu', modelId: 'scn-flare-organs' })
  const m = evaluateLabels(labels.data, truth.data, ct.dims, ct.spacing, [1, 2, 3, 4], 1)
  const present = m.filter((x) => x.volumeTruthMl > 0)
  // liver predicted in the slices above the true liver's top (identity direction: slice k is z)
  const slice = dims[0] * dims[1]
  let top = -1
  for (let i = 0; i < truth.data.length; i++) if (truth.data[i] === 1) top = Math.floor(i / slice)
  let above = 0
  for (let i = (top + 1) * slice; i < labels.data.length; i++) if (labels.data[i] === 1) above++
  return {
    dice: Object.fromEntries(present.map((x) => [x.label, Number(x.dice.toFixed(3))])) as Record<number, number>,
    warnings: report.warnings,
    liverAboveMl: (above * spacing[0] * spacing[1] * spacing[2]) / 1000,
  }
}

describe.skipIf(!existsSync(join(SHIPPED, 'model.json')))('the shipped model across voxel sizes and fields of view (phantom)', () => {
  it('liver Dice stays within 0.05 of the 2x2x3 mm figure at 0.8x0.8x2.5 mm, 5 mm and on a 50 mm slab', async () => {
    const ref = await diceAt([2, 2, 3], [384, 330, 300], 20, 9101)
    const cases: [string, Vec3, Vec3, number][] = [
      ['512x512x300 at 0.8x0.8x2.5 mm', [0.8, 0.8, 2.5], [409.6, 409.6, 750], 20],
      ['5x5x5 mm', [5, 5, 5], [384, 330, 300], 20],
      ['50 mm slab at 0.7x0.7x5 mm', [0.7, 0.7, 5], [384, 330, 50], 40],
    ]
    const rows = [`2x2x3 mm (reference): ${JSON.stringify(ref.dice)}`]
    const results = []
    for (const [name, spacing, fov, centreZ] of cases) {
      const r = await diceAt(spacing, fov, centreZ, 9102)
      rows.push(`${name}: ${JSON.stringify(r.dice)}${r.warnings.length ? ` warnings: ${r.warnings.join(' | ')}` : ''}`)
      results.push([name, r] as const)
    }
    console.log(`[invariance] liver=1 kidney=2 spleen=3 pancreas=4\n  ${rows.join('\n  ')}`)
    expect(ref.dice[1]).toBeGreaterThan(0.85)
    for (const [name, r] of results) expect(r.dice[1], `liver Dice at ${name}`).toBeGreaterThan(ref.dice[1] - 0.05)
    // the slab took the whole-field-of-view path and said so
    expect(results[2][1].warnings.join(' ')).toMatch(/slab/)
  }, 240_000)

  it('a field of view that cuts the body in-plane (a large patient) keeps liver and spleen within 0.05 of the whole body', async () => {
    // 180 mm wide: the body's sides, with a quarter of the liver and a third of the spleen, are
    // outside. Padded with air there, the organs looked as if they ended at the skin: spleen 0.88
    // (150 mm: 0.32); with the edges repeated (card inPlanePadding 'replicate') 0.97
    const whole = await diceAt([2, 2, 3], [384, 330, 150], 60, 9105)
    const cut = await diceAt([2, 2, 3], [180, 330, 150], 60, 9105)
    console.log(`[invariance] in-plane cut: whole ${JSON.stringify(whole.dice)}, 180 mm wide ${JSON.stringify(cut.dice)}`)
    expect(whole.dice[1]).toBeGreaterThan(0.85)
    expect(cut.dice[1], 'liver').toBeGreaterThan(whole.dice[1] - 0.05)
    expect(cut.dice[3], 'spleen').toBeGreaterThan(whole.dice[3] - 0.05)
  }, 240_000)

  it('a scan that reaches the chest: the heart on the liver\'s dome is not liver', async () => {
    // lungs and a heart whose muscle is as dense as the liver, above a diaphragm (phantom thorax).
    // On this phantom the two leave-one-out networks that never saw a heart (AMOS 0018 held out,
    // training/README.md) put 119 and 203 mL of liver there; the shipped model 12 mL
    const r = await diceAt([2, 2, 3], [384, 330, 400], 60, 9106, true)
    console.log(`[invariance] with a chest: ${JSON.stringify(r.dice)}, liver above the liver's top ${r.liverAboveMl.toFixed(1)} mL`)
    expect(r.dice[1], 'liver').toBeGreaterThan(0.9)
    expect(r.liverAboveMl, 'mL of liver above the liver').toBeLessThan(40)
  }, 240_000)
})
