/**
 * An edit as the exact list of voxels it changed: index, value before, value after. Undo writes the
 * "before" values back, redo the "after" values — so undo restores the labelmap bit-for-bit, and the
 * stats worker updates incrementally from the same list. Memory is proportional to what changed,
 * never to the volume.
 */
import type { LabelGrid } from './grid.js'

export interface Patch {
  /** what the user did, in words: "Brush liver", "Apply prediction" */
  name: string
  indices: Uint32Array
  before: Uint8Array
  after: Uint8Array
  /** sorted k (axial slice) indices touched — what the renderer re-uploads */
  slices: number[]
}

export class PatchBuilder {
  private idx: Uint32Array
  private b: Uint8Array
  private a: Uint8Array
  private n = 0
  private touched = new Set<number>()
  /** distinct "after" values written: with one value a voxel cannot be written twice */
  private values = new Set<number>()

  constructor(private readonly grid: LabelGrid, capacity = 1024) {
    this.idx = new Uint32Array(capacity)
    this.b = new Uint8Array(capacity)
    this.a = new Uint8Array(capacity)
  }

  get size(): number {
    return this.n
  }

  /** Writes `value` at (slice k, offset) and records it if it changed the voxel. */
  write(k: number, offset: number, value: number): void {
    const slice = this.grid.slices[k]!
    const old = slice[offset]!
    if (old === value) return
    if (this.n === this.idx.length) this.grow()
    this.idx[this.n] = k * slice.length + offset
    this.b[this.n] = old
    this.a[this.n] = value
    this.n++
    slice[offset] = value
    this.touched.add(k)
    if (this.values.size < 2) this.values.add(value)
  }

  private grow(): void {
    const cap = this.idx.length * 2
    const idx = new Uint32Array(cap)
    idx.set(this.idx)
    const b = new Uint8Array(cap)
    b.set(this.b)
    const a = new Uint8Array(cap)
    a.set(this.a)
    this.idx = idx
    this.b = b
    this.a = a
  }

  /**
   * The finished patch. A voxel written twice in one builder (possible when a stroke paints then a
   * later dab repaints with another value) is collapsed to its first "before" and last "after".
   */
  build(name: string): Patch {
    let indices: Uint32Array = this.idx.slice(0, this.n)
    let before: Uint8Array = this.b.slice(0, this.n)
    let after: Uint8Array = this.a.slice(0, this.n)
    // A gesture paints one value, and a voxel already holding it is never rewritten; only a
    // builder that wrote several values (tests, composite commands) can hold a voxel twice.
    if (this.values.size > 1 && hasDuplicates(indices)) ({ indices, before, after } = collapse(indices, before, after))
    return { name, indices, before, after, slices: [...this.touched].sort((x, y) => x - y) }
  }
}

function hasDuplicates(indices: Uint32Array): boolean {
  const seen = new Set<number>()
  for (const i of indices) {
    if (seen.has(i)) return true
    seen.add(i)
  }
  return false
}

function collapse(indices: Uint32Array, before: Uint8Array, after: Uint8Array): { indices: Uint32Array; before: Uint8Array; after: Uint8Array } {
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n]!
    if (!first.has(i)) first.set(i, before[n]!)
    last.set(i, after[n]!)
  }
  const keep = [...first.keys()].filter((i) => first.get(i) !== last.get(i))
  const out = { indices: new Uint32Array(keep.length), before: new Uint8Array(keep.length), after: new Uint8Array(keep.length) }
  keep.forEach((i, n) => {
    out.indices[n] = i
    out.before[n] = first.get(i)!
    out.after[n] = last.get(i)!
  })
  return out
}

/** Writes a patch's "before" (undo) or "after" (redo) values into the grid. */
export function applyPatch(grid: LabelGrid, p: Patch, direction: 'undo' | 'redo'): void {
  const values = direction === 'undo' ? p.before : p.after
  const n = grid.dims[0] * grid.dims[1]
  // Undo walks backwards so that, even if a patch held a voxel twice, the first "before" wins.
  if (direction === 'undo') {
    for (let x = p.indices.length - 1; x >= 0; x--) {
      const idx = p.indices[x]!
      grid.slices[(idx / n) | 0]![idx % n] = values[x]!
    }
  } else {
    for (let x = 0; x < p.indices.length; x++) {
      const idx = p.indices[x]!
      grid.slices[(idx / n) | 0]![idx % n] = values[x]!
    }
  }
}

/**
 * Does the grid hold the patch's "after" values (it can be undone) or its "before" values (it can
 * be redone)? Undo writes blindly, so a history that no longer describes the labelmap (one kept
 * across a reload, labels replaced behind its back) would corrupt it: this is checked first.
 */
export function patchMatches(grid: LabelGrid, p: Patch, side: 'before' | 'after'): boolean {
  const values = side === 'after' ? p.after : p.before
  const n = grid.dims[0] * grid.dims[1]
  for (let x = 0; x < p.indices.length; x++) {
    const idx = p.indices[x]!
    if (grid.slices[(idx / n) | 0]?.[idx % n] !== values[x]) return false
  }
  return true
}

/**
 * Builds the patch that turns the grid into `target` (e.g. applying a model prediction) and writes
 * it. Two passes (count, then fill) so a whole-volume change allocates its arrays exactly once.
 */
export function diffPatch(grid: LabelGrid, target: Uint8Array, name: string, locked: ReadonlySet<number> = new Set()): Patch {
  const n = grid.dims[0] * grid.dims[1]
  const isLocked = new Uint8Array(256)
  for (const v of locked) isLocked[v] = 1
  let total = 0
  grid.slices.forEach((slice, k) => {
    const base = k * n
    for (let o = 0; o < n; o++) {
      const want = target[base + o]!, have = slice[o]!
      if (want !== have && !isLocked[have] && !isLocked[want]) total++
    }
  })
  const indices = new Uint32Array(total), before = new Uint8Array(total), after = new Uint8Array(total)
  const slices: number[] = []
  let x = 0
  grid.slices.forEach((slice, k) => {
    const base = k * n
    const x0 = x
    for (let o = 0; o < n; o++) {
      const want = target[base + o]!, have = slice[o]!
      if (want === have || isLocked[have] || isLocked[want]) continue
      indices[x] = base + o
      before[x] = have
      after[x] = want
      slice[o] = want
      x++
    }
    if (x > x0) slices.push(k)
  })
  return { name, indices, before, after, slices }
}

export function patchBytes(p: Patch): number {
  return p.indices.byteLength + p.before.byteLength + p.after.byteLength
}
