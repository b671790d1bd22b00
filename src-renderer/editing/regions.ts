/**
 * Region algorithms that produce voxel lists for `stamp`: flood fill, slice interpolation and small
 * island removal. They read the grid and never write it; the caller turns the result into one patch.
 */
import { planeAxes, type LabelGrid, type Vec3 } from './grid.js'

function planeGet(g: LabelGrid, normal: 0 | 1 | 2, w: number): { width: number; height: number; get: (a: number, b: number) => number; index: (a: number, b: number) => number } {
  const [nx, ny] = g.dims
  const { u, v } = planeAxes(normal)
  const width = g.dims[u], height = g.dims[v]
  const index = (a: number, b: number): number => {
    const p: Vec3 = [0, 0, 0]
    p[normal] = w
    p[u] = a
    p[v] = b
    return p[0] + nx * (p[1] + ny * p[2])
  }
  const nxy = nx * ny
  const get = (a: number, b: number): number => {
    const idx = index(a, b)
    return g.slices[(idx / nxy) | 0]![idx % nxy]!
  }
  return { width, height, get, index }
}

/**
 * 4-connected flood fill on the view plane through `seed`: every voxel connected to the seed with
 * the seed's label. With `threeD`, 6-connected through the volume. Capped at `maxVoxels` so a click
 * on the background of a 512x512x300 volume cannot stall the page.
 */
export function floodFill(g: LabelGrid, seed: Vec3, normal: 0 | 1 | 2, threeD = false, maxVoxels = 20_000_000): Uint32Array {
  const [nx, ny, nz] = g.dims
  const nxy = nx * ny
  const si = Math.round(seed[0]), sj = Math.round(seed[1]), sk = Math.round(seed[2])
  if (si < 0 || sj < 0 || sk < 0 || si >= nx || sj >= ny || sk >= nz) return new Uint32Array(0)
  const target = g.slices[sk]![si + nx * sj]!
  // visited: the whole volume for a 3-D fill, only the plane for a 2-D one (78 MB vs 0.3 MB at 512²×300)
  const { u, v } = planeAxes(normal)
  const planeKey = (i: number, j: number, k: number): number => {
    const p = [i, j, k]
    return p[u]! + g.dims[u] * p[v]!
  }
  const visited = new Uint8Array(threeD ? nxy * nz : g.dims[u] * g.dims[v])
  const key = threeD ? (idx: number): number => idx : (idx: number): number => {
    const k = (idx / nxy) | 0
    const r = idx - k * nxy
    const j = (r / nx) | 0
    return planeKey(r - j * nx, j, k)
  }
  let out = new Uint32Array(1024)
  let n = 0
  const start = si + nx * (sj + ny * sk)
  const stack: number[] = [start]
  visited[key(start)] = 1
  while (stack.length && n < maxVoxels) {
    const idx = stack.pop()!
    if (n === out.length) {
      const bigger = new Uint32Array(out.length * 2)
      bigger.set(out)
      out = bigger
    }
    out[n++] = idx
    const k = (idx / nxy) | 0
    const r = idx - k * nxy
    const j = (r / nx) | 0
    const i = r - j * nx
    const p = [i, j, k]
    for (let axis = 0; axis < 3; axis++) {
      if (!threeD && axis === normal) continue
      for (const d of [-1, 1]) {
        const q = p[axis]! + d
        if (q < 0 || q >= g.dims[axis]!) continue
        const nidx = idx + d * (axis === 0 ? 1 : axis === 1 ? nx : nxy)
        const nkey = key(nidx)
        if (visited[nkey]) continue
        const nk = axis === 2 ? q : k
        if (g.slices[nk]![nidx - nk * nxy] !== target) continue
        visited[nkey] = 1
        stack.push(nidx)
      }
    }
  }
  return out.slice(0, n)
}

/**
 * Chamfer (3-4 style, spacing-aware) signed distance on a 2-D mask: negative inside, positive
 * outside, in mm. Good enough for shape-based interpolation; exact Euclidean is not needed.
 */
