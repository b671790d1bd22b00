/**
 * Cases and export behind the contract: a thin mapping onto src-main/cases (Workspace, CaseSession)
 * and src-main/export. The workspace opens lazily on first use, so a broken workspace never stops
 * the app from viewing a CT; its errors reach the renderer with their file names.
 */
import { userInfo } from 'node:os'
import { ContractError } from '../../src-shared/contract/errors.js'
import type { AddLabelRequestSchema, CaseStatus, CaseSummary as CaseSummaryDto, LabelClassDto, LabelTableView, OrganReviewState, ReviewAction, UpdateLabelRequestSchema } from '../../src-shared/contract/schemas.js'
import { TEAM_PRESETS, Workspace, isLesion, presetByName, reviewItems, type CaseFile, type CaseSession, type CaseListing, type LabelTable } from '../cases/index.js'
import { exportCase, exportLabels, exportWorkspace, workspaceFiles, type ExportFormat, type ExportOptions, type WorkspaceExportOptions } from '../export/case-export.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { geometryOf } from '../../src-shared/volume.js'
import type { OpenVolume } from './volume-store.js'
import type { z } from 'zod'

export function currentUser(): string {
  try {
    return userInfo().username || 'unknown'
  } catch {
    return 'unknown'
  }
}

/** Every organ to review (the same items that decide "reviewed") with its review, pending if none. */
export function organReviews(c: Pick<CaseFile, 'labelStats' | 'review'>, table: LabelTable): OrganReviewState[] {
  return reviewItems(c, table).map((value) => {
    const r = c.review[String(value)]
    if (!r) return { value, state: 'pending' }
    return {
      value,
      state: r.state,
      ...(r.reviewer ? { reviewer: r.reviewer } : {}),
      ...(r.comment ? { comment: r.comment } : {}),
      ...(r.at ? { at: r.at } : {}),
      ...(r.note ? { note: r.note } : {}),
    }
  })
}

export function caseDto(c: CaseListing, organs?: OrganReviewState[]): CaseSummaryDto {
  return {
    caseId: c.id,
    name: c.name,
    ctPath: c.ctPath,
    status: c.status,
    updatedAt: c.updatedAt,
    hasPrediction: c.hasPrediction,
    approved: c.approved,
    toReview: c.toReview,
    reviewers: c.reviewers,
    ...(c.lockedBy ? { lockedBy: c.lockedBy } : {}),
    ...(c.saveError ? { saveError: c.saveError } : {}),
    ...(organs ? { organs } : {}),
  }
}

/** The table as the page sees it (labelTable.*): every row in value order, retired ones too, with
 *  isLesion derived from the category; and the presets, each saying whether its name is taken. */
export function labelTableView(t: LabelTable): LabelTableView {
  const names = new Set(t.labels.map((l) => l.name.toLowerCase()))
  return {
    version: t.version,
    labels: [...t.labels]
      .sort((a, b) => a.value - b.value)
      .map((l) => ({
        value: l.value,
        name: l.name,
        color: [...l.color] as [number, number, number],
        snomed: { ...l.snomed },
        category: { ...l.category },
        ...(l.anatomicRegion ? { anatomicRegion: { ...l.anatomicRegion } } : {}),
        source: l.source,
        retired: l.retired,
        isLesion: isLesion(l),
      })),
    presets: TEAM_PRESETS.map((p) => ({
      name: p.name,
      color: [...p.color] as [number, number, number],
      snomed: { ...p.snomed },
      category: { ...p.category },
      ...(p.anatomicRegion ? { anatomicRegion: { ...p.anatomicRegion } } : {}),
      isLesion: isLesion(p),
      inTable: names.has(p.name.toLowerCase()),
    })),
  }
}

export class WorkspaceService {
  private ws: Promise<Workspace> | undefined
  /** open case sessions by volume id (each holds the case lock and its autosave) */
  private sessions = new Map<string, CaseSession>()
  /** cases.create in progress per volume: a repeated or concurrent call gets the same case */
  private creating = new Map<string, Promise<CaseSummaryDto>>()
  /** volumes whose last background save failed */
  private failing = new Set<string>()
  /** told when a background save fails, and when saving works again (the host emits cases.onSaveStatus) */
  onSaveStatus?: (status: { caseId: string; volumeId: string; saved: boolean; error?: string }) => void
  /** told after every change of the label table (the host emits labelTable.onChanged) */
  onLabelTableChanged?: (table: LabelTableView) => void

  constructor(readonly dir: string) {}

