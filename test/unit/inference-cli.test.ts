/**
 * `scn-studio segment` and `scn-studio models` as a user runs them (a real process). The segment
 * run uses the real CT in ../shared/data and whatever model is installed: the bundled default when
 * the app's models/ holds one, else the synthetic test model; nibabel checks the written geometry.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sharedData, NEEDS_DATA } from '../helpers/shared-data.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { writeSyntheticScnModel } from '../fixtures/synthetic-scn.js'
import { EXIT } from '../../src-main/cli/exit-codes.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { runCli } from '../helpers/cli.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'

const exampleCt = sharedData('totalsegmentator/example_ct.nii.gz')
const hasOnnx = hasPythonModules('onnx')
const hasNibabel = hasPythonModules('nibabel', 'numpy')
let home: string

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env })

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'scn-cli-'))
  if (hasOnnx) writeSyntheticScnModel(join(home, 'models', 'synthetic-scn'))
})
afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true })
})

describe.skipIf(!hasOnnx)('scn-studio segment', () => {
  it.skipIf(!exampleCt || !hasNibabel)(`writes labels on the CT's exact grid, a report beside them, and a summary (${NEEDS_DATA})`, () => {
    const out = join(home, 'out', 'example_labels.nii.gz')
    const r = cli(['segment', exampleCt!, '-o', out, '--json'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const report = JSON.parse(r.stdout)
    expect(['cuda', 'webgpu', 'cpu']).toContain(report.provider)
    expect(report.peakRssBytes).toBeGreaterThan(0)
    expect(Object.keys(report.stageSeconds)).toContain('segmentation')
    expect(report.organs.map((o: { name: string }) => o.name)).toEqual(['liver', 'kidney', 'spleen', 'pancreas'])
    // non-TTY progress: one plain line per stage on stderr
    expect(r.stderr).toMatch(/\[\s*0%\] preparing the localization input/)
    const onDisk = JSON.parse(readFileSync(`${out}.report.json`, 'utf8'))
    expect(onDisk.modelId).toBe(report.modelId)
    expect(onDisk.output).toBe(out)
    const geo = runPythonJson<{ same: boolean; shape: number[]; ctShape: number[]; dtype: string; values: number[]; maxAffineDiff: number }>(
      `
import sys, json, nibabel as nib, numpy as np
ct, lab = nib.load(sys.argv[1]), nib.load(sys.argv[2])
d = lab.get_fdata(dtype=np.float32)
print(json.dumps({
  'same': bool(ct.shape == lab.shape and np.allclose(ct.affine, lab.affine, atol=1e-4)),
  'shape': list(lab.shape), 'ctShape': list(ct.shape), 'dtype': str(lab.get_data_dtype()),
  'values': sorted(int(v) for v in np.unique(d)),
  'maxAffineDiff': float(np.abs(ct.affine - lab.affine).max()),
}))`,
      [exampleCt!, out],
    )
    expect(geo.shape).toEqual(geo.ctShape)
    expect(geo.maxAffineDiff).toBeLessThan(1e-4)
    expect(geo.same).toBe(true)
    expect(geo.dtype).toBe('uint8')
    expect(geo.values.every((v) => v >= 0 && v <= 4)).toBe(true)
  })

  it('prints the summary with provider, stage times, peak memory and organ volumes', () => {
    const ph = generatePhantom({ dims: [80, 64, 48], spacing: [5, 5, 5], noise: 0 })
    const ctFile = join(home, 'phantom.nii.gz')
    return writeNifti(ph.ct, ctFile).then(() => {
      const r = cli(['segment', ctFile, '-o', join(home, 'phantom_labels.nrrd'), '--device', 'cpu'])
      expect(r.code, r.stderr).toBe(EXIT.ok)
      expect(r.stdout).toMatch(/provider\s+cpu/)
      expect(r.stdout).toMatch(/segmentation\s+\d+\.\d\d s/)
      expect(r.stdout).toMatch(/peak memory\s+\d+ MB/)
      expect(r.stdout).toMatch(/liver\s+\d+\.\d mL/)
      expect(existsSync(join(home, 'phantom_labels.nrrd.report.json'))).toBe(true)
    })
  })

  it('fails with an exit code and a message naming the problem', () => {
    const missing = cli(['segment', join(home, 'nope.nii.gz'), '-o', join(home, 'x.nii.gz')])
    expect(missing.code).toBe(EXIT.badInput)
    expect(missing.stderr).toMatch(/nope\.nii\.gz: the file or folder does not exist/)

    const device = cli(['segment', 'whatever.nii.gz', '-o', join(home, 'x.nii.gz'), '--device', 'tpu'])
    expect(device.code).toBe(EXIT.usage)
    expect(device.stderr).toMatch(/--device must be one of auto, cpu, gpu, cuda, webgpu/)

    const ext = cli(['segment', 'whatever.nii.gz', '-o', join(home, 'x.png')])
    expect(ext.code).toBe(EXIT.usage)
    expect(ext.stderr).toMatch(/x\.png: the output must end in \.nii\.gz, \.nii or \.nrrd/)

    const model = cli(['segment', 'whatever.nii.gz', '-o', join(home, 'x.nii.gz'), '--model', 'nope'])
    expect(model.code).toBe(EXIT.usage)
    expect(model.stderr).toMatch(/model "nope" is not installed/)

    const notCt = join(home, 'not-a-ct.nii.gz')
    writeFileSync(notCt, 'hello')
    const bad = cli(['segment', notCt, '-o', join(home, 'x.nii.gz')])
    expect(bad.code).toBe(EXIT.badInput)
    expect(bad.stderr).toContain(notCt)
    expect(existsSync(join(home, 'x.nii.gz'))).toBe(false)
  })
})

describe('scn-studio models', () => {
  it('lists models with the default, and names the file of a broken card', () => {
    const h = mkdtempSync(join(tmpdir(), 'scn-models-'))
    try {
      const none = cli(['models'], { SCN_STUDIO_HOME: h, SCN_STUDIO_APP_MODELS: join(h, 'none') })
      expect(none.code).toBe(EXIT.failed)
      expect(none.stdout).toMatch(/no models installed/)

      mkdirSync(join(h, 'models', 'broken'), { recursive: true })
      writeFileSync(join(h, 'models', 'broken', 'model.json'), '{"id": "Bad Id"}')
      mkdirSync(join(h, 'models', 'no-onnx'), { recursive: true })
      writeFileSync(join(h, 'models', 'no-onnx', 'model.json'), readFileSync(join(home, 'models', 'synthetic-scn', 'model.json')))
      const r = cli(['models', '--json'], { SCN_STUDIO_HOME: h, SCN_STUDIO_APP_MODELS: join(h, 'none') })
      const j = JSON.parse(r.stdout)
      const broken = j.models.find((m: { dir: string }) => m.dir.endsWith('broken'))
      expect(broken.error).toContain(join(h, 'models', 'broken', 'model.json'))
      expect(broken.error).toMatch(/the model card is invalid: id:/)
      const noOnnx = j.models.find((m: { dir: string }) => m.dir.endsWith('no-onnx'))
      expect(noOnnx.error).toMatch(/localization\.onnx: the ONNX file named in .* is missing/)
      expect(j.default).toBeNull()
      expect(r.code).toBe(EXIT.failed)
    } finally {
      rmSync(h, { recursive: true, force: true })
    }
  })

  it.skipIf(!hasOnnx)('marks the default model and keeps working when another folder is broken', () => {
    mkdirSync(join(home, 'models', 'zz-broken'), { recursive: true })
    writeFileSync(join(home, 'models', 'zz-broken', 'model.json'), 'not json')
    try {
      const r = cli(['models'], { SCN_STUDIO_APP_MODELS: join(home, 'none') })
      expect(r.code).toBe(EXIT.ok)
      expect(r.stdout).toMatch(/synthetic-scn 0\.0\.1-test \(default\)\s+\[user\]/)
      expect(r.stderr).toMatch(/zz-broken\/model\.json: the model card is not valid JSON/)
    } finally {
      rmSync(join(home, 'models', 'zz-broken'), { recursive: true, force: true })
    }
  })
})
