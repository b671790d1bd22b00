/**
 * Issue 12 item 1 and issue 11 item 2 (CLI): the engine never gives a silent empty answer, and the
 * CLI never replaces labels without being asked. A slab skips the localization stage (the model
 * card's minScanExtentMm) and is segmented on its whole field of view with a warning; a scan with no
 * body in it ends with exit 0, empty labels and a warning saying no organs were found.
 * Uses the synthetic intensity-window model (test/fixtures/synthetic-scn.ts): its answer is known.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasPythonModules } from '../helpers/python.js'
import { writeSyntheticScnModel } from '../fixtures/synthetic-scn.js'
import { EXIT } from '../../src-main/cli/exit-codes.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeNifti, readNifti } from '../../src-main/volumes/nifti.js'
import { runScn } from '../../src-main/inference/index.js'
import { plausibilityWarnings } from '../../src-main/inference/pipeline.js'
import type { CtVolume } from '../../src-shared/volume.js'
import { runCli } from '../helpers/cli.js'
import { setEnv } from '../helpers/env.js'

const hasOnnx = hasPythonModules('onnx')
let home: string
let restoreEnv = () => {}

const cli = (args: string[]) => runCli(args, { home, env: { SCN_STUDIO_APP_MODELS: join(home, 'no-app-models') } })

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')

function dice(a: Uint8Array, b: Uint8Array, value: number): number {
  let na = 0, nb = 0, both = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === value, y = b[i] === value
    if (x) na++
    if (y) nb++
    if (x && y) both++
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb)
}

beforeAll(() => {
  if (!hasOnnx) return
  home = mkdtempSync(join(tmpdir(), 'scn-robust-'))
  restoreEnv = setEnv({ SCN_STUDIO_HOME: home, SCN_STUDIO_APP_MODELS: join(home, 'no-app-models') })
  writeSyntheticScnModel(join(home, 'models', 'synthetic-scn'))
  // the same model with a slab threshold on its card, as the shipped model has
  const dir = join(home, 'models', 'synthetic-slab')
  const card = writeSyntheticScnModel(dir, 'synthetic-slab')
  card.stages.localization.minScanExtentMm = 150
  writeFileSync(join(dir, 'model.json'), JSON.stringify(card, null, 2))
  // the same decisions, made with confidence (widthHu 4: organ voxels at up to 0.96 instead of 0.69)
  writeSyntheticScnModel(join(home, 'models', 'synthetic-sure'), 'synthetic-sure', { widthHu: 4 })
  // the unsure model whose card says it is calibrated otherwise: flag only above a share of 1 (never)
  const calibrated = join(home, 'models', 'synthetic-calibrated')
  cpSync(join(home, 'models', 'synthetic-scn'), calibrated, { recursive: true })
  const cal = JSON.parse(readFileSync(join(calibrated, 'model.json'), 'utf8'))
  writeFileSync(join(calibrated, 'model.json'), JSON.stringify({ ...cal, id: 'synthetic-calibrated', stages: { ...cal.stages, segmentation: { ...cal.stages.segmentation, reviewUnsureAbove: 1 } } }, null, 2))
})

afterAll(() => {
  restoreEnv()
  if (home) rmSync(home, { recursive: true, force: true })
})

describe('plausibility warnings', () => {
  const organs = (ml: number[]) => ['liver', 'kidney', 'spleen', 'pancreas'].map((name, i) => ({ value: i + 1, name, voxels: ml[i] * 1000, volumeMl: ml[i] }))
  it('say when nothing was found, when an organ is implausibly large, and when only a fragment was found', () => {
    expect(plausibilityWarnings(organs([0, 0, 0, 0]))).toEqual([expect.stringMatching(/^No organs were found/)])
    expect(plausibilityWarnings(organs([1600, 300, 200, 80]))).toEqual([])
    expect(plausibilityWarnings(organs([7000, 300, 200, 80]))[0]).toMatch(/liver came out at 7000 mL/)
    expect(plausibilityWarnings(organs([1600, 300, 200, 0.5]))[0]).toMatch(/0\.5 mL of pancreas .* fragment/)
  })
  it('ask for a review of an organ the model was unsure of (more than 30 % of its voxels won by < 0.5)', () => {
    const withDoubt = (ml: number[], unsure: number[]) => organs(ml).map((o, i) => ({ ...o, unsureFraction: unsure[i] }))
    expect(plausibilityWarnings(withDoubt([1600, 300, 200, 80], [0.05, 0.07, 0.04, 0.12]))).toEqual([])
    expect(plausibilityWarnings(withDoubt([1600, 300, 200, 80], [0.05, 0.07, 0.41, 0.29]))).toEqual([
      'The model was unsure of 41 % of the spleen it labelled (chosen by a margin under 0.5 probability over another label): review the spleen before use.',
    ])
    // an organ not found has nothing to review; a fragment gets the fragment warning alone
    expect(plausibilityWarnings(withDoubt([1600, 300, 0, 0.5], [0.05, 0.07, 0, 0.9]))).toEqual([expect.stringMatching(/0\.5 mL of pancreas .* fragment/)])
    // a model card's own threshold replaces 0.3
    expect(plausibilityWarnings(withDoubt([1600, 300, 200, 80], [0.05, 0.07, 0.41, 0.29]), 0.5)).toEqual([])
    expect(plausibilityWarnings(withDoubt([1600, 300, 200, 80], [0.05, 0.07, 0.41, 0.29]), 0.2).map((w) => w.match(/of the (\w+) it labelled/)![1])).toEqual(['spleen', 'pancreas'])
  })
})

describe.skipIf(!hasOnnx)("the network's doubt in the report", () => {
  it('the same labels from a sure and an unsure model: only the unsure one is flagged for review (report, warnings, CLI)', async () => {
    const ph = generatePhantom({ dims: [72, 64, 48], spacing: [5, 5, 5], noise: 0, seed: 6 })
    const sure = await runScn(ph.ct, { device: 'cpu', modelId: 'synthetic-sure' })
    const unsure = await runScn(ph.ct, { device: 'cpu', modelId: 'synthetic-scn' })
    // widthHu moves the probabilities, not the decisions: the labels agree almost everywhere
    for (const v of [1, 2, 3, 4]) expect(dice(sure.labels.data, unsure.labels.data, v), `label ${v}`).toBeGreaterThan(0.97)
    for (const o of sure.report.organs) {
      expect(o.voxels, o.name).toBeGreaterThan(0)
      // the sure model doubts only a thin rim where partial volume leaves the organ's HU window
      expect(o.unsureFraction, o.name).toBeLessThan(0.25)
      // the unsure model's organ voxels are at most 0.69 against the background's 0.31
      expect(unsure.report.organs.find((u) => u.value === o.value)!.unsureFraction, o.name).toBe(1)
    }
    expect(sure.report.warnings.join(' ')).not.toMatch(/unsure/)
    expect([sure.report.reviewUnsureAbove, unsure.report.reviewUnsureAbove]).toEqual([0.3, 0.3])
    // the same network under a card calibrated to flag nothing: the same shares, no review asked
    const calibrated = await runScn(ph.ct, { device: 'cpu', modelId: 'synthetic-calibrated' })
    expect(calibrated.report.organs.map((o) => o.unsureFraction)).toEqual([1, 1, 1, 1])
    expect(calibrated.report.reviewUnsureAbove).toBe(1)
    expect(calibrated.report.warnings.join(' ')).not.toMatch(/unsure/)
    for (const name of ['liver', 'kidney', 'spleen', 'pancreas']) expect(unsure.report.warnings).toContain(`The model was unsure of 100 % of the ${name} it labelled (chosen by a margin under 0.5 probability over another label): review the ${name} before use.`)
    // the CLI prints each organ's share with its volume, and the warning
    const ctFile = join(home, 'doubt.nii.gz')
    await writeNifti(ph.ct, ctFile)
    const r = cli(['segment', ctFile, '-o', join(home, 'doubt_labels.nii.gz'), '--model', 'synthetic-scn'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    expect(r.stdout).toMatch(/liver +[\d.]+ mL +\(\d+ voxels, 100 % unsure\)/)
    expect(r.stdout).toMatch(/! The model was unsure of 100 % of the liver/)
    const json = JSON.parse(readFileSync(join(home, 'doubt_labels.nii.gz.report.json'), 'utf8'))
    expect(json.organs.map((o: { unsureFraction: number }) => o.unsureFraction)).toEqual([1, 1, 1, 1])
  })
})

describe.skipIf(!hasOnnx)('segmenting what the localization stage cannot see', () => {
  it('a 50 mm slab skips localization, is segmented on its whole field of view, and says so', async () => {
    // 10 slices of 5 mm through the liver and spleen of the phantom
    const ph = generatePhantom({ dims: [96, 80, 10], spacing: [4, 4, 5], centre: [0, 0, 50], noise: 0, seed: 4 })
    const { labels, report } = await runScn(ph.ct, { device: 'cpu', modelId: 'synthetic-slab' })
    expect(report.warnings.join(' ')).toMatch(/covers only 50 mm .*slab.*whole field of view/)
    expect(report.stageSeconds.localization).toBe(0)
    expect(report.organs[0].voxels).toBeGreaterThan(0)
    // the whole field of view was seen: the liver lands where the truth has it
    expect(dice(labels.data, ph.labels.data, 1)).toBeGreaterThan(0.9)
    // a model without a slab threshold localizes as before, without a slab warning
    const plain = await runScn(generatePhantom({ dims: [96, 80, 10], spacing: [4, 4, 5], centre: [0, 0, 50], noise: 0, seed: 4 }).ct, { device: 'cpu', modelId: 'synthetic-scn' })
    expect(plain.report.warnings.join(' ')).not.toMatch(/slab/)
    expect(plain.report.stageSeconds.localization).toBeGreaterThan(0)
  })

  it('a tilted slab is still a slab: its thickness counts, not the taller world box its tilt makes', async () => {
    // the same 50 mm slab, its grid tilted 20 degrees about x: the world box spans ~140 mm of z
    const ph = generatePhantom({ dims: [96, 80, 10], spacing: [4, 4, 5], centre: [0, 0, 50], noise: 0, seed: 4 })
    const c = Math.cos((20 * Math.PI) / 180)
    const sn = Math.sin((20 * Math.PI) / 180)
    const tilted: CtVolume = { ...ph.ct, direction: [1, 0, 0, 0, c, sn, 0, -sn, c] }
    const { report } = await runScn(tilted, { device: 'cpu', modelId: 'synthetic-slab' })
    expect(report.warnings.join(' ')).toMatch(/covers only 50 mm .*slab.*whole field of view/)
    expect(report.stageSeconds.localization).toBe(0)
  })

  it('an all-air CT: exit 0, empty labels, and a warning that no organs were found (CLI, --json and report file)', async () => {
    const ph = generatePhantom({ dims: [64, 64, 40], spacing: [4, 4, 5], noise: 0 })
    const air: CtVolume = { ...ph.ct, data: new Int16Array(ph.ct.data.length).fill(-1024) }
    const ctFile = join(home, 'air.nii.gz')
    await writeNifti(air, ctFile)
    const out = join(home, 'air_labels.nii.gz')
    const r = cli(['segment', ctFile, '-o', out, '--json', '--model', 'synthetic-scn'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const report = JSON.parse(r.stdout)
    expect(report.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/localization stage found no abdominal organs/), expect.stringMatching(/^No organs were found/)]))
    expect(JSON.parse(readFileSync(`${out}.report.json`, 'utf8')).warnings).toEqual(report.warnings)
    const labels = await readNifti(out)
    expect(labels.data.some((v) => v !== 0)).toBe(false)
    // the plain summary prints them too
    const again = cli(['segment', ctFile, '-o', out, '--model', 'synthetic-scn', '--overwrite'])
    expect(again.code, again.stderr).toBe(EXIT.ok)
    expect(again.stdout).toMatch(/warnings:\n\s+! The localization stage found no abdominal organs/)
  })

  it('never replaces an existing labels file without --overwrite, and never writes onto the CT', async () => {
    const ph = generatePhantom({ dims: [64, 56, 40], spacing: [5, 5, 5], noise: 0 })
    const ctFile = join(home, 'ph.nii.gz')
    await writeNifti(ph.ct, ctFile)
    const out = join(home, 'corrected.nii.gz')
    writeFileSync(out, 'labels an annotator corrected')
    const before = sha(out)
    const refused = cli(['segment', ctFile, '-o', out, '--model', 'synthetic-scn'])
    expect(refused.code).toBe(EXIT.usage)
    expect(refused.stderr).toMatch(/corrected\.nii\.gz: exists; pass --overwrite/)
    expect(sha(out)).toBe(before)
    const ctBefore = sha(ctFile)
    const onCt = cli(['segment', ctFile, '-o', ctFile, '--model', 'synthetic-scn', '--overwrite'])
    expect(onCt.code).toBe(EXIT.usage)
    expect(onCt.stderr).toMatch(/is the input CT itself/)
    expect(sha(ctFile)).toBe(ctBefore)
    const replaced = cli(['segment', ctFile, '-o', out, '--model', 'synthetic-scn', '--overwrite'])
    expect(replaced.code, replaced.stderr).toBe(EXIT.ok)
    expect(sha(out)).not.toBe(before)
    expect((await readNifti(out)).dims).toEqual(ph.ct.dims)
  })
})

describe('localization box of the main foreground cluster', () => {
  const dims: [number, number, number] = [20, 20, 40]
  const at = (m: Uint8Array, x: number, y: number, z: number) => (m[x + 20 * (y + 20 * z)] = 1)
  it('ignores a blob above or below the organs, and keeps organs beside them even when they form their own cluster', async () => {
    const { mainClusterBox } = await import('../../src-main/inference/transforms.js')
    const m = new Uint8Array(20 * 20 * 40)
    for (let z = 10; z <= 20; z++) for (let y = 5; y <= 12; y++) for (let x = 3; x <= 9; x++) at(m, x, y, z) // "liver"
    for (let z = 12; z <= 18; z++) for (let y = 8; y <= 11; y++) for (let x = 15; x <= 18; x++) at(m, x, y, z) // "spleen", 5 voxels to the left
    for (let z = 25; z <= 36; z++) for (let y = 5; y <= 10; y++) for (let x = 5; x <= 10; x++) at(m, x, y, z) // false positive, 4 voxels above
    for (let z = 0; z <= 1; z++) at(m, 1, 1, z) // a speck below: too small to count
    expect(mainClusterBox(m, dims)).toEqual({ min: [3, 5, 10], max: [18, 12, 20] })
    expect(mainClusterBox(new Uint8Array(m.length), dims)).toBeNull()
  })
})
