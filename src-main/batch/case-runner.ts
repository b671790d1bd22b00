/**
 * One batch case, start to finish, the same in the embedded pool and in a queue worker: read the CT,
 * run the SCN (runScn: its own worker thread), write the nnU-Net files, the segment report and the
 * provenance record. Every file is written atomically and the labels go last but one (the report,
 * which says the case is complete, is last), so a case killed half-way leaves no half file.
 */
import { hostname } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { z } from 'zod'
import { readCt } from '../volumes/read.js'
import { encodeNifti } from '../volumes/nifti.js'
import { VolumeError } from '../volumes/errors.js'
import { runScn, resolveModel, type SegmentProgress } from '../inference/index.js'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { defaultLabelTable } from '../cases/label-table.js'
import type { LabelTable } from '../cases/schemas.js'
import { writeNnunetCase } from '../export/nnunet.js'
import { provenanceFor, writeJson } from '../export/common.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import type { ManifestCase } from './manifest.js'

/** What a worker needs to run one case: paths only, never volumes (a queue job carries this). */
export interface CaseJob {
  id: string
  input: string
  seriesUid?: string
  contentHash: string
  datasetDir: string
  labelsOnly: boolean
  modelId: string
  modelVersion: string
}

/**
 * A case that cannot succeed however often it is retried (unreadable or not a CT, wrong model):
 * the queue marks it failed at once instead of retrying it with backoff.
 */
export class PermanentCaseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentCaseError'
  }
}

export const WORKER_ID = `${hostname()}:${process.pid}`

/**
 * A job as it arrives from the queue: whoever can write to Redis can write it, so it is checked
 * before any path is built from it. The case id names files inside the dataset (letters, digits,
 * dash, underscore: what batch inputs make), and every path is absolute.
 */
const CaseJobSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a case id is 1-64 letters, digits, dashes or underscores'),
  input: z.string().min(1).refine(isAbsolute, 'the input must be an absolute path'),
  seriesUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID is digits and dots').max(64).optional(),
  contentHash: z.string().min(1),
  datasetDir: z.string().min(1).refine(isAbsolute, 'the dataset folder must be an absolute path'),
  labelsOnly: z.boolean(),
  modelId: z.string().min(1),
  modelVersion: z.string().min(1),
})

/** The job, or a PermanentCaseError saying what is wrong with it (a broken job never succeeds). */
export function checkCaseJob(job: unknown): CaseJob {
  const r = CaseJobSchema.safeParse(job)
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join('.') || 'job'}: ${i.message}`).join('; ')
    throw new PermanentCaseError(`${WORKER_ID}: refused a job that is not a valid case (${what})`)
  }
  return r.data
}

export function caseFiles(datasetDir: string, id: string, labelsOnly: boolean) {
  return {
    labels: join(datasetDir, 'labelsTr', `${id}.nii.gz`),
    image: labelsOnly ? undefined : join(datasetDir, 'imagesTr', `${id}_0000.nii.gz`),
    report: join(datasetDir, 'reports', `${id}.json`),
    provenance: join(datasetDir, 'provenance', `${id}.json`),
  }
}

export function labelTableOf(modelId?: string): LabelTable {
  const model = resolveModel(modelId)
  return defaultLabelTable(model.card.labels, '1970-01-01T00:00:00.000Z')
}

export interface RunCaseOptions {
  device?: DeviceChoice
  signal?: AbortSignal
  onProgress?: (p: SegmentProgress) => void
  attempts?: number
}

export async function runCase(jobData: CaseJob, opts: RunCaseOptions = {}): Promise<ManifestCase> {
  const t0 = performance.now()
  const job = checkCaseJob(jobData)
  let model
  try {
    model = resolveModel(job.modelId)
  } catch (e) {
    throw new PermanentCaseError(`${WORKER_ID}: ${(e as Error).message}`)
  }
  if (model.version !== job.modelVersion) {
    throw new PermanentCaseError(`${WORKER_ID} has model ${model.id} ${model.version} installed, the batch asks for ${job.modelVersion}: install the same version on every worker`)
  }
  let ct
  try {
    ct = await readCt(job.input, { seriesUid: job.seriesUid })
  } catch (e) {
    if (e instanceof VolumeError) throw new PermanentCaseError(e.message)
    throw e
  }
  if (ct.meta.modality && ct.meta.modality !== 'CT') {
    throw new PermanentCaseError(`${job.input}: this series is ${ct.meta.modality}, not CT: the SCN segments CT only`)
  }
  const tRead = performance.now()
  const { labels, report } = await runScn(ct, { modelId: model.id, device: opts.device ?? 'auto', signal: opts.signal, onProgress: opts.onProgress })
  const tSeg = performance.now()

  const files = caseFiles(job.datasetDir, job.id, job.labelsOnly)
  const table = defaultLabelTable(model.card.labels, '1970-01-01T00:00:00.000Z')
  const modelRef = { id: model.id, version: model.version, provider: report.provider }
  const input = { ct, ctPath: job.input, labels, table, prediction: labels.data, model: modelRef }
  if (job.labelsOnly) {
    const geometry = { dims: ct.dims, spacing: ct.spacing, origin: ct.origin, direction: ct.direction }
    await writeFileAtomic(files.labels, encodeNifti({ ...geometry, data: labels.data, meta: {} }))
    await writeJson(files.provenance, { ...provenanceFor(input, 'nnunet-labels', [files.labels]), ignoredValues: [] })
  } else {
    await writeNnunetCase(job.datasetDir, { id: job.id, input })
  }
  const tWrite = performance.now()
  const rel = (f: string | undefined) => (f ? relative(job.datasetDir, f) : undefined)
  const entry: ManifestCase = {
    id: job.id,
    input: job.input,
    ...(job.seriesUid ? { seriesUid: job.seriesUid } : {}),
    contentHash: job.contentHash,
    status: 'done',
    labels: rel(files.labels),
    ...(files.image ? { image: rel(files.image) } : {}),
    report: rel(files.report),
    provenance: rel(files.provenance),
    organs: report.organs,
    ...(report.reviewUnsureAbove !== undefined ? { reviewUnsureAbove: report.reviewUnsureAbove } : {}),
    timings: {
      read: (tRead - t0) / 1000,
      segment: (tSeg - tRead) / 1000,
      write: (tWrite - tSeg) / 1000,
      total: (performance.now() - t0) / 1000,
      stages: report.stageSeconds,
    },
    warnings: report.warnings,
    provider: report.provider,
    worker: WORKER_ID,
    attempts: opts.attempts ?? 1,
    finishedAt: new Date().toISOString(),
  }
  // the segment report, as `scn-studio segment` writes it, plus what the batch knows
  await writeJson(files.report, {
    ...report,
    input: job.input,
    ...(job.seriesUid ? { seriesUid: job.seriesUid } : {}),
    output: files.labels,
    dims: [...ct.dims],
    spacing: [...ct.spacing],
    totalSeconds: entry.timings!.total,
    createdAt: entry.finishedAt,
    caseId: job.id,
    contentHash: job.contentHash,
    worker: WORKER_ID,
    attempts: entry.attempts,
  })
  return entry
}
