/** Valid-size choice, spacing rules, grids and the foreground box, against hand-computed cases. */
import { describe, expect, it } from 'vitest'
import {
  bodyWorldBox,
  croppedLatticeGrid,
  centredGrid,
  coveringIndexBox,
  sliceAxis,
  localizationSpacing,
  segmentationSpacing,
  validSize,
  worldBoxOfIndexBox,
  worldEdgeBox,
} from '../../src-main/inference/transforms.js'
import type { Geometry, Mat3 } from '../../src-shared/volume.js'

const LOC = { x: [32, 48, 64, 80], y: [32, 48, 64, 80], z: Array.from({ length: 15 }, (_, i) => 32 + 16 * i) }
const SEG = { x: [32, 64, 96, 128, 160], y: [32, 64, 96, 128], z: [32, 64, 96, 128, 160] }

describe('validSize', () => {
  it('picks the smallest valid size strictly above the need (as the original get_valid_size)', () => {
    expect(validSize(0, LOC.x)).toBe(32)
    expect(validSize(31, LOC.x)).toBe(32)
    expect(validSize(60, LOC.x)).toBe(64)
    expect(validSize(64, LOC.x)).toBe(80)
  })
  it('falls back to the largest size when nothing is big enough', () => {
    expect(validSize(80, LOC.x)).toBe(80)
    expect(validSize(500, LOC.z)).toBe(256)
  })
  it('does not assume the list is sorted', () => {
    expect(validSize(40, [96, 32, 64])).toBe(64)
  })
})

describe('localizationSpacing', () => {
  it('keeps 6 mm when the CT fits: 512x512x300 at 0.8x0.8x2.5 mm', () => {
    // ceil(409.6/6) = 69 of 80, ceil(750/6) = 125 of 256: ratio 0.8625 + 0.02 < 1
    expect(localizationSpacing([409.6, 409.6, 750], [6, 6, 6], LOC)).toEqual([6, 6, 6])
  })
  it('grows uniformly by the largest ratio + 0.02 when it does not fit', () => {
    // x: ceil(600/6) = 100 / 80 = 1.25 -> 1.27; z: 50/256
    const s = localizationSpacing([600, 400, 300], [6, 6, 6], LOC)
    s.forEach((v) => expect(v).toBeCloseTo(6 * 1.27, 10))
    // z limits: ceil(1800/6) = 300 / 256 = 1.171875 -> 1.191875
    localizationSpacing([100, 100, 1800], [6, 6, 6], LOC).forEach((v) => expect(v).toBeCloseTo(6 * 1.191875, 10))
  })
})

describe('segmentationSpacing', () => {
  it('keeps 2 mm when the box fits', () => {
    // 200/160 = 1.25, 150/128 = 1.17, 180/160 = 1.125: all below 2 - 0.1
    expect(segmentationSpacing([200, 150, 180], [2, 2, 2], SEG)).toEqual([2, 2, 2])
  })
  it('becomes max(extent / max size) + 0.1 mm, isotropic, when it does not', () => {
    segmentationSpacing([400, 200, 300], [2, 2, 2], SEG).forEach((v) => expect(v).toBeCloseTo(2.6, 10))
    // y decides: 300/128 = 2.34375
    segmentationSpacing([100, 300, 100], [2, 2, 2], SEG).forEach((v) => expect(v).toBeCloseTo(2.44375, 10))
    // just above the switch point (1.9): 310/160 = 1.9375 -> 2.0375 (slightly coarser than 2, as in the original)
    segmentationSpacing([310, 10, 10], [2, 2, 2], SEG).forEach((v) => expect(v).toBeCloseTo(2.0375, 10))
  })
})

