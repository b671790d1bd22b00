/**
 * The labelmap as tools see it: one Uint8Array per axial slice (k), x fastest within a slice.
 * This is exactly how Cornerstone's derived labelmap volume stores its data (one image per slice),
 * so tools write straight into the arrays the renderer uploads — no whole-volume copies per edit.
 * Framework-free: unit tests build a grid over plain arrays.
 */
import type { Vec3 } from '../../src-shared/volume.js'
export type { Vec3 }

export interface LabelGrid {
  dims: Vec3
  /** mm per voxel along i, j, k */
  spacing: Vec3
  /** slices[k][i + nx*j] */
  slices: Uint8Array[]
}

/** Read-only CT intensities on the same grid (x fastest, contiguous). */
export interface CtGrid {
  dims: Vec3
  data: Int16Array | Float32Array
}

export function gridFromArray(dims: Vec3, spacing: Vec3, data: Uint8Array): LabelGrid {
  const n = dims[0] * dims[1]
  const slices: Uint8Array[] = []
  for (let k = 0; k < dims[2]; k++) slices.push(data.subarray(k * n, (k + 1) * n))
  return { dims, spacing, slices }
}

/** A contiguous copy (for the worker, saving, and tests). */
export function gridToArray(g: LabelGrid): Uint8Array {
  const n = g.dims[0] * g.dims[1]
  const out = new Uint8Array(n * g.dims[2])
  g.slices.forEach((s, k) => out.set(s, k * n))
  return out
}

export function voxelIndex(g: { dims: Vec3 }, i: number, j: number, k: number): number {
  return i + g.dims[0] * (j + g.dims[1] * k)
}

export function getLabel(g: LabelGrid, i: number, j: number, k: number): number {
  return g.slices[k]![i + g.dims[0] * j]!
}

export function countValue(g: LabelGrid, value: number): number {
  let c = 0
  for (const s of g.slices) for (let x = 0; x < s.length; x++) if (s[x] === value) c++
  return c
}

/**
 * The three index axes of a view: `normal` is the index axis most aligned with the view's plane
 * normal; `u`, `v` are the two in-plane axes.
 */
export interface PlaneAxes {
  normal: 0 | 1 | 2
  u: 0 | 1 | 2
  v: 0 | 1 | 2
}

export function planeAxes(normal: 0 | 1 | 2): PlaneAxes {
  const others = ([0, 1, 2] as const).filter((a) => a !== normal) as (0 | 1 | 2)[]
  return { normal, u: others[0]!, v: others[1]! }
}

export function inBounds(dims: Vec3, i: number, j: number, k: number): boolean {
  return i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2]
}
