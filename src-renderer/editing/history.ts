/**
 * Linear undo/redo over patches. Every change to the labelmap — a brush stroke, a fill, applying a
 * prediction — is exactly one entry, named for the buttons ("Undo Brush liver (1,204 voxels)").
 * The stack is bounded by memory, not by count: old entries fall off the bottom. An entry is only
 * replayed onto a labelmap that holds what it expects (patchMatches); otherwise the history is
 * stale, and it is dropped rather than written over the labels.
 */
import { applyPatch, patchBytes, patchMatches, type Patch } from './patch.js'
import type { LabelGrid } from './grid.js'

export class History {
  private done: Patch[] = []
  private undone: Patch[] = []
  private bytes = 0

  constructor(private readonly maxBytes = 1024 * 1024 * 1024) {}

  push(p: Patch): void {
    if (p.indices.length === 0) return
    this.done.push(p)
    this.bytes += patchBytes(p)
    for (const u of this.undone) this.bytes -= patchBytes(u)
    this.undone = []
    while (this.bytes > this.maxBytes && this.done.length > 1) this.bytes -= patchBytes(this.done.shift()!)
  }

  /** the patch undone; null with nothing to undo; 'stale' (and an empty history) when the labelmap no longer holds its result */
  undo(grid: LabelGrid): Patch | null | 'stale' {
    const top = this.done.at(-1)
    if (!top) return null
    if (!patchMatches(grid, top, 'after')) return this.dropStale()
    const p = this.done.pop()!
    applyPatch(grid, p, 'undo')
    this.undone.push(p)
    return p
  }

  /** the patch redone; null with nothing to redo; 'stale' (and an empty history) when the labelmap no longer holds what it changed */
  redo(grid: LabelGrid): Patch | null | 'stale' {
    const top = this.undone.at(-1)
    if (!top) return null
    if (!patchMatches(grid, top, 'before')) return this.dropStale()
    const p = this.undone.pop()!
    applyPatch(grid, p, 'redo')
    this.done.push(p)
    return p
  }

  private dropStale(): 'stale' {
    this.clear()
    return 'stale'
  }

  /** both stacks, oldest first (what a reload keeps: history-keeper.ts) */
  snapshot(): { done: readonly Patch[]; undone: readonly Patch[] } {
    return { done: this.done, undone: this.undone }
  }

  /** Replaces both stacks (oldest first): a history kept across a reload, checked by the caller. */
  restore(done: Patch[], undone: Patch[]): void {
    this.done = [...done]
    this.undone = [...undone]
    this.bytes = [...done, ...undone].reduce((b, p) => b + patchBytes(p), 0)
  }

  clear(): void {
    this.done = []
    this.undone = []
    this.bytes = 0
  }

  /** the patch Ctrl+Z would undo */
  get nextUndo(): Patch | null {
    return this.done.at(-1) ?? null
  }

  /** the patch Ctrl+Shift+Z would redo */
  get nextRedo(): Patch | null {
    return this.undone.at(-1) ?? null
  }

  get depth(): { undo: number; redo: number; bytes: number } {
    return { undo: this.done.length, redo: this.undone.length, bytes: this.bytes }
  }
}

/** "Brush liver (1,204 voxels)" */
export function describePatch(p: Patch): string {
  return `${p.name} (${p.indices.length.toLocaleString('en-US')} voxel${p.indices.length === 1 ? '' : 's'})`
}
