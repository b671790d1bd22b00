/**
 * Segmentation metrics (per label): Dice, normalised surface distance (NSD) at a tolerance, and
 * volume difference. The definitions are shared with training/scn/metrics.py (tests compare the
 * two on the same masks), so that the app's QA panel, `scn-studio evaluate` and training validation
 * report the same numbers.
 *
 * - Dice = 2|A∩B| / (|A|+|B|); both empty -> 1.
 * - Border voxels of a mask: voxels of the mask with a 6-neighbour outside it (or outside the grid).
 *   NSD = (#{a ∈ ∂A : d(a, ∂B) ≤ t} + #{b ∈ ∂B : d(b, ∂A) ≤ t}) / (|∂A| + |∂B|), d the exact Euclidean
 *   distance in mm between voxel centres. Both empty -> 1; exactly one empty -> 0. FLARE21 used
 *   DeepMind's surface-distance code, which weights surface elements by area; this voxel-count form
 *   is the usual simplification (MONAI compute_surface_dice with use_subvoxels=False).
 * - Volume difference = (|A| - |B|) × voxel volume, mL (A = prediction, B = truth).
 */
import { unionBounds, valueBounds } from '../volumes/mask.js'
import type { Vec3 } from '../../src-shared/volume.js'

export interface LabelMetrics {
  label: number
  dice: number
  nsd: number
  toleranceMm: number
  volumePredMl: number
  volumeTruthMl: number
  volumeDiffMl: number
}

interface Box {
  lo: Vec3
  hi: Vec3 // exclusive
}

/** Bounding box of voxels where pred === label or truth === label; null when neither has any. */
function unionBox(pred: Uint8Array, truth: Uint8Array, dims: Vec3, label: number): Box | null {
  const b = unionBounds(valueBounds(pred, dims, label), valueBounds(truth, dims, label))
  return b && { lo: b.min, hi: [b.max[0] + 1, b.max[1] + 1, b.max[2] + 1] }
}

function cropMask(src: Uint8Array, dims: Vec3, box: Box, label: number): Uint8Array {
  const [sx, sy, sz] = [box.hi[0] - box.lo[0], box.hi[1] - box.lo[1], box.hi[2] - box.lo[2]]
  const out = new Uint8Array(sx * sy * sz)
  let o = 0
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      let i = box.lo[0] + dims[0] * (box.lo[1] + y + dims[1] * (box.lo[2] + z))
      for (let x = 0; x < sx; x++, i++, o++) out[o] = src[i] === label ? 1 : 0
    }
  }
  return out
}

/** Border voxels (6-connectivity; the grid edge counts as outside). */
export function borderMask(mask: Uint8Array, dims: Vec3): Uint8Array {
  const [nx, ny, nz] = dims
  const out = new Uint8Array(mask.length)
  const sxy = nx * ny
  let i = 0
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!mask[i]) continue
        if (x === 0 || x === nx - 1 || y === 0 || y === ny - 1 || z === 0 || z === nz - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - nx] || !mask[i + nx] || !mask[i - sxy] || !mask[i + sxy]) out[i] = 1
      }
    }
  }
  return out
}

const INF = 1e20

/** 1-D squared distance transform (Felzenszwalb & Huttenlocher) of f sampled every `step` mm. */
function edt1d(f: Float64Array, n: number, step: number, d: Float64Array, v: Int32Array, zb: Float64Array): void {
  let k = 0
  v[0] = 0
  zb[0] = -INF
  zb[1] = INF
  for (let q = 1; q < n; q++) {
    if (f[q] >= INF) continue
    if (f[v[0]] >= INF) {
      v[0] = q
      continue
    }
    let s: number
    for (;;) {
      const p = v[k]
      const qp = q * step
      const pp = p * step
      s = (f[q] + qp * qp - (f[p] + pp * pp)) / (2 * (qp - pp))
      if (s <= zb[k] && k > 0) k--
      else break
    }
    k++
    v[k] = q
    zb[k] = s
    zb[k + 1] = INF
  }
  if (f[v[0]] >= INF) {
    for (let q = 0; q < n; q++) d[q] = INF
    return
  }
  k = 0
  for (let q = 0; q < n; q++) {
    const qp = q * step
    while (zb[k + 1] < qp) k++
    const dp = qp - v[k] * step
    d[q] = dp * dp + f[v[k]]
  }
}

