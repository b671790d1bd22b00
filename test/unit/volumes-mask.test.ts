/** Bounding boxes of masks and label maps (src-main/volumes/mask.ts) against a voxel-by-voxel reference. */
import { describe, expect, it } from 'vitest'
import { labelBounds, maskBounds, unionBounds, valueBounds, type IndexBox } from '../../src-main/volumes/mask.js'
import type { Vec3 } from '../../src-shared/volume.js'

/** The obvious definition: every voxel where `hit(index)`, no row shortcut. */
function reference(dims: Vec3, hit: (i: number) => boolean): IndexBox | null {
  let box: IndexBox | null = null
  for (let k = 0, i = 0; k < dims[2]; k++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++, i++) {
        if (!hit(i)) continue
        const p: Vec3 = [x, y, k]
        box = box ? { min: box.min.map((v, a) => Math.min(v, p[a])) as Vec3, max: box.max.map((v, a) => Math.max(v, p[a])) as Vec3 } : { min: [...p], max: [...p] }
      }
    }
  }
  return box
}

/** Deterministic sparse label map: a few small blobs of values 1..3 on a non-cubic grid. */
function labelMap(dims: Vec3, seed: number): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2])
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  for (let n = 0; n < 12; n++) out[Math.floor(rnd() * out.length)] = 1 + Math.floor(rnd() * 3)
  return out
}

describe('mask bounds', () => {
  const dims: Vec3 = [7, 5, 6]

  it('labelBounds and valueBounds give each value the box of exactly its voxels (background included for valueBounds)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const data = labelMap(dims, seed)
      const all = labelBounds(data, dims)
      for (let v = 0; v <= 4; v++) {
        const want = reference(dims, (i) => data[i] === v)
        expect(valueBounds(data, dims, v)).toEqual(want)
        if (v > 0) expect(all.get(v) ?? null).toEqual(want)
      }
      expect(all.has(0)).toBe(false)
      expect(all.has(4)).toBe(false)
    }
  })

  it('maskBounds thresholds one channel of a [C, Z, Y, X] buffer (strictly above the threshold)', () => {
    const n = dims[0] * dims[1] * dims[2]
    const probs = new Float32Array(2 * n).fill(0.2)
    probs[n + 3 + 7 * (1 + 5 * 2)] = 0.9 // channel 1 at (3, 1, 2)
    probs[n + 6 + 7 * (4 + 5 * 5)] = 0.5 // exactly the threshold: not inside
    probs[1] = 0.9 // channel 0 only
    expect(maskBounds(probs, dims, 0.5, n)).toEqual({ min: [3, 1, 2], max: [3, 1, 2] })
    expect(maskBounds(probs, dims, 0.5, 0)).toEqual({ min: [1, 0, 0], max: [1, 0, 0] })
    expect(maskBounds(new Float32Array(n), dims)).toBeNull()
  })

  it('unionBounds spans both boxes and passes one through when the other is missing', () => {
    const a: IndexBox = { min: [1, 2, 3], max: [4, 4, 4] }
    const b: IndexBox = { min: [0, 3, 5], max: [2, 6, 5] }
    expect(unionBounds(a, b)).toEqual({ min: [0, 2, 3], max: [4, 6, 5] })
    expect(unionBounds(a, null)).toEqual(a)
    expect(unionBounds(undefined, b)).toEqual(b)
    expect(unionBounds(null, undefined)).toBeNull()
  })
})
