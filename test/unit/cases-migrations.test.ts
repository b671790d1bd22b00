/**
 * Case and workspace files of every earlier version open as the current version with nothing
 * lost (test/fixtures/cases/vN, written by that version's own code), and a file from a newer
 * SCN Studio is refused with a message that names it.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CASE_MIGRATIONS, WORKSPACE_MIGRATIONS } from '../../src-main/cases/migrations.js'
import { CASE_SCHEMA_VERSION, CaseFileSchema, WORKSPACE_SCHEMA_VERSION, WorkspaceFileSchema } from '../../src-main/cases/schemas.js'
import { Workspace, WorkspaceError } from '../../src-main/cases/index.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { tmpDir } from '../fixtures/cases-workspace.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/cases')
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'))

/** A fresh copy of a fixture workspace (tests write into it). */
function copyOf(version: string): string {
  const dir = join(tmpDir('scn-migrate-'), 'ws')
  cpSync(join(FIXTURES, version), dir, { recursive: true })
  return dir
}

describe('case and workspace files migrate forward', () => {
  it('every earlier version has a step and a fixture', () => {
    const fixtures = readdirSync(FIXTURES).filter((d) => /^v\d+$/.test(d)).map((d) => Number(d.slice(1)))
    for (let v = 1; v < CASE_SCHEMA_VERSION; v++) {
      expect(CASE_MIGRATIONS[v], `case.json step ${v} -> ${v + 1}`).toBeTypeOf('function')
      expect(fixtures, `fixture of case.json v${v}`).toContain(v)
    }
    for (let v = 1; v < WORKSPACE_SCHEMA_VERSION; v++) {
      expect(WORKSPACE_MIGRATIONS[v], `workspace.json step ${v} -> ${v + 1}`).toBeTypeOf('function')
      expect(fixtures, `fixture of workspace.json v${v}`).toContain(v)
    }
  })

  it('v1 case files load as the current version with every field kept', async () => {
    const dir = copyOf('v1')
    const ws = await Workspace.open(dir)
    expect(WorkspaceFileSchema.parse(readJson(join(dir, 'workspace.json'))).labelTable).toEqual(ws.labelTable)
    expect(ws.labelTable.labels.map((l) => l.name)).toContain('lesion')
    for (const id of ['abdomen-1', 'abdomen-2']) {
      const v1 = readJson(join(dir, 'cases', id, 'case.json'))
      expect(v1.schema).toBe(1)
      const c = await ws.readCase(id)
      expect(c.schema).toBe(CASE_SCHEMA_VERSION)
      const { dims, spacing, origin, direction, ...ct } = v1.ct
      expect(c.ct.geometry).toEqual({ dims, spacing, origin, direction })
      // everything else is what v1 wrote, field for field
      const { schema: _s1, ct: _c1, ...restV1 } = v1
      const { schema: _s2, ct: { geometry: _g, ...ctNow }, ...restNow } = c
      expect(ctNow).toEqual(ct)
      expect(restNow).toEqual(restV1)
    }
    // the derived view: review counts, statuses, annotators' provenance
    const { cases, problems } = await ws.listCases({ sort: 'name' })
    expect(problems).toEqual([])
    expect(cases.map((c) => [c.id, c.status, c.approved, c.hasPrediction, c.reviewers])).toEqual([
      ['abdomen-1', 'flagged', 1, true, ['dr. rev']],
      ['abdomen-2', 'flagged', 0, false, []],
    ])
    // labels and prediction read on the migrated grid, voxel for voxel
    const labels = await ws.readCurrentLabels('abdomen-1')
    expect(labels.data).toEqual(readNifti(join(dir, 'cases', 'abdomen-1', 'labels.nii.gz')).data)
    expect((await ws.readPrediction('abdomen-1'))!.data).toEqual(readNifti(join(dir, 'cases', 'abdomen-1', 'prediction.nii.gz')).data)
  })

  it('the next save writes the current version; a v1 case without uid still saves (createdAt stands in)', async () => {
    const dir = copyOf('v1')
    const ws = await Workspace.open(dir)
    for (const id of ['abdomen-1', 'abdomen-2']) {
      const s = await ws.openCase(id, { user: 'carol', delayMs: 10, maxWaitMs: 20 })
      const next = s.labels.slice()
      next[0] = 4
      s.putLabels(next)
      await s.close()
      const onDisk = CaseFileSchema.parse(readJson(join(dir, 'cases', id, 'case.json')))
      expect(onDisk.schema).toBe(CASE_SCHEMA_VERSION)
      expect(onDisk.annotators.at(-1)).toBe('carol')
      expect((await ws.readCurrentLabels(id)).data[0]).toBe(4)
    }
  })

  it('a file from a newer SCN Studio is refused, naming the file and both versions', async () => {
    const dir = copyOf('v1')
    const file = join(dir, 'cases', 'abdomen-1', 'case.json')
    writeFileSync(file, JSON.stringify({ ...readJson(file), schema: CASE_SCHEMA_VERSION + 1 }))
    const ws = await Workspace.open(dir)
    const err = await ws.readCase('abdomen-1').catch((e) => e)
    expect(err).toBeInstanceOf(WorkspaceError)
    expect(err.message).toContain(file)
    expect(err.message).toMatch(new RegExp(`schema version ${CASE_SCHEMA_VERSION + 1}, written by a newer SCN Studio; this one reads versions up to ${CASE_SCHEMA_VERSION}`))
    expect((await ws.listCases()).problems.join('\n')).toContain('newer SCN Studio')
  })
})