export function signedDistance2d(mask: Uint8Array, width: number, height: number, su: number, sv: number): Float32Array {
  const inf = 1e9
  const dIn = new Float32Array(mask.length)
  const dOut = new Float32Array(mask.length)
  for (let x = 0; x < mask.length; x++) {
    dIn[x] = mask[x] ? inf : 0
    dOut[x] = mask[x] ? 0 : inf
  }
  const diag = Math.hypot(su, sv)
  for (const d of [dIn, dOut]) {
    for (let b = 0; b < height; b++)
      for (let a = 0; a < width; a++) {
        const x = a + width * b
        let m = d[x]!
        if (a > 0) m = Math.min(m, d[x - 1]! + su)
        if (b > 0) {
          m = Math.min(m, d[x - width]! + sv)
          if (a > 0) m = Math.min(m, d[x - width - 1]! + diag)
          if (a < width - 1) m = Math.min(m, d[x - width + 1]! + diag)
        }
        d[x] = m
      }
    for (let b = height - 1; b >= 0; b--)
      for (let a = width - 1; a >= 0; a--) {
        const x = a + width * b
        let m = d[x]!
        if (a < width - 1) m = Math.min(m, d[x + 1]! + su)
        if (b < height - 1) {
          m = Math.min(m, d[x + width]! + sv)
          if (a < width - 1) m = Math.min(m, d[x + width + 1]! + diag)
          if (a > 0) m = Math.min(m, d[x + width - 1]! + diag)
        }
        d[x] = m
      }
  }
  const out = new Float32Array(mask.length)
  for (let x = 0; x < mask.length; x++) out[x] = mask[x] ? -dIn[x]! : dOut[x]!
  return out
}

/**
 * Shape-based interpolation of `value` between the drawn planes along `normal`: for every gap
 * between two planes that contain the label, the signed distances of the two bounding planes are
 * blended linearly and the zero level set becomes the label. Returns the voxels to paint
 * (only those currently 0, so other organs are not overwritten).
 */
export function interpolateSlices(g: LabelGrid, value: number, normal: 0 | 1 | 2): { voxels: Uint32Array; gaps: number } {
  const { u, v } = planeAxes(normal)
  const [nx, ny, nz] = g.dims
  const nxy = nx * ny
  // one pass over the volume: which planes along `normal` hold the label at all
  const present = new Uint8Array(g.dims[normal])
  for (let k = 0; k < nz; k++) {
    const s = g.slices[k]!
    if (normal === 2) {
      for (let o = 0; o < nxy; o++) if (s[o] === value) { present[k] = 1; break }
    } else {
      for (let o = 0; o < nxy; o++) if (s[o] === value) present[normal === 0 ? o % nx : (o / nx) | 0] = 1
    }
  }
  const drawn: number[] = []
  present.forEach((p, w) => p && drawn.push(w))
  const maskOf = (w: number): Uint8Array => {
    const p = planeGet(g, normal, w)
    const m = new Uint8Array(p.width * p.height)
    for (let b = 0; b < p.height; b++) for (let a = 0; a < p.width; a++) if (p.get(a, b) === value) m[a + p.width * b] = 1
    return m
  }
  const out: number[] = []
  let gaps = 0
  for (let n = 0; n + 1 < drawn.length; n++) {
    const w0 = drawn[n]!, w1 = drawn[n + 1]!
    if (w1 - w0 < 2) continue
    gaps++
    const p = planeGet(g, normal, w0)
    const d0 = signedDistance2d(maskOf(w0), p.width, p.height, g.spacing[u], g.spacing[v])
    const d1 = signedDistance2d(maskOf(w1), p.width, p.height, g.spacing[u], g.spacing[v])
    for (let w = w0 + 1; w < w1; w++) {
      const t = (w - w0) / (w1 - w0)
      const q = planeGet(g, normal, w)
      for (let b = 0; b < p.height; b++)
        for (let a = 0; a < p.width; a++) {
          const x = a + p.width * b
          if ((1 - t) * d0[x]! + t * d1[x]! <= 0 && q.get(a, b) === 0) out.push(q.index(a, b))
        }
    }
  }
  return { voxels: Uint32Array.from(out), gaps }
}

