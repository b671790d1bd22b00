/**
 * Voxel statistics of labelmaps: per-label counts and content hashes (to tell which organs a save
 * changed), and prediction-vs-final edit figures (voxels added/removed, Dice) for provenance.
 * One pass over the voxels each, no allocation per voxel: these run on every autosave.
 */
export interface LabelStat {
  voxels: number
  /** 64-bit content hash (hex) of the set of voxel indices holding the label */
  hash: string
}

/** Count and hash of every non-zero label present. */
export function labelStats(data: Uint8Array): Record<string, LabelStat> {
  const count = new Float64Array(256)
  const h1 = new Uint32Array(256).fill(0x811c9dc5)
  const h2 = new Uint32Array(256).fill(0x01000193)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (v === 0) continue
    count[v]++
    h1[v] = Math.imul(h1[v] ^ i, 0x01000193)
    h2[v] = Math.imul(h2[v] ^ (i >>> 3) ^ (i << 7), 0x5bd1e995) + i
  }
  const out: Record<string, LabelStat> = {}
  for (let v = 1; v < 256; v++) {
    if (count[v] > 0) out[String(v)] = { voxels: count[v], hash: h1[v].toString(16).padStart(8, '0') + (h2[v] >>> 0).toString(16).padStart(8, '0') }
  }
  return out
}

export interface OrganEdit {
  value: number
  /** voxels of this label in the model prediction */
  predictedVoxels: number
  /** voxels of this label in the final labels */
  finalVoxels: number
  /** voxels that became this label */
  added: number
  /** voxels that stopped being this label */
  removed: number
  /** 2|P∩F| / (|P|+|F|); null when the label is absent from both */
  dice: number | null
}

/** Per-label changes from `prediction` to `final` for every value in `values`. */
export function editStats(prediction: Uint8Array | undefined, final: Uint8Array, values: number[]): OrganEdit[] {
  if (prediction && prediction.length !== final.length) throw new Error(`the prediction has ${prediction.length} voxels but the labels have ${final.length}; they are not on the same grid`)
  const pred = new Float64Array(256)
  const fin = new Float64Array(256)
  const both = new Float64Array(256)
  for (let i = 0; i < final.length; i++) {
    const f = final[i]
    const p = prediction ? prediction[i] : 0
    pred[p]++
    fin[f]++
    if (p === f) both[p]++
  }
  return values.map((v) => {
    const P = pred[v]
    const F = fin[v]
    const I = both[v]
    return { value: v, predictedVoxels: P, finalVoxels: F, added: F - I, removed: P - I, dice: P + F === 0 ? null : (2 * I) / (P + F) }
  })
}
