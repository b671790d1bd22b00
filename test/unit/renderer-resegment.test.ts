/**
 * Segment on an edited case (issue 11): which organs count as edited, what "fill only organs I have
 * not edited" makes of a new prediction, and that it is applied as one exact undo step.
 */
import { describe, expect, it } from 'vitest'
import { gridFromArray, gridToArray, voxelIndex, type Vec3 } from '../../src-renderer/editing/grid.js'
import { editedValues, fillUneditedTarget } from '../../src-renderer/editing/resegment.js'
import { EditSession } from '../../src-renderer/editing/session.js'

const dims: Vec3 = [6, 5, 4]
const N = dims[0] * dims[1] * dims[2]

/** A labelmap with organ `v` on the voxels with i in [i0, i1). */
function bands(spec: [v: number, i0: number, i1: number][]): Uint8Array {
  const out = new Uint8Array(N)
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) for (const [v, i0, i1] of spec) if (i >= i0 && i < i1) out[voxelIndex({ dims }, i, j, k)] = v
  return out
}

describe('edited organs', () => {
  it('an unchanged prediction has none; a labelmap without a prediction has every organ present', () => {
    const pred = bands([[1, 0, 2], [2, 3, 5]])
    expect(editedValues(gridFromArray(dims, [1, 1, 1], pred.slice()), pred).size).toBe(0)
    expect([...editedValues(gridFromArray(dims, [1, 1, 1], pred.slice()), null)].sort()).toEqual([1, 2])
  })

  it('painting over another organ edits both; erasing edits the erased organ; background never counts', () => {
    const pred = bands([[1, 0, 2], [2, 3, 5], [3, 5, 6]])
    const now = pred.slice()
    now[voxelIndex({ dims }, 3, 0, 0)] = 1 // liver painted over a kidney voxel
    now[voxelIndex({ dims }, 5, 4, 3)] = 0 // one spleen voxel erased
    expect([...editedValues(gridFromArray(dims, [1, 1, 1], now), pred)].sort()).toEqual([1, 2, 3])
  })
})

describe('fill only organs I have not edited', () => {
  it('keeps every voxel of the edited organs and takes the new prediction elsewhere, as one undo step', () => {
    const old = bands([[1, 0, 2], [2, 3, 5], [3, 5, 6]])
    const now = old.slice()
    const painted = voxelIndex({ dims }, 2, 2, 1) // liver grown into background
    const erased = voxelIndex({ dims }, 5, 4, 3) // a spleen voxel erased
    now[painted] = 1
    now[erased] = 0
    // the new prediction moves every organ one voxel along i and finds pancreas (4) where liver was
    const next = bands([[4, 0, 1], [1, 1, 3], [2, 4, 6], [3, 5, 6]])
    const grid = gridFromArray(dims, [1, 1, 1], now.slice())
    const edited = editedValues(grid, old)
    expect([...edited].sort()).toEqual([1, 3])
    const target = fillUneditedTarget(grid, next, edited)
    for (let x = 0; x < N; x++) {
      if (now[x] === 1 || now[x] === 3) expect(target[x], `edited organ voxel ${x}`).toBe(now[x])
      else if (next[x] === 1 || next[x] === 3) expect(target[x], `edited organs get nothing new (${x})`).toBe(0)
      else expect(target[x], `unedited organs follow the prediction (${x})`).toBe(next[x])
    }
    expect(target[erased]).toBe(0) // erased stays erased although the prediction says spleen
    expect(target[voxelIndex({ dims }, 0, 0, 0)]).toBe(1) // the user's liver wins over the new pancreas

    const session = new EditSession(grid, { dims, data: new Int16Array(N) })
    const p = session.applyLabels(target, 'Apply prediction to unedited organs', new Set())
    expect(Array.from(gridToArray(grid))).toEqual(Array.from(target))
    expect(session.history.nextUndo).toBe(p)
    session.undo()
    expect(Array.from(gridToArray(grid))).toEqual(Array.from(now))
  })

  it('a locked organ is kept by the apply step even when it was not edited', () => {
    const old = bands([[1, 0, 2], [2, 3, 5]])
    const now = old.slice()
    now[voxelIndex({ dims }, 2, 0, 0)] = 1
    const next = bands([[2, 0, 6]])
    const grid = gridFromArray(dims, [1, 1, 1], now.slice())
    const target = fillUneditedTarget(grid, next, editedValues(grid, old))
    new EditSession(grid, { dims, data: new Int16Array(N) }).applyLabels(target, 'x', new Set([2]))
    // kidney is locked: the prediction's larger kidney is never written, the edited liver stays
    const after = gridToArray(grid)
    for (let x = 0; x < N; x++) if (now[x] === 1) expect(after[x]).toBe(1)
    for (let x = 0; x < N; x++) if (now[x] === 0) expect(after[x]).toBe(0)
  })
})
