/**
 * Radiologists' review mode in Chromium against the real web host: a phantom case (prediction =
 * the phantom's truth, made here with src-main/cases) is opened from the case list; organs are
 * approved and one flagged with a comment from the organ rows; the reviewer's name is asked once and
 * remembered by the browser. Every state is checked in the page and in case.json on disk. Approving
 * the last organ makes the case "reviewed"; a brush stroke on an approved organ sends it back to
 * "pending". No segmentation run and no GPU are involved.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { Workspace } from '../../src-main/cases/index.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { browserSkipReason, screenshot, startHarness, waitForViewports, type Harness } from './harness.js'
import { waitReady } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

const SKIP = !!browserSkipReason()
const REVIEWER = 'Dr Rossi'

describe.skipIf(SKIP)('review mode in Chromium (web host)', () => {
  let h: Harness
  let page: Page
  let caseId: string
  const wsDir = () => join(h.host.dir, 'workspace')
  /** case.json as another process sees it on disk */
  const onDisk = async () => {
    const ws = await Workspace.open(wsDir())
    const c = await ws.readCase(caseId)
    return { c, status: ws.summarise(c).status }
  }
  const stateIn = (v: number) => page.getAttribute(`[data-testid=review-state-${v}]`, 'data-state')
  const waitState = (v: number, state: string, timeout = 20_000) =>
    page.waitForFunction(([x, s]) => document.querySelector(`[data-testid=review-state-${x}]`)?.getAttribute('data-state') === s, [v, state] as const, { timeout })
  const caseStatus = () => page.getAttribute('[data-testid=review-case-status]', 'data-status')

  beforeAll(async () => {
    h = await startHarness()
    page = h.page
    await waitReady(page)
    // the phantom as a workspace case whose prediction is the phantom's truth (same grid and seed
    // as the host helper's phantom.nii.gz)
    const ws = await Workspace.open(wsDir(), { create: true, modelLabels: FLARE_LABELS })
    const truth = generatePhantom({ dims: [64, 64, 40], spacing: [5, 5, 8], seed: 7 }).labels
    const c = await ws.createCase({ ctPath: h.host.phantomPath, name: 'phantom review', prediction: { labels: truth, model: { id: 'phantom-truth', version: '1', provider: 'cpu' } } })
    caseId = c.id
  }, 600_000)

  afterAll(async () => h?.close())

  it('opens the case from the case list; every organ pending, with approve and flag buttons', async () => {
    await page.click('[data-testid=cases-refresh]')
    await page.click(`[data-testid=case-${caseId}] a`)
    await page.waitForSelector('[data-testid=review-state-4]', { timeout: 60_000 })
    await waitReady(page)
    await waitForViewports(page)
    for (const v of [1, 2, 3, 4]) {
      expect(await stateIn(v)).toBe('pending')
      expect(await page.isVisible(`[data-testid=review-approve-${v}]`)).toBe(true)
      expect(await page.isVisible(`[data-testid=review-flag-${v}]`)).toBe(true)
    }
    expect(await caseStatus()).toBe('todo')
    expect(await page.evaluate(() => localStorage.getItem('scn-studio.reviewer'))).toBeNull()
  })

  it('the first approval asks for the reviewer name once; it is remembered in localStorage', async () => {
    await page.click('[data-testid=review-approve-1]')
    await page.waitForSelector('[data-testid=review-prompt] [data-kind=name]')
    expect(await stateIn(1)).toBe('pending') // nothing sent without a name
    // an empty name is refused in words
    await page.click('[data-testid=review-prompt-ok]')
    expect(await page.textContent('[data-testid=review-error]')).toContain('name')
    await page.fill('[data-testid=review-prompt-input]', REVIEWER)
    await page.click('[data-testid=review-prompt-ok]')
    await waitState(1, 'approved')
    expect(await page.textContent('[data-testid=review-reviewer]')).toBe(REVIEWER)
    expect(await page.evaluate(() => localStorage.getItem('scn-studio.reviewer'))).toBe(REVIEWER)
    expect((await onDisk()).c.review['1']).toMatchObject({ state: 'approved', reviewer: REVIEWER })
  })

  it('approves all organs but one and flags that one with a comment; page and case.json agree', async () => {
    for (const v of [2, 3]) {
      await page.click(`[data-testid=review-approve-${v}]`)
      expect(await page.isVisible('[data-testid=review-prompt]')).toBe(false) // the name is not asked again
      await waitState(v, 'approved')
    }
    await page.click('[data-testid=review-flag-4]')
    await page.waitForSelector('[data-testid=review-prompt] [data-kind=comment]')
    expect(await page.textContent('[data-testid=review-prompt]')).toContain('pancreas')
    await page.click('[data-testid=review-prompt-ok]') // a flag without a comment is refused
    expect(await page.textContent('[data-testid=review-error]')).toContain('comment')
    await page.fill('[data-testid=review-prompt-input]', 'tail of the pancreas missing')
    await page.click('[data-testid=review-prompt-ok]')
    await waitState(4, 'flagged')
    expect(await page.getAttribute('[data-testid=review-state-4]', 'title')).toContain('tail of the pancreas missing')
    expect(await page.textContent('[data-testid=review-comment-4]')).toBe(`pancreas (flagged by ${REVIEWER}): tail of the pancreas missing`)
    expect(await caseStatus()).toBe('flagged')
    await page.waitForFunction((id) => (document.querySelector(`[data-testid=case-status-${id}]`) as HTMLSelectElement | null)?.value === 'flagged', caseId)

    const { c, status } = await onDisk()
    expect(status).toBe('flagged')
    for (const v of [1, 2, 3]) expect(c.review[String(v)], `organ ${v}`).toMatchObject({ state: 'approved', reviewer: REVIEWER, at: expect.any(String) })
    expect(c.review['4']).toMatchObject({ state: 'flagged', reviewer: REVIEWER, comment: 'tail of the pancreas missing' })
    await screenshot(page, 'ui-review-1-flagged')
  })

  it('approving the last organ makes the case reviewed', async () => {
    await page.click('[data-testid=review-approve-4]')
    await waitState(4, 'approved')
    await page.waitForFunction(() => document.querySelector('[data-testid=review-case-status]')?.getAttribute('data-status') === 'reviewed', null, { timeout: 20_000 })
    await page.waitForFunction((id) => (document.querySelector(`[data-testid=case-status-${id}]`) as HTMLSelectElement | null)?.value === 'reviewed', caseId)
    const { c, status } = await onDisk()
    expect(status).toBe('reviewed')
    expect(Object.values(c.review).every((r) => r.state === 'approved')).toBe(true)
    expect((await h.client.cases.list({})).cases.find((x) => x.caseId === caseId)).toMatchObject({ status: 'reviewed', approved: 4, toReview: 4 })
    await screenshot(page, 'ui-review-2-reviewed')
  })

  it('a brush stroke on an approved organ sends it back to pending (page and disk); the case is no longer reviewed', async () => {
    await page.evaluate(() => window.__scn!.setActiveLabel(1))
    await page.click('[data-testid=tool-brush]')
    await page.evaluate(() => window.__scn!.setBrush(12, false))
    const box = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const centre = await page.evaluate(([w, hh]) => window.__scn!.pickAt('axial', w / 2, hh / 2), [box.width, box.height] as const)
    const target: [number, number, number] = [6, 6, Math.round(centre[2])] // a corner of the slice: air
    expect(await page.evaluate((t) => window.__scn!.labelAt(t), target)).toBe(0)
    const before = await page.evaluate(() => window.__scn!.countValue(1))
    const [cx, cy] = await page.evaluate((t) => window.__scn!.canvasOf('axial', t), target)
    await page.mouse.click(box.x + cx, box.y + cy)
    expect(await page.evaluate(() => window.__scn!.countValue(1))).toBe(before + 21)

    await waitState(1, 'pending', 30_000)
    expect(await page.getAttribute('[data-testid=review-state-1]', 'title')).toContain(`edited after it was approved by ${REVIEWER}`)
    for (const v of [2, 3, 4]) expect(await stateIn(v)).toBe('approved')
    await page.waitForFunction(() => document.querySelector('[data-testid=review-case-status]')?.getAttribute('data-status') === 'in-progress', null, { timeout: 20_000 })

    const { c, status } = await onDisk()
    expect(status).toBe('in-progress')
    expect(c.review['1']).toMatchObject({ state: 'pending', note: expect.stringContaining(REVIEWER) })
    for (const v of [2, 3, 4]) expect(c.review[String(v)]?.state, `organ ${v}`).toBe('approved')
    expect(c.labelStats['1']?.voxels).toBe(before + 21)
    await screenshot(page, 'ui-review-3-edited')
    expect(h.errors).toEqual([])
  })
})
