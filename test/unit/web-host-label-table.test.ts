/**
 * labelTable.* through the web host: the whole table over HTTP, add (preset or name), rename,
 * recolour and retire with the rules' errors in words, app.info's palette following it, the change
 * event over the WebSocket, the same answers over Electron IPC, the table kept in workspace.json;
 * and a lesion class added this way reaching the exports (nnU-Net dataset.json, DICOM SEG codes).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import dcmjs from 'dcmjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LabelTableView } from '../../src-shared/contract/index.js'
import { handleIpc } from '../../src-main/hosts/electron/ipc.js'
import { createServices } from '../../src-main/services/index.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

async function post(t: TestHost, channel: string, payload: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${t.host.url}/api/call/${channel}`, {
    method: 'POST',
    headers: { 'x-scn-token': t.host.token, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  return { status: res.status, body: await res.json() }
}

const row = (v: LabelTableView, value: number) => v.labels.find((l) => l.value === value)

describe('labelTable through the web host', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine() })
  })
  afterAll(async () => t.close())

  it('labelTable.get answers the model organs and the five presets over HTTP', async () => {
    const r = await post(t, 'labelTable.get', {})
    expect(r.status).toBe(200)
    const v = r.body as LabelTableView
    expect(v.version).toBe(1)
    expect(v.labels.map((l) => [l.value, l.name, l.source, l.retired, l.isLesion])).toEqual([
      [1, 'liver', 'model', false, false],
      [2, 'kidney', 'model', false, false],
      [3, 'spleen', 'model', false, false],
      [4, 'pancreas', 'model', false, false],
    ])
    expect(v.labels[0]).toMatchObject({ color: [221, 130, 101], snomed: { code: '10200004', scheme: 'SCT' }, category: { code: '123037004' } })
    expect(v.presets.map((p) => [p.name, p.anatomicRegion?.code ?? null, p.inTable])).toEqual([
      ['liver lesion', '10200004', false],
      ['kidney lesion', '64033007', false],
      ['pancreatic lesion', '15776009', false],
      ['splenic lesion', '78961009', false],
      ['other lesion', null, false],
    ])
    for (const p of v.presets) expect(p).toMatchObject({ isLesion: true, snomed: { code: '52988006' }, category: { code: '49755003' } })
  })

  it('adds a preset and a named class, renames, recolours and retires; the palette (app.info) follows; errors say why', async () => {
    const events: LabelTableView[] = []
    const off = t.client.labelTable.onChanged((e) => events.push(e))
    await t.eventsReady()

    const a = await post(t, 'labelTable.add', { preset: 'liver lesion' })
    expect(a.status).toBe(200)
    expect(a.body.added).toBe(5)
    expect(row(a.body as LabelTableView, 5)).toMatchObject({ name: 'liver lesion', source: 'team', isLesion: true, color: [255, 220, 0], anatomicRegion: { code: '10200004' } })
    expect((a.body as LabelTableView).presets[0].inTable).toBe(true)

    // a preset under another name; a class by name alone is not a lesion
    const b = await t.client.labelTable.add({ name: 'renal mass', preset: 'kidney lesion', color: [0, 150, 140] })
    expect(row(b, b.added)).toMatchObject({ value: 6, name: 'renal mass', color: [0, 150, 140], isLesion: true, anatomicRegion: { code: '64033007' } })
    const c = await t.client.labelTable.add({ name: 'catheter' })
    expect(row(c, c.added)).toMatchObject({ value: 7, isLesion: false, category: { code: '85756007' } })

    // the rules, in words
    const dup = await post(t, 'labelTable.add', { name: 'Liver Lesion' })
    expect(dup.status).toBe(400)
    expect(dup.body).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/already has "liver lesion" \(value 5\); names must be unique/) })
    const clash = await post(t, 'labelTable.update', { value: 7, name: 'SPLEEN' })
    expect(clash.status).toBe(400)
    expect(clash.body.message).toMatch(/already has "spleen" \(value 3\)/)
    const missing = await post(t, 'labelTable.update', { value: 99, name: 'x' })
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ code: 'not-found', message: expect.stringMatching(/no value 99/) })
    expect((await post(t, 'labelTable.retire', { value: 99 })).status).toBe(404)
    const contract = await post(t, 'labelTable.update', { value: 5 })
    expect(contract.status).toBe(400)
    expect(contract.body.message).toMatch(/labelTable.update: invalid request: name: nothing to change/)

    const u = await post(t, 'labelTable.update', { value: 5, name: 'hepatic lesion', color: [255, 200, 0] })
    expect(u.status).toBe(200)
    expect(row(u.body as LabelTableView, 5)).toMatchObject({ value: 5, name: 'hepatic lesion', color: [255, 200, 0], isLesion: true })
    expect((u.body as LabelTableView).presets[0].inTable).toBe(false) // the preset's name is free again
    const kidney = await t.client.labelTable.update({ value: 2, color: [90, 0, 160] })
    expect(row(kidney, 2)).toMatchObject({ name: 'kidney', color: [90, 0, 160], source: 'model' })

    const r = await post(t, 'labelTable.retire', { value: 7 })
    expect(r.status).toBe(200)
    expect(row(r.body as LabelTableView, 7)).toMatchObject({ name: 'catheter', retired: true })
    const again = await t.client.labelTable.retire({ value: 7 }) // retiring twice changes nothing
    expect(again.version).toBe((r.body as LabelTableView).version)
    // a retired value is never reused
    expect((await t.client.labelTable.add({ name: 'stent' })).added).toBe(8)

    const info = await t.client.app.info({})
    expect(info.labels.map((l) => [l.value, l.name])).toEqual([
      [1, 'liver'],
      [2, 'kidney'],
      [3, 'spleen'],
      [4, 'pancreas'],
      [5, 'hepatic lesion'],
      [6, 'renal mass'],
      [8, 'stent'],
    ])
    expect(info.labels[1].color).toEqual([90, 0, 160])

    const table = await t.client.labelTable.get({})
    expect(table.version).toBe(8) // created, 3 adds, rename+recolour, recolour, retire, add
    // every change (and only changes) reached the page as an event, in order
    const deadline = Date.now() + 5000
    while (events.length < 7 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20))
    off()
    expect(events.map((e) => e.version)).toEqual([2, 3, 4, 5, 6, 7, 8])
    expect(events.at(-1)).toEqual(table)

    // the same answer over Electron IPC
    const ipc = await handleIpc(t.runtime.impl, 'scn:labelTable.get', {}, true)
    expect(ipc).toEqual({ ok: true, value: table })
    const ipcDup = await handleIpc(t.runtime.impl, 'scn:labelTable.add', { preset: 'splenic lesion', name: 'stent' }, true)
    expect(ipcDup).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/already has "stent"/) } })

    // kept in workspace.json: another host on the workspace sees the same table
    const saved = JSON.parse(readFileSync(join(t.dir, 'workspace', 'workspace.json'), 'utf8'))
    expect(saved.labelTable.version).toBe(8)
    expect(saved.labelTable.history.at(-4).change).toBe('renamed 5 "liver lesion" to "hepatic lesion"; recoloured 5 hepatic lesion from 255,220,0 to 255,200,0')
    const other = createServices({ host: 'web', workspaceDir: join(t.dir, 'workspace'), engine: syntheticEngine() })
    try {
      expect(await other.impl.labelTable.get({})).toEqual(table)
    } finally {
      await other.dispose()
    }
  })

  it('two adds at once both land, with different values', async () => {
    const [x, y] = await Promise.all([t.client.labelTable.add({ name: 'nodule a' }), t.client.labelTable.add({ name: 'nodule b' })])
    expect(new Set([x.added, y.added])).toEqual(new Set([9, 10]))
    const names = (await t.client.labelTable.get({})).labels.map((l) => l.name)
    expect(names).toEqual(expect.arrayContaining(['nodule a', 'nodule b']))
  })
})

describe('a lesion class added through the service reaches the exports', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine() }, {}, { dims: [32, 32, 8], spacing: [8, 8, 10] })
  })
  afterAll(async () => t.close())

  it('nnU-Net dataset.json names it; the DICOM SEG codes it as a splenic lesion', async () => {
    const { added } = await t.client.labelTable.add({ preset: 'splenic lesion' })
    expect(added).toBe(5)
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    const volumeId = opened.volume.volumeId
    const cur = await t.client.labels.get({ volumeId })
    const labels = new Uint8Array(cur.data.length)
    for (let i = 0; i < 200; i++) labels[i] = 3 // spleen
    for (let i = 200; i < 260; i++) labels[i] = added // the lesion
    await t.client.labels.put({ header: cur.header, data: labels })

    const ws = join(t.dir, 'workspace')
    const nnunet = await t.client.export.run({ volumeId, format: 'nnunet', outPath: join(ws, 'exports', 'nnunet') })
    const datasetJson = nnunet.files.find((f) => f.endsWith('dataset.json'))!
    expect(JSON.parse(readFileSync(datasetJson, 'utf8')).labels).toEqual({ background: 0, liver: 1, kidney: 2, spleen: 3, pancreas: 4, 'splenic lesion': 5 })

    const segFile = join(ws, 'exports', 'lesion-seg.dcm')
    const seg = await t.client.export.run({ volumeId, format: 'dicom-seg', outPath: segFile, newStudy: true })
    expect(seg.files).toContain(segFile)
    const buf = readFileSync(segFile)
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)).dict)
    const segs = Object.fromEntries(ds.SegmentSequence.map((s: Record<string, any>) => [s.SegmentLabel, s]))
    const lesion = segs['splenic lesion']
    expect(lesion).toBeDefined()
    expect(lesion.SegmentedPropertyCategoryCodeSequence[0]).toMatchObject({ CodeValue: '49755003', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Morphologically Altered Structure' })
    expect(lesion.SegmentedPropertyTypeCodeSequence[0]).toMatchObject({ CodeValue: '52988006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Lesion' })
    expect(lesion.AnatomicRegionSequence[0]).toMatchObject({ CodeValue: '78961009', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Spleen' })
    expect(segs.spleen.SegmentedPropertyCategoryCodeSequence[0].CodeValue).toBe('123037004')
  })
})
