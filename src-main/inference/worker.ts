/**
 * The engine's worker: receives one run request, runs the pipeline, posts progress and the result.
 * Transport-agnostic (`serve` takes a post/receive pair) so the same code can sit behind
 * worker_threads' parentPort now and Electron's utilityProcess parentPort in the packaged app.
 */
import { parentPort } from 'node:worker_threads'
import type { CtVolume } from '../../src-shared/volume.js'
import { runPipeline, type PipelineModel } from './pipeline.js'
import type { DeviceChoice } from './onnx-session.js'
import { SegmentCancelledError, type SegmentProgress, type SegmentReport, type SessionPreset } from './types.js'
import type { LabelVolume } from '../../src-shared/volume.js'

export interface RunRequest {
  type: 'run'
  ct: CtVolume
  model: PipelineModel
  device: DeviceChoice
  sessionPreset: SessionPreset
  /** [0] becomes 1 when the caller cancels */
  cancelFlag: Int32Array
}

export type WorkerMessage =
  /** the module graph (ONNX Runtime's native addon included) has loaded: stopping it is safe from now */
  | { type: 'ready' }
  | { type: 'progress'; progress: SegmentProgress }
  | { type: 'result'; labels: LabelVolume; report: SegmentReport }
  | { type: 'cancelled' }
  | { type: 'error'; name: string; message: string }

export interface Transport {
  post(msg: WorkerMessage, transfer?: ArrayBuffer[]): void
  onMessage(cb: (msg: RunRequest) => void): void
}

export function serve(t: Transport): void {
  t.post({ type: 'ready' })
  t.onMessage(async (req) => {
    if (req?.type !== 'run') return
    try {
      const { labels, report } = await runPipeline(req.ct, req.model, {
        device: req.device,
        sessionPreset: req.sessionPreset,
        releaseCt: true,
        isCancelled: () => Atomics.load(req.cancelFlag, 0) === 1,
        onProgress: (progress) => t.post({ type: 'progress', progress }),
      })
      t.post({ type: 'result', labels, report }, [labels.data.buffer as ArrayBuffer])
    } catch (e) {
      if (e instanceof SegmentCancelledError) {
        t.post({ type: 'cancelled' })
        return
      }
      const err = e as Error
      t.post({ type: 'error', name: err?.name ?? 'Error', message: String(err?.message ?? e) })
    }
  })
}

interface ElectronParentPort {
  postMessage(msg: unknown): void
  on(event: 'message', cb: (e: { data: RunRequest }) => void): void
}

if (parentPort) {
  const port = parentPort
  serve({ post: (msg, transfer) => port.postMessage(msg, transfer ?? []), onMessage: (cb) => port.on('message', cb) })
} else {
  // Electron utilityProcess: a separate process, so the host may simply kill it to cancel (the
  // shared cancel flag arrives as a copy there and is never set).
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort
  if (electronPort) serve({ post: (msg) => electronPort.postMessage(msg), onMessage: (cb) => electronPort.on('message', (e) => cb(e.data)) })
}
