/**
 * Adapts the typed contract client (src-shared/contract: the same calls over HTTP+WebSocket or over
 * window.scn) to what the renderer needs. CT voxels arrive once as an Int16 frame; labelmaps travel
 * as Uint8 frames both ways; segmentation progress and outcome arrive as events.
 */
import { unsureByValue } from '../../src-shared/review-hint.js'
import { ContractError, createScnClient, encodeLabelPatch, type LabelPatch, type LabelTableView, type ScnClient as ContractClient, type RunFinishedEvent, type VolumeSummary } from '../../src-shared/contract/index.js'
import type { LabelClass } from '../../src-shared/labels.js'
import { FLARE_LABELS, labelClassesOf } from '../../src-shared/labels.js'
import type { Transport } from '../../src-shared/contract/client.js'
import type { ScnBridge } from '../../src-shared/contract/wire.js'
import {
  ExportExists,
  LabelsConflict,
  NeedsSeries,
  PlainError,
  type AddLabelInput,
  type CaseStatus,
  type CaseSummary,
  type ExportFormat,
  type ExportOptions,
  type LabelTableAdded,
  type LabelUpdate,
  type ReviewAction,
  type LoadedCase,
  type ScnClient,
  type SegmentProgress,
  type SegmentResult,
} from './types.js'

export class ContractScnClient implements ScnClient {
  private readonly api: ContractClient
  private labelClasses: readonly LabelClass[] = FLARE_LABELS
  /** version of the label table `labelClasses` come from; 0 while they are app.info's (fetched once) */
  private tableVersion = 0
  /** labelmap version each open volume's `current` is at (labels.put must name it) */
  private versions = new Map<string, number>()
  private info: Promise<Awaited<ReturnType<ContractClient['app']['info']>>> | null = null
  /** web: the host's events socket went down or came back (set by createWebClient) */
  onConnectionChange?: (listener: (up: boolean) => void) => () => void

  /**
   * @param eventsReady resolves once events flow (web: the WebSocket is open). Events are not
   *   replayed, so a segmentation must not start before it, or a fast run's outcome is lost.
   */
  constructor(
    readonly kind: 'web' | 'electron',
    transport: Transport,
    private readonly eventsReady: () => Promise<void> = async () => {},
    /** Electron only: the preload bridge, for paths of dropped files */
    private readonly bridge?: ScnBridge,
  ) {
    this.api = createScnClient(transport)
  }

  onOpenRequest(listener: (path: string) => void): () => void {
    return this.api.app.onOpenRequest((e) => listener(e.path))
  }

  onSaveStatus(listener: (e: { volumeId: string; caseId: string; saved: boolean; error?: string }) => void): () => void {
    return this.api.cases.onSaveStatus(listener)
  }

  async exportLabels(caseId: string, format: ExportFormat, outPath: string, opts: ExportOptions = {}): Promise<string[]> {
    const request = { volumeId: caseId, format, outPath, ...(opts.overwrite ? { overwrite: true } : {}), ...(opts.newStudy ? { newStudy: true } : {}) }
    try {
      return (await this.api.export.run(request)).files
    } catch (e) {
      // the host refuses an existing target unless replacing it was asked for: the page asks
      if (e instanceof ContractError && !opts.overwrite && /\balready exists?\b/.test(e.message)) throw new ExportExists(e.message)
      throw plain(e)
    }
  }

  async workspaceDir(): Promise<string | null> {
    return (await this.appInfo()).workspaceDir
  }

  async close(caseId: string): Promise<void> {
    this.versions.delete(caseId)
    await call(() => this.api.volumes.close({ volumeId: caseId }))
  }

  private appInfo() {
    this.info ??= this.api.app.info({})
    return this.info
  }

  async describe(): Promise<string> {
    const i = await this.appInfo()
    // app.info is asked once: after a label table answer its labels are out of date
    if (this.tableVersion === 0) this.labelClasses = i.labels.map((l) => ({ ...l, snomed: l.snomed ?? { code: '', meaning: l.name } }))
    return `${i.name} ${i.version} · ${i.host} host · workspace ${i.workspaceDir}`
  }

  async launchPath(): Promise<string | null> {
    return (await this.appInfo()).launchPath ?? null
  }

  async listCases(): Promise<CaseSummary[]> {
    const r = await call(() => this.api.cases.list({}))
    return r.cases
  }

