/**
 * The volumes the renderer has open, by id: the CT (Int16 HU, sent to the renderer once), the
 * labelmap the user edits (`current`) and the model's `prediction`, each with a version number so
 * a stale put is refused instead of silently overwriting newer labels.
 */
import { randomBytes } from 'node:crypto'
import { ContractError } from '../../src-shared/contract/errors.js'
import type { PredictionNotes, VolumeSummary } from '../../src-shared/contract/schemas.js'
import type { Geometry, Volume } from '../../src-shared/volume.js'

export interface Labelmap {
  data: Uint8Array
  version: number
}

export interface OpenVolume {
  id: string
  summary: VolumeSummary
  ct: Volume<Int16Array>
  current: Labelmap
  prediction?: Labelmap
  /** the model that made the prediction */
  predictionModel?: { id: string; version: string; provider: string }
  /** what the engine said about the prediction (warnings, unsure shares); a case keeps them */
  predictionNotes?: PredictionNotes
  /** the workspace case this volume belongs to, when opened as a case */
  caseId?: string
  /** key for re-opening the same source: path + series */
  sourceKey: string
}

export function newId(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`
}

export class VolumeStore {
  private byId = new Map<string, OpenVolume>()

  add(v: Omit<OpenVolume, 'id' | 'summary'> & { summary: Omit<VolumeSummary, 'volumeId'> }): OpenVolume {
    const id = newId('v')
    const entry: OpenVolume = { ...v, id, summary: { ...v.summary, volumeId: id } }
    this.byId.set(id, entry)
    return entry
  }

  findBySource(sourceKey: string): OpenVolume | undefined {
    for (const v of this.byId.values()) if (v.sourceKey === sourceKey) return v
    return undefined
  }

  get(volumeId: string): OpenVolume {
    const v = this.byId.get(volumeId)
    if (!v) throw new ContractError('not-found', `volume ${volumeId} is not open (it was closed, or the app restarted): open the file again`)
    return v
  }

  delete(volumeId: string): void {
    this.get(volumeId)
    this.byId.delete(volumeId)
  }

  all(): OpenVolume[] {
    return [...this.byId.values()]
  }
}

export function sameDims(a: Geometry, dims: readonly number[]): boolean {
  return a.dims[0] === dims[0] && a.dims[1] === dims[1] && a.dims[2] === dims[2]
}
