/**
 * `scn-studio worker --queue redis://host:port`: runs the cases that `scn-studio batch --queue`
 * enqueued, until stopped. Start one per GPU (--device gpu) or one per CPU machine; any number on
 * any machines that see the same storage. Ctrl+C finishes the running cases first (a second Ctrl+C
 * quits at once: BullMQ hands the unfinished jobs to another worker when their lock expires).
 */
import type { Command } from 'commander'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { checkReachable, queueTarget, startWorker, DEFAULT_QUEUE_NAME, QueueUrlError } from '../batch/queue.js'
import { WORKER_ID } from '../batch/case-runner.js'
import { EXIT, DEVICES } from './exit-codes.js'


interface WorkerCliOptions {
  queue: string
  queueName: string
  device: string
  concurrency: string
  json?: boolean
  stalledInterval?: string
  lockDuration?: string
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new QueueUrlError(`${flag} must be a whole number of at least 1 (got "${v}")`)
  return n
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('process the cases of `scn-studio batch --queue` from a BullMQ queue (one worker per GPU or machine)')
    .requiredOption('--queue <url>', 'redis://host:port of the queue')
    .option('--queue-name <name>', 'the BullMQ queue to use', DEFAULT_QUEUE_NAME)
    .option('--device <device>', `where to run: ${DEVICES.join(', ')}`, 'auto')
    .option('--concurrency <n>', 'cases at once in this worker', '1')
    .option('--json', 'JSON lines on stdout (events: ready, start, done, failed, stalled)')
    .option('--stalled-interval <ms>', 'ms between checks for jobs whose worker died (BullMQ default 30000)')
    .option('--lock-duration <ms>', 'ms a running job stays locked without renewal: a dead worker\'s job is recovered after about this (default 30000)')
    .action(async (o: WorkerCliOptions) => {
      try {
        await workerCommand(o)
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`)
        process.exit(e instanceof QueueUrlError ? EXIT.usage : EXIT.failed)
      }
    })
}

async function workerCommand(o: WorkerCliOptions): Promise<void> {
  const device = o.device as DeviceChoice
  if (!DEVICES.includes(device)) throw new QueueUrlError(`--device must be one of ${DEVICES.join(', ')} (got "${o.device}")`)
  const concurrency = positiveInt('--concurrency', o.concurrency)!
  const stalledInterval = positiveInt('--stalled-interval', o.stalledInterval)
  const lockDuration = positiveInt('--lock-duration', o.lockDuration)
  const t = queueTarget(o.queue, o.queueName)
  await checkReachable(t)
  const emit = (e: Record<string, unknown> & { event: string }) => {
    if (o.json) process.stdout.write(JSON.stringify({ ...e, worker: WORKER_ID }) + '\n')
    else if (e.event !== 'ready') {
      const what = e.event === 'stopped' ? 'stopped' : e.event === 'start' ? `started ${e.case} (${e.input})` : e.event === 'done' ? `finished ${e.case} in ${Number(e.seconds).toFixed(1)} s` : e.event === 'failed' ? `FAILED ${e.case}: ${e.error}` : e.event === 'stalled' ? `job ${e.jobId}: ${e.note}` : e.event === 'error' ? `queue error: ${e.error}` : JSON.stringify(e)
      process.stderr.write(`${new Date().toISOString()} ${what}\n`)
    }
  }
  const worker = await startWorker(t, { concurrency, device, stalledInterval, lockDuration, onEvent: emit })
  emit({ event: 'ready', queue: t.display, name: t.name, concurrency, device })
  if (!o.json) process.stderr.write(`worker ${WORKER_ID} waiting for cases on ${t.display} (queue ${t.name}, ${concurrency} at once, device ${device}); Ctrl+C stops\n`)

  await new Promise<void>((resolveStop) => {
    let interrupts = 0
    const onSignal = () => {
      interrupts++
      if (interrupts > 1) process.exit(EXIT.cancelled)
      if (!o.json) process.stderr.write('stopping: finishing the running case(s) first (Ctrl+C again to quit at once; another worker then takes them)\n')
      void worker.close().then(resolveStop, resolveStop)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  emit({ event: 'stopped' })
}
