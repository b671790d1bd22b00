/**
 * Debounced saver: the host calls put() on every labelmap change; the latest value is written
 * `delayMs` after the last put, and never later than `maxWaitMs` after the first unsaved put (so a
 * user who paints continuously still gets a save every couple of seconds). Saves never overlap: a put
 * during a write schedules one more write of the newest value afterwards. flush() writes now and
 * resolves when everything put so far is on disk; close() flushes and refuses further puts.
 */
export interface SaverOptions {
  /** quiet time after the last edit before saving (default 1000 ms) */
  delayMs?: number
  /** longest an edit may stay unsaved while edits keep coming (default 2000 ms) */
  maxWaitMs?: number
  /** called when a background save fails; the value stays pending and is retried on the next put/flush */
  onError?: (e: unknown) => void
  onSaved?: (info: { seq: number; at: Date }) => void
  /** first retry this long after a failed save, doubling up to 30 s (default 2000 ms) */
  retryMs?: number
  /** false for failures that a retry cannot fix (default: retry every failure) */
  shouldRetry?: (e: unknown) => boolean
}

const MAX_RETRY_MS = 30_000

export class DebouncedSaver<T> {
  private pending: { value: T; seq: number } | undefined
  private seq = 0
  private savedSeq = 0
  private firstUnsavedAt = 0
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private closed = false
  private lastError: unknown
  private retryDelay = 0
  readonly delayMs: number
  readonly maxWaitMs: number

  constructor(private readonly save: (value: T) => Promise<void>, private readonly opts: SaverOptions = {}) {
    this.delayMs = opts.delayMs ?? 1000
    this.maxWaitMs = Math.max(opts.maxWaitMs ?? 2000, this.delayMs)
  }

  /** True while something put has not reached disk. */
  get dirty(): boolean {
    return this.savedSeq < this.seq
  }

  /** The error of the last failed save, cleared by a successful one. */
  get error(): unknown {
    return this.lastError
  }

  put(value: T): void {
    if (this.closed) throw new Error('this case is closed; its labels can no longer be changed')
    this.seq++
    if (!this.pending) this.firstUnsavedAt = Date.now()
    this.pending = { value, seq: this.seq }
    this.schedule()
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer)
    const untilMax = this.firstUnsavedAt + this.maxWaitMs - Date.now()
    const wait = Math.max(0, Math.min(this.delayMs, untilMax))
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.run().catch(() => {}) // reported through onError
    }, wait)
  }

  private async run(): Promise<void> {
    // Wait for a write in progress; the newest pending value is written after it.
    while (this.writing) await this.writing.catch(() => {})
    const job = this.pending
    if (!job) return
    this.pending = undefined
    this.writing = (async () => {
      try {
        await this.save(job.value)
        this.savedSeq = Math.max(this.savedSeq, job.seq)
        this.lastError = undefined
        this.retryDelay = 0
        this.opts.onSaved?.({ seq: job.seq, at: new Date() })
      } catch (e) {
        // keep the value: nothing the user drew is dropped because a disk was briefly full
        if (!this.pending) this.pending = job
        this.lastError = e
        this.opts.onError?.(e)
        this.scheduleRetry(e)
        throw e
      } finally {
        this.writing = undefined
      }
    })()
    await this.writing
    if (this.pending && !this.timer && !this.closed) this.schedule()
  }

  /** A full disk or a read-only folder may be fixed while the user works: try again, less and less often. */
  private scheduleRetry(e: unknown): void {
    if (this.closed || this.opts.shouldRetry?.(e) === false) return
    this.retryDelay = Math.min(this.retryDelay ? this.retryDelay * 2 : (this.opts.retryMs ?? 2000), MAX_RETRY_MS)
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.run().catch(() => {}) // reported through onError
    }, this.retryDelay)
    this.timer.unref() // a retry alone never keeps a process alive
  }

  /** Drops what was not saved and refuses further puts (the case is gone; the user was told). */
  abandon(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.pending = undefined
    this.closed = true
  }

  /** Writes anything pending now; rejects if that write fails. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    while (this.writing) await this.writing.catch(() => {})
    if (this.pending) await this.run()
  }

  /** Flush, then refuse further puts. Rejects (and stays open) if the last write fails. */
  async close(): Promise<void> {
    await this.flush()
    this.closed = true
  }
}