  workspace(): Promise<Workspace> {
    this.ws ??= Workspace.open(this.dir, { create: true, modelLabels: FLARE_LABELS }).catch((e) => {
      this.ws = undefined
      throw e
    })
    return this.ws
  }

  /** The workspace's label table (model organs + team classes); FLARE organs if it cannot open. */
  async labels(): Promise<LabelClassDto[]> {
    try {
      const ws = await this.workspace()
      return ws.labelTable.labels.filter((l) => !l.retired).map((l) => ({ value: l.value, name: l.name, color: l.color, snomed: { code: l.snomed.code, meaning: l.snomed.meaning } }))
    } catch {
      return FLARE_LABELS.map((l) => ({ ...l, color: [...l.color] as [number, number, number] }))
    }
  }

  /** labelTable.get: the whole table and the presets. */
  async labelTable(): Promise<LabelTableView> {
    return labelTableView((await this.workspace()).labelTable)
  }

  /** labelTable.add: a team class from a name, a preset (its codes and colour), or both. */
  async addLabel(req: z.infer<typeof AddLabelRequestSchema>): Promise<LabelTableView & { added: number }> {
    const preset = req.preset === undefined ? undefined : presetByName(req.preset)
    if (req.preset !== undefined && !preset) throw new ContractError('bad-request', `labelTable.add: there is no preset "${req.preset}"`)
    const name = (req.name ?? preset?.name ?? '').trim()
    const ws = await this.workspace()
    const table = await ws.addLabel({ ...preset, name, ...(req.color ? { color: req.color } : {}) })
    const added = table.labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
    if (!added) throw new ContractError('failed', `labelTable.add: "${name}" is not in the table after adding it`)
    return { ...this.changed(table), added: added.value }
  }

  /** labelTable.update: rename and/or recolour; the value never changes. */
  async updateLabel(req: z.infer<typeof UpdateLabelRequestSchema>): Promise<LabelTableView> {
    const ws = await this.workspace()
    const before = ws.labelTable.version
    return this.changed(await ws.updateLabel(req.value, { ...(req.name !== undefined ? { name: req.name } : {}), ...(req.color ? { color: req.color } : {}) }), before)
  }

  /** labelTable.retire: the label leaves the palette; its value stays reserved. */
  async retireLabel(value: number): Promise<LabelTableView> {
    const ws = await this.workspace()
    const before = ws.labelTable.version
    return this.changed(await ws.retireLabel(value), before)
  }

  /** The view of `table`, told to onLabelTableChanged unless the call changed nothing. */
  private changed(table: LabelTable, before?: number): LabelTableView {
    const view = labelTableView(table)
    if (table.version !== before) this.onLabelTableChanged?.(view)
    return view
  }

  async list(): Promise<{ cases: CaseSummaryDto[]; problems: string[] }> {
    const r = await (await this.workspace()).listCases({ sort: 'name' })
    return { cases: r.cases.map((c) => caseDto(c)), problems: r.problems }
  }

  async summary(caseId: string): Promise<CaseSummaryDto> {
    const ws = await this.workspace()
    const c = await ws.readCase(caseId)
    return caseDto(ws.summarise(c), organReviews(c, ws.labelTable))
  }

  /** One case as it stands after the user's latest edits: pending autosaves are written first, so
   *  an organ edited after its approval already shows "pending". */
  async get(caseId: string): Promise<CaseSummaryDto> {
    await this.flushCase(caseId)
    return this.summary(caseId)
  }

  private async flushCase(caseId: string): Promise<void> {
    for (const s of this.sessions.values()) if (s.id === caseId) await s.flush()
  }

  /**
   * Make an open volume a case: its current labels and prediction go into the workspace. Idempotent
   * per volume: calls while one is running, or after it, answer with the same case.
   */
  create(v: OpenVolume, name: string | undefined): Promise<CaseSummaryDto> {
    if (v.caseId) return this.summary(v.caseId)
    let p = this.creating.get(v.id)
    if (!p) {
      p = this.createOnce(v, name).finally(() => this.creating.delete(v.id))
      this.creating.set(v.id, p)
    }
    return p
  }

