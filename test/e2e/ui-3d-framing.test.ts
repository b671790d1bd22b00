/**
 * The 3D view frames the labels (src-renderer/viewer/fit-3d.ts): a label set as tall as an 800 mm
 * scan fits inside the pane with a margin (Cornerstone's own fit put it edge to edge, so it looked
 * cut), organs in a long scan fill the pane instead of sitting small in its middle, and the reset
 * button brings the framing back after a turn. Real browser, real web host.
 */
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { Workspace } from '../../src-main/cases/index.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { browserSkipReason, screenshot, startHarness, waitForViewports, type Harness } from './harness.js'
import { tinted3d, waitReady } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

type V3 = [number, number, number]
// 240 x 240 x 800 mm: a chest-abdomen-pelvis length with the phantom's organs in the middle
const DIMS: V3 = [48, 48, 160]
const SPACING: V3 = [5, 5, 5]

describe.skipIf(!!browserSkipReason())('3D view framing (web host)', () => {
  let h: Harness
  let page: Page
  const cases: Record<'column' | 'organs', string> = { column: '', organs: '' }
  const renders = async () => Number(await page.getAttribute('[data-testid=viewport-3d]', 'data-renders'))

  async function open(which: keyof typeof cases): Promise<void> {
    await page.goto(`${h.host.host.openUrl}&noauto`)
    await page.click(`[data-testid=case-${cases[which]}] a`, { timeout: 30_000 })
    await waitReady(page)
    await waitForViewports(page)
    await expect.poll(renders, { timeout: 120_000 }).toBeGreaterThan(0)
  }

  beforeAll(async () => {
    h = await startHarness({ phantom: { dims: DIMS, spacing: SPACING } })
    page = h.page
    await page.setViewportSize({ width: 1400, height: 900 })
    await waitReady(page)
    const ws = await Workspace.open(join(h.host.dir, 'workspace'), { create: true, modelLabels: FLARE_LABELS })
    const model = { id: 'phantom-truth', version: '1', provider: 'cpu' }
    const organs = generatePhantom({ dims: DIMS, spacing: SPACING, seed: 7 }).labels
    cases.organs = (await ws.createCase({ ctPath: h.host.phantomPath, name: 'organs', prediction: { labels: organs, model } })).id
    // a kidney-labelled column through every slice: the labels are as tall as the scan
    const column = generatePhantom({ dims: DIMS, spacing: SPACING, seed: 7 }).labels
    for (let k = 0; k < DIMS[2]; k++) for (let j = 20; j < 26; j++) for (let i = 20; i < 26; i++) column.data[i + DIMS[0] * (j + DIMS[1] * k)] = 2
    // the same CT in another file: one CT is open as one case at a time
    const ct2 = join(h.host.dir, 'phantom-copy.nii.gz')
    copyFileSync(h.host.phantomPath, ct2)
    cases.column = (await ws.createCase({ ctPath: ct2, name: 'column', prediction: { labels: column, model } })).id
  }, 600_000)

  afterAll(async () => {
    await h?.close().catch(() => undefined)
  })

  it('labels as tall as the scan fit inside the pane with a margin, enlarged and after a turn and reset', async () => {
    await open('column')
    // software WebGL on a busy machine can take a second or more per frame: poll until the drawn frame fits
    const fits = async () => {
      let last = await tinted3d(page)
      const ok = () => last.top > 0.03 && last.bottom < 0.97 && last.bottom - last.top > 0.75
      await expect
        .poll(async () => ((last = await tinted3d(page)), ok()), { timeout: 30_000, interval: 500 })
        .toBe(true)
        .catch(() => {
          throw new Error(`the labels should fill 75 % of the height with 3 % free above and below; drawn: ${JSON.stringify(last)}`)
        })
    }
    await fits()
    await screenshot(page, 'ui-3d-framing-column-1400x900')
    // enlarged: the camera is kept, the framing holds
    await page.dblclick('[data-testid=viewport-3d]')
    await expect.poll(async () => (await page.locator('[data-testid=viewport-3d]').boundingBox())!.height).toBeGreaterThan(600)
    await page.waitForFunction(() => document.querySelector('[data-testid=viewport-3d] canvas')!.clientHeight > 600)
    await fits()
    // a turn, then reset: framed again, seen from the front
    const cam0 = (await page.evaluate(() => window.__scn!.camera3d()))!
    const v = (await page.locator('[data-testid=viewport-3d]').boundingBox())!
    await page.mouse.move(v.x + v.width / 2, v.y + v.height / 2)
    await page.mouse.down()
    for (let s = 1; s <= 4; s++) await page.mouse.move(v.x + v.width / 2 + 30 * s, v.y + v.height / 2 + 20 * s)
    await page.mouse.up()
    await expect.poll(async () => (await page.evaluate(() => window.__scn!.camera3d()))!.direction[0]).not.toBeCloseTo(cam0.direction[0], 2)
    // tilted by the drag: the column's drawn height shrinks
    await expect.poll(async () => (await tinted3d(page)).bottom - (await tinted3d(page)).top, { timeout: 30_000 }).toBeLessThan(0.8)
    await page.click('[data-testid=reset-3d]')
    await expect.poll(async () => (await page.evaluate(() => window.__scn!.camera3d()))!.direction[1]).toBeCloseTo(cam0.direction[1], 4)
    await fits()
    await page.dblclick('[data-testid=viewport-3d]')
  })

  it('organs in a long scan fill the pane (framed on the labels, not on the 800 mm grid); screenshots at two sizes', async () => {
    for (const [w, hh] of [[1280, 720], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: hh })
      await open('organs')
      const b = await tinted3d(page)
      // the organs span ~250 mm of the 800 mm scan: edge to edge on the grid they filled ~35 % of the height
      expect(Math.max(b.bottom - b.top, b.right - b.left), `organs framed at ${w}x${hh}`).toBeGreaterThan(0.6)
      expect(b.top).toBeGreaterThan(0.02)
      expect(b.bottom).toBeLessThan(0.98)
      expect(b.left).toBeGreaterThan(0.02)
      expect(b.right).toBeLessThan(0.98)
      await screenshot(page, `ui-3d-framing-organs-${w}x${hh}`)
    }
    expect(h.errors).toEqual([])
  })
})
