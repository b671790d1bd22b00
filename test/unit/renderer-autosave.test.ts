/**
 * The page's autosave against a real web host (the renderer's own contract client over HTTP): the
 * first save of a volume sends the whole labelmap, later ones only the voxels changed since the last
 * acknowledged save (labels.patch), and the host's labels stay equal to the page's voxel for voxel.
 * A refused save stays on screen and the next attempt sends the whole labelmap again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport, type LabelPatch } from '../../src-shared/contract/index.js'
import { ContractScnClient } from '../../src-renderer/api/contract-client.js'
import type { LoadedCase } from '../../src-renderer/api/types.js'
import { Autosave } from '../../src-renderer/cases/autosave.js'
import { collectPatch, LabelsPatchTracker } from '../../src-renderer/cases/labels-patch.js'
import { gridFromArray, gridToArray, type LabelGrid } from '../../src-renderer/editing/grid.js'
import { PatchBuilder } from '../../src-renderer/editing/patch.js'
import { EditSession } from '../../src-renderer/editing/session.js'
import { circle, paint, stamp } from '../../src-renderer/editing/strategies.js'
import { saveStore } from '../../src-renderer/store/save-store.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

/** The page's client, noting which save call each autosave made (the calls themselves are real). */
class NotingClient extends ContractScnClient {
  calls: ('put' | 'patch')[] = []
  override saveLabels(caseId: string, labels: Uint8Array): Promise<void> {
    this.calls.push('put')
    return super.saveLabels(caseId, labels)
  }
  override saveLabelsPatch(caseId: string, patch: LabelPatch): Promise<void> {
    this.calls.push('patch')
    return super.saveLabelsPatch(caseId, patch)
  }
}

describe('autosave sends patches', () => {
  let t: TestHost
  let page: NotingClient
  let c: LoadedCase
  let grid: LabelGrid
  let session: EditSession
  let autosave: Autosave

  const dab = (ijk: [number, number, number], value: number, radiusMm = 12) => {
    const b = new PatchBuilder(grid)
    stamp(grid, circle(ijk, radiusMm, grid.spacing, 2), paint(value), [], b)
    session.commit(b.build(`paint ${value}`))
  }
  const hostLabels = async () => new Uint8Array((await t.client.labels.get({ volumeId: c.caseId, kind: 'current' })).data)

  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine({ steps: 1, stepMs: 1 }) })
    page = new NotingClient('web', createHttpTransport({ baseUrl: t.host.url, token: t.host.token, WebSocket: WebSocket as never }))
    c = await page.openPath(t.phantomPath)
    await page.createCase(c.caseId, 'autosaved') // the host writes a case's labels to disk
    const dims = c.geometry.dims
    grid = gridFromArray(dims, c.geometry.spacing, c.labels ? c.labels.slice() : new Uint8Array(dims[0] * dims[1] * dims[2]))
    session = new EditSession(grid, { dims, data: c.ct })
    autosave = new Autosave(page)
    autosave.attach(c, session)
  }, 120_000)

  afterAll(async () => {
    autosave?.dispose()
    await t?.close()
  })

  it('the first save sends the whole labelmap, later ones only the changed voxels', async () => {
    const voxels = grid.dims[0] * grid.dims[1] * grid.dims[2]
    dab([20, 20, 10], 1)
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['put'])
    expect(saveStore.getState()).toMatchObject({ save: 'saved', lastSentKind: 'full', lastSentBytes: voxels })
    expect(await hostLabels()).toEqual(gridToArray(grid))

    const before = gridToArray(grid)
    dab([40, 30, 20], 2)
    dab([41, 30, 20], 2) // overlaps the first: each voxel is sent once
    const changed = gridToArray(grid).reduce((n, v, i) => n + (v !== before[i] ? 1 : 0), 0)
    expect(changed).toBeGreaterThan(0)
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['put', 'patch'])
    expect(saveStore.getState()).toMatchObject({ save: 'saved', lastSentKind: 'patch', lastSentBytes: changed * 5 })
    expect(await hostLabels()).toEqual(gridToArray(grid))

    // an undo is an edit like any other: its voxels go as a patch
    session.undo()
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['put', 'patch', 'patch'])
    expect(await hostLabels()).toEqual(gridToArray(grid))
  })

  it('a refused save stays on screen, keeps the edits, and the next attempt sends the whole labelmap', async () => {
    // another writer moves the host's labelmap on: the page's next save names a stale version
    const other = await t.client.labels.get({ volumeId: c.caseId, kind: 'current' })
    await t.client.labels.put({ header: other.header, data: other.data })
    page.calls = []
    dab([30, 40, 15], 3)
    const mine = gridToArray(grid)
    expect(await autosave.saveNow()).toBe(false)
    expect(page.calls).toEqual(['patch'])
    expect(saveStore.getState().save).toBe('error')
    expect(saveStore.getState().saveError).toMatch(/^Autosave failed: .+Saving is retried/)
    expect(gridToArray(grid)).toEqual(mine)
    expect(await autosave.saveNow()).toBe(false) // the retry, now (the timer would run it later)
    expect(page.calls).toEqual(['patch', 'put'])
    expect(saveStore.getState().saveError).toMatch(/^Autosave failed/)
  })
})

describe('which voxels the host lacks', () => {
  const grid = gridFromArray([4, 4, 2], [1, 1, 1], new Uint8Array(32))

  it('collects each changed voxel once, sorted, with its value now', () => {
    grid.slices[1]![3] = 7
    grid.slices[0]![2] = 5
    const p = collectPatch(grid, [new Uint32Array([19, 2]), new Uint32Array([2, 19, 2])])
    expect([...p.indices]).toEqual([2, 19])
    expect([...p.values]).toEqual([5, 7])
  })

  it('starts full, then tracks; a patch as large as the labelmap is sent as the labelmap', () => {
    const tr = new LabelsPatchTracker(100)
    expect(tr.take()).toEqual({ full: true })
    tr.track(new Uint32Array([1, 2, 3]))
    expect(tr.take()).toEqual({ full: false, indices: [new Uint32Array([1, 2, 3])] })
    tr.track(new Uint32Array(19)) // 95 bytes: still smaller than 100 voxels
    expect(tr.take().full).toBe(false)
    tr.track(new Uint32Array(20)) // 100 bytes: the labelmap is cheaper
    expect(tr.take()).toEqual({ full: true })
    tr.track(new Uint32Array([4]))
    tr.needFull() // a failed save: the host's copy is unknown
    expect(tr.take()).toEqual({ full: true })
  })
})
