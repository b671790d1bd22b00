/** Worker-thread side of worker-engine.ts: runs one segmentation and reports back. */
import { parentPort } from 'node:worker_threads'
import { createEngine as createInferenceEngine, type EngineProgress, type EngineResult, type SegmentationEngine } from './engine.js'
import type { Volume } from '../volumes/volume.js'

export interface WorkerRequest {
  engineModule?: string
  ct: Volume<Int16Array>
  modelId?: string
  device: 'auto' | 'cpu' | 'gpu' | 'cuda' | 'webgpu'
}

export type WorkerMessage =
  | { type: 'progress'; progress: EngineProgress }
  | { type: 'done'; result: EngineResult }
  | { type: 'error'; name: string; code?: string; message: string }

const port = parentPort
if (port) {
  port.once('message', async (req: WorkerRequest) => {
    try {
      let engine: SegmentationEngine
      if (req.engineModule) {
        const mod = (await import(req.engineModule)) as { createEngine(): SegmentationEngine }
        engine = mod.createEngine()
      } else engine = createInferenceEngine()
      // Cancellation terminates this thread from outside; no signal is needed in here.
      const result = await engine.segment(req.ct, {
        modelId: req.modelId,
        device: req.device,
        signal: new AbortController().signal,
        onProgress: (progress) => port.postMessage({ type: 'progress', progress } satisfies WorkerMessage),
      })
      port.postMessage({ type: 'done', result } satisfies WorkerMessage, [result.labels.buffer as ArrayBuffer])
    } catch (e) {
      const err = e as Error & { code?: string }
      port.postMessage({ type: 'error', name: err.name ?? 'Error', code: err.code, message: err.message ?? String(e) } satisfies WorkerMessage)
    }
  })
}
