/**
 * Keeps organ statistics off the UI thread. It receives the CT, the labelmap and the prediction once,
 * then only the changed voxels of each edit, and answers with fresh figures per label. On request it
 * also measures the lesions of lesion labels (connected components, RECIST diameters), from the
 * same synced labelmap.
 */
import { analyseLesions, type LesionRecord } from '../../src-shared/lesion-analysis.js'
import type { Geometry } from '../../src-shared/volume.js'
import { applyChange, figures, fullSums, type LabelFigures, type Sums } from './stats-math.js'

export type StatsRequest =
  | { type: 'init'; ct: Int16Array | Float32Array; labels: Uint8Array; prediction: Uint8Array | null; voxelMm3: number; values: number[] }
  | { type: 'change'; indices: Uint32Array; before: Uint8Array; after: Uint8Array }
  | { type: 'prediction'; prediction: Uint8Array | null }
  | { type: 'values'; values: number[] }
  | { type: 'lesions'; values: number[]; geometry: Geometry }

export type StatsReply =
  | { type: 'stats'; figures: LabelFigures[]; ms: number; hasPrediction: boolean }
  | { type: 'lesions'; tables: Record<number, LesionRecord[]>; ms: number }

let ct: Int16Array | Float32Array | null = null
let labels: Uint8Array | null = null
let prediction: Uint8Array | null = null
let sums: Sums | null = null
let voxelMm3 = 1
let values: number[] = []

function reply(t0: number): void {
  if (!sums) return
  const msg: StatsReply = { type: 'stats', figures: values.map((v) => figures(sums!, v, voxelMm3, prediction !== null)), ms: performance.now() - t0, hasPrediction: prediction !== null }
  postMessage(msg)
}

onmessage = (e: MessageEvent<StatsRequest>) => {
  const t0 = performance.now()
  const m = e.data
  if (m.type === 'init') {
    ct = m.ct
    labels = m.labels
    prediction = m.prediction
    voxelMm3 = m.voxelMm3
    values = m.values
    sums = fullSums(ct, labels, prediction)
  } else if (m.type === 'change') {
    if (!sums || !ct || !labels) return
    applyChange(sums, ct, prediction, m.indices, m.before, m.after)
    for (let n = 0; n < m.indices.length; n++) labels[m.indices[n]!] = m.after[n]!
  } else if (m.type === 'prediction') {
    prediction = m.prediction
    if (ct && labels) sums = fullSums(ct, labels, prediction)
  } else if (m.type === 'values') {
    values = m.values
  } else if (m.type === 'lesions') {
    if (!labels) return
    const tables: Record<number, LesionRecord[]> = {}
    for (const v of m.values) tables[v] = analyseLesions(labels, ct, m.geometry, v)
    postMessage({ type: 'lesions', tables, ms: performance.now() - t0 } satisfies StatsReply)
    return
  }
  reply(t0)
}
