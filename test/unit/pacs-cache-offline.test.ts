/**
 * Working without the server: the series kept in the PACS cache are listed and opened from local
 * files alone (a radiologist offline, or the server down). The cache here is laid out with the
 * functions fetchSeries itself uses (seriesCacheFolder, MANIFEST); the server is configured but
 * unreachable (a closed port), so anything that tried to contact it would fail.
 * The same path against a real Orthanc that goes away is in test/e2e/ui-pacs.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePhantom } from '../../src-shared/phantom.js'
import { cachedSeriesFolder, listCachedSeries, MANIFEST, pacsCacheDir, seriesCacheFolder, serverCacheKey } from '../../src-main/pacs/cache.js'
import { createPacsService } from '../../src-main/pacs/service.js'
import { addServer } from '../../src-main/pacs/servers.js'
import { readCt } from '../../src-main/volumes/read.js'
import { ContractError } from '../../src-shared/contract/index.js'
import { testUid, writeDicomSeries } from '../fixtures/dicom-series.js'
import { writeCachedSeries } from '../fixtures/pacs-cache.js'
import { runCli } from '../helpers/cli.js'
import { setEnv } from '../helpers/env.js'

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

describe('the PACS cache offline', () => {
  let home: string
  let restoreEnv = () => {}
  let wardUrl: string
  const goneUrl = 'http://pacs.example.invalid:8042/dicom-web'
  const ct = { studyUid: testUid(), seriesUid: testUid() }
  const mr = { studyUid: ct.studyUid, seriesUid: testUid() }
  const gone = { studyUid: testUid(), seriesUid: testUid() }
  const thinned = { studyUid: testUid(), seriesUid: testUid() }
  const dims: [number, number, number] = [40, 36, 12]
  let outside = ''
  let linkedRef = { studyUid: '', seriesUid: '' }

  const cacheSeries = (baseUrl: string, ref: { studyUid: string; seriesUid: string }, opts: { modality?: string; description: string; retrievedAt: string; nz?: number }) =>
    writeCachedSeries(baseUrl, ref, { ...opts, dims: [dims[0], dims[1], opts.nz ?? dims[2]] })

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'scn-pacs-offline-'))
    restoreEnv = setEnv({ SCN_STUDIO_HOME: home })
    wardUrl = `http://127.0.0.1:${await closedPort()}/dicom-web`
    await addServer({ name: 'ward', baseUrl: wardUrl })
    cacheSeries(wardUrl, ct, { description: 'abdomen CT venous', retrievedAt: '2026-12-01T10:00:00.000Z' })
    cacheSeries(wardUrl, mr, { modality: 'MR', description: 'T2 axial', retrievedAt: '2026-12-01T09:00:00.000Z', nz: 3 })
    // from a server no longer configured
    cacheSeries(goneUrl, gone, { description: 'old CT', retrievedAt: '2026-11-01T10:00:00.000Z', nz: 4 })
    // one image removed by hand since
    const t = cacheSeries(wardUrl, thinned, { description: 'thinned CT', retrievedAt: '2026-11-15T10:00:00.000Z', nz: 5 })
    unlinkSync(join(t, readdirSync(t).filter((f) => f.endsWith('.dcm'))[0]))
    // a download in progress (a hidden partial folder) and a folder without a manifest are not series
    const partial = join(dirname(seriesCacheFolder({ server: { baseUrl: wardUrl }, ...ct })), `.${testUid()}.partial-1-abcd`)
    writeDicomSeries(generatePhantom({ dims: [8, 8, 2], spacing: [8, 8, 8], noise: 0 }).ct, partial)
    writeDicomSeries(generatePhantom({ dims: [8, 8, 2], spacing: [8, 8, 8], noise: 0 }).ct, seriesCacheFolder({ server: { baseUrl: wardUrl }, studyUid: ct.studyUid, seriesUid: testUid() }))
    // a manifest damaged by hand (a number where the time goes) spoils only its own entry
    const damaged = cacheSeries(wardUrl, { studyUid: testUid(), seriesUid: testUid() }, { description: 'damaged', retrievedAt: '2026-12-01T11:00:00.000Z', nz: 2 })
    writeFileSync(join(damaged, MANIFEST), JSON.stringify({ baseUrl: wardUrl, studyUid: 1, retrievedAt: 5 }))
    // a link inside the cache to a series folder elsewhere (with a valid manifest): not the cache's
    outside = mkdtempSync(join(tmpdir(), 'scn-pacs-outside-'))
    const linked = { studyUid: testUid(), seriesUid: testUid() }
    const target = join(outside, 'series')
    writeDicomSeries(generatePhantom({ dims: [8, 8, 2], spacing: [8, 8, 8], noise: 0 }).ct, target)
    writeFileSync(join(target, MANIFEST), JSON.stringify({ baseUrl: wardUrl, ...linked, modality: 'CT', description: 'linked', instances: 2, retrievedAt: '2026-12-01T12:00:00.000Z' }))
    linkedRef = linked
    const linkAt = seriesCacheFolder({ server: { baseUrl: wardUrl }, ...linked })
    mkdirSync(dirname(linkAt), { recursive: true })
    symlinkSync(target, linkAt, 'dir')
  })

  afterAll(() => {
    restoreEnv()
    rmSync(home, { recursive: true, force: true })
    if (outside) rmSync(outside, { recursive: true, force: true })
  })

  it('lists the whole series only, newest first, with patient and study from the first image', async () => {
    const list = await listCachedSeries()
    expect(list.map((c) => c.manifest.description)).toEqual(['abdomen CT venous', 'T2 axial', 'thinned CT', 'old CT'])
    const first = list[0]
    expect(first.folder).toBe(seriesCacheFolder({ server: { baseUrl: wardUrl }, ...ct }))
    expect(first.serverKey).toBe(serverCacheKey(wardUrl))
    expect(first).toMatchObject({ patientName: 'Phantom^Test', patientId: 'PHANTOM', studyDate: '20260101', seriesNumber: 1, filesPresent: dims[2] })
    expect(list[2]).toMatchObject({ filesPresent: 4, manifest: expect.objectContaining({ instances: 5 }) })
  })

  it('the service names the configured server (null for one removed since) and opens a CT without contacting it', async () => {
    const granted: string[] = []
    const svc = createPacsService({
      grantRead: (p) => granted.push(p),
      volume: () => {
        throw new Error('no volume here')
      },
      exportSeg: async () => [],
      onProgress: () => undefined,
    })
    // the server is down: a search fails, naming it
    const search = await svc.impl.search({ server: 'ward' }).catch((e) => e)
    expect(search).toBeInstanceOf(ContractError)
    expect(String(search.message)).toContain('ward')

    const { series } = await svc.impl.cached()
    expect(series.map((s) => [s.description, s.server])).toEqual([
      ['abdomen CT venous', 'ward'],
      ['T2 axial', 'ward'],
      ['thinned CT', 'ward'],
      ['old CT', null],
    ])
    // names only: no folder of the host goes to the page
    expect(JSON.stringify(series)).not.toContain(home)

    const row = series[0]
    const opened = await svc.impl.openCached({ serverKey: row.serverKey, studyUid: row.studyUid, seriesUid: row.seriesUid })
    expect(opened).toMatchObject({ instances: dims[2], modality: 'CT', description: 'abdomen CT venous', fromCache: true })
    expect(granted).toEqual([opened.path])
    const vol = await readCt(opened.path)
    expect(vol.dims).toEqual(dims)

    // a series from a server removed since still opens: it is the user's
    const old = series[3]
    expect((await svc.impl.openCached({ serverKey: old.serverKey, studyUid: old.studyUid, seriesUid: old.seriesUid })).instances).toBe(4)

    // refusals: not CT; not in the cache; a key or UIDs that would leave the cache folder
    const mrRow = series[1]
    await expect(svc.impl.openCached({ serverKey: mrRow.serverKey, studyUid: mrRow.studyUid, seriesUid: mrRow.seriesUid })).rejects.toThrow(/is MR, not CT/)
    await expect(svc.impl.openCached({ serverKey: row.serverKey, studyUid: row.studyUid, seriesUid: testUid() })).rejects.toThrow(/not in this computer's PACS cache/)
    // a series folder with a valid manifest just outside the cache root: reachable by '..' if names were not checked
    const escape = join(dirname(pacsCacheDir()), row.studyUid, row.seriesUid)
    mkdirSync(escape, { recursive: true })
    writeFileSync(join(escape, MANIFEST), JSON.stringify({ baseUrl: wardUrl, studyUid: row.studyUid, seriesUid: row.seriesUid, modality: 'CT', description: '', instances: 0, retrievedAt: '' }))
    expect(cachedSeriesFolder('..', row.studyUid, row.seriesUid)).toBeUndefined()
    await expect(svc.impl.openCached({ serverKey: '..', studyUid: row.studyUid, seriesUid: row.seriesUid })).rejects.toThrow(/not in this computer's PACS cache/)
    expect(cachedSeriesFolder(row.serverKey, '..', row.seriesUid)).toBeUndefined()
    expect(cachedSeriesFolder(row.serverKey, row.studyUid, `${row.seriesUid}/..`)).toBeUndefined()
    rmSync(join(dirname(pacsCacheDir()), row.studyUid), { recursive: true })
    // the link to a folder outside the cache: neither listed nor opened
    expect(series.map((s) => s.seriesUid)).not.toContain(linkedRef.seriesUid)
    expect(cachedSeriesFolder(serverCacheKey(wardUrl), linkedRef.studyUid, linkedRef.seriesUid)).toBeUndefined()
    // a series with an image removed is not opened as if whole
    const thin = series[2]
    await expect(svc.impl.openCached({ serverKey: thin.serverKey, studyUid: thin.studyUid, seriesUid: thin.seriesUid })).rejects.toThrow(/only 4 of its 5 images are in the cache/)
    // a folder whose manifest names another series is not that series
    const elsewhere = join(pacsCacheDir(), row.serverKey, row.studyUid, '1.2.3')
    mkdirSync(elsewhere, { recursive: true })
    writeFileSync(join(elsewhere, MANIFEST), JSON.stringify({ baseUrl: wardUrl, studyUid: row.studyUid, seriesUid: row.seriesUid, modality: 'CT', description: '', instances: 1, retrievedAt: '' }))
    expect(cachedSeriesFolder(row.serverKey, row.studyUid, '1.2.3')).toBeUndefined()
    rmSync(elsewhere, { recursive: true })
    expect(granted).toHaveLength(2)
  })

  it('`scn-studio pacs cached` lists them with their folders, offline', () => {
    const r = runCli(['pacs', 'cached', '--json'], { home })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { cacheDir: string; series: { description: string; server: string | null; folder: string; instances: number; filesPresent: number }[] }
    expect(out.cacheDir).toBe(join(home, 'pacs-cache'))
    expect(out.series.map((s) => s.description)).toEqual(['abdomen CT venous', 'T2 axial', 'thinned CT', 'old CT'])
    expect(out.series[0].folder).toBe(seriesCacheFolder({ server: { baseUrl: wardUrl }, ...ct }))
    const text = runCli(['pacs', 'cached'], { home })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain('only 4 of them present')
    expect(text.stdout).toContain(goneUrl)
  })
})
