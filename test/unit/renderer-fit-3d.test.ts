/**
 * Framing the 3D view on the labels (src-renderer/viewer/fit-3d.ts): the labelled voxels' box, its
 * world corners out to the voxel faces, and a parallel camera that shows all of it with a margin.
 */
import { describe, expect, it } from 'vitest'
import { boxCorners, fitCorners, FIT_MARGIN, labelIndexBounds } from '../../src-renderer/viewer/fit-3d.js'
import type { Geometry, Vec3 } from '../../src-shared/volume.js'

const DIMS: Vec3 = [20, 16, 30]
function slicesWith(voxels: Vec3[]): Uint8Array[] {
  const slices = Array.from({ length: DIMS[2] }, () => new Uint8Array(DIMS[0] * DIMS[1]))
  for (const [i, j, k] of voxels) slices[k]![i + DIMS[0] * j] = 3
  return slices
}

describe('3D view framing', () => {
  it('labelIndexBounds finds the labelled box, and null when nothing is labelled', () => {
    expect(labelIndexBounds(slicesWith([]), DIMS)).toBeNull()
    expect(labelIndexBounds(slicesWith([[4, 5, 6]]), DIMS)).toEqual({ min: [4, 5, 6], max: [4, 5, 6] })
    // first and last voxel of a row, rows and slices apart, the grid's corners
    expect(labelIndexBounds(slicesWith([[2, 9, 3], [17, 9, 3], [8, 1, 20], [0, 15, 29]]), DIMS)).toEqual({ min: [0, 1, 3], max: [17, 15, 29] })
    expect(labelIndexBounds(slicesWith([[19, 0, 0], [0, 15, 29]]), DIMS)).toEqual({ min: [0, 0, 0], max: [19, 15, 29] })
  })

  it('boxCorners reach the outer faces of the voxels in world (LPS) mm, through the direction', () => {
    // rows run toward the front (direction flips y): the world box still spans the voxel faces
    const g: Geometry = { dims: DIMS, spacing: [2, 3, 5], origin: [-10, 40, 100], direction: [1, 0, 0, 0, -1, 0, 0, 0, 1] }
    const c = boxCorners(g, { min: [1, 2, 3], max: [4, 6, 9] })
    const lo = [0, 1, 2].map((a) => Math.min(...c.map((p) => p[a]!)))
    const hi = [0, 1, 2].map((a) => Math.max(...c.map((p) => p[a]!)))
    expect(lo).toEqual([-10 + 0.5 * 2, 40 - 6.5 * 3, 100 + 2.5 * 5])
    expect(hi).toEqual([-10 + 4.5 * 2, 40 - 1.5 * 3, 100 + 9.5 * 5])
  })

  it('fitCorners centres the box and fits its taller or wider side with the margin', () => {
    // a box 100 wide (x), 50 deep (y), 800 tall (z), seen from the front (looking +y), head up
    const corners: Vec3[] = []
    for (let c = 0; c < 8; c++) corners.push([c & 1 ? 60 : -40, c & 2 ? 30 : -20, c & 4 ? 900 : 100])
    const tall = fitCorners(corners, [0, 1, 0], [0, 0, 1], 1.5, 1000)
    expect(tall.focalPoint.map((v) => +v.toFixed(9))).toEqual([10, 5, 500])
    expect(tall.parallelScale).toBeCloseTo(400 * FIT_MARGIN, 9) // half the height, plus the margin
    expect(tall.position.map((v) => +v.toFixed(9))).toEqual([10, -995, 500]) // in front, at the distance
    // lying down (x long): the width decides on a square pane, halved by a pane twice as wide
    const wide = fitCorners(corners, [0, 1, 0], [1, 0, 0], 1, 1000)
    expect(wide.parallelScale).toBeCloseTo(400 * FIT_MARGIN, 9)
    const flat = corners.map((p) => [p[0] * 10, p[1], (p[2] - 500) / 10 + 500] as Vec3) // 1000 wide, 80 tall
    expect(fitCorners(flat, [0, 1, 0], [0, 0, 1], 1, 1000).parallelScale).toBeCloseTo(500 * FIT_MARGIN, 9)
    expect(fitCorners(flat, [0, 1, 0], [0, 0, 1], 2, 1000).parallelScale).toBeCloseTo(250 * FIT_MARGIN, 9)
    // turned 45 degrees about the vertical: the box's diagonal is what must fit across
    const s = Math.SQRT1_2
    const turned = fitCorners(flat, [s, s, 0], [0, 0, 1], 1, 1000)
    expect(turned.parallelScale).toBeCloseTo(((1000 + 50) * s / 2) * FIT_MARGIN, 6)
  })
})
