/**
 * `scn-studio batch <inputs...> -o <dataset-dir>`: pre-segments many CTs into an nnU-Net v2 style
 * dataset with a run manifest, resuming where an earlier run stopped. Embedded by default (worker
 * threads of this process); with `--queue redis://host:port` the cases become BullMQ jobs for
 * `scn-studio worker` processes on any number of machines. `batch --status --queue ...` shows the
 * queue's counts and failures. See docs/batch.md.
 */
import type { Command } from 'commander'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { acquireLock, CaseLockedError } from '../cases/lock.js'
import { defaultLabelTable } from '../cases/label-table.js'
import { BatchInputError } from '../batch/inputs.js'
import { planBatch } from '../batch/plan.js'
import { MANIFEST_FILE, ManifestError, VOLUMES_CSV, countCases, writeDatasetSummary, writeManifest, type ManifestCase } from '../batch/manifest.js'
import { embeddedPoolSize, runPool, sweepTempFiles } from '../batch/pool.js'
import { checkReachable, enqueueCases, openQueue, queueStatus, queueTarget, waitForJobs, QueueUrlError, DEFAULT_QUEUE_NAME } from '../batch/queue.js'
import { createReporter, formatDuration } from '../batch/progress.js'
import type { CaseJob } from '../batch/case-runner.js'
import { importBatchToWorkspace } from '../batch/workspace-import.js'
import { defaultWorkspaceDir } from '../util/app-paths.js'
import { CliError, DEVICES, EXIT, resolveModelForCli } from './exit-codes.js'



export interface BatchCliOptions {
  output?: string
  labelsOnly?: boolean
  model?: string
  device: string
  concurrency?: string
  retryFailed?: boolean
  json?: boolean
  queue?: string
  queueName: string
  detach?: boolean
  status?: boolean
  toWorkspace?: string | boolean
}

export function registerBatch(program: Command): void {
  program
    .command('batch [inputs...]')
    .description('pre-segment many CTs (files, folders searched for NIfTI/NRRD/MHA and DICOM series, or .txt lists) into an nnU-Net style dataset; resumes; --queue spreads the cases over `scn-studio worker` processes')
    .option('-o, --output <dataset-dir>', 'the dataset folder: imagesTr/, labelsTr/, dataset.json, reports/, organ_volumes.csv, manifest.json')
    .option('--labels-only', 'write labelsTr/ only, no copy of the CTs in imagesTr/')
    .option('--model <id>', 'model id (see `scn-studio models`); default scn-flare-organs, else the first installed')
    .option('--device <device>', `embedded run: where to run, ${DEVICES.join(', ')}`, 'auto')
    .option('--concurrency <n>', 'embedded run: cases at once (default: sized to the cores and memory)')
    .option('--retry-failed', 'run the cases that failed in an earlier run again (finished ones are always skipped)')
    .option('--json', 'JSON lines on stdout (events: plan, enqueued, case, progress, queue-error, summary) instead of the progress bar')
    .option('--queue <url>', 'redis://host:port: enqueue the cases as BullMQ jobs for `scn-studio worker` processes')
    .option('--queue-name <name>', 'the BullMQ queue to use', DEFAULT_QUEUE_NAME)
    .option('--detach', 'with --queue: enqueue and return at once (run the same command again to wait and write the manifest)')
    .option('--status', 'with --queue: show the queue\'s job counts and failures, then exit')
    .option('--to-workspace [dir]', 'open the done cases as workspace cases for review, the labels as their model prediction (default: your workspace); without inputs, imports the dataset of -o')
    .action(async (inputs: string[], o: BatchCliOptions) => {
      try {
        process.exitCode = await batchCommand(inputs, o)
      } catch (e) {
        const known = e instanceof CliError ? e.code : e instanceof BatchInputError ? EXIT.badInput : e instanceof QueueUrlError || e instanceof ManifestError ? EXIT.usage : EXIT.failed
        process.stderr.write(`error: ${(e as Error).message}\n`)
        process.exit(known)
      }
    })
}

