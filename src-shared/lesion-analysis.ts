/**
 * Lesion analysis of one label value of a labelmap: its connected components ("lesions"), each with
 * volume, mean HU, centroid and RECIST-style axial diameters. Framework-free and without Node
 * built-ins: the main side's exports (lesions.csv) and the page use the same code.
 *
 * Conventions (the numbers a reader of lesions.csv needs to know):
 *
 *  - Connectivity: 6 (face neighbours) by default. That is what 3D Slicer's Islands effect uses
 *    (vtkITKIslandMath with SetFullyConnected(False)) and ITK's ConnectedComponentImageFilter's
 *    default, so a lesion count here matches the islands a user sees there; two blobs that touch only
 *    along an edge or at a corner are two lesions. `opts.connectivity: 26` joins them (what cc3d and
 *    Slicer's "fully connected" option do).
 *
 *  - Axial: the index axis whose direction (a column of geometry.direction) is closest to world z
 *    (`axialAxisOf`). Diameters are measured in the acquired slices of that axis, as a radiologist
 *    measures on the axial images, even on a tilted (oblique) grid. Distances are world millimetres:
 *    the in-plane axes' spacings, which the direction matrix (orthonormal columns, geometry.ts
 *    refuses sheared grids) leaves unchanged, so a flipped or permuted direction gives the same
 *    figures.
 *
 *  - Long axis (per slice): the longest segment between two voxel centres of the component on that
 *    slice, i.e. the diameter of the convex hull of those centres. Reported for the slice where it
 *    is longest (ties: the larger perpendicular, then the lower slice index).
 *
 *  - Perpendicular: the longest chord of that same convex hull exactly perpendicular to the long
 *    axis (the hull's chord length along v is a concave piecewise-linear function of the position
 *    along the long axis, so its maximum is at a hull vertex and is found exactly, with no angle
 *    tolerance). Like a caliper, for a concave lesion the chord may cross outside it. When several
 *    pairs tie for the long axis, the one with the longest perpendicular is taken, so the result
 *    does not depend on voxel order.
 *
 *  - Edge to edge: a caliper on the painted mask reads from the outer edge of the first voxel to the
 *    outer edge of the last, so both diameters are reported as the centre-to-centre length plus one
 *    voxel spacing along the measured direction u, s(u) = 1 / sqrt((u_a/s_a)^2 + (u_b/s_b)^2)
 *    (exactly the spacing along an index axis; the in-plane spacing in every direction on square
 *    pixels). Centre-to-centre lengths alone fall short of a drawn ellipse's diameters by about a
 *    voxel on average and by up to two. With the added voxel, in simulations of ~900 random
 *    ellipses/ellipsoids at 0.8x0.8x2.5 mm (axis-aligned and rotated in plane) the long axis was
 *    always within one voxel of 2a (-0.8 to +1.0) and the perpendicular within one voxel of 2b in
 *    all but a few near-circular ones (at most +1.08: there the long axis may point anywhere, and the
 *    chord perpendicular to it is longer than the minor axis). We do not add the staircase corners
 *    that stick out along oblique lines (a caliper from corner to corner, up to sqrt(2) voxels): on
 *    simulated discs that read about a voxel too long on average, up to 1.3. Hence a single voxel
 *    measures one spacing by the other (long = the larger in-plane spacing, perpendicular = the
 *    smaller), and a one-voxel-thick line has a perpendicular of one voxel.
 *
 * Performance: one pass over the labelmap finds runs of `value` along x (TypedArray.indexOf skips
 * everything else natively), runs are joined with union-find, and every later step touches runs or
 * the component's own voxels only. 512x512x300 with a few lesions: see bench/lesion-analysis-bench.ts.
 */
import { dominantIndexAxis, indexToWorldAffine, applyAffine } from './geometry.js'
import type { Geometry, Vec3 } from './volume.js'

export type LesionConnectivity = 6 | 26

export interface LesionAnalysisOptions {
  /** 6 (face neighbours, default; Slicer's Islands) or 26 (face, edge and corner neighbours) */
  connectivity?: LesionConnectivity
  /** components with fewer voxels are left out (default 1: every component) */
  minVoxels?: number
}

