/**
 * The distributed path on BullMQ (Redis): the batch command enqueues one job per case (paths only:
 * every machine reads the inputs and writes the dataset on shared storage) and waits for them;
 * `scn-studio worker` processes them on any number of machines. BullMQ does the scheduling we do
 * not want to own: durable jobs, retries with backoff, stalled-job recovery when a worker dies (its
 * lock expires and a live worker's stalled check puts the job back), concurrency, progress.
 *
 * Each case's job id is derived from the dataset folder and the case key, so enqueueing the same
 * batch again attaches to the jobs already there instead of adding duplicates, and a job completes
 * at most once (BullMQ only accepts the result of the worker that holds the job's lock).
 */
import { createHash } from 'node:crypto'
import { Queue, Worker, UnrecoverableError, type Job, type ConnectionOptions } from 'bullmq'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { runCase, PermanentCaseError, WORKER_ID, type CaseJob } from './case-runner.js'
import { caseKey, type ManifestCase } from './manifest.js'
import { failedEntry } from './pool.js'

export const DEFAULT_QUEUE_NAME = 'scn-studio-batch'
/** retries with backoff for errors that may pass (a worker out of memory, a storage hiccup) */
export const JOB_ATTEMPTS = 3

export class QueueUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'QueueUrlError'
  }
}

export interface QueueTarget {
  url: string
  connection: ConnectionOptions
  /** the URL without its password, for messages and the manifest */
  display: string
  name: string
}

export function queueTarget(url: string, name = DEFAULT_QUEUE_NAME): QueueTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new QueueUrlError(`--queue ${url}: not a URL; give redis://host:port (or rediss:// for TLS)`)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`--queue ${url}: only redis:// and rediss:// queues are supported`)
  if (!u.hostname) throw new QueueUrlError(`--queue ${url}: no host; give redis://host:port`)
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new QueueUrlError(`--queue-name ${name}: use letters, digits, dash, underscore`)
  const shown = new URL(url)
  if (shown.password) shown.password = '***'
  return {
    url,
    // workers block on Redis; ioredis must not give up on those commands (BullMQ requires null)
    connection: { url, maxRetriesPerRequest: null, connectTimeout: 10_000 },
    display: shown.toString(),
    name,
  }
}

export function jobIdFor(job: CaseJob): string {
  const h = createHash('sha256').update(`${job.datasetDir}\0${caseKey(job.contentHash, job.modelId, job.modelVersion)}\0${job.labelsOnly}\0${job.id}`).digest('hex')
  return `case-${h.slice(0, 32)}`
}

/**
 * A queue handle that reports connection trouble instead of dying of it: BullMQ re-emits ioredis
 * errors (a reset connection, Redis restarting) as 'error' events, and an 'error' event nobody
 * listens to ends the process. ioredis reconnects by itself; the jobs are safe in Redis meanwhile.
 */
export function openQueue(t: QueueTarget, onError: (e: Error) => void = () => undefined): Queue<CaseJob, ManifestCase> {
  const queue = new Queue<CaseJob, ManifestCase>(t.name, { connection: t.connection })
  queue.on('error', onError)
  return queue
}

/** Fails fast with a clear message when nothing answers at the URL (ioredis would retry forever). */
export async function checkReachable(t: QueueTarget, timeoutMs = 5000): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis(t.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.ping()
  } catch (e) {
    throw new QueueUrlError(`${t.display}: cannot reach Redis (${(e as Error).message}); start redis-server there or check host and port`)
  } finally {
    client.disconnect()
  }
}

export interface EnqueueResult {
  /** jobs added now */
  added: number
  /** jobs already in the queue from an earlier run of this batch (attached to) */
  attached: number
  /** failed jobs put back to run (--retry-failed) */
  retried: number
  ids: Map<string, string>
}

export async function enqueueCases(queue: Queue<CaseJob, ManifestCase>, jobs: CaseJob[], retryFailed: boolean): Promise<EnqueueResult> {
  const ids = new Map<string, string>()
  let added = 0
  let attached = 0
  let retried = 0
  const fresh: { name: string; data: CaseJob; opts: { jobId: string } & Record<string, unknown> }[] = []
  for (const j of jobs) {
    const jobId = jobIdFor(j)
    ids.set(j.id, jobId)
    const existing = await queue.getJob(jobId)
    if (existing) {
      const state = await existing.getState()
      if (state === 'failed' && retryFailed) {
        await existing.retry('failed')
        retried++
      } else attached++
      continue
    }
    fresh.push({
      name: 'segment',
      data: j,
      opts: { jobId, attempts: JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: false, removeOnFail: false },
    })
  }
  for (let i = 0; i < fresh.length; i += 500) {
    const part = fresh.slice(i, i + 500)
    await queue.addBulk(part)
    added += part.length
  }
  return { added, attached, retried, ids }
}

export interface WaitCallbacks {
  onFinish: (entry: ManifestCase) => void
  onProgress: (running: number) => void
  /** a poll failed (Redis unreachable for a moment); polling goes on until `giveUpMs` of failures */
  onTrouble?: (e: Error) => void
}

/**
 * Polls the jobs until every one has completed or failed (or `stop` fires). A failed poll is retried:
 * the jobs live in Redis and workers go on without us, so a batch that waits for hours must not end
 * on one dropped connection; only `giveUpMs` of failures in a row end the wait with an error.
 */
