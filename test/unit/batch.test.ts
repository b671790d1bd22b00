/**
 * `scn-studio batch` and `scn-studio worker` as users run them (real processes): a private
 * redis-server, generated phantom CTs in three formats (NIfTI, NRRD, a DICOM series) plus a corrupt
 * file, two worker processes of which one is SIGKILLed in the middle of a case. Then: every good case
 * done exactly once with labels on its CT's grid, the corrupt one failed with its reader's message,
 * the manifest complete, a re-run doing no work, and the embedded default giving identical labels.
 * Uses the synthetic test model (fast, deterministic).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { hasPythonModules } from '../helpers/python.js'
import { hasRedisServer, NEEDS_REDIS, startRedis, type PrivateRedis } from '../helpers/redis.js'
import { writeSyntheticScnModel } from '../fixtures/synthetic-scn.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'
import { EXIT } from '../../src-main/cli/exit-codes.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { writeNrrd } from '../../src-main/volumes/nrrd.js'
import { readCt, readLabels } from '../../src-main/volumes/read.js'
import { sameGrid } from '../../src-shared/geometry.js'
import { discoverCases } from '../../src-main/batch/inputs.js'
import { embeddedPoolSize, sweepTempFiles } from '../../src-main/batch/pool.js'
import { PermanentCaseError, checkCaseJob, runCase, type CaseJob } from '../../src-main/batch/case-runner.js'
import type { Manifest } from '../../src-main/batch/manifest.js'
import { Workspace } from '../../src-main/cases/workspace.js'
import { unsureByValue } from '../../src-shared/review-hint.js'
import type { Vec3 } from '../../src-shared/volume.js'
import { CLI_BIN, REPO_ROOT, runCli } from '../helpers/cli.js'

const hasOnnx = hasPythonModules('onnx')
const MODEL = 'synthetic-scn'

let home: string
let inputs: string
let redis: PrivateRedis | undefined
const GOOD = ['ct_a', 'ct_b', 'ct_c', 'ct_d', 'series1']
const children: ChildProcess[] = []

function env(): NodeJS.ProcessEnv {
  return { ...process.env, SCN_STUDIO_HOME: home }
}

const cli = (args: string[]) => runCli(args, { home, timeoutMs: 120_000 })

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
}

/** A long-running CLI process whose JSON-lines stdout is collected as it comes. */
function startCli(args: string[]) {
  const proc = spawn(process.execPath, [CLI_BIN, ...args], { env: env(), cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(proc)
  const events: Record<string, unknown>[] = []
  let stderr = ''
  let pending = ''
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = []
  proc.stdout!.on('data', (d) => {
    pending += d.toString()
    let i
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i)
      pending = pending.slice(i + 1)
      if (!line.startsWith('{')) continue
      const e = JSON.parse(line)
      events.push(e)
      for (const w of [...waiters]) if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(e)
      }
    }
  })
  proc.stderr!.on('data', (d) => (stderr += d.toString()))
  // 'close', not 'exit': the last lines of stdout (the summary) may still be in the pipe at 'exit'
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)))
  return {
    proc,
    events,
    stderr: () => stderr,
    exited,
    waitFor: (pred: (e: Record<string, unknown>) => boolean, ms = 60_000) =>
      new Promise<Record<string, unknown>>((res, rej) => {
        const hit = events.find(pred)
        if (hit) return res(hit)
        const t = setTimeout(() => rej(new Error(`timed out waiting for an event; got ${JSON.stringify(events)}; stderr: ${stderr.slice(-2000)}`)), ms)
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), res(e)) })
      }),
  }
}

async function labelsOf(file: string): Promise<Uint8Array> {
  return (await readLabels(file)).data
}

