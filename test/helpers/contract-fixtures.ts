/** Loads test/fixtures/contract/{good,bad}/*.json: example messages every host must accept or refuse. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFrame } from '../../src-shared/contract/frame.js'

export interface ContractFixture {
  name: string
  channel: string
  kind: 'request' | 'response' | 'event' | 'frame'
  payload?: unknown
  header?: unknown
  voxels?: number
  /** bad fixtures: a substring the error message must contain */
  error?: string
}

const root = join(import.meta.dirname, '../fixtures/contract')

export function loadContractFixtures(which: 'good' | 'bad'): ContractFixture[] {
  const dir = join(root, which)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }))
}

/** The payload as it travels: frame fixtures become encoded bytes. */
export function wirePayload(f: ContractFixture): unknown {
  if (f.kind !== 'frame') return f.payload
  const dt = (f.header as { dataType?: string }).dataType
  const data = dt === 'int16' ? new Int16Array(f.voxels ?? 0) : new Uint8Array(f.voxels ?? 0)
  return encodeFrame(f.header, data)
}
