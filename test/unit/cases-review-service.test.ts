/**
 * Per-organ review state behind the contract: organReviews lists exactly the organs that decide
 * "reviewed" (model organs, plus other classes present), and cases.get / cases.review carry it.
 * cases.get answers after the host saved pending edits, so an organ edited after its approval is
 * already "pending" in the answer and in case.json, without waiting for the 2 s autosave.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Workspace, addLabel, defaultLabelTable, TEAM_PRESETS } from '../../src-main/cases/index.js'
import { CaseSummarySchema } from '../../src-shared/contract/index.js'
import { organReviews } from '../../src-main/services/workspace-service.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

describe('organReviews', () => {
  const table = addLabel(defaultLabelTable(), TEAM_PRESETS[0]!).table
  const lesion = table.labels.find((l) => l.source === 'team')!.value

  it('lists the model organs (present or not) and present team classes, pending unless reviewed', () => {
    const organs = organReviews(
      {
        labelStats: { '1': { voxels: 10, hash: 'a' }, [String(lesion)]: { voxels: 3, hash: 'b' } },
        review: {
          '1': { state: 'approved', reviewer: 'Dr A', at: '2026-01-01T00:00:00.000Z' },
          '3': { state: 'flagged', reviewer: 'Dr B', comment: 'too small', at: '2026-01-01T00:01:00.000Z' },
          '4': { state: 'pending', note: 'edited after it was approved by Dr A at 2026-01-01T00:00:00.000Z' },
        },
      },
      table,
    )
    expect(organs).toEqual([
      { value: 1, state: 'approved', reviewer: 'Dr A', at: '2026-01-01T00:00:00.000Z' },
      { value: 2, state: 'pending' },
      { value: 3, state: 'flagged', reviewer: 'Dr B', comment: 'too small', at: '2026-01-01T00:01:00.000Z' },
      { value: 4, state: 'pending', note: 'edited after it was approved by Dr A at 2026-01-01T00:00:00.000Z' },
      { value: lesion, state: 'pending' },
    ])
  })

  it('leaves out a team class with no voxels, and a review of a value that is not to be reviewed', () => {
    const organs = organReviews({ labelStats: {}, review: { [String(lesion)]: { state: 'approved', reviewer: 'Dr A' } } }, table)
    expect(organs.map((o) => o.value)).toEqual([1, 2, 3, 4])
  })
})

describe('cases.get and cases.review carry the per-organ review', () => {
  let t: TestHost
  let volumeId: string
  let caseId: string
  let labels: Uint8Array
  let version: number

  beforeAll(async () => {
    t = await startTestHost()
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('expected opened')
    volumeId = opened.volume.volumeId
    const cur = await t.client.labels.get({ volumeId })
    labels = new Uint8Array(cur.data)
    for (let i = 0; i < 200; i++) labels[1000 + i] = 1
    for (let i = 0; i < 100; i++) labels[5000 + i] = 2
    version = (await t.client.labels.put({ header: cur.header, data: labels })).version
    caseId = (await t.client.cases.create({ volumeId, name: 'review me' })).caseId
  })
  afterAll(async () => t?.close())

  const caseOnDisk = async () => (await Workspace.open(join(t.dir, 'workspace'))).readCase(caseId)

  it('a new case: every model organ pending; the list carries counts only', async () => {
    const c = await t.client.cases.get({ caseId })
    expect(CaseSummarySchema.parse(c)).toEqual(c)
    expect(c.organs).toEqual([1, 2, 3, 4].map((value) => ({ value, state: 'pending' })))
    expect(c).toMatchObject({ status: 'in-progress', approved: 0, toReview: 4 })
    expect((await t.client.cases.list({})).cases[0]!.organs).toBeUndefined()
  })

  it('approve and flag answer with the new state of every organ', async () => {
    const a = await t.client.cases.review({ caseId, value: 1, action: 'approve', reviewer: 'Dr Rossi' })
    expect(a.organs![0]).toMatchObject({ value: 1, state: 'approved', reviewer: 'Dr Rossi', at: expect.any(String) })
    const f = await t.client.cases.review({ caseId, value: 2, action: 'flag', reviewer: 'Dr Rossi', comment: 'misses the upper pole' })
    expect(f.organs!.map((o) => o.state)).toEqual(['approved', 'flagged', 'pending', 'pending'])
    expect(f.organs![1]).toMatchObject({ comment: 'misses the upper pole', reviewer: 'Dr Rossi' })
    expect(f.status).toBe('flagged')
    expect((await caseOnDisk()).review['2']).toMatchObject({ state: 'flagged', comment: 'misses the upper pole' })
  })

  it('an edit of the approved organ makes it pending in the very next cases.get (and on disk); the flag stays', async () => {
    const cur = await t.client.labels.get({ volumeId })
    expect(cur.header.version).toBeGreaterThanOrEqual(version)
    const edited = new Uint8Array(cur.data)
    for (let i = 0; i < 20; i++) edited[1200 + i] = 1
    await t.client.labels.put({ header: cur.header, data: edited })
    const c = await t.client.cases.get({ caseId }) // no wait: get saves the pending edit first
    expect(c.organs![0]).toMatchObject({ value: 1, state: 'pending', note: expect.stringContaining('edited after it was approved by Dr Rossi') })
    expect(c.organs![1]).toMatchObject({ value: 2, state: 'flagged' })
    expect((await caseOnDisk()).review['1']?.state).toBe('pending')
  })

  it('cases.get of an unknown case is not-found', async () => {
    await expect(t.client.cases.get({ caseId: 'nope' })).rejects.toMatchObject({ code: 'not-found' })
  })
})
