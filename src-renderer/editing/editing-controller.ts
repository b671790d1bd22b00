/**
 * The editing domain: the open volume's edit session (labelmap + undo history), pointer input on
 * the views, the organ table and the stats worker. Owns editStore, labelsStore and statsStore.
 */
import type { LoadedCase } from '../api/types.js'
import { StatsClient } from '../stats/stats-client.js'
import { editStore, stepBrush, type ToolName } from '../store/edit-store.js'
import { labelsStore, lockedValues, patchRow, setActiveLabel } from '../store/labels-store.js'
import { VIEW_NAMES, type ViewName } from '../names.js'
import { CursorReadout } from '../viewer/cursor-readout.js'
import type { Viewer } from '../viewer/viewer.js'
import { cursorStore } from '../store/cursor-store.js'
import { EditController } from './controller.js'
import { gridToArray, type LabelGrid } from './grid.js'
import { EditSession } from './session.js'

export class EditingController {
  session: EditSession | null = null
  /** pointer input on the three views (one per open volume) */
  tools: EditController | null = null
  private stats: StatsClient | null = null
  private detach: (() => void)[] = []

  constructor(private readonly viewer: Viewer, private readonly els: { viewports: Record<ViewName, HTMLDivElement>; overlays: Record<ViewName, SVGSVGElement> }) {
    labelsStore.subscribe((s, prev) => {
      if (s.rows.length !== prev.rows.length) this.stats?.setValues(s.rows.map((r) => r.value))
    })
  }

  /** A new volume is on screen: a fresh session on its labelmap, fresh stats, empty history. */
  start(c: LoadedCase, grid: LabelGrid): EditSession {
    this.detach.forEach((d) => d())
    this.detach = []
    const session = new EditSession(grid, { dims: c.geometry.dims, data: c.ct })
    this.session = session
    this.tools = new EditController(this.viewer, session, this.els.overlays)
    for (const v of VIEW_NAMES) this.detach.push(this.tools.attach(v, this.els.viewports[v]))
    const readout = new CursorReadout(this.viewer, session.ct, grid)
    for (const v of VIEW_NAMES) this.detach.push(readout.attach(v, this.els.viewports[v]))
    cursorStore.setState({ cursor: null })
    this.stats?.dispose()
    this.stats = new StatsClient()
    const sp = c.geometry.spacing
    this.stats.init(c.ct, gridToArray(grid), c.prediction ?? null, sp[0] * sp[1] * sp[2], labelsStore.getState().rows.map((r) => r.value))
    session.onChange((ch) => {
      this.viewer.labelsModified(ch.slices)
      this.stats?.change(ch)
    })
    editStore.setState({ undoLabel: null, redoLabel: null, editCount: 0, notice: null })
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
    // switching tools is a store write only: nothing here may touch the volume
    editStore.setState({ tool, notice: null })
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

  toggleActive(what: 'visible' | 'locked'): void {
    const s = labelsStore.getState()
    const active = s.rows.find((r) => r.value === s.activeValue)
    if (active) patchRow(active.value, { [what]: !active[what] })
  }

  toggleOutline(): void {
    labelsStore.setState((l) => ({ style: l.style === 'fill' ? 'outline' : 'fill' }))
  }
}