export interface LesionRecord {
  /** 1-based lesion number K, in the order of the list (volume descending) */
  index: number
  voxels: number
  volumeMl: number
  /** RECIST long axis on `sliceIndex`, edge to edge, mm */
  longestAxialMm: number
  /** longest diameter perpendicular to the long axis on the same slice, edge to edge, mm */
  perpendicularMm: number
  /** mean CT value inside the component; null when no CT was given */
  meanHu: number | null
  /** the index axis the slices are taken across (the one closest to world z) */
  axialAxis: 0 | 1 | 2
  /** 0-based index along `axialAxis` of the slice the diameters were measured on */
  sliceIndex: number
  /** mean voxel index of the component (fractional) */
  centroidVoxel: Vec3
  /** world (LPS, mm) position of the centroid */
  centroidLps: Vec3
  /** inclusive voxel-index box */
  boundingBox: { min: Vec3; max: Vec3 }
  /** the long axis as drawn by a caliper: LPS end points `longestAxialMm` apart */
  longAxisLps: [Vec3, Vec3]
  /** the perpendicular as drawn by a caliper: LPS end points `perpendicularMm` apart */
  perpendicularLps: [Vec3, Vec3]
}

/** The index axis whose direction is closest to world z (the axis slices are stacked along). */
export function axialAxisOf(geometry: Geometry): 0 | 1 | 2 {
  return dominantIndexAxis(geometry, [0, 0, 1])
}

/** Growable Int32 column. */
class IntList {
  a: Int32Array
  n = 0
  constructor(capacity = 1024) {
    this.a = new Int32Array(capacity)
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[this.n++] = v
  }
}

/**
 * The connected components of the voxels equal to `value`, largest first (see the module comment
 * for the conventions). `ct` (same voxel count) gives the mean HU; null leaves meanHu null.
 * An empty label gives []. Throws a RangeError for a value outside 1-255 or arrays that do not
 * match geometry.dims.
 */
