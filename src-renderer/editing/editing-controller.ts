/**
 * The editing domain: the open volume's edit session (labelmap + undo history), pointer input on
 * the views, the organ table and the stats worker. Owns editStore, labelsStore and statsStore.
 */
import type { LoadedCase } from '../api/types.js'
import { StatsClient } from '../stats/stats-client.js'
import { editStore, stepBrush, type ToolName } from '../store/edit-store.js'
import { labelsStore, lockedValues, patchRow, setActiveLabel, type LabelRow } from '../store/labels-store.js'
import { VIEW_NAMES, type ViewName } from '../names.js'
import { CursorReadout } from '../viewer/cursor-readout.js'
import type { Viewer } from '../viewer/viewer.js'
import { cursorStore } from '../store/cursor-store.js'
import { viewerStore } from '../store/viewer-store.js'
import { EditController } from './controller.js'
import { gridToArray, type LabelGrid } from './grid.js'
import { EditSession } from './session.js'
import { HistoryKeeper, indexedDbVault } from './history-keeper.js'

export class EditingController {
  session: EditSession | null = null
  /** pointer input on the three views (one per open volume) */
  tools: EditController | null = null
  private stats: StatsClient | null = null
  private geometry: LoadedCase['geometry'] | null = null
  private detach: (() => void)[] = []
  /** the undo history of a workspace case, kept across a reload */
  readonly keeper = new HistoryKeeper(indexedDbVault())

  constructor(private readonly viewer: Viewer, private readonly els: { viewports: Record<ViewName, HTMLDivElement>; overlays: Record<ViewName, SVGSVGElement> }) {
    labelsStore.subscribe((s, prev) => {
      if (s.rows.length !== prev.rows.length || s.tableValues !== prev.tableValues) this.stats?.setValues(statsValues())
      if (s.rows !== prev.rows && lesionValues(s.rows).join() !== lesionValues(prev.rows).join() && this.geometry) this.stats?.trackLesions(lesionValues(s.rows), this.geometry)
    })
  }

  /** A new volume is on screen: a fresh session on its labelmap, fresh stats, empty history. */
  start(c: LoadedCase, grid: LabelGrid): EditSession {
    this.detach.forEach((d) => d())
    this.detach = []
    this.tools?.grow.dispose()
    const session = new EditSession(grid, { dims: c.geometry.dims, data: c.ct })
    this.session = session
    this.tools = new EditController(this.viewer, session, this.els.overlays)
    for (const v of VIEW_NAMES) this.detach.push(this.tools.attach(v, this.els.viewports[v]))
    const readout = new CursorReadout(this.viewer, session.ct, grid)
    for (const v of VIEW_NAMES) this.detach.push(readout.attach(v, this.els.viewports[v]))
    // every render (a slice step by key or wheel, an edit) may put something else under the pointer
    this.detach.push(
      viewerStore.subscribe((s, prev) => {
        if (s.renders === prev.renders) return
        readout.refresh()
        // seeds are drawn per slice: another slice shows other seeds
        if (this.tools?.grow.seeds.size) this.tools.drawSeeds()
      }),
    )
    cursorStore.setState({ cursor: null })
    this.stats?.dispose()
    this.stats = new StatsClient()
    const sp = c.geometry.spacing
    this.stats.init(c.ct, gridToArray(grid), c.prediction ?? null, sp[0] * sp[1] * sp[2], statsValues())
    this.geometry = c.geometry
    this.stats.trackLesions(lesionValues(labelsStore.getState().rows), c.geometry)
    session.onChange((ch) => {
      this.viewer.labelsModified(ch.slices)
      this.stats?.change(ch)
    })
    editStore.setState({ undoLabel: null, redoLabel: null, editCount: 0, notice: null })
    void this.keeper.attach(c.workspaceCaseId ?? null, session)
    return session
  }

  requireSession(): EditSession {
    if (!this.session) throw new Error('no case is open')
    return this.session
  }

  /**
   * A model prediction replaces the labelmap as ONE undoable step (locked organs kept); `target`
   * may already spare the organs the user edited.
   */
  applyPrediction(prediction: Uint8Array, target: Uint8Array, name: string): void {
    this.stats?.setPrediction(prediction)
    this.requireSession().applyLabels(target, name, lockedValues())
  }

  setTool(tool: ToolName): void {
    // Leaving grow from seeds (Escape is "cancel tool") takes its preview back and drops the seeds:
    // only Accept keeps a preview. Otherwise switching tools is a store write only.
    const was = editStore.getState()
    const dropped = was.tool === 'grow-from-seeds' && tool !== 'grow-from-seeds' && (was.grow.previewing || was.grow.seeds > 0)
    if (dropped) {
      this.tools?.grow.cancel()
      this.tools?.drawSeeds()
    }
    editStore.setState({ tool, notice: dropped && was.grow.previewing ? 'Grow from seeds: the preview was taken back (Accept keeps a preview).' : null })
  }

  undo(): void {
    this.session?.undo()
  }

  redo(): void {
    this.session?.redo()
  }

  stepBrush(direction: 1 | -1): void {
    stepBrush(direction)
  }

  toggleBrush3d(): void {
    editStore.setState((e) => ({ brush3d: !e.brush3d }))
  }

  interpolate(): void {
    this.tools?.interpolate()
  }

  removeIslands(): void {
    this.tools?.removeIslands()
  }

  setActiveOrgan(value: number): void {
    setActiveLabel(value)
  }

  /** Erases every voxel of a label as one undo step (a label's delete). */
  eraseLabel(value: number, name: string): void {
    const target = gridToArray(this.requireSession().grid)
    let n = 0
    for (let i = 0; i < target.length; i++) if (target[i] === value) (target[i] = 0), n++
    if (n) this.requireSession().applyLabels(target, `${name} (${n} voxels)`, new Set())
  }

  /** Digit keys: the Nth row of the segment list (1-based), whatever its value. */
  setActiveRow(n: number): void {
    const row = labelsStore.getState().rows[n - 1]
    if (row) setActiveLabel(row.value)
  }

  toggleActive(what: 'visible' | 'locked'): void {
    const s = labelsStore.getState()
    const active = s.rows.find((r) => r.value === s.activeValue)
    if (active) patchRow(active.value, { [what]: !active[what] })
  }

  toggleOutline(): void {
    labelsStore.setState((l) => ({ style: l.style === 'fill' ? 'outline' : 'fill' }))
  }
}

/** The values the stats worker counts: the whole workspace table (retired labels too), else the rows. */
function statsValues(): number[] {
  const s = labelsStore.getState()
  return [...new Set([...s.tableValues, ...s.rows.map((r) => r.value)])].sort((a, b) => a - b)
}

/** The lesion labels of the list (they get a lesion table). */
function lesionValues(rows: readonly LabelRow[]): number[] {
  return rows.filter((r) => r.isLesion).map((r) => r.value)
}
