/**
 * The model registry: every folder with a model.json under the app's models/ folder and the user's
 * models folder. A broken folder is listed with its error (naming the file) rather than hidden, so
 * `scn-studio models` can tell the user what to fix.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { appModelsDir, userModelsDir } from '../util/app-paths.js'
import { ModelCardError, modelFiles, readModelCard, type ModelCard } from './model-card.js'

export const DEFAULT_MODEL_ID = 'scn-flare-organs'

export interface ModelEntry {
  /** the card's id (the folder name when the card cannot be read) */
  id: string
  version: string
  description: string
  /** the model folder */
  dir: string
  source: 'app' | 'user'
  /** null when the card or its files are broken; `error` then says why */
  card: ModelCard | null
  error?: string
}

function scan(root: string, source: 'app' | 'user'): ModelEntry[] {
  if (!existsSync(root)) return []
  let names: string[]
  try {
    names = readdirSync(root).sort()
  } catch {
    return []
  }
  const out: ModelEntry[] = []
  for (const name of names) {
    const dir = join(root, name)
    try {
      if (!statSync(dir).isDirectory()) continue
    } catch {
      continue
    }
    const cardFile = join(dir, 'model.json')
    if (!existsSync(cardFile)) continue
    try {
      const card = readModelCard(cardFile)
      for (const file of modelFiles(card)) {
        const f = join(dir, file)
        if (!existsSync(f)) throw new ModelCardError(f, `the ONNX file named in ${cardFile} is missing`)
      }
      out.push({ id: card.id, version: card.version, description: card.description, dir, source, card })
    } catch (e) {
      out.push({ id: name, version: '', description: '', dir, source, card: null, error: (e as Error).message })
    }
  }
  return out
}

/** User models first: a user folder with the same id as a bundled model overrides it. */
export function listModels(): ModelEntry[] {
  return [...scan(userModelsDir(), 'user'), ...scan(appModelsDir(), 'app')]
}

export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ModelNotFoundError'
  }
}

/**
 * The model to run: `id` when given (its card must be valid), else scn-flare-organs when installed,
 * else the first valid model.
 */
export function resolveModel(id?: string, entries: ModelEntry[] = listModels()): ModelEntry & { card: ModelCard } {
  const valid = entries.filter((e): e is ModelEntry & { card: ModelCard } => e.card !== null)
  const where = `${userModelsDir()} or ${appModelsDir()}`
  if (id) {
    const hit = valid.find((e) => e.id === id)
    if (hit) return hit
    const broken = entries.find((e) => e.id === id && e.card === null)
    if (broken) throw new ModelCardError(join(broken.dir, 'model.json'), `model "${id}" cannot be used: ${broken.error}`)
    const ids = valid.map((e) => e.id)
    throw new ModelNotFoundError(`model "${id}" is not installed (looked in ${where}); available: ${ids.length ? ids.join(', ') : 'none'}`)
  }
  const chosen = valid.find((e) => e.id === DEFAULT_MODEL_ID) ?? valid[0]
  if (!chosen) {
    const broken = entries.filter((e) => e.card === null)
    const extra = broken.length ? `; broken: ${broken.map((b) => b.error).join('; ')}` : ''
    throw new ModelNotFoundError(`no segmentation model is installed: put a model folder (model.json + ONNX files) in ${where}${extra}`)
  }
  return chosen
}
