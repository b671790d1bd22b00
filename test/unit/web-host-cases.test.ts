/**
 * Cases and export through the contract (web host wire): a segmented volume becomes a case, edits
 * autosave into the workspace, a second process cannot open the locked case, exports land where
 * allowed and nowhere else, review drives the status, and a restarted host gets the labels back.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport, createScnClient, type RunFinishedEvent } from '../../src-shared/contract/index.js'
import { startWebHost } from '../../src-main/hosts/web/server.js'
import { createServices } from '../../src-main/services/index.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

async function segment(t: TestHost, volumeId: string): Promise<RunFinishedEvent> {
  const done = new Promise<RunFinishedEvent>((resolve) => {
    const off = t.client.segmentation.onFinished((f) => (off(), resolve(f)))
  })
  await t.eventsReady()
  await t.client.segmentation.run({ volumeId })
  return done
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('cases and export through the contract', () => {
  let t: TestHost
  let volumeId: string
  let caseId: string
  let edited: Uint8Array
  const ws = () => join(t.dir, 'workspace')
  const caseJson = () => JSON.parse(readFileSync(join(ws(), 'cases', caseId, 'case.json'), 'utf8'))
  // what the engine said about its prediction: a case keeps it and gives it back when it reopens
  const WARNING = 'The scan covers 55 mm (head to foot): a slab.'
  const UNSURE = { 1: 0.06, 4: 0.46 }

  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine({ steps: 2, stepMs: 10, warnings: () => [WARNING], unsure: () => UNSURE }) })
  })
  afterAll(async () => t.close())

  it('turns a segmented volume into a case; edits autosave into the workspace', async () => {
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    volumeId = opened.volume.volumeId
    expect((await segment(t, volumeId)).outcome).toBe('done')
    const c = await t.client.cases.create({ volumeId, name: 'Phantom one' })
    caseId = c.caseId
    expect(c).toMatchObject({ name: 'Phantom one', hasPrediction: true, ctPath: t.phantomPath })
    const listed = await t.client.cases.list({})
    expect(listed.workspaceDir).toBe(ws())
    expect(listed.cases.map((x) => x.caseId)).toEqual([caseId])
    expect(existsSync(join(ws(), 'cases', caseId, 'prediction.nii.gz'))).toBe(true)
    expect(caseJson().prediction).toMatchObject({ model: { id: 'synthetic-hu-windows' }, notes: { warnings: [WARNING], unsure: { 1: 0.06, 4: 0.46 } } })

    // apply the prediction and paint 500 voxels of pancreas
    const pred = await t.client.labels.get({ volumeId, kind: 'prediction' })
    const cur = await t.client.labels.get({ volumeId })
    edited = new Uint8Array(pred.data)
    for (let i = 0; i < 500; i++) edited[i] = 4
    await t.client.labels.put({ header: cur.header, data: edited })
    const labelsFile = join(ws(), 'cases', caseId, 'labels.nii.gz')
    const started = Date.now()
    await until(() => existsSync(labelsFile) && readNifti(labelsFile).data.every((v, i) => v === edited[i]), 5000)
    console.log(`autosave reached disk after ${Date.now() - started} ms`)
  })

  it('refuses the locked case to a second process, with a clear message', async () => {
    const other = createServices({ host: 'web', workspaceDir: ws(), engine: syntheticEngine() })
    try {
      await expect(other.impl.cases.open({ caseId })).rejects.toMatchObject({ name: 'CaseLockedError' })
    } finally {
      await other.dispose()
    }
  })

  it('exports into the workspace, refuses paths outside what the user opened', async () => {
    const out = join(ws(), 'exports', 'phantom-labels.nii.gz')
    const r = await t.client.export.run({ volumeId, format: 'nifti', outPath: out })
    expect(r.files).toContain(out)
    expect(readNifti(out).data).toEqual(edited)
    await expect(t.client.export.run({ volumeId, format: 'nifti', outPath: '/tmp/scn-export-outside.nii.gz' })).rejects.toMatchObject({ code: 'forbidden' })
    expect(existsSync('/tmp/scn-export-outside.nii.gz')).toBe(false)
  })

  it('review drives the status; the workspace exports as an nnU-Net dataset', async () => {
    await expect(t.client.cases.setStatus({ caseId, status: 'reviewed' })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/not yet approved/) })
    await expect(t.client.cases.review({ caseId, value: 1, action: 'flag', reviewer: 'dr x' })).rejects.toMatchObject({ code: 'bad-request' })
    expect((await t.client.cases.list({})).cases[0].toReview).toBe(4)
    let last
    for (const value of [1, 2, 3, 4]) last = await t.client.cases.review({ caseId, value, action: 'approve', reviewer: 'dr x' })
    expect(last).toMatchObject({ status: 'reviewed', reviewers: ['dr x'] })
    const out = join(ws(), 'exports', 'nnunet')
    const r = await t.client.export.workspace({ outPath: out })
    expect(r.cases).toEqual([caseId])
    const dataset = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'))
    expect(dataset.numTraining).toBe(1)
  })

  it('a restarted host releases the lock on close and gets the saved labels back', async () => {
    await t.host.close() // flushes autosave, releases the case lock
    const runtime = createServices({ host: 'web', workspaceDir: ws(), engine: syntheticEngine() })
    const host = await startWebHost({ runtime })
    const transport = createHttpTransport({ baseUrl: host.url, token: host.token, WebSocket: WebSocket as never })
    try {
      const client = createScnClient(transport)
      const opened = await client.cases.open({ caseId })
      const back = await client.labels.get({ volumeId: opened.volume.volumeId })
      expect(back.data).toEqual(edited)
      const pred = await client.statistics.compute({ volumeId: opened.volume.volumeId })
      expect(pred.organs.find((o) => o.value === 4)?.vsPrediction?.added).toBeGreaterThan(0)
      // the prediction's model, time, warnings and unsure shares came back with the case
      expect(opened.prediction).toEqual({
        model: 'synthetic-hu-windows 1 on cpu',
        createdAt: caseJson().prediction.createdAt,
        notes: { warnings: [WARNING], unsure: { 1: 0.06, 4: 0.46 } },
      })
      // a new run on the case replaces them with its own (this engine warns of nothing, measures no doubt)
      const done = new Promise<RunFinishedEvent>((resolve) => {
        const off = client.segmentation.onFinished((f) => (off(), resolve(f)))
      })
      await client.segmentation.run({ volumeId: opened.volume.volumeId })
      expect((await done).outcome).toBe('done')
      expect(caseJson().prediction.notes).toEqual({ warnings: [], unsure: {} })
    } finally {
      transport.close()
      await host.close()
      t.host = { ...t.host, close: async () => {} }
    }
  })
})
