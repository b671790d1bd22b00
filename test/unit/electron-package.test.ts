/**
 * The packaged desktop app's worker threads. The app is packed by electron-builder itself from
 * electron-builder.yml (only the Electron binary, which cannot be downloaded here, is a stand-in,
 * and fuses, which need the real binary, are not flipped: electron-fuses.test.ts checks them). Then,
 * under plain Node, the volume reader and the inference worker are started from
 * resources/app.asar.unpacked, where the app starts them (src-main/util/worker-url.ts), with no
 * node_modules above that folder: what they import must be in the unpacked folder or in their
 * bundles, never only inside app.asar, which a worker thread cannot be relied on to read.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerScriptUrl } from '../../src-main/util/worker-url.js'
import { readModelCard } from '../../src-main/inference/model-card.js'
import { runScn } from '../../src-main/inference/index.js'
import { readCt, readLabels } from '../../src-main/volumes/read.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { writeNrrd } from '../../src-main/volumes/nrrd.js'
import { writeNewCtSeries } from '../../src-main/export/dicom-ct.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import type { Volume } from '../../src-shared/volume.js'

const root = join(import.meta.dirname, '../..')
const require = createRequire(join(root, 'package.json'))

describe('workerScriptUrl', () => {
  it('moves a worker inside app.asar to app.asar.unpacked, and leaves every other path alone', () => {
    const packed = 'file:///opt/SCN%20Studio/resources/app.asar/dist/electron/main.mjs'
    expect(workerScriptUrl('./worker-entry.mjs', packed).href).toBe('file:///opt/SCN%20Studio/resources/app.asar.unpacked/dist/electron/worker-entry.mjs')
    expect(workerScriptUrl('./w.mjs', 'file:///C:/Program%20Files/SCN/resources/app.asar/dist/electron/main.mjs').pathname).toBe('/C:/Program%20Files/SCN/resources/app.asar.unpacked/dist/electron/w.mjs')
    for (const base of ['file:///repo/src-main/inference/index.ts', 'file:///x/resources/app.asar.unpacked/dist/electron/main.mjs', 'file:///x/my-app.asar-files/main.mjs', 'file:///x/app.asarx/main.mjs']) {
      expect(workerScriptUrl('./w.mjs', base).href).toBe(new URL('./w.mjs', base).href)
    }
  })
})

/** Posts each request to a worker started at `entry` and collects one reply per request. */
async function ask<T>(entry: string, requests: object[], done: (msg: { type?: string; id?: number }) => boolean = (m) => m.id !== undefined): Promise<T[]> {
  const w = new Worker(pathToFileURL(entry))
  const replies: T[] = []
  try {
    return await new Promise<T[]>((resolve, reject) => {
      w.on('message', (m) => {
        if (!done(m)) return
        replies.push(m as T)
        if (replies.length === requests.length) resolve(replies)
      })
      w.on('error', reject)
      w.on('exit', (code) => reject(new Error(`${entry} exited (code ${code}) after ${replies.length} replies`)))
      for (const r of requests) w.postMessage(r)
    })
  } finally {
    await w.terminate()
  }
}

