/**
 * The run manifest `<dataset>/manifest.json`: one entry per input with its status, and what a later
 * run needs to resume (each case's key = content hash + model id and version). Also the dataset's
 * summary files rebuilt from it: dataset.json + labels.json (nnU-Net) and organ_volumes.csv.
 * Every write is atomic, so a crash or Ctrl+C leaves the previous complete file.
 */
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../util/atomic-write.js'
import { writeDatasetJson } from '../export/nnunet.js'
import type { LabelTable } from '../cases/schemas.js'

export const MANIFEST_FILE = 'manifest.json'
export const VOLUMES_CSV = 'organ_volumes.csv'

const OrganSchema = z.object({ value: z.number(), name: z.string(), voxels: z.number(), volumeMl: z.number(), unsureFraction: z.number().optional() })

export const ManifestCaseSchema = z.object({
  id: z.string(),
  input: z.string(),
  seriesUid: z.string().optional(),
  /** sha256 of the input's bytes; null when the input could not be read */
  contentHash: z.string().nullable(),
  /** "pending": not finished when the run stopped (Ctrl+C, --detach); a final manifest has none */
  status: z.enum(['done', 'failed', 'pending']),
  error: z.string().optional(),
  /** the written labels, relative to the dataset folder */
  labels: z.string().optional(),
  image: z.string().optional(),
  report: z.string().optional(),
  provenance: z.string().optional(),
  organs: z.array(OrganSchema).optional(),
  /** the share above which the model flags an organ for review (its card's calibration) */
  reviewUnsureAbove: z.number().min(0).max(1).optional(),
  /** seconds: reading the CT, the SCN (its stages in `stages`), writing, and the whole case */
  timings: z.object({ read: z.number(), segment: z.number(), write: z.number(), total: z.number(), stages: z.record(z.string(), z.number()) }).optional(),
  warnings: z.array(z.string()),
  provider: z.string().optional(),
  /** host:pid of the process that ran the case */
  worker: z.string().optional(),
  /** how many times the case was started (BullMQ: attempts, including stalled restarts) */
  attempts: z.number().int().min(0),
  finishedAt: z.string().optional(),
})
export type ManifestCase = z.infer<typeof ManifestCaseSchema>

export const ManifestSchema = z.object({
  schema: z.literal(1),
  model: z.object({ id: z.string(), version: z.string() }),
  labelsOnly: z.boolean(),
  /** "embedded" (worker threads of one process) or the queue's redis URL without password */
  runner: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  counts: z.object({ total: z.number(), done: z.number(), failed: z.number(), pending: z.number() }),
  cases: z.array(ManifestCaseSchema),
})
export type Manifest = z.infer<typeof ManifestSchema>

export class ManifestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ManifestError'
  }
}

/** The resume key of a case: its bytes and the exact model that would run on them. */
export function caseKey(contentHash: string, modelId: string, modelVersion: string): string {
  return `${contentHash}:${modelId}@${modelVersion}`
}

/** The previous manifest of a dataset folder, or null when there is none. */
export function readManifest(datasetDir: string): Manifest | null {
  const file = join(datasetDir, MANIFEST_FILE)
  if (!existsSync(file)) return null
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new ManifestError(`${file}: not valid JSON (${(e as Error).message}); move it away to start the dataset afresh`)
  }
  const r = ManifestSchema.safeParse(json)
  if (!r.success) throw new ManifestError(`${file}: not an SCN Studio batch manifest (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`)
  return r.data
}

export function countCases(cases: ManifestCase[]): Manifest['counts'] {
  return {
    total: cases.length,
    done: cases.filter((c) => c.status === 'done').length,
    failed: cases.filter((c) => c.status === 'failed').length,
    pending: cases.filter((c) => c.status === 'pending').length,
  }
}

export async function writeManifest(datasetDir: string, m: Omit<Manifest, 'counts' | 'updatedAt'>): Promise<Manifest> {
  const full: Manifest = { ...m, updatedAt: new Date().toISOString(), counts: countCases(m.cases), cases: m.cases }
  await writeFileAtomic(join(datasetDir, MANIFEST_FILE), JSON.stringify(full, null, 2) + '\n')
  return full
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * organ_volumes.csv: one row per finished case, one column per model organ (mL), then each organ's
 * unsure share (the report's unsureFraction: sort by it to review the doubtful cases first; empty
 * when the engine that ran the case did not report it).
 */
export function organVolumesCsv(table: LabelTable, cases: ManifestCase[]): string {
  const organs = table.labels.filter((l) => l.source === 'model')
  const rows = [['case', 'input', ...organs.map((o) => `${o.name}_ml`), ...organs.map((o) => `${o.name}_unsure`)].map(csvField).join(',')]
  for (const c of cases) {
    if (c.status !== 'done' || !c.organs) continue
    const found = organs.map((o) => c.organs!.find((x) => x.value === o.value))
    const ml = found.map((x) => (x?.volumeMl ?? 0).toFixed(2))
    const unsure = found.map((x) => (x?.unsureFraction === undefined ? '' : x.unsureFraction.toFixed(3)))
    rows.push([c.id, c.input, ...ml, ...unsure].map(csvField).join(','))
  }
  return rows.join('\n') + '\n'
}

/** dataset.json (numTraining = finished cases), labels.json and organ_volumes.csv from the manifest. */
export async function writeDatasetSummary(datasetDir: string, table: LabelTable, cases: ManifestCase[], modelLine: string): Promise<void> {
  const done = cases.filter((c) => c.status === 'done').length
  await writeDatasetJson(datasetDir, table, done, {
    description: `SCN Studio batch pre-segmentation with ${modelLine} (model predictions, not yet reviewed)`,
  })
  await writeFileAtomic(join(datasetDir, VOLUMES_CSV), organVolumesCsv(table, cases))
}