export function analyseLesions(labels: Uint8Array, ct: Int16Array | Float32Array | null, geometry: Geometry, value: number, opts: LesionAnalysisOptions = {}): LesionRecord[] {
  const [nx, ny, nz] = geometry.dims
  const n = nx * ny * nz
  if (!Number.isInteger(value) || value < 1 || value > 255) throw new RangeError(`lesion analysis: label value ${value} is not 1-255`)
  if (labels.length !== n) throw new RangeError(`lesion analysis: the labelmap has ${labels.length} voxels, its grid ${nx}x${ny}x${nz} = ${n}`)
  if (ct && ct.length !== n) throw new RangeError(`lesion analysis: the CT has ${ct.length} voxels, the labelmap ${n}`)
  const connectivity = opts.connectivity ?? 6
  if (connectivity !== 6 && connectivity !== 26) throw new RangeError(`lesion analysis: connectivity ${String(connectivity)} is not 6 or 26`)
  const minVoxels = Math.max(1, opts.minVoxels ?? 1)

  // 1. Runs of `value` along x, in scan order (row = j + k*ny), with union-find over runs.
  const rows = ny * nz
  const rowStart = new Int32Array(rows).fill(-1) // first run of a row (a row's runs are consecutive)
  const rowCount = new Int32Array(rows)
  const runRow = new IntList()
  const runS = new IntList()
  const runE = new IntList()
  let parent = new Int32Array(1024)
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]]
      x = parent[x]
    }
    return x
  }
  const union = (a: number, b: number): void => {
    const ra = find(a)
    const rb = find(b)
    if (ra < rb) parent[rb] = ra
    else if (rb < ra) parent[ra] = rb
  }
  const slack = connectivity === 26 ? 1 : 0
  /** Joins run r (already pushed, in row `row`) with the overlapping runs of an earlier row. */
  const joinRow = (r: number, other: number): void => {
    const first = rowStart[other]
    if (first < 0) return
    const last = first + rowCount[other]
    const s = runS.a[r] - slack
    const e = runE.a[r] + slack
    for (let q = first; q < last; q++) {
      if (runS.a[q] > e) break
      if (runE.a[q] >= s) union(r, q)
    }
  }

  let pos = labels.indexOf(value)
  while (pos >= 0) {
    const row = Math.floor(pos / nx)
    const base = row * nx
    const s = pos - base
    let e = s
    while (e + 1 < nx && labels[base + e + 1] === value) e++
    const r = runRow.n
    runRow.push(row)
    runS.push(s)
    runE.push(e)
    if (r >= parent.length) {
      const p = new Int32Array(parent.length * 2)
      p.set(parent)
      parent = p
    }
    parent[r] = r
    if (rowStart[row] < 0) rowStart[row] = r
    rowCount[row]++
    const j = row % ny
    const k = (row - j) / ny
    if (j > 0) joinRow(r, row - 1)
    if (k > 0) {
      joinRow(r, row - ny)
      if (connectivity === 26) {
        if (j > 0) joinRow(r, row - ny - 1)
        if (j + 1 < ny) joinRow(r, row - ny + 1)
      }
    }
    pos = base + e + 1 < n ? labels.indexOf(value, base + e + 1) : -1
  }
  const nRuns = runRow.n
  if (nRuns === 0) return []

  // 2. Components: root -> dense id; per-component sums over runs (and over voxels for HU).
  const comp = new Int32Array(nRuns)
  const idOfRoot = new Int32Array(nRuns).fill(-1)
  let nComp = 0
  for (let r = 0; r < nRuns; r++) {
    const root = find(r)
    if (idOfRoot[root] < 0) idOfRoot[root] = nComp++
    comp[r] = idOfRoot[root]
  }
  const voxels = new Float64Array(nComp)
  const sumI = new Float64Array(nComp)
  const sumJ = new Float64Array(nComp)
  const sumK = new Float64Array(nComp)
  const sumHu = new Float64Array(nComp)
  const bmin = new Int32Array(nComp * 3).fill(2 ** 30)
  const bmax = new Int32Array(nComp * 3).fill(-1)
  for (let r = 0; r < nRuns; r++) {
    const c = comp[r]
    const row = runRow.a[r]
    const s = runS.a[r]
    const e = runE.a[r]
    const j = row % ny
    const k = (row - j) / ny
    const len = e - s + 1
    voxels[c] += len
    sumI[c] += (len * (s + e)) / 2
    sumJ[c] += len * j
    sumK[c] += len * k
    if (s < bmin[c * 3]) bmin[c * 3] = s
    if (e > bmax[c * 3]) bmax[c * 3] = e
    if (j < bmin[c * 3 + 1]) bmin[c * 3 + 1] = j
    if (j > bmax[c * 3 + 1]) bmax[c * 3 + 1] = j
    if (k < bmin[c * 3 + 2]) bmin[c * 3 + 2] = k
    if (k > bmax[c * 3 + 2]) bmax[c * 3 + 2] = k
    if (ct) {
      const base = row * nx
      let acc = 0
      for (let x = base + s; x <= base + e; x++) acc += ct[x]
      sumHu[c] += acc
    }
  }

  // runs grouped by component, scan order kept (counting sort)
  const compStart = new Int32Array(nComp + 1)
  for (let r = 0; r < nRuns; r++) compStart[comp[r] + 1]++
  for (let c = 0; c < nComp; c++) compStart[c + 1] += compStart[c]
  const byComp = new Int32Array(nRuns)
  const fill = compStart.slice(0, nComp)
  for (let r = 0; r < nRuns; r++) byComp[fill[comp[r]]++] = r

  const axial = axialAxisOf(geometry)
  const sp = geometry.spacing
  const affine = indexToWorldAffine(geometry)
  const voxelMl = (sp[0] * sp[1] * sp[2]) / 1000
  // in-plane axes: R (the slower of the two in scan order) and C (the faster)
  const axisR = axial === 2 ? 1 : 2
  const axisC = axial === 0 ? 1 : 0
  const sR = sp[axisR]
  const sC = sp[axisC]

  const out: (LesionRecord & { first: number })[] = []
  for (let c = 0; c < nComp; c++) {
    if (voxels[c] < minVoxels) continue
    const best = measureComponent(byComp.subarray(compStart[c], compStart[c + 1]), axial, sR, sC, ny, runRow.a, runS.a, runE.a)
    const toIjk = (slice: number, r: number, cc: number): Vec3 => {
      const ijk: Vec3 = [0, 0, 0]
      ijk[axial] = slice
      ijk[axisR] = r
      ijk[axisC] = cc
      return ijk
    }
    const ends = (seg: Segment): [Vec3, Vec3] => [applyAffine(affine, toIjk(best.slice, seg[0] / sR, seg[1] / sC)), applyAffine(affine, toIjk(best.slice, seg[2] / sR, seg[3] / sC))]
    const centroidVoxel: Vec3 = [sumI[c] / voxels[c], sumJ[c] / voxels[c], sumK[c] / voxels[c]]
    out.push({
      index: 0,
      voxels: voxels[c],
      volumeMl: voxels[c] * voxelMl,
      longestAxialMm: best.long,
      perpendicularMm: best.perp,
      meanHu: ct ? sumHu[c] / voxels[c] : null,
      axialAxis: axial,
      sliceIndex: best.slice,
      centroidVoxel,
      centroidLps: applyAffine(affine, centroidVoxel),
      boundingBox: { min: [bmin[c * 3], bmin[c * 3 + 1], bmin[c * 3 + 2]], max: [bmax[c * 3], bmax[c * 3 + 1], bmax[c * 3 + 2]] },
      longAxisLps: ends(best.longSeg),
      perpendicularLps: ends(best.perpSeg),
      first: byComp[compStart[c]],
    })
  }
  out.sort((a, b) => b.voxels - a.voxels || a.first - b.first)
  return out.map(({ first: _first, ...rec }, i) => ({ ...rec, index: i + 1 }))
}