describe('grids', () => {
  it('centredGrid puts voxel centres symmetric about the centre', () => {
    const g = centredGrid([10, 0, -5], [2, 3, 4], [4, 3, 2])
    expect(g.origin).toEqual([7, -3, -7])
    expect(g.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1])
  })
  it('worldEdgeBox spans voxel edges, for identity and flipped directions', () => {
    const g: Geometry = { dims: [2, 3, 4], spacing: [1, 2, 3], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    expect(worldEdgeBox(g)).toEqual({ min: [-0.5, -1, -1.5], max: [1.5, 5, 10.5] })
    const f: Geometry = { ...g, origin: [10, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] }
    expect(worldEdgeBox(f)).toEqual({ min: [8.5, -1, -1.5], max: [10.5, 5, 10.5] })
  })
  it('coveringIndexBox: the source voxels under a destination grid, plus padding, clamped', () => {
    const src: Geometry = { dims: [10, 10, 10], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const dst = centredGrid([3, 3, 3], [2, 2, 2], [2, 2, 2]) // centres at 2 and 4, edges 1..5
    expect(coveringIndexBox(src, dst, 0)).toEqual({ min: [1, 1, 1], max: [5, 5, 5] })
    expect(coveringIndexBox(src, dst, 2)).toEqual({ min: [0, 0, 0], max: [7, 7, 7] })
    expect(coveringIndexBox(src, centredGrid([50, 3, 3], [2, 2, 2], [2, 2, 2]), 0)).toBeNull()
  })
  it('coveringIndexBox with an unclamped axis reaches beyond the volume there (a slab seen on a taller grid)', () => {
    const slab: Geometry = { dims: [10, 10, 3], spacing: [1, 1, 5], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const tall = centredGrid([4.5, 4.5, 5], [4, 4, 4], [4, 4, 8]) // z edges -11..21 mm: index -2.2..4.2
    expect(coveringIndexBox(slab, tall, 0)).toEqual({ min: [0, 0, 0], max: [9, 9, 2] })
    expect(coveringIndexBox(slab, tall, 0, [2])).toEqual({ min: [0, 0, -3], max: [9, 9, 5] })
    expect(coveringIndexBox(slab, tall, 1, [2])).toEqual({ min: [0, 0, -4], max: [9, 9, 6] })
    // every axis unclamped (zPadding and inPlanePadding 'replicate'): x and y reach beyond too
    expect(coveringIndexBox(slab, centredGrid([4.5, 4.5, 5], [4, 4, 4], [4, 4, 8]), 0, [0, 1, 2])).toEqual({ min: [-4, -4, -3], max: [13, 13, 5] })
  })
  it('sliceAxis is the index axis nearest the foot-head axis', () => {
    const g = (direction: Mat3): Geometry => ({ dims: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0], direction })
    expect(sliceAxis(g([1, 0, 0, 0, 1, 0, 0, 0, 1]))).toBe(2) // axial
    expect(sliceAxis(g([1, 0, 0, 0, 0, 1, 0, -1, 0]))).toBe(1) // coronal: rows run foot-head
    expect(sliceAxis(g([0, 0, 1, 0, 1, 0, -1, 0, 0]))).toBe(0) // sagittal stored with z first
    const c = Math.cos(0.35)
    const s = Math.sin(0.35)
    expect(sliceAxis(g([1, 0, 0, 0, c, -s, 0, s, c]))).toBe(2) // 20 degree gantry tilt
  })
})

describe('foreground box', () => {
  it('worldBoxOfIndexBox: first voxel lower edge to last voxel upper edge, plus margin', () => {
    const grid = centredGrid([0, 0, 0], [6, 6, 6], [4, 4, 4]) // origin -9
    const w = worldBoxOfIndexBox(grid, { min: [1, 0, 0], max: [3, 2, 1] }, 10)
    // x: -9 + 0.5*6 - 10 = -16 ; -9 + 3.5*6 + 10 = 22
    expect(w.min).toEqual([-16, -22, -22])
    expect(w.max).toEqual([22, 16, 10])
  })
})

describe('the localization grid cropped to the body (issue 15)', () => {
  // a 512x512x300 CT at 0.8x0.8x2.5 mm (410 mm field of view) whose body is a 300 x 220 mm block
  const ct = { dims: [512, 512, 300] as [number, number, number], spacing: [0.8, 0.8, 2.5] as [number, number, number], origin: [-204.4, -204.4, -374] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Mat3 }
  const data = new Int16Array(512 * 512 * 300).fill(-1000)
  const inBody = (i: number, j: number) => Math.abs(i - 256) * 0.8 < 150 && Math.abs(j - 280) * 0.8 < 110
  for (let k = 0; k < 300; k++) for (let j = 0; j < 512; j++) for (let i = 0; i < 512; i++) if (inBody(i, j)) data[i + 512 * (j + 512 * k)] = 40

  it('finds the body box within a few voxels of the step, or nothing in air', () => {
    const b = bodyWorldBox({ ...ct, data })!
    expect(b.min[0]).toBeGreaterThan(-150 - 0.8 * 9)
    expect(b.min[0]).toBeLessThan(-150 + 0.8)
    expect(b.max[1] - b.min[1]).toBeGreaterThan(220)
    expect(b.max[1] - b.min[1]).toBeLessThan(220 + 2 * 0.8 * 9)
    expect(bodyWorldBox({ ...ct, data: new Int16Array(16).fill(-1000), dims: [4, 2, 2] })).toBeNull()
  })

  it('shrinks to smaller valid sizes on the same lattice and still covers the body', () => {
    const grid = centredGrid([0, 0, 0], [6, 6, 6], [80, 80, 128])
    const body = bodyWorldBox({ ...ct, data })!
    const cropped = croppedLatticeGrid(grid, body, (a, need) => validSize(need, [LOC.x, LOC.y, LOC.z][a]))!
    expect(cropped.dims).toEqual([64, 48, 128])
    for (let a = 0; a < 3; a++) {
      // the same voxel centres: whole voxels apart
      const shift = (cropped.origin[a] - grid.origin[a]) / 6
      expect(Math.abs(shift - Math.round(shift))).toBeLessThan(1e-9)
      // the body inside the cropped grid's voxel edges
      expect(cropped.origin[a] - 3).toBeLessThanOrEqual(body.min[a])
      expect(cropped.origin[a] + (cropped.dims[a] - 0.5) * 6).toBeGreaterThanOrEqual(body.max[a])
    }
    // nothing to gain: no new grid
    expect(croppedLatticeGrid(grid, worldEdgeBox(grid), (a, need) => validSize(need, [LOC.x, LOC.y, LOC.z][a]))).toBeNull()
  })
})
