/**
 * Organ statistics as running sums, so that an edit updates them from the changed voxels only:
 * count, sum HU, sum HU² per label, and the overlap with the prediction. Framework-free (used by
 * the worker and by unit tests).
 */
export interface Sums {
  count: Float64Array
  sum: Float64Array
  sumSq: Float64Array
  /** voxels with this label in both labelmap and prediction */
  inter: Float64Array
  /** voxels with this label in the prediction */
  pred: Float64Array
}

export const MAX_LABEL = 256

export function emptySums(): Sums {
  return { count: new Float64Array(MAX_LABEL), sum: new Float64Array(MAX_LABEL), sumSq: new Float64Array(MAX_LABEL), inter: new Float64Array(MAX_LABEL), pred: new Float64Array(MAX_LABEL) }
}

export function fullSums(ct: ArrayLike<number>, labels: Uint8Array, prediction: Uint8Array | null): Sums {
  const s = emptySums()
  for (let x = 0; x < labels.length; x++) {
    const l = labels[x]!
    const hu = ct[x]!
    s.count[l]!++
    s.sum[l]! += hu
    s.sumSq[l]! += hu * hu
    if (prediction) {
      const p = prediction[x]!
      s.pred[p]!++
      if (p === l) s.inter[l]!++
    }
  }
  return s
}

/** Updates sums for voxels `indices` changing from `before` to `after`. O(changed voxels). */
export function applyChange(s: Sums, ct: ArrayLike<number>, prediction: Uint8Array | null, indices: Uint32Array, before: Uint8Array, after: Uint8Array): void {
  for (let n = 0; n < indices.length; n++) {
    const idx = indices[n]!
    const b = before[n]!, a = after[n]!
    if (a === b) continue
    const hu = ct[idx]!
    s.count[b]!--
    s.sum[b]! -= hu
    s.sumSq[b]! -= hu * hu
    s.count[a]!++
    s.sum[a]! += hu
    s.sumSq[a]! += hu * hu
    if (prediction) {
      const p = prediction[idx]!
      if (p === b) s.inter[b]!--
      if (p === a) s.inter[a]!++
    }
  }
}

export interface LabelFigures {
  value: number
  voxels: number
  volumeMl: number
  meanHu: number | null
  stdHu: number | null
  added: number | null
  removed: number | null
  /** voxels of this value in the prediction (null without one) */
  predicted: number | null
  dice: number | null
}

export function figures(s: Sums, value: number, voxelMm3: number, hasPrediction: boolean): LabelFigures {
  const n = s.count[value]!
  const mean = n > 0 ? s.sum[value]! / n : null
  const variance = n > 0 && mean !== null ? Math.max(0, s.sumSq[value]! / n - mean * mean) : null
  const inter = s.inter[value]!, pred = s.pred[value]!
  return {
    value,
    voxels: n,
    volumeMl: (n * voxelMm3) / 1000,
    meanHu: mean,
    stdHu: variance === null ? null : Math.sqrt(variance),
    added: hasPrediction ? n - inter : null,
    removed: hasPrediction ? pred - inter : null,
    predicted: hasPrediction ? pred : null,
    dice: hasPrediction ? (n + pred > 0 ? (2 * inter) / (n + pred) : 1) : null,
  }
}
