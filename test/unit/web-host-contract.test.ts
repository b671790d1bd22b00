/**
 * The contract through both hosts' wires: bad fixtures are refused with the same clear error by
 * the web host (HTTP 400) and by the Electron IPC handler; a whole session (open, voxels, labels,
 * statistics, segmentation with progress events, cancel) works through the client core over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFrame, type ProgressEvent, type RunFinishedEvent } from '../../src-shared/contract/index.js'
import { handleIpc } from '../../src-main/hosts/electron/ipc.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { loadContractFixtures, wirePayload } from '../helpers/contract-fixtures.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

async function post(t: TestHost, channel: string, payload: unknown): Promise<{ status: number; body: { code?: string; message?: string } }> {
  const binary = payload instanceof Uint8Array
  const res = await fetch(`${t.host.url}/api/call/${channel}`, {
    method: 'POST',
    headers: { 'x-scn-token': t.host.token, 'content-type': binary ? 'application/octet-stream' : 'application/json' },
    body: binary ? (payload as Uint8Array<ArrayBuffer>) : JSON.stringify(payload),
  })
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, body: type.startsWith('application/json') ? await res.json() : {} }
}

describe('bad messages are refused by both hosts', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine() })
  })
  afterAll(async () => t.close())

  const requests = loadContractFixtures('bad').filter((f) => f.kind === 'request' || f.kind === 'frame')
  it.each(requests.map((f) => [f.name, f] as const))('bad/%s', async (_n, f) => {
    const web = await post(t, f.channel, wirePayload(f))
    expect(web.status, JSON.stringify(web.body)).toBe(f.error!.startsWith('unknown channel') ? 404 : 400)
    expect(web.body.message).toContain(f.error!)
    const ipc = await handleIpc(t.runtime.impl, `scn:${f.channel}`, wirePayload(f), true)
    expect(ipc.ok).toBe(false)
    if (!ipc.ok) {
      expect(ipc.error.code).toBe(web.body.code)
      expect(ipc.error.message).toBe(web.body.message)
    }
  })

  it('refuses malformed JSON and wrong content types with a message', async () => {
    const res = await fetch(`${t.host.url}/api/call/volumes.open`, { method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/json' }, body: '{"path":' })
    expect(res.status).toBe(400)
    expect((await res.json()).message).toMatch(/volumes.open: the request body is not valid JSON/)
    const res2 = await fetch(`${t.host.url}/api/call/volumes.open`, { method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'text/plain' }, body: 'x' })
    expect(res2.status).toBe(400)
    expect((await res2.json()).message).toMatch(/unsupported Content-Type/)
  })

  it('IPC refuses channels without the scn: prefix and untrusted senders', async () => {
    expect(await handleIpc(t.runtime.impl, 'volumes.open', {}, true)).toMatchObject({ ok: false, error: { code: 'bad-request' } })
    expect(await handleIpc(t.runtime.impl, 'scn:app.info', {}, false)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await handleIpc(t.runtime.impl, 'scn:app.info', {}, true)).toMatchObject({ ok: true })
  })

  it('good requests pass validation on the web host (they may name volumes that are not open)', async () => {
    for (const f of loadContractFixtures('good').filter((g) => g.kind === 'request' || g.kind === 'frame')) {
      const r = await post(t, f.channel, wirePayload(f))
      expect(r.body.code, `${f.name}: ${r.body.message}`).not.toBe('bad-request')
    }
  })
})

describe('a session through the client core over HTTP + WebSocket', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine({ steps: 5, stepMs: 30, holdUntilCancelled: () => holdRuns }) })
  })
  afterAll(async () => t.close())
  let holdRuns = false

  it('opens the launch file, sends the CT once as Int16 bytes, round-trips labelmaps and counts them', async () => {
    const info = await t.client.app.info({})
    expect(info.launchPath).toBe(t.phantomPath)
    const opened = await t.client.volumes.open({ path: info.launchPath! })
    if (opened.status !== 'opened') throw new Error('expected opened')
    const { volume } = opened
    expect(volume.geometry.dims).toEqual([64, 64, 40])
    // opening the same file again gives the same volume, not a second copy
    const again = await t.client.volumes.open({ path: t.phantomPath })
    expect(again.status === 'opened' && again.volume.volumeId).toBe(volume.volumeId)

    const voxels = await t.client.volumes.getVoxels({ volumeId: volume.volumeId })
    expect(voxels.data).toBeInstanceOf(Int16Array)
    const file = await readNifti(t.phantomPath)
    expect(voxels.data.length).toBe(file.data.length)
    expect(voxels.data.every((v, i) => v === file.data[i])).toBe(true)
    expect(voxels.header.geometry).toEqual(volume.geometry)

    const lm = await t.client.labels.get({ volumeId: volume.volumeId })
    expect(lm.header.version).toBe(0)
    expect(lm.data.every((v) => v === 0)).toBe(true)
    const edited = new Uint8Array(lm.data.length)
    for (let i = 0; i < 1000; i++) edited[i] = 1
    for (let i = 1000; i < 1250; i++) edited[i] = 4
    const put = await t.client.labels.put({ header: lm.header, data: edited })
    expect(put.version).toBe(1)
    // a second put from the stale version is a conflict, not a silent overwrite
    await expect(t.client.labels.put({ header: lm.header, data: edited })).rejects.toMatchObject({ code: 'stale' })
    const back = await t.client.labels.get({ volumeId: volume.volumeId })
    expect(back.header.version).toBe(1)
    expect(back.data).toEqual(edited)

    const stats = await t.client.statistics.compute({ volumeId: volume.volumeId })
    expect(stats.counts).toEqual({ '0': edited.length - 1250, '1': 1000, '4': 250 })
    const liver = stats.organs.find((o) => o.value === 1)!
    expect(liver.volumeMl).toBeCloseTo(1000 * 5 * 5 * 8 / 1000, 6)
    let sum = 0
    for (let i = 0; i < 1000; i++) sum += file.data[i]
    expect(liver.meanHu).toBeCloseTo(sum / 1000, 6)
  })

  it('runs segmentation: progress events, then the prediction; statistics compare against it', async () => {
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    const volumeId = opened.volume.volumeId
    const progress: ProgressEvent[] = []
    const offP = t.client.segmentation.onProgress((p) => progress.push(p))
    const finished = new Promise<RunFinishedEvent>((resolve) => {
      const off = t.client.segmentation.onFinished((f) => (off(), resolve(f)))
    })
    await t.eventsReady()
    const { runId } = await t.client.segmentation.run({ volumeId })
    const f = await finished
    offP()
    expect(f).toMatchObject({ runId, outcome: 'done', modelId: 'synthetic-hu-windows' })
    expect(progress.map((p) => p.fraction)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    const pred = await t.client.labels.get({ volumeId, kind: 'prediction' })
    const liverVoxels = pred.data.reduce((n, v) => n + (v === 1 ? 1 : 0), 0)
    expect(liverVoxels).toBeGreaterThan(1000)
    if (f.outcome === 'done') expect(f.organs.find((o) => o.value === 1)?.voxels).toBe(liverVoxels)
    // apply the prediction as the user's labels, then erase 100 liver voxels
    const cur = await t.client.labels.get({ volumeId })
    const edited = new Uint8Array(pred.data)
    let erased = 0
    for (let i = 0; i < edited.length && erased < 100; i++) if (edited[i] === 1) (edited[i] = 0), erased++
    await t.client.labels.put({ header: cur.header, data: edited })
    const s = await t.client.statistics.compute({ volumeId })
    const liver = s.organs.find((o) => o.value === 1)!
    expect(liver.vsPrediction).toEqual({ added: 0, removed: 100, dice: (2 * (liverVoxels - 100)) / (2 * liverVoxels - 100) })
  })

  it('cancels a run and says so', async () => {
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    const finished = new Promise<RunFinishedEvent>((resolve) => {
      const off = t.client.segmentation.onFinished((f) => (off(), resolve(f)))
    })
    holdRuns = true
    const { runId } = await t.client.segmentation.run({ volumeId: opened.volume.volumeId })
    await expect(t.client.segmentation.run({ volumeId: opened.volume.volumeId })).rejects.toMatchObject({ code: 'conflict' })
    expect(await t.client.segmentation.cancel({ runId })).toEqual({ runId, cancelled: true })
    expect(await finished).toEqual({ runId, volumeId: opened.volume.volumeId, outcome: 'cancelled' })
  })

  it('sends a labelmap frame whose size does not match its geometry back with a clear error', async () => {
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    const lm = await t.client.labels.get({ volumeId: opened.volume.volumeId })
    const bytes = encodeFrame({ ...lm.header, geometry: { ...lm.header.geometry, dims: [64, 64, 39] } }, new Uint8Array(64 * 64 * 39))
    const r = await post(t, 'labels.put', bytes)
    expect(r.status).toBe(400)
    expect(r.body.message).toMatch(/labels.put: the labelmap is 64×64×39 but volume .* is 64×64×40/)
  })
})
