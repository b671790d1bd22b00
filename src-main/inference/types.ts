/** Public types of the SCN engine (re-exported by index.ts). */
import { SEGMENT_STAGES, type SegmentStageName } from '../../src-shared/segment-stages.js'
import type { DeviceChoice } from './onnx-session.js'

export type { DeviceChoice }

export interface SegmentProgress {
  /** the stage now running (see STAGES) */
  stage: string
  /** overall fraction of the run done, 0..1, never decreasing */
  fraction: number
  message: string
}

export interface SegmentReport {
  modelId: string
  modelVersion: string
  /** the execution provider that ran the model: 'cuda' | 'webgpu' | 'cpu' */
  provider: string
  /** providers tried before it, and why each was skipped, in words */
  skippedProviders: { provider: string; reason: string }[]
  /** wall seconds per stage (STAGES order) */
  stageSeconds: Record<string, number>
  /** the process's peak resident set size so far (worker threads included), bytes */
  peakRssBytes: number
  /**
   * Per card label: voxels and mL on the CT's grid; `unsureFraction`, the share of those voxels whose
   * label beat the runner-up by less than 0.5 probability (src-shared/review-hint.ts; 0 for an empty
   * organ). A high share marks an organ to review first; a low one does not prove it right.
   */
  organs: { value: number; name: string; voxels: number; volumeMl: number; unsureFraction?: number }[]
  /** the unsure share above which an organ is flagged (the card's segmentation.reviewUnsureAbove, else
   *  REVIEW_UNSURE); set with the organs' unsureFraction */
  reviewUnsureAbove?: number
  /**
   * What the user must know about this result, in plain sentences (empty when nothing is odd): a
   * slab or a missed localization segmented on the whole field of view, no organ found, implausible
   * organ volumes, input that does not look like HU. Printed by the CLI, shown by the app.
   */
  warnings: string[]
}

/**
 * ONNX Runtime session options (measured by `npm run bench`):
 *  - 'low-memory' (default): onnx-session.ts lowMemorySessionOptions (threads = cores, memory
 *    pattern off, arena on) for the small localization run, and the arena off as well for the
 *    segmentation run, whose activations dominate the peak (the arena grows in power-of-two steps).
 *  - 'mem-pattern-off': lowMemorySessionOptions for both stages (arena on: faster on some machines).
 *  - 'ort-defaults': ONNX Runtime's defaults (the benchmark's baseline).
 */
export type SessionPreset = 'low-memory' | 'mem-pattern-off' | 'ort-defaults'

/** Stages in run order (src-shared/segment-stages.ts, shared with the app's progress line). */
export const STAGES = SEGMENT_STAGES
export type StageName = SegmentStageName

export class SegmentCancelledError extends Error {
  constructor() {
    super('segmentation cancelled')
    this.name = 'AbortError'
  }
}
