import { describe, expect, it } from 'vitest'
import {
  ContractError,
  createScnClient,
  decodeFrame,
  dispatch,
  encodeFrame,
  frameBytes,
  LabelmapHeaderSchema,
  validateEvent,
  validateRequest,
  validateResponse,
  channelsOf,
  type ServicesImpl,
  type Transport,
} from '../../src-shared/contract/index.js'
import { loadContractFixtures, wirePayload, type ContractFixture } from '../helpers/contract-fixtures.js'

function check(f: ContractFixture): unknown {
  if (f.kind === 'event') return validateEvent(f.channel, f.payload)
  if (f.kind === 'response') return validateResponse(f.channel, f.payload)
  return validateRequest(f.channel, wirePayload(f))
}

describe('contract fixtures', () => {
  const good = loadContractFixtures('good')
  const bad = loadContractFixtures('bad')
  it('has fixtures of every kind', () => {
    expect(good.length).toBeGreaterThan(10)
    expect(bad.length).toBeGreaterThan(10)
  })
  it.each(good.map((f) => [f.name, f] as const))('accepts good/%s', (_n, f) => {
    expect(() => check(f)).not.toThrow()
  })
  it.each(bad.map((f) => [f.name, f] as const))('rejects bad/%s with a clear error', (_n, f) => {
    let err: unknown
    try {
      check(f)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ContractError)
    const msg = (err as Error).message
    expect(msg).toContain(f.error!)
    // the message names where the problem is (channel or event), not just "invalid"
    if (!f.error!.startsWith('unknown')) expect(msg).toContain(f.channel)
  })
})

describe('binary frames', () => {
  const geometry = { dims: [3, 2, 2] as [number, number, number], spacing: [1, 1, 2] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as [number, number, number, number, number, number, number, number, number] }
  it('round-trips int16 voxels through an aligned view (no copy)', () => {
    const data = Int16Array.from({ length: 12 }, (_, i) => i * 100 - 1024)
    const bytes = encodeFrame({ volumeId: 'v1', dataType: 'int16', geometry }, data)
    expect(bytes.byteLength % 2).toBe(0)
    const f = decodeFrame('t', bytes, LabelmapHeaderSchema.pick({ volumeId: true, geometry: true }).extend({ dataType: LabelmapHeaderSchema.shape.volumeId.optional() }), 'int16')
    expect(Array.from(f.data)).toEqual(Array.from(data))
    expect(f.data.buffer).toBe(bytes.buffer)
  })
  it('refuses bytes that are not a frame', () => {
    expect(() => decodeFrame('labels.put', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), LabelmapHeaderSchema, 'uint8')).toThrow(/labels.put: the body is not an SCN binary frame/)
  })
})

describe('client core over dispatch', () => {
  // A loopback transport: the client core and the host-side dispatcher without any wire in between.
  const labels = new Uint8Array(12).fill(2)
  const geometry = { dims: [3, 2, 2], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } as const
  const services = {
    labels: {
      get: async (r: { volumeId: string; kind: string }) => ({ header: { volumeId: r.volumeId, kind: r.kind, dataType: 'uint8', geometry, version: 3 }, data: labels }),
      put: async (f: { header: { volumeId: string; version: number }; data: Uint8Array }) => ({ volumeId: f.header.volumeId, version: f.header.version + 1 }),
    },
  } as unknown as ServicesImpl
  const transport: Transport = {
    async invoke(channel, payload) {
      const r = await dispatch(services, channel, payload)
      return r.kind === 'json' ? r.value : frameBytes(r.parts)
    },
    onEvent: () => () => {},
  }
  const client = createScnClient(transport)
  it('exposes every channel as a method', () => {
    for (const c of channelsOf()) {
      const [s, m] = c.split('.')
      expect(typeof (client as unknown as Record<string, Record<string, unknown>>)[s][m]).toBe('function')
    }
    expect(typeof client.segmentation.onProgress).toBe('function')
  })
  it('gets and puts labelmaps as Uint8 frames', async () => {
    const f = await client.labels.get({ volumeId: 'v1' })
    expect(f.header.kind).toBe('current')
    expect(f.data).toBeInstanceOf(Uint8Array)
    expect(f.data.length).toBe(12)
    const r = await client.labels.put({ header: { ...f.header }, data: f.data })
    expect(r.version).toBe(4)
  })
  it('refuses a bad request before it leaves', async () => {
    await expect(client.volumes.open({ path: 7 as unknown as string })).rejects.toThrow(/volumes.open: invalid request: path/)
  })
})