function listTree(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...listTree(p).map((x) => join(e.name, x)))
    else out.push(e.name)
  }
  return out
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'scn-batch-'))
  inputs = join(home, 'inputs')
  mkdirSync(join(inputs, 'scans', 'dicom', 'series1'), { recursive: true })
  if (hasOnnx) writeSyntheticScnModel(join(home, 'models', MODEL))
  // small grids of different sizes, so each case is its own content (and its own grid to check)
  const grids: Vec3[] = [[64, 56, 40], [72, 56, 44], [64, 64, 40], [80, 64, 48], [68, 60, 42]]
  const phantoms = grids.map((dims, i) => generatePhantom({ dims, spacing: [5, 5, 5], seed: i + 1, noise: 0 }).ct)
  await writeNifti(phantoms[0], join(inputs, 'scans', 'ct_a.nii.gz'))
  await writeNifti(phantoms[1], join(inputs, 'scans', 'ct_b.nii.gz'))
  await writeNrrd(phantoms[2], join(inputs, 'scans', 'ct_c.nrrd'))
  await writeNifti(phantoms[3], join(inputs, 'ct_d.nii.gz'))
  writeDicomSeries(phantoms[4], join(inputs, 'scans', 'dicom', 'series1'))
  writeFileSync(join(inputs, 'scans', 'corrupt.nii.gz'), Buffer.from('not a CT: a text file saved with the wrong name\n'.repeat(20)))
  writeFileSync(join(inputs, 'scans', 'notes.txt.md'), 'ignored while searching folders\n')
  // a list file naming a CT outside the searched folder
  writeFileSync(join(inputs, 'more.txt'), '# extra cases\nct_d.nii.gz\n')
  if (hasRedisServer) redis = await startRedis()
}, 120_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await redis?.stop()
  if (home) rmSync(home, { recursive: true, force: true })
})

