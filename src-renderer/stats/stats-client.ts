/** The UI side of the stats worker: forwards changes, writes answers into the stats store. */
import { statsStore, type OrganStats } from '../store/stats-store.js'
import type { StatsReply, StatsRequest } from './stats.worker.js'
import type { Change } from '../editing/session.js'

export class StatsClient {
  private worker: Worker

  constructor() {
    this.worker = new Worker(new URL('./stats.worker.ts', import.meta.url), { type: 'module' })
    this.worker.onmessage = (e: MessageEvent<StatsReply>) => {
      const byValue: Record<number, OrganStats> = {}
      for (const f of e.data.figures) byValue[f.value] = f
      statsStore.setState((s) => ({ byValue, version: s.version + 1, lastUpdateMs: e.data.ms, hasPrediction: e.data.hasPrediction }))
    }
    this.worker.onerror = (e) => console.error('stats worker failed:', e.message)
  }

  private post(m: StatsRequest): void {
    this.worker.postMessage(m)
  }

  init(ct: Int16Array | Float32Array, labels: Uint8Array, prediction: Uint8Array | null, voxelMm3: number, values: number[]): void {
    // copies: the page keeps its own arrays for rendering and tools
    this.post({ type: 'init', ct: ct.slice(), labels: labels.slice(), prediction: prediction ? prediction.slice() : null, voxelMm3, values })
  }

  change(c: Change): void {
    this.post({ type: 'change', indices: c.indices, before: c.before, after: c.after })
  }

  setPrediction(p: Uint8Array | null): void {
    this.post({ type: 'prediction', prediction: p ? p.slice() : null })
  }

  setValues(values: number[]): void {
    this.post({ type: 'values', values })
  }

  dispose(): void {
    this.worker.terminate()
  }
}
