/**
 * The phantom's chest (PhantomOptions.thorax): above a diaphragm that caps the organs, lungs and a
 * heart as dense as liver, so that tests can ask whether a model calls the heart liver.
 */
import { describe, expect, it } from 'vitest'
import { PHANTOM_HU, diaphragmZ, generatePhantom } from '../../src-shared/phantom.js'
import type { Vec3 } from '../../src-shared/volume.js'

const dims: Vec3 = [96, 83, 100]
const spacing: Vec3 = [4, 4, 4]
const centre: Vec3 = [0, 0, 60]

describe('phantom thorax', () => {
  it('puts lungs and a heart above the diaphragm, and no organ label there', () => {
    const plain = generatePhantom({ dims, spacing, centre, noise: 0 })
    const chest = generatePhantom({ dims, spacing, centre, noise: 0, thorax: true })
    const origin = chest.ct.origin
    let labelledAbove = 0, lungAbove = 0, heartAbove = 0, bodyAbove = 0, labelsPlain = 0, labelsChest = 0
    for (let k = 0; k < dims[2]; k++)
      for (let j = 0; j < dims[1]; j++)
        for (let i = 0; i < dims[0]; i++) {
          const n = i + dims[0] * (j + dims[1] * k)
          const [x, y, z] = [origin[0] + i * spacing[0], origin[1] + j * spacing[1], origin[2] + k * spacing[2]]
          if (plain.labels.data[n]) labelsPlain++
          if (chest.labels.data[n]) labelsChest++
          if (z <= diaphragmZ(x, y, 1) || plain.ct.data[n] < -900) continue
          bodyAbove++
          if (chest.labels.data[n]) labelledAbove++
          if (chest.ct.data[n] < -600) lungAbove++
          if (Math.abs(chest.ct.data[n] - PHANTOM_HU.myocardium) < 1 && x > -40 && y < 0) heartAbove++
        }
    expect(labelledAbove).toBe(0)
    expect(lungAbove / bodyAbove).toBeGreaterThan(0.3)
    // at least 200 mL of heart muscle, anterior and mostly left of the midline
    expect((heartAbove * 64) / 1000).toBeGreaterThan(200)
    // the caps only remove the organs' tops: most of every label stays
    expect(labelsChest / labelsPlain).toBeGreaterThan(0.9)
    expect(labelsChest).toBeLessThan(labelsPlain)
  })

  it('leaves the phantom as it was when not asked for', () => {
    const a = generatePhantom({ dims: [40, 36, 40], spacing: [8, 8, 8], centre, seed: 3 })
    const b = generatePhantom({ dims: [40, 36, 40], spacing: [8, 8, 8], centre, seed: 3, thorax: false })
    expect(Buffer.from(a.ct.data.buffer).equals(Buffer.from(b.ct.data.buffer))).toBe(true)
    expect(a.ct.data.some((v) => v < -600 && v > -900)).toBe(false) // no lung-dense tissue without a chest (noise on)
  })
})
