/**
 * Which voxels the host lacks since its last acknowledged save, and the patch that brings it up to
 * date: the changed voxels' indices (x fastest, then y, then slice) and their values now.
 */
import { labelPatchBytes, type LabelPatch } from '../../src-shared/contract/label-patch.js'
import type { LabelGrid } from '../editing/grid.js'

/** What one save sends, as take() saw it; give it back to acknowledge() or failed(). */
export interface PendingSave {
  /** send the whole labelmap (first save, after a failed one, or a patch as large as the labelmap) */
  full: boolean
  /** the voxels the host lacks (for a patch) */
  indices: Uint32Array[]
  /** how many tracked chunks this save carries */
  readonly sent: number
  /** false when more voxels changed than could be listed: the host may lack any of them */
  readonly known: boolean
}

export class LabelsPatchTracker {
  /**
   * Voxels changed since the host's last acknowledged save, kept until a save carrying them is
   * acknowledged (not merely sent): after a refused save they say which voxels are the page's own
   * when its labels are merged with the host's. null: too many to list.
   */
  private unacked: Uint32Array[] | null = []
  private count = 0
  private full = true

  /** @param voxels size of the labelmap: a patch bigger than it is sent as the labelmap instead */
  constructor(private readonly voxels: number) {}

  /** Records voxels an edit, undo or redo changed (arrays are kept, not copied: patches are immutable). */
  track(indices: Uint32Array): void {
    if (!this.unacked) return
    this.count += indices.length
    if (labelPatchBytes(this.count) >= this.voxels) {
      this.unacked = null
      this.full = true
      return
    }
    this.unacked.push(indices)
  }

  /** The host's copy is unknown (a failed save): the next save sends everything. */
  needFull(): void {
    this.full = true
  }

  /** What the next save must send; edits from now on are tracked beside it. */
  take(): PendingSave {
    const known = this.unacked !== null
    const out: PendingSave = { full: this.full || !known, indices: this.unacked ? this.unacked.slice() : [], sent: this.unacked?.length ?? 0, known }
    this.full = false
    if (!known) {
      // everything up to now goes whole; what changes during the save is listed again
      this.unacked = []
      this.count = 0
    }
    return out
  }

  /** The host stored that save: its voxels are no longer the page's alone. */
  acknowledge(p: PendingSave): void {
    if (!this.unacked || !p.known) return
    this.unacked = this.unacked.slice(p.sent)
    this.count = this.unacked.reduce((n, c) => n + c.length, 0)
  }

  /** That save was refused or may not have landed: the next one sends everything. */
  failed(p: PendingSave): void {
    this.full = true
    if (!p.known) this.unacked = null
  }

  /** The voxels the host may lack, or null when more changed than could be listed. */
  pending(): readonly Uint32Array[] | null {
    return this.unacked
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
