/**
 * Nothing the user has is lost to an export (issue 11 item 1), through the real CLI: an export
 * onto the CT, onto the labels or into an opened DICOM folder exits non-zero in words with every
 * source byte-for-byte unchanged (sha256); an existing output is refused without --overwrite and
 * replaced atomically with it (a new file renamed over the old one, no temp files left).
 */
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { generatePhantom } from '../../src-shared/phantom.js'
import { readLabels } from '../../src-main/volumes/read.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'
import { tmpDir } from '../fixtures/cases-workspace.js'

const ROOT = resolve(import.meta.dirname, '../..')
const CLI = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [join(ROOT, 'bin/scn-studio.mjs'), ...args], { encoding: 'utf8', cwd })
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')

/** sha256 of every file below `dir` (names relative), to prove a folder was left alone. */
function folderHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[p.slice(dir.length + 1)] = sha256(p)
    }
  }
  walk(dir)
  return out
}

/** A phantom CT (NIfTI) and its labels in a fresh folder, named as in the issue: ct.nii.gz, l.nii.gz. */
async function niftiCase() {
  const dir = tmpDir('scn-safety-')
  const p = generatePhantom({ dims: [32, 28, 8], spacing: [9, 9, 12], noise: 0 })
  await writeNifti(p.ct, join(dir, 'ct.nii.gz'))
  await writeNifti({ ...p.ct, data: p.labels.data, meta: {} }, join(dir, 'l.nii.gz'))
  return { dir, labels: p.labels.data, ct: p.ct }
}

describe('scn-studio export never replaces a source', () => {
  it('`export --ct ct.nii.gz --labels l.nii.gz --format nifti -o ct.nii.gz` exits non-zero in words; the CT is unchanged', async () => {
    const { dir } = await niftiCase()
    const before = sha256(join(dir, 'ct.nii.gz'))
    const r = CLI(['export', '--ct', 'ct.nii.gz', '--labels', 'l.nii.gz', '--format', 'nifti', '-o', 'ct.nii.gz'], dir)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/ct\.nii\.gz: this is the file you opened; exporting there would replace it/)
    expect(sha256(join(dir, 'ct.nii.gz'))).toBe(before)
    // nothing else was written either (no sidecars beside the CT)
    expect(readdirSync(dir).sort()).toEqual(['ct.nii.gz', 'l.nii.gz'])
    // --overwrite does not make a source writable
    const again = CLI(['export', '--ct', 'ct.nii.gz', '--labels', 'l.nii.gz', '--format', 'nifti', '-o', 'ct.nii.gz', '--overwrite'], dir)
    expect(again.status).not.toBe(0)
    expect(sha256(join(dir, 'ct.nii.gz'))).toBe(before)
  })

  it('the labels file and the prediction are sources too', async () => {
    const { dir } = await niftiCase()
    const before = sha256(join(dir, 'l.nii.gz'))
    for (const args of [
      ['-o', join(dir, 'l.nii.gz'), '--overwrite'],
      ['--prediction', join(dir, 'l.nii.gz'), '-o', join(dir, 'l'), '--overwrite'],
    ]) {
      const r = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nifti', ...args])
      expect(r.status, args.join(' ')).not.toBe(0)
      expect(r.stderr).toMatch(/l\.nii\.gz: this is the file you opened/)
    }
    expect(sha256(join(dir, 'l.nii.gz'))).toBe(before)
  })

  it('exporting into the opened DICOM folder is refused (every format); the folder is unchanged', async () => {
    const dir = tmpDir('scn-safety-dicom-')
    const p = generatePhantom({ dims: [32, 28, 6], spacing: [9, 9, 12], noise: 0 })
    const dicom = join(dir, 'dicom')
    writeDicomSeries(p.ct, dicom)
    await writeNifti({ ...p.ct, data: p.labels.data, meta: {} }, join(dir, 'l.nii.gz'))
    const before = folderHashes(dicom)
    for (const [format, out] of [
      ['nifti', join(dicom, 'labels.nii.gz')],
      ['dicom-seg', join(dicom, 'seg.dcm')],
      ['seg-nrrd', join(dicom, 'sub', 'labels.seg.nrrd')],
      ['nnunet', join(dicom, 'Dataset001')],
      ['nnunet', dir], // a dataset folder that would hold the DICOM folder is refused only if it replaces it: dir is fine
    ]) {
      const r = CLI(['export', '--ct', dicom, '--labels', join(dir, 'l.nii.gz'), '--format', format, '-o', out, '--overwrite'])
      if (out === dir) {
        expect(r.status, r.stderr).toBe(0)
        continue
      }
      expect(r.status, `${format} -> ${out}`).not.toBe(0)
      expect(r.stderr).toMatch(new RegExp(`this lies inside the folder you opened \\(${dicom}\\)`))
    }
    expect(folderHashes(dicom)).toEqual(before)
  })

  it('--new-study cannot put its CT series folder over the opened DICOM folder', async () => {
    const dir = tmpDir('scn-safety-dicom-')
    const p = generatePhantom({ dims: [32, 28, 6], spacing: [9, 9, 12], noise: 0 })
    const dicom = join(dir, 'seg_ct') // what `-o seg.dcm --new-study` would write
    writeDicomSeries(p.ct, dicom)
    await writeNifti({ ...p.ct, data: p.labels.data, meta: {} }, join(dir, 'l.nii.gz'))
    const before = folderHashes(dicom)
    const r = CLI(['export', '--ct', dicom, '--labels', join(dir, 'l.nii.gz'), '--format', 'dicom-seg', '--new-study', '--overwrite', '-o', join(dir, 'seg.dcm')])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/seg_ct: this is the folder you opened/)
    expect(folderHashes(dicom)).toEqual(before)
    expect(existsSync(join(dir, 'seg.dcm'))).toBe(false)
  })
  it("--new-study cannot replace a folder holding the opened CT, even below a folder named '..scans'", async () => {
    // the CT at x_ct/..scans/ct.nii.gz: `-o x --new-study` writes its CT series to x_ct/
    const dir = tmpDir('scn-safety-dotdot-')
    const p = generatePhantom({ dims: [32, 28, 6], spacing: [9, 9, 12], noise: 0 })
    const ct = join(dir, 'x_ct', '..scans', 'ct.nii.gz')
    mkdirSync(join(dir, 'x_ct', '..scans'), { recursive: true })
    await writeNifti(p.ct, ct)
    await writeNifti({ ...p.ct, data: p.labels.data, meta: {} }, join(dir, 'l.nii.gz'))
    const before = sha256(ct)
    const r = CLI(['export', '--ct', ct, '--labels', join(dir, 'l.nii.gz'), '--format', 'dicom-seg', '--new-study', '--overwrite', '-o', join(dir, 'x')])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/x_ct: the file you opened \(.*ct\.nii\.gz\) lies inside this folder, which the export would replace/)
    expect(sha256(ct)).toBe(before)
  })
})

