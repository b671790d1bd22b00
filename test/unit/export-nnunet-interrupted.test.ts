/**
 * An nnU-Net export that fails or was killed never leaves a dataset without dataset.json, nor stray
 * temp files (issue 18.8): dataset.json is written last, a failure removes what the export wrote,
 * and the next export clears the temp files a killed one left behind.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultLabelTable } from '../../src-main/cases/label-table.js'
import { exportNnunetDataset, type NnunetCase } from '../../src-main/export/nnunet.js'
import { createLabelVolume } from '../../src-shared/volume.js'
import { phantomCtFile, tmpDir } from '../fixtures/cases-workspace.js'

let dir: string
let good: NnunetCase
let bad: NnunetCase

function allFiles(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort()
}

beforeAll(async () => {
  dir = tmpDir('scn-nnunet-int-')
  const p = await phantomCtFile(dir, { seed: 3 })
  const table = defaultLabelTable()
  good = { id: 'case_1', input: { ct: p.ct, ctPath: p.ctPath, labels: { ...p.labels, meta: {} }, table, annotators: ['a'] } } as NnunetCase
  // labels on another grid: refused after the first case is already written
  const other = createLabelVolume({ ...p.ct, dims: [10, 10, 10] })
  bad = { id: 'case_2', input: { ...good.input, labels: { ...other, meta: {} } } } as NnunetCase
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('an interrupted nnU-Net export', () => {
  it('a failure half way leaves no new folder behind (no cases without dataset.json)', async () => {
    const out = join(dir, 'fresh')
    await expect(exportNnunetDataset(out, [good, bad])).rejects.toThrow(/grid/)
    expect(existsSync(out)).toBe(false)
  })

  it('into an existing folder: removes only what it wrote, and any temp file', async () => {
    const out = join(dir, 'existing')
    mkdirSync(out)
    writeFileSync(join(out, 'README.txt'), 'mine')
    await expect(exportNnunetDataset(out, [good, bad])).rejects.toThrow(/grid/)
    expect(allFiles(out)).toEqual(['README.txt'])
  })

  it('clears temp files a killed export left, and writes dataset.json last', async () => {
    const out = join(dir, 'killed')
    mkdirSync(join(out, 'imagesTr'), { recursive: true })
    // what SIGKILL during writeFileAtomic leaves: a temp beside the target, its writer's pid long gone
    const debris = join(out, 'imagesTr', '.case_1_0000.nii.gz.2147483646.0a1b2c3d.tmp')
    writeFileSync(debris, 'half a file')
    const files = await exportNnunetDataset(out, [good])
    expect(existsSync(debris)).toBe(false)
    expect(allFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(files).toContain(join(out, 'dataset.json'))
    const written = (f: string) => statSync(join(out, f), { bigint: true }).mtimeNs
    for (const f of allFiles(out)) expect(written('dataset.json') >= written(f), `dataset.json written after ${f}`).toBe(true)
    expect(allFiles(out)).toEqual(['dataset.json', 'imagesTr/case_1_0000.nii.gz', 'labels.json', 'labelsTr/case_1.nii.gz', 'provenance/case_1.json'])
  })
})
