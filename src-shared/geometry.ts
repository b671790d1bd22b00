/**
 * The single place for index <-> world math. Everything else asks this module.
 * Conventions: see volume.ts (LPS, column j of `direction` = index axis j).
 */
import type { Geometry, Mat3, Vec3 } from './volume.js'

/** 3x4 row-major affine: world = A[:, :3] * ijk + A[:, 3]. */
export type Affine = [number, number, number, number, number, number, number, number, number, number, number, number]

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1]

export function mat3Mul(a: Mat3, b: Mat3): Mat3 {
  const r = new Array(9).fill(0) as Mat3
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j]
  return r
}

export function mat3Transpose(a: Mat3): Mat3 {
  return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]
}

export function mat3Det(a: Mat3): number {
  return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6])
}

export function mat3Inverse(a: Mat3): Mat3 {
  const d = mat3Det(a)
  if (!Number.isFinite(d) || Math.abs(d) < 1e-12) throw new Error('singular matrix')
  const inv = [
    a[4] * a[8] - a[5] * a[7], a[2] * a[7] - a[1] * a[8], a[1] * a[5] - a[2] * a[4],
    a[5] * a[6] - a[3] * a[8], a[0] * a[8] - a[2] * a[6], a[2] * a[3] - a[0] * a[5],
    a[3] * a[7] - a[4] * a[6], a[1] * a[6] - a[0] * a[7], a[0] * a[4] - a[1] * a[3],
  ]
  return inv.map((v) => v / d) as Mat3
}

export function mat3MulVec(a: Mat3, v: Vec3): Vec3 {
  return [a[0] * v[0] + a[1] * v[1] + a[2] * v[2], a[3] * v[0] + a[4] * v[1] + a[5] * v[2], a[6] * v[0] + a[7] * v[1] + a[8] * v[2]]
}

/** Column j of a row-major 3x3. */
export function column(a: Mat3, j: number): Vec3 {
  return [a[j], a[3 + j], a[6 + j]]
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

export function norm(a: Vec3): number {
  return Math.hypot(a[0], a[1], a[2])
}

/** index -> world affine of a geometry. */
export function indexToWorldAffine(g: Geometry): Affine {
  const d = g.direction
  const s = g.spacing
  const o = g.origin
  return [
    d[0] * s[0], d[1] * s[1], d[2] * s[2], o[0],
    d[3] * s[0], d[4] * s[1], d[5] * s[2], o[1],
    d[6] * s[0], d[7] * s[1], d[8] * s[2], o[2],
  ]
}

/** world -> (continuous) index affine of a geometry. */
export function worldToIndexAffine(g: Geometry): Affine {
  const a = indexToWorldAffine(g)
  const m = mat3Inverse([a[0], a[1], a[2], a[4], a[5], a[6], a[8], a[9], a[10]])
  const t: Vec3 = [a[3], a[7], a[11]]
  const mt = mat3MulVec(m, t)
  return [m[0], m[1], m[2], -mt[0], m[3], m[4], m[5], -mt[1], m[6], m[7], m[8], -mt[2]]
}

export function applyAffine(a: Affine, p: Vec3): Vec3 {
  return [
    a[0] * p[0] + a[1] * p[1] + a[2] * p[2] + a[3],
    a[4] * p[0] + a[5] * p[1] + a[6] * p[2] + a[7],
    a[8] * p[0] + a[9] * p[1] + a[10] * p[2] + a[11],
  ]
}

/** Composition: first `inner`, then `outer`. */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  const r = new Array(12).fill(0) as Affine
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      let v = outer[i * 4] * inner[j] + outer[i * 4 + 1] * inner[4 + j] + outer[i * 4 + 2] * inner[8 + j]
      if (j === 3) v += outer[i * 4 + 3]
      r[i * 4 + j] = v
    }
  }
  return r
}

export function indexToWorld(g: Geometry, ijk: Vec3): Vec3 {
  return applyAffine(indexToWorldAffine(g), ijk)
}

export function worldToIndex(g: Geometry, xyz: Vec3): Vec3 {
  return applyAffine(worldToIndexAffine(g), xyz)
}

/** 4x4 row-major RAS affine (NIfTI/nibabel) from an LPS geometry. */
export function rasAffine(g: Geometry): number[] {
  const a = indexToWorldAffine(g)
  return [-a[0], -a[1], -a[2], -a[3], -a[4], -a[5], -a[6], -a[7], a[8], a[9], a[10], a[11], 0, 0, 0, 1]
}

