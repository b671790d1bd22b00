/** Exit codes of every `scn-studio` command, and the small pieces the commands share. */
import { ModelCardError, type ModelCard } from '../inference/model-card.js'
import { ModelNotFoundError, resolveModel, type ModelEntry } from '../inference/models.js'
import type { DeviceChoice } from '../inference/onnx-session.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, badInput: 3, cancelled: 130 } as const

export const DEVICES: DeviceChoice[] = ['auto', 'cpu', 'gpu', 'cuda', 'webgpu']

/** An error a command turns into `error: <message>` and exit code `code`. */
export class CliError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

/** The model a command asked for: an unknown id is a usage error, a broken card a failure. */
export function resolveModelForCli(id: string | undefined): ModelEntry & { card: ModelCard } {
  try {
    return resolveModel(id)
  } catch (e) {
    if (e instanceof ModelNotFoundError) throw new CliError(EXIT.usage, e.message)
    if (e instanceof ModelCardError) throw new CliError(EXIT.failed, e.message)
    throw e
  }
}
