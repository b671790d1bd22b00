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
  const w = [si, sj, sk][normal]!
  const visited = new Uint8Array(nxy * nz)
  let out = new Uint32Array(1024)
  let n = 0
  const stack: number[] = [si + nx * (sj + ny * sk)]
  visited[stack[0]!] = 1
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
        if (visited[nidx]) continue
        const nk = axis === 2 ? q : k
        if (g.slices[nk]![nidx - nk * nxy] !== target) continue
        if (!threeD && [i, j, k][normal] !== w) continue
        visited[nidx] = 1
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
  const depth = g.dims[normal]
  const drawn: number[] = []
  const masks = new Map<number, Uint8Array>()
  const maskOf = (w: number): Uint8Array => {
    let m = masks.get(w)
    if (m) return m
    const p = planeGet(g, normal, w)
    m = new Uint8Array(p.width * p.height)
    for (let b = 0; b < p.height; b++) for (let a = 0; a < p.width; a++) if (p.get(a, b) === value) m[a + p.width * b] = 1
    masks.set(w, m)
    return m
  }
  for (let w = 0; w < depth; w++) if (maskOf(w).some((x) => x === 1)) drawn.push(w)
  else masks.delete(w)
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
  const comp = new Int32Array(nxy * nz)
  const sizes: number[] = [0]
  const members: Uint32Array[] = [new Uint32Array(0)]
  const stack: number[] = []
  for (let k = 0; k < nz; k++) {
    const s = g.slices[k]!
    for (let o = 0; o < nxy; o++) {
      if (s[o] !== value || comp[k * nxy + o]) continue
      const id = sizes.length
      const list: number[] = []
      stack.push(k * nxy + o)
      comp[k * nxy + o] = id
      while (stack.length) {
        const idx = stack.pop()!
        list.push(idx)
        const kk = (idx / nxy) | 0
        const r = idx - kk * nxy
        const j = (r / nx) | 0
        const i = r - j * nx
        const nb = [i > 0 ? idx - 1 : -1, i < nx - 1 ? idx + 1 : -1, j > 0 ? idx - nx : -1, j < ny - 1 ? idx + nx : -1, kk > 0 ? idx - nxy : -1, kk < nz - 1 ? idx + nxy : -1]
        for (const q of nb) {
          if (q < 0 || comp[q]) continue
          const qk = (q / nxy) | 0
          if (g.slices[qk]![q - qk * nxy] !== value) continue
          comp[q] = id
          stack.push(q)
        }
      }
      sizes.push(list.length)
      members.push(Uint32Array.from(list))
    }
  }
  const largest = Math.max(0, ...sizes)
  const out: number[] = []
  let islands = 0
  for (let c = 1; c < sizes.length; c++) {
    if (sizes[c]! === largest && members.findIndex((_, x) => sizes[x] === largest) === c) continue
    if (sizes[c]! < minFraction * largest) {
      islands++
      for (const idx of members[c]!) out.push(idx)
    }
  }
  return { voxels: Uint32Array.from(out), islands }
}
