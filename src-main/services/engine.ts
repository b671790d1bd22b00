/**
 * The segmentation engine as the services see it. The real one is src-main/inference (runScn,
 * listModels); it is loaded lazily so that opening a volume never waits for onnxruntime, and hosts
 * can pass another engine (tests: a deterministic one on phantoms).
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ContractError } from '../contract/errors.js'
import type { ModelSummary } from '../contract/schemas.js'
import { readModelCard } from '../inference/model-card.js'
import { appModelsDir, userModelsDir } from '../util/app-paths.js'
import type { Volume } from '../volumes/volume.js'

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
  provider: string
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

/** Model folders under the app and user model directories (used until the engine lists its own). */
export function scanModelFolders(): ModelList {
  const out: ModelList = { models: [], problems: [] }
  for (const [dir, source] of [
    [appModelsDir(), 'app'],
    [userModelsDir(), 'user'],
  ] as const) {
    if (!existsSync(dir)) continue
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue
      const card = join(dir, e.name, 'model.json')
      if (!existsSync(card)) continue
      try {
        const m = readModelCard(card)
        out.models.push({ id: m.id, version: m.version, description: m.description, license: m.license, source, labels: m.labels })
      } catch (err) {
        out.problems.push({ path: card, error: (err as Error).message })
      }
    }
  }
  return out
}

type InferenceModule = Record<string, unknown>
let inferenceModule: Promise<InferenceModule> | undefined

async function loadInference(): Promise<InferenceModule> {
  // A variable specifier keeps the typecheck independent of the engine's exact exports while it lands.
  const spec = '../inference/index.js'
  inferenceModule ??= import(spec).catch((e: Error) => {
    inferenceModule = undefined
    throw new ContractError('unsupported', `the segmentation engine could not be loaded (src-main/inference): ${e.message}`)
  })
  return inferenceModule
}

/** The real engine: src-main/inference/index.ts (runScn, listModels). */
export function inferenceEngine(): SegmentationEngine {
  return {
    async segment(ct, opts) {
      const mod = await loadInference()
      const runScn = mod.runScn as
        | ((ct: Volume, o: Record<string, unknown>) => Promise<{ labels: { data: Uint8Array } | Uint8Array; modelId?: string; model?: { id: string }; provider?: string }>)
        | undefined
      if (typeof runScn !== 'function') throw new ContractError('unsupported', 'src-main/inference does not export runScn yet')
      const r = await runScn(ct, { modelId: opts.modelId, device: opts.device, signal: opts.signal, onProgress: opts.onProgress })
      const labels = r.labels instanceof Uint8Array ? r.labels : r.labels.data
      return { labels, modelId: r.modelId ?? r.model?.id ?? opts.modelId ?? 'unknown', provider: r.provider ?? 'unknown' }
    },
    async listModels() {
      const mod = await loadInference().catch(() => undefined)
      const list = mod?.listModels as (() => Promise<unknown> | unknown) | undefined
      if (typeof list !== 'function') return scanModelFolders()
      const r = (await list()) as ModelList | ModelList['models']
      return Array.isArray(r) ? { models: r, problems: [] } : r
    },
  }
}

/** Entry used by the engine worker (worker-engine.ts): every engine module exports createEngine. */
export const createEngine = inferenceEngine
