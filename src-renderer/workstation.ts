/**
 * Wires the pieces together outside Vue: the host client, the viewer, the edit session, the edit
 * controller, the stats worker and the keymap. Components render store state and call these methods.
 */
import { indexToWorld } from '../src-shared/geometry.js'
import { pickClient } from './api/index.js'
import { ExportExists, NeedsSeries, PlainError, type CaseStatus, type ExportFormat, type ExportOptions, type LoadedCase, type ReviewAction, type ScnClient, type Vec3 } from './api/types.js'
import { casesStore, saveReviewer } from './store/cases-store.js'
import { EditController } from './editing/controller.js'
import { countValue, gridToArray, type LabelGrid } from './editing/grid.js'
import { PatchBuilder } from './editing/patch.js'
import { editedValues, fillUneditedTarget } from './editing/resegment.js'
import { EditSession } from './editing/session.js'
import { actionFor, type Action } from './keymap.js'
import { StatsClient } from './stats/stats-client.js'
import { editStore, stepBrush, type ToolName } from './store/edit-store.js'
import { labelName, labelsStore, lockedValues, patchRow, setActiveLabel, setLabelClasses } from './store/labels-store.js'
import type { ScnTestApi } from './test-api.js'
import { segmentStore, type SegmentMode } from './store/segment-store.js'
import { viewerStore } from './store/viewer-store.js'
import { WINDOW_PRESETS, type PresetName } from './viewer/presets.js'
import { Viewer, VIEW_NAMES, type OrientationLetters, type ViewName } from './viewer/viewer.js'

export interface ViewElements {
  viewports: Record<ViewName, HTMLDivElement>
  overlays: Record<ViewName, SVGSVGElement>
}

export class Workstation {
  readonly client: ScnClient
  readonly viewer: Viewer
  session: EditSession | null = null
  controller: EditController | null = null
  prediction: Uint8Array | null = null
  private stats: StatsClient | null = null
  private detach: (() => void)[] = []
  private abort: AbortController | null = null
  private current: LoadedCase | null = null
  helpVisible = false
  onHelp: (visible: boolean) => void = () => {}
  onOrientation: (view: ViewName, l: OrientationLetters) => void = () => {}

