/**
 * The app shell: builds one controller per domain (viewer, editing, autosave, cases/review, export,
 * segmentation), wires them to each other and registers the commands. It holds no domain logic;
 * components call controllers (or commands) through context.ts.
 */
import { pickClient } from '../api/index.js'
import type { ScnClient } from '../api/types.js'
import { Autosave } from '../cases/autosave.js'
import { CasesController } from '../cases/cases-controller.js'
import { EditingController } from '../editing/editing-controller.js'
import { ExportController } from '../export/export-controller.js'
import { SegmentationController } from '../segmentation/segmentation-controller.js'
import { ViewerController } from '../viewer/viewer-controller.js'
import type { OrientationLetters, ViewName } from '../viewer/viewer.js'
import { appCommands } from './app-commands.js'
import { CommandRegistry } from './commands.js'
import { keyHandler } from './keys.js'
import { casesStore } from '../store/cases-store.js'
import { cursorStore } from '../store/cursor-store.js'
import { editStore } from '../store/edit-store.js'
import { labelsStore } from '../store/labels-store.js'
import { LabelsController } from '../labels/labels-controller.js'
import { exportStore } from '../store/export-store.js'
import { segmentStore } from '../store/segment-store.js'
import { toggleHelp, viewerStore } from '../store/viewer-store.js'

export interface ViewElements {
  viewports: Record<ViewName, HTMLDivElement>
  overlays: Record<ViewName, SVGSVGElement>
  onOrientation: (view: ViewName, l: OrientationLetters) => void
  /** the 3D view of the labels */
  viewport3d?: HTMLDivElement
}

export class AppShell {
  readonly client: ScnClient
  readonly viewer: ViewerController
  readonly editing: EditingController
  readonly autosave: Autosave
  readonly cases: CasesController
  readonly exporter: ExportController
  readonly segmentation: SegmentationController
  readonly labels: LabelsController
  readonly commands = new CommandRegistry()
  readonly onKey: (e: KeyboardEvent) => void

  constructor(els: ViewElements, client?: ScnClient) {
    this.client = client ?? pickClient(window.location)
    this.viewer = new ViewerController(this.client, els.viewports, els.onOrientation, els.viewport3d)
    const current = () => this.viewer.current
    this.editing = new EditingController(this.viewer.viewer, els)
    this.autosave = new Autosave(this.client)
    const saveNow = () => this.autosave.saveNow()
    this.cases = new CasesController(this.client, saveNow, current)
    this.exporter = new ExportController(this.client, saveNow, current)
    this.segmentation = new SegmentationController(this.client, this.editing, current)
    this.labels = new LabelsController(this.client, this.editing)

    this.viewer.canLeave = () => this.keepBeforeLeaving()
    this.autosave.onSaved = () => this.cases.afterSave()
    this.autosave.onHostStateChanged = (byHost) => this.cases.hostStateChanged(byHost)
    // per-volume state of every domain starts afresh, in this order, before the view says 'ready'
    this.viewer.onOpened((c, grid) => {
      const session = this.editing.start(c, grid)
      this.autosave.attach(c, session)
      this.cases.opened(c)
      this.exporter.opened()
      this.segmentation.opened(c)
      void this.labels.refresh()
      if (this.keptNotice) editStore.setState({ notice: this.keptNotice })
      this.keptNotice = null
    })

    this.commands.registerAll(
      appCommands({ editing: this.editing, segmentation: this.segmentation, stepSlice: (d) => this.viewer.stepSlice(cursorStore.getState().activeView, d) }),
    )
    this.onKey = keyHandler(this.commands, () => this.closeTopModal())
    // the Cases panel lists the workspace from the start, not only once a volume opens
    if (this.client.kind !== 'demo') void this.cases.refreshCases()
    void this.labels.refresh()
  }

  /**
   * Escape closes what is in front, topmost first: the Segment choice, the series choice, the export
   * replace question, the review comment, the help. False when nothing was open.
   */
  closeTopModal(): boolean {
    if (segmentStore.getState().choice) {
      void this.segmentation.choose(null)
      return true
    }
    if (viewerStore.getState().seriesChoice) {
      viewerStore.setState({ seriesChoice: null })
      return true
    }
    if (exportStore.getState().exportConfirm) {
      void this.exporter.answerConfirm(false)
      return true
    }
    if (labelsStore.getState().confirmDelete) {
      void this.labels.confirmDelete(false)
      return true
    }
    if (casesStore.getState().reviewPrompt) {
      void this.cases.answerReviewPrompt(null)
      return true
    }
    if (viewerStore.getState().help) {
      toggleHelp(false)
      return true
    }
    return false
  }

  /** said once the next volume is open: where the labels of the one before went */
  private keptNotice: string | null = null

  /**
   * Before another CT replaces the open one: the host must have every edit, and a volume that is
   * not a workspace case keeps its labels only in the host's memory, which closing it frees. So
   * changed labels (edits, a prediction) are kept as a case first, and the user is told where.
   * False (nothing else opens) when either fails.
   */
  private async keepBeforeLeaving(): Promise<boolean> {
    if (!(await this.autosave.saveNow())) return false
    const c = this.viewer.current
    if (!c || this.client.kind === 'demo' || casesStore.getState().openCaseId || !this.autosave.hasChanges) return true
    await this.cases.saveAsCase()
    const kept = casesStore.getState().openCaseId
    if (!kept) return false
    this.keptNotice = `Your labels on ${c.name} were kept as a case (${kept}, in the Cases panel) before the next CT opened.`
    return true
  }

  /** opens a host path as the viewer's volume (panels such as PACS use it) */
  openPath(path: string, seriesUid?: string): Promise<void> {
    return this.viewer.openPath(path, seriesUid)
  }

  /** sends pending edits; true when the host has everything the page has */
  saveNow(): Promise<boolean> {
    return this.autosave.saveNow()
  }

  dispose(): void {
    this.viewer.dispose()
  }
}
