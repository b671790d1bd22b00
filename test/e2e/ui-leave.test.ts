/**
 * Opening another CT never throws work away, in Chromium against the real web host. A volume
 * that is not a workspace case keeps its labels only in the host's memory, and opening the next CT
 * frees them; so a volume whose labels changed (a prediction, edits) is kept as a case first, the
 * page says so, and the case holds exactly what the page showed. A volume nobody touched is not.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { encodeNifti } from '../../src-main/volumes/nifti.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { browserSkipReason, screenshot, startHarness, waitForViewports, type Harness } from './harness.js'
import { waitReady } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

const SKIP = !!browserSkipReason()

/** the page's labelsChecksum (FNV-1a) of a labelmap */
function fnv(a: Uint8Array): number {
  let h = 2166136261
  for (const x of a) h = Math.imul(h ^ x, 16777619)
  return h >>> 0
}

describe.skipIf(SKIP)('leaving a CT that is not a case (web host)', () => {
  let h: Harness
  let page: Page
  const otherCt = () => join(h.host.dir, 'workspace', 'other-ct.nii.gz')
  const waitSaved = () => page.waitForFunction(() => !document.querySelector('[data-testid=save-state]') && !document.querySelector('[data-testid=autosave-error]'), null, { timeout: 30_000 })

  async function openPath(path: string): Promise<void> {
    await page.fill('[data-testid=open-path]', path)
    await page.click('[data-testid=open]')
    await page.waitForFunction((p) => document.querySelector('[data-testid=case-name]')?.textContent?.includes(p), path.split('/').pop()!.replace(/\.nii\.gz$/, ''), { timeout: 60_000 })
    await waitReady(page)
    await waitForViewports(page)
  }

  beforeAll(async () => {
    h = await startHarness({ engine: syntheticEngine({ steps: 2, stepMs: 10 }) })
    page = h.page
    await waitReady(page)
    await waitForViewports(page)
    // a second CT where the web host may read it (the workspace)
    writeFileSync(otherCt(), encodeNifti(generatePhantom({ dims: [48, 40, 24], spacing: [8, 8, 10], seed: 3, noise: 0 }).ct))
  }, 600_000)

  afterAll(async () => h?.close())

  it('segmented and edited labels are kept as a case before the next CT opens, and the page says where', async () => {
    expect(await page.locator('[data-testid=save-as-case]').count()).toBe(1) // not a case
    await page.click('[data-testid=run-segmentation]')
    await page.waitForSelector('[data-testid=segment-done]', { timeout: 60_000 })
    await page.evaluate(() => window.__scn!.setActiveLabel(2))
    await page.evaluate(() => window.__scn!.dabAt('axial', [20, 20, 10], 'brush'))
    await waitSaved()
    const shown = await page.evaluate(() => window.__scn!.labelsChecksum())
    const liver = await page.evaluate(() => window.__scn!.countValue(1))
    expect(liver).toBeGreaterThan(0)

    // an export path typed for this CT (the export panel's field)
    const exportField = page.locator('[data-testid=export-path]')
    await exportField.fill(join(h.host.dir, 'workspace', 'exports', 'phantom-labels.nii.gz'))
    await openPath(otherCt())
    await page.waitForSelector('[data-testid=notice]', { timeout: 30_000 })
    // the path was for the CT before: the next export must not write the new labels under its name
    expect(await exportField.inputValue()).toBe('')
    const notice = await page.textContent('[data-testid=notice]')
    expect(notice).toMatch(/^Your labels on .+ were kept as a case \(([A-Za-z0-9_-]+), in the Cases panel\) before the next CT opened\.$/)
    const caseId = /\(([A-Za-z0-9_-]+), in the Cases panel\)/.exec(notice!)![1]!

    // the case on disk holds what the page showed, with the prediction beside it
    const ws = await h.host.runtime.workspace.workspace()
    const c = await ws.readCase(caseId)
    expect(c.ct.path).toBe(h.host.phantomPath)
    await expect.poll(async () => fnv((await ws.readCurrentLabels(caseId)).data), { timeout: 20_000 }).toBe(shown)
    expect(await ws.readPrediction(caseId)).toBeTruthy()
    for (const [w, hh] of [[1280, 720], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: hh })
      await waitForViewports(page)
      await screenshot(page, `ui-leave-kept-${w}x${hh}`)
    }
    await page.setViewportSize({ width: 1400, height: 900 })
  })

  it('a CT nobody changed is left as it was: no case is made for it', async () => {
    const before = (await h.client.cases.list({})).cases.length
    await openPath(h.host.phantomPath)
    expect(await page.locator('[data-testid=notice]').count()).toBe(0)
    expect((await h.client.cases.list({})).cases.length).toBe(before)
    expect(h.errors).toEqual([])
  })
})
