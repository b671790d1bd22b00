/**
 * Tools are compositions of three small parts, in the spirit of Cornerstone's BrushStrategy:
 *   shape     — which voxels (circle on the view plane, sphere, rectangle)
 *   operation — what the voxel becomes (paint value, erase value)
 *   guards    — which voxels may change (locked labels never; threshold brush: HU in range)
 * `stamp` runs a shape through an operation and the guards into a PatchBuilder. All loops are over
 * the shape's bounding box only, so a dab costs what it touches, whatever the volume size.
 */
import { inBounds, planeAxes, type CtGrid, type LabelGrid, type Vec3 } from './grid.js'
import type { PatchBuilder } from './patch.js'

/** Calls visit(i, j, k) for every voxel inside the shape (already clipped to the grid). */
export interface Shape {
  forEach(dims: Vec3, visit: (i: number, j: number, k: number) => void): void
}

/** New value for a voxel currently holding `current`, or -1 to leave it. */
export type Operation = (current: number) => number

/** May this voxel change? `current` is its label, `offset` its index within slice k. */
export type Guard = (current: number, k: number, offset: number) => boolean

// ---- shapes ---------------------------------------------------------------------------------

/** A disc of radius `radiusMm` on the plane through `centre` perpendicular to index axis `normal`. */
export function circle(centre: Vec3, radiusMm: number, spacing: Vec3, normal: 0 | 1 | 2): Shape {
  const { u, v } = planeAxes(normal)
  return {
    forEach(dims, visit) {
      const w = Math.round(centre[normal])
      if (w < 0 || w >= dims[normal]) return
      const ru = radiusMm / spacing[u]
      const rv = radiusMm / spacing[v]
      const u0 = Math.max(0, Math.ceil(centre[u] - ru)), u1 = Math.min(dims[u] - 1, Math.floor(centre[u] + ru))
      const v0 = Math.max(0, Math.ceil(centre[v] - rv)), v1 = Math.min(dims[v] - 1, Math.floor(centre[v] + rv))
      const r2 = radiusMm * radiusMm
      const p: Vec3 = [0, 0, 0]
      p[normal] = w
      for (let b = v0; b <= v1; b++) {
        const dv = (b - centre[v]) * spacing[v]
        for (let a = u0; a <= u1; a++) {
          const du = (a - centre[u]) * spacing[u]
          if (du * du + dv * dv > r2) continue
          p[u] = a
          p[v] = b
          visit(p[0], p[1], p[2])
        }
      }
    },
  }
}

export function sphere(centre: Vec3, radiusMm: number, spacing: Vec3): Shape {
  return {
    forEach(dims, visit) {
      const lo = [0, 1, 2].map((a) => Math.max(0, Math.ceil(centre[a]! - radiusMm / spacing[a]!)))
      const hi = [0, 1, 2].map((a) => Math.min(dims[a]! - 1, Math.floor(centre[a]! + radiusMm / spacing[a]!)))
      const r2 = radiusMm * radiusMm
      for (let k = lo[2]!; k <= hi[2]!; k++) {
        const dk = (k - centre[2]) * spacing[2]
        for (let j = lo[1]!; j <= hi[1]!; j++) {
          const dj = (j - centre[1]) * spacing[1]
          for (let i = lo[0]!; i <= hi[0]!; i++) {
            const di = (i - centre[0]) * spacing[0]
            if (di * di + dj * dj + dk * dk <= r2) visit(i, j, k)
          }
        }
      }
    },
  }
}

/** Axis-aligned rectangle between two corners on the plane `normal` = round(a[normal]). */
export function rectangle(a: Vec3, b: Vec3, normal: 0 | 1 | 2): Shape {
  const { u, v } = planeAxes(normal)
  return {
    forEach(dims, visit) {
      const w = Math.round(a[normal])
      if (w < 0 || w >= dims[normal]) return
      const u0 = Math.max(0, Math.round(Math.min(a[u], b[u]))), u1 = Math.min(dims[u] - 1, Math.round(Math.max(a[u], b[u])))
      const v0 = Math.max(0, Math.round(Math.min(a[v], b[v]))), v1 = Math.min(dims[v] - 1, Math.round(Math.max(a[v], b[v])))
      const p: Vec3 = [0, 0, 0]
      p[normal] = w
      for (let y = v0; y <= v1; y++)
        for (let x = u0; x <= u1; x++) {
          p[u] = x
          p[v] = y
          visit(p[0], p[1], p[2])
        }
    },
  }
}

