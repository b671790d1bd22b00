/**
 * What a batch run has to do, decided the same way for the embedded pool and the queue: discover the
 * cases, hash them, and hold them against the dataset's previous manifest. A case whose key (content
 * hash + model id and version) is already done, with its labels on disk, is skipped; one that failed
 * is kept failed unless --retry-failed. Entries of earlier runs that are not among today's inputs
 * stay in the manifest: their files are still in the dataset.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { caseContentHash, discoverCases, type BatchCase } from './inputs.js'
import { caseKey, readManifest, type Manifest, type ManifestCase } from './manifest.js'
import type { CaseJob } from './case-runner.js'

export interface BatchPlan {
  /** every case of the dataset in manifest order: carried over, failed before hashing, or to run */
  entries: ManifestCase[]
  /** the cases to run now (their entries are 'pending' in `entries`) */
  todo: CaseJob[]
  skippedDone: number
  keptFailed: number
  notes: string[]
  previous: Manifest | null
}

export interface PlanOptions {
  inputs: string[]
  datasetDir: string
  labelsOnly: boolean
  modelId: string
  modelVersion: string
  retryFailed: boolean
}

export async function planBatch(o: PlanOptions): Promise<BatchPlan> {
  const { cases, notes } = discoverCases(o.inputs)
  const previous = readManifest(o.datasetDir)
  const sameSettings = previous && previous.labelsOnly === o.labelsOnly
  const prevByKey = new Map<string, ManifestCase>()
  const prevById = new Map<string, ManifestCase>()
  if (previous) {
    for (const c of previous.cases) {
      prevById.set(c.id, c)
      if (c.contentHash && sameSettings) prevByKey.set(caseKey(c.contentHash, previous.model.id, previous.model.version), c)
    }
  }
  const entries = new Map<string, ManifestCase>()
  // earlier entries first (their ids are taken), today's decide below
  if (previous) for (const c of previous.cases) if (c.status === 'done') entries.set(c.id, c)
  const todo: CaseJob[] = []
  let skippedDone = 0
  let keptFailed = 0
  const pendingEntry = (c: BatchCase, id: string, contentHash: string | null): ManifestCase => ({
    id,
    input: c.input,
    ...(c.seriesUid ? { seriesUid: c.seriesUid } : {}),
    contentHash,
    status: 'pending',
    warnings: [],
    attempts: 0,
  })
  for (const c of cases) {
    let hash: string
    try {
      hash = await caseContentHash(c)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'the file or folder does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? (e as Error).message})`
      entries.set(c.id, { ...pendingEntry(c, c.id, null), status: 'failed', error: `${c.input}: ${why}`, finishedAt: new Date().toISOString() })
      continue
    }
    const prev = prevByKey.get(caseKey(hash, o.modelId, o.modelVersion))
    if (prev?.status === 'done' && prev.labels && existsSync(join(o.datasetDir, prev.labels))) {
      entries.set(prev.id, prev)
      skippedDone++
      continue
    }
    if (prev?.status === 'failed' && !o.retryFailed) {
      entries.set(prev.id, prev)
      keptFailed++
      continue
    }
    // same key as before keeps its id; a different input under an id taken by a finished case gets
    // a suffix rather than overwriting that case
    let id = prev?.id ?? c.id
    const holder = entries.get(id) ?? prevById.get(id)
    if (!prev && holder && holder.input !== c.input) id = `${c.id}_${hash.slice(0, 6)}`
    const entry = pendingEntry(c, id, hash)
    if (prev) entry.attempts = prev.attempts
    entries.set(id, entry)
    todo.push({ id, input: c.input, ...(c.seriesUid ? { seriesUid: c.seriesUid } : {}), contentHash: hash, datasetDir: o.datasetDir, labelsOnly: o.labelsOnly, modelId: o.modelId, modelVersion: o.modelVersion })
  }
  return { entries: [...entries.values()], todo, skippedDone, keptFailed, notes, previous }
}