/** A caliper segment in in-plane millimetres: [R0, C0, R1, C1] (R = r*sR, C = c*sC). */
type Segment = [number, number, number, number]

interface SliceMeasure {
  slice: number
  long: number
  perp: number
  longSeg: Segment
  perpSeg: Segment
}

const EPS = 1e-6

/**
 * The best slice of one component: its runs (scan order) are spread over slices of the axial axis
 * as in-plane points (r, c) that arrive sorted by (r, c) within each slice, which is the order the
 * monotone-chain hull wants, so no sort is needed.
 */
function measureComponent(runs: Int32Array, axial: 0 | 1 | 2, sR: number, sC: number, ny: number, runRow: Int32Array, runS: Int32Array, runE: Int32Array): SliceMeasure {
  // points per slice: slice, r, c (as flat lists), bucketed by slice with a stable counting sort
  const ptSlice = new IntList(64)
  const ptR = new IntList(64)
  const ptC = new IntList(64)
  for (let q = 0; q < runs.length; q++) {
    const run = runs[q]
    const row = runRow[run]
    const j = row % ny
    const k = (row - j) / ny
    const s = runS[run]
    const e = runE[run]
    if (axial === 0) {
      for (let x = s; x <= e; x++) {
        ptSlice.push(x)
        ptR.push(k)
        ptC.push(j)
      }
    } else {
      const slice = axial === 2 ? k : j
      const r = axial === 2 ? j : k
      ptSlice.push(slice)
      ptR.push(r)
      ptC.push(s)
      if (e !== s) {
        ptSlice.push(slice)
        ptR.push(r)
        ptC.push(e)
      }
    }
  }
  let lo = Infinity
  let hi = -Infinity
  for (let p = 0; p < ptSlice.n; p++) {
    if (ptSlice.a[p] < lo) lo = ptSlice.a[p]
    if (ptSlice.a[p] > hi) hi = ptSlice.a[p]
  }
  const span = hi - lo + 1
  const start = new Int32Array(span + 1)
  for (let p = 0; p < ptSlice.n; p++) start[ptSlice.a[p] - lo + 1]++
  for (let s = 0; s < span; s++) start[s + 1] += start[s]
  const order = new Int32Array(ptSlice.n)
  const fill = start.slice(0, span)
  for (let p = 0; p < ptSlice.n; p++) order[fill[ptSlice.a[p] - lo]++] = p

  let best: SliceMeasure | null = null
  const xs: number[] = []
  const ys: number[] = []
  for (let s = 0; s < span; s++) {
    if (start[s] === start[s + 1]) continue
    xs.length = 0
    ys.length = 0
    for (let q = start[s]; q < start[s + 1]; q++) {
      xs.push(ptR.a[order[q]] * sR)
      ys.push(ptC.a[order[q]] * sC)
    }
    const m = measureSlice(xs, ys, sR, sC)
    if (!best || m.long > best.long + EPS || (m.long > best.long - EPS && m.perp > best.perp + EPS)) best = { ...m, slice: s + lo }
  }
  return best!
}

/** One voxel spacing along in-plane unit direction (ur, uc): exactly the spacing along an index axis. */
function spacingAlong(ur: number, uc: number, sR: number, sC: number): number {
  return 1 / Math.hypot(ur / sR, uc / sC)
}

/** Convex hull (counter-clockwise, no collinear points) of points sorted by (x, y). */
function hull(xs: number[], ys: number[]): number[] {
  const n = xs.length
  if (n < 3) return [...Array(n).keys()]
  const cross = (o: number, a: number, b: number) => (xs[a] - xs[o]) * (ys[b] - ys[o]) - (ys[a] - ys[o]) * (xs[b] - xs[o])
  const h: number[] = []
  for (let i = 0; i < n; i++) {
    while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], i) <= 0) h.pop()
    h.push(i)
  }
  const lower = h.length + 1
  for (let i = n - 2; i >= 0; i--) {
    while (h.length >= lower && cross(h[h.length - 2], h[h.length - 1], i) <= 0) h.pop()
    h.push(i)
  }
  h.pop()
  return h
}

