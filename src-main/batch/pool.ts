/**
 * The embedded runner: an in-process queue drained by a pool of slots, each running one case at a
 * time in its own engine worker thread (runScn). The pool is sized to the machine: no more slots
 * than cores, and one slot per GB of memory budget (a 512x512x300 case peaks near 1 GB with the
 * low-memory session options), so a big batch cannot run the machine out of memory.
 */
import { availableParallelism, freemem, totalmem } from 'node:os'
import { readdirSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { liveWorkers, SegmentCancelledError } from '../inference/index.js'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { runCase, type CaseJob } from './case-runner.js'
import type { ManifestCase } from './manifest.js'

export const BYTES_PER_LARGE_CASE = 2 ** 30

export interface PoolSize {
  slots: number
  why: string
}

/** Slots for the embedded pool: min(cores, memory budget / 1 GB, cases), at least 1. */
export function embeddedPoolSize(cases: number, requested?: number, mem = { free: freemem(), total: totalmem() }, cores = availableParallelism()): PoolSize {
  // keep a quarter of the free memory (and at least 1 GB) for the rest of the machine
  const budget = Math.max(0, Math.min(mem.free * 0.75, mem.free - BYTES_PER_LARGE_CASE))
  const byMemory = Math.max(1, Math.floor(budget / BYTES_PER_LARGE_CASE))
  const auto = Math.max(1, Math.min(cores, byMemory, Math.max(1, cases)))
  const why = `${cores} cores, ${(mem.free / 2 ** 30).toFixed(1)} of ${(mem.total / 2 ** 30).toFixed(1)} GB free (1 GB per 512x512x300 case)`
  if (requested && requested > 0) {
    return { slots: requested, why: requested > byMemory ? `--concurrency ${requested} (more than the ${byMemory} the memory budget allows: ${why})` : `--concurrency ${requested}` }
  }
  return { slots: auto, why }
}

export interface PoolCallbacks {
  onStart?: (job: CaseJob) => void
  onFinish: (entry: ManifestCase) => void
}

export interface PoolOptions {
  slots: number
  device?: DeviceChoice
  /** stop starting new cases (the running ones finish) */
  stop: AbortSignal
  /** cancel the running cases too (they stay pending) */
  abandon: AbortSignal
}

/** Runs the jobs; resolves when every job has finished or the run was stopped. */
export async function runPool(jobs: CaseJob[], opts: PoolOptions, cb: PoolCallbacks): Promise<{ finished: number; stopped: boolean }> {
  let next = 0
  let finished = 0
  const slot = async () => {
    while (next < jobs.length && !opts.stop.aborted && !opts.abandon.aborted) {
      const job = jobs[next++]
      cb.onStart?.(job)
      const t0 = performance.now()
      try {
        const entry = await runCase(job, { device: opts.device, signal: opts.abandon })
        finished++
        cb.onFinish(entry)
      } catch (e) {
        if (e instanceof SegmentCancelledError || opts.abandon.aborted) continue
        finished++
        cb.onFinish(failedEntry(job, e as Error, (performance.now() - t0) / 1000))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.slots) }, slot))
  // a cancelled run's engine thread lives until its in-flight native step ends; exiting under it
  // could abort the process, so wait for it
  const t = Date.now()
  while (liveWorkers() > 0 && Date.now() - t < 120_000) await new Promise((r) => setTimeout(r, 50))
  return { finished, stopped: next < jobs.length || opts.abandon.aborted }
}

export function failedEntry(job: CaseJob, e: Error, seconds: number, extra: Partial<ManifestCase> = {}): ManifestCase {
  const msg = e.name === 'PermanentCaseError' || e.name === 'VolumeError' ? e.message : `${job.input}: segmentation failed: ${e.message}`
  return {
    id: job.id,
    input: job.input,
    ...(job.seriesUid ? { seriesUid: job.seriesUid } : {}),
    contentHash: job.contentHash,
    status: 'failed',
    error: msg,
    timings: { read: 0, segment: 0, write: 0, total: seconds, stages: {} },
    warnings: [],
    attempts: 1,
    finishedAt: new Date().toISOString(),
    ...extra,
  }
}

/**
 * Removes the temporary files an atomic write leaves when its process is killed between writing and
 * renaming (`.<name>.<pid>.<hex>.tmp`), so nothing half-written stays in the dataset folder. Only
 * called when no case of the dataset is being written; the calling process's own temporary files
 * (a manifest write still in flight) are never litter.
 */
export function sweepTempFiles(datasetDir: string): number {
  let n = 0
  for (const sub of ['', 'imagesTr', 'labelsTr', 'reports', 'provenance']) {
    let names: string[]
    try {
      names = readdirSync(join(datasetDir, sub))
    } catch {
      continue
    }
    for (const name of names) {
      const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name)
      if (!m || Number(m[1]) === process.pid) continue
      try {
        unlinkSync(join(datasetDir, sub, name))
        n++
      } catch {
        /* already gone */
      }
    }
  }
  return n
}
