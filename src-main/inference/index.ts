/**
 * The SCN engine's public API. runScn() resolves the model, starts a worker thread for the run
 * (session.run() blocks its thread for seconds: docs/runtime-notes.md), relays progress, and terminates the
 * worker when the run ends or is cancelled, which returns all of its memory (ONNX Runtime arenas
 * included) at once.
 */
import { Worker } from 'node:worker_threads'
import type { CtVolume, LabelVolume } from '../../src-shared/volume.js'
import { listModels, resolveModel, type ModelEntry } from './models.js'
import { collectGarbage } from './gc.js'
import { workerScriptUrl } from '../util/worker-url.js'
import type { DeviceChoice } from './onnx-session.js'
import { SegmentCancelledError, type SegmentProgress, type SegmentReport, type SessionPreset } from './types.js'
import type { RunRequest, WorkerMessage } from './worker.js'

export type { SegmentProgress, SegmentReport, SessionPreset, DeviceChoice, ModelEntry }
export { listModels, resolveModel, SegmentCancelledError }
export { STAGES } from './types.js'

export interface RunScnOptions {
  modelId?: string
  device?: DeviceChoice
  signal?: AbortSignal
  onProgress?: (p: SegmentProgress) => void
  /**
   * Hand the CT's voxel buffer to the engine's worker instead of copying it (the caller's
   * ct.data is detached afterwards: for callers that only need the geometry later, such as the
   * CLI; saves one CT-sized copy at the peak, 157 MB for 512x512x300).
   */
  transferCt?: boolean
  /** a worker from prestartEngine(), started while the CT was being read */
  engine?: PrestartedEngine
}

/** An engine worker started ahead of the run: it loads ONNX Runtime while the caller reads the CT. */
export interface PrestartedEngine {
  readonly worker: Worker
  /** set when the worker ended before a run took it (it failed to start) */
  readonly ended: { error?: Error; code?: number } | null
  /**
   * Stops it unused (the CT could not be read). Waits until ONNX Runtime has finished loading in
   * it: a worker terminated while the native addon loads can abort the whole process, so a CLI
   * that exits right after a quick refusal must await this first.
   */
  dispose(): Promise<void>
}

/** How long dispose() waits for a starting worker before stopping it anyway. */
const READY_WAIT_MS = 60_000

function startWorker(): Worker {
  const worker = new Worker(workerScriptUrl('./worker-entry.mjs', import.meta.url))
  live.add(worker)
  worker.once('exit', () => live.delete(worker))
  return worker
}

/**
 * Starts the engine's worker now (its module graph and ONNX Runtime load on another core while
 * the caller reads the CT: ~0.15 s of a CLI run, issue 15). Give it to runScn as `engine`.
 */
export function prestartEngine(): PrestartedEngine {
  const worker = startWorker()
  const settled = new Promise<void>((resolve) => {
    worker.on('message', (msg: WorkerMessage) => msg.type === 'ready' && resolve())
    worker.once('exit', () => resolve())
  })
  const engine = {
    worker,
    ended: null as PrestartedEngine['ended'],
    dispose: async () => {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, READY_WAIT_MS)))])
      clearTimeout(timer)
      await worker.terminate()
    },
  }
  // until runScn takes it over, an error of the idle worker is kept for it to report
  worker.on('error', (error: Error) => (engine.ended = { ...engine.ended, error }))
  worker.once('exit', (code) => (engine.ended = { ...engine.ended, code }))
  return engine
}

export function runScn(ct: CtVolume, opts: RunScnOptions = {}): Promise<{ labels: LabelVolume; report: SegmentReport }> {
  return runScnWith(ct, opts)
}

/** runScn with engine-internal knobs (the benchmark compares session presets). */
export async function runScnWith(
  ct: CtVolume,
  opts: RunScnOptions & { sessionPreset?: SessionPreset },
): Promise<{ labels: LabelVolume; report: SegmentReport }> {
  if (opts.signal?.aborted) {
    void opts.engine?.dispose()
    throw new SegmentCancelledError()
  }
  if (opts.engine?.ended) {
    const e = opts.engine.ended
    throw new Error(`the segmentation worker stopped before the run (${e.error?.message ?? `exit code ${e.code}`})`)
  }
  let model
  try {
    model = resolveModel(opts.modelId)
  } catch (e) {
    void opts.engine?.dispose()
    throw e
  }
  // garbage from reading the CT (the file's bytes) would otherwise stay resident through the run
  collectGarbage()
  const worker = opts.engine?.worker ?? startWorker()
  // Cancellation is cooperative: terminating a worker while ONNX Runtime is inside a native call
  // (session creation or run) can abort the whole process from a native thread. So an abort sets
  // this shared flag and the caller's promise rejects at once; the worker notices the flag at the
  // next step (at most one in-flight session.run later), answers 'cancelled', and is terminated
  // then, which frees all of its memory.
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4))
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (err: Error | null, value?: { labels: LabelVolume; report: SegmentReport }) => {
      if (settled) return
      settled = true
      opts.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(value!)
    }
    const onAbort = () => {
      Atomics.store(cancelFlag, 0, 1)
      finish(new SegmentCancelledError())
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') return // loaded; the run request below is already queued
      // the worker is idle after any of these: no native call in flight, safe to stop
      if (msg.type !== 'progress') void worker.terminate()
      if (settled) return
      if (msg.type === 'progress') opts.onProgress?.(msg.progress)
      else if (msg.type === 'result') finish(null, { labels: msg.labels, report: msg.report })
      else if (msg.type === 'cancelled') finish(new SegmentCancelledError())
      else if (msg.type === 'error') {
        const e = new Error(msg.message)
        e.name = msg.name
        finish(e)
      }
    })
    worker.on('error', (e) => finish(e instanceof Error ? e : new Error(String(e))))
    worker.on('exit', (code) => finish(new Error(`the segmentation worker stopped unexpectedly (exit code ${code})`)))
    const req: RunRequest = {
      type: 'run',
      // geometry + voxels only: structured clone copies the voxels into the worker (unless transferCt)
      ct: { dims: ct.dims, spacing: ct.spacing, origin: ct.origin, direction: ct.direction, data: ct.data, meta: { ...ct.meta } },
      model: { dir: model.dir, card: model.card },
      device: opts.device ?? 'auto',
      sessionPreset: opts.sessionPreset ?? 'low-memory',
      cancelFlag,
    }
    worker.postMessage(req, opts.transferCt ? [ct.data.buffer as ArrayBuffer] : [])
  })
}

const live = new Set<Worker>()
/** Engine workers still alive (a cancelled run's worker lives until its in-flight native step ends). */
export function liveWorkers(): number {
  return live.size
}
