/**
 * The JSON label table written beside a label file. It lists every label of the workspace table,
 * including the organs absent from this case (present: false, voxels: 0): an empty class is a
 * statement ("no spleen"), not something to drop.
 */
import type { LabelTable } from '../cases/schemas.js'
import { histogram } from './common.js'

export interface SidecarLabel {
  value: number
  name: string
  color: [number, number, number]
  snomed: { code: string; meaning: string; scheme: string }
  category: { code: string; meaning: string; scheme: string }
  anatomicRegion?: { code: string; meaning: string; scheme: string }
  source: 'model' | 'team'
  retired: boolean
  present: boolean
  voxels: number
}

export interface LabelSidecar {
  labelTableVersion: number
  background: 0
  labels: SidecarLabel[]
}

export function labelSidecar(table: LabelTable, data: Uint8Array): LabelSidecar {
  const h = histogram(data)
  return {
    labelTableVersion: table.version,
    background: 0,
    labels: table.labels.map((l) => ({
      value: l.value,
      name: l.name,
      color: l.color,
      snomed: l.snomed,
      category: l.category,
      ...(l.anatomicRegion ? { anatomicRegion: l.anatomicRegion } : {}),
      source: l.source,
      retired: l.retired,
      present: h[l.value] > 0,
      voxels: h[l.value],
    })),
  }
}
