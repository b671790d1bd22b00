/**
 * The workstation UI end to end, in Chromium against the real web host (loopback, token) with a
 * deterministic segmentation engine: open a phantom, segment, paint with the brush, check voxel
 * counts change by the expected amount, undo restores them exactly, statistics and autosave follow,
 * shortcuts work. Screenshots of the main states land in test-results/ui/.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readNifti } from '../../src-main/volumes/nifti.js'
import type { Page } from 'playwright-core'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { browserSkipReason, labelCounts, sampleViewport, screenshot, startHarness, waitForViewports, type Harness } from './harness.js'
import { statsVersion, waitReady, waitStatsAfter, watchAppearance } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

const SKIP = !!browserSkipReason()

type V3 = [number, number, number]

describe.skipIf(SKIP)('workstation UI in Chromium (web host)', () => {
  let h: Harness
  let page: Page
  let volumeId: string
  // runs started while set wait for Cancel, so the cancel test never races a finished run
  let hold = false
  // phantom 64x64x40 at 5x5x8 mm (the host helper's default)
  const voxelMl = (5 * 5 * 8) / 1000

  const count = (v: number) => page.evaluate((x) => window.__scn!.countValue(x), v)
  const checksum = () => page.evaluate(() => window.__scn!.labelsChecksum())
  const volumeText = async (v: number) => Number(await page.textContent(`[data-testid=organ-volume-${v}]`))

  const waitStats = (v: number) => waitStatsAfter(page, v)

  beforeAll(async () => {
    // slow enough (8 x 250 ms) that Cancel always lands while the run is going, even on a busy machine
    h = await startHarness({ engine: syntheticEngine({ steps: 8, stepMs: 250, holdUntilCancelled: () => hold }) })
    page = h.page
    await waitReady(page)
    await waitForViewports(page)
    volumeId = (await h.client.volumes.list({})).volumes[0]!.volumeId
  }, 600_000)

  afterAll(async () => h?.close())

  it('opens the launch CT in three rendered views with orientation markers', async () => {
    for (const v of ['axial', 'sagittal', 'coronal']) {
      const box = await page.locator(`[data-testid=viewport-${v}] canvas`).first().boundingBox()
      expect(box?.width).toBeGreaterThan(100)
    }
    expect(await page.textContent('[data-testid=case-name]')).toContain('phantom.nii.gz')
    // radiological axial view: anterior at the top
    expect(await page.locator('[data-testid=viewport-axial] ~ [data-testid=orientation-top]').textContent()).toBe('A')
    await screenshot(page, 'ui-1-opened')
  })

  it('wheel scrolls slices; dragging the crosshairs in one view moves the slices of the others', async () => {
    await page.keyboard.press('Escape') // navigate
    const ax = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const s0 = await page.evaluate(() => window.__scn!.sliceIndex('axial'))
    await page.mouse.move(ax.x + ax.width / 2, ax.y + ax.height / 2)
    for (let n = 0; n < 3; n++) await page.mouse.wheel(0, 120)
    await page.waitForFunction((s) => window.__scn!.sliceIndex('axial') !== s, s0, { timeout: 15_000 })
    const sag0 = await page.evaluate(() => window.__scn!.sliceIndex('sagittal'))
    await page.mouse.move(ax.x + ax.width / 2 - 40, ax.y + ax.height / 2 + 30)
    await page.mouse.down()
    await page.mouse.move(ax.x + ax.width / 2 - 80, ax.y + ax.height / 2 + 40, { steps: 4 })
    await page.mouse.up()
    await page.waitForFunction((s) => window.__scn!.sliceIndex('sagittal') !== s, sag0, { timeout: 15_000 })
  })

  it('segments with a progress bar; the prediction becomes the labelmap as one undoable step', async () => {
    const v0 = await statsVersion(page)
    const progressShown = await watchAppearance(page, '[data-testid=segment-progress]')
    await page.click('[data-testid=run-segmentation]')
    await page.waitForSelector('[data-testid=segment-done]', { timeout: 60_000 })
    expect(await progressShown()).toBe(true)
    await waitStats(v0)
    const pred = await labelCounts(h.client, volumeId, 'prediction')
    for (const v of [1, 2, 3, 4]) {
      const expected = pred[v] ?? 0
      expect(await count(v)).toBe(expected)
      expect(await volumeText(v)).toBeCloseTo(expected * voxelMl, 1)
    }
    expect(await page.textContent('[data-testid=undo-label]')).toContain('Apply prediction')
    expect(await page.textContent('[data-testid=organ-dice-1]')).toBe('1.000')
    await screenshot(page, 'ui-2-segmented')
  })

  it('a brush dab adds exactly the disc of voxels; stats update; undo restores exactly; autosave stores it', async () => {
    await page.click('[data-testid=label-row-1]')
    await page.click('[data-testid=tool-brush]')
    // radius 12 mm on a 5 mm grid: the 21 lattice points with a²+b² <= 5.76 (none on the boundary)
    await page.evaluate(() => window.__scn!.setBrush(12, false))
    expect(await page.getAttribute('[data-testid=tool-brush]', 'class')).toContain('on')
    const box = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const centre = await page.evaluate(([w, h]) => window.__scn!.pickAt('axial', w / 2, h / 2), [box.width, box.height] as const)
    const k = Math.round(centre[2])
    const target: V3 = [6, 6, k] // a corner of the slice: air, label 0
    for (let a = 3; a <= 9; a++) for (let b = 3; b <= 9; b++) expect(await page.evaluate(([i, j, kk]) => window.__scn!.labelAt([i, j, kk]), [a, b, k] as V3)).toBe(0)
    const [cx, cy] = await page.evaluate((t) => window.__scn!.canvasOf('axial', t), target)
    const before1 = await count(1)
    const sum0 = await checksum()
    const vol0 = await volumeText(1)
    const v0 = await statsVersion(page)
    await page.mouse.click(box.x + cx, box.y + cy)
    await waitStats(v0)
    expect(await count(1)).toBe(before1 + 21)
    expect(await volumeText(1)).toBeCloseTo(vol0 + 21 * voxelMl, 1)
    expect(await page.textContent('[data-testid=undo-label]')).toBe('Undo: Brush liver (21 voxels)')
    expect(await page.textContent('[data-testid=organ-diff-1]')).toBe('+21 / −0')
    await screenshot(page, 'ui-3-brushed')

    // autosave: the host's current labelmap catches up
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-state]'), null, { timeout: 20_000 })
    expect((await labelCounts(h.client, volumeId, 'current'))[1]).toBe(before1 + 21)
    // the page's worker statistics agree with the host's own computation on the saved labels
    const hostStats = await h.client.statistics.compute({ volumeId, kind: 'current' })
    for (const o of hostStats.organs) {
      expect(await volumeText(o.value), o.name).toBeCloseTo(o.volumeMl, 1)
      const [mean, sd] = (await page.textContent(`[data-testid=organ-hu-${o.value}]`))!.split('±').map((x) => Number(x.trim()))
      expect(Math.abs(mean! - o.meanHu!), o.name).toBeLessThanOrEqual(0.5)
      expect(Math.abs(sd! - o.stdHu!), o.name).toBeLessThanOrEqual(0.5)
      if (o.vsPrediction) expect(await page.textContent(`[data-testid=organ-dice-${o.value}]`)).toBe(o.vsPrediction.dice!.toFixed(3))
    }

    const v1 = await statsVersion(page)
    await page.click('[data-testid=undo]')
    await waitStats(v1)
    expect(await count(1)).toBe(before1)
    expect(await checksum()).toBe(sum0)
    expect(await volumeText(1)).toBeCloseTo(vol0, 1)
    await page.click('[data-testid=redo]')
    expect(await count(1)).toBe(before1 + 21)
    await screenshot(page, 'ui-4-undo-redo')
  })

  it('a drag is one stroke = one undo step; Ctrl+Z undoes it exactly', async () => {
    const box = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const sum0 = await checksum()
    const c0 = await count(2)
    await page.keyboard.press('2') // kidney active
    expect(await page.getAttribute('[data-testid=label-row-2]', 'class')).toContain('active')
    const k = Math.round((await page.evaluate(([w, h]) => window.__scn!.pickAt('axial', w / 2, h / 2), [box.width, box.height] as const))[2])
    const [x0, y0] = await page.evaluate((t) => window.__scn!.canvasOf('axial', t), [5, 58, k] as V3)
    const [x1, y1] = await page.evaluate((t) => window.__scn!.canvasOf('axial', t), [20, 58, k] as V3)
    await page.mouse.move(box.x + x0, box.y + y0)
    await page.mouse.down()
    for (let s = 1; s <= 6; s++) await page.mouse.move(box.x + x0 + ((x1 - x0) * s) / 6, box.y + y0 + ((y1 - y0) * s) / 6)
    await page.mouse.up()
    const painted = (await count(2)) - c0
    expect(painted).toBeGreaterThan(21 * 3)
    expect(await page.textContent('[data-testid=undo-label]')).toBe(`Undo: Brush kidney (${painted} voxels)`)
    await page.keyboard.press('Control+z')
    expect(await count(2)).toBe(c0)
    expect(await checksum()).toBe(sum0)
  })

  it('shortcuts: tools, brush size, lock, presets, help overlay', async () => {
    await page.keyboard.press('e')
    expect(await page.getAttribute('[data-testid=tool-eraser]', 'class')).toContain('on')
    const size0 = Number(await page.inputValue('[data-testid=brush-size]'))
    await page.keyboard.press(']')
    expect(Number(await page.inputValue('[data-testid=brush-size]'))).toBeGreaterThan(size0)
    await page.keyboard.press('[')
    await page.keyboard.press('[')
    expect(Number(await page.inputValue('[data-testid=brush-size]'))).toBeLessThan(size0)
    await page.keyboard.press('Alt+4')
    expect(await page.textContent('[data-testid=window]')).toBe('W1500 L-600')
    await page.keyboard.press('Alt+1')
    expect(await page.textContent('[data-testid=window]')).toBe('W400 L40')
    // Shift+drag is window/level on any view, whatever tool is active; all views follow
    await page.keyboard.press('b')
    const vb = (await page.locator('[data-testid=viewport-coronal]').boundingBox())!
    const cb = await count(1)
    await page.keyboard.down('Shift')
    // start away from the crosshair lines (grabbing a line would move the crosshairs instead)
    await page.mouse.move(vb.x + 60, vb.y + 60)
    await page.mouse.down()
    await page.mouse.move(vb.x + 120, vb.y + 100, { steps: 5 })
    await page.mouse.up()
    await page.keyboard.up('Shift')
    expect(await page.textContent('[data-testid=window]')).not.toBe('W400 L40')
    expect(await page.getAttribute('[data-testid=preset-abdomen]', 'class')).not.toContain('on')
    expect(await count(1)).toBe(cb) // the drag did not paint
    await page.click('[data-testid=preset-abdomen]')
    // locking the active organ makes the tools refuse, in words
    await page.keyboard.press('1')
    await page.keyboard.press('l')
    await page.keyboard.press('b')
    const box = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const c1 = await count(1)
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    expect(await count(1)).toBe(c1)
    expect(await page.textContent('[data-testid=notice]')).toContain('liver is locked')
    await page.keyboard.press('l')
    await page.keyboard.press('Escape')
    expect(await page.getAttribute('[data-testid=tool-navigate]', 'class')).toContain('on')
    await page.keyboard.press('?')
    await page.waitForSelector('[data-testid=help-overlay]')
    expect(await page.textContent('[data-testid=help-overlay]')).toContain('Ctrl+Shift+Z')
    await screenshot(page, 'ui-5-help')
    await page.keyboard.press('?')
    expect(await page.locator('[data-testid=help-overlay]').count()).toBe(0)
  })

  it('hiding every organ removes the coloured overlay from the pixels; showing brings it back', async () => {
    const coloured = async () => (await sampleViewport(page, 'coronal'))!.colouredFraction
    // software WebGL renders late on a busy machine: poll for the expected picture instead of sleeping
    const until = async (ok: (f: number) => boolean): Promise<number> => {
      const deadline = Date.now() + 20_000
      let f = await coloured()
      while (!ok(f) && Date.now() < deadline) {
        await page.waitForTimeout(250)
        f = await coloured()
      }
      return f
    }
    const shown = await coloured()
    expect(shown).toBeGreaterThan(0.005)
    for (const v of [1, 2, 3, 4]) await page.click(`[data-testid=label-visibility-${v}]`)
    // crosshair lines are coloured too: compare against the overlay, not zero
    const hidden = await until((f) => f < shown / 2)
    await screenshot(page, 'ui-organs-hidden')
    expect(hidden).toBeLessThan(shown / 2)
    for (const v of [1, 2, 3, 4]) await page.click(`[data-testid=label-visibility-${v}]`)
    expect(await until((f) => f > shown * 0.8)).toBeGreaterThan(shown * 0.8)
  })

  it('cancelling a segmentation leaves the labels as they were and says so', async () => {
    const sum0 = await checksum()
    hold = true
    try {
      await page.click('[data-testid=run-segmentation]')
      // the brushed liver is an edit since the prediction, so Segment asks first (ui-safety tests the choice)
      await page.click('[data-testid=segment-replace]', { timeout: 10_000 })
      await page.click('[data-testid=cancel-segmentation]', { timeout: 10_000 })
      await page.waitForSelector('[data-testid=segment-error]', { timeout: 20_000 })
    } finally {
      hold = false
    }
    expect(await page.textContent('[data-testid=segment-error]')).toBe('Segmentation cancelled.')
    // not next to "Prediction from ... in 8.2 s" of the run before, which read as a contradiction
    expect(await page.locator('[data-testid=segment-done]').count()).toBe(0)
    expect(await checksum()).toBe(sum0)
    expect(h.errors).toEqual([])
  })

  it('keeps the open CT as a workspace case and changes its status; refusals are in words', async () => {
    await page.click('[data-testid=save-as-case]')
    await page.waitForSelector('[data-testid^=case-status-]', { timeout: 20_000 })
    const { cases } = await h.client.cases.list({})
    expect(cases.length).toBe(1)
    const id = cases[0]!.caseId
    await page.selectOption(`[data-testid=case-status-${id}]`, 'in-progress')
    // the select shows the choice at once; the host has it once the page's call returns
    await expect.poll(async () => (await h.client.cases.list({})).cases[0]!.status, { timeout: 10_000 }).toBe('in-progress')
    // 'reviewed' needs every organ approved first: the host refuses and the page says why
    await page.selectOption(`[data-testid=case-status-${id}]`, 'reviewed')
    await page.waitForSelector('[data-testid=cases-error]', { timeout: 10_000 })
    expect((await page.textContent('[data-testid=cases-error]'))!.length).toBeGreaterThan(10)
    expect((await h.client.cases.list({})).cases[0]!.status).toBe('in-progress')
    // autosave keeps working after the volume became a case (no version conflict)
    const c1 = await count(1)
    await page.evaluate(() => window.__scn!.dabAt('axial', [50, 6, 20], 'brush'))
    const deadline = Date.now() + 20_000
    while ((await labelCounts(h.client, volumeId, 'current'))[1]! <= c1 && Date.now() < deadline) await page.waitForTimeout(250)
    expect((await labelCounts(h.client, volumeId, 'current'))[1]).toBe(await count(1))
    expect(await page.locator('[data-testid=save-state][data-state=error]').count()).toBe(0)
    await screenshot(page, 'ui-7-cases')
  })

  it('exports the labels as NIfTI from the side panel; the file holds exactly the page labelmap', async () => {
    await page.selectOption('[data-testid=export-format]', 'nifti')
    await page.waitForFunction(() => ((document.querySelector('[data-testid=export-path]') as HTMLInputElement | null)?.value ?? '').endsWith('.nii.gz'))
    const outPath = await page.inputValue('[data-testid=export-path]')
    expect(outPath.startsWith(h.host.runtime.options.workspaceDir)).toBe(true)
    await page.click('[data-testid=export-run]')
    await page.waitForSelector('[data-testid=export-done], [data-testid=export-error]', { timeout: 60_000 })
    expect(await page.locator('[data-testid=export-error]').count()).toBe(0)
    const files = await page.locator('[data-testid=export-done] li').allTextContents()
    expect(files).toContain(outPath)
    const vol = readNifti(outPath)
    for (const v of [1, 2, 3, 4]) {
      let n = 0
      for (let x = 0; x < vol.data.length; x++) if (vol.data[x] === v) n++
      expect(n, `label ${v}`).toBe(await count(v))
    }
    await screenshot(page, 'ui-8-exported')
  })

  it('a path outside the workspace is refused, in words', async () => {
    await page.fill('[data-testid=export-path]', '/etc/scn-should-not-write.nii.gz')
    await page.click('[data-testid=export-run]')
    await page.waitForSelector('[data-testid=export-error]', { timeout: 30_000 })
    expect((await page.textContent('[data-testid=export-error]'))!.length).toBeGreaterThan(15)
    expect(existsSync('/etc/scn-should-not-write.nii.gz')).toBe(false)
  })

  it('a file that cannot be opened is reported in words and the open case stays usable', async () => {
    const name = await page.textContent('[data-testid=case-name]')
    await page.fill('[data-testid=open-path]', '/nonexistent/ct.nii.gz')
    await page.click('[data-testid=open]')
    await page.waitForSelector('[data-testid=error]', { timeout: 20_000 })
    const msg = (await page.textContent('[data-testid=error]'))!
    expect(msg).toContain('/nonexistent/ct.nii.gz')
    expect(await page.textContent('[data-testid=case-name]')).toBe(name)
    expect(await page.getAttribute('[data-testid=load-state]', 'data-state')).toBe('ready')
    expect(await page.isEnabled('[data-testid=run-segmentation]')).toBe(true)
    await screenshot(page, 'ui-9-open-error')
  })

  it('right-drag zooms; the canvases follow a window resize and still render', async () => {
    const ax = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const z0 = await page.evaluate(() => window.__scn!.parallelScale('axial'))
    await page.mouse.move(ax.x + 60, ax.y + 60)
    await page.mouse.down({ button: 'right' })
    await page.mouse.move(ax.x + 60, ax.y + 160, { steps: 5 })
    await page.mouse.up({ button: 'right' })
    expect(await page.evaluate(() => window.__scn!.parallelScale('axial'))).not.toBeCloseTo(z0, 3)
    const hostW0 = await page.evaluate(() => (document.querySelector('[data-testid=viewport-axial]') as HTMLElement).clientWidth)
    await page.setViewportSize({ width: 1100, height: 760 })
    // the canvas follows its (now narrower) pane
    await page.waitForFunction(
      (w0) => {
        const c = document.querySelector('[data-testid=viewport-axial] canvas') as HTMLCanvasElement
        const host = document.querySelector('[data-testid=viewport-axial]') as HTMLElement
        // the backing store (canvas.width), not the CSS box: only engine.resize() changes it
        return host.clientWidth < w0 && Math.abs(c.width / devicePixelRatio - host.clientWidth) <= 2
      },
      hostW0,
      { timeout: 15_000 },
    )
    await waitForViewports(page)
    await page.setViewportSize({ width: 1400, height: 900 })
    await page.waitForTimeout(500)
  })

  it('every toolbar control is on screen from 800 px up (the path field and the undo name narrow; below 1024 px the groups wrap)', async () => {
    const clipped = () =>
      page.evaluate(() => {
        const overlap = (a: DOMRect, b: DOMRect) => a.right > b.left + 0.5 && b.right > a.left + 0.5 && a.bottom > b.top + 0.5 && b.bottom > a.top + 0.5
        // in either row (the tools, the active tool's options): past the row's end or bottom, squeezed to a sliver, or under another control
        return [...document.querySelectorAll('.toolbar-row')].flatMap((row) => {
          const end = row.getBoundingClientRect()
          const controls = [...row.querySelectorAll('button, input, select')].filter((e) => (e as HTMLElement).offsetParent !== null)
          const boxes = controls.map((e) => e.getBoundingClientRect())
          return controls
            .filter((_, i) => boxes[i].right > end.right + 0.5 || boxes[i].bottom > end.bottom + 0.5 || boxes[i].width < 12 || boxes.some((b, j) => j !== i && overlap(boxes[i], b)))
            .map((e) => (e as HTMLElement).dataset.testid ?? (e as HTMLInputElement).type ?? e.tagName)
        })
      })
    for (const [width, height] of [[800, 600], [1024, 700], [1140, 700], [1280, 720], [1920, 1080]]) {
      await page.setViewportSize({ width, height })
      await page.waitForTimeout(300)
      expect(await clipped(), `cut off at ${width} px`).toEqual([])
      await screenshot(page, `ui-10-toolbar-${width}`)
    }
    // the path field stays usable
    expect((await page.locator('[data-testid=open-path]').boundingBox())!.width).toBeGreaterThan(60)
    await page.setViewportSize({ width: 1400, height: 900 })
    await page.waitForTimeout(500)
  })
})
