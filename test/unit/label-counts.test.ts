/** countLabelValues (the segment report's organ volumes) against a plain count, at every alignment. */
import { describe, expect, it } from 'vitest'
import { countLabelValues } from '../../src-shared/volume.js'

function naive(d: Uint8Array): number[] {
  const c = new Array(256).fill(0)
  for (const v of d) c[v]++
  return c
}

describe('countLabelValues', () => {
  it('equals a voxel-by-voxel count for sparse and dense maps, any length and byte offset', () => {
    let seed = 7
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const buf = new Uint8Array(10_000 + 8)
    for (let i = 0; i < buf.length; i++) buf[i] = rnd() < 0.9 ? 0 : Math.floor(rnd() * 256)
    for (const offset of [0, 1, 2, 3, 5]) {
      for (const len of [0, 1, 3, 4, 7, 1001, 10_000]) {
        const d = buf.subarray(offset, offset + len)
        expect(Array.from(countLabelValues(d)), `offset ${offset} length ${len}`).toEqual(naive(d))
      }
    }
    const dense = Uint8Array.from({ length: 4099 }, (_, i) => (i * 37) & 255)
    expect(Array.from(countLabelValues(dense))).toEqual(naive(dense))
  })
})
