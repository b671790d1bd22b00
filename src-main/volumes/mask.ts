/**
 * Bounding boxes of masks and label maps (x-fastest voxel arrays, dims [nx, ny, nz]): the one
 * implementation behind the pipeline's foreground box (inference/transforms.ts), Slicer's segment
 * extents (export/seg-nrrd.ts) and the crop the metrics work in (evaluation/metrics.ts).
 * Boxes are inclusive voxel indices.
 */
import type { Vec3 } from '../../src-shared/volume.js'

/** Inclusive voxel-index box: min[a] <= index[a] <= max[a]. */
export interface IndexBox {
  min: Vec3
  max: Vec3
}

/**
 * Box of the voxels with data[offset + voxel] > threshold (`offset` selects one channel of a
 * [C, Z, Y, X] buffer); null when there are none.
 */
export function maskBounds(data: ArrayLike<number>, dims: Vec3, threshold = 0, offset = 0): IndexBox | null {
  return rangeBounds(data, dims, threshold, Infinity, offset, 1)
}

/**
 * maskBounds looking only at every `step`-th voxel of each axis (a quick, coarse box: the body in
 * a CT for the localization grid). The true box may reach up to step - 1 voxels beyond it.
 */
export function sampledMaskBounds(data: ArrayLike<number>, dims: Vec3, threshold: number, step: number): IndexBox | null {
  return rangeBounds(data, dims, threshold, Infinity, 0, step)
}

/** Box of the voxels of an integer-valued map (labels) that hold exactly `value`; null when none. */
export function valueBounds(data: Uint8Array | Uint16Array | Int16Array | Int32Array, dims: Vec3, value: number): IndexBox | null {
  return rangeBounds(data, dims, value - 1, value, 0, 1)
}

/**
 * Box of the voxels with above < data[offset + voxel] <= atMost. Each row is reduced to its first
 * and last hit before it touches the box, so the voxel loop is two comparisons.
 */
function rangeBounds(data: ArrayLike<number>, dims: Vec3, above: number, atMost: number, offset: number, step: number): IndexBox | null {
  const [nx, ny, nz] = dims
  const min: Vec3 = [nx, ny, nz]
  const max: Vec3 = [-1, -1, -1]
  for (let k = 0; k < nz; k += step) {
    for (let j = 0; j < ny; j += step) {
      let first = -1
      let last = -1
      let idx = offset + nx * (j + ny * k)
      for (let i = 0; i < nx; i += step, idx += step) {
        const v = data[idx]
        if (v > above && v <= atMost) {
          if (first < 0) first = i
          last = i
        }
      }
      if (first >= 0) {
        if (first < min[0]) min[0] = first
        if (last > max[0]) max[0] = last
        if (j < min[1]) min[1] = j
        if (j > max[1]) max[1] = j
        if (k < min[2]) min[2] = k
        if (k > max[2]) max[2] = k
      }
    }
  }
  return max[0] < 0 ? null : { min, max }
}

/** Box of every non-zero value of a label map, in one pass; values absent from the map have none. */
export function labelBounds(data: Uint8Array, dims: Vec3): Map<number, IndexBox> {
  const [nx, ny, nz] = dims
  // per value: minX maxX minY maxY minZ maxZ (a table, not Map lookups, in the voxel loop)
  const t = new Int32Array(256 * 6)
  for (let v = 0; v < 256; v++) t.set([nx, -1, ny, -1, nz, -1], v * 6)
  let idx = 0
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, idx++) {
        const v = data[idx]
        if (v === 0) continue
        const b = v * 6
        if (i < t[b]) t[b] = i
        if (i > t[b + 1]) t[b + 1] = i
        if (j < t[b + 2]) t[b + 2] = j
        if (j > t[b + 3]) t[b + 3] = j
        if (k < t[b + 4]) t[b + 4] = k
        if (k > t[b + 5]) t[b + 5] = k
      }
    }
  }
  const out = new Map<number, IndexBox>()
  for (let v = 1; v < 256; v++) {
    const b = v * 6
    if (t[b + 1] >= 0) out.set(v, { min: [t[b], t[b + 2], t[b + 4]], max: [t[b + 1], t[b + 3], t[b + 5]] })
  }
  return out
}

/** The smallest box holding both (either may be missing). */
export function unionBounds(a: IndexBox | null | undefined, b: IndexBox | null | undefined): IndexBox | null {
  if (!a || !b) return a ?? b ?? null
  return {
    min: [Math.min(a.min[0], b.min[0]), Math.min(a.min[1], b.min[1]), Math.min(a.min[2], b.min[2])],
    max: [Math.max(a.max[0], b.max[0]), Math.max(a.max[1], b.max[1]), Math.max(a.max[2], b.max[2])],
  }
}
