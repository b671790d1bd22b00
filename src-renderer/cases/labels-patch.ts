/**
 * Which voxels the host lacks since its last acknowledged save, and the patch that brings it up to
 * date: the changed voxels' indices (x fastest, then y, then slice) and their values now.
 */
import { labelPatchBytes, type LabelPatch } from '../../src-shared/contract/label-patch.js'
import type { LabelGrid } from '../editing/grid.js'

/** What one save sends, as take() saw it. */
export interface PendingSave {
  /** send the whole labelmap (first save, after a failed one, or a patch as large as the labelmap) */
  full: boolean
  /** the voxels changed since the previous save (for a patch) */
  indices: Uint32Array[]
}

export class LabelsPatchTracker {
  private chunks: Uint32Array[] = []
  private count = 0
  private full = true
  /**
   * Which voxels the host may lack, one bit each (never too many to list): `dirty` changed since the
   * last take, `sent` carried by saves not yet acknowledged. After a refused save they say which
   * voxels are the page's own when its labels are merged with the host's. Each keeps the byte
   * range it has set, so a save touches only that span, not a bit per voxel of the whole volume.
   */
  private dirty: Uint8Array
  private sent: Uint8Array
  private dirtySpan: [number, number] = [Infinity, -1]
  private sentSpan: [number, number] = [Infinity, -1]

  /** @param voxels size of the labelmap: a patch bigger than it is sent as the labelmap instead */
  constructor(private readonly voxels: number) {
    this.dirty = new Uint8Array((voxels + 7) >>> 3)
    this.sent = new Uint8Array((voxels + 7) >>> 3)
  }

  /** Records voxels an edit, undo or redo changed (arrays are kept, not copied: patches are immutable). */
  track(indices: Uint32Array): void {
    const d = this.dirty
    const span = this.dirtySpan
    for (let k = 0; k < indices.length; k++) {
      const b = indices[k]! >>> 3
      d[b] |= 1 << (indices[k]! & 7)
      if (b < span[0]) span[0] = b
      if (b > span[1]) span[1] = b
    }
    if (this.full) return
    this.count += indices.length
    if (labelPatchBytes(this.count) >= this.voxels) return this.needFull()
    this.chunks.push(indices)
  }

  /** The host's copy is unknown (a failed save): the next save sends everything. */
  needFull(): void {
    this.full = true
    this.chunks = []
    this.count = 0
  }

  /** What the next save must send; tracking starts afresh (a patch) from here. */
  take(): PendingSave {
    const out: PendingSave = { full: this.full, indices: this.chunks }
    const [lo, hi] = this.dirtySpan
    for (let b = lo; b <= hi; b++) this.sent[b] |= this.dirty[b]!
    if (hi >= lo) {
      this.dirty.fill(0, lo, hi + 1)
      this.sentSpan = [Math.min(this.sentSpan[0], lo), Math.max(this.sentSpan[1], hi)]
      this.dirtySpan = [Infinity, -1]
    }
    this.full = false
    this.chunks = []
    this.count = 0
    return out
  }

  /** The host stored the save in flight (one at a time): nothing sent before is the page's alone now. */
  acknowledge(): void {
    const [lo, hi] = this.sentSpan
    if (hi >= lo) this.sent.fill(0, lo, hi + 1)
    this.sentSpan = [Infinity, -1]
  }

  /** That save was refused or may not have landed: the next one sends everything. */
  failed(): void {
    this.needFull()
  }

  /** Whether the host may lack voxel i (changed here since the host last acknowledged a save). */
  hostMayLack(i: number): boolean {
    return (((this.dirty[i >>> 3]! | this.sent[i >>> 3]!) >>> (i & 7)) & 1) === 1
  }
}

/** The patch for a set of changed voxels: each index once (sorted), with its value in the grid now. */
export function collectPatch(grid: LabelGrid, chunks: readonly Uint32Array[]): LabelPatch {
  let n = 0
  for (const c of chunks) n += c.length
  const all = new Uint32Array(n)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  all.sort()
  let distinct = 0
  for (let x = 0; x < all.length; x++) if (x === 0 || all[x] !== all[x - 1]) all[distinct++] = all[x]!
  const indices = all.slice(0, distinct)
  const values = new Uint8Array(distinct)
  const nxy = grid.dims[0] * grid.dims[1]
  for (let x = 0; x < distinct; x++) {
    const i = indices[x]!
    values[x] = grid.slices[(i / nxy) | 0]![i % nxy]!
  }
  return { indices, values }
}