/**
 * 6-connected components of `value`; returns the voxels of every component smaller than
 * `minFraction` of the largest (the largest always stays). Works on the label's bounding box.
 */
export function smallIslands(g: LabelGrid, value: number, minFraction = 0.05): { voxels: Uint32Array; islands: number } {
  const [nx, ny, nz] = g.dims
  const nxy = nx * ny
  // component ids only over the label's bounding box: a 512x512x300 volume would need 314 MB
  const lo = [nx, ny, nz], hi = [-1, -1, -1]
  for (let k = 0; k < nz; k++) {
    const s = g.slices[k]!
    for (let o = 0; o < nxy; o++) {
      if (s[o] !== value) continue
      const j = (o / nx) | 0, i = o - j * nx
      if (i < lo[0]!) lo[0] = i
      if (i > hi[0]!) hi[0] = i
      if (j < lo[1]!) lo[1] = j
      if (j > hi[1]!) hi[1] = j
      if (k < lo[2]!) lo[2] = k
      if (k > hi[2]!) hi[2] = k
    }
  }
  if (hi[0]! < 0) return { voxels: new Uint32Array(0), islands: 0 }
  const bx = hi[0]! - lo[0]! + 1, by = hi[1]! - lo[1]! + 1, bz = hi[2]! - lo[2]! + 1
  const comp = new Int32Array(bx * by * bz)
  const local = (i: number, j: number, k: number): number => i - lo[0]! + bx * (j - lo[1]! + by * (k - lo[2]!))
  const sizes: number[] = [0]
  const members: Uint32Array[] = [new Uint32Array(0)]
  const stack: number[] = []
  for (let k = lo[2]!; k <= hi[2]!; k++) {
    const s = g.slices[k]!
    for (let j = lo[1]!; j <= hi[1]!; j++)
      for (let i = lo[0]!; i <= hi[0]!; i++) {
        if (s[i + nx * j] !== value || comp[local(i, j, k)]) continue
        const id = sizes.length
        const list: number[] = []
        stack.push(i + nx * (j + ny * k))
        comp[local(i, j, k)] = id
        while (stack.length) {
          const idx = stack.pop()!
          list.push(idx)
          const kk = (idx / nxy) | 0
          const r = idx - kk * nxy
          const jj = (r / nx) | 0
          const ii = r - jj * nx
          const nb: [number, number, number][] = [[ii - 1, jj, kk], [ii + 1, jj, kk], [ii, jj - 1, kk], [ii, jj + 1, kk], [ii, jj, kk - 1], [ii, jj, kk + 1]]
          for (const [a, b, c] of nb) {
            if (a < lo[0]! || a > hi[0]! || b < lo[1]! || b > hi[1]! || c < lo[2]! || c > hi[2]!) continue
            const li = local(a, b, c)
            if (comp[li] || g.slices[c]![a + nx * b] !== value) continue
            comp[li] = id
            stack.push(a + nx * (b + ny * c))
          }
        }
        sizes.push(list.length)
        members.push(Uint32Array.from(list))
      }
  }
  // the largest component always stays (the first of equal largest ones)
  let keep = 1
  for (let c = 2; c < sizes.length; c++) if (sizes[c]! > sizes[keep]!) keep = c
  const largest = sizes[keep]!
  const out: number[] = []
  let islands = 0
  for (let c = 1; c < sizes.length; c++) {
    if (c === keep || sizes[c]! >= minFraction * largest) continue
    islands++
    for (const idx of members[c]!) out.push(idx)
  }
  return { voxels: Uint32Array.from(out), islands }
}
