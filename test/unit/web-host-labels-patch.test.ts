/**
 * labels.patch through the web host: autosave sends only the voxels an edit changed. The host
 * applies a patch all or nothing on top of the version it names (the same optimistic check as
 * labels.put), writes the case's labels to disk from it, and refuses stale versions, voxels
 * outside the labelmap and payloads that do not match the header, changing nothing.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFrame, encodeLabelPatch } from '../../src-shared/contract/index.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

/** A one-dab edit: a 5x5x3 block at (x, y, z) painted `value`. */
function dab(dims: number[], x: number, y: number, z: number, value: number): { indices: number[]; values: number[] } {
  const indices: number[] = []
  for (let k = z; k < z + 3; k++) for (let j = y; j < y + 5; j++) for (let i = x; i < x + 5; i++) indices.push(i + dims[0]! * (j + dims[1]! * k))
  return { indices, values: indices.map(() => value) }
}

describe('labels.patch (autosave by changed voxels)', () => {
  let t: TestHost
  let volumeId: string
  let caseId: string
  let dims: number[]
  let mine: Uint8Array
  let version: number

  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine({ steps: 1, stepMs: 1 }) })
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    volumeId = opened.volume.volumeId
    caseId = (await t.client.cases.create({ volumeId, name: 'patched' })).caseId
    const lm = await t.client.labels.get({ volumeId })
    dims = lm.header.geometry.dims
    // the first save is a full labelmap
    mine = new Uint8Array(lm.data)
    mine.fill(1, 0, 1000)
    version = (await t.client.labels.put({ header: lm.header, data: mine })).version
  })
  afterAll(async () => t?.close())

  const header = (count: number, v = version) => ({ volumeId, kind: 'current' as const, dataType: 'uint8' as const, version: v, count })

  it('applies a one-dab patch on the version it names; the case labels on disk follow', async () => {
    const d = dab(dims, 20, 20, 10, 3)
    const r = await t.client.labels.patch({ header: header(d.indices.length), data: encodeLabelPatch(d.indices, d.values) })
    expect(r).toEqual({ volumeId, version: version + 1 })
    version = r.version
    for (const i of d.indices) mine[i] = 3
    const now = await t.client.labels.get({ volumeId })
    expect(now.header.version).toBe(version)
    expect(Buffer.from(now.data).equals(Buffer.from(mine))).toBe(true)
    await t.client.cases.get({ caseId }) // saves pending edits first
    const disk = readNifti(join(t.dir, 'workspace', 'cases', caseId, 'labels.nii.gz'))
    expect(Buffer.from(disk.data).equals(Buffer.from(mine))).toBe(true)
    // what the page sends for that save: the frame, header included
    const bytes = encodeFrame(header(d.indices.length), encodeLabelPatch(d.indices, d.values)).byteLength
    expect(bytes).toBeLessThan(500)
  })

  it('a repeated voxel ends with its last value; an empty patch still moves the version', async () => {
    const i = 5 + dims[0]! * 6
    let r = await t.client.labels.patch({ header: header(2), data: encodeLabelPatch([i, i], [2, 4]) })
    mine[i] = 4
    r = await t.client.labels.patch({ header: header(0, r.version), data: encodeLabelPatch([], []) })
    version = r.version
    const now = await t.client.labels.get({ volumeId })
    expect(now.header.version).toBe(version)
    expect(now.data[i]).toBe(4)
  })

  it("a stale version is refused as 'stale' and changes nothing (the page then fetches, merges and sends the whole labelmap)", async () => {
    await expect(t.client.labels.patch({ header: header(1, version - 1), data: encodeLabelPatch([0], [4]) })).rejects.toMatchObject({
      code: 'stale',
      message: expect.stringContaining('labels.put'),
    })
    const now = await t.client.labels.get({ volumeId })
    expect(now.header.version).toBe(version)
    expect(now.data[0]).toBe(mine[0])
    // the full write after a conflict is accepted as before
    const r = await t.client.labels.put({ header: now.header, data: mine })
    version = r.version
  })

  it('all or nothing: one voxel outside the labelmap refuses the whole patch', async () => {
    const n = dims[0]! * dims[1]! * dims[2]!
    const err = await t.client.labels.patch({ header: header(3), data: encodeLabelPatch([0, 1, n], [4, 4, 4]) }).catch((e) => e)
    expect(err).toMatchObject({ code: 'bad-request' })
    expect(err.message).toContain(`change 2 is at voxel ${n}, outside the labelmap (${n} voxels)`)
    const now = await t.client.labels.get({ volumeId })
    expect(now.header.version).toBe(version)
    expect([now.data[0], now.data[1]]).toEqual([mine[0], mine[1]])
  })

  it('a payload that does not match its header is refused before it reaches the labels', async () => {
    const err = await t.client.labels.patch({ header: header(2), data: encodeLabelPatch([0], [4]) }).catch((e) => e)
    expect(err).toMatchObject({ code: 'bad-request' })
    expect(err.message).toContain('labels.patch: the frame carries 5 payload bytes but its header calls for 10')
    expect((await t.client.labels.get({ volumeId })).header.version).toBe(version)
  })
})