/** Long axis and perpendicular (edge to edge) of the points of one slice, in in-plane mm. */
function measureSlice(xs: number[], ys: number[], sR: number, sC: number): Omit<SliceMeasure, 'slice'> {
  const h = hull(xs, ys)
  const hx = h.map((i) => xs[i])
  const hy = h.map((i) => ys[i])
  if (h.length === 1) {
    // one voxel: the larger spacing by the smaller
    const alongR = sR >= sC
    const [x, y] = [hx[0], hy[0]]
    const long = alongR ? sR : sC
    const perp = alongR ? sC : sR
    return {
      long,
      perp,
      longSeg: alongR ? [x - long / 2, y, x + long / 2, y] : [x, y - long / 2, x, y + long / 2],
      perpSeg: alongR ? [x, y - perp / 2, x, y + perp / 2] : [x - perp / 2, y, x + perp / 2, y],
    }
  }
  let maxD2 = -1
  for (let a = 0; a < h.length; a++) {
    for (let b = a + 1; b < h.length; b++) {
      const d2 = (hx[a] - hx[b]) ** 2 + (hy[a] - hy[b]) ** 2
      if (d2 > maxD2) maxD2 = d2
    }
  }
  const maxD = Math.sqrt(maxD2)
  let best: Omit<SliceMeasure, 'slice'> | null = null
  for (let a = 0; a < h.length; a++) {
    for (let b = a + 1; b < h.length; b++) {
      const d = Math.hypot(hx[a] - hx[b], hy[a] - hy[b])
      if (d < maxD - EPS) continue
      const ux = (hx[b] - hx[a]) / d
      const uy = (hy[b] - hy[a]) / d
      const chord = perpendicularChord(hx, hy, ux, uy)
      const sU = spacingAlong(ux, uy, sR, sC)
      const sV = spacingAlong(-uy, ux, sR, sC)
      const perp = chord.length + sV
      if (best && perp <= best.perp + EPS) continue
      const long = d + sU
      best = {
        long,
        perp,
        longSeg: [hx[a] - (ux * sU) / 2, hy[a] - (uy * sU) / 2, hx[b] + (ux * sU) / 2, hy[b] + (uy * sU) / 2],
        perpSeg: [chord.x0 + (uy * sV) / 2, chord.y0 - (ux * sV) / 2, chord.x1 - (uy * sV) / 2, chord.y1 + (ux * sV) / 2],
      }
    }
  }
  return best!
}

/**
 * Longest chord of the convex polygon (hx, hy) perpendicular to unit u: over the positions t of
 * the vertices along u (where the concave chord-length function has its maximum), the extent
 * along v = (-uy, ux) of the polygon's cut at t. Returns its end points (x0,y0 at the smaller v).
 */
function perpendicularChord(hx: number[], hy: number[], ux: number, uy: number): { length: number; x0: number; y0: number; x1: number; y1: number } {
  const h = hx.length
  if (h < 3) {
    // a segment (a one-voxel-thick line): no width; the caliper crosses its middle
    const x = (hx[0] + hx[h - 1]) / 2
    const y = (hy[0] + hy[h - 1]) / 2
    return { length: 0, x0: x, y0: y, x1: x, y1: y }
  }
  let best = { length: 0, x0: hx[0], y0: hy[0], x1: hx[0], y1: hy[0] }
  for (let k = 0; k < h; k++) {
    const t = hx[k] * ux + hy[k] * uy
    let vmin = Infinity
    let vmax = -Infinity
    let pmin = [0, 0]
    let pmax = [0, 0]
    for (let a = 0; a < h; a++) {
      const b = (a + 1) % h
      const ta = hx[a] * ux + hy[a] * uy
      const tb = hx[b] * ux + hy[b] * uy
      if ((ta - t) * (tb - t) > 0) continue
      const cut = (px: number, py: number) => {
        const v = -px * uy + py * ux
        if (v < vmin) {
          vmin = v
          pmin = [px, py]
        }
        if (v > vmax) {
          vmax = v
          pmax = [px, py]
        }
      }
      if (Math.abs(tb - ta) < 1e-12) {
        cut(hx[a], hy[a])
        cut(hx[b], hy[b])
      } else {
        const l = (t - ta) / (tb - ta)
        cut(hx[a] + l * (hx[b] - hx[a]), hy[a] + l * (hy[b] - hy[a]))
      }
    }
    if (vmax - vmin > best.length) best = { length: vmax - vmin, x0: pmin[0], y0: pmin[1], x1: pmax[0], y1: pmax[1] }
  }
  return best
}
