/**
 * The page's autosave against a real web host (the renderer's own contract client over HTTP): the
 * first save of a volume sends the whole labelmap, later ones only the voxels changed since the last
 * acknowledged save (labels.patch), and the host's labels stay equal to the page's voxel for voxel.
 * A failed save stays on screen and the next attempt sends the whole labelmap again; a save the host
 * refuses as stale (another writer, or a save whose answer was lost) is merged and saved at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport, type LabelPatch } from '../../src-shared/contract/index.js'
import { ContractScnClient } from '../../src-renderer/api/contract-client.js'
import { PlainError, type LoadedCase } from '../../src-renderer/api/types.js'
import { Autosave } from '../../src-renderer/cases/autosave.js'
import { collectPatch, LabelsPatchTracker } from '../../src-renderer/cases/labels-patch.js'
import { gridFromArray, gridToArray, type LabelGrid } from '../../src-renderer/editing/grid.js'
import { PatchBuilder } from '../../src-renderer/editing/patch.js'
import { EditSession } from '../../src-renderer/editing/session.js'
import { circle, paint, stamp } from '../../src-renderer/editing/strategies.js'
import { editStore } from '../../src-renderer/store/edit-store.js'
import { saveStore } from '../../src-renderer/store/save-store.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

/** The page's client, noting which save call each autosave made (the calls themselves are real). */
class NotingClient extends ContractScnClient {
  calls: ('put' | 'patch')[] = []
  /** the next save fails before it is sent (a full disk on the way), or after it landed (the answer is lost) */
  failNext: 'before' | 'after-landing' | null = null
  override async saveLabels(caseId: string, labels: Uint8Array): Promise<void> {
    this.calls.push('put')
    return this.failing(() => super.saveLabels(caseId, labels))
  }
  override async saveLabelsPatch(caseId: string, patch: LabelPatch): Promise<void> {
    this.calls.push('patch')
    return this.failing(() => super.saveLabelsPatch(caseId, patch))
  }
  /** runs after the next fetchLabels has answered (another writer saving meanwhile) */
  afterFetch: (() => Promise<void>) | null = null
  override async fetchLabels(caseId: string) {
    const r = await super.fetchLabels(caseId)
    const hook = this.afterFetch
    this.afterFetch = null
    await hook?.()
    return r
  }
  private async failing(save: () => Promise<void>): Promise<void> {
    const how = this.failNext
    this.failNext = null
    if (how === 'before') throw new PlainError('no space left on the device')
    if (how !== 'after-landing') return save()
    // the host stores it but the page never hears back: its version stays behind the host's
    const versions = (this as unknown as { versions: Map<string, number> }).versions
    const caseId = [...versions.keys()][0]!
    const stale = versions.get(caseId)!
    await save()
    versions.set(caseId, stale)
    throw new PlainError('the connection to the host dropped')
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

  it('a failed save stays on screen, keeps the edits, and the next attempt sends the whole labelmap', async () => {
    page.calls = []
    dab([30, 40, 15], 3)
    const mine = gridToArray(grid)
    page.failNext = 'before'
    expect(await autosave.saveNow()).toBe(false)
    expect(page.calls).toEqual(['patch'])
    expect(saveStore.getState().save).toBe('error')
    expect(saveStore.getState().saveError).toMatch(/^Autosave failed: no space left on the device\. Saving is retried/)
    expect(gridToArray(grid)).toEqual(mine)
    expect(await autosave.saveNow()).toBe(true) // the retry, now (the timer would run it later)
    expect(page.calls).toEqual(['patch', 'put'])
    expect(saveStore.getState()).toMatchObject({ save: 'saved', saveError: null })
    expect(await hostLabels()).toEqual(mine)
  })

  it('another writer saved the case: its voxels come in, the page keeps its own, and the merge is saved', async () => {
    // another page paints label 4 in a corner the user never touches, and one voxel the user paints next
    const other = await t.client.labels.get({ volumeId: c.caseId, kind: 'current' })
    const theirs = new Uint8Array(other.data)
    const nxy = grid.dims[0] * grid.dims[1]
    const at = (i: number, j: number, k: number) => i + j * grid.dims[0] + k * nxy
    for (let i = 2; i < 6; i++) theirs[at(i, 2, 2)] = 4
    theirs[at(50, 50, 25)] = 4
    await t.client.labels.put({ header: other.header, data: theirs })
    page.calls = []
    dab([50, 50, 25], 5)
    const mine = gridToArray(grid)
    expect(mine[at(50, 50, 25)]).toBe(5)
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['patch', 'put']) // refused as stale, merged, saved whole
    const merged = gridToArray(grid)
    expect(merged[at(3, 2, 2)]).toBe(4) // theirs, now on screen too
    expect(merged[at(50, 50, 25)]).toBe(5) // the user's own edit wins where both painted
    for (let i = 0; i < merged.length; i++) if (theirs[i] === 4 && i !== at(50, 50, 25)) expect(merged[i]).toBe(4)
    expect(merged.filter((v, i) => v !== mine[i] && v !== theirs[i]).length).toBe(0)
    expect(await hostLabels()).toEqual(merged)
    expect(saveStore.getState()).toMatchObject({ save: 'saved', saveError: null })
    // bringing their voxels in is one undoable step, named, and said in the status area
    expect(session.history.nextUndo && session.history.nextUndo.name).toBe('labels saved elsewhere')
    expect(editStore.getState().notice).toBe('Another window saved this case: its 4 changed voxels are merged into yours (Undo removes them).')
    // and saving goes on by patches
    page.calls = []
    dab([20, 50, 12], 1)
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['patch'])
    expect(await hostLabels()).toEqual(gridToArray(grid))
  })

  it("another writer saving again while the page merges: its later changes are not overwritten by the page's copy", async () => {
    const nxy = grid.dims[0] * grid.dims[1]
    const at = (i: number, j: number, k: number) => i + j * grid.dims[0] + k * nxy
    const hostPut = async (change: (d: Uint8Array) => void) => {
      const cur = await t.client.labels.get({ volumeId: c.caseId, kind: 'current' })
      const d = new Uint8Array(cur.data)
      change(d)
      await t.client.labels.put({ header: cur.header, data: d })
    }
    // B paints a row; the page paints elsewhere and saves: stale, merged (B's row comes in)
    await hostPut((d) => {
      for (let i = 10; i < 20; i++) d[at(i, 30, 5)] = 4
    })
    // ...and while the page merges, B erases its row again and saves
    page.afterFetch = () =>
      hostPut((d) => {
        for (let i = 10; i < 20; i++) d[at(i, 30, 5)] = 0
      })
    page.calls = []
    dab([60, 20, 8], 2)
    const mine = gridToArray(grid)[at(60, 20, 8)]
    expect(await autosave.saveNow()).toBe(false) // the merge's save is stale again: it waits its turn
    expect(gridToArray(grid)[at(12, 30, 5)]).toBe(4) // B's row, as fetched
    expect(await autosave.saveNow()).toBe(true) // the retry merges again
    const now = gridToArray(grid)
    for (let i = 10; i < 20; i++) expect(now[at(i, 30, 5)]).toBe(0) // B's erase stands: the row was never the page's
    expect(now[at(60, 20, 8)]).toBe(mine)
    expect(await hostLabels()).toEqual(now)
  })

  it('a save that landed but whose answer was lost does not block saving forever', async () => {
    page.calls = []
    dab([35, 25, 18], 2)
    page.failNext = 'after-landing'
    expect(await autosave.saveNow()).toBe(false)
    expect(saveStore.getState().save).toBe('error')
    dab([36, 25, 18], 3)
    const mine = gridToArray(grid)
    // the retry names the version the page last heard of: stale, merged (nothing of anyone else's), saved
    expect(await autosave.saveNow()).toBe(true)
    expect(page.calls).toEqual(['patch', 'put', 'put'])
    expect(gridToArray(grid)).toEqual(mine)
    expect(await hostLabels()).toEqual(mine)
    expect(saveStore.getState()).toMatchObject({ save: 'saved', saveError: null })
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
    expect(tr.take().full).toBe(true)
    tr.acknowledge()
    tr.track(new Uint32Array([1, 2, 3]))
    expect(tr.take()).toEqual({ full: false, indices: [new Uint32Array([1, 2, 3])] })
    tr.acknowledge()
    tr.track(new Uint32Array(19)) // 95 bytes: still smaller than 100 voxels
    expect(tr.take().full).toBe(false)
    tr.acknowledge()
    tr.track(new Uint32Array(20)) // 100 bytes: the labelmap is cheaper
    expect(tr.take()).toEqual({ full: true, indices: [] })
  })

  it('knows which voxels the host may lack until a save carrying them is acknowledged, however many', () => {
    const tr = new LabelsPatchTracker(100)
    tr.take()
    tr.acknowledge()
    tr.track(new Uint32Array([7]))
    tr.take()
    tr.track(new Uint32Array([8])) // edited while that save is in flight
    tr.failed() // refused: the next save goes whole, and 7 is still the page's own
    expect([7, 8, 9].map((i) => tr.hostMayLack(i))).toEqual([true, true, false])
    tr.track(Uint32Array.from({ length: 60 }, (_, i) => 20 + i)) // more than a patch can carry
    expect(tr.take().full).toBe(true)
    expect(tr.hostMayLack(79) && tr.hostMayLack(7)).toBe(true)
    tr.track(new Uint32Array([90])) // during the full save
    tr.acknowledge()
    expect([7, 8, 79, 90].map((i) => tr.hostMayLack(i))).toEqual([false, false, false, true])
    // the two ends of the volume, over several saves (each save touches only the span it set)
    tr.track(new Uint32Array([0]))
    tr.take()
    tr.track(new Uint32Array([99]))
    tr.acknowledge()
    expect([0, 90, 99].map((i) => tr.hostMayLack(i))).toEqual([false, false, true])
    tr.take()
    tr.failed()
    tr.track(new Uint32Array([1]))
    expect([0, 1, 99].map((i) => tr.hostMayLack(i))).toEqual([false, true, true])
  })
})
