/**
 * Framing the 3D view on the labels. Cornerstone's resetCamera fits the whole volume edge to edge
 * (no margin since its "legacy FOV" inset went): a label set as tall as the scan touched the top and
 * bottom of the pane and looked cut, and on a long scan the organs were a small island in the
 * middle. The reset here centres on the labelled voxels and fits their box, seen as the camera
 * looks, with a margin; with nothing labelled it fits the whole grid the same way.
 */
import type { Geometry, Vec3 } from '../../src-shared/volume.js'
import { cross, dot, indexToWorld, norm } from '../../src-shared/geometry.js'

/** space left around the labels: the fitted box takes 1 / FIT_MARGIN of the pane's height or width */
export const FIT_MARGIN = 1.15

export interface IndexBox {
  min: Vec3
  max: Vec3
}

/** The labelled voxels' index bounds (inclusive), from the labelmap's slices; null when nothing is labelled. */
export function labelIndexBounds(slices: readonly Uint8Array[], dims: readonly number[]): IndexBox | null {
  const [nx, ny] = dims as [number, number]
  let x0 = Infinity
  let y0 = Infinity
  let z0 = Infinity
  let x1 = -1
  let y1 = -1
  let z1 = -1
  for (let k = 0; k < slices.length; k++) {
    const s = slices[k]!
    let any = false
    for (let j = 0; j < ny; j++) {
      const row = j * nx
      // the row's first and last labelled voxel: a row is skipped in one pass when empty
      let first = -1
      for (let i = 0; i < nx; i++) {
        if (s[row + i]) {
          first = i
          break
        }
      }
      if (first < 0) continue
      let last = first
      for (let i = nx - 1; i > first; i--) {
        if (s[row + i]) {
          last = i
          break
        }
      }
      any = true
      if (first < x0) x0 = first
      if (last > x1) x1 = last
      if (j < y0) y0 = j
      if (j > y1) y1 = j
    }
    if (any) {
      if (k < z0) z0 = k
      z1 = k
    }
  }
  return z1 < 0 ? null : { min: [x0, y0, z0], max: [x1, y1, z1] }
}

/** The 8 world corners of an index box, out to the voxels' faces (half a voxel beyond the centres). */
export function boxCorners(g: Geometry, box: IndexBox): Vec3[] {
  const out: Vec3[] = []
  for (let c = 0; c < 8; c++) {
    const ijk = [0, 1, 2].map((a) => ((c >> a) & 1 ? box.max[a]! + 0.5 : box.min[a]! - 0.5)) as Vec3
    out.push(indexToWorld(g, ijk))
  }
  return out
}

export interface FittedCamera {
  focalPoint: Vec3
  position: Vec3
  parallelScale: number
}

/**
 * A parallel-projection camera looking along `direction` (from the camera into the scene) with
 * `viewUp`, at `distance` from the focal point, that shows every corner inside a pane of
 * width / height `aspect`, with `margin`.
 */
export function fitCorners(corners: readonly Vec3[], direction: Vec3, viewUp: Vec3, aspect: number, distance: number, margin = FIT_MARGIN): FittedCamera {
  const unit = (v: Vec3): Vec3 => {
    const l = norm(v) || 1
    return [v[0] / l, v[1] / l, v[2] / l]
  }
  const dir = unit(direction)
  const right = unit(cross(dir, viewUp))
  const up = unit(cross(right, dir))
  const lo = [Infinity, Infinity, Infinity]
  const hi = [-Infinity, -Infinity, -Infinity]
  for (const p of corners) {
    const q = [dot(p, right), dot(p, up), dot(p, dir)]
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, q[a]!)
      hi[a] = Math.max(hi[a]!, q[a]!)
    }
  }
  const mid = [0, 1, 2].map((a) => (lo[a]! + hi[a]!) / 2)
  const focalPoint = [0, 1, 2].map((i) => right[i]! * mid[0]! + up[i]! * mid[1]! + dir[i]! * mid[2]!) as Vec3
  const halfHeight = (hi[1]! - lo[1]!) / 2
  const halfWidth = (hi[0]! - lo[0]!) / 2
  const parallelScale = margin * Math.max(halfHeight, halfWidth / Math.max(aspect, 1e-6), 1e-3)
  const position = [0, 1, 2].map((i) => focalPoint[i]! - dir[i]! * distance) as Vec3
  return { focalPoint, position, parallelScale }
}
