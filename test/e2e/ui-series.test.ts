/**
 * A DICOM folder with two series given at launch: the page asks which one (not a silent guess),
 * opens the chosen series, and its geometry reaches the viewer.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { generatePhantom } from '../../src-shared/phantom.js'
import { testUid, writeDicomSeries } from '../fixtures/dicom-series.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'
import { browserSkipReason, CHROMIUM_FLAGS, CHROMIUM_PATH, ensureRendererBuilt, screenshot, waitForViewports } from './harness.js'
import { waitReady } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

describe.skipIf(!!browserSkipReason())('series choice for a multi-series DICOM folder', () => {
  let dir: string
  let host: TestHost
  let browser: Browser
  let page: Page
  const uids = [testUid(), testUid()]

  beforeAll(async () => {
    ensureRendererBuilt()
    dir = mkdtempSync(join(tmpdir(), 'scn-ui-series-'))
    const a = generatePhantom({ dims: [48, 48, 12], spacing: [6, 6, 10], seed: 1 }).ct
    const b = generatePhantom({ dims: [40, 40, 16], spacing: [7, 7, 8], seed: 2 }).ct
    writeDicomSeries(a, join(dir, 'study', 'a'), { seriesUid: uids[0], description: 'abdomen venous' })
    writeDicomSeries(b, join(dir, 'study', 'b'), { seriesUid: uids[1], description: 'abdomen arterial' })
    host = await startTestHost({ launchPath: join(dir, 'study') })
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS })
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    await page.goto(host.host.openUrl)
  }, 600_000)

  afterAll(async () => {
    await browser?.close()
    await host?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('asks which series, then opens the chosen one', async () => {
    await page.waitForSelector('[data-testid=series-dialog]', { timeout: 60_000 })
    const text = (await page.textContent('[data-testid=series-dialog]'))!
    expect(text).toContain('abdomen venous')
    expect(text).toContain('abdomen arterial')
    await screenshot(page, 'ui-series-dialog')
    await page.click(`[data-testid="series-${uids[1]}"]`)
    await waitReady(page)
    await waitForViewports(page)
    expect(await page.textContent('[data-testid=case-name]')).toContain('abdomen arterial')
    expect(await page.evaluate(() => window.__scn!.dims())).toEqual([40, 40, 16])
    expect(await page.locator('[data-testid=series-dialog]').count()).toBe(0)
  })
})
