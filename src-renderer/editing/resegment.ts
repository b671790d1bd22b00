/**
 * Segment on a case the user has corrected: which organs did the user edit, and what the labelmap
 * becomes when only the organs the user has not touched take the new prediction. Framework-free;
 * the workstation applies the result as one patch (one undo step) through EditSession.applyLabels.
 */
import type { LabelGrid } from './grid.js'

/**
 * Label values (never 0, background) the user changed relative to `reference` (the last
 * prediction, or null = an empty labelmap): a value counts as edited when any voxel gained or
 * lost it, so erasing part of an organ edits it as much as painting it does.
 */
export function editedValues(grid: LabelGrid, reference: Uint8Array | null): Set<number> {
  const n = grid.dims[0] * grid.dims[1]
  const seen = new Uint8Array(256)
  grid.slices.forEach((slice, k) => {
    const base = k * n
    for (let o = 0; o < n; o++) {
      const have = slice[o]!
      const was = reference ? reference[base + o]! : 0
      if (have !== was) {
        seen[have] = 1
        seen[was] = 1
      }
    }
  })
  seen[0] = 0
  const out = new Set<number>()
  seen.forEach((s, v) => s && out.add(v))
  return out
}

/**
 * The labelmap "fill only organs I have not edited" asks for: every voxel that holds an edited
 * organ keeps it; elsewhere the new prediction applies, except that it cannot add voxels to an
 * edited organ (the user's version of that organ is kept exactly, erased voxels stay erased), so
 * those become background.
 */
export function fillUneditedTarget(grid: LabelGrid, prediction: Uint8Array, edited: ReadonlySet<number>): Uint8Array {
  const n = grid.dims[0] * grid.dims[1]
  const isEdited = new Uint8Array(256)
  for (const v of edited) isEdited[v] = 1
  const out = new Uint8Array(n * grid.dims[2])
  grid.slices.forEach((slice, k) => {
    const base = k * n
    for (let o = 0; o < n; o++) {
      const have = slice[o]!
      const want = prediction[base + o]!
      out[base + o] = isEdited[have] ? have : isEdited[want] ? 0 : want
    }
  })
  return out
}