/**
 * Geometry from a 3x4 index->world affine in LPS. Spacing is the column norm; direction the
 * normalised column. Throws when the columns are not orthogonal (sheared grids are not images we
 * can edit voxel for voxel).
 */
export function geometryFromAffine(dims: Vec3, a: Affine): Geometry {
  const cols: Vec3[] = [0, 1, 2].map((j) => [a[j], a[4 + j], a[8 + j]] as Vec3)
  const spacing = cols.map(norm) as Vec3
  if (spacing.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`voxel spacing is zero or not a number (${spacing.join(', ')})`)
  const dirCols = cols.map((c, j) => c.map((v) => v / spacing[j]) as Vec3)
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      if (Math.abs(dot(dirCols[i], dirCols[j])) > 1e-4) throw new Error('the voxel axes are not perpendicular (sheared affine)')
    }
  }
  const direction: Mat3 = [
    dirCols[0][0], dirCols[1][0], dirCols[2][0],
    dirCols[0][1], dirCols[1][1], dirCols[2][1],
    dirCols[0][2], dirCols[1][2], dirCols[2][2],
  ]
  return { dims, spacing, origin: [a[3], a[7], a[11]], direction }
}

/**
 * Orientation code as ITK/DICOM tools print it: for each index axis, the LPS letter it points
 * *towards* along its dominant world axis, e.g. 'LPS' or 'RAS'. (nibabel's aff2axcodes gives the
 * same letters for the same axes.)
 */
export function orientationCode(direction: Mat3): string {
  const pos = ['L', 'P', 'S']
  const neg = ['R', 'A', 'I']
  let code = ''
  for (let j = 0; j < 3; j++) {
    const c = column(direction, j)
    let best = 0
    for (let i = 1; i < 3; i++) if (Math.abs(c[i]) > Math.abs(c[best])) best = i
    code += c[best] >= 0 ? pos[best] : neg[best]
  }
  return code
}

/** True when `direction` is the identity within `tol`. */
export function isIdentityDirection(direction: Mat3, tol = 1e-6): boolean {
  return direction.every((v, i) => Math.abs(v - IDENTITY3[i]) <= tol)
}

/** Whether two geometries describe the same voxel grid (same dims; origin/spacing/direction within tol). */
export function sameGrid(a: Geometry, b: Geometry, tolMm = 1e-3): boolean {
  if (a.dims.some((d, i) => d !== b.dims[i])) return false
  if (a.spacing.some((s, i) => Math.abs(s - b.spacing[i]) > tolMm)) return false
  if (a.origin.some((o, i) => Math.abs(o - b.origin[i]) > tolMm)) return false
  return a.direction.every((d, i) => Math.abs(d - b.direction[i]) < 1e-5)
}

/**
 * When `src` and `dst` hold the same voxels in another axis order or direction (a signed axis
 * permutation: a label map written by another tool, RAS against LPS, slices stored foot-first):
 * where `dst` voxel (0,0,0) is in `src` (flat index) and the flat `src` step of one `dst` step
 * along each axis. Null when the lattices differ in any other way (spacing, shift, size, tilt),
 * where voxels cannot be matched without interpolating; every voxel centre, the far corner
 * included, must land on a `src` centre within `tolVox`.
 */
export function sameLatticeMap(src: Geometry, dst: Geometry, tolVox = 1e-3): { start: number; step: Vec3; identity: boolean } | null {
  const m = composeAffine(worldToIndexAffine(src), indexToWorldAffine(dst)) // dst index -> src index
  const stride = [1, src.dims[0], src.dims[0] * src.dims[1]]
  const step: Vec3 = [0, 0, 0]
  const used = [false, false, false]
  for (let j = 0; j < 3; j++) {
    let axis = -1
    for (let i = 0; i < 3; i++) {
      const v = m[i * 4 + j]
      if (Math.abs(Math.abs(v) - 1) <= tolVox) {
        if (axis >= 0) return null
        axis = i
      } else if (Math.abs(v) > tolVox) return null
    }
    if (axis < 0 || used[axis] || src.dims[axis] !== dst.dims[j]) return null
    used[axis] = true
    step[j] = Math.sign(m[axis * 4 + j]) * stride[axis]
  }
  // both corners on src voxel centres, and together spanning src exactly (no drift across the grid)
  const near = [m[3], m[7], m[11]]
  const far = applyAffine(m, [dst.dims[0] - 1, dst.dims[1] - 1, dst.dims[2] - 1])
  for (let i = 0; i < 3; i++) {
    if (Math.abs(near[i] - Math.round(near[i])) > tolVox || Math.abs(far[i] - Math.round(far[i])) > tolVox) return null
    if (Math.min(Math.round(near[i]), Math.round(far[i])) !== 0 || Math.max(Math.round(near[i]), Math.round(far[i])) !== src.dims[i] - 1) return null
  }
  const start = Math.round(near[0]) * stride[0] + Math.round(near[1]) * stride[1] + Math.round(near[2]) * stride[2]
  return { start, step, identity: start === 0 && step[0] === stride[0] && step[1] === stride[1] && step[2] === stride[2] }
}

