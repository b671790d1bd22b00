/**
 * Grid geometry for the renderer: our row-major direction (column j = index axis j, LPS) to
 * Cornerstone's layout, per-slice positions, world <-> index. Mirrors src-main/volumes/geometry.ts
 * conventions; kept tiny and browser-only.
 */
import type { GridGeometry, Vec3 } from '../api/types.js'

/** Direction of index axis j in LPS. */
export function axisDirection(g: GridGeometry, j: 0 | 1 | 2): Vec3 {
  const d = g.direction
  return [d[j]!, d[3 + j]!, d[6 + j]!]
}

/** Cornerstone/vtk direction: the three index-axis vectors one after another. */
export function cornerstoneDirection(g: GridGeometry): number[] {
  return [...axisDirection(g, 0), ...axisDirection(g, 1), ...axisDirection(g, 2)]
}

export function sliceOrigin(g: GridGeometry, k: number): Vec3 {
  const kd = axisDirection(g, 2)
  return [g.origin[0] + kd[0] * g.spacing[2] * k, g.origin[1] + kd[1] * g.spacing[2] * k, g.origin[2] + kd[2] * g.spacing[2] * k]
}

export function indexToWorld(g: GridGeometry, ijk: Vec3): Vec3 {
  const out: Vec3 = [...g.origin]
  for (let j = 0 as 0 | 1 | 2; j < 3; j = (j + 1) as 0 | 1 | 2) {
    const a = axisDirection(g, j)
    for (let r = 0; r < 3; r++) out[r]! += a[r]! * g.spacing[j] * ijk[j]
  }
  return out
}

/** Continuous index of a world point (direction is orthonormal, so its inverse is its transpose). */
export function worldToIndex(g: GridGeometry, p: Vec3): Vec3 {
  const rel: Vec3 = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]]
  const out: Vec3 = [0, 0, 0]
  for (let j = 0 as 0 | 1 | 2; j < 3; j = (j + 1) as 0 | 1 | 2) {
    const a = axisDirection(g, j)
    out[j] = (a[0] * rel[0] + a[1] * rel[1] + a[2] * rel[2]) / g.spacing[j]
  }
  return out
}

/** The index axis most aligned with a world direction (the view's plane normal). */
export function dominantIndexAxis(g: GridGeometry, worldDir: Vec3): 0 | 1 | 2 {
  let best: 0 | 1 | 2 = 0
  let bestDot = -1
  for (let j = 0 as 0 | 1 | 2; j < 3; j = (j + 1) as 0 | 1 | 2) {
    const a = axisDirection(g, j)
    const d = Math.abs(a[0] * worldDir[0] + a[1] * worldDir[1] + a[2] * worldDir[2])
    if (d > bestDot) {
      bestDot = d
      best = j
    }
  }
  return best
}

/** Patient-direction letter for a world (LPS) vector: its dominant axis and sign. */
export function orientationLetter(v: Vec3): string {
  const ax = [Math.abs(v[0]), Math.abs(v[1]), Math.abs(v[2])]
  const m = ax.indexOf(Math.max(...ax))
  const pos = v[m]! > 0
  return m === 0 ? (pos ? 'L' : 'R') : m === 1 ? (pos ? 'P' : 'A') : pos ? 'S' : 'I'
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
