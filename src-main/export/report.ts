/**
 * Organ volume report: one row per case and label (absent organs included, volume 0), with
 * volume in mL, mean HU inside the label, who reviewed it and which model predicted it.
 */
import { writeFileAtomic } from '../util/atomic-write.js'
import type { LabelExportInput } from './common.js'

export interface ReportRow {
  case: string
  organ: string
  value: number
  voxels: number
  volumeMl: number
  /** null when the organ is absent */
  meanHu: number | null
  reviewedBy: string
  reviewState: string
  model: string
}

export function organReport(caseId: string, input: LabelExportInput): ReportRow[] {
  const { ct, labels } = input
  const n = new Float64Array(256)
  const sum = new Float64Array(256)
  for (let i = 0; i < labels.data.length; i++) {
    const v = labels.data[i]
    n[v]++
    sum[v] += ct.data[i]
  }
  const voxelMl = (ct.spacing[0] * ct.spacing[1] * ct.spacing[2]) / 1000
  const model = input.model ?? input.caseFile?.prediction?.model
  return input.table.labels
    .filter((l) => !l.retired || n[l.value] > 0)
    .map((l) => {
      const r = input.caseFile?.review[String(l.value)]
      return {
        case: caseId,
        organ: l.name,
        value: l.value,
        voxels: n[l.value],
        volumeMl: Math.round(n[l.value] * voxelMl * 1000) / 1000,
        meanHu: n[l.value] > 0 ? Math.round((sum[l.value] / n[l.value]) * 10) / 10 : null,
        reviewedBy: r?.state === 'approved' || r?.state === 'flagged' ? (r.reviewer ?? '') : '',
        reviewState: r?.state ?? 'pending',
        model: model ? `${model.id} ${model.version}` : '',
      }
    })
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function reportCsv(rows: ReportRow[]): string {
  const head = ['case', 'organ', 'value', 'voxels', 'volume_ml', 'mean_hu', 'reviewed_by', 'review_state', 'model']
  const lines = rows.map((r) => [r.case, r.organ, r.value, r.voxels, r.volumeMl, r.meanHu, r.reviewedBy, r.reviewState, r.model].map(csvCell).join(','))
  return [head.join(','), ...lines].join('\n') + '\n'
}

/** Writes <stem>.csv and <stem>.json. */
export async function writeOrganReport(stem: string, rows: ReportRow[]): Promise<string[]> {
  await writeFileAtomic(`${stem}.csv`, reportCsv(rows))
  await writeFileAtomic(`${stem}.json`, JSON.stringify({ rows }, null, 2) + '\n')
  return [`${stem}.csv`, `${stem}.json`]
}