describe('batch inputs and pool size', () => {
  it('finds one case per CT file and per DICOM series, reads list files, and keeps ids unique', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-batch-inputs-'))
    try {
      const ct = generatePhantom({ dims: [16, 16, 6], spacing: [20, 20, 20], noise: 0 }).ct
      mkdirSync(join(dir, 'a', 'mixed'), { recursive: true })
      mkdirSync(join(dir, 'b'), { recursive: true })
      // two series in one folder: two cases
      writeDicomSeries(ct, join(dir, 'a', 'mixed'), { seriesUid: '1.2.3.100' })
      // (the writer names files by slice number: write the second series apart, then move it in)
      for (const f of writeDicomSeries(ct, join(dir, 'tmp'), { seriesUid: '1.2.3.200' })) renameSync(f, join(dir, 'a', 'mixed', `b_${basename(f)}`))
      writeFileSync(join(dir, 'a', 'scan.nii.gz'), 'x')
      writeFileSync(join(dir, 'b', 'scan.nii.gz'), 'y')
      writeFileSync(join(dir, 'a', 'readme.md'), 'not a case')
      writeFileSync(join(dir, 'list.txt'), `# comment\n${join(dir, 'b', 'scan.nii.gz')}\nmissing.nrrd\n`)
      const { cases } = discoverCases([join(dir, 'a'), join(dir, 'list.txt')])
      const ids = cases.map((c) => c.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(cases.filter((c) => c.seriesUid).map((c) => c.seriesUid).sort()).toEqual(['1.2.3.100', '1.2.3.200'])
      // the two scan.nii.gz clash and get suffixes; the list's missing file is a case (it fails with its reason)
      expect(ids.filter((i) => i.startsWith('scan_'))).toHaveLength(2)
      expect(cases.some((c) => c.input === join(dir, 'missing.nrrd'))).toBe(true)
      expect(cases.some((c) => c.input.endsWith('readme.md'))).toBe(false)
      expect(() => discoverCases([join(dir, 'nope')])).toThrow(/nope: the file or folder does not exist/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('sweeps the temporary files killed writers left, never one of its own process (a write in flight)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-batch-sweep-'))
    try {
      mkdirSync(join(dir, 'labelsTr'))
      const dead = join(dir, 'labelsTr', '.ct_a.nii.gz.999999.0a1b2c3d.tmp')
      const ours = join(dir, `.manifest.json.${process.pid}.deadbeef.tmp`)
      const user = join(dir, 'labelsTr', 'notes.tmp')
      for (const f of [dead, ours, user]) writeFileSync(f, 'x')
      expect(sweepTempFiles(dir)).toBe(1)
      expect(readdirSync(join(dir, 'labelsTr')).sort()).toEqual(['notes.tmp'])
      expect(readdirSync(dir)).toContain(basename(ours))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a queue job is checked before any path is built from it: no case id or relative path escapes the dataset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-batch-job-'))
    try {
      mkdirSync(join(dir, 'dataset'))
      await writeNifti(generatePhantom({ dims: [24, 24, 8], spacing: [10, 10, 12], noise: 0 }).ct, join(dir, 'ct.nii.gz'))
      writeFileSync(join(dir, 'victim.json'), '{"mine": true}\n')
      const good = { id: 'ct', input: join(dir, 'ct.nii.gz'), contentHash: 'h', datasetDir: join(dir, 'dataset'), labelsOnly: true, modelId: 'm', modelVersion: '1' }
      for (const [bad, why] of [
        [{ ...good, id: '../../victim' }, /id: a case id is 1-64 letters, digits, dashes or underscores/],
        [{ ...good, id: 'a/b' }, /id: a case id/],
        [{ ...good, datasetDir: 'dataset' }, /datasetDir: the dataset folder must be an absolute path/],
        [{ ...good, input: 'ct.nii.gz' }, /input: the input must be an absolute path/],
        [{ ...good, seriesUid: '1.2/../3' }, /seriesUid: a DICOM UID is digits and dots/],
        [{ ...good, labelsOnly: 'yes' }, /labelsOnly/],
      ] as const) {
        const e = await runCase(bad as unknown as CaseJob, { device: 'cpu' }).catch((x) => x)
        expect(e, JSON.stringify(bad)).toBeInstanceOf(PermanentCaseError)
        expect(e.message).toMatch(/refused a job that is not a valid case/)
        expect(e.message).toMatch(why)
      }
      expect(readFileSync(join(dir, 'victim.json'), 'utf8')).toBe('{"mine": true}\n')
      expect(readdirSync(join(dir, 'dataset'))).toEqual([])
      // what batch inputs make always passes (long names included)
      const long = join(dir, `${'x'.repeat(120)}.nii.gz`)
      await writeNifti(generatePhantom({ dims: [24, 24, 8], spacing: [10, 10, 12], noise: 0 }).ct, long)
      for (const c of discoverCases([long, join(dir, 'ct.nii.gz')]).cases) expect(checkCaseJob({ ...good, id: c.id, input: c.input }).id).toBe(c.id)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('sizes the embedded pool by cores and by 1 GB of memory per large case', () => {
    const GB = 2 ** 30
    expect(embeddedPoolSize(100, undefined, { free: 64 * GB, total: 64 * GB }, 8).slots).toBe(8)
    expect(embeddedPoolSize(100, undefined, { free: 4 * GB, total: 64 * GB }, 8).slots).toBe(3)
    expect(embeddedPoolSize(100, undefined, { free: 1.5 * GB, total: 2 * GB }, 8).slots).toBe(1)
    expect(embeddedPoolSize(2, undefined, { free: 64 * GB, total: 64 * GB }, 8).slots).toBe(2)
    expect(embeddedPoolSize(100, 5, { free: 2 * GB, total: 2 * GB }, 8).why).toMatch(/more than the 1 the memory budget allows/)
  })
})

describe.skipIf(!hasOnnx || !hasRedisServer)(`scn-studio batch --queue with two workers (${NEEDS_REDIS})`, () => {
  const queueDs = () => join(home, 'ds-queue')
  const embeddedDs = () => join(home, 'ds-embedded')
  const batchArgs = () => [join(inputs, 'scans'), join(inputs, 'more.txt'), '--model', MODEL, '--device', 'cpu']
  let workers: ReturnType<typeof startCli>[] = []
  let killed: { worker: ReturnType<typeof startCli>; caseId: string } | undefined

  it('survives a worker SIGKILLed mid-case: every good case done exactly once, the corrupt one failed, the manifest complete', async () => {
    const workerArgs = ['worker', '--queue', redis!.url, '--json', '--device', 'cpu', '--concurrency', '1', '--stalled-interval', '1000', '--lock-duration', '4000']
    workers = [startCli(workerArgs), startCli(workerArgs)]
    await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'ready')))

    const batch = startCli(['batch', ...batchArgs(), '-o', queueDs(), '--queue', redis!.url, '--json'])
    // the first worker to start a good case is killed at once, in the middle of that case
    const first = await Promise.race(workers.map((w) => w.waitFor((e) => e.event === 'start' && e.case !== 'corrupt').then((e) => ({ w, e }))))
    first.w.proc.kill('SIGKILL')
    killed = { worker: first.w, caseId: String(first.e.case) }
    const survivor = workers.find((w) => w !== first.w)!

    const code = await batch.exited
    expect(code, batch.stderr()).toBe(EXIT.failed) // one case failed: the batch says so in its exit code
    const summary = batch.events.find((e) => e.event === 'summary')!
    expect(summary, `batch stderr:\n${batch.stderr()}\nworker stderr:\n${workers.map((w) => w.stderr()).join('\n---\n')}`).toMatchObject({ total: 6, done: 5, failed: 1, pending: 0, complete: true })

    const m: Manifest = JSON.parse(readFileSync(join(queueDs(), 'manifest.json'), 'utf8'))
    expect(m.model).toEqual({ id: MODEL, version: '0.0.1-test' })
    expect(m.cases.map((c) => c.id).sort()).toEqual(['corrupt', ...GOOD].sort())
    const corrupt = m.cases.find((c) => c.id === 'corrupt')!
    expect(corrupt.status).toBe('failed')
    expect(corrupt.error).toMatch(/corrupt\.nii\.gz: this is not a NIfTI file/)
    // a bad input is not retried with backoff: it cannot get better
    expect(corrupt.attempts).toBe(1)

    // done exactly once: one 'done' per good case over both workers, none by the killed worker for its case
    const doneEvents = [...workers[0].events, ...workers[1].events].filter((e) => e.event === 'done')
    expect(doneEvents.map((e) => e.case).sort()).toEqual([...GOOD].sort())
    expect(killed.worker.events.some((e) => e.event === 'done' && e.case === killed!.caseId)).toBe(false)
    const recovered = m.cases.find((c) => c.id === killed!.caseId)!
    expect(recovered.status).toBe('done')
    expect(recovered.attempts).toBe(2)
    const survivorId = String(survivor.events.find((e) => e.event === 'ready')!.worker)
    expect(recovered.worker).toBe(survivorId)
    expect(survivor.events.some((e) => e.event === 'stalled')).toBe(true)

    for (const id of GOOD) {
      const c = m.cases.find((x) => x.id === id)!
      expect(c.status, `${id}: ${c.error}`).toBe('done')
      expect(c.labels).toBe(`labelsTr/${id}.nii.gz`)
      expect(c.timings!.total).toBeGreaterThan(0)
      expect(Array.isArray(c.warnings)).toBe(true)
      expect(c.organs!.find((o) => o.name === 'liver')!.voxels).toBeGreaterThan(0)
      // labels on exactly the CT's grid (the DICOM case read back from its folder)
      const ct = await readCt(c.input, { seriesUid: c.seriesUid })
      const labels = await readLabels(join(queueDs(), c.labels!))
      expect(labels.dims).toEqual(ct.dims)
      expect(sameGrid(ct, labels)).toBe(true)
      const report = JSON.parse(readFileSync(join(queueDs(), c.report!), 'utf8'))
      expect(report).toMatchObject({ caseId: id, modelId: MODEL, input: c.input })
    }
    // the dataset holds exactly the good cases, nothing half-written
    const files = listTree(queueDs())
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(readdirSync(join(queueDs(), 'labelsTr')).sort()).toEqual(GOOD.map((id) => `${id}.nii.gz`).sort())
    expect(readdirSync(join(queueDs(), 'imagesTr')).sort()).toEqual(GOOD.map((id) => `${id}_0000.nii.gz`).sort())
    const ds = JSON.parse(readFileSync(join(queueDs(), 'dataset.json'), 'utf8'))
    expect(ds).toMatchObject({ channel_names: { '0': 'CT' }, numTraining: 5, file_ending: '.nii.gz', labels: { background: 0, liver: 1, kidney: 2, spleen: 3, pancreas: 4 } })
    const csv = readFileSync(join(queueDs(), 'organ_volumes.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('case,input,liver_ml,kidney_ml,spleen_ml,pancreas_ml,liver_unsure,kidney_unsure,spleen_unsure,pancreas_unsure')
    expect(csv).toHaveLength(6)
    // each row carries the case's volumes and unsure shares as its report gave them
    for (const row of csv.slice(1)) {
      const cells = row.split(',')
      const c = m.cases.find((x) => x.id === cells[0])!
      const report = JSON.parse(readFileSync(join(queueDs(), c.report!), 'utf8'))
      expect(cells.slice(2).map(Number)).toEqual([
        ...report.organs.map((o: { volumeMl: number }) => Number(o.volumeMl.toFixed(2))),
        ...report.organs.map((o: { unsureFraction: number }) => Number(o.unsureFraction.toFixed(3))),
      ])
    }

    // --status: counts and the failure with its message
    const st = cli(['batch', '--status', '--queue', redis!.url, '--json'])
    expect(st.code, st.stderr).toBe(EXIT.ok)
    const status = JSON.parse(st.stdout)
    expect(status.counts).toMatchObject({ completed: 5, failed: 1, active: 0, waiting: 0 })
    expect(status.failures).toHaveLength(1)
    expect(status.failures[0].error).toMatch(/corrupt\.nii\.gz: this is not a NIfTI file/)
  }, 150_000)

  it('a re-run does no work: nothing enqueued, no case started, no file rewritten', async () => {
    const before = Object.fromEntries(GOOD.map((id) => [id, statSync(join(queueDs(), 'labelsTr', `${id}.nii.gz`)).mtimeMs]))
    const startsBefore = workers.flatMap((w) => w.events).filter((e) => e.event === 'start').length
    const r = cli(['batch', ...batchArgs(), '-o', queueDs(), '--queue', redis!.url, '--json'])
    expect(r.code, r.stderr).toBe(EXIT.failed)
    const ev = jsonLines(r.stdout)
    expect(ev.find((e) => e.event === 'plan'), r.stderr).toMatchObject({ toRun: 0, skippedDone: 5, keptFailed: 1 })
    expect(ev.find((e) => e.event === 'enqueued')).toMatchObject({ added: 0 })
    expect(ev.find((e) => e.event === 'summary')).toMatchObject({ ran: 0, done: 5, failed: 1 })
    await new Promise((r) => setTimeout(r, 1500))
    expect(workers.flatMap((w) => w.events).filter((e) => e.event === 'start').length).toBe(startsBefore)
    for (const id of GOOD) expect(statSync(join(queueDs(), 'labelsTr', `${id}.nii.gz`)).mtimeMs).toBe(before[id])
  }, 60_000)

  it('the embedded default on the same inputs gives identical labels, resumes, and retries failures on request', async () => {
    const r = cli(['batch', ...batchArgs(), '-o', embeddedDs(), '--json'])
    expect(r.code, r.stderr).toBe(EXIT.failed)
    const ev = jsonLines(r.stdout)
    expect(ev.find((e) => e.event === 'plan')).toMatchObject({ runner: 'embedded', toRun: 6 })
    expect(ev.find((e) => e.event === 'summary')).toMatchObject({ done: 5, failed: 1, pending: 0 })
    const m: Manifest = JSON.parse(readFileSync(join(embeddedDs(), 'manifest.json'), 'utf8'))
    expect(m.runner).toBe('embedded')
    for (const id of GOOD) {
      const a = await labelsOf(join(queueDs(), 'labelsTr', `${id}.nii.gz`))
      const b = await labelsOf(join(embeddedDs(), 'labelsTr', `${id}.nii.gz`))
      expect(b.length).toBe(a.length)
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), `${id}: labels differ`).toBe(0)
    }
    expect(m.cases.find((c) => c.id === 'corrupt')!.error).toMatch(/corrupt\.nii\.gz: this is not a NIfTI file/)

    const again = jsonLines(cli(['batch', ...batchArgs(), '-o', embeddedDs(), '--json']).stdout)
    expect(again.find((e) => e.event === 'plan')).toMatchObject({ toRun: 0, skippedDone: 5, keptFailed: 1 })

    const retry = cli(['batch', ...batchArgs(), '-o', embeddedDs(), '--json', '--retry-failed'])
    expect(jsonLines(retry.stdout).find((e) => e.event === 'plan')).toMatchObject({ toRun: 1, skippedDone: 5 })
    const m2: Manifest = JSON.parse(readFileSync(join(embeddedDs(), 'manifest.json'), 'utf8'))
    expect(m2.cases.find((c) => c.id === 'corrupt')).toMatchObject({ status: 'failed', attempts: 2 })
  }, 120_000)

  it('opens a finished batch as workspace cases whose prediction is the batch\'s labels, once', async () => {
    const wsDir = join(home, 'workspace')
    const r = cli(['batch', '-o', embeddedDs(), '--to-workspace', wsDir, '--json'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const ev = jsonLines(r.stdout).find((e) => e.event === 'workspace')!
    expect((ev.added as { caseId: string }[]).map((a) => a.caseId).sort()).toEqual([...GOOD].sort())
    const ws = await Workspace.open(wsDir)
    const { cases } = await ws.listCases()
    expect(cases).toHaveLength(GOOD.length)
    const manifest: Manifest = JSON.parse(readFileSync(join(embeddedDs(), 'manifest.json'), 'utf8'))
    for (const s of cases) {
      expect(s.hasPrediction).toBe(true)
      // what the engine said about each case (its warnings, the organs' unsure shares) comes along,
      // so the app shows it when the case opens
      const ran = manifest.cases.find((c) => c.id === s.name)!
      const notes = (await ws.readCase(s.id)).prediction!.notes!
      expect(Object.keys(notes.unsure).length, s.name).toBeGreaterThan(0)
      expect(notes).toEqual({ warnings: ran.warnings, unsure: unsureByValue(ran.organs!), reviewUnsureAbove: 0.3 })
      expect(s.model).toMatchObject({ id: MODEL, version: '0.0.1-test', provider: 'cpu' })
      const prediction = await ws.readPrediction(s.id)
      expect(Buffer.compare(Buffer.from(prediction!.data), Buffer.from(await labelsOf(join(embeddedDs(), 'labelsTr', `${s.name}.nii.gz`))))).toBe(0)
    }
    const again = jsonLines(cli(['batch', '-o', embeddedDs(), '--to-workspace', wsDir, '--json']).stdout).find((e) => e.event === 'workspace')!
    expect(again).toMatchObject({ added: [], failed: [] })
    expect(again.present).toHaveLength(GOOD.length)
  }, 60_000)

  it('says what is wrong with the command line and the queue', () => {
    const noOut = cli(['batch', join(inputs, 'scans')])
    expect(noOut.code).toBe(EXIT.usage)
    expect(noOut.stderr).toMatch(/-o <dataset-dir>/)
    const status = cli(['batch', '--status'])
    expect(status.code).toBe(EXIT.usage)
    expect(status.stderr).toMatch(/--status needs --queue/)
    const bad = cli(['batch', join(inputs, 'scans'), '-o', join(home, 'x'), '--queue', 'http://localhost:1'])
    expect(bad.code).toBe(EXIT.usage)
    expect(bad.stderr).toMatch(/only redis:\/\/ and rediss:\/\/ queues/)
    const down = cli(['worker', '--queue', 'redis://127.0.0.1:1'])
    expect(down.code).toBe(EXIT.usage)
    expect(down.stderr).toMatch(/redis:\/\/127\.0\.0\.1:1.*cannot reach Redis/)
  }, 60_000)

  afterAll(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) {
      w.proc.kill('SIGINT')
      await Promise.race([w.exited, new Promise((r) => setTimeout(r, 10_000))])
    }
  })
})

describe.skipIf(!hasOnnx || !hasRedisServer)(`scn-studio batch --queue when Redis goes away (${NEEDS_REDIS})`, () => {
  it('waits through a Redis restart and reports the jobs lost with it, instead of dying of the dropped connection', async () => {
    let r = await startRedis()
    try {
      const ds = join(home, 'ds-restart')
      const batch = startCli(['batch', join(inputs, 'scans', 'ct_a.nii.gz'), '--model', MODEL, '--device', 'cpu', '-o', ds, '--queue', r.url, '--json'])
      await batch.waitFor((e) => e.event === 'enqueued')
      const port = r.port
      // no worker runs the job; Redis stops without persistence, so the job goes with it
      await r.stop()
      await new Promise((res) => setTimeout(res, 1500))
      r = await startRedis(port)
      expect(await batch.exited, batch.stderr()).toBe(EXIT.failed)
      expect(batch.events.find((e) => e.event === 'queue-error')).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/), retrying: true })
      expect(batch.events.find((e) => e.event === 'summary'), batch.stderr()).toMatchObject({ total: 1, done: 0, failed: 1, complete: true })
      const m: Manifest = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8'))
      expect(m.cases[0]).toMatchObject({ id: 'ct_a', status: 'failed' })
      expect(m.cases[0].error).toMatch(/disappeared from the queue .*run the batch again/)
    } finally {
      await r.stop()
    }
  }, 60_000)
})
