/**
 * Autosave: the open labelmap goes back to the host shortly after the last edit. Owns saveStore.
 *
 * What is sent: the voxels changed since the last save the host acknowledged (a patch of indices and
 * their current values), so a one-dab edit costs bytes, not the whole labelmap. The whole labelmap
 * is sent instead on the first save of a volume, after a failed save (the host's copy is then
 * unknown: a conflict, or a patch that may or may not have landed), when the host has no patch
 * call, and when a patch would be larger than the labelmap itself (a prediction applied).
 *
 * A failed save (disk full, no permission, host gone) keeps the edits in this page, says so until
 * a save succeeds, and is retried with a growing pause; one save is in flight at a time.
 *
 * A save the host refuses as stale (LabelsConflict: another page saved this case, or an earlier save
 * landed and its answer was lost) can never succeed as sent: the page fetches the host's labels,
 * keeps its own unacknowledged voxels over them (one undoable step brings the other writer's
 * voxels in), and saves the merge at the host's version at once.
 */
import { LabelsConflict, type LoadedCase, type ScnClient } from '../api/types.js'
import { gridToArray } from '../editing/grid.js'
import type { EditSession } from '../editing/session.js'
import { editStore } from '../store/edit-store.js'
import { saveStore } from '../store/save-store.js'
import { collectPatch, LabelsPatchTracker } from './labels-patch.js'

export class Autosave {
  /** after a save the host took (a save can withdraw an approval: the case view re-reads it) */
  onSaved: () => Promise<void> = async () => {}
  /** after a save failed (byHost false), or the host reported its own disk write failing or working again */
  onHostStateChanged: (byHost: boolean) => void = () => {}

  private current: LoadedCase | null = null
  private session: EditSession | null = null
  private detach: (() => void) | null = null
  private tracker = new LabelsPatchTracker(0)
  private timer: ReturnType<typeof setTimeout> | null = null
  /** the page holds edits the host has not stored */
  private dirty = false
  /** the labels of this volume changed since it opened (edits, an applied prediction) */
  private changed = false
  private saving: Promise<void> | null = null
  private failures = 0
  /** the merge of a stale save is being applied: its voxels are the host's, not edits to send */
  private merging = false

  constructor(private readonly client: ScnClient) {
    // a case's labels reach the host's disk a moment after the save answered: a write that fails
    // there (full disk, read-only folder) is told at once, and again when it works
    this.client.onSaveStatus?.((e) => {
      if (e.volumeId !== this.current?.caseId) return
      saveStore.setState({ hostSaveError: e.saved ? null : (e.error ?? 'the host could not write the labels to disk') })
      this.onHostStateChanged(true)
    })
  }

  /** A new volume is open: nothing is pending, its first save sends the whole labelmap. */
  attach(c: LoadedCase, session: EditSession): void {
    this.detach?.()
    this.current = c
    this.session = session
    this.dirty = false
    this.changed = false
    this.failures = 0
    this.clearTimer()
    const [nx, ny, nz] = session.grid.dims
    this.tracker = new LabelsPatchTracker(nx * ny * nz)
    this.detach = session.onChange((ch) => {
      if (this.client.kind === 'demo' || this.merging) return // the demo keeps nothing
      this.changed = true
      this.tracker.track(ch.indices)
      this.schedule()
    })
    saveStore.setState({ save: 'saved', saveError: null, hostSaveError: null })
  }

  /** Whether the open volume's labels changed since it opened (work a user would not want dropped). */
  get hasChanges(): boolean {
    return this.changed
  }

  /** Stops saving (the page is going away); pending edits stay unsent. */
  dispose(): void {
    this.detach?.()
    this.detach = null
    this.clearTimer()
    this.current = null
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(delayMs = 1500): void {
    if (this.client.kind === 'demo') return
    this.dirty = true
    this.clearTimer()
    // an earlier failure stays on screen (saveError) until a save succeeds
    saveStore.setState({ save: 'unsaved' })
    this.timer = setTimeout(() => void this.saveNow(), delayMs)
  }

  /** Sends pending edits now; true when the host has everything the page has. */
  async saveNow(mergeOnConflict = true): Promise<boolean> {
    this.clearTimer()
    while (this.saving) await this.saving
    const c = this.current
    const session = this.session
    if (!c || !session || !this.dirty) return true
    this.dirty = false
    saveStore.setState({ save: 'saving' })
    let ok = false
    // what the host lacks, taken now: edits made while this save is in flight go to the next one
    const pending = this.tracker.take()
    const patch = pending.full || !this.client.saveLabelsPatch ? null : collectPatch(session.grid, pending.indices)
    let merged = false
    const job = (async () => {
      try {
        if (patch) {
          if (patch.indices.length > 0) await this.client.saveLabelsPatch!(c.caseId, patch)
        } else {
          await this.client.saveLabels(c.caseId, gridToArray(session.grid))
        }
        ok = true
        this.tracker.acknowledge()
        this.failures = 0
        const bytes = patch ? patch.indices.byteLength + patch.values.byteLength : session.grid.slices.reduce((n, s) => n + s.length, 0)
        saveStore.setState({ save: this.dirty ? 'unsaved' : 'saved', saveError: null, lastSentBytes: bytes, lastSentKind: patch ? 'patch' : 'full' })
      } catch (e) {
        if (this.current !== c) return // that volume is gone; its case keeps what was saved last
        this.dirty = true
        this.tracker.failed()
        if (e instanceof LabelsConflict && this.client.fetchLabels && mergeOnConflict) {
          merged = await this.mergeHostLabels(c, session).catch(() => false)
          if (merged || this.current !== c) return
        }
        this.failures++
        const retryMs = Math.min(30_000, 2000 * 2 ** Math.min(this.failures - 1, 4))
        const why = (e instanceof Error ? e.message : String(e)).replace(/[.\s]+$/, '')
        saveStore.setState({
          save: 'error',
          saveError: `Autosave failed: ${why}. Saving is retried; keep this page open until this message goes away.`,
        })
        if (!this.timer) this.timer = setTimeout(() => void this.saveNow(), retryMs)
        this.onHostStateChanged(false) // the host's side of it, in the case list
        return
      }
      // Inside the job: callers such as a status change wait for it and report their own errors
      // after it, which a late refresh would otherwise clear.
      await this.onSaved()
    })()
    this.saving = job
    try {
      await job
    } finally {
      if (this.saving === job) this.saving = null
    }
    // the merge is saved now, at the version the host has (once: a second conflict waits its turn)
    if (merged) ok = await this.saveNow(false)
    return ok
  }

  /**
   * The host's labels with this page's unacknowledged voxels over them, made the page's labels in
   * one undoable step; later saves name the host's version.
   */
  private async mergeHostLabels(c: LoadedCase, session: EditSession): Promise<boolean> {
    const host = await this.client.fetchLabels!(c.caseId)
    if (this.current !== c || this.session !== session) return false
    const mine = gridToArray(session.grid)
    const merged = host.labels
    if (merged.length !== mine.length) return false
    for (let i = 0; i < merged.length; i++) if (this.tracker.hostMayLack(i)) merged[i] = mine[i]!
    this.merging = true
    let brought = 0
    try {
      brought = session.applyLabels(merged, 'labels saved elsewhere', new Set()).indices.length
    } finally {
      this.merging = false
    }
    // said once, in the status area (the next edit clears it): the user sees voxels they did not paint
    if (brought > 0) editStore.setState({ notice: `Another window saved this case: its ${brought.toLocaleString('en-US')} changed voxels are merged into yours (Undo removes them).` })
    host.adopt()
    this.tracker.needFull()
    return true
  }
}
