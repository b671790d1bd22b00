/**
 * Which voxels the host lacks since its last acknowledged save, and the patch that brings it up to
 * date: the changed voxels' indices (x fastest, then y, then slice) and their values now.
 */
import { labelPatchBytes, type LabelPatch } from '../../src-shared/contract/label-patch.js'
import type { LabelGrid } from '../editing/grid.js'

export class LabelsPatchTracker {
  private chunks: Uint32Array[] = []
  private count = 0
  private full = true

  /** @param voxels size of the labelmap: a patch bigger than it is sent as the labelmap instead */
  constructor(private readonly voxels: number) {}

  /** Records voxels an edit, undo or redo changed (arrays are kept, not copied: patches are immutable). */
  track(indices: Uint32Array): void {
    if (this.full) return
    this.count += indices.length
    if (labelPatchBytes(this.count) >= this.voxels) return this.needFull()
    this.chunks.push(indices)
  }

  /** The host's copy is unknown (first save, a failed save): the next save sends everything. */
  needFull(): void {
    this.full = true
    this.chunks = []
    this.count = 0
  }

  /** What the next save must send; tracking starts afresh (a patch) from here. */
  take(): { full: true } | { full: false; indices: Uint32Array[] } {
    const out = this.full ? ({ full: true } as const) : ({ full: false, indices: this.chunks } as const)
    this.full = false
    this.chunks = []
    this.count = 0
    return out
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
