/**
 * Batch progress for people and for scripts: a bar with counts and ETA redrawn on a terminal, one
 * plain line per finished case when stderr is not a terminal, or JSON lines on stdout with --json
 * (`{"event": ...}`: plan, case, progress, summary), one object per line.
 */
import type { ManifestCase } from './manifest.js'

export interface ProgressCounts {
  total: number
  done: number
  failed: number
  running: number
}

export interface BatchReporter {
  event(e: Record<string, unknown> & { event: string }): void
  /** a human line (stderr; dropped with --json, where the events say it) */
  note(line: string): void
  caseFinished(c: ManifestCase, counts: ProgressCounts): void
  progress(counts: ProgressCounts): void
  close(): void
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--'
  const t = Math.round(s)
  const h = Math.floor(t / 3600)
  const m = Math.floor((t % 3600) / 60)
  const sec = t % 60
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
}

/** ETA from the finished cases' rate so far (null until one has finished). */
export class EtaClock {
  private readonly start = performance.now()
  private firstCount: number | null = null
  eta(counts: ProgressCounts): number | null {
    const finished = counts.done + counts.failed
    if (this.firstCount === null) this.firstCount = finished
    const doneNow = finished - this.firstCount
    if (doneNow <= 0) return null
    const elapsed = (performance.now() - this.start) / 1000
    return (elapsed / doneNow) * (counts.total - finished)
  }
  elapsed(): number {
    return (performance.now() - this.start) / 1000
  }
}

export function createReporter(opts: { json: boolean; tty: boolean }): BatchReporter {
  const clock = new EtaClock()
  const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n')
  if (opts.json) {
    return {
      event: (e) => out(e),
      note: () => undefined,
      caseFinished: (c, counts) => out({ event: 'case', id: c.id, input: c.input, status: c.status, ...(c.error ? { error: c.error } : {}), ...(c.labels ? { labels: c.labels } : {}), seconds: c.timings?.total, worker: c.worker, ...counts }),
      progress: (counts) => out({ event: 'progress', ...counts, etaSeconds: clock.eta(counts) }),
      close: () => undefined,
    }
  }
  if (!opts.tty) {
    return {
      event: () => undefined,
      note: (l) => process.stderr.write(l + '\n'),
      caseFinished: (c, counts) => {
        const n = counts.done + counts.failed
        const what = c.status === 'done' ? `done in ${(c.timings?.total ?? 0).toFixed(1)} s` : `FAILED: ${c.error}`
        process.stderr.write(`[${n}/${counts.total}] ${c.id}: ${what}\n`)
      },
      progress: () => undefined,
      close: () => undefined,
    }
  }
  let last = ''
  const draw = (counts: ProgressCounts) => {
    const width = 28
    const n = counts.done + counts.failed
    const filled = counts.total ? Math.round((n / counts.total) * width) : width
    const eta = clock.eta(counts)
    const line = `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${n}/${counts.total}  done ${counts.done}  failed ${counts.failed}  running ${counts.running}  elapsed ${formatDuration(clock.elapsed())}  ETA ${eta === null ? '--:--' : formatDuration(eta)}`
    const cut = line.slice(0, (process.stderr.columns || 120) - 1)
    process.stderr.write(cut.padEnd(last.length))
    last = cut
  }
  const clear = () => {
    if (last) process.stderr.write('\r' + ' '.repeat(last.length) + '\r')
    last = ''
  }
  let lastCounts: ProgressCounts | null = null
  // the elapsed time and ETA move even while no case finishes
  const timer = setInterval(() => lastCounts && draw(lastCounts), 1000)
  timer.unref()
  return {
    event: () => undefined,
    note: (l) => {
      clear()
      process.stderr.write(l + '\n')
      if (lastCounts) draw(lastCounts)
    },
    caseFinished: (c, counts) => {
      if (c.status === 'failed') {
        clear()
        process.stderr.write(`${c.id}: FAILED: ${c.error}\n`)
      }
      lastCounts = counts
      draw(counts)
    },
    progress: (counts) => {
      lastCounts = counts
      draw(counts)
    },
    close: () => {
      clearInterval(timer)
      clear()
    },
  }
}