  constructor(private readonly els: ViewElements, client?: ScnClient) {
    this.client = client ?? pickClient(window.location)
    this.viewer = new Viewer(els.viewports)
    this.viewer.onOrientation = (v, l) => this.onOrientation(v, l)
    labelsStore.subscribe((s, prev) => {
      if (s.rows !== prev.rows || s.opacity !== prev.opacity || s.style !== prev.style) this.viewer.setLabelAppearance(s.rows, s.opacity, s.style)
      if (s.rows.length !== prev.rows.length) this.stats?.setValues(s.rows.map((r) => r.value))
    })
    viewerStore.subscribe((s, prev) => {
      if (s.window !== prev.window) this.viewer.setWindow(s.window.width, s.window.center)
    })
    void this.client.describe().then((line) => viewerStore.setState({ hostLine: line }), () => {})
    this.client.onOpenRequest?.((path) => void this.openPath(path))
    // a case's labels reach the host's disk a moment after labels.put answered: a write that fails
    // there (full disk, read-only folder) is told at once, and again when it works
    this.client.onSaveStatus?.((e) => {
      if (e.volumeId !== this.current?.caseId) return
      viewerStore.setState({ hostSaveError: e.saved ? null : (e.error ?? 'the host could not write the labels to disk') })
      void this.refreshCases()
    })
    void this.refreshModels()
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

  // ---- autosave: the labelmap goes back to the host shortly after the last edit ---------------
  // A failed save (disk full, no permission, host gone) keeps the edits in this page, says so until
  // a save succeeds, and is retried with a growing pause; one labels.put is in flight at a time
  // (each names the version the previous one returned).

  private saveTimer: ReturnType<typeof setTimeout> | null = null
  /** the page holds edits the host has not stored */
  private dirty = false
  private saving: Promise<void> | null = null
  private saveFailures = 0

  private scheduleSave(delayMs = 1500): void {
    if (this.client.kind === 'demo') return
    this.dirty = true
    if (this.saveTimer) clearTimeout(this.saveTimer)
    // an earlier failure stays on screen (saveError) until a save succeeds
    viewerStore.setState({ save: 'unsaved' })
    this.saveTimer = setTimeout(() => void this.saveNow(), delayMs)
  }

  /** Sends pending edits now; true when the host has everything the page has. */
  async saveNow(): Promise<boolean> {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = null
    while (this.saving) await this.saving
    const c = this.current
    if (!c || !this.session || !this.dirty) return true
    this.dirty = false
    viewerStore.setState({ save: 'saving' })
    let ok = false
    const labels = gridToArray(this.session.grid)
    const job = (async () => {
      try {
        await this.client.saveLabels(c.caseId, labels)
        ok = true
        this.saveFailures = 0
        viewerStore.setState({ save: this.dirty ? 'unsaved' : 'saved', saveError: null })
      } catch (e) {
        if (this.current !== c) return // that volume is gone; its case keeps what was saved last
        this.dirty = true
        this.saveFailures++
        const retryMs = Math.min(30_000, 2000 * 2 ** Math.min(this.saveFailures - 1, 4))
        const why = (e instanceof Error ? e.message : String(e)).replace(/[.\s]+$/, '')
        viewerStore.setState({
          save: 'error',
          saveError: `Autosave failed: ${why}. Saving is retried; keep this page open until this message goes away.`,
        })
        if (!this.saveTimer) this.saveTimer = setTimeout(() => void this.saveNow(), retryMs)
        if (casesStore.getState().openCaseId) void this.refreshCases() // the host's side of it, in the list
        return
      }
      // an edit can withdraw an approval (the host resets an edited organ to pending): show it.
      // Inside the job: callers such as setCaseStatus wait for it and report their own errors
      // after it, which a late list refresh would otherwise clear.
      if (casesStore.getState().openCaseId) await Promise.all([this.refreshOpenCase(), this.refreshCases()])
    })()
    this.saving = job
    try {
      await job
    } finally {
      if (this.saving === job) this.saving = null
    }
    return ok
  }

  /** Opening another CT would drop edits the host does not have: say so instead. */
  private refuseToLeaveUnsaved(): void {
    viewerStore.setState({
      error: `Your edits to ${this.current?.name ?? 'this CT'} are not saved yet, so nothing else was opened (that would lose them). Saving is retried; open again once it succeeds.`,
    })
  }

  async openCase(caseId: string): Promise<void> {
    if (!(await this.saveNow())) return this.refuseToLeaveUnsaved()
    if (this.current) {
      // a case's CT may be the very volume that is open: close it first so the case opens cleanly
      await this.client.close(this.current.caseId).catch(() => undefined)
      this.current = null
    }
    await this.open(() => this.client.openCase(caseId))
  }

  async refreshModels(): Promise<void> {
    try {
      const r = await this.client.listModels()
      segmentStore.setState({ models: r.models, modelProblems: r.problems })
    } catch {
      /* the Segment button reports host problems when pressed */
    }
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

  // ---- workspace cases ------------------------------------------------------------------------

  async refreshCases(): Promise<void> {
    // list errors are kept apart from action errors: a refresh that lands after a refused status
    // change (they overlap on a fast host) must not wipe the refusal off the screen
    try {
      casesStore.setState({ cases: await this.client.listCases(), listError: null })
    } catch (e) {
      casesStore.setState({ listError: plainMessage(e, 'The case list could not be read') })
    }
  }

  /** Keeps the open volume as a workspace case; its labels autosave into the case from now on. */
  async saveAsCase(name?: string): Promise<void> {
    const c = this.current
    if (!c) return
    try {
      await this.saveNow() // the case starts from what the user sees
      const s = await this.client.createCase(c.caseId, name)
      casesStore.setState({ openCaseId: s.caseId, error: null })
      await this.refreshCases()
      await this.refreshOpenCase()
    } catch (e) {
      casesStore.setState({ error: plainMessage(e, 'The case could not be created') })
    }
  }

  /** Default export target: <workspace>/exports/<case name>-<format><extension>. */
  async suggestExportPath(format: ExportFormat): Promise<string> {
    const dir = await this.client.workspaceDir().catch(() => null)
    const base = (this.current?.name ?? 'labels').replace(/\.(nii\.gz|nii|nrrd|mha|dcm)$/i, '').replace(/[^A-Za-z0-9_.-]+/g, '_')
    const ext = { nifti: '-labels.nii.gz', nnunet: '-nnunet', 'dicom-seg': '-seg.dcm', 'seg-nrrd': '.seg.nrrd' }[format]
    return `${dir ?? '.'}/exports/${base}${ext}`
  }

  /** Exports the open volume's labels; an existing target is replaced only once the user confirms. */
  async exportLabels(format: ExportFormat, outPath: string, opts: ExportOptions = {}): Promise<void> {
    const c = this.current
    if (!c) return
    const newStudy = format === 'dicom-seg' && !!opts.newStudy
    casesStore.setState({ exporting: true, exportError: null, exported: null, exportConfirm: null })
    try {
      // the host exports what it has: send the latest edits first, and never export without them
      if (!(await this.saveNow())) throw new PlainError(`The export would miss your latest edits, which could not be saved: ${viewerStore.getState().saveError ?? 'autosave failed'}`)
      const files = await this.client.exportLabels(c.caseId, format, outPath, { newStudy, overwrite: !!opts.overwrite })
      casesStore.setState({ exported: { files }, exporting: false })
    } catch (e) {
      if (e instanceof ExportExists) return casesStore.setState({ exporting: false, exportConfirm: { format, outPath, newStudy } })
      casesStore.setState({ exportError: plainMessage(e, 'The export failed'), exporting: false })
    }
  }

  /** The user's answer to "the export target exists": replace it, or keep it (nothing is written). */
  async answerExportConfirm(replace: boolean): Promise<void> {
    const q = casesStore.getState().exportConfirm
    if (!q) return
    casesStore.setState({ exportConfirm: null })
    if (replace) await this.exportLabels(q.format, q.outPath, { newStudy: q.newStudy, overwrite: true })
  }

  async setCaseStatus(caseId: string, status: CaseStatus): Promise<void> {
    try {
      await this.saveNow()
      await this.client.setCaseStatus(caseId, status)
      casesStore.setState({ error: null })
      await this.refreshCases()
    } catch (e) {
      casesStore.setState({ error: plainMessage(e, 'The status could not be changed') })
    }
  }

  // ---- review (radiologists): per-organ approve / flag of the open workspace case -------------

  /** The open case's per-organ review as the host has it (after the host saved pending edits). */
  async refreshOpenCase(): Promise<void> {
    const id = casesStore.getState().openCaseId
    if (!id || this.client.kind === 'demo') {
      casesStore.setState({ openCase: null })
      return
    }
    try {
      const s = await this.client.getCase(id)
      if (casesStore.getState().openCaseId === id) casesStore.setState({ openCase: s })
    } catch (e) {
      // the host answers cases.get after writing pending edits: when that write fails, the
      // autosave banner says so already (from the list), not the review panel
      await this.refreshCases()
      if (!openCaseSaveError() && !viewerStore.getState().hostSaveError) casesStore.setState({ reviewError: plainMessage(e, 'The review state could not be read') })
    }
  }

  /** Approve or flag an organ. Asks for the reviewer's name the first time, and for a comment to flag. */
  async review(value: number, action: ReviewAction): Promise<void> {
    const reviewer = casesStore.getState().reviewer
    if (!reviewer) return casesStore.setState({ reviewPrompt: { kind: 'name', value, action }, reviewError: null })
    if (action === 'flag') return casesStore.setState({ reviewPrompt: { kind: 'comment', value }, reviewError: null })
    await this.sendReview(value, action, reviewer)
  }

  /** The user's answer to the open prompt; null cancels it. */
  async answerReviewPrompt(text: string | null): Promise<void> {
    const p = casesStore.getState().reviewPrompt
    if (!p) return
    if (text === null) return casesStore.setState({ reviewPrompt: null, reviewError: null })
    if (!text.trim()) {
      return casesStore.setState({ reviewError: p.kind === 'name' ? 'Type your name: it is recorded with every review.' : 'Say what is wrong with this organ: a flag needs a comment.' })
    }
    casesStore.setState({ reviewPrompt: null, reviewError: null })
    if (p.kind === 'name') {
      saveReviewer(text)
      if (p.value !== undefined && p.action) await this.review(p.value, p.action)
      return
    }
    await this.sendReview(p.value, 'flag', casesStore.getState().reviewer!, text.trim())
  }

  /** Forget the remembered reviewer name; the next review asks again. */
  changeReviewer(): void {
    casesStore.setState({ reviewPrompt: { kind: 'name' }, reviewError: null })
  }

  private async sendReview(value: number, action: ReviewAction, reviewer: string, comment?: string): Promise<void> {
    const id = casesStore.getState().openCaseId
    if (!id) return
    casesStore.setState({ reviewBusy: value })
    try {
      await this.saveNow() // the reviewer judges what is on screen: the host gets it first
      const s = await this.client.reviewOrgan(id, value, action, reviewer, comment)
      casesStore.setState({ openCase: s, reviewError: null })
      await this.refreshCases()
    } catch (e) {
      casesStore.setState({ reviewError: plainMessage(e, 'The review could not be saved') })
    } finally {
      casesStore.setState({ reviewBusy: null })
    }
  }

  private async open(get: () => Promise<LoadedCase>): Promise<void> {
    if (this.current && !(await this.saveNow())) return this.refuseToLeaveUnsaved()
    viewerStore.setState({ load: 'loading', error: null })
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
      this.detach.forEach((d) => d())
      this.detach = []
      // the previous volume is done with: the host flushes its autosave and frees it
      const previous = this.current
      if (previous && previous.caseId !== c.caseId) void this.client.close(previous.caseId).catch(() => undefined)
      this.current = c
      this.dirty = false
      this.saveFailures = 0
      if (this.saveTimer) clearTimeout(this.saveTimer)
      this.saveTimer = null
      this.prediction = c.prediction ?? null
      this.session = new EditSession(grid, { dims: c.geometry.dims, data: c.ct })
      this.controller = new EditController(this.viewer, this.session, this.els.overlays)
      for (const v of VIEW_NAMES) this.detach.push(this.controller.attach(v, this.els.viewports[v]))
      this.stats?.dispose()
      this.stats = new StatsClient()
      const sp = c.geometry.spacing
      this.stats.init(c.ct, gridToArray(grid), this.prediction, sp[0] * sp[1] * sp[2], labelsStore.getState().rows.map((r) => r.value))
      this.session.onChange((ch) => {
        this.viewer.labelsModified(ch.slices)
        this.stats?.change(ch)
        this.scheduleSave()
      })
      const { rows, opacity, style } = labelsStore.getState()
      this.viewer.setLabelAppearance(rows, opacity, style)
      editStore.setState({ undoLabel: null, redoLabel: null, editCount: 0, notice: null })
      casesStore.setState({ openCaseId: c.workspaceCaseId ?? null, openCase: null, reviewPrompt: null, reviewError: null })
      if (this.client.kind !== 'demo') void this.refreshCases()
      void this.refreshOpenCase()
      viewerStore.setState({ caseId: c.caseId, caseName: c.name, sourceFormat: c.sourceFormat ?? null, dims: c.geometry.dims, load: 'ready', save: 'saved', saveError: null, hostSaveError: null })
      segmentStore.setState({ warnings: [], choice: null }) // they were about the previous CT
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

  // ---- model ----------------------------------------------------------------------------------

  /**
   * The Segment button. On a labelmap the user has edited (it differs from the last prediction, or
   * from empty before any) nothing runs yet: the user chooses first (chooseSegment) whether the new
   * prediction replaces everything or fills only the organs they have not edited.
   */
  async segment(mode?: SegmentMode): Promise<void> {
    const c = this.current
    if (!c || !this.session) {
      segmentStore.setState({ error: 'Open a CT first, then run the segmentation.' })
      return
    }
    if (segmentStore.getState().running) return
    if (!mode) {
      const edited = editedValues(this.session.grid, this.prediction)
      if (edited.size > 0) {
        segmentStore.setState({ choice: { editedOrgans: [...edited].map(labelName) }, error: null })
        return
      }
    }
    segmentStore.setState({ choice: null })
    // the edits are measured against the prediction the user saw, not the one this run brings
    const reference = this.prediction
    this.abort = new AbortController()
    segmentStore.setState({ running: true, fraction: 0, stage: 'starting', error: null, warnings: [] })
    try {
      const modelId = this.client.kind === 'demo' ? undefined : (segmentStore.getState().modelId ?? undefined)
      const r = await this.client.segment(c.caseId, (p) => segmentStore.setState({ fraction: p.fraction, stage: p.stage }), this.abort.signal, modelId)
      const session = this.session
      if (this.current !== c || !session) throw new PlainError('Another CT was opened while the model ran: its result was not applied.')
      if (r.labels.length !== gridToArray(session.grid).length) throw new PlainError('The model returned labels of the wrong size for this CT.')
      // edits made while the model ran count too: a run started on an unedited labelmap never
      // replaces them, it fills around them (undo and Segment > Replace everything still can)
      const edited = editedValues(session.grid, reference)
      const fill = mode === 'fill-unedited' || (!mode && edited.size > 0)
      this.prediction = r.labels
      this.stats?.setPrediction(r.labels)
      // the prediction replaces the labelmap as ONE undoable step; locked organs are kept
      if (fill) session.applyLabels(fillUneditedTarget(session.grid, r.labels, edited), `Apply prediction to unedited organs (${r.model})`, lockedValues())
      else session.applyLabels(r.labels, `Apply prediction (${r.model})`, lockedValues())
      segmentStore.setState({ running: false, fraction: 1, stage: 'done', lastRun: { model: r.model, seconds: r.seconds }, warnings: r.warnings })
    } catch (e) {
      const cancelled = e instanceof DOMException && e.name === 'AbortError'
      segmentStore.setState({ running: false, error: cancelled ? 'Segmentation cancelled.' : plainMessage(e, 'The segmentation failed') })
    } finally {
      this.abort = null
    }
  }

  /** The user's answer to "Segment on an edited case": null cancels (nothing runs, nothing changes). */
  async chooseSegment(mode: SegmentMode | null): Promise<void> {
    if (!segmentStore.getState().choice) return
    if (mode === null) return segmentStore.setState({ choice: null })
    await this.segment(mode)
  }

  cancelSegment(): void {
    this.abort?.abort()
  }

  // ---- editing commands -----------------------------------------------------------------------

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

  setPreset(name: PresetName): void {
    const p = WINDOW_PRESETS[name]
    viewerStore.setState({ window: { width: p.width, center: p.center }, preset: name })
  }

  toggleHelp(v = !this.helpVisible): void {
    this.helpVisible = v
    this.onHelp(v)
  }

  run(action: Action): void {
    const s = labelsStore.getState()
    const active = s.rows.find((r) => r.value === s.activeValue)
    const tools: Partial<Record<Action, ToolName>> = {
      toolNavigate: 'navigate', toolBrush: 'brush', toolEraser: 'eraser', toolThreshold: 'threshold', toolScissorsCircle: 'scissors-circle',
      toolScissorsRectangle: 'scissors-rectangle', toolScissorsSphere: 'scissors-sphere', toolFill: 'fill',
    }
    const tool = tools[action]
    if (tool) return this.setTool(tool)
    const organ = /^organ(\d)$/.exec(action)
    if (organ) return setActiveLabel(Number(organ[1]))
    switch (action) {
      case 'undo': return this.undo()
      case 'redo': case 'redoAlt': return this.redo()
      case 'brushSmaller': return stepBrush(-1)
      case 'brushLarger': return stepBrush(1)
      case 'brush3d': return editStore.setState((e) => ({ brush3d: !e.brush3d }))
      case 'interpolate': this.controller?.interpolate(); return
      case 'removeIslands': this.controller?.removeIslands(); return
      case 'toggleActiveVisible': if (active) patchRow(active.value, { visible: !active.visible }); return
      case 'toggleActiveLocked': if (active) patchRow(active.value, { locked: !active.locked }); return
      case 'toggleOutline': return labelsStore.setState((l) => ({ style: l.style === 'fill' ? 'outline' : 'fill' }))
      case 'presetAbdomen': return this.setPreset('abdomen')
      case 'presetLiver': return this.setPreset('liver')
      case 'presetBone': return this.setPreset('bone')
      case 'presetLung': return this.setPreset('lung')
      case 'segment': void this.segment(); return
      case 'help': return this.toggleHelp()
    }
  }

  onKey = (e: KeyboardEvent): void => {
    const t = e.target as HTMLElement | null
    // keys typed into text fields are text; checkboxes and sliders keep the shortcuts working
    const typing = t && (t.tagName === 'TEXTAREA' || t.isContentEditable || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes((t as HTMLInputElement).type)))
    if (typing) return
    // the Segment choice is modal: Escape cancels it, no shortcut acts behind it
    if (segmentStore.getState().choice) {
      if (e.key === 'Escape') {
        e.preventDefault()
        void this.chooseSegment(null)
      }
      return
    }
    const action = actionFor(e)
    if (!action) return
    e.preventDefault()
    this.run(action)
  }

  /** Exposed as window.__scn for e2e tests and the benchmark (plain data in, plain data out). */
  testApi(): ScnTestApi {
    const ws = this
    const session = (): EditSession => {
      if (!ws.session) throw new Error('no case is open')
      return ws.session
    }
    return {
      countValue: (v) => (ws.session ? countValue(ws.session.grid, v) : -1),
      labelsChecksum() {
        let h = 2166136261
        for (const s of session().grid.slices) for (let x = 0; x < s.length; x++) h = Math.imul(h ^ s[x]!, 16777619)
        return h >>> 0
      },
      dims: () => ws.session?.grid.dims ?? null,
      labelAt: (ijk) => session().grid.slices[ijk[2]]?.[ijk[0] + session().grid.dims[0] * ijk[1]] ?? -1,
      ctAt: (ijk) => {
        const [nx, ny] = session().grid.dims
        return session().ct.data[ijk[0] + nx * (ijk[1] + ny * ijk[2])] ?? NaN
      },
      setBrush: (radiusMm, sphere) => editStore.setState({ brushRadiusMm: radiusMm, brush3d: sphere }),
      setTool: (tool) => ws.setTool(tool),
      dabAt(view, ijk, tool = 'brush') {
        const b = new PatchBuilder(session().grid)
        const t0 = performance.now()
        const normal = ws.viewer.pick(view, 1, 1).normal
        const changed = ws.controller!.dab(b, ijk, normal, tool)
        session().commit(b.build(`${tool === 'eraser' ? 'Erase' : 'Brush'} ${labelName(labelsStore.getState().activeValue)}`))
        return { changed, ms: performance.now() - t0 }
      },
      timeUndo() {
        const t0 = performance.now()
        ws.undo()
        return performance.now() - t0
      },
      timeRedo() {
        const t0 = performance.now()
        ws.redo()
        return performance.now() - t0
      },
      timeToolSwitch(tool) {
        const t0 = performance.now()
        ws.setTool(tool)
        return performance.now() - t0
      },
      timeApplyLabels(target, name) {
        const t0 = performance.now()
        const p = session().applyLabels(target, name, lockedValues())
        return { ms: performance.now() - t0, voxels: p.indices.length }
      },
      timeRegion(kind, view, ijk) {
        const c = ws.controller!
        const normal = ws.viewer.pick(view, 1, 1).normal
        c.lastView = view
        const t0 = performance.now()
        const p = kind === 'interpolate' ? c.interpolate(normal) : kind === 'islands' ? c.removeIslands() : c.fillAt(ijk!, normal, kind === 'fill3d')
        return { ms: performance.now() - t0, voxels: p?.indices.length ?? 0 }
      },
      setActiveLabel: (value) => setActiveLabel(value),
      async timeRender() {
        const t0 = performance.now()
        ws.viewer.render()
        await new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))
        return performance.now() - t0
      },
      canvasOf(view, ijk) {
        const w = indexToWorld(ws.viewer.geometry!, ijk)
        return ws.viewer.viewport(view).worldToCanvas(w) as [number, number]
      },
      pickAt: (view, x, y) => ws.viewer.pick(view, x, y).ijk,
      sliceIndex: (view) => ws.viewer.viewport(view).getSliceIndex(),
      parallelScale: (view) => ws.viewer.parallelScale(view),
      dabTimes: () => ws.controller?.dabTimes.slice() ?? [],
    }
  }
}

/** Why the host cannot write the open workspace case's edits to disk, if it says so. */
export function openCaseSaveError(): string | undefined {
  const { cases, openCaseId } = casesStore.getState()
  return openCaseId ? cases.find((c) => c.caseId === openCaseId)?.saveError : undefined
}

export function plainMessage(e: unknown, prefix: string): string {
  if (e instanceof PlainError) return e.message
  const m = e instanceof Error ? e.message : String(e)
  return `${prefix}: ${m}`
}
