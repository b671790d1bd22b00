/**
 * The page's label table calls (src-renderer/api: ScnClient.labelTable/addLabel/updateLabel/
 * retireLabel) through the contract client against a real web host, and the demo transport's
 * in-memory table answering the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport } from '../../src-shared/contract/index.js'
import { ContractScnClient } from '../../src-renderer/api/contract-client.js'
import { DemoClient } from '../../src-renderer/api/demo.js'
import { PlainError, type LabelTableView, type ScnClient } from '../../src-renderer/api/types.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

/** The same script against any transport: what the segment list will do. */
async function script(page: ScnClient) {
  const seen: LabelTableView[] = []
  const off = page.onLabelTableChanged?.((t) => seen.push(t))
  const first = await page.labelTable()
  expect(first.labels.map((l) => l.name)).toEqual(['liver', 'kidney', 'spleen', 'pancreas'])
  expect(first.presets.map((p) => p.name)).toEqual(['liver lesion', 'kidney lesion', 'pancreatic lesion', 'splenic lesion', 'other lesion'])

  const a = await page.addLabel({ preset: 'other lesion' })
  expect(a.added).toBe(5)
  expect(a.labels.at(-1)).toMatchObject({ value: 5, name: 'other lesion', isLesion: true, source: 'team', color: [255, 30, 30] })
  expect(a.labels.at(-1)!.anatomicRegion).toBeUndefined()
  const dup = await page.addLabel({ name: ' OTHER lesion ' }).catch((e: unknown) => e)
  expect(dup).toBeInstanceOf(PlainError)
  expect((dup as Error).message).toMatch(/already has "other lesion" \(value 5\)/)

  const u = await page.updateLabel(5, { name: 'mass', color: [0, 255, 160] })
  expect(u.labels.find((l) => l.value === 5)).toMatchObject({ name: 'mass', color: [0, 255, 160], isLesion: true })
  const r = await page.retireLabel(5)
  expect(r.labels.find((l) => l.value === 5)!.retired).toBe(true)
  expect((await page.addLabel({ name: 'mass 2' })).added).toBe(6)
  await expect(page.retireLabel(42)).rejects.toThrow(/no value 42/)
  off?.()
  return { seen, version: (await page.labelTable()).version }
}

describe('label table through the contract client (web host)', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine() })
  })
  afterAll(async () => t.close())

  it('lists, adds, renames, retires; refusals are PlainErrors in words; cases opened later get the new palette', async () => {
    const transport = createHttpTransport({ baseUrl: t.host.url, token: t.host.token, WebSocket: WebSocket as never })
    try {
      const page = new ContractScnClient('web', transport, () => transport.eventsReady())
      await transport.eventsReady()
      await page.describe() // asks app.info (once), before the changes
      const { seen, version } = await script(page)
      expect(version).toBe(5)
      const deadline = Date.now() + 5000
      while (seen.length < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20))
      expect(seen.map((s) => s.version)).toEqual([2, 3, 4, 5])
      // app.info (asked once, before the changes) does not bring the old palette back
      const c = await page.openPath(t.phantomPath)
      expect(c.labelClasses.map((l) => [l.value, l.name])).toEqual([[1, 'liver'], [2, 'kidney'], [3, 'spleen'], [4, 'pancreas'], [6, 'mass 2']])
    } finally {
      transport.close()
    }
  })
})

describe('label table in demo mode (in memory)', () => {
  it('answers like the host', async () => {
    const demo = new DemoClient()
    const { seen, version } = await script(demo)
    expect(version).toBe(5)
    expect(seen.map((s) => s.version)).toEqual([2, 3, 4, 5])
    const c = await demo.openPhantom({ dims: [16, 16, 8], spacing: [10, 10, 10] })
    expect(c.labelClasses.map((l) => l.name)).toEqual(['liver', 'kidney', 'spleen', 'pancreas', 'mass 2'])
  })
})
