/**
 * The viewer domain: the three Cornerstone views, the CT window, the label overlay's look and
 * opening volumes. Owns viewerStore. The Cornerstone objects live here, outside Vue: components see
 * only the store's plain data.
 */
import { NeedsSeries, PlainError, type LoadedCase, type ScnClient, type Vec3 } from '../api/types.js'
import type { LabelGrid } from '../editing/grid.js'
import { labelsStore, setLabelClasses } from '../store/labels-store.js'
import { viewerStore } from '../store/viewer-store.js'
import { plainMessage } from '../app/messages.js'
import { Viewer, type OrientationLetters, type ViewName } from './viewer.js'

/** A volume the viewer has just shown: its labelmap slices are the ones Cornerstone renders. */
export type OpenedListener = (c: LoadedCase, grid: LabelGrid) => void

export class ViewerController {
  readonly viewer: Viewer
  /** the volume on screen (null before the first open) */
  current: LoadedCase | null = null
  /**
   * Asked before another volume replaces the open one: false keeps the open one (its edits could
   * not be saved). The shell points it at autosave.
   */
  canLeave: () => Promise<boolean> = async () => true
  private opened = new Set<OpenedListener>()

  constructor(private readonly client: ScnClient, viewports: Record<ViewName, HTMLDivElement>, onOrientation: (v: ViewName, l: OrientationLetters) => void, viewport3d?: HTMLDivElement) {
    this.viewer = new Viewer(viewports, viewport3d)
    this.viewer.onOrientation = onOrientation
    labelsStore.subscribe((s, prev) => {
      if (s.rows !== prev.rows || s.opacity !== prev.opacity || s.style !== prev.style) this.viewer.setLabelAppearance(s.rows, s.opacity, s.style)
    })
    viewerStore.subscribe((s, prev) => {
      if (s.window !== prev.window) this.viewer.setWindow(s.window.width, s.window.center)
    })
    void this.client.describe().then((line) => viewerStore.setState({ hostLine: line }), () => {})
    this.client.onOpenRequest?.((path) => void this.openPath(path))
    this.client.onConnectionChange?.((up) => viewerStore.setState({ hostLost: !up }))
  }

  /** Every domain that keeps per-volume state resets it here, before the view says 'ready'. */
  onOpened(l: OpenedListener): () => void {
    this.opened.add(l)
    return () => this.opened.delete(l)
  }

  async openPhantom(dims?: Vec3, spacing?: Vec3): Promise<void> {
    const make = this.client.openPhantom?.bind(this.client)
    if (!make) {
      viewerStore.setState({ load: 'error', error: 'This host opens files, not phantoms: type a path and press Open.' })
      return
    }
    await this.open(() => make({ dims, spacing }))
  }

  async openPath(path: string, seriesUid?: string): Promise<void> {
    if (!path.trim()) return
    viewerStore.setState({ seriesChoice: null })
    await this.open(() => this.client.openPath(path.trim(), seriesUid))
  }

  /** Opens what the host was started with (`npm run serve -- <file>`), if anything. */
  async openLaunchPath(): Promise<boolean> {
    const p = await this.client.launchPath().catch((e: unknown) => {
      viewerStore.setState({ load: 'error', error: plainMessage(e, 'The host did not answer') })
      return null
    })
    if (!p) return false
    await this.openPath(p)
    return true
  }

  /** Electron: the native open dialog; returns false where the host has none. */
  async openWithDialog(kind: 'file' | 'folder'): Promise<boolean> {
    const p = await this.client.pickPath?.(kind).catch(() => null)
    if (!p) return false
    await this.openPath(p)
    return true
  }

  /** A file dropped on the window (Electron knows its path; a browser does not). */
  async openDropped(file: File): Promise<void> {
    const p = this.client.pathForFile?.(file)
    if (!p) {
      viewerStore.setState({ error: `"${file.name}" was dropped, but the browser cannot tell the host where it is: type its path and press Open.` })
      return
    }
    await this.openPath(p)
  }

  /** A workspace case; its CT may be the very volume that is open, so that is closed first. */
  async openCase(caseId: string): Promise<void> {
    if (!(await this.canLeave())) return this.refuseToLeaveUnsaved()
    if (this.current) {
      await this.client.close(this.current.caseId).catch(() => undefined)
      this.current = null
    }
    await this.open(() => this.client.openCase(caseId))
  }

  /** Opening another CT would drop edits the host does not have: say so instead. */
  private refuseToLeaveUnsaved(): void {
    viewerStore.setState({
      error: `Your edits to ${this.current?.name ?? 'this CT'} are not saved yet, so nothing else was opened (that would lose them). Saving is retried; open again once it succeeds.`,
    })
  }

  private async open(get: () => Promise<LoadedCase>): Promise<void> {
    if (this.current && !(await this.canLeave())) return this.refuseToLeaveUnsaved()
    viewerStore.setState({ load: 'loading', error: null, openMs: null })
    try {
      const t0 = performance.now()
      const c = await get()
      const t1 = performance.now()
      const n = c.geometry.dims[0] * c.geometry.dims[1] * c.geometry.dims[2]
      if (c.ct.length !== n) throw new PlainError(`The CT has ${c.ct.length} voxels but its grid says ${c.geometry.dims.join('x')} (${n}).`)
      if (c.labels && c.labels.length !== n) throw new PlainError(`The saved labels have ${c.labels.length} voxels but the CT has ${n}.`)
      setLabelClasses(c.labelClasses)
      const slices = await this.viewer.load(c.geometry, c.ct, labelsStore.getState().rows)
      const grid: LabelGrid = { dims: c.geometry.dims, spacing: c.geometry.spacing, slices }
      if (c.labels) {
        const nxy = c.geometry.dims[0] * c.geometry.dims[1]
        slices.forEach((s, k) => s.set(c.labels!.subarray(k * nxy, (k + 1) * nxy)))
        this.viewer.labelsModified([])
      }
      // the previous volume is done with: the host flushes its autosave and frees it
      const previous = this.current
      if (previous && previous.caseId !== c.caseId) void this.client.close(previous.caseId).catch(() => undefined)
      this.current = c
      for (const l of this.opened) l(c, grid)
      const { rows, opacity, style } = labelsStore.getState()
      this.viewer.setLabelAppearance(rows, opacity, style)
      viewerStore.setState({ caseId: c.caseId, caseName: c.name, sourceFormat: c.sourceFormat ?? null, dims: c.geometry.dims, load: 'ready' })
      // open-to-first-render (issue 15): once the frame with the new slices has been drawn
      requestAnimationFrame(() => requestAnimationFrame(() => viewerStore.setState({ openMs: Math.round(performance.now() - t0) })))
      console.log(`[scn] opened ${c.name}: fetch/generate ${(t1 - t0).toFixed(0)} ms, viewer + labelmap + stats ${(performance.now() - t1).toFixed(0)} ms`)
    } catch (e) {
      if (e instanceof NeedsSeries) {
        viewerStore.setState({ load: this.current ? 'ready' : 'empty', seriesChoice: { path: e.path, series: e.series } })
        return
      }
      // a failed open leaves the case that is already open (if any) usable
      viewerStore.setState({ load: this.current ? 'ready' : 'error', error: plainMessage(e, 'The case could not be opened') })
    }
  }

  /** Steps a view `delta` slices (arrow keys, PageUp/PageDown); nothing without a volume. */
  stepSlice(view: ViewName, delta: number): void {
    if (this.current) this.viewer.stepSlice(view, delta)
  }

  resize(): void {
    this.viewer.resize()
  }

  dispose(): void {
    this.viewer.dispose()
  }
}
