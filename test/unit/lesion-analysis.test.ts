/**
 * analyseLesions (src-shared/lesion-analysis.ts) against expectations computed here independently:
 * shapes are rasterised from their world-space definition (indexToWorld of every voxel), so a
 * flipped or permuted grid holds the same physical voxels, and counts/means are brute-force sums.
 */
import { describe, expect, it } from 'vitest'
import { analyseLesions, axialAxisOf } from '../../src-shared/lesion-analysis.js'
import { indexToWorld, rotationMatrix } from '../../src-shared/geometry.js'
import type { Geometry, Mat3, Vec3 } from '../../src-shared/volume.js'

const ID: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1]

function grid(dims: Vec3, spacing: Vec3, origin: Vec3 = [0, 0, 0], direction: Mat3 = ID): Geometry {
  return { dims, spacing, origin, direction }
}

/** Label 1 wherever inside(world position of the voxel centre). */
function rasterise(g: Geometry, inside: (p: Vec3) => boolean, value = 1, labels = new Uint8Array(g.dims[0] * g.dims[1] * g.dims[2])): Uint8Array {
  const [nx, ny, nz] = g.dims
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) if (inside(indexToWorld(g, [i, j, k]))) labels[i + nx * (j + ny * k)] = value
  return labels
}

const ellipsoid = (c: Vec3, a: number, b: number, h: number, angle = 0) => (p: Vec3) => {
  const x = p[0] - c[0]
  const y = p[1] - c[1]
  const u = x * Math.cos(angle) + y * Math.sin(angle)
  const v = -x * Math.sin(angle) + y * Math.cos(angle)
  return (u / a) ** 2 + (v / b) ** 2 + ((p[2] - c[2]) / h) ** 2 <= 1
}

const count = (labels: Uint8Array, value = 1) => labels.reduce((n, v) => n + (v === value ? 1 : 0), 0)
/** Inclusive index box of the voxels of `value`, by brute force. */
function box(labels: Uint8Array, dims: Vec3, value = 1): { min: Vec3; max: Vec3 } {
  const min: Vec3 = [Infinity, Infinity, Infinity]
  const max: Vec3 = [-Infinity, -Infinity, -Infinity]
  for (let n = 0; n < labels.length; n++) {
    if (labels[n] !== value) continue
    const ijk = [n % dims[0], Math.floor(n / dims[0]) % dims[1], Math.floor(n / (dims[0] * dims[1]))]
    for (let d = 0; d < 3; d++) {
      min[d] = Math.min(min[d], ijk[d])
      max[d] = Math.max(max[d], ijk[d])
    }
  }
  return { min, max }
}
const dist = (a: Vec3, b: Vec3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])

