/**
 * Exports driven from the workspace: one case in any format, or the whole workspace as one
 * nnU-Net dataset with an organ volume report. The hosts call these; the CLI too.
 */
import { join } from 'node:path'
import { readCtOffThread } from '../volumes/read-thread.js'
import type { Workspace } from '../cases/workspace.js'
import { unapprovedValues, deriveStatus } from '../cases/review.js'
import type { CaseStatus } from '../cases/schemas.js'
import type { ExportFormat } from '../../src-shared/contract/schemas.js'
import { ExportError, checkTargets, sourcesOf, type LabelExportInput, type TargetOptions } from './common.js'
import { exportNiftiLabels } from './nifti-labels.js'
import { exportNnunetDataset, type NnunetCase } from './nnunet.js'
import { exportDicomSeg } from './dicom-seg.js'
import { exportSegNrrd } from './seg-nrrd.js'
import { organReport, writeOrganReport, type ReportRow } from './report.js'
import { hasLesionLabels, lesionReport, writeLesionReport, type LesionRow } from './lesions.js'

export type { ExportFormat }

/** Everything an export needs from a case: CT, current labels, prediction, review. */
export async function caseExportInput(ws: Workspace, id: string): Promise<LabelExportInput> {
  const c = await ws.readCase(id)
  const ctPath = ws.ctPath(c)
  // off the host's main thread: an export of a large CT must not stall the app's other calls
  const ct = await readCtOffThread(ctPath, { seriesUid: c.ct.seriesUid }).catch((e) => {
    throw new ExportError(`case ${id}: its CT cannot be read (${(e as Error).message}); was it moved?`)
  })
  const labels = await ws.readCurrentLabels(id)
  const prediction = await ws.readPrediction(id)
  return { ct, ctPath, labels: { ...labels, meta: { sourcePath: ws.labelsPath(id) } }, table: ws.labelTable, prediction: prediction?.data, model: c.prediction?.model, caseFile: c, annotators: c.annotators }
}

export interface ExportOptions extends TargetOptions {
  caseId?: string
  ignoreUnapproved?: boolean
  /** dicom-seg: write the CT as a new DICOM series (new study) that the SEG references */
  newStudy?: boolean
}

/** What an nnU-Net dataset export of these case ids into `out` writes (lesions.csv/json when the table has a lesion label). */
export function nnunetTargets(out: string, caseIds: string[], withLesions = false): string[] {
  return [
    ...caseIds.flatMap((id) => [join(out, 'imagesTr', `${id}_0000.nii.gz`), join(out, 'labelsTr', `${id}.nii.gz`), join(out, 'provenance', `${id}.json`)]),
    join(out, 'dataset.json'),
    join(out, 'labels.json'),
    join(out, 'organ-volumes.csv'),
    join(out, 'organ-volumes.json'),
    ...(withLesions ? [join(out, 'lesions.csv'), join(out, 'lesions.json')] : []),
  ]
}

/**
 * Exports the labels of input in `format` to `out` (a file, or a folder for nnunet). Refuses,
 * before writing anything, targets that exist (unless opts.overwrite) or that are or lie inside
 * the CT, the labels file or another opened source (opts.protect).
 */
export async function exportLabels(input: LabelExportInput, format: ExportFormat, out: string, opts: ExportOptions = {}): Promise<string[]> {
  if (opts.newStudy && format !== 'dicom-seg') throw new ExportError(`a new study is a DICOM SEG option; the ${format} export writes no DICOM`)
  switch (format) {
    case 'nifti':
      return exportNiftiLabels(input, out, opts)
    case 'seg-nrrd':
      return exportSegNrrd(input, out, opts)
    case 'dicom-seg':
      return exportDicomSeg(input, out, opts)
    case 'nnunet': {
      const id = opts.caseId ?? input.caseFile?.id ?? 'case_001'
      const withLesions = hasLesionLabels(input.table)
      checkTargets(nnunetTargets(out, [id], withLesions), sourcesOf(input), opts)
      const unapproved = input.caseFile ? unapprovedValues(input.caseFile, input.table) : []
      const files = await exportNnunetDataset(out, [{ id, input, unapproved }], { ignoreUnapproved: opts.ignoreUnapproved })
      files.push(...(await writeOrganReport(join(out, 'organ-volumes'), organReport(id, input))))
      if (withLesions) files.push(...(await writeLesionReport(join(out, 'lesions'), lesionReport(id, input))))
      return files
    }
  }
}

/** What an export may never write into or over: the workspace's cases (every case's labels, prediction and case.json). */
export function workspaceFiles(ws: Workspace): NonNullable<TargetOptions['managed']> {
  return [{ path: join(ws.dir, 'cases'), what: "the workspace's cases" }]
}

export async function exportCase(ws: Workspace, id: string, format: ExportFormat, out: string, opts: Omit<ExportOptions, 'caseId'> = {}): Promise<string[]> {
  // write what the editor holds first, so the export is what the user sees
  await ws.sessions.get(id)?.flush()
  return exportLabels(await caseExportInput(ws, id), format, out, { caseId: id, ...opts, managed: [...workspaceFiles(ws), ...(opts.managed ?? [])] })
}

export interface WorkspaceExportOptions extends TargetOptions {
  ignoreUnapproved?: boolean
  /** which cases to include (default: in progress and reviewed; "to do" cases have no human labels yet) */
  statuses?: CaseStatus[]
}

/**
 * The whole workspace as one nnU-Net dataset, plus organ-volumes.csv/json over all cases and,
 * when the label table has a lesion label, lesions.csv/json (one row per lesion of every case).
 */
export async function exportWorkspace(ws: Workspace, out: string, opts: WorkspaceExportOptions = {}): Promise<{ files: string[]; cases: string[] }> {
  const statuses = opts.statuses ?? ['in-progress', 'reviewed']
  for (const s of ws.sessions.values()) await s.flush()
  const cases: NnunetCase[] = []
  const rows: ReportRow[] = []
  const lesionRows: LesionRow[] = []
  const withLesions = hasLesionLabels(ws.labelTable)
  for (const id of (await ws.caseIds()).sort()) {
    const c = await ws.readCase(id)
    if (!statuses.includes(deriveStatus(c, ws.labelTable))) continue
    const input = await caseExportInput(ws, id)
    cases.push({ id, input, unapproved: unapprovedValues(c, ws.labelTable) })
    rows.push(...organReport(id, input))
    if (withLesions) lesionRows.push(...lesionReport(id, input))
  }
  if (cases.length === 0) throw new ExportError(`${ws.dir}: no cases with status ${statuses.join(' or ')} to export`)
  checkTargets(nnunetTargets(out, cases.map((c) => c.id), withLesions), cases.flatMap((c) => sourcesOf(c.input)), { ...opts, managed: [...workspaceFiles(ws), ...(opts.managed ?? [])] })
  const files = await exportNnunetDataset(out, cases, { ignoreUnapproved: opts.ignoreUnapproved, name: ws.name })
  files.push(...(await writeOrganReport(join(out, 'organ-volumes'), rows)))
  if (withLesions) files.push(...(await writeLesionReport(join(out, 'lesions'), lesionRows)))
  return { files, cases: cases.map((c) => c.id) }
}
