/**
 * First end-to-end test: the web host serving the production renderer to Debian's Chromium.
 * Open a generated phantom (the launch path), see three rendered views, run the segmentation,
 * see progress and then the organ overlay; voxel counts come from the contract, not the page.
 * Uses the model in models/ when one is installed, else a deterministic HU-window engine (named
 * in the test title) so the path from button to overlay is still exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProgressEvent } from '../../src-main/contract/index.js'
import { inferenceEngine } from '../../src-main/services/engine.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { browserSkipReason, labelCounts, sampleViewport, screenshot, startHarness, VIEWS, waitForViewports, type Harness } from './harness.js'

const skip = browserSkipReason()
const models = (await inferenceEngine().listModels()).models
const engineName = models.length ? `model ${models[0].id} from models/` : 'the synthetic HU-window engine (no model in models/ yet)'

describe.skipIf(!!skip)(`web host in Chromium, segmenting with ${engineName}`, () => {
  let h: Harness
  let volumeId: string

  beforeAll(async () => {
    h = await startHarness({ engine: models.length ? undefined : syntheticEngine({ steps: 6, stepMs: 250 }) })
  }, 600_000)
  afterAll(async () => h?.close())

  it('refuses the same URL without the token (401)', async () => {
    // a fresh browser context: no token cookie from the first visit
    const ctx = await h.browser.newContext()
    const res = await (await ctx.newPage()).goto(`${h.host.host.url}/`)
    expect(res?.status()).toBe(401)
    await ctx.close()
  })

  it('opens the phantom given at launch and renders three views (pixels, not blank)', async () => {
    const samples = await waitForViewports(h.page)
    for (const v of VIEWS) {
      expect(samples[v].width, v).toBeGreaterThan(100)
      expect(samples[v].litFraction, v).toBeGreaterThan(0.05)
      expect(samples[v].distinct, v).toBeGreaterThan(8)
    }
    const { volumes } = await h.client.volumes.list({})
    expect(volumes.map((v) => v.path)).toEqual([h.host.phantomPath])
    volumeId = volumes[0].volumeId
    await screenshot(h.page, 'web-host-1-opened')
  })

  it('runs the segmentation: progress, then the overlay; counts through the contract', async () => {
    const before = await sampleViewport(h.page, 'axial')
    const progress: ProgressEvent[] = []
    const off = h.client.segmentation.onProgress((p) => progress.push(p))
    await h.page.click('[data-testid=run-segmentation]')
    // progress shows in the page while the run goes on
    await h.page.waitForSelector('[data-testid=segment-progress]', { timeout: 30_000 })
    await screenshot(h.page, 'web-host-2-progress')
    await h.page.waitForSelector('[data-testid=segment-done]', { timeout: 300_000 })
    off()
    expect(progress.length).toBeGreaterThan(1)
    expect(progress.at(-1)!.fraction).toBe(1)

    const predicted = await labelCounts(h.client, volumeId, 'prediction')
    const organs = [1, 2, 3, 4].filter((v) => (predicted[v] ?? 0) > 0)
    expect(organs.length, JSON.stringify(predicted)).toBeGreaterThanOrEqual(2)

    // the overlay appears: clearly coloured pixels where there were none
    let after = await sampleViewport(h.page, 'axial')
    for (let i = 0; i < 40 && after!.colouredFraction <= before!.colouredFraction + 0.005; i++) {
      await h.page.waitForTimeout(250)
      after = await sampleViewport(h.page, 'axial')
    }
    expect(after!.colouredFraction).toBeGreaterThan(before!.colouredFraction + 0.005)
    await screenshot(h.page, 'web-host-3-overlay')

    // the page applies the prediction and autosaves it: the host's labelmap catches up
    let current = await labelCounts(h.client, volumeId, 'current')
    for (let i = 0; i < 60 && (current[1] ?? 0) !== (predicted[1] ?? 0); i++) {
      await h.page.waitForTimeout(250)
      current = await labelCounts(h.client, volumeId, 'current')
    }
    expect(current).toEqual(predicted)
  })

  it('the page ran without errors under the strict CSP', () => {
    expect(h.errors).toEqual([])
  })
})

if (skip) describe('web host in Chromium', () => it.skip(`skipped: ${skip}`, () => {}))
