/**
 * An open case: holds the case lock and the autosave. The host calls putLabels() with every
 * labelmap the renderer sends; the labels reach disk within 2 s of the last edit (DebouncedSaver),
 * and close() writes whatever is pending before releasing the lock.
 */
import { DebouncedSaver } from './autosave.js'
import type { CaseLock } from './lock.js'
import type { CaseFile } from './schemas.js'
import type { LabelVolume } from '../../src-shared/volume.js'
import { WorkspaceError } from './errors.js'

/**
 * What a session needs of the workspace it belongs to (Workspace implements it). An interface
 * rather than the class, so that session.ts and workspace.ts do not import each other.
 */
export interface CaseStore {
  /** writes the labels and updates case.json; 'replaced' when case.json no longer matches `expected` */
  saveLabels(id: string, data: Uint8Array, user: string | undefined, expected: Pick<CaseFile, 'uid' | 'createdAt'>): Promise<CaseFile>
  labelsPath(id: string): string
  readCase(id: string): Promise<CaseFile>
  /** the sessions open in this process, by case id: a closed session removes itself */
  readonly sessions: Map<string, CaseSession>
}

/** An autosave that did not reach disk; the message says where, why, and that the edits are kept. */
export class CaseSaveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CaseSaveError'
  }
}

export interface CaseSessionOptions {
  /** the annotator's name, recorded in provenance */
  user?: string
  /** take over a lock held by a process on another machine */
  force?: boolean
  /** autosave quiet time (default 1000 ms) and longest wait (default 2000 ms) */
  delayMs?: number
  maxWaitMs?: number
  /** first retry after a failed save (default 2000 ms, doubling up to 30 s) */
  retryMs?: number
  onSaved?: (info: { seq: number; at: Date }) => void
  onError?: (e: unknown) => void
}

export class CaseSession {
  private readonly saver: DebouncedSaver<Uint8Array>
  private current: Uint8Array
  private closed = false
  /** set once the case on disk is no longer the one this session opened (saving stops) */
  private lost: WorkspaceError | undefined
  /** the case as opened: every save checks that case.json still describes it */
  private readonly opened: Pick<CaseFile, 'uid' | 'createdAt'>

  constructor(
    readonly workspace: CaseStore,
    private caseFile: CaseFile,
    labels: LabelVolume,
    private readonly lock: CaseLock,
    opts: CaseSessionOptions,
  ) {
    this.current = labels.data
    this.geometry = { dims: labels.dims, spacing: labels.spacing, origin: labels.origin, direction: labels.direction }
    this.opened = { uid: caseFile.uid, createdAt: caseFile.createdAt }
    this.saver = new DebouncedSaver<Uint8Array>(
      async (data) => {
        if (this.lost) throw this.lost
        try {
          this.caseFile = await workspace.saveLabels(this.id, data, opts.user, this.opened)
        } catch (e) {
          if (e instanceof WorkspaceError && e.code === 'replaced') {
            this.lost = new WorkspaceError(
              'replaced',
              `${e.message}. Your edits stay in this window but cannot be saved into that case any more: export them to keep them, then open the case again`,
            )
            throw this.lost
          }
          const path = workspace.labelsPath(this.id)
          throw new CaseSaveError(
            `case "${this.caseFile.name}": the labels could not be saved to ${path} (${(e as Error).message}). ` +
              'Your edits are kept in memory and saved again automatically; free disk space or fix the folder\'s permissions',
            { cause: e },
          )
        }
      },
      {
        delayMs: opts.delayMs,
        maxWaitMs: opts.maxWaitMs,
        retryMs: opts.retryMs,
        shouldRetry: () => !this.lost,
        onSaved: opts.onSaved,
        onError: opts.onError,
      },
    )
  }

  readonly geometry: Pick<LabelVolume, 'dims' | 'spacing' | 'origin' | 'direction'>

  get id(): string {
    return this.caseFile.id
  }

  /** The case record as of the last save or review made through this session. */
  get record(): CaseFile {
    return this.caseFile
  }

  /** The latest labelmap put (or loaded): x fastest, on the CT grid. */
  get labels(): Uint8Array {
    return this.current
  }

  /** True while an edit has not reached disk. */
  get dirty(): boolean {
    return this.saver.dirty
  }

  get lastSaveError(): unknown {
    return this.lost ?? this.saver.error
  }

  /** Why the latest edits are not on disk, in words; undefined while saving works. */
  get saveError(): string | undefined {
    const e = this.lastSaveError
    return e ? ((e as Error).message ?? String(e)) : undefined
  }

  /**
   * A new labelmap from the editor. Ownership passes to the session: do not modify the array
   * afterwards (send a new one). Throws if the size does not match the CT.
   */
  putLabels(data: Uint8Array): void {
    if (this.closed) throw new Error(`case ${this.id} is closed`)
    const n = this.geometry.dims[0] * this.geometry.dims[1] * this.geometry.dims[2]
    if (!(data instanceof Uint8Array) || data.length !== n) {
      throw new Error(`case ${this.id}: the labelmap has ${data?.length} voxels but the CT has ${n} (${this.geometry.dims.join('×')})`)
    }
    this.current = data
    // the edit stays in memory either way; a case another host replaced is never written
    if (this.lost) throw this.lost
    this.saver.put(data)
  }

  /** Write pending edits now. */
  async flush(): Promise<void> {
    await this.saver.flush()
    // a review made through the workspace may have changed case.json: keep our copy fresh
    this.caseFile = await this.workspace.readCase(this.id)
  }

  /** Write pending edits and release the lock. If the final write fails the case stays open and the error is thrown. */
  async close(): Promise<void> {
    if (this.closed) return
    // a lost case cannot take the edits (the user was told on every put): close without them
    if (this.lost) this.saver.abandon()
    else await this.saver.close()
    this.closed = true
    this.workspace.sessions.delete(this.id)
    await this.lock.release()
  }
}
