/**
 * Read and write grants (issue 11 items 1 and 5). Reading is granted by open, dialog and drop;
 * writing only to the workspace, the user models folder, `--allow-dir` folders and a path chosen in
 * a save dialog; an opened source is never written, whatever grant covers it. Checked on
 * PathAccess itself and through the Electron IPC wire (handleIpc, the same code main.ts runs)
 * over the real service layer, real files and real exports.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireResult } from '../../src-shared/contract/wire.js'
import { handleIpc } from '../../src-main/hosts/electron/ipc.js'
import { createServices, type ServiceRuntime } from '../../src-main/services/index.js'
import { PathAccess } from '../../src-main/services/path-access.js'
import { readLabels } from '../../src-main/volumes/read.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'
import { tmpDir } from '../fixtures/cases-workspace.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { setEnv } from '../helpers/env.js'

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')
const hashes = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, sha256(join(dir, f))]))

describe('PathAccess', () => {
  const dir = tmpDir('scn-grants-')
  const ct = join(dir, 'ct.nii.gz')
  const dicom = join(dir, 'dicom')
  const out = join(dir, 'out')
  beforeAll(() => {
    writeFileSync(ct, 'ct')
    mkdirSync(dicom)
    writeFileSync(join(dicom, 'a.dcm'), 'a')
    mkdirSync(out)
  })

  it('an opened file or folder is readable, never writable: not itself, not inside, not a folder holding it', () => {
    const a = new PathAccess()
    a.grant(ct)
    a.grant(dicom)
    a.grant(dir, 'write') // even under a write grant
    expect(a.allowed(ct, 'read')).toBe(true)
    expect(a.allowed(join(dicom, 'a.dcm'), 'read')).toBe(true)
    expect(() => a.check(ct, 'write')).toThrow(/ct\.nii\.gz: this is a file you opened/)
    expect(() => a.check(join(dicom, 'labels.nii.gz'), 'write')).toThrow(/this lies inside .*dicom, which you opened/)
    expect(() => a.check(dir, 'write')).toThrow(/which you opened, lies inside this folder/)
    expect(a.check(join(out, 'labels.nii.gz'), 'write')).toBe(join(out, 'labels.nii.gz'))
    expect(a.sources().sort()).toEqual([ct, dicom].sort())
  })

  it("a name that starts with two dots ('..x', '..ct.nii.gz') lies inside its folder: only a '..' segment leaves it", () => {
    const a = new PathAccess()
    a.grant(dir, 'write')
    a.grant(dicom)
    writeFileSync(join(dir, '..ct.nii.gz'), 'x')
    expect(a.allowed(join(dir, '..ct.nii.gz'), 'read')).toBe(true)
    // a folder named '..x' inside the opened DICOM folder is still inside it: no export goes there
    expect(() => a.check(join(dicom, '..x', 'seg.dcm'), 'write')).toThrow(/this lies inside .*dicom, which you opened/)
    expect(a.allowed(join(dir, '..', 'elsewhere.nii.gz'), 'read')).toBe(false)
  })

  it('a read grant alone allows no writes; write grants allow reading', () => {
    const a = new PathAccess()
    a.grant(out)
    expect(a.allowed(join(out, 'x.nii.gz'), 'read')).toBe(true)
    expect(a.allowed(join(out, 'x.nii.gz'), 'write')).toBe(false)
    const err = (() => {
      try {
        a.check(join(dir, 'elsewhere.nii.gz'), 'write')
      } catch (e) {
        return e as { code: string; message: string }
      }
    })()
    expect(err).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/writes only to the workspace, the user models folder and a path you chose in a save dialog/) })
    const b = new PathAccess()
    b.grant(out, 'write')
    expect(b.allowed(join(out, 'new', 'x.nii.gz'), 'read')).toBe(true)
    expect(b.allowed(join(out, 'new', 'x.nii.gz'), 'write')).toBe(true)
    expect(b.sources()).toEqual([]) // a write grant is not an opened source
  })

  it('a file opened from a write-granted folder becomes a source (addSource)', () => {
    const a = new PathAccess()
    a.grant(dir, 'write')
    expect(a.check(ct, 'write')).toBe(ct)
    a.addSource(ct)
    expect(() => a.check(ct, 'write')).toThrow(/this is a file you opened/)
  })

  it('a symlink cannot turn a source into a target', () => {
    const a = new PathAccess()
    a.grant(out, 'write')
    a.grant(ct)
    const link = join(out, 'link-to-ct.nii.gz')
    symlinkSync(ct, link)
    expect(() => a.check(link, 'write')).toThrow(/this is a file you opened/)
  })

  it('a drop grants one existing file or folder, read-only, until the next drop unless it was opened', () => {
    const a = new PathAccess()
    const other = join(dir, 'other.nii.gz')
    writeFileSync(other, 'x')
    for (const bad of ['relative/ct.nii.gz', join(dir, 'missing.nii.gz'), '/dev/null', 42, '', `${ct}\0`]) expect(a.grantDropped(bad), String(bad)).toBe(false)
    expect(a.roots()).toEqual([])
    expect(a.grantDropped(ct)).toBe(true)
    expect(a.allowed(ct, 'read')).toBe(true)
    expect(a.allowed(ct, 'write')).toBe(false)
    expect(a.allowed(other, 'read')).toBe(false) // the file, not its folder
    expect(a.grantDropped(other)).toBe(true)
    expect(a.allowed(ct, 'read')).toBe(false) // one at a time: the earlier, unopened drop is gone
    a.addSource(other) // the renderer opened it: now a lasting read grant
    expect(a.grantDropped(dicom)).toBe(true)
    expect(a.allowed(other, 'read')).toBe(true)
    expect(a.allowed(join(dicom, 'a.dcm'), 'read')).toBe(true)
    expect(a.allowed(join(dicom, 'a.dcm'), 'write')).toBe(false)
    expect(a.roots('write')).toEqual([])
  })
})

describe('exports through the Electron IPC wire', () => {
  let rt: ServiceRuntime
  let dir: string
  let ct: string
  let dicom: string
  let saveChoice: string | null = null
  let openChoice: string | null = null
  let volumeId: string
  const ipc = async (channel: string, payload: unknown): Promise<WireResult> => handleIpc(rt.impl, `scn:${channel}`, payload, true)
  const ok = async <T>(channel: string, payload: unknown): Promise<T> => {
    const r = await ipc(channel, payload)
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`)
    return r.value as T
  }
  let restoreEnv = () => {}
  const exportRun = (outPath: string, extra: Record<string, unknown> = {}) => ipc('export.run', { volumeId, format: 'nifti', outPath, ...extra })

  beforeAll(async () => {
    dir = tmpDir('scn-grants-ipc-')
    restoreEnv = setEnv({ SCN_STUDIO_HOME: join(dir, 'home') })
    const p = generatePhantom({ dims: [24, 20, 6], spacing: [10, 10, 14], noise: 0 })
    ct = join(dir, 'ct.nii.gz')
    await writeNifti(p.ct, ct)
    dicom = join(dir, 'dicom')
    writeDicomSeries(p.ct, dicom)
    rt = createServices({
      host: 'electron',
      workspaceDir: join(dir, 'workspace'),
      launchPath: ct,
      engine: syntheticEngine(),
      showOpenDialog: async () => openChoice,
      showSaveDialog: async () => saveChoice,
    })
    const r = await ok<{ status: string; volume: { volumeId: string } }>('volumes.open', { path: ct })
    volumeId = r.volume.volumeId
  })
  afterAll(async () => {
    await rt.dispose()
    restoreEnv()
  })

  it('an export onto the opened CT is refused in words (forbidden) and the CT is unchanged, overwrite or not', async () => {
    const before = sha256(ct)
    for (const overwrite of [false, true]) {
      const r = await exportRun(ct, { overwrite })
      expect(r).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/ct\.nii\.gz: this is a file you opened/) } })
    }
    expect(sha256(ct)).toBe(before)
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([])
  })

  it('writes go to the workspace and the user models folder; not beside the opened file', async () => {
    expect((await exportRun(join(dir, 'workspace', 'exports', 'a.nii.gz'))).ok).toBe(true)
    expect((await exportRun(join(dir, 'home', 'models', 'scratch', 'b.nii.gz'))).ok).toBe(true)
    const beside = await exportRun(join(dir, 'labels.nii.gz'))
    expect(beside).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/writes only to the workspace/) } })
    expect(existsSync(join(dir, 'labels.nii.gz'))).toBe(false)
  })

  it("the workspace's own files are never an export target: not a case's labels, not its case.json, not the cases folder", async () => {
    // another case in the workspace (B), made from a second CT
    const p2 = generatePhantom({ dims: [24, 20, 6], spacing: [10, 10, 14], noise: 0, seed: 5 })
    const ct2 = join(dir, 'ct2.nii.gz')
    await writeNifti(p2.ct, ct2)
    openChoice = ct2
    await ok('files.showOpenDialog', { kind: 'file' })
    const v2 = await ok<{ volume: { volumeId: string } }>('volumes.open', { path: ct2 })
    const b = await ok<{ caseId: string }>('cases.create', { volumeId: v2.volume.volumeId })
    const caseDir = join(dir, 'workspace', 'cases', b.caseId)
    // a workspace export into a case folder (it saves the open cases' edits first, then refuses)
    const ws = await ipc('export.workspace', { outPath: join(caseDir, 'dataset'), overwrite: true, statuses: ['todo', 'in-progress', 'reviewed'] })
    expect(ws).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/inside the workspace's cases/) } })
    expect(existsSync(join(caseDir, 'dataset'))).toBe(false)
    const before = hashes(caseDir)
    for (const [format, outPath] of [
      ['nifti', join(caseDir, 'labels.nii.gz')],
      ['nifti', join(caseDir, 'case.json')],
      ['nnunet', join(dir, 'workspace', 'cases')],
    ]) {
      const r = await ipc('export.run', { volumeId, format, outPath, overwrite: true })
      expect(r, outPath).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/the workspace's cases/) } })
    }
    expect(hashes(caseDir)).toEqual(before)
    // exports beside the cases, in the workspace, still work
    expect((await exportRun(join(dir, 'workspace', 'exports', 'c.nii.gz'))).ok).toBe(true)
  })

  it("a case whose case.json names a CT that does not open grants nothing: the page still cannot read that folder", async () => {
    const privateDir = join(dir, 'private', 'sub')
    mkdirSync(privateDir, { recursive: true })
    const other = join(privateDir, 'other-patient.nii.gz')
    await writeNifti(generatePhantom({ dims: [24, 20, 6], spacing: [10, 10, 14], noise: 0, seed: 9 }).ct, other)
    // a case made as usual, then its case.json edited (a shared or copied workspace) to name a private folder
    const ct3 = join(dir, 'ct3.nii.gz')
    await writeNifti(generatePhantom({ dims: [24, 20, 6], spacing: [10, 10, 14], noise: 0, seed: 8 }).ct, ct3)
    openChoice = ct3
    await ok('files.showOpenDialog', { kind: 'file' })
    const v3 = await ok<{ volume: { volumeId: string } }>('volumes.open', { path: ct3 })
    const c = await ok<{ caseId: string }>('cases.create', { volumeId: v3.volume.volumeId })
    await ok('volumes.close', { volumeId: v3.volume.volumeId })
    const caseJson = join(dir, 'workspace', 'cases', c.caseId, 'case.json')
    const j = JSON.parse(readFileSync(caseJson, 'utf8'))
    j.ct.path = join(dir, 'private')
    writeFileSync(caseJson, JSON.stringify(j))
    expect(rt.access.allowed(join(dir, 'private'))).toBe(false)
    const r = await ipc('cases.open', { caseId: c.caseId })
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/private: no DICOM files found/) } })
    expect(rt.access.allowed(other)).toBe(false)
    expect(await ipc('volumes.open', { path: other })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(rt.access.sources()).not.toContain(join(dir, 'private'))
  })

  it("an existing target answers 'exists' (the app asks), and overwrite: true replaces it atomically", async () => {
    const out = join(dir, 'workspace', 'exports', 'again.nii.gz')
    expect((await exportRun(out)).ok).toBe(true)
    writeFileSync(out, 'not labels')
    const inode = statSync(out).ino
    const r = await exportRun(out)
    expect(r).toMatchObject({ ok: false, error: { code: 'exists', message: expect.stringMatching(/again\.nii\.gz.* already exist/) } })
    expect(readFileSync(out, 'utf8')).toBe('not labels')
    expect((await exportRun(out, { overwrite: true })).ok).toBe(true)
    expect((await readLabels(out)).dims).toEqual([24, 20, 6])
    expect(statSync(out).ino).not.toBe(inode)
  })

  it('a folder chosen in the open dialog is read-only: exports into it are refused, its files unchanged', async () => {
    openChoice = dicom
    await ok('files.showOpenDialog', { kind: 'folder' })
    const opened = await ok<{ status: string }>('volumes.open', { path: dicom })
    expect(opened.status).toBe('opened')
    const before = hashes(dicom)
    for (const format of ['nifti', 'dicom-seg', 'nnunet']) {
      const r = await ipc('export.run', { volumeId, format, outPath: join(dicom, 'out'), overwrite: true })
      expect(r, format).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/lies inside .*dicom, which you opened/) } })
    }
    expect(hashes(dicom)).toEqual(before)
  })

  it('a path chosen in the save dialog becomes writable (that path only)', async () => {
    saveChoice = join(dir, 'chosen', 'labels.nii.gz')
    mkdirSync(join(dir, 'chosen'))
    expect(await ok('files.showSaveDialog', { kind: 'file' })).toEqual({ path: saveChoice })
    expect((await exportRun(saveChoice)).ok).toBe(true)
    expect(await exportRun(join(dir, 'chosen', 'other.nii.gz'))).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    // a save dialog cannot make an opened source writable
    saveChoice = ct
    await ok('files.showSaveDialog', { kind: 'file' })
    expect(await exportRun(ct, { overwrite: true })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it("DICOM SEG of a NIfTI CT: refused in words without newStudy; with it, a new series and a SEG in the workspace", async () => {
    const out = join(dir, 'workspace', 'exports', 'seg.dcm')
    const r = await ipc('export.run', { volumeId, format: 'dicom-seg', outPath: out })
    expect(r).toMatchObject({ ok: false, error: { code: 'bad-input', message: expect.stringMatching(/the CT is a NIfTI file, not DICOM images.*new study/) } })
    const done = await ok<{ files: string[] }>('export.run', { volumeId, format: 'dicom-seg', outPath: out, newStudy: true })
    expect(done.files.slice(0, 3)).toEqual([out, join(dir, 'workspace', 'exports', 'seg.labels.json'), join(dir, 'workspace', 'exports', 'seg.provenance.json')])
    const series = join(dir, 'workspace', 'exports', 'seg_ct')
    expect(readdirSync(series)).toHaveLength(6)
    // again: the SEG and the series folder exist; replaced only with overwrite, the folder swapped whole
    const firstSlice = sha256(join(series, 'CT00001.dcm'))
    expect(await ipc('export.run', { volumeId, format: 'dicom-seg', outPath: out, newStudy: true })).toMatchObject({ ok: false, error: { code: 'exists', message: expect.stringContaining('seg_ct') } })
    expect(sha256(join(series, 'CT00001.dcm'))).toBe(firstSlice)
    await ok('export.run', { volumeId, format: 'dicom-seg', outPath: out, newStudy: true, overwrite: true })
    expect(readdirSync(series)).toHaveLength(6)
    expect(sha256(join(series, 'CT00001.dcm'))).not.toBe(firstSlice) // fresh UIDs: a new series
    expect(readdirSync(join(dir, 'workspace', 'exports')).filter((f) => f.startsWith('.'))).toEqual([]) // no temp or old folders left
  })
})