describe.skipIf(process.platform !== 'linux')('the packaged app (electron-builder, Linux dir target)', () => {
  let tmp: string
  let unpacked: string
  /** where the app starts a worker: beside main.mjs inside app.asar, moved out by workerScriptUrl */
  let workerEntry: (name: string) => string

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'scn-package-'))
    // a worker that escaped the unpacked folder would find packages in a node_modules above it
    for (let d = tmp; dirname(d) !== d; d = dirname(d)) expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false)
    execFileSync(process.execPath, [join(root, 'scripts/build-electron.mjs')], { cwd: root, stdio: 'pipe' })
    // electron-builder copies an unpacked Electron from electronDist; a stand-in executable will do
    const fakeElectron = join(tmp, 'electron-dist')
    mkdirSync(fakeElectron)
    writeFileSync(join(fakeElectron, 'electron'), '#!/bin/sh\nexit 1\n')
    chmodSync(join(fakeElectron, 'electron'), 0o755)
    const yaml = require('js-yaml') as { load(s: string): Record<string, unknown> }
    const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>
    const { build, Platform } = require('electron-builder') as {
      build(o: unknown): Promise<string[]>
      Platform: { LINUX: { createTarget(t: string): unknown } }
    }
    await build({
      projectDir: root,
      targets: Platform.LINUX.createTarget('dir'),
      config: { ...config, electronDist: fakeElectron, electronFuses: null, directories: { ...(config.directories as object), output: join(tmp, 'out') } },
    })
    const resources = join(tmp, 'out', 'linux-unpacked', 'resources')
    unpacked = join(resources, 'app.asar.unpacked')
    const packedMain = pathToFileURL(join(resources, 'app.asar', 'dist', 'electron', 'main.mjs'))
    workerEntry = (name) => fileURLToPath(workerScriptUrl(`./${name}`, packedMain))
  }, 300_000)

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('starts workers from the unpacked folder', () => {
    expect(workerEntry('worker-entry.mjs')).toBe(join(unpacked, 'dist', 'electron', 'worker-entry.mjs'))
  })

  it('unpacks both workers, their chunks and pipelines, ONNX Runtime and the models, and nothing of the main bundle', () => {
    const electron = join(unpacked, 'dist', 'electron')
    for (const f of ['package.json', 'worker-entry.mjs', 'worker.js', 'read-worker-entry.mjs', 'read-worker.js']) expect(existsSync(join(electron, f)), f).toBe(true)
    expect(existsSync(join(electron, 'main.mjs'))).toBe(false)
    expect(existsSync(join(electron, 'preload.cjs'))).toBe(false)
    const chunks = readdirSync(join(electron, 'chunks'))
    expect(chunks.some((f) => f.endsWith('.js'))).toBe(true)
    expect(readdirSync(join(electron, 'chunks', 'pipelines'))).toEqual(expect.arrayContaining(['nrrd-read-image.wasm.zst', 'read-image-dicom-file-series.wasm.zst']))
    expect(readdirSync(join(unpacked, 'node_modules')).sort()).toEqual(expect.arrayContaining(['onnxruntime-common', 'onnxruntime-node']))
    expect(existsSync(join(unpacked, 'models', 'scn-flare-organs', 'model.json'))).toBe(true)
    // the archive keeps the main bundle and what it imports, and no longer carries itk-wasm
    const asar = require('@electron/asar') as { listPackage(p: string, o: object): string[] }
    const listed = asar.listPackage(join(unpacked, '..', 'app.asar'), {}).map((f) => f.split('\\').join('/'))
    for (const f of ['/dist/electron/main.mjs', '/dist/electron/preload.cjs', '/node_modules/dcmjs/package.json', '/node_modules/zod/package.json']) expect(listed, f).toContain(f)
    expect(listed.filter((f) => /\/node_modules\/(@itk-wasm|itk-wasm)\//.test(f))).toEqual([])
  })

  it('the volume reader reads NIfTI, NRRD and a DICOM series from the unpacked folder alone, as the source reader does', async () => {
    const p = generatePhantom({ dims: [48, 40, 12], spacing: [4, 4, 6], seed: 3 })
    const data = join(tmp, 'data')
    mkdirSync(data)
    await writeNifti(p.ct, join(data, 'ct.nii.gz'))
    await writeNrrd(p.labels, join(data, 'labels.nrrd'))
    await writeNewCtSeries(p.ct, join(data, 'dicom'))
    const requests = [
      { id: 1, kind: 'ct', path: join(data, 'ct.nii.gz') },
      { id: 2, kind: 'labels', path: join(data, 'labels.nrrd') },
      { id: 3, kind: 'ct', path: join(data, 'dicom') },
      { id: 4, kind: 'ct', path: join(data, 'missing.nrrd') },
      { id: 5, kind: 'dicom-series', path: join(data, 'dicom') },
    ]
    const replies = await ask<{ id: number; ok: boolean; volume?: Volume; error?: { message: string } }>(workerEntry('read-worker-entry.mjs'), requests)
    const byId = new Map(replies.map((r) => [r.id, r]))
    const expected: Record<number, Volume> = {
      1: await readCt(join(data, 'ct.nii.gz')),
      2: await readLabels(join(data, 'labels.nrrd')),
      3: await readCt(join(data, 'dicom')),
    }
    for (const id of [1, 2, 3]) {
      const r = byId.get(id)!
      expect(r.ok, `${requests[id - 1].path}: ${r.error?.message}`).toBe(true)
      expect(r.volume!.dims).toEqual(expected[id].dims)
      expect(r.volume!.spacing).toEqual(expected[id].spacing)
      expect(Array.from(r.volume!.data)).toEqual(Array.from(expected[id].data))
    }
    expect(Array.from(byId.get(2)!.volume!.data)).toEqual(Array.from(p.labels.data))
    expect(byId.get(4)!.ok).toBe(false)
    expect(byId.get(4)!.error!.message).toContain('missing.nrrd')
    const series = (byId.get(5) as unknown as { series: { sliceCount: number; modality: string }[] }).series
    expect(series.map((x) => [x.modality, x.sliceCount])).toEqual([['CT', p.ct.dims[2]]])
  }, 120_000)

  it('the inference worker runs the packaged model from the unpacked folder alone, with the labels the source engine gives', async () => {
    const p = generatePhantom({ dims: [64, 64, 40], spacing: [5, 5, 8], seed: 7 })
    const modelDir = join(unpacked, 'models', 'scn-flare-organs')
    const card = readModelCard(join(modelDir, 'model.json'))
    const ct = { dims: p.ct.dims, spacing: p.ct.spacing, origin: p.ct.origin, direction: p.ct.direction, data: p.ct.data, meta: { ...p.ct.meta } }
    const run = { type: 'run', ct, model: { dir: modelDir, card }, device: 'cpu', sessionPreset: 'low-memory', cancelFlag: new Int32Array(new SharedArrayBuffer(4)) }
    const [reply] = await ask<{ type: string; labels?: Volume; message?: string }>(workerEntry('worker-entry.mjs'), [run], (m) => m.type === 'result' || m.type === 'error' || m.type === 'cancelled')
    expect(reply.type, reply.message).toBe('result')
    const ours = await runScn(p.ct, { device: 'cpu' })
    expect(reply.labels!.dims).toEqual(ours.labels.dims)
    expect(Array.from(reply.labels!.data)).toEqual(Array.from(ours.labels.data))
    // and it found the organs: liver, kidney, spleen, pancreas all present
    const present = new Set(reply.labels!.data)
    for (const organ of [1, 2, 3, 4]) expect(present.has(organ), `label ${organ}`).toBe(true)
  }, 180_000)
})