describe('analyseLesions', () => {
  const spacing: Vec3 = [0.8, 0.8, 2.5]
  const g = grid([60, 50, 20], spacing)
  // centre on a voxel centre of slice 10 (z = 25 mm), a bit off the x/y lattice
  const centre: Vec3 = [24.3, 20.1, 25]

  it('no voxels of the value: no lesions', () => {
    expect(analyseLesions(new Uint8Array(60 * 50 * 20), null, g, 5)).toEqual([])
    const labels = rasterise(g, ellipsoid(centre, 5, 5, 5), 2)
    expect(analyseLesions(labels, null, g, 5)).toEqual([])
  })

  it('an ellipsoid at 0.8x0.8x2.5 mm: long axis within one voxel of 2a, perpendicular within one voxel of 2b, on its central slice', () => {
    const [a, b, h] = [12, 7, 10]
    const labels = rasterise(g, ellipsoid(centre, a, b, h))
    const [l, ...rest] = analyseLesions(labels, null, g, 1)
    expect(rest).toEqual([])
    expect(l.index).toBe(1)
    expect(l.voxels).toBe(count(labels))
    expect(l.volumeMl).toBeCloseTo((count(labels) * 0.8 * 0.8 * 2.5) / 1000, 9)
    expect(l.volumeMl).toBeGreaterThan(((4 / 3) * Math.PI * a * b * h * 0.9) / 1000)
    expect(l.volumeMl).toBeLessThan(((4 / 3) * Math.PI * a * b * h * 1.1) / 1000)
    expect(Math.abs(l.longestAxialMm - 2 * a)).toBeLessThanOrEqual(0.8)
    expect(Math.abs(l.perpendicularMm - 2 * b)).toBeLessThanOrEqual(0.8)
    expect(l.axialAxis).toBe(2)
    expect(l.sliceIndex).toBe(10)
    expect(l.meanHu).toBeNull()
    // the caliper end points are the reported lengths apart, on that slice, and perpendicular
    expect(dist(...l.longAxisLps)).toBeCloseTo(l.longestAxialMm, 9)
    expect(dist(...l.perpendicularLps)).toBeCloseTo(l.perpendicularMm, 9)
    for (const p of [...l.longAxisLps, ...l.perpendicularLps]) expect(p[2]).toBeCloseTo(25, 9)
    const u = l.longAxisLps[1].map((x, i) => x - l.longAxisLps[0][i])
    const v = l.perpendicularLps[1].map((x, i) => x - l.perpendicularLps[0][i])
    expect(u[0] * v[0] + u[1] * v[1] + u[2] * v[2]).toBeCloseTo(0, 6)
    // centroid: the mean of the voxel indices, and where the ellipsoid's centre is
    for (let d = 0; d < 3; d++) expect(Math.abs(l.centroidLps[d] - centre[d])).toBeLessThan(0.4)
    expect(indexToWorld(g, l.centroidVoxel).every((x, i) => Math.abs(x - l.centroidLps[i]) < 1e-9)).toBe(true)
    expect(l.boundingBox).toEqual(box(labels, g.dims))
  })

  it('an oblique ellipse (long axis at 30 degrees in plane) is still within one voxel', () => {
    const [a, b] = [14, 6]
    const labels = rasterise(g, ellipsoid(centre, a, b, 8, Math.PI / 6))
    const [l] = analyseLesions(labels, null, g, 1)
    expect(Math.abs(l.longestAxialMm - 2 * a)).toBeLessThanOrEqual(0.8)
    expect(Math.abs(l.perpendicularMm - 2 * b)).toBeLessThanOrEqual(0.8)
    const u = l.longAxisLps[1].map((x, i) => x - l.longAxisLps[0][i])
    const degrees = (((Math.atan2(u[1], u[0]) * 180) / Math.PI) % 180 + 180) % 180
    expect(Math.abs(degrees - 30)).toBeLessThan(5)
  })

  it('two separate blobs: two lesions, the larger first, with their own voxel counts and boxes', () => {
    const big = ellipsoid([15, 20, 25], 8, 6, 6)
    const small = ellipsoid([38, 20, 25], 4, 4, 3)
    const labels = rasterise(g, (p) => big(p) || small(p))
    const r = analyseLesions(labels, null, g, 1)
    expect(r.map((l) => l.index)).toEqual([1, 2])
    expect(r[0].voxels).toBe(count(rasterise(g, big)))
    expect(r[1].voxels).toBe(count(rasterise(g, small)))
    expect(r[0].voxels).toBeGreaterThan(r[1].voxels)
    expect(r[0].centroidLps[0]).toBeCloseTo(15, 0)
    expect(r[1].centroidLps[0]).toBeCloseTo(38, 0)
    expect(r[0].boundingBox).toEqual(box(rasterise(g, big), g.dims))
    expect(r[1].boundingBox).toEqual(box(rasterise(g, small), g.dims))
    // the smaller one alone, by minVoxels
    expect(analyseLesions(labels, null, g, 1, { minVoxels: r[1].voxels + 1 }).map((l) => l.voxels)).toEqual([r[0].voxels])
  })

  it('connectivity: cubes touching only at a corner or along an edge are two lesions (6, the default) or one (26)', () => {
    const g2 = grid([12, 12, 12], [1, 1, 1])
    const at = (i: number, j: number, k: number) => i + 12 * (j + 12 * k)
    const cube = (labels: Uint8Array, o: Vec3) => {
      for (let k = 0; k < 2; k++) for (let j = 0; j < 2; j++) for (let i = 0; i < 2; i++) labels[at(o[0] + i, o[1] + j, o[2] + k)] = 1
      return labels
    }
    const corner = cube(cube(new Uint8Array(12 ** 3), [2, 2, 2]), [4, 4, 4]) // share only the point (4,4,4)-(3,3,3) diagonal
    expect(analyseLesions(corner, null, g2, 1).map((l) => l.voxels)).toEqual([8, 8])
    expect(analyseLesions(corner, null, g2, 1, { connectivity: 26 }).map((l) => l.voxels)).toEqual([16])
    const edge = cube(cube(new Uint8Array(12 ** 3), [2, 2, 2]), [4, 4, 2]) // in-plane diagonal neighbours
    expect(analyseLesions(edge, null, g2, 1)).toHaveLength(2)
    expect(analyseLesions(edge, null, g2, 1, { connectivity: 26 })).toHaveLength(1)
    const below = cube(cube(new Uint8Array(12 ** 3), [2, 2, 2]), [3, 4, 4]) // diagonal across slices
    expect(analyseLesions(below, null, g2, 1)).toHaveLength(2)
    expect(analyseLesions(below, null, g2, 1, { connectivity: 26 })).toHaveLength(1)
    const face = cube(cube(new Uint8Array(12 ** 3), [2, 2, 2]), [2, 2, 4]) // stacked: face neighbours
    expect(analyseLesions(face, null, g2, 1).map((l) => l.voxels)).toEqual([16])
    // a U shape joins through its base (union of runs found in a later row)
    const u = new Uint8Array(12 ** 3)
    for (let j = 0; j < 6; j++) u[at(1, j, 0)] = u[at(6, j, 0)] = 1
    for (let i = 1; i <= 6; i++) u[at(i, 6, 0)] = 1
    expect(analyseLesions(u, null, g2, 1).map((l) => l.voxels)).toEqual([18])
  })

  it('a flipped or permuted direction matrix over the same world voxels gives the same millimetres, volume, HU and centroid', () => {
    const shape = (p: Vec3) => ellipsoid([20, 16, 25], 11, 6, 9, 0.4)(p) || ellipsoid([36, 30, 20], 3, 3, 4)(p)
    const hu = (p: Vec3) => Math.round(p[0] * 3 - p[1] + p[2] * 2)
    const dims: Vec3 = [60, 50, 20]
    const ref = grid(dims, spacing)
    const far = indexToWorld(ref, [dims[0] - 1, dims[1] - 1, dims[2] - 1])
    const grids: Geometry[] = [
      ref,
      // x and z flipped (RPI-like): same points, index 0 at the far corner
      grid(dims, spacing, [far[0], 0, far[2]], [-1, 0, 0, 0, 1, 0, 0, 0, -1]),
      // permuted: index axis 0 runs along world z, 1 along -x, 2 along y
      grid([dims[2], dims[0], dims[1]], [2.5, 0.8, 0.8], [far[0], 0, 0], [0, -1, 0, 0, 0, 1, 1, 0, 0]),
    ]
    const results = grids.map((gg) => {
      const labels = rasterise(gg, shape)
      const ct = new Int16Array(labels.length)
      const [nx, ny, nz] = gg.dims
      for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) ct[i + nx * (j + ny * k)] = hu(indexToWorld(gg, [i, j, k]))
      return analyseLesions(labels, ct, gg, 1)
    })
    expect(axialAxisOf(grids[2])).toBe(0)
    expect(results[2][0].axialAxis).toBe(0)
    for (const r of results) {
      expect(r).toHaveLength(2)
      for (let n = 0; n < 2; n++) {
        const [a, b] = [results[0][n], r[n]]
        expect(b.voxels).toBe(a.voxels)
        expect(b.volumeMl).toBeCloseTo(a.volumeMl, 9)
        expect(b.longestAxialMm).toBeCloseTo(a.longestAxialMm, 6)
        expect(b.perpendicularMm).toBeCloseTo(a.perpendicularMm, 6)
        expect(b.meanHu).toBeCloseTo(a.meanHu!, 6)
        b.centroidLps.forEach((x, i) => expect(x).toBeCloseTo(a.centroidLps[i], 6))
        // the measured slice is the same world plane
        expect(b.longAxisLps[0][2]).toBeCloseTo(a.longAxisLps[0][2], 6)
      }
    }
  })

  it('mean HU is the mean CT value inside the lesion (Int16 or Float32 CT); null without a CT', () => {
    const labels = rasterise(g, ellipsoid(centre, 6, 5, 5))
    const ct16 = new Int16Array(labels.length)
    let sum = 0
    for (let i = 0; i < labels.length; i++) {
      ct16[i] = labels[i] ? 40 + (i % 3) * 15 : -900
      if (labels[i]) sum += ct16[i]
    }
    const [l] = analyseLesions(labels, ct16, g, 1)
    expect(l.meanHu).toBeCloseTo(sum / count(labels), 9)
    const ct32 = Float32Array.from(ct16, (v) => v + 0.5)
    expect(analyseLesions(labels, ct32, g, 1)[0].meanHu).toBeCloseTo(sum / count(labels) + 0.5, 6)
    expect(analyseLesions(labels, null, g, 1)[0].meanHu).toBeNull()
  })

  it('edge to edge: one voxel measures its spacings; a one-voxel line its length by one voxel', () => {
    const g3 = grid([10, 10, 4], [0.7, 0.9, 3])
    const one = new Uint8Array(400)
    one[5 + 10 * (4 + 10 * 2)] = 3
    const [v] = analyseLesions(one, null, g3, 3)
    expect(v).toMatchObject({ voxels: 1, longestAxialMm: 0.9, perpendicularMm: 0.7, sliceIndex: 2, centroidVoxel: [5, 4, 2], boundingBox: { min: [5, 4, 2], max: [5, 4, 2] } })
    expect(v.volumeMl).toBeCloseTo((0.7 * 0.9 * 3) / 1000, 12)
    const line = new Uint8Array(400)
    for (let i = 2; i <= 7; i++) line[i + 10 * (3 + 10 * 1)] = 3
    const [ln] = analyseLesions(line, null, g3, 3)
    expect(ln.longestAxialMm).toBeCloseTo(6 * 0.7, 9)
    expect(ln.perpendicularMm).toBeCloseTo(0.9, 9)
    // an axis-aligned 5x3 rectangle: 5 x 3 voxels edge to edge (its diagonal is the centre-to-centre long axis)
    const rect = new Uint8Array(400)
    for (let j = 2; j < 5; j++) for (let i = 1; i < 6; i++) rect[i + 10 * (j + 10 * 0)] = 3
    const [rc] = analyseLesions(rect, null, grid([10, 10, 4], [1, 1, 1]), 3)
    expect(rc.longestAxialMm).toBeCloseTo(Math.hypot(4, 2) + 1, 9)
    expect(rc.perpendicularMm).toBeGreaterThan(2)
    expect(rc.perpendicularMm).toBeLessThan(4)
  })

  it('the slice with the longest axis wins, whatever comes first in the volume', () => {
    const g4 = grid([20, 20, 5], [1, 1, 1])
    const labels = new Uint8Array(2000)
    for (let k = 0; k < 5; k++) {
      const half = k === 3 ? 6 : 2
      for (let i = 10 - half; i <= 10 + half; i++) labels[i + 20 * (10 + 20 * k)] = 1
    }
    const [l] = analyseLesions(labels, null, g4, 1)
    expect(l.sliceIndex).toBe(3)
    expect(l.longestAxialMm).toBe(13)
  })

  it('refuses a value outside 1-255 and arrays that do not fit the grid', () => {
    expect(() => analyseLesions(new Uint8Array(10), null, g, 1)).toThrow(/labelmap has 10 voxels/)
    expect(() => analyseLesions(new Uint8Array(60 * 50 * 20), new Int16Array(3), g, 1)).toThrow(/CT has 3 voxels/)
    expect(() => analyseLesions(new Uint8Array(60 * 50 * 20), null, g, 0)).toThrow(RangeError)
    expect(() => analyseLesions(new Uint8Array(60 * 50 * 20), null, g, 1.5)).toThrow(RangeError)
  })

  it('an oblique (tilted) grid measures in its acquired slices', () => {
    const tilt = rotationMatrix([1, 0, 0], 0.3)
    const gt = grid([60, 50, 20], spacing, [0, 0, 0], tilt)
    expect(axialAxisOf(gt)).toBe(2)
    const labels = new Uint8Array(60 * 50 * 20)
    // a 21 x 9 voxel rectangle on slice 7 of the tilted grid
    for (let j = 20; j < 29; j++) for (let i = 10; i < 31; i++) labels[i + 60 * (j + 50 * 7)] = 1
    const [l] = analyseLesions(labels, null, gt, 1)
    expect(l.sliceIndex).toBe(7)
    expect(l.longestAxialMm).toBeCloseTo(Math.hypot(20 * 0.8, 8 * 0.8) + 0.8, 9)
    expect(dist(...l.longAxisLps)).toBeCloseTo(l.longestAxialMm, 9)
  })
})