  async openCase(caseId: string): Promise<LoadedCase> {
    const r = await call(() => this.api.cases.open({ caseId }))
    const p = r.prediction
    return {
      ...(await this.load(r.volume)),
      workspaceCaseId: r.case.caseId,
      name: r.case.name,
      ...(p ? { predictionInfo: { model: p.model, createdAt: p.createdAt, warnings: p.notes?.warnings ?? [], unsure: p.notes?.unsure ?? {}, reviewUnsureAbove: p.notes?.reviewUnsureAbove } } : {}),
    }
  }

  async createCase(volumeId: string, name?: string): Promise<CaseSummary> {
    const s = await call(() => this.api.cases.create({ volumeId, ...(name ? { name } : {}) }))
    // attaching the volume to a case stores its labels there, which moves the labelmap version
    const current = await call(() => this.api.labels.get({ volumeId, kind: 'current' }))
    this.versions.set(volumeId, current.header.version)
    return s
  }

  async setCaseStatus(caseId: string, status: CaseStatus, comment?: string): Promise<CaseSummary> {
    return call(() => this.api.cases.setStatus({ caseId, status, ...(comment ? { comment } : {}) }))
  }

  async getCase(caseId: string): Promise<CaseSummary> {
    return call(() => this.api.cases.get({ caseId }))
  }

  async reviewOrgan(caseId: string, value: number, action: ReviewAction, reviewer: string, comment?: string): Promise<CaseSummary> {
    return call(() => this.api.cases.review({ caseId, value, action, reviewer, ...(comment ? { comment } : {}) }))
  }

  async labelTable(): Promise<LabelTableView> {
    return this.withTable(await call(() => this.api.labelTable.get({})))
  }

  async addLabel(label: AddLabelInput): Promise<LabelTableAdded> {
    const request = { ...(label.name !== undefined ? { name: label.name } : {}), ...(label.color ? { color: label.color } : {}), ...(label.preset ? { preset: label.preset } : {}) }
    return this.withTable(await call(() => this.api.labelTable.add(request)))
  }

  async updateLabel(value: number, change: LabelUpdate): Promise<LabelTableView> {
    return this.withTable(await call(() => this.api.labelTable.update({ value, ...(change.name !== undefined ? { name: change.name } : {}), ...(change.color ? { color: change.color } : {}) })))
  }

  async retireLabel(value: number): Promise<LabelTableView> {
    return this.withTable(await call(() => this.api.labelTable.retire({ value })))
  }

  onLabelTableChanged(listener: (table: LabelTableView) => void): () => void {
    return this.api.labelTable.onChanged((t) => listener(this.withTable(t)))
  }

  /** Cases opened from now on get the palette of the newest table seen (answers and events may cross). */
  private withTable<T extends LabelTableView>(t: T): T {
    if (t.version >= this.tableVersion) {
      this.tableVersion = t.version
      this.labelClasses = labelClassesOf(t)
    }
    return t
  }

  async openPath(path: string, seriesUid?: string): Promise<LoadedCase> {
    const r = await call(() => this.api.volumes.open({ path, ...(seriesUid ? { seriesUid } : {}) }))
    if (r.status === 'needs-series') throw new NeedsSeries(r.path, r.series)
    return this.load(r.volume)
  }

  private async load(v: VolumeSummary): Promise<LoadedCase> {
    await this.describe().catch(() => undefined)
    const voxels = await call(() => this.api.volumes.getVoxels({ volumeId: v.volumeId }))
    const current = await call(() => this.api.labels.get({ volumeId: v.volumeId, kind: 'current' }))
    this.versions.set(v.volumeId, current.header.version)
    let prediction: Uint8Array | undefined
    try {
      prediction = (await this.api.labels.get({ volumeId: v.volumeId, kind: 'prediction' })).data
    } catch (e) {
      if (!(e instanceof ContractError && e.code === 'not-found')) throw plain(e)
    }
    const hasLabels = current.data.some((x) => x !== 0)
    return {
      caseId: v.volumeId,
      name: v.name,
      geometry: voxels.header.geometry,
      // frames are views on a transport buffer: copy so Cornerstone owns its arrays
      ct: new Int16Array(voxels.data),
      labels: hasLabels ? new Uint8Array(current.data) : undefined,
      prediction: prediction ? new Uint8Array(prediction) : undefined,
      labelClasses: this.labelClasses,
      sourceFormat: v.format,
    }
  }

  async listModels(): Promise<{ models: { id: string; description: string }[]; problems: string[] }> {
    const r = await call(() => this.api.models.list({}))
    return { models: r.models.map((m) => ({ id: m.id, description: m.description })), problems: r.problems.map((p) => `${p.path}: ${p.error}`) }
  }