  private async createOnce(v: OpenVolume, name: string | undefined): Promise<CaseSummaryDto> {
    const ws = await this.workspace()
    const c = await ws.createCase({
      ctPath: v.summary.path,
      // a DICOM folder's own name ("img", "DICOM") says nothing: the series' name does
      name: name ?? (v.summary.format === 'dicom' ? v.summary.name : undefined),
      seriesUid: v.summary.seriesUid,
      ct: geometryOf(v.ct),
      prediction: v.prediction && v.predictionModel ? { labels: v.prediction.data, model: v.predictionModel, notes: v.predictionNotes } : undefined,
    })
    // attach reads the new case's labels back (the prediction, until a first save): the case starts
    // from the labels the user has instead, edits since the prediction included
    const edits = new Uint8Array(v.current.data)
    await this.attach(v, c.id)
    v.current = { data: edits, version: v.current.version }
    this.sessions.get(v.id)!.putLabels(new Uint8Array(edits))
    return this.summary(c.id)
  }

  /** Open the case's session for a volume: takes the case lock; its labels become `current`. */
  async attach(v: OpenVolume, caseId: string): Promise<void> {
    const ws = await this.workspace()
    const session = await ws.openCase(caseId, {
      user: currentUser(),
      onError: (e) => {
        this.failing.add(v.id)
        this.onSaveStatus?.({ caseId, volumeId: v.id, saved: false, error: (e as Error)?.message ?? String(e) })
      },
      onSaved: () => {
        if (this.failing.delete(v.id)) this.onSaveStatus?.({ caseId, volumeId: v.id, saved: true })
      },
    })
    this.sessions.set(v.id, session)
    v.caseId = caseId
    v.current = { data: new Uint8Array(session.labels), version: v.current.version + 1 }
    const pred = await ws.readPrediction(caseId)
    const c = await ws.readCase(caseId)
    if (pred) {
      v.prediction = { data: pred.data, version: (v.prediction?.version ?? 0) + 1 }
      v.predictionModel = c.prediction?.model
      v.predictionNotes = c.prediction?.notes
    }
  }

  /**
   * Every labelmap put of a case volume goes to its autosave (on disk within 2 s). While the last
   * write failed (full disk, read-only folder) the put writes at once, so its answer says whether
   * the edits reached disk; they stay in memory and are retried either way.
   */
  async putLabels(v: OpenVolume): Promise<void> {
    const s = this.sessions.get(v.id)
    if (!s) return
    // the session owns what it is given: hand it a copy, the store keeps its own
    s.putLabels(new Uint8Array(v.current.data))
    if (s.saveError) await s.flush()
  }

  async setPrediction(v: OpenVolume): Promise<void> {
    if (!v.caseId || !v.prediction || !v.predictionModel) return
    await (await this.workspace()).setPrediction(v.caseId, v.prediction.data, v.predictionModel, v.predictionNotes)
  }

  async closeVolume(volumeId: string): Promise<void> {
    const s = this.sessions.get(volumeId)
    this.sessions.delete(volumeId)
    await s?.close()
  }

  async setStatus(caseId: string, status: CaseStatus, comment?: string): Promise<CaseSummaryDto> {
    await (await this.workspace()).setStatus(caseId, status, comment)
    return this.summary(caseId)
  }

  async review(caseId: string, value: number, action: ReviewAction, reviewer: string, comment?: string): Promise<CaseSummaryDto> {
    const ws = await this.workspace()
    // reviews judge what is on disk: write pending edits first
    await this.flushCase(caseId)
    if (action === 'approve') await ws.approveOrgan(caseId, value, reviewer, comment)
    else if (action === 'flag') {
      if (!comment?.trim()) throw new ContractError('bad-request', `cases.review: flagging an organ needs a comment saying what is wrong`)
      await ws.flagOrgan(caseId, value, reviewer, comment)
    } else await ws.resetReview(caseId, value)
    return this.summary(caseId)
  }

  async exportVolume(v: OpenVolume, format: ExportFormat, out: string, opts: Omit<ExportOptions, 'caseId'> = {}): Promise<string[]> {
    const ws = await this.workspace()
    if (v.caseId) return exportCase(ws, v.caseId, format, out, opts)
    return exportLabels(
      {
        ct: v.ct,
        ctPath: v.summary.path,
        labels: { ...geometryOf(v.ct), data: v.current.data, meta: {} },
        table: ws.labelTable,
        prediction: v.prediction?.data,
        model: v.predictionModel,
        annotators: [currentUser()],
      },
      format,
      out,
      { ...opts, managed: [...workspaceFiles(ws), ...(opts.managed ?? [])] },
    )
  }

  async exportWorkspace(out: string, opts: WorkspaceExportOptions = {}): Promise<{ files: string[]; cases: string[] }> {
    return exportWorkspace(await this.workspace(), out, opts)
  }

  async dispose(): Promise<void> {
    const ws = await this.ws?.catch(() => undefined)
    this.sessions.clear()
    await ws?.closeAll()
  }
}
