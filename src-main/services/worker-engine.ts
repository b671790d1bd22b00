/**
 * Runs an engine's `segment` in a worker thread: session.run() blocks its thread for the whole run
 * (DESIGN §4), and the host's thread must keep answering IPC/HTTP and forwarding progress. One
 * worker per run: when it ends (done, failed or cancelled) the thread and all its memory go away.
 * Model listing is cheap and stays on the calling thread.
 */
import { Worker } from 'node:worker_threads'
import { ContractError } from '../contract/errors.js'
import { inferenceEngine, type EngineResult, type SegmentationEngine } from './engine.js'
import type { WorkerRequest, WorkerMessage } from './engine-worker.js'

export interface WorkerEngineOptions {
  /** module exporting createEngine(): SegmentationEngine (default: the real inference engine) */
  engineModule?: string
  /** the worker script (the Electron bundle passes its own built file) */
  workerScript?: URL
}

function defaultWorkerScript(): URL {
  const self = import.meta.url
  // In development the sources are .ts and need a tsx bootstrap; the Electron bundle ships a built worker.
  return new URL(self.endsWith('.ts') ? './engine-worker-dev.mjs' : './engine-worker.mjs', self)
}

export function workerEngine(opts: WorkerEngineOptions = {}): SegmentationEngine {
  const script = opts.workerScript ?? defaultWorkerScript()
  return {
    segment(ct, o) {
      return new Promise<EngineResult>((resolve, reject) => {
        if (o.signal.aborted) return reject(Object.assign(new Error('cancelled'), { name: 'AbortError' }))
        const worker = new Worker(script)
        let settled = false
        const finish = (fn: () => void) => {
          if (settled) return
          settled = true
          o.signal.removeEventListener('abort', onAbort)
          void worker.terminate()
          fn()
        }
        const onAbort = () => finish(() => reject(Object.assign(new Error('cancelled'), { name: 'AbortError' })))
        o.signal.addEventListener('abort', onAbort)
        worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'progress') o.onProgress(m.progress)
          else if (m.type === 'done') finish(() => resolve(m.result))
          else if (m.type === 'error') finish(() => reject(m.name === 'ContractError' ? new ContractError(m.code as never, m.message) : Object.assign(new Error(m.message), { name: m.name })))
        })
        worker.on('error', (e) => finish(() => reject(e)))
        worker.on('exit', (code) => finish(() => reject(new Error(`the segmentation worker stopped unexpectedly (exit code ${code})`))))
        const { data, meta, ...geometry } = ct
        const request: WorkerRequest = { engineModule: opts.engineModule, ct: { ...geometry, data, meta }, modelId: o.modelId, device: o.device }
        worker.postMessage(request)
      })
    },
    listModels: () => inferenceEngine().listModels(),
  }
}
