/**
 * An open case: holds the case lock and the autosave. The host calls putLabels() with every
 * labelmap the renderer sends; the labels reach disk within 2 s of the last edit (DebouncedSaver),
 * and close() writes whatever is pending before releasing the lock.
 */
import { DebouncedSaver } from './autosave.js'
import type { CaseLock } from './lock.js'
import type { CaseFile } from './schemas.js'
import type { LabelVolume } from '../volumes/volume.js'
import type { Workspace } from './workspace.js'

export interface CaseSessionOptions {
  /** the annotator's name, recorded in provenance */
  user?: string
  /** take over a lock held by a process on another machine */
  force?: boolean
  /** autosave quiet time (default 1000 ms) and longest wait (default 2000 ms) */
  delayMs?: number
  maxWaitMs?: number
  onSaved?: (info: { seq: number; at: Date }) => void
  onError?: (e: unknown) => void
}

export class CaseSession {
  private readonly saver: DebouncedSaver<Uint8Array>
  private current: Uint8Array
  private closed = false

  constructor(
    readonly workspace: Workspace,
    private caseFile: CaseFile,
    labels: LabelVolume,
    private readonly lock: CaseLock,
    opts: CaseSessionOptions,
  ) {
    this.current = labels.data
    this.geometry = { dims: labels.dims, spacing: labels.spacing, origin: labels.origin, direction: labels.direction }
    this.saver = new DebouncedSaver<Uint8Array>(
      async (data) => {
        this.caseFile = await workspace.saveLabels(this.id, data, opts.user)
      },
      { delayMs: opts.delayMs, maxWaitMs: opts.maxWaitMs, onSaved: opts.onSaved, onError: opts.onError },
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
    return this.saver.error
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
    await this.saver.close()
    this.closed = true
    this.workspace.sessions.delete(this.id)
    await this.lock.release()
  }
}