async function statusCommand(o: BatchCliOptions): Promise<number> {
  if (!o.queue) throw new CliError(EXIT.usage, '--status needs --queue redis://host:port')
  const t = queueTarget(o.queue, o.queueName)
  await checkReachable(t)
  const s = await queueStatus(t)
  if (o.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n')
    return EXIT.ok
  }
  const c = s.counts
  const lines = [
    `queue ${s.name} on ${s.queue}: ${s.workers} worker connection(s)`,
    `  waiting ${c.waiting + (c.prioritized ?? 0) + (c.delayed ?? 0)}  running ${c.active}  done ${c.completed}  failed ${c.failed}`,
  ]
  if (s.failures.length) {
    lines.push('  failures:')
    for (const f of s.failures) lines.push(`    ${f.caseId} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'}): ${f.error}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  return EXIT.ok
}

async function batchCommand(inputs: string[], o: BatchCliOptions): Promise<number> {
  if (o.status) return statusCommand(o)
  if (!o.output) throw new CliError(EXIT.usage, 'give the dataset folder to write with -o <dataset-dir>')
  if (o.toWorkspace && inputs.length === 0) {
    await toWorkspace(resolve(o.output), o)
    return EXIT.ok
  }
  if (inputs.length === 0) throw new CliError(EXIT.usage, 'give at least one input: CT files, folders to search, or a .txt file listing them')
  const device = o.device as DeviceChoice
  if (!DEVICES.includes(device)) throw new CliError(EXIT.usage, `--device must be one of ${DEVICES.join(', ')} (got "${o.device}")`)
  let slotsRequested: number | undefined
  if (o.concurrency !== undefined) {
    slotsRequested = Number(o.concurrency)
    if (!Number.isInteger(slotsRequested) || slotsRequested < 1) throw new CliError(EXIT.usage, `--concurrency must be a whole number of at least 1 (got "${o.concurrency}")`)
  }
  if (o.detach && !o.queue) throw new CliError(EXIT.usage, '--detach needs --queue (the embedded run lives in this process)')
  const target = o.queue ? queueTarget(o.queue, o.queueName) : null

  const model = resolveModelForCli(o.model)
  const datasetDir = resolve(o.output)
  if (existsSync(datasetDir) && !statSync(datasetDir).isDirectory()) throw new CliError(EXIT.usage, `${o.output}: is a file; the dataset is a folder`)
  mkdirSync(datasetDir, { recursive: true })
  if (target) await checkReachable(target)

  // one batch command per dataset folder at a time: two would overwrite each other's manifest
  let lock
  try {
    lock = await acquireLock(join(datasetDir, '.batch.lock'), datasetDir)
  } catch (e) {
    if (e instanceof CaseLockedError) {
      const h = e.holder
      throw new CliError(EXIT.usage, `${datasetDir}: another batch command is writing this dataset${h ? ` (process ${h.pid} on ${h.hostname}, since ${h.since})` : ''}; wait for it or stop it first`)
    }
    throw e
  }
  let code
  try {
    code = await runBatch(inputs, o, { datasetDir, device, slotsRequested, target, model: { id: model.id, version: model.version, labels: model.card.labels } })
  } finally {
    await lock.release()
  }
  if (o.toWorkspace && !o.detach && code !== EXIT.cancelled) await toWorkspace(datasetDir, o)
  return code
}

async function toWorkspace(datasetDir: string, o: BatchCliOptions): Promise<void> {
  const dir = typeof o.toWorkspace === 'string' ? resolve(o.toWorkspace) : defaultWorkspaceDir()
  const r = await importBatchToWorkspace(datasetDir, dir)
  if (o.json) process.stdout.write(JSON.stringify({ event: 'workspace', ...r }) + '\n')
  else {
    const lines = [`workspace ${r.workspace}: ${r.added.length} case(s) added for review, ${r.present.length} already there${r.failed.length ? `, ${r.failed.length} could not be added` : ''}`]
    for (const f of r.failed) lines.push(`  ${f.caseId}: ${f.error}`)
    process.stdout.write(lines.join('\n') + '\n')
  }
}

interface RunContext {
  datasetDir: string
  device: DeviceChoice
  slotsRequested?: number
  target: ReturnType<typeof queueTarget> | null
  model: { id: string; version: string; labels: Parameters<typeof defaultLabelTable>[0] }
}

async function runBatch(inputs: string[], o: BatchCliOptions, ctx: RunContext): Promise<number> {
  const { datasetDir, target } = ctx
  const reporter = createReporter({ json: Boolean(o.json), tty: Boolean(process.stderr.isTTY) })
  const plan = await planBatch({ inputs, datasetDir, labelsOnly: Boolean(o.labelsOnly), modelId: ctx.model.id, modelVersion: ctx.model.version, retryFailed: Boolean(o.retryFailed) })
  for (const n of plan.notes) reporter.note(n)
  const entries = new Map<string, ManifestCase>(plan.entries.map((e) => [e.id, e]))
  const table = defaultLabelTable(ctx.model.labels, '1970-01-01T00:00:00.000Z')
  const createdAt = plan.previous?.createdAt ?? new Date().toISOString()
  const manifestBase = () => ({
    schema: 1 as const,
    model: { id: ctx.model.id, version: ctx.model.version },
    labelsOnly: Boolean(o.labelsOnly),
    runner: target ? target.display : 'embedded',
    createdAt,
    cases: [...entries.values()],
  })
  // manifest writes are serialized and coalesced: the latest state wins, never two writers at once
  let writing: Promise<unknown> = Promise.resolve()
  let dirty = false
  let lastWrite = 0
  const saveManifest = (force = false) => {
    dirty = true
    if (!force && Date.now() - lastWrite < 2000) return writing
    writing = writing.then(async () => {
      if (!dirty) return
      dirty = false
      lastWrite = Date.now()
      await writeManifest(datasetDir, manifestBase())
    })
    return writing
  }

  const todo = plan.todo
  const failedBefore = [...entries.values()].filter((e) => e.status === 'failed').length
  const pool = target ? null : embeddedPoolSize(todo.length, ctx.slotsRequested)
  reporter.event({
    event: 'plan',
    dataset: datasetDir,
    model: { id: ctx.model.id, version: ctx.model.version },
    runner: target ? target.display : 'embedded',
    cases: entries.size,
    toRun: todo.length,
    skippedDone: plan.skippedDone,
    keptFailed: plan.keptFailed,
    ...(pool ? { slots: pool.slots } : {}),
  })
  reporter.note(
    `${entries.size} case(s) in ${datasetDir}: ${todo.length} to run, ${plan.skippedDone} already done` +
      (plan.keptFailed ? `, ${plan.keptFailed} failed before (kept; --retry-failed runs them again)` : '') +
      ` — model ${ctx.model.id} ${ctx.model.version}` +
      (pool ? `, ${pool.slots} at once (${pool.why})` : `, queue ${target!.name} on ${target!.display}`),
  )
  await saveManifest(true)

  let done = [...entries.values()].filter((e) => e.status === 'done').length
  let failed = failedBefore
  let running = 0
  const counts = () => ({ total: entries.size, done, failed, running })
  const finish = (entry: ManifestCase) => {
    const before = entries.get(entry.id)
    if (before?.status === 'done') done--
    if (before?.status === 'failed') failed--
    entries.set(entry.id, entry)
    if (entry.status === 'done') done++
    else failed++
    reporter.caseFinished(entry, counts())
    void saveManifest()
  }

  // Ctrl+C: the first lets running cases finish, the second abandons them, the third quits at once
  const stop = new AbortController()
  const abandon = new AbortController()
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts === 1) {
      stop.abort()
      reporter.note(target ? 'stopping: the jobs stay queued and workers go on; run the same command again to wait for them' : `stopping: finishing the ${running} running case(s), starting no more (Ctrl+C again to abandon them)`)
    } else if (interrupts === 2 && !target) {
      abandon.abort()
      reporter.note('abandoning the running cases (each stops after its current step; nothing half-written is kept)')
    } else process.exit(EXIT.cancelled)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const t0 = performance.now()
  let complete: boolean
  try {
    if (!target) {
      const r = await runPool(todo, { slots: pool!.slots, device: ctx.device, stop: stop.signal, abandon: abandon.signal }, {
        onStart: () => {
          running++
          reporter.progress(counts())
        },
        onFinish: (e) => {
          running--
          // attempts count across runs (--retry-failed): the pool knows only this one
          finish({ ...e, attempts: (entries.get(e.id)?.attempts ?? 0) + 1 })
        },
      })
      complete = !r.stopped
    } else {
      complete = await runQueued(target, todo, o, reporter, finish, (n) => {
        running = n
        reporter.progress(counts())
      }, stop.signal)
    }
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    reporter.close()
  }
  // anything a killed writer left behind; no case of this dataset is being written now (embedded:
  // the pool has drained; queue: every job has ended)
  // (after our own manifest write in flight has landed: its temporary file is not litter)
  await writing
  if (complete) sweepTempFiles(datasetDir)
  await saveManifest(true)
  await writing
  await writeDatasetSummary(datasetDir, table, [...entries.values()], `${ctx.model.id} ${ctx.model.version}`)
  const m = countCases([...entries.values()])
  const seconds = (performance.now() - t0) / 1000
  const ran = todo.length - m.pending
  reporter.event({ event: 'summary', ...m, ran, skippedDone: plan.skippedDone, seconds, complete, detached: Boolean(o.detach), manifest: join(datasetDir, MANIFEST_FILE) })
  if (!o.json) {
    const lines = [
      `${m.total} case(s): ${m.done} done, ${m.failed} failed${m.pending ? `, ${m.pending} not finished` : ''} (${ran} run now in ${formatDuration(seconds)}${ran > 0 ? `, ${((ran / seconds) * 60).toFixed(1)} cases/min` : ''}; ${plan.skippedDone} already done)`,
      `  dataset   ${datasetDir}`,
      `  manifest  ${join(datasetDir, MANIFEST_FILE)}`,
      `  volumes   ${join(datasetDir, VOLUMES_CSV)}`,
    ]
    const failures = [...entries.values()].filter((e) => e.status === 'failed')
    if (failures.length) {
      lines.push('  failed:')
      for (const f of failures.slice(0, 20)) lines.push(`    ${f.id}: ${f.error}`)
      if (failures.length > 20) lines.push(`    ... ${failures.length - 20} more in the manifest`)
    }
    if (o.detach) lines.push(`  enqueued on ${target!.display}; run the same command again (without --detach) to wait for the workers and complete the manifest`)
    else if (!complete) lines.push('  stopped before the end: run the same command again to go on where it stopped')
    process.stdout.write(lines.join('\n') + '\n')
  }
  if (o.detach) return EXIT.ok
  if (!complete) return EXIT.cancelled
  return m.failed > 0 ? EXIT.failed : EXIT.ok
}

async function runQueued(
  target: NonNullable<RunContext['target']>,
  todo: CaseJob[],
  o: BatchCliOptions,
  reporter: ReturnType<typeof createReporter>,
  finish: (e: ManifestCase) => void,
  onRunning: (n: number) => void,
  stop: AbortSignal,
): Promise<boolean> {
  // connection trouble is a note, not the end of the batch: ioredis reconnects and the wait goes on
  let lastTrouble = 0
  const trouble = (e: Error) => {
    if (Date.now() - lastTrouble < 10_000) return
    lastTrouble = Date.now()
    reporter.event({ event: 'queue-error', queue: target.display, error: e.message, retrying: true })
    reporter.note(`queue ${target.display}: ${e.message}; retrying`)
  }
  const queue = openQueue(target, trouble)
  try {
    const r = await enqueueCases(queue, todo, Boolean(o.retryFailed))
    reporter.event({ event: 'enqueued', added: r.added, attached: r.attached, retried: r.retried, queue: target.display, name: target.name })
    reporter.note(`enqueued ${r.added} job(s)${r.attached ? `, ${r.attached} already queued by an earlier run` : ''}${r.retried ? `, ${r.retried} failed job(s) retried` : ''}`)
    if (o.detach) return false
    const workers = await queue.getWorkersCount()
    if (workers === 0 && todo.length > 0) reporter.note(`no worker is connected to ${target.name} yet: start \`scn-studio worker --queue ${target.display}\` on the machines that should run the cases`)
    return await waitForJobs(queue, todo, r.ids, { onFinish: finish, onProgress: onRunning, onTrouble: trouble }, stop)
  } finally {
    await queue.close()
  }
}
