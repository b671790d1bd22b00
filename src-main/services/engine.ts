/**
 * The segmentation engine as the services see it. The real one is src-main/inference: runScn runs
 * each segmentation in its own worker thread (session.run() blocks its thread for seconds,
 * docs/runtime-notes.md), so the host's thread keeps answering IPC/HTTP and forwarding progress.
 * Hosts may pass another engine (tests: a deterministic one on phantoms).
 */
import type { ModelSummary } from '../../src-shared/contract/schemas.js'
import { listModels, runScn } from '../inference/index.js'
import type { Volume } from '../../src-shared/volume.js'
import { unsureByValue } from '../../src-shared/review-hint.js'

export interface EngineProgress {
  stage: string
  /** 0..1 over the whole run */
  fraction: number
  message: string
}

export interface EngineResult {
  /** Uint8 labels on the CT's own grid */
  labels: Uint8Array
  modelId: string
  modelVersion: string
  provider: string
  /** plain sentences the user must see next to the result (SegmentReport.warnings) */
  warnings: string[]
  /** each organ's unsure share by label value (SegmentReport organs' unsureFraction); absent: not measured */
  unsure?: Record<number, number>
  /** the share above which the model's card flags an organ for review (SegmentReport.reviewUnsureAbove) */
  reviewUnsureAbove?: number
}

export interface SegmentOptions {
  modelId?: string
  device: 'auto' | 'cpu' | 'gpu' | 'cuda' | 'webgpu'
  signal: AbortSignal
  onProgress(p: EngineProgress): void
}

export interface ModelList {
  models: ModelSummary[]
  problems: { path: string; error: string }[]
}

export interface SegmentationEngine {
  segment(ct: Volume<Int16Array>, opts: SegmentOptions): Promise<EngineResult>
  listModels(): Promise<ModelList>
}

/** The real engine: src-main/inference (runScn, listModels). */
export function inferenceEngine(): SegmentationEngine {
  return {
    async segment(ct, opts) {
      const { labels, report } = await runScn(ct, { modelId: opts.modelId, device: opts.device, signal: opts.signal, onProgress: opts.onProgress })
      return { labels: labels.data, modelId: report.modelId, modelVersion: report.modelVersion, provider: report.provider, warnings: report.warnings, unsure: unsureByValue(report.organs), reviewUnsureAbove: report.reviewUnsureAbove }
    },
    async listModels() {
      const out: ModelList = { models: [], problems: [] }
      for (const m of listModels()) {
        if (m.card) out.models.push({ id: m.id, version: m.version, description: m.description, license: m.card.license, source: m.source, labels: m.card.labels })
        else out.problems.push({ path: m.dir, error: m.error ?? 'the model folder cannot be read' })
      }
      return out
    },
  }
}
