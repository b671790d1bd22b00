/**
 * The UI side of grow from seeds: `grow(input)` answers with the grown labels of the box, computed in
 * a module worker (`grow.worker.ts`). Framework-free; it never touches stores (the caller turns the
 * result into a patch).
 *
 * - The box is cropped out of the page's arrays here (CT, seeds, locked: fresh box-sized copies, about
 *   1.5 MB and 1-2 ms for 80x80x40) and those copies are transferred, not cloned; the labels come back
 *   transferred. The page's own CT and labelmap are never transferred (that would detach them).
 * - A newer request supersedes an older one: the older promise rejects with `GrowCancelledError` and,
 *   when its run has started, the worker running it is terminated (a run cannot be interrupted from
 *   outside) and a fresh one is started for the new request. `cancel()` does the same with no new request.
 * - Where there is no `Worker` (vitest in Node) or `createWorker` is null, the same code runs on this
 *   thread in a later task, with the same supersede/cancel behaviour up to the moment the run starts.
 */
import { answerGrowRequest, clampBox, cropToBox, type GrowInput, type GrowReply, type GrowRequest, type GrowResult } from './grow-from-seeds.js'

/** What the client needs of a Worker (tests pass fakes). */
export interface GrowWorkerLike {
  postMessage(message: GrowRequest, transfer: Transferable[]): void
  onmessage: ((e: MessageEvent<GrowReply>) => void) | null
  onerror: ((e: ErrorEvent) => void) | null
  terminate(): void
}

export interface GrowClientOptions {
  /** makes the worker; default the module worker when `Worker` exists; null = on this thread */
  createWorker?: (() => GrowWorkerLike) | null
}

/** A grow result; `box` is in the coordinates of the grid the request was made on. */
export interface GrowClientResult extends GrowResult {
  /** from the call to the answer (crop, transfer, queue, grow, transfer back), ms */
  roundTripMs: number
}

/** Rejects a request that a newer one superseded, or that `cancel()`/`dispose()` ended. */
export class GrowCancelledError extends Error {
  constructor(reason: 'superseded' | 'cancelled' | 'disposed') {
    super(`grow ${reason}`)
    this.name = 'GrowCancelledError'
  }
}

function defaultWorker(): GrowWorkerLike {
  return new Worker(new URL('./grow.worker.ts', import.meta.url), { type: 'module' }) as unknown as GrowWorkerLike
}

interface Pending {
  id: number
  t0: number
  box: GrowResult['box']
  resolve: (r: GrowClientResult) => void
  reject: (e: Error) => void
  /** posted to the worker (or, on this thread, started) */
  started: boolean
  timer?: ReturnType<typeof setTimeout>
}

export class GrowClient {
  private readonly createWorker: (() => GrowWorkerLike) | null
  private worker: GrowWorkerLike | null = null
  private pending: Pending | null = null
  private nextId = 1
  private disposed = false

  constructor(options: GrowClientOptions = {}) {
    this.createWorker = options.createWorker !== undefined ? options.createWorker : typeof Worker !== 'undefined' ? defaultWorker : null
  }

  /** Whether a request is waiting for its answer. */
  get busy(): boolean {
    return this.pending !== null
  }

  /**
   * Grows `input` (grid-sized arrays and a box, as for `growFromSeeds`); supersedes any earlier
   * request. `owned`: the arrays are box-sized copies made for this call (no box): they are
   * transferred as they are instead of being cropped (copied) again.
   */
  grow(input: GrowInput, opts: { owned?: boolean } = {}): Promise<GrowClientResult> {
    if (this.disposed) return Promise.reject(new GrowCancelledError('disposed'))
    this.end('superseded')
    const t0 = now()
    let cropped: ReturnType<typeof cropToBox>
    try {
      if (opts.owned && input.box) throw new Error('grow: owned arrays are box-sized already; pass no box')
      cropped = opts.owned ? { input, box: clampBox(input.dims) } : cropToBox(input)
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
    const request: GrowRequest = { id: this.nextId++, input: cropped.input }
    return new Promise<GrowClientResult>((resolve, reject) => {
      const p: Pending = { id: request.id, t0, box: cropped.box, resolve, reject, started: false }
      this.pending = p
      if (this.createWorker) {
        const w = this.ensureWorker()
        const { ct, seeds, locked } = request.input
        const transfer: Transferable[] = [ct.buffer as ArrayBuffer, seeds.buffer as ArrayBuffer]
        if (locked) transfer.push(locked.buffer as ArrayBuffer)
        p.started = true
        w.postMessage(request, transfer)
      } else {
        p.timer = setTimeout(() => {
          if (this.pending !== p) return
          p.started = true
          this.settle(answerGrowRequest(request).reply)
        }, 0)
      }
    })
  }

  /** Ends the request in flight, if any (its promise rejects with GrowCancelledError). */
  cancel(): void {
    this.end('cancelled')
  }

  /** Cancels and stops the worker; later calls to grow reject. */
  dispose(): void {
    this.end('disposed')
    this.disposed = true
    this.dropWorker()
  }

  private ensureWorker(): GrowWorkerLike {
    if (this.worker) return this.worker
    const w = this.createWorker!()
    w.onmessage = (e) => this.settle(e.data)
    w.onerror = (e) => {
      // the worker could not load or threw outside the protocol: fail the request, start afresh next time
      e.preventDefault?.()
      if (this.worker === w) this.dropWorker()
      const p = this.pending
      if (p) {
        this.pending = null
        p.reject(new Error(`grow worker failed: ${e.message ?? 'unknown error'}`))
      }
    }
    this.worker = w
    return w
  }

  private dropWorker(): void {
    const w = this.worker
    this.worker = null
    if (w) {
      w.onmessage = null
      w.onerror = null
      w.terminate()
    }
  }

  private settle(reply: GrowReply): void {
    const p = this.pending
    if (!p || reply.id !== p.id) return // an answer to a superseded request
    this.pending = null
    if (!reply.ok) {
      p.reject(new Error(reply.error))
      return
    }
    p.resolve({ ...reply.result, box: p.box, roundTripMs: now() - p.t0 })
  }

  /** Rejects the request in flight; a worker already running it is terminated (the next grow starts a new one). */
  private end(reason: 'superseded' | 'cancelled' | 'disposed'): void {
    const p = this.pending
    if (!p) return
    this.pending = null
    if (p.timer !== undefined) clearTimeout(p.timer)
    if (p.started && this.worker) this.dropWorker()
    p.reject(new GrowCancelledError(reason))
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now()
}