describe('scn-studio export and long file names', () => {
  it('a legal name exports whole (its temp names stay legal); one whose sidecar would be too long is refused before any file is written', async () => {
    const { dir } = await niftiCase()
    // 222 + '.provenance.json' = 238 bytes: legal, but the temp name beside it was 260+
    const stem = 'a'.repeat(222)
    const ok = CLI(['export', '--ct', 'ct.nii.gz', '--labels', 'l.nii.gz', '--format', 'nifti', '-o', `${stem}.nii.gz`], dir)
    expect(ok.status, ok.stderr).toBe(0)
    expect(readdirSync(dir).filter((f) => f.startsWith(stem)).sort()).toEqual([`${stem}.labels.json`, `${stem}.nii.gz`, `${stem}.provenance.json`])
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    // 245 + '.provenance.json' = 261 bytes: no file system takes it
    const long = 'b'.repeat(245)
    const r = CLI(['export', '--ct', 'ct.nii.gz', '--labels', 'l.nii.gz', '--format', 'nifti', '-o', `${long}.nii.gz`], dir)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(new RegExp(`${long}\\.labels\\.json: the file name is 257 bytes long, more than file systems allow \\(255\\); nothing was written`))
    expect(readdirSync(dir).filter((f) => f.startsWith('b'))).toEqual([])
  })
})

describe('scn-studio export and existing outputs', () => {
  it('an existing target is refused without --overwrite (untouched); with it, replaced atomically', async () => {
    const { dir, labels } = await niftiCase()
    const out = join(dir, 'out', 'labels.nii.gz')
    mkdirSync(join(dir, 'out'))
    writeFileSync(out, 'keep me')
    const r = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nifti', '-o', out])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/labels\.nii\.gz already exists; nothing was written.*--overwrite/)
    expect(readFileSync(out, 'utf8')).toBe('keep me')
    expect(readdirSync(join(dir, 'out'))).toEqual(['labels.nii.gz']) // no sidecars either

    const inodeBefore = statSync(out).ino
    const ok = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nifti', '-o', out, '--overwrite'])
    expect(ok.status, ok.stderr).toBe(0)
    expect((await readLabels(out)).data).toEqual(labels)
    // atomic: a new file was renamed over the old one (new inode), and no temp file is left behind
    expect(statSync(out).ino).not.toBe(inodeBefore)
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['labels.labels.json', 'labels.nii.gz', 'labels.provenance.json'])
  })

  it('a sidecar that exists counts too; so does an nnU-Net dataset folder with files', async () => {
    const { dir } = await niftiCase()
    writeFileSync(join(dir, 'x.provenance.json'), '{}')
    const r = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nifti', '-o', join(dir, 'x.nii.gz')])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/x\.provenance\.json already exists/)
    expect(existsSync(join(dir, 'x.nii.gz'))).toBe(false)

    const ds = join(dir, 'Dataset001')
    const first = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nnunet', '-o', ds])
    expect(first.status, first.stderr).toBe(0)
    const before = folderHashes(ds)
    const second = CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nnunet', '-o', ds])
    expect(second.status).not.toBe(0)
    expect(second.stderr).toMatch(/dataset\.json.* already exist/)
    expect(folderHashes(ds)).toEqual(before)
    // an empty folder (made by a save dialog) is not "existing"
    mkdirSync(join(dir, 'empty'))
    expect(CLI(['export', '--ct', join(dir, 'ct.nii.gz'), '--labels', join(dir, 'l.nii.gz'), '--format', 'nnunet', '-o', join(dir, 'empty')]).status).toBe(0)
  })
})