  async pickPath(kind: 'file' | 'folder'): Promise<string | null> {
    const info = await this.appInfo()
    if (!info.capabilities.nativeDialogs) return null
    return (await call(() => this.api.files.showOpenDialog({ kind }))).path
  }

  pathForFile(file: File): string | null {
    return this.bridge ? this.bridge.pathForFile(file) || null : null
  }

  async segment(caseId: string, onProgress: (p: SegmentProgress) => void, signal: AbortSignal, modelId?: string): Promise<SegmentResult> {
    // Subscribe before starting: events of a fast run can arrive before run() answers.
    const finished = new Map<string, RunFinishedEvent>()
    let runId: string | null = null
    let settle: ((e: RunFinishedEvent) => void) | null = null
    const offProgress = this.api.segmentation.onProgress((p) => {
      if (p.volumeId === caseId && (runId === null || p.runId === runId)) onProgress({ fraction: p.fraction, stage: p.stage, message: p.message })
    })
    const offFinished = this.api.segmentation.onFinished((f) => {
      finished.set(f.runId, f)
      if (f.runId === runId) settle?.(f)
    })
    try {
      await this.eventsReady().catch((e: unknown) => {
        throw new PlainError(`Progress events from the host are not reaching this page (${(e as Error).message}); reload the page.`)
      })
      runId = (await call(() => this.api.segmentation.run({ volumeId: caseId, ...(modelId ? { modelId } : {}) }))).runId
      const onAbort = (): void => void this.api.segmentation.cancel({ runId: runId! }).catch(() => undefined)
      signal.addEventListener('abort', onAbort, { once: true })
      const outcome = finished.get(runId) ?? (await new Promise<RunFinishedEvent>((resolve) => (settle = resolve)))
      const finishedAt = performance.now()
      signal.removeEventListener('abort', onAbort)
      if (outcome.outcome === 'cancelled') throw new DOMException('Segmentation cancelled', 'AbortError')
      if (outcome.outcome === 'failed') throw new PlainError(`The segmentation failed: ${outcome.error}`)
      const pred = await call(() => this.api.labels.get({ volumeId: caseId, kind: 'prediction' }))
      return { labels: new Uint8Array(pred.data), model: `${outcome.modelId} on ${outcome.provider}`, seconds: outcome.seconds, warnings: outcome.warnings ?? [], unsure: unsureByValue(outcome.organs), reviewUnsureAbove: outcome.reviewUnsureAbove, finishedAt }
    } finally {
      offProgress()
      offFinished()
    }
  }

  async saveLabels(caseId: string, labels: Uint8Array): Promise<void> {
    const version = this.versions.get(caseId) ?? 0
    const volumes = await call(() => this.api.volumes.list({}))
    const v = volumes.volumes.find((x) => x.volumeId === caseId)
    if (!v) throw new PlainError('The case is no longer open on the host: open it again to keep editing.')
    const r = await saveCall(() => this.api.labels.put({ header: { volumeId: caseId, kind: 'current', dataType: 'uint8', geometry: v.geometry, version }, data: labels }))
    this.versions.set(caseId, r.version)
  }

  async fetchLabels(caseId: string): Promise<{ labels: Uint8Array; adopt(): void }> {
    const current = await call(() => this.api.labels.get({ volumeId: caseId, kind: 'current' }))
    return { labels: new Uint8Array(current.data), adopt: () => this.versions.set(caseId, current.header.version) }
  }

  async saveLabelsPatch(caseId: string, patch: LabelPatch): Promise<void> {
    const version = this.versions.get(caseId) ?? 0
    const header = { volumeId: caseId, kind: 'current' as const, dataType: 'uint8' as const, version, count: patch.indices.length }
    const r = await saveCall(() => this.api.labels.patch({ header, data: encodeLabelPatch(patch.indices, patch.values) }))
    this.versions.set(caseId, r.version)
  }
}

/** A save's errors: a stale version is a LabelsConflict (the page merges), a closed case says so. */
async function saveCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (e instanceof ContractError && e.code === 'stale') throw new LabelsConflict(e.message)
    if (e instanceof ContractError && e.code === 'not-found') throw new PlainError('The case is no longer open on the host: open it again to keep editing.')
    throw plain(e)
  }
}

function plain(e: unknown): Error {
  if (e instanceof ContractError) return new PlainError(e.message)
  return e instanceof Error ? e : new Error(String(e))
}

async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    throw plain(e)
  }
}
