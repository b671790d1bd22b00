/**
 * Linear undo/redo over patches. Every change to the labelmap — a brush stroke, a fill, applying a
 * prediction — is exactly one entry, named for the buttons ("Undo Brush liver (1,204 voxels)").
 * The stack is bounded by memory, not by count: old entries fall off the bottom.
 */
import { applyPatch, patchBytes, type Patch } from './patch.js'
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

  undo(grid: LabelGrid): Patch | null {
    const p = this.done.pop()
    if (!p) return null
    applyPatch(grid, p, 'undo')
    this.undone.push(p)
    return p
  }

  redo(grid: LabelGrid): Patch | null {
    const p = this.undone.pop()
    if (!p) return null
    applyPatch(grid, p, 'redo')
    this.done.push(p)
    return p
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
