/**
 * The PACS browser panel against a real Orthanc (Debian's orthanc + orthanc-dicomweb, started by
 * test/helpers/orthanc.ts, basic authentication on) through the web host and Chromium (issue 16):
 * a generated CT series is uploaded, the panel searches and lists it with its slice count, opens it
 * (retrieval into the host's cache, then volumes.open of the cached folder), the page segments it,
 * "Send SEG to PACS" stores a DICOM SEG on the same server, and the study then lists the SEG series
 * (in Orthanc's own REST API, referencing the series, and in the panel). The server is configured
 * the way a user does it: the 0600 servers file in this test's SCN_STUDIO_HOME.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import dcmjs from 'dcmjs'
import { generatePhantom } from '../../src-shared/phantom.js'
import { addServer } from '../../src-main/pacs/servers.js'
import { seriesCacheFolder, serverCacheKey } from '../../src-main/pacs/cache.js'
import { readDicomSeg } from '../../src-main/export/dicom-seg.js'
import { defaultLabelTable } from '../../src-main/cases/label-table.js'
import { ContractError } from '../../src-shared/contract/index.js'
import { testUid, writeDicomSeries } from '../fixtures/dicom-series.js'
import { HAS_ORTHANC, NEEDS_ORTHANC, startOrthanc, type Orthanc } from '../helpers/orthanc.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'
import { browserSkipReason, CHROMIUM_FLAGS, CHROMIUM_PATH, ensureRendererBuilt, labelCounts, screenshot, waitForViewports } from './harness.js'
import { waitReady } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

interface SlowProxy {
  url: string
  stop(): Promise<void>
}

/** An HTTP proxy to Orthanc on loopback that holds every single-instance answer (WADO-RS) `delayMs`; stop() cuts open connections. */
async function startSlowProxy(orthancPort: number, delayMs: number): Promise<SlowProxy> {
  const sockets = new Set<import('node:net').Socket>()
  const srv = createServer((req, res) => {
    const slowDown = /\/instances\/[0-9.]+$/.test(req.url ?? '')
    const up = httpRequest({ host: '127.0.0.1', port: orthancPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
      setTimeout(() => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      }, slowDown ? delayMs : 0)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  srv.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  let stopped = false
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
    async stop() {
      if (stopped) return
      stopped = true
      for (const s of sockets) s.destroy()
      await new Promise((r) => srv.close(r))
    },
  }
}

const skip = browserSkipReason() ?? (HAS_ORTHANC ? undefined : NEEDS_ORTHANC)

describe.skipIf(!!skip)(`PACS browser panel with a real Orthanc${skip ? ` (${skip})` : ''}`, () => {
  let home: string
  let work: string
  let orthanc: Orthanc
  let host: TestHost
  let browser: Browser
  let page: Page
  const errors: string[] = []
  const studyUid = testUid()
  const seriesUid = testUid()
  const dims: [number, number, number] = [64, 56, 24]
  let sopUids: string[] = []
  const mr = { studyUid: testUid(), seriesUid: testUid() }
  const second = { studyUid: testUid(), seriesUid: testUid() }
  let volumeId = ''
  const savedHome = process.env.SCN_STUDIO_HOME
  let slow: SlowProxy

  beforeAll(async () => {
    ensureRendererBuilt('test')
    home = mkdtempSync(join(tmpdir(), 'scn-ui-pacs-home-'))
    work = mkdtempSync(join(tmpdir(), 'scn-ui-pacs-work-'))
    // the host runs in this process: the servers file and the cache live in this test's home
    process.env.SCN_STUDIO_HOME = home
    orthanc = await startOrthanc()
    const ct = generatePhantom({ dims, spacing: [6, 6, 8], noise: 0, seed: 3 }).ct
    const files = writeDicomSeries(ct, join(work, 'ct'), { studyUid, seriesUid, description: 'abdomen CT venous' })
    await orthanc.upload(files)
    const small = generatePhantom({ dims: [32, 32, 6], spacing: [8, 8, 8], noise: 0 }).ct
    await orthanc.upload(writeDicomSeries(small, join(work, 'mr'), { ...mr, modality: 'MR', description: 'T1' }))
    await orthanc.upload(writeDicomSeries(small, join(work, 'second'), { ...second, description: 'second CT' }))
    sopUids = files.map((f) => naturalized(new Uint8Array(readFileSync(f))).SOPInstanceUID as string).sort()
    await addServer({ name: 'orthanc', baseUrl: orthanc.dicomweb, auth: { type: 'basic', username: orthanc.user, password: orthanc.password } })
    // the same Orthanc behind a proxy that answers each instance slowly: the page's progress and
    // Cancel can be seen and used, and the proxy can stop mid-transfer like a server that goes away
    slow = await startSlowProxy(orthanc.port, 400)
    await addServer({ name: 'slow', baseUrl: `${slow.url}/dicom-web`, auth: { type: 'basic', username: orthanc.user, password: orthanc.password } })
    // nothing opened at launch: the PACS is where the CT comes from
    host = await startTestHost({ launchPath: undefined, engine: syntheticEngine() })
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS })
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`)
    })
    await page.goto(host.host.openUrl)
  }, 600_000)

  afterAll(async () => {
    await browser?.close()
    await host?.close()
    await slow?.stop()
    await orthanc?.stop()
    if (savedHome === undefined) delete process.env.SCN_STUDIO_HOME
    else process.env.SCN_STUDIO_HOME = savedHome
    for (const d of [home, work]) if (d) rmSync(d, { recursive: true, force: true })
  })

  function naturalized(bytes: Uint8Array): Record<string, any> {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab, { untilTag: '7FE00010' }).dict)
  }

  it('lists the configured server (never its password), searches, and lists the series with its slice count', async () => {
    await page.waitForSelector('[data-testid=pacs-server] option', { state: 'attached', timeout: 60_000 })
    const option = (await page.textContent('[data-testid=pacs-server] option'))!
    expect(option).toContain('orthanc')
    expect(option).toContain(orthanc.dicomweb)
    expect(await page.content()).not.toContain(orthanc.password)

    // a search that matches nothing says so
    await page.fill('[data-testid=pacs-patient-name]', 'Nobody*')
    await page.click('[data-testid=pacs-search]')
    await page.waitForSelector('[data-testid=pacs-no-studies]', { timeout: 30_000 })

    await page.fill('[data-testid=pacs-patient-name]', 'Phantom*')
    await page.fill('[data-testid=pacs-modality]', 'CT')
    await page.fill('[data-testid=pacs-date-from]', '2025-12-01')
    await page.fill('[data-testid=pacs-date-to]', '2026-01-31')
    await page.click('[data-testid=pacs-search]')
    const row = page.locator(`[data-testid="pacs-study-${studyUid}"]`)
    await row.waitFor({ timeout: 30_000 })
    const cells = await row.locator('td').allTextContents()
    expect(cells[0]).toBe('2026-01-01')
    expect(cells[1]).toContain('Phantom, Test')
    expect(cells[2]).toContain('CT')
    expect(cells[3]).toBe('1')
    expect(cells[4]).toBe(String(dims[2]))

    await row.click()
    const series = page.locator(`[data-testid="pacs-series-${seriesUid}"]`)
    await series.waitFor({ timeout: 30_000 })
    expect(await series.textContent()).toContain('abdomen CT venous')
    expect(await series.locator('[data-testid=pacs-series-slices]').textContent()).toBe(String(dims[2]))
    await screenshot(page, 'ui-pacs-1-search-1280x800')
    await page.setViewportSize({ width: 1920, height: 1080 })
    await screenshot(page, 'ui-pacs-1-search-1920x1080')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('opens the series: retrieved whole into the host cache, then opened like a DICOM folder', async () => {
    await page.click(`[data-testid="pacs-open-${seriesUid}"]`)
    await waitReady(page)
    await waitForViewports(page)
    expect(await page.textContent('[data-testid=case-name]')).toContain('abdomen CT venous')
    expect(await page.evaluate(() => window.__scn!.dims())).toEqual(dims)
    const { volumes } = await host.client.volumes.list({})
    expect(volumes).toHaveLength(1)
    volumeId = volumes[0].volumeId
    expect(volumes[0].seriesUid).toBe(seriesUid)
    // the cached folder under this home's pacs-cache, not a copy anywhere else
    expect(volumes[0].path.startsWith(join(home, 'pacs-cache'))).toBe(true)
    expect(await page.locator('[data-testid=pacs-retrieval]').count()).toBe(0)
    await page.waitForSelector('[data-testid=pacs-send-seg]')
  })

  it('segments, sends the SEG to the PACS; the study then lists the SEG series (Orthanc REST and the panel)', async () => {
    await page.click('[data-testid=run-segmentation]')
    await page.waitForSelector('[data-testid=segment-done]', { timeout: 60_000 }).catch(async (e) => {
      await screenshot(page, 'ui-pacs-failed-segment')
      throw e
    })
    const counts = await labelCounts(host.client, volumeId, 'prediction')
    expect(counts[1]).toBeGreaterThan(100)
    // the user's correction after the model: the SEG must carry the edited labels, not the prediction
    const edited = await page.evaluate(() => {
      window.__scn!.setActiveLabel(2)
      window.__scn!.setBrush(8, false)
      return window.__scn!.dabAt('axial', [6, 6, 12], 'brush').changed
    })
    expect(edited).toBeGreaterThan(0)
    await page.click('[data-testid=pacs-send-seg]')
    await page.waitForSelector('[data-testid=pacs-sent] li, [data-testid=pacs-error]', { timeout: 60_000 })
    expect(await page.locator('[data-testid=pacs-error]').count(), (await page.locator('[data-testid=pacs-error]').allTextContents()).join()).toBe(0)
    const sentSop = (await page.getAttribute('[data-testid=pacs-sent] li', 'data-sop-instance-uid'))!
    const sentSeries = (await page.getAttribute('[data-testid=pacs-sent] li', 'data-series-uid'))!
    expect(sentSop).toMatch(/^[0-9.]+$/)
    expect(sentSeries).not.toBe(seriesUid)

    // Orthanc's own API: the study holds the CT series and the SEG series; the SEG references the CT
    const study = (await orthanc.rest<{ Type: string; ID: string }[]>('/tools/lookup', { method: 'POST', body: studyUid })).find((x) => x.Type === 'Study')!
    const { Series: seriesIds } = await orthanc.rest<{ Series: string[] }>(`/studies/${study.ID}`)
    const modalities = await Promise.all(seriesIds.map(async (id) => (await orthanc.rest<{ MainDicomTags: { Modality: string; SeriesInstanceUID: string } }>(`/series/${id}`)).MainDicomTags))
    expect(modalities.map((m) => m.Modality).sort()).toEqual(['CT', 'SEG'])
    expect(modalities.find((m) => m.Modality === 'SEG')!.SeriesInstanceUID).toBe(sentSeries)
    const inst = (await orthanc.rest<{ Type: string; ID: string }[]>('/tools/lookup', { method: 'POST', body: sentSop })).find((x) => x.Type === 'Instance')!
    const ds = naturalized(await orthanc.restBytes(`/instances/${inst.ID}/file`))
    expect(ds.Modality).toBe('SEG')
    expect(ds.StudyInstanceUID).toBe(studyUid)
    const refSeries = [ds.ReferencedSeriesSequence].flat()
    expect(refSeries.map((s: any) => s.SeriesInstanceUID)).toEqual([seriesUid])
    expect([refSeries[0].ReferencedInstanceSequence].flat().map((x: any) => x.ReferencedSOPInstanceUID).sort()).toEqual(sopUids)
    const segments = [ds.SegmentSequence].flat().map((s: any) => s.SegmentLabel)
    expect(segments.sort()).toEqual(['kidney', 'liver', 'pancreas', 'spleen'])
    // decoded onto the CT's grid, the SEG is the host's current labels voxel for voxel, edit included
    const segFile = join(work, 'sent-seg.dcm')
    writeFileSync(segFile, await orthanc.restBytes(`/instances/${inst.ID}/file`))
    const back = readDicomSeg(segFile, host.runtime.store.get(volumeId).ct, defaultLabelTable()).labels.data
    const current = (await host.client.labels.get({ volumeId, kind: 'current' })).data
    const prediction = (await host.client.labels.get({ volumeId, kind: 'prediction' })).data
    const differ = (a: Uint8Array, b: Uint8Array) => a.reduce((n, x, i) => n + (x !== b[i] ? 1 : 0), 0)
    expect(differ(current, prediction)).toBe(edited)
    expect(differ(back, current)).toBe(0)
    if (spawnSync('sh', ['-c', 'command -v dciodvfy']).status === 0) {
      const v = spawnSync('dciodvfy', [segFile], { encoding: 'utf8' })
      expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([])
    }

    // the panel lists the study's series again: the SEG series is there, without an Open button
    const segRow = page.locator(`[data-testid="pacs-series-${sentSeries}"]`)
    await segRow.waitFor({ timeout: 30_000 })
    expect(await segRow.getAttribute('data-modality')).toBe('SEG')
    expect(await segRow.locator('button').count()).toBe(0)
    expect(await page.locator('[data-testid=pacs-series] tbody tr').count()).toBe(2)
    await screenshot(page, 'ui-pacs-2-sent-1280x800')
    await page.setViewportSize({ width: 1920, height: 1080 })
    await screenshot(page, 'ui-pacs-2-sent-1920x1080')
    expect(errors).toEqual([])
  }, 180_000)

  it('refusals in words: an unknown server, a SEG for a CT not from a PACS, a series that is not CT; no secret in any answer', async () => {
    const servers = await host.client.pacs.servers({})
    expect(servers.servers).toEqual([
      { name: 'orthanc', baseUrl: orthanc.dicomweb, auth: 'basic' },
      { name: 'slow', baseUrl: `${slow.url}/dicom-web`, auth: 'basic' },
    ])
    expect(JSON.stringify(servers)).not.toContain(orthanc.password)
    const unknown = await host.client.pacs.search({ server: 'nosuch' }).catch((e) => e)
    expect(unknown).toBeInstanceOf(ContractError)
    expect(unknown.code).toBe('not-found')
    expect(unknown.message).toContain('no PACS server named "nosuch" is configured (configured: orthanc, slow)')
    const notCt = await host.client.pacs.retrieve({ server: 'orthanc', ...mr, retrieveId: 'mr1' }).catch((e) => e)
    expect(notCt.code).toBe('bad-input')
    expect(notCt.message).toBe(`PACS "orthanc" (${orthanc.dicomweb}), series ${mr.seriesUid}: this series is MR ("T1"), not CT: the SCN segments CT only`)
    expect(existsSync(seriesCacheFolder({ server: { baseUrl: orthanc.dicomweb }, ...mr }, join(home, 'pacs-cache')))).toBe(false)
    // a CT opened from a file has no server to send its SEG to
    host.runtime.access.grant(host.phantomPath)
    const opened = await host.client.volumes.open({ path: host.phantomPath })
    if (opened.status !== 'opened') throw new Error('phantom not opened')
    const noPacs = await host.client.pacs.sendSeg({ volumeId: opened.volume.volumeId }).catch((e) => e)
    expect(noPacs.code).toBe('bad-request')
    expect(noPacs.message).toContain('phantom.nii.gz: this CT was not retrieved from a PACS')
    await host.client.volumes.close({ volumeId: opened.volume.volumeId })
  })

  it('retrieve over the wire: progress events up to the last instance; a cancelled retrieval keeps nothing and grants nothing', async () => {
    const folder = seriesCacheFolder({ server: { baseUrl: orthanc.dicomweb }, ...second }, join(home, 'pacs-cache'))
    // cancelled at once (in-process, before the first answer): deterministic, whatever the machine's speed
    const p = host.runtime.impl.pacs.retrieve({ server: 'orthanc', ...second, retrieveId: 'c1' })
    expect(await host.runtime.impl.pacs.cancel({ retrieveId: 'c1' })).toEqual({ retrieveId: 'c1', cancelled: true })
    const err = await p.catch((e) => e)
    expect(err).toBeInstanceOf(ContractError)
    expect(err.code).toBe('cancelled')
    expect(err.message).toContain(`series ${second.seriesUid}: retrieval cancelled: nothing was kept`)
    expect(existsSync(folder)).toBe(false)
    expect(host.runtime.access.allowed(folder)).toBe(false)
    expect((await host.client.pacs.cancel({ retrieveId: 'c1' })).cancelled).toBe(false)

    const seen: { received: number; total: number }[] = []
    const off = host.client.pacs.onRetrieveProgress((e) => void (e.retrieveId === 'w1' && seen.push(e)))
    await host.eventsReady()
    const r = await host.client.pacs.retrieve({ server: 'orthanc', ...second, retrieveId: 'w1' })
    off()
    expect(r).toMatchObject({ path: folder, instances: 6, modality: 'CT', description: 'second CT', fromCache: false })
    expect(seen.at(-1)).toMatchObject({ received: 6, total: 6 })
    expect(host.runtime.access.allowed(join(folder, 'x.dcm'))).toBe(true)
    const opened = await host.client.volumes.open({ path: r.path })
    expect(opened.status).toBe('opened')
  })

  it('the page shows the retrieval progress; Cancel stops it, keeps nothing and leaves the open CT as it was', async () => {
    await page.setViewportSize({ width: 1280, height: 800 })
    const slowCache = dirname(seriesCacheFolder({ server: { baseUrl: `${slow.url}/dicom-web` }, studyUid, seriesUid }, join(home, 'pacs-cache')))
    await page.selectOption('[data-testid=pacs-server]', 'slow')
    await page.click('[data-testid=pacs-search]')
    await page.click(`[data-testid="pacs-study-${studyUid}"]`)
    await page.click(`[data-testid="pacs-open-${seriesUid}"]`)
    await page.waitForSelector('[data-testid=pacs-retrieval]', { timeout: 10_000 })
    await page.waitForFunction(() => /Retrieving [1-9]\d*\/24 images/.test(document.querySelector('[data-testid=pacs-retrieval]')?.textContent ?? ''), null, { timeout: 20_000 })
    await page.locator('[data-testid=pacs-retrieval]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-3-progress-1280x800')
    await page.click('[data-testid=pacs-cancel]')
    await page.waitForSelector('[data-testid=pacs-retrieval]', { state: 'detached', timeout: 20_000 })
    expect(await page.locator('[data-testid=pacs-error]').count()).toBe(0)
    // nothing of it in the cache (no series folder, no temporary download), the CT from before still open
    expect(existsSync(slowCache) ? readdirSync(slowCache) : []).toEqual([])
    expect(await page.textContent('[data-testid=case-name]')).toContain('abdomen CT venous')
    expect((await host.client.volumes.list({})).volumes.map((v) => v.path).filter((p) => p.startsWith(slowCache))).toEqual([])
  }, 120_000)

  it('a server that stops mid-transfer: the panel names the server and the series, nothing is opened or kept', async () => {
    const slowCache = dirname(seriesCacheFolder({ server: { baseUrl: `${slow.url}/dicom-web` }, studyUid, seriesUid }, join(home, 'pacs-cache')))
    const volumesBefore = (await host.client.volumes.list({})).volumes.map((v) => v.volumeId)
    await page.click(`[data-testid="pacs-open-${seriesUid}"]`)
    await page.waitForFunction(() => /Retrieving ([3-9]|1\d)\/24 images/.test(document.querySelector('[data-testid=pacs-retrieval]')?.textContent ?? ''), null, { timeout: 20_000 })
    await slow.stop()
    await page.waitForSelector('[data-testid=pacs-error]', { timeout: 30_000 })
    const msg = (await page.textContent('[data-testid=pacs-error]'))!
    expect(msg).toContain(`PACS "slow" (${slow.url}/dicom-web), series ${seriesUid}:`)
    expect(msg).toMatch(/retrieval stopped after \d+ of 24 instances, nothing was kept/)
    expect(await page.locator('[data-testid=pacs-retrieval]').count()).toBe(0)
    await page.locator('[data-testid=pacs-error]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-4-server-stopped-1280x800')
    expect(existsSync(slowCache) ? readdirSync(slowCache) : []).toEqual([])
    expect((await host.client.volumes.list({})).volumes.map((v) => v.volumeId)).toEqual(volumesBefore)
    expect(await page.textContent('[data-testid=case-name]')).toContain('abdomen CT venous')
    expect(errors).toEqual([])
  }, 120_000)

  it('offline: with the server gone, the series retrieved before are listed under "On this computer" and open without it', async () => {
    // a ward server (Orthanc behind a proxy) from which one series was retrieved; then it goes away
    const ward = await startSlowProxy(orthanc.port, 0)
    const wardUrl = `${ward.url}/dicom-web`
    await addServer({ name: 'ward', baseUrl: wardUrl, auth: { type: 'basic', username: orthanc.user, password: orthanc.password } })
    const got = await host.client.pacs.retrieve({ server: 'ward', ...second, retrieveId: 'ward1' })
    expect(got.fromCache).toBe(false)
    await ward.stop()
    const wardKey = serverCacheKey(wardUrl)

    await page.setViewportSize({ width: 1280, height: 800 })
    await page.reload()
    const row = page.locator(`[data-testid="pacs-cached-${wardKey}-${second.seriesUid}"]`)
    await row.waitFor({ timeout: 30_000 })
    const cells = await row.locator('td').allTextContents()
    expect(cells[0]).toContain('Phantom, Test')
    expect(cells[1]).toContain('second CT')
    expect(cells[1]).toContain('ward')
    expect(cells[2].trim()).toBe('6')
    // the series opened from "orthanc" earlier is there too, under its own server
    const fromOrthanc = page.locator(`[data-testid="pacs-cached-${serverCacheKey(orthanc.dicomweb)}-${seriesUid}"]`)
    expect(await fromOrthanc.locator('td').nth(1).textContent()).toContain('orthanc')
    // no host folder and no password in the page
    const html = await page.content()
    expect(html).not.toContain(join(home, 'pacs-cache'))
    expect(html).not.toContain(orthanc.password)

    // searching the gone server fails in words, and points at the copies
    await page.selectOption('[data-testid=pacs-server]', 'ward')
    await page.click('[data-testid=pacs-search]')
    await page.waitForSelector('[data-testid=pacs-error]', { timeout: 30_000 })
    expect(await page.textContent('[data-testid=pacs-error]')).toContain(`"ward" (${wardUrl})`)
    await page.waitForSelector('[data-testid=pacs-error-cached-hint]')
    expect(await page.locator('[data-testid=pacs-no-studies]').count(), 'a failed search is not "no study matches"').toBe(0)
    await page.locator('[data-testid=pacs-error]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-5-offline-search-failed-1280x800')

    await page.click(`[data-testid="pacs-cached-open-${wardKey}-${second.seriesUid}"]`)
    await page.waitForFunction(() => /second CT/.test(document.querySelector('[data-testid=case-name]')?.textContent ?? ''), null, { timeout: 30_000 })
    await waitReady(page)
    await waitForViewports(page)
    expect(await page.evaluate(() => window.__scn!.dims())).toEqual([32, 32, 6])
    const open = (await host.client.volumes.list({})).volumes.find((v) => v.seriesUid === second.seriesUid && v.path === got.path)
    expect(open, 'the ward copy is open').toBeDefined()
    // the row of the copy that is open is marked, not the same series cached from "orthanc"
    expect(await row.getAttribute('class')).toContain('active')
    expect(await page.locator(`[data-testid="pacs-cached-${serverCacheKey(orthanc.dicomweb)}-${second.seriesUid}"]`).getAttribute('class')).not.toContain('active')
    expect(await page.locator('[data-testid=pacs-no-studies]').count()).toBe(0)
    expect(await page.locator('[data-testid=pacs-error]').count()).toBe(0)
    await page.locator('[data-testid=pacs-cached]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-5-offline-1280x800')
    await page.setViewportSize({ width: 1280, height: 720 })
    await page.locator('[data-testid=pacs-cached]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-5-offline-1280x720')
    await page.setViewportSize({ width: 1920, height: 1080 })
    await page.locator('[data-testid=pacs-cached]').scrollIntoViewIfNeeded()
    await screenshot(page, 'ui-pacs-5-offline-1920x1080')
    await page.setViewportSize({ width: 1280, height: 800 })
    expect(errors).toEqual([])
  }, 120_000)
})
