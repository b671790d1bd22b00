/**
 * A deterministic segmentation engine for host tests: labels by HU windows around the phantom's
 * organ intensities, in steps that report progress and honour cancellation. It tests the plumbing
 * (events, cancel, labelmap storage), not the model; the model's own tests live with src-main/inference.
 */
import { PHANTOM_HU } from '../../src-shared/phantom.js'
import type { SegmentationEngine } from '../../src-main/services/engine.js'

const WINDOWS: [number, number, number][] = [
  [1, PHANTOM_HU.liver - 9, PHANTOM_HU.liver + 9],
  [3, PHANTOM_HU.spleen - 9, PHANTOM_HU.spleen + 15],
  [2, PHANTOM_HU.kidney - 20, PHANTOM_HU.kidney + 40],
  [4, PHANTOM_HU.pancreas - 9, PHANTOM_HU.pancreas + 9],
]

export interface SyntheticEngineOptions {
  steps?: number
  stepMs?: number
  /**
   * Runs started while this returns true stop after their first step and wait for Cancel: a
   * cancel test then never races a run that finished too fast on a loaded machine.
   */
  holdUntilCancelled?: () => boolean
  /** the warnings a run reports (as the real engine does for a slab or an empty result); none by default */
  warnings?: () => string[]
  /** the unsure share per label value a run reports (the real engine measures it); none by default */
  unsure?: () => Record<number, number>
}

export function syntheticEngine(opts: SyntheticEngineOptions = {}): SegmentationEngine {
  const steps = opts.steps ?? 4
  const stepMs = opts.stepMs ?? 20
  return {
    async segment(ct, o) {
      const hold = opts.holdUntilCancelled?.() ?? false
      const out = new Uint8Array(ct.data.length)
      const n = ct.data.length
      for (let s = 0; s < steps; s++) {
        if (o.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
        const from = Math.floor((s * n) / steps)
        const to = Math.floor(((s + 1) * n) / steps)
        for (let i = from; i < to; i++) {
          const hu = ct.data[i]
          for (const [v, lo, hi] of WINDOWS) if (hu >= lo && hu <= hi) { out[i] = v; break }
        }
        o.onProgress({ stage: 'synthetic', fraction: (s + 1) / steps, message: `step ${s + 1} of ${steps}` })
        await new Promise((r) => setTimeout(r, stepMs))
        if (hold && !o.signal.aborted) await new Promise((r) => o.signal.addEventListener('abort', r, { once: true }))
      }
      return { labels: out, modelId: 'synthetic-hu-windows', modelVersion: '1', provider: 'cpu', warnings: opts.warnings?.() ?? [], ...(opts.unsure ? { unsure: opts.unsure() } : {}) }
    },
    async listModels() {
      return { models: [{ id: 'synthetic-hu-windows', version: '1', description: 'HU windows (tests only)', license: 'Apache-2.0', source: 'app', labels: [] }], problems: [] }
    },
  }
}