/** Every voxel of the plane `w` along index axis `normal` (the slice a 2-D shape is drawn on). */
export function plane(normal: 0 | 1 | 2, w: number): Shape {
  const { u, v } = planeAxes(normal)
  return {
    forEach(dims, visit) {
      const p: Vec3 = [0, 0, 0]
      p[normal] = Math.round(w)
      if (p[normal] < 0 || p[normal] >= dims[normal]) return
      for (let b = 0; b < dims[v]; b++)
        for (let a = 0; a < dims[u]; a++) {
          p[u] = a
          p[v] = b
          visit(p[0], p[1], p[2])
        }
    },
  }
}

export function wholeVolume(): Shape {
  return {
    forEach(dims, visit) {
      for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) visit(i, j, k)
    },
  }
}

/**
 * A 2D shape (a circle or rectangle drawn on one slice) repeated on every slice along `normal`: the
 * scissors "through the volume" cut, as Slicer's Scissors with an unlimited slab.
 */
export function prism(footprint: Shape, normal: 0 | 1 | 2): Shape {
  return {
    forEach(dims, visit) {
      const cells: Vec3[] = []
      footprint.forEach(dims, (i, j, k) => cells.push([i, j, k]))
      for (let w = 0; w < dims[normal]; w++) {
        for (const c of cells) {
          const p: Vec3 = [c[0], c[1], c[2]]
          p[normal] = w
          visit(p[0], p[1], p[2])
        }
      }
    },
  }
}

/** The voxels of `domain` that are not in `inner` (scissors "outside": the slice, or the volume for a sphere). */
export function outside(inner: Shape, domain: Shape): Shape {
  return {
    forEach(dims, visit) {
      const nx = dims[0], nxy = dims[0] * dims[1]
      const ins = new Set<number>()
      inner.forEach(dims, (i, j, k) => ins.add(i + nx * j + nxy * k))
      domain.forEach(dims, (i, j, k) => {
        if (!ins.has(i + nx * j + nxy * k)) visit(i, j, k)
      })
    },
  }
}

/** Explicit voxel list (results of fill, interpolation, island removal). */
export function voxels(list: ArrayLike<number>, dims: Vec3): Shape {
  return {
    forEach(_d, visit) {
      const nx = dims[0], nxy = dims[0] * dims[1]
      for (let n = 0; n < list.length; n++) {
        const idx = list[n]!
        const k = (idx / nxy) | 0
        const r = idx - k * nxy
        const j = (r / nx) | 0
        visit(r - j * nx, j, k)
      }
    },
  }
}

// ---- operations -----------------------------------------------------------------------------

export const paint = (value: number): Operation => (current) => (current === value ? -1 : value)
/** Erase only `value` (the active organ), leaving other organs as they are. */
export const erase = (value: number): Operation => (current) => (current === value ? 0 : -1)

// ---- guards ---------------------------------------------------------------------------------

export const unlocked = (locked: ReadonlySet<number>): Guard => (current) => !locked.has(current)

export function huRange(ct: CtGrid, lo: number, hi: number): Guard {
  const n = ct.dims[0] * ct.dims[1]
  return (_c, k, offset) => {
    const hu = ct.data[k * n + offset]!
    return hu >= lo && hu <= hi
  }
}

// ---- composition ----------------------------------------------------------------------------

export function stamp(grid: LabelGrid, shape: Shape, op: Operation, guards: readonly Guard[], out: PatchBuilder): void {
  const nx = grid.dims[0]
  shape.forEach(grid.dims, (i, j, k) => {
    if (!inBounds(grid.dims, i, j, k)) return
    const offset = i + nx * j
    const current = grid.slices[k]![offset]!
    const next = op(current)
    if (next < 0) return
    for (const g of guards) if (!g(current, k, offset)) return
    out.write(k, offset, next)
  })
}
