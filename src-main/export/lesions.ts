/**
 * Lesion table: one row per lesion (connected component) of every lesion label of a case, i.e.
 * every label whose category is Morphologically Altered Structure (SNOMED 49755003), with volume,
 * RECIST-style axial diameters, mean HU, the slice measured and the centroid. The measurements and
 * their conventions (6-connectivity, diameters edge to edge on the painted mask, axial = the index
 * axis closest to world z) are src-shared/lesion-analysis.ts's. Written as lesions.csv/json beside
 * organ-volumes.csv, only when the table has a lesion label.
 */
import { analyseLesions, type LesionConnectivity } from '../../src-shared/lesion-analysis.js'
import type { Vec3 } from '../../src-shared/volume.js'
import { isLesion } from '../cases/label-table.js'
import type { LabelTable } from '../cases/schemas.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import type { LabelExportInput } from './common.js'

/** The connectivity of the exported lesion table (Slicer's Islands; see lesion-analysis.ts). */
export const LESION_CONNECTIVITY: LesionConnectivity = 6

export interface LesionRow {
  case: string
  value: number
  label: string
  /** 1-based lesion number within its label, largest first */
  lesion: number
  voxels: number
  volumeMl: number
  longestAxialMm: number
  perpendicularMm: number
  /** null without a CT value (never in a workspace export: every case has its CT) */
  meanHu: number | null
  /** 1-based slice number along the axial index axis (the one closest to world z) */
  slice: number
  /** LPS millimetres */
  centroidLps: Vec3
}

/** Whether a table has any lesion label (retired ones included): then exports write lesions.csv. */
export function hasLesionLabels(table: LabelTable): boolean {
  return table.labels.some(isLesion)
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits

/** The lesions of every lesion label of `input`, label by label (value order), largest first. */
export function lesionReport(caseId: string, input: LabelExportInput): LesionRow[] {
  const rows: LesionRow[] = []
  for (const l of [...input.table.labels].filter(isLesion).sort((a, b) => a.value - b.value)) {
    for (const r of analyseLesions(input.labels.data, input.ct.data, input.labels, l.value, { connectivity: LESION_CONNECTIVITY })) {
      rows.push({
        case: caseId,
        value: l.value,
        label: l.name,
        lesion: r.index,
        voxels: r.voxels,
        volumeMl: round(r.volumeMl, 3),
        longestAxialMm: round(r.longestAxialMm, 1),
        perpendicularMm: round(r.perpendicularMm, 1),
        meanHu: r.meanHu === null ? null : round(r.meanHu, 1),
        slice: r.sliceIndex + 1,
        centroidLps: r.centroidLps.map((x) => round(x, 1)) as Vec3,
      })
    }
  }
  return rows
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const LESION_CSV_HEADER = ['case', 'value', 'label', 'lesion', 'voxels', 'volume_ml', 'longest_axial_mm', 'perpendicular_mm', 'mean_hu', 'slice_1based', 'centroid_x_lps_mm', 'centroid_y_lps_mm', 'centroid_z_lps_mm']

export function lesionsCsv(rows: LesionRow[]): string {
  const lines = rows.map((r) => [r.case, r.value, r.label, r.lesion, r.voxels, r.volumeMl, r.longestAxialMm, r.perpendicularMm, r.meanHu, r.slice, ...r.centroidLps].map(csvCell).join(','))
  return [LESION_CSV_HEADER.join(','), ...lines].join('\n') + '\n'
}

/** Writes <stem>.csv and <stem>.json (atomically, as the organ report). */
export async function writeLesionReport(stem: string, rows: LesionRow[]): Promise<string[]> {
  const conventions = {
    connectivity: LESION_CONNECTIVITY,
    slice: '1-based, along the index axis closest to world z (the axial slices)',
    diameters: 'RECIST-style on the axial slice with the longest axis: long axis and the longest chord perpendicular to it, edge to edge on the painted mask (centre-to-centre length plus one voxel spacing along the line), mm',
    centroid: 'LPS, mm',
  }
  await writeFileAtomic(`${stem}.csv`, lesionsCsv(rows))
  await writeFileAtomic(`${stem}.json`, JSON.stringify({ conventions, rows }, null, 2) + '\n')
  return [`${stem}.csv`, `${stem}.json`]
}
