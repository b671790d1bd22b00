/**
 * Nothing the user has is lost (issues 11, 12, 18), in Chromium against the real web host:
 * - Segment on an edited case asks first; Cancel changes nothing; "fill only organs I have not
 *   edited" keeps the edited organs voxel for voxel and takes the new prediction for the others,
 *   as one undo step;
 * - the engine's warnings appear next to the result and go with the next run;
 * - Export onto the opened CT is refused in words (the CT unchanged), an existing target is replaced
 *   only after the user confirms, DICOM SEG offers a new study;
 * - a failed autosave (a real write failure in the case folder) reaches the page at once, stays, is
 *   retried, and clears when a save succeeds;
 * - another window saving the same case meanwhile: the page merges both windows' edits and says so.
 * Screenshots at two window sizes land in test-results/screenshots/ui-safety-*.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { SegmentationEngine } from '../../src-main/services/engine.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { browserSkipReason, screenshot, startHarness, waitForViewports, type Harness } from './harness.js'
import { statsVersion, waitReady, waitStatsAfter } from './ui-browser.js'
import type {} from '../../src-renderer/test-api.js'

const SKIP = !!browserSkipReason()
type V3 = [number, number, number]

const SLAB_WARNING = 'The scan covers only 55 mm of the body along z (the model needs 150 mm to localise organs): segmented on the whole field of view.'
const EMPTY_WARNING = 'No organs were found: check that this is an abdominal CT in HU.'

/** the page's labelsChecksum (FNV-1a) of a labelmap read through the contract */
function fnv(a: Uint8Array): number {
  let h = 2166136261
  for (const x of a) h = Math.imul(h ^ x, 16777619)
  return h >>> 0
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

describe.skipIf(SKIP)('safety in the workstation UI (web host)', () => {
  let h: Harness
  let page: Page
  let volumeId: string
  let runs = 0
  let warnings: string[] = []
  let unsure: Record<number, number> = {}
  let hold = false

  const base = syntheticEngine({ steps: 2, stepMs: 20, warnings: () => warnings, unsure: () => unsure, holdUntilCancelled: () => hold })
  // From the second run on, every organ of the prediction moves one voxel along i: the new
  // prediction then differs from the first for every organ, so "kept" and "taken from the new
  // prediction" can be told apart voxel by voxel.
  const engine: SegmentationEngine = {
    ...base,
    async segment(ct, o) {
      const r = await base.segment(ct, o)
      if (++runs >= 2) {
        const moved = new Uint8Array(r.labels.length)
        moved.set(r.labels.subarray(0, r.labels.length - 1), 1)
        return { ...r, labels: moved }
      }
      return r
    },
  }

  const checksum = () => page.evaluate(() => window.__scn!.labelsChecksum())
  const labels = async (kind: 'current' | 'prediction') => new Uint8Array((await h.client.labels.get({ volumeId, kind })).data)
  const waitSaved = () => page.waitForFunction(() => !document.querySelector('[data-testid=save-state]') && !document.querySelector('[data-testid=autosave-error]'), null, { timeout: 30_000 })
  const countIn = (a: Uint8Array, v: number) => a.reduce((n, x) => n + (x === v ? 1 : 0), 0)

  async function shoot(name: string): Promise<void> {
    for (const [w, hgt] of [[1280, 800], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: hgt })
      await waitForViewports(page)
      await screenshot(page, `ui-safety-${name}-${w}x${hgt}`)
    }
    await page.setViewportSize({ width: 1400, height: 900 })
  }

  beforeAll(async () => {
    h = await startHarness({ engine })
    page = h.page
    await waitReady(page)
    await waitForViewports(page)
    volumeId = (await h.client.volumes.list({})).volumes[0]!.volumeId
  }, 600_000)

  afterAll(async () => h?.close())

  it('the first Segment runs without asking; the engine warnings show next to the result, and the organs it was unsure of are tagged', async () => {
    warnings = [SLAB_WARNING, EMPTY_WARNING]
    // the spleen above the review threshold (0.3), the liver at it, the kidney and pancreas well below
    unsure = { 1: 0.3, 2: 0.08, 3: 0.41, 4: 0.12 }
    await page.click('[data-testid=run-segmentation]')
    await page.waitForSelector('[data-testid=segment-done]', { timeout: 60_000 })
    expect(await page.locator('[data-testid=segment-choice]').count()).toBe(0)
    expect(await page.locator('[data-testid=segment-warning]').allTextContents()).toEqual([`⚠ ${SLAB_WARNING}`, `⚠ ${EMPTY_WARNING}`])
    // through the host's event (schema-checked) to the organ panel: only the spleen's row is tagged
    expect(await page.locator('[data-testid^=organ-unsure-]').count()).toBe(1)
    expect(await page.textContent('[data-testid=label-row-3] [data-testid=organ-unsure-3]')).toBe('unsure')
    expect(await page.getAttribute('[data-testid=organ-unsure-3]', 'title')).toMatch(/^The model was unsure of 41 % of this spleen/)
    expect(await page.getAttribute('[data-testid=segment-warnings]', 'role')).toBe('status')
    await waitSaved()
    expect(Array.from(await labels('current'))).toEqual(Array.from(await labels('prediction')))
    await shoot('warnings')
    // the status area is a fixed height: two warnings do not fit, and it says so; the button
    // scrolls to them, and goes once nothing is left below
    const inView = (sel: string) =>
      page.evaluate((s) => {
        const el = document.querySelectorAll(s)[document.querySelectorAll(s).length - 1]!.getBoundingClientRect()
        const box = document.querySelector('.view-info')!.getBoundingClientRect()
        return el.top >= box.top && el.bottom <= box.bottom
      }, sel)
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.waitForSelector('[data-testid=status-more]')
    expect(await inView('[data-testid=segment-warning]')).toBe(false)
    await page.click('[data-testid=status-more]')
    await page.waitForSelector('[data-testid=status-more]', { state: 'detached' })
    expect(await inView('[data-testid=segment-warning]')).toBe(true)
    await screenshot(page, 'ui-safety-warnings-scrolled-1280x800')
    await page.evaluate(() => document.querySelector('.view-info')!.scrollTo({ top: 0 }))
    await page.setViewportSize({ width: 1400, height: 900 })
  })

  it('Segment on an edited case asks first; Cancel and Escape leave the labelmap as it was and run nothing', async () => {
    const pred = await labels('prediction')
    // brush liver into the air in a corner of the middle axial slice (a real click on the view)
    await page.click('[data-testid=label-row-1]')
    await page.click('[data-testid=tool-brush]')
    await page.evaluate(() => window.__scn!.setBrush(12, false))
    const box = (await page.locator('[data-testid=viewport-axial]').boundingBox())!
    const k = Math.round((await page.evaluate(([w, hh]) => window.__scn!.pickAt('axial', w / 2, hh / 2), [box.width, box.height] as const))[2])
    const [cx, cy] = await page.evaluate((t) => window.__scn!.canvasOf('axial', t), [6, 6, k] as V3)
    const v0 = await statsVersion(page)
    await page.mouse.click(box.x + cx, box.y + cy)
    await waitStatsAfter(page, v0)
    // erase a few spleen voxels (an erased organ counts as edited too)
    const [nx, ny] = (await page.evaluate(() => window.__scn!.dims()))!
    let spleen: V3 | null = null
    for (let x = 0; x < pred.length && !spleen; x++) if (pred[x] === 3) spleen = [x % nx, Math.floor(x / nx) % ny, Math.floor(x / (nx * ny))]
    await page.evaluate((ijk) => {
      window.__scn!.setActiveLabel(3)
      window.__scn!.setBrush(6, false)
      return window.__scn!.dabAt('axial', ijk, 'eraser')
    }, spleen!)
    await waitSaved()
    const sum0 = await checksum()
    const runs0 = runs

    await page.click('[data-testid=run-segmentation]')
    await page.waitForSelector('[data-testid=segment-choice]', { timeout: 10_000 })
    expect(await page.textContent('[data-testid=segment-choice-organs]')).toBe('liver, spleen')
    // keyboard users start on the harmless answer
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('segment-choice-cancel')
    await shoot('segment-choice')
    await page.click('[data-testid=segment-choice-cancel]')
    expect(await page.locator('[data-testid=segment-choice]').count()).toBe(0)
    await page.keyboard.press('Control+Enter') // the Segment shortcut asks the same way; Escape cancels
    await page.waitForSelector('[data-testid=segment-choice]', { timeout: 10_000 })
    await page.keyboard.press('Escape')
    expect(await page.locator('[data-testid=segment-choice]').count()).toBe(0)
    await page.waitForTimeout(500)
    expect(runs).toBe(runs0)
    expect(await checksum()).toBe(sum0)
    expect(await page.locator('[data-testid=segment-progress]').count()).toBe(0)
  })

  it('"fill only organs I have not edited" keeps every edited voxel, takes the new prediction elsewhere, and is one undo step', async () => {
    warnings = []
    unsure = {}
    const before = await labels('current')
    const first = await labels('prediction')
    const sum0 = await checksum()
    const v0 = await statsVersion(page)
    await page.click('[data-testid=run-segmentation]')
    await page.click('[data-testid=segment-fill-unedited]', { timeout: 10_000 })
    await page.waitForFunction(() => document.querySelector('[data-testid=undo-label]')?.textContent?.includes('unedited organs'), null, { timeout: 60_000 })
    await waitStatsAfter(page, v0)
    // the warnings and the unsure tags were about the previous result
    expect(await page.locator('[data-testid=segment-warnings]').count()).toBe(0)
    expect(await page.locator('[data-testid^=organ-unsure-]').count()).toBe(0)
    await waitSaved()
    const after = await labels('current')
    const next = await labels('prediction')
    // the test means something: the new prediction differs from the first for every organ
    for (const v of [1, 2, 3, 4]) expect(next.some((x, i) => (x === v) !== (first[i] === v)), `organ ${v} moved`).toBe(true)
    const edited = new Set([1, 3]) // liver brushed, spleen erased
    let kept = 0
    let taken = 0
    for (let x = 0; x < after.length; x++) {
      if (edited.has(before[x]!)) {
        expect(after[x], `voxel ${x} of an edited organ`).toBe(before[x])
        kept++
      } else if (edited.has(next[x]!)) expect(after[x], `voxel ${x}: nothing new for an edited organ`).toBe(0)
      else {
        expect(after[x], `voxel ${x} of an unedited organ`).toBe(next[x])
        taken++
      }
    }
    expect(kept).toBe(countIn(before, 1) + countIn(before, 3))
    expect(countIn(after, 1)).toBe(countIn(before, 1))
    expect(countIn(after, 2)).toBeGreaterThan(0)
    expect(taken).toBeGreaterThan(0)
    // the page's edited organ, voxel for voxel (mask checksum), is what the host stored
    const maskSum = (a: Uint8Array, v: number) => createHash('sha256').update(a.map((x) => (x === v ? 1 : 0))).digest('hex')
    expect(maskSum(after, 1)).toBe(maskSum(before, 1))
    expect(maskSum(after, 3)).toBe(maskSum(before, 3))
    expect(maskSum(after, 2)).toBe(maskSum(next.map((x, i) => (edited.has(before[i]!) ? 0 : x)), 2))

    await page.click('[data-testid=undo]')
    expect(await checksum()).toBe(sum0)
    await page.click('[data-testid=redo]')
    await page.click('[data-testid=undo]')
    expect(await checksum()).toBe(sum0)
    await waitSaved()
    expect(Array.from(await labels('current'))).toEqual(Array.from(before))
  })

  it('"Replace everything" makes the labelmap the new prediction, one undo away from the edits', async () => {
    const sum0 = await checksum()
    await page.click('[data-testid=run-segmentation]')
    await page.click('[data-testid=segment-replace]', { timeout: 10_000 })
    await page.waitForFunction(() => document.querySelector('[data-testid=undo-label]')?.textContent?.startsWith('Undo: Apply prediction ('), null, { timeout: 60_000 })
    await waitSaved()
    expect(Array.from(await labels('current'))).toEqual(Array.from(await labels('prediction')))
    await page.click('[data-testid=undo]')
    expect(await checksum()).toBe(sum0)
    await waitSaved()
  })

  it('the toolbar keeps its layout while Segment runs; Cancel there leaves the labels as they were', async () => {
    const sum0 = await checksum()
    const layout = () =>
      page.evaluate(() => {
        const bar = document.querySelector('.toolbar')!.getBoundingClientRect()
        const tool = document.querySelector('[data-testid=tool-navigate]')!.getBoundingClientRect()
        const undo = document.querySelector('[data-testid=undo]')!.getBoundingClientRect()
        return [bar.height, tool.x, tool.y, undo.x, undo.y]
      })
    await page.setViewportSize({ width: 1280, height: 800 })
    const idle = await layout()
    hold = true
    try {
      await page.click('[data-testid=run-segmentation]')
      await page.click('[data-testid=segment-replace]', { timeout: 10_000 })
      await page.waitForSelector('[data-testid=segment-progress]', { timeout: 10_000 })
      await page.waitForSelector('[data-testid=segment-stage]')
      // the stage in words; the engine's detail line ('step 1 of 2' here) only as a tooltip
      await page.waitForSelector('[data-testid=segment-stage][data-stage=synthetic]')
      expect(await page.textContent('[data-testid=segment-stage]')).toMatch(/^Segmenting: synthetic \(\d+%\)$/)
      expect(await page.getAttribute('[data-testid=segment-stage]', 'title')).toMatch(/^step \d of 2$/)
      expect(await layout()).toEqual(idle)
      await screenshot(page, 'ui-safety-running-1280x800')
      await page.click('[data-testid=cancel-segmentation]')
      await page.waitForSelector('[data-testid=segment-error]', { timeout: 20_000 })
    } finally {
      hold = false
      await page.setViewportSize({ width: 1400, height: 900 })
    }
    expect(await page.textContent('[data-testid=segment-error]')).toBe('Segmentation cancelled.')
    expect(await checksum()).toBe(sum0)
  })

  it('Export onto the opened CT is refused in words; the CT is byte for byte unchanged', async () => {
    const ct = h.host.phantomPath
    const sha0 = sha256(ct)
    await page.selectOption('[data-testid=export-format]', 'nifti')
    await page.fill('[data-testid=export-path]', ct)
    await page.click('[data-testid=export-run]')
    // the file exists, so the page may ask first; even a confirmed replace must be refused
    await page.waitForSelector('[data-testid=export-error], [data-testid=export-confirm]', { timeout: 30_000 })
    if (await page.locator('[data-testid=export-confirm]').count()) await page.click('[data-testid=export-replace]')
    await page.waitForSelector('[data-testid=export-error]', { timeout: 30_000 })
    const msg = (await page.textContent('[data-testid=export-error]'))!
    expect(msg).toContain(ct)
    expect(msg.length).toBeGreaterThan(30)
    expect(await page.locator('[data-testid=export-done]').count()).toBe(0)
    expect(sha256(ct)).toBe(sha0)
  })

  it('an existing export target is replaced only after the user confirms', async () => {
    const out = join(h.host.runtime.options.workspaceDir, 'exports', 'safety-labels.nii.gz')
    await page.fill('[data-testid=export-path]', out)
    await page.click('[data-testid=export-run]')
    await page.waitForSelector('[data-testid=export-done]', { timeout: 60_000 })
    const sha0 = sha256(out)
    // change the labels so that a replaced file would differ
    await page.evaluate(() => window.__scn!.dabAt('axial', [55, 6, 20], 'brush'))
    await page.click('[data-testid=export-run]')
    await page.waitForSelector('[data-testid=export-confirm]', { timeout: 30_000 })
    expect(await page.textContent('[data-testid=export-confirm]')).toContain(out)
    await page.click('[data-testid=export-keep]')
    expect(await page.locator('[data-testid=export-confirm]').count()).toBe(0)
    expect(sha256(out)).toBe(sha0)
    await page.click('[data-testid=export-run]')
    await page.click('[data-testid=export-replace]', { timeout: 30_000 })
    await page.waitForSelector('[data-testid=export-done]', { timeout: 60_000 })
    expect(await page.locator('[data-testid=export-error]').count()).toBe(0)
    expect(sha256(out)).not.toBe(sha0)
    const vol = readNifti(out)
    expect(countIn(vol.data as Uint8Array, 1)).toBe(await page.evaluate(() => window.__scn!.countValue(1)))
  })

  it('DICOM SEG export offers a new study (CT series + SEG) for a CT that is not DICOM', async () => {
    await page.selectOption('[data-testid=export-format]', 'dicom-seg')
    await page.waitForSelector('[data-testid=export-new-study]')
    expect(await page.isChecked('[data-testid=export-new-study]')).toBe(true) // the phantom is NIfTI
    const out = join(h.host.runtime.options.workspaceDir, 'exports', 'safety-study')
    await page.fill('[data-testid=export-path]', out)
    await page.click('[data-testid=export-run]')
    await page.waitForSelector('[data-testid=export-done], [data-testid=export-error]', { timeout: 120_000 })
    expect(await page.locator('[data-testid=export-error]').count()).toBe(0)
    // the SEG and its sidecars, and the new CT series as one line (its folder)
    const lines = page.locator('[data-testid=export-done] li')
    const paths = await lines.evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!))
    expect(paths).toContain(`${out}.dcm`)
    expect(paths.length).toBeLessThan(8)
    for (const f of paths) expect(existsSync(f), f).toBe(true)
    expect(await lines.allTextContents()).toContainEqual(expect.stringMatching(/ \(\d+ files\)$/))
    await page.selectOption('[data-testid=export-format]', 'nifti')
    expect(await page.locator('[data-testid=export-new-study]').count()).toBe(0)
  })

  it('a failed autosave reaches the page at once, stays, is retried, and clears when a save succeeds', async () => {
    await page.click('[data-testid=save-as-case]')
    await page.waitForSelector('[data-testid^=case-status-]', { timeout: 20_000 })
    const caseId = (await h.client.cases.list({})).cases[0]!.caseId
    // the case starts from the labels on screen (edits since the prediction included), not the prediction
    expect(await page.evaluate(() => window.__scn!.labelsChecksum())).toBe(fnv(await labels('current')))
    const caseLabels = join(h.host.runtime.options.workspaceDir, 'cases', caseId, 'labels.nii.gz')
    await h.client.cases.get({ caseId }) // the case's first save is on disk
    // a real write failure (root ignores permissions): the labels file's place is taken by a
    // non-empty folder, so the host's atomic rename fails until it is removed
    rmSync(caseLabels, { force: true })
    mkdirSync(join(caseLabels, 'blocked'), { recursive: true })
    // count the page's save attempts (observed only, every call goes to the real service)
    const impl = h.host.runtime.impl.labels
    const put = impl.put
    let puts = 0
    impl.put = (r) => {
      puts++
      return put.call(impl, r)
    }
    try {
      await page.evaluate(() => window.__scn!.setActiveLabel(1))
      const c0 = await page.evaluate(() => window.__scn!.countValue(1))
      await page.evaluate(() => window.__scn!.dabAt('axial', [58, 6, 20], 'brush'))
      // the host accepts the first save and fails writing it; the page hears of it with no other edit
      await page.waitForSelector('[data-testid=autosave-error]', { timeout: 20_000 })
      expect(await page.textContent('[data-testid=autosave-error]')).toContain(caseLabels)
      expect(await page.getAttribute('[data-testid=autosave-error]', 'role')).toBe('alert')
      await page.waitForSelector(`[data-testid=case-save-error-${caseId}]`, { timeout: 20_000 })
      // another edit is refused by the host: the page keeps it, still says so, and retries alone
      await page.evaluate(() => window.__scn!.dabAt('axial', [58, 12, 20], 'brush'))
      const p0 = puts
      const deadline = Date.now() + 30_000
      while (puts < p0 + 3 && Date.now() < deadline) await page.waitForTimeout(250)
      expect(puts).toBeGreaterThanOrEqual(p0 + 3)
      expect(await page.textContent('[data-testid=autosave-error]')).toContain('keep this page open')
      await shoot('autosave-error')
      // an export now would miss the edits: refused in words
      await page.selectOption('[data-testid=export-format]', 'nifti')
      await page.fill('[data-testid=export-path]', join(h.host.runtime.options.workspaceDir, 'exports', 'while-failing.nii.gz'))
      await page.click('[data-testid=export-run]')
      await page.waitForSelector('[data-testid=export-error]', { timeout: 30_000 })
      expect(await page.textContent('[data-testid=export-error]')).toContain('could not be saved')
      expect(await page.evaluate(() => window.__scn!.countValue(1))).toBeGreaterThan(c0)
    } finally {
      impl.put = put
      rmSync(caseLabels, { recursive: true, force: true })
    }
    await page.waitForSelector('[data-testid=autosave-error]', { state: 'detached', timeout: 60_000 })
    await waitSaved()
    await page.waitForSelector(`[data-testid=case-save-error-${caseId}]`, { state: 'detached', timeout: 20_000 })
    // the refused export's "autosave is failing" is outdated now, and says so
    expect(await page.textContent('[data-testid=export-error]')).toBe('The export did not run while autosave was failing. Your edits are saved now: export again.')
    const onDisk = readNifti(caseLabels)
    expect(countIn(onDisk.data as Uint8Array, 1)).toBe(await page.evaluate(() => window.__scn!.countValue(1)))
    expect(h.errors).toEqual([])
    // the page's own retry pace (2 s doubling to 30 s) decides when the error clears
  }, 150_000)

  it('another window saves the case while the page edits: both edits kept, merged, said in the status area', async () => {
    await waitSaved()
    // another window paints label 3 into one slice's corner and saves
    const cur = await h.client.labels.get({ volumeId, kind: 'current' })
    const theirs = new Uint8Array(cur.data)
    const [nx, ny] = cur.header.geometry.dims
    let painted = 0
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < 3; i++) {
        const at = i + j * nx + 2 * nx * ny
        if (theirs[at] !== 3) painted++
        theirs[at] = 3
      }
    await h.client.labels.put({ header: cur.header, data: theirs })
    // the page, still at the old version, paints: its save is stale, merged, and saved
    await page.evaluate(() => window.__scn!.setActiveLabel(2))
    const c2 = await page.evaluate(() => window.__scn!.countValue(2))
    await page.evaluate(() => window.__scn!.dabAt('axial', [40, 30, 20], 'brush'))
    await page.waitForSelector('[data-testid=notice]', { timeout: 30_000 })
    expect(await page.textContent('[data-testid=notice]')).toBe(`Another window saved this case: its ${painted} changed voxels are merged into yours (Undo removes them).`)
    await waitSaved()
    const host = await labels('current')
    expect(await checksum()).toBe(fnv(host))
    expect(countIn(host, 2)).toBe(await page.evaluate(() => window.__scn!.countValue(2)))
    expect(await page.evaluate(() => window.__scn!.countValue(2))).toBeGreaterThan(c2)
    for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) expect(host[i + j * nx + 2 * nx * ny]).toBe(3)
    expect(await page.locator('[data-testid=autosave-error]').count()).toBe(0)
    await shoot('merged')
    expect(h.errors).toEqual([])
  })
})