export async function waitForJobs(queue: Queue<CaseJob, ManifestCase>, jobs: CaseJob[], ids: Map<string, string>, cb: WaitCallbacks, stop: AbortSignal, pollMs = 500, giveUpMs = 120_000): Promise<boolean> {
  const open = new Map(jobs.map((j) => [ids.get(j.id)!, j]))
  let failingSince: number | null = null
  while (open.size > 0 && !stop.aborted) {
    try {
      await pollJobs(queue, open, cb)
      failingSince = null
    } catch (e) {
      failingSince ??= Date.now()
      if (Date.now() - failingSince > giveUpMs) throw new Error(`lost the queue for ${Math.round(giveUpMs / 1000)} s (${(e as Error).message}); the jobs stay queued: run the same command again to wait for them`)
      cb.onTrouble?.(e as Error)
    }
    if (open.size > 0) await new Promise((r) => setTimeout(r, pollMs))
  }
  return open.size === 0
}

/** One round: every open job's state; finished ones are reported and leave `open`. */
async function pollJobs(queue: Queue<CaseJob, ManifestCase>, open: Map<string, CaseJob>, cb: WaitCallbacks): Promise<void> {
  let running = 0
  // states asked for in parallel (ioredis pipelines them): thousands of jobs stay one round trip or so
  const ids = [...open.keys()]
  const states = new Map<string, string>()
  for (let i = 0; i < ids.length; i += 1000) {
    const part = ids.slice(i, i + 1000)
    const got = await Promise.all(part.map((id) => queue.getJobState(id)))
    part.forEach((id, k) => states.set(id, got[k]))
  }
  for (const [jobId, j] of [...open]) {
    const state = states.get(jobId)!
    if (state === 'active') running++
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue
    const job = await queue.getJob(jobId)
    open.delete(jobId)
    if (!job || state === 'unknown') {
      cb.onFinish(failedEntry(j, new Error(`the job ${jobId} disappeared from the queue (removed or the Redis data was lost); run the batch again`), 0))
    } else if (state === 'completed') {
      cb.onFinish({ ...job.returnvalue, attempts: job.attemptsStarted })
    } else {
      const reason = job.failedReason || 'failed without a reason'
      const seconds = job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : 0
      cb.onFinish(failedEntry(j, Object.assign(new Error(reason), { name: 'PermanentCaseError' }), seconds, { attempts: job.attemptsStarted }))
    }
  }
  cb.onProgress(running)
}

export interface QueueStatus {
  queue: string
  name: string
  counts: Record<string, number>
  workers: number
  failures: { jobId: string; caseId: string; input: string; error: string; attempts: number }[]
}

export async function queueStatus(t: QueueTarget, maxFailures = 50): Promise<QueueStatus> {
  const queue = openQueue(t)
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed')
    const failed = await queue.getFailed(0, maxFailures - 1)
    const workers = await queue.getWorkersCount()
    return {
      queue: t.display,
      name: t.name,
      counts,
      workers,
      failures: failed.map((j) => ({ jobId: String(j.id), caseId: j.data.id, input: j.data.input, error: j.failedReason, attempts: j.attemptsStarted })),
    }
  } finally {
    await queue.close()
  }
}

export interface WorkerOptions {
  concurrency: number
  device: DeviceChoice
  /** ms between stalled-job checks (BullMQ default 30 s; tests make it short) */
  stalledInterval?: number
  /** ms a job's lock lasts without renewal: a killed worker's job is recovered after about this */
  lockDuration?: number
  onEvent?: (e: Record<string, unknown> & { event: string }) => void
}

/** A BullMQ worker that runs cases; resolves once it is connected. */
export async function startWorker(t: QueueTarget, o: WorkerOptions): Promise<Worker<CaseJob, ManifestCase>> {
  const emit = o.onEvent ?? (() => undefined)
  const processor = async (job: Job<CaseJob, ManifestCase>, _token?: string, signal?: AbortSignal): Promise<ManifestCase> => {
    emit({ event: 'start', jobId: job.id, case: job.data.id, input: job.data.input, attempt: job.attemptsStarted })
    let lastProgress = 0
    try {
      const entry = await runCase(job.data, {
        device: o.device,
        signal,
        attempts: job.attemptsStarted,
        onProgress: (p) => {
          // progress goes to Redis: at most a few updates a second
          const now = Date.now()
          if (now - lastProgress < 500 && p.fraction < 1) return
          lastProgress = now
          void job.updateProgress({ stage: p.stage, fraction: p.fraction }).catch(() => undefined)
        },
      })
      emit({ event: 'done', jobId: job.id, case: job.data.id, seconds: entry.timings?.total })
      return entry
    } catch (e) {
      emit({ event: 'failed', jobId: job.id, case: job.data.id, error: (e as Error).message })
      if (e instanceof PermanentCaseError) throw new UnrecoverableError(e.message)
      throw e
    }
  }
  const worker = new Worker<CaseJob, ManifestCase>(t.name, processor, {
    connection: t.connection,
    concurrency: o.concurrency,
    name: WORKER_ID,
    ...(o.stalledInterval ? { stalledInterval: o.stalledInterval } : {}),
    ...(o.lockDuration ? { lockDuration: o.lockDuration } : {}),
    // a case that kills its worker twice (e.g. out of memory) is failed rather than passed on forever
    maxStalledCount: 2,
    autorun: false,
  })
  worker.on('stalled', (jobId) => emit({ event: 'stalled', jobId, note: 'a worker stopped while running this job; it goes back to the queue' }))
  worker.on('error', (e) => emit({ event: 'error', error: e.message }))
  void worker.run()
  await worker.waitUntilReady()
  return worker
}
