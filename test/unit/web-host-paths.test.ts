/** File access through the web host: only what the user opened and the workspace. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PathAccess } from '../../src-main/services/path-access.js'
import { volumeName } from '../../src-main/services/index.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { testUid, writeDicomSeries } from '../fixtures/dicom-series.js'
import { startTestHost, writePhantom, type TestHost } from '../helpers/web-host.js'

describe('web host file access', () => {
  let t: TestHost
  let outside: string
  let allowed: string
  beforeAll(async () => {
    outside = mkdtempSync(join(tmpdir(), 'scn-outside-'))
    allowed = mkdtempSync(join(tmpdir(), 'scn-allowed-'))
    await writePhantom(outside, [16, 16, 8], [10, 10, 20])
    await writePhantom(allowed, [16, 16, 8], [10, 10, 20])
    t = await startTestHost({ allowDirs: [allowed] })
    // a sibling of the launch file: the user opened one file, not its folder
    copyFileSync(t.phantomPath, join(t.dir, 'sibling.nii.gz'))
    mkdirSync(join(t.dir, 'workspace'), { recursive: true })
    copyFileSync(t.phantomPath, join(t.dir, 'workspace', 'in-workspace.nii.gz'))
    // a link inside the workspace that points outside it
    symlinkSync(join(outside, 'phantom.nii.gz'), join(t.dir, 'workspace', 'link.nii.gz'))
  })
  afterAll(async () => {
    await t.close()
    rmSync(outside, { recursive: true, force: true })
    rmSync(allowed, { recursive: true, force: true })
  })

  const open = (path: string) => t.client.volumes.open({ path })

  it('opens the launch file, files in the workspace and in --allow-dir folders', async () => {
    expect((await open(t.phantomPath)).status).toBe('opened')
    expect((await open(join(t.dir, 'workspace', 'in-workspace.nii.gz'))).status).toBe('opened')
    expect((await open(join(allowed, 'phantom.nii.gz'))).status).toBe('opened')
  })

  it('refuses anything else, naming the path and how to allow it', async () => {
    for (const p of [join(outside, 'phantom.nii.gz'), join(t.dir, 'sibling.nii.gz'), '/etc/passwd', join(t.dir, 'workspace', '..', 'sibling.nii.gz')]) {
      const err = await open(p).then(
        () => undefined,
        (e: { code: string; message: string }) => e,
      )
      expect(err, p).toMatchObject({ code: 'forbidden' })
      expect(err!.message).toContain(p)
      expect(err!.message).toMatch(/--allow-dir/)
    }
  })

  it('follows symlinks before deciding (a link in the workspace cannot reach outside)', async () => {
    await expect(open(join(t.dir, 'workspace', 'link.nii.gz'))).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('refuses relative paths', async () => {
    await expect(open('phantom.nii.gz')).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/must be absolute/) })
  })
})

describe('a DICOM folder given at launch', () => {
  let t: TestHost
  let folder: string
  const uids = [testUid(), testUid()]
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'scn-dicom-launch-'))
    const { ct } = generatePhantom({ dims: [24, 24, 6], spacing: [12, 12, 30], seed: 5 })
    writeDicomSeries(ct, join(folder, 'a'), { seriesUid: uids[0], description: 'abdomen venous' })
    writeDicomSeries(ct, join(folder, 'b'), { seriesUid: uids[1], description: 'abdomen arterial' })
    t = await startTestHost({ launchPath: folder })
  })
  afterAll(async () => {
    await t.close()
    rmSync(folder, { recursive: true, force: true })
  })

  it('asks which series, then opens the chosen one; the folder subtree is allowed', async () => {
    const r = await t.client.volumes.open({ path: folder })
    if (r.status !== 'needs-series') throw new Error(`expected needs-series, got ${r.status}`)
    expect(r.series.map((s) => s.seriesUid).sort()).toEqual([...uids].sort())
    const chosen = r.series.find((s) => s.description === 'abdomen arterial')!
    const opened = await t.client.volumes.open({ path: folder, seriesUid: chosen.seriesUid })
    if (opened.status !== 'opened') throw new Error('expected opened')
    expect(opened.volume).toMatchObject({ name: 'abdomen arterial', format: 'dicom', modality: 'CT', seriesUid: uids[1] })
    expect(opened.volume.geometry.dims).toEqual([24, 24, 6])
    // a subfolder of the launch folder is inside what the user opened
    expect((await t.client.volumes.open({ path: join(folder, 'a') })).status).toBe('opened')
  })

  it('names a DICOM volume and its case by the series, or by its folders when it has no description', async () => {
    const a = await t.client.volumes.open({ path: join(folder, 'a') })
    if (a.status !== 'opened') throw new Error('expected opened')
    expect((await t.client.cases.create({ volumeId: a.volume.volumeId })).name).toBe('abdomen venous')
    // an export folder called "img" inside the patient's folder, no SeriesDescription
    const { ct } = generatePhantom({ dims: [24, 24, 6], spacing: [12, 12, 30], seed: 6 })
    writeDicomSeries(ct, join(folder, 'patient-7', 'img'), { description: '' })
    const img = await t.client.volumes.open({ path: join(folder, 'patient-7', 'img') })
    if (img.status !== 'opened') throw new Error('expected opened')
    expect(img.volume.name).toBe('patient-7 img')
    expect((await t.client.cases.create({ volumeId: img.volume.volumeId })).name).toBe('patient-7 img')
    // opened by one of its files, the series goes by its folders too, not by the file's name
    expect(volumeName(join(folder, 'patient-7', 'img', 'IM0001.dcm'), 'dicom', '', false)).toBe('patient-7 img')
    expect(volumeName(join(folder, 'ct.nii.gz'), 'nifti', 'tool 1.0', false)).toBe('ct.nii.gz')
  })
})

describe('PathAccess', () => {
  it('grants files alone and folders with their subtree, also for outputs that do not exist yet', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-access-'))
    try {
      const a = new PathAccess()
      a.grant(join(dir, 'ws'))
      expect(a.allowed(join(dir, 'ws', 'new', 'export.nii.gz'))).toBe(true)
      expect(a.allowed(join(dir, 'wsx', 'a.nii.gz'))).toBe(false)
      expect(a.allowed(join(dir, 'ws', '..', 'a.nii.gz'))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