/** `src`'s voxels in `dst`'s order (x fastest) for a map from sameLatticeMap: an exact copy, no interpolation. */
export function copyOntoLattice<T extends ArrayLike<number> & { length: number }>(data: T, map: { start: number; step: Vec3 }, dstDims: Vec3, out: { [i: number]: number }): void {
  let o = 0
  for (let k = 0; k < dstDims[2]; k++) {
    for (let j = 0; j < dstDims[1]; j++) {
      let p = map.start + j * map.step[1] + k * map.step[2]
      for (let i = 0; i < dstDims[0]; i++, p += map.step[0]) out[o++] = data[p]
    }
  }
}

/** World-space (LPS) axis-aligned bounding box of all voxel centres. */
export function worldBounds(g: Geometry): { min: Vec3; max: Vec3 } {
  const a = indexToWorldAffine(g)
  const min: Vec3 = [Infinity, Infinity, Infinity]
  const max: Vec3 = [-Infinity, -Infinity, -Infinity]
  for (let c = 0; c < 8; c++) {
    const p = applyAffine(a, [c & 1 ? g.dims[0] - 1 : 0, c & 2 ? g.dims[1] - 1 : 0, c & 4 ? g.dims[2] - 1 : 0])
    for (let i = 0; i < 3; i++) {
      min[i] = Math.min(min[i], p[i])
      max[i] = Math.max(max[i], p[i])
    }
  }
  return { min, max }
}

/** Rotation about an axis (unit vector) by `radians`, row-major. Used to build oblique test grids. */
export function rotationMatrix(axis: Vec3, radians: number): Mat3 {
  const n = norm(axis)
  const [x, y, z] = axis.map((v) => v / n)
  const c = Math.cos(radians)
  const s = Math.sin(radians)
  const t = 1 - c
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c]
}

// ---------------------------------------------------------------------------------------------
// What the viewer asks of a grid (Cornerstone's layout, per-slice positions, view orientation).

/** LPS direction of index axis j (column j of the direction matrix). */
export function axisDirection(g: Geometry, j: 0 | 1 | 2): Vec3 {
  return column(g.direction, j)
}

/** Cornerstone/vtk direction: the three index-axis vectors one after another. */
export function cornerstoneDirection(g: Geometry): number[] {
  return [...axisDirection(g, 0), ...axisDirection(g, 1), ...axisDirection(g, 2)]
}

/** World position (LPS mm) of the first voxel of slice k (DICOM ImagePositionPatient). */
export function sliceOrigin(g: Geometry, k: number): Vec3 {
  return indexToWorld(g, [0, 0, k])
}

/** The index axis most aligned with a world direction (e.g. a view's plane normal). */
export function dominantIndexAxis(g: Geometry, worldDir: Vec3): 0 | 1 | 2 {
  let best: 0 | 1 | 2 = 0
  let bestDot = -1
  for (const j of [0, 1, 2] as const) {
    const d = Math.abs(dot(axisDirection(g, j), worldDir))
    if (d > bestDot) {
      bestDot = d
      best = j
    }
  }
  return best
}

/** Patient-direction letter (L/R, P/A, S/I) a world (LPS) vector points towards: its dominant axis and sign. */
export function orientationLetter(v: Vec3): string {
  const ax = [Math.abs(v[0]), Math.abs(v[1]), Math.abs(v[2])]
  const m = ax.indexOf(Math.max(...ax))
  const pos = v[m]! > 0
  return m === 0 ? (pos ? 'L' : 'R') : m === 1 ? (pos ? 'P' : 'A') : pos ? 'S' : 'I'
}
