/**
 * The one place where the labelmap changes. Tools build a Patch and `commit` it; undo/redo replay
 * patches. Listeners (the renderer's texture upload, the stats worker) hear every change as
 * "these voxels went from `before` to `after`", whatever produced it.
 */
import { editStore } from '../store/edit-store.js'
import { History, describePatch } from './history.js'
import { diffPatch, patchMatches, type Patch } from './patch.js'
import type { CtGrid, LabelGrid } from './grid.js'

export interface Change {
  indices: Uint32Array
  before: Uint8Array
  after: Uint8Array
  slices: number[]
}

export type ChangeListener = (c: Change) => void

export class EditSession {
  readonly history = new History()
  private listeners = new Set<ChangeListener>()
  private historyListeners = new Set<() => void>()

  constructor(readonly grid: LabelGrid, readonly ct: CtGrid) {}

  onChange(l: ChangeListener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  private emit(c: Change): void {
    for (const l of this.listeners) l(c)
  }

  /** `l` hears every change of the undo history (an edit, undo, redo, adopting or dropping it). */
  onHistory(l: () => void): () => void {
    this.historyListeners.add(l)
    return () => this.historyListeners.delete(l)
  }

  private publish(): void {
    for (const l of this.historyListeners) l()
    editStore.setState((s) => ({
      undoLabel: this.history.nextUndo ? describePatch(this.history.nextUndo) : null,
      redoLabel: this.history.nextRedo ? describePatch(this.history.nextRedo) : null,
      editCount: s.editCount + 1,
      // a tool's "nothing changed" no longer applies once something did change
      notice: null,
    }))
  }

  /** The patch's voxels are already written (PatchBuilder writes as it records). */
  commit(p: Patch): void {
    if (p.indices.length === 0) return
    this.history.push(p)
    this.emit(p)
    this.publish()
  }

  undo(): Patch | null {
    const p = this.history.undo(this.grid)
    if (p === 'stale') return this.stale()
    if (p) {
      this.emit({ indices: p.indices, before: p.after, after: p.before, slices: p.slices })
      this.publish()
    }
    return p
  }

  redo(): Patch | null {
    const p = this.history.redo(this.grid)
    if (p === 'stale') return this.stale()
    if (p) {
      this.emit(p)
      this.publish()
    }
    return p
  }

  private stale(): null {
    this.publish()
    editStore.setState({ notice: 'The undo history no longer matched the labels, so it was cleared; the labels are unchanged.' })
    return null
  }

  /** A history kept from before (history-keeper.ts), taken only if the labelmap holds its result. */
  adoptHistory(done: Patch[], undone: Patch[]): boolean {
    const top = done.at(-1)
    const next = undone.at(-1)
    if ((top && !patchMatches(this.grid, top, 'after')) || (next && !patchMatches(this.grid, next, 'before'))) return false
    this.history.restore(done, undone)
    this.publish()
    return true
  }

  /** Replaces the labelmap with a model prediction as ONE undoable step (locked organs kept). */
  applyLabels(target: Uint8Array, name: string, locked: ReadonlySet<number>): Patch {
    const p = diffPatch(this.grid, target, name, locked)
    this.commit(p)
    return p
  }
}
