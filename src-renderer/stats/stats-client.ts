/** The UI side of the stats worker: forwards changes, writes answers into the stats store. */
import { statsStore, type OrganStats } from '../store/stats-store.js'
import type { Geometry } from '../../src-shared/volume.js'
import type { StatsReply, StatsRequest } from './stats.worker.js'
import type { Change } from '../editing/session.js'

export class StatsClient {
  private worker: Worker

  constructor() {
    this.worker = new Worker(new URL('./stats.worker.ts', import.meta.url), { type: 'module' })
    this.worker.onmessage = (e: MessageEvent<StatsReply>) => {
      const m = e.data
      if (m.type === 'lesions') {
        statsStore.setState((s) => ({ lesions: m.tables, lesionsVersion: s.lesionsVersion + 1, lesionsMs: m.ms }))
        return
      }
      const byValue: Record<number, OrganStats> = {}
      for (const f of m.figures) byValue[f.value] = f
      statsStore.setState((s) => ({ byValue, version: s.version + 1, lastUpdateMs: m.ms, hasPrediction: m.hasPrediction }))
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
    this.lesionsSoon()
  }

  private lesionValues: number[] = []
  private geometry: Geometry | null = null
  private lesionTimer: ReturnType<typeof setTimeout> | undefined

  /** Lesion labels to measure (the lesion table), on this grid; measured now and after edits. */
  trackLesions(values: number[], geometry: Geometry): void {
    this.lesionValues = values
    this.geometry = geometry
    this.lesionsSoon(0)
  }

  /** A pause in the edits, then one measurement (a brush stroke is many dabs). */
  private lesionsSoon(delayMs = 350): void {
    clearTimeout(this.lesionTimer)
    if (!this.lesionValues.length || !this.geometry) {
      if (Object.keys(statsStore.getState().lesions).length) statsStore.setState({ lesions: {} })
      return
    }
    this.lesionTimer = setTimeout(() => this.post({ type: 'lesions', values: this.lesionValues, geometry: this.geometry! }), delayMs)
  }

  setPrediction(p: Uint8Array | null): void {
    this.post({ type: 'prediction', prediction: p ? p.slice() : null })
  }

  setValues(values: number[]): void {
    this.post({ type: 'values', values })
  }

  dispose(): void {
    clearTimeout(this.lesionTimer)
    this.worker.terminate()
  }
}