/** Squared Euclidean distance (mm²) from every voxel to the nearest voxel with seed[i] !== 0. */
export function squaredDistanceTo(seed: Uint8Array, dims: Vec3, spacing: Vec3): Float64Array {
  const [nx, ny, nz] = dims
  const g = new Float64Array(seed.length)
  for (let i = 0; i < seed.length; i++) g[i] = seed[i] ? 0 : INF
  const n = Math.max(nx, ny, nz)
  const f = new Float64Array(n)
  const d = new Float64Array(n)
  const v = new Int32Array(n)
  const zb = new Float64Array(n + 1)
  const pass = (len: number, stride: number, starts: Iterable<number>, step: number) => {
    for (const s0 of starts) {
      for (let q = 0; q < len; q++) f[q] = g[s0 + q * stride]
      edt1d(f, len, step, d, v, zb)
      for (let q = 0; q < len; q++) g[s0 + q * stride] = d[q] >= INF ? INF : d[q]
    }
  }
  function* lines(a: number, b: number, sa: number, sb: number) {
    for (let j = 0; j < b; j++) for (let i = 0; i < a; i++) yield i * sa + j * sb
  }
  pass(nx, 1, lines(ny, nz, nx, nx * ny), spacing[0])
  pass(ny, nx, lines(nx, nz, 1, nx * ny), spacing[1])
  pass(nz, nx * ny, lines(nx, ny, 1, nx), spacing[2])
  return g
}

export function maskDice(a: Uint8Array, b: Uint8Array): number {
  let sa = 0
  let sb = 0
  let both = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i]) sa++
    if (b[i]) sb++
    if (a[i] && b[i]) both++
  }
  return sa + sb === 0 ? 1 : (2 * both) / (sa + sb)
}

/** NSD of two 0/1 masks on the same grid. */
export function maskNsd(a: Uint8Array, b: Uint8Array, dims: Vec3, spacing: Vec3, toleranceMm: number): number {
  let anyA = false
  let anyB = false
  for (let i = 0; i < a.length && !(anyA && anyB); i++) {
    if (a[i]) anyA = true
    if (b[i]) anyB = true
  }
  if (!anyA && !anyB) return 1
  if (!anyA || !anyB) return 0
  const ba = borderMask(a, dims)
  const bb = borderMask(b, dims)
  const dToB = squaredDistanceTo(bb, dims, spacing)
  const dToA = squaredDistanceTo(ba, dims, spacing)
  const t2 = toleranceMm * toleranceMm
  let ok = 0
  let total = 0
  for (let i = 0; i < a.length; i++) {
    if (ba[i]) {
      total++
      if (dToB[i] <= t2 + 1e-9) ok++
    }
    if (bb[i]) {
      total++
      if (dToA[i] <= t2 + 1e-9) ok++
    }
  }
  return ok / total
}

/** Metrics for each label value, on label maps that share one grid (data x-fastest, dims [nx,ny,nz]). */
export function evaluateLabels(
  pred: Uint8Array,
  truth: Uint8Array,
  dims: Vec3,
  spacing: Vec3,
  labels: readonly number[],
  toleranceMm = 1,
): LabelMetrics[] {
  if (pred.length !== truth.length || pred.length !== dims[0] * dims[1] * dims[2]) {
    throw new Error(`evaluate: label maps of ${pred.length} and ${truth.length} voxels do not match the grid ${dims.join('x')}`)
  }
  const voxelMl = (spacing[0] * spacing[1] * spacing[2]) / 1000
  return labels.map((label) => {
    let np = 0
    let nt = 0
    for (let i = 0; i < pred.length; i++) {
      if (pred[i] === label) np++
      if (truth[i] === label) nt++
    }
    const box = unionBox(pred, truth, dims, label)
    let dice = 1
    let nsd = 1
    if (box) {
      const bd: Vec3 = [box.hi[0] - box.lo[0], box.hi[1] - box.lo[1], box.hi[2] - box.lo[2]]
      const a = cropMask(pred, dims, box, label)
      const b = cropMask(truth, dims, box, label)
      dice = maskDice(a, b)
      nsd = maskNsd(a, b, bd, spacing, toleranceMm)
    }
    return { label, dice, nsd, toleranceMm, volumePredMl: np * voxelMl, volumeTruthMl: nt * voxelMl, volumeDiffMl: (np - nt) * voxelMl }
  })
}

/** 'a:b,c:d' -> lookup table; values not listed map to 0. */
export function parseLabelMap(text: string): Map<number, number> {
  const m = new Map<number, number>()
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const hit = /^(\d+):(\d+)$/.exec(part)
    if (!hit) throw new Error(`label map entry "${part}" is not of the form source:target (whole numbers)`)
    m.set(Number(hit[1]), Number(hit[2]))
  }
  return m
}

export function applyLabelMap(data: Uint8Array, map: Map<number, number>): Uint8Array {
  const lut = new Uint8Array(256)
  for (const [a, b] of map) if (a < 256) lut[a] = b
  const out = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = lut[data[i]]
  return out
}
