/** The model registry: app + user folders, default choice, broken cards named by file. No ONNX runs here. */
import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listModels, resolveModel, ModelNotFoundError } from '../../src-main/inference/models.js'
import { ModelCardError } from '../../src-main/inference/model-card.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { flareStages } from '../fixtures/synthetic-scn.js'
import { setEnv } from '../helpers/env.js'

let root: string
let restoreEnv = () => {}

function model(dir: string, id: string, version = '1.0.0', withOnnx = true): void {
  mkdirSync(dir, { recursive: true })
  const card = { id, version, description: `model ${id}`, license: 'Apache-2.0', trainingData: 'none', labels: FLARE_LABELS, stages: flareStages('loc.onnx', 'seg.onnx') }
  writeFileSync(join(dir, 'model.json'), JSON.stringify(card))
  if (withOnnx) {
    writeFileSync(join(dir, 'loc.onnx'), 'x')
    writeFileSync(join(dir, 'seg.onnx'), 'x')
  }
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'scn-models-'))
  restoreEnv = setEnv({ SCN_STUDIO_HOME: join(root, 'home'), SCN_STUDIO_APP_MODELS: join(root, 'app') })
})
afterEach(() => {
  restoreEnv()
  rmSync(root, { recursive: true, force: true })
})

describe('model registry', () => {
  it('lists user and app models; defaults to scn-flare-organs when installed, else the first valid one', () => {
    model(join(root, 'app', 'a-first'), 'a-first')
    model(join(root, 'home', 'models', 'mine'), 'mine')
    expect(listModels().map((e) => [e.id, e.source])).toEqual([['mine', 'user'], ['a-first', 'app']])
    expect(resolveModel().id).toBe('mine')
    model(join(root, 'app', 'scn-flare-organs'), 'scn-flare-organs')
    expect(resolveModel().id).toBe('scn-flare-organs')
    expect(resolveModel('a-first').dir).toBe(join(root, 'app', 'a-first'))
  })

  it('a user model with the same id as a bundled one overrides it', () => {
    model(join(root, 'app', 'scn-flare-organs'), 'scn-flare-organs', '1.0.0')
    model(join(root, 'home', 'models', 'newer'), 'scn-flare-organs', '2.0.0')
    expect(resolveModel().version).toBe('2.0.0')
    expect(resolveModel().source).toBe('user')
  })

  it('keeps broken folders in the list with an error naming the file, and refuses to run them', () => {
    mkdirSync(join(root, 'app', 'bad'), { recursive: true })
    writeFileSync(join(root, 'app', 'bad', 'model.json'), JSON.stringify({ id: 'bad', version: '1' }))
    model(join(root, 'app', 'no-files'), 'no-files', '1', false)
    const entries = listModels()
    const bad = entries.find((e) => e.id === 'bad')!
    expect(bad.card).toBeNull()
    expect(bad.error).toMatch(new RegExp(`^${join(root, 'app', 'bad', 'model.json')}: the model card is invalid`))
    expect(entries.find((e) => e.id === 'no-files')!.error).toMatch(/loc\.onnx: the ONNX file named in .*model\.json is missing/)
    expect(() => resolveModel('bad')).toThrow(ModelCardError)
    expect(() => resolveModel()).toThrow(ModelNotFoundError)
    expect(() => resolveModel()).toThrow(/no segmentation model is installed.*broken:/)
  })

  it('names the folders it looked in when a model id is unknown', () => {
    model(join(root, 'app', 'one'), 'one')
    expect(() => resolveModel('two')).toThrow(/model "two" is not installed \(looked in .*home.*models or .*app\); available: one/)
  })
})
