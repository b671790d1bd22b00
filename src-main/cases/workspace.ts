/**
 * A workspace folder of cases.
 *
 *   <workspace>/workspace.json          name + the versioned label table (schemas.ts)
 *   <workspace>/cases/<id>/case.json    CT reference, status, review, provenance facts
 *   <workspace>/cases/<id>/labels.nii.gz      the current labelmap (written by autosave)
 *   <workspace>/cases/<id>/prediction.nii.gz  the model output the labels started from
 *   <workspace>/cases/<id>/ct/...       only when the user asked to copy the CT in
 *   <workspace>/cases/<id>/.lock        while a process has the case open (lock.ts)
 *   <workspace>/workspace.json.lock      for the moment a process changes the label table
 *
 * Every file is written atomically (util/atomic-write.ts). case.json changes go through
 * `mutateCase`, which re-reads the file under an in-process queue, so a review click and an
 * autosave never overwrite each other's fields; other processes are kept out by the case lock.
 */
import { randomUUID } from 'node:crypto'
import { cp, mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { writeFileAtomic } from '../util/atomic-write.js'
import { defaultWorkspaceDir } from '../util/app-paths.js'
import { encodeNifti, readNifti } from '../volumes/nifti.js'
import { sameGrid } from '../../src-shared/geometry.js'
import { createLabelVolume, geometryOf, voxelCount, type Geometry, type LabelVolume, type Volume } from '../../src-shared/volume.js'
import type { LabelClass } from '../../src-shared/labels.js'
import type { PredictionNotes } from '../../src-shared/contract/schemas.js'
import {
  CASE_SCHEMA_VERSION,
  CaseFileSchema,
  WORKSPACE_SCHEMA_VERSION,
  WorkspaceFileSchema,
  formatIssues,
  type CaseFile,
  type CaseStatus,
  type LabelTable,
  type ModelRef,
  type WorkspaceFile,
} from './schemas.js'
import { addLabel, defaultLabelTable, mergeModelLabels, retireLabel, updateLabel, type LabelChange, type NewLabel } from './label-table.js'
import { acquireLock, lockHolder, withFileLock, type CaseLock } from './lock.js'
import { labelStats } from './label-stats.js'
import { deriveStatus, reviewItems } from './review.js'
import { CaseSession, type CaseSessionOptions, type CaseStore } from './session.js'
import { WorkspaceError } from './errors.js'
import { migrateCaseFile, migrateWorkspaceFile } from './migrations.js'

export { WorkspaceError }

/** A case as the workspace lists it, straight from its case.json (the wire's CaseSummary is built from it). */
export interface CaseListing {
  id: string
  name: string
  ctPath: string
  status: CaseStatus
  createdAt: string
  updatedAt: string
  hasPrediction: boolean
  model?: ModelRef
  /** reviewers who approved or flagged anything */
  reviewers: string[]
  /** organs approved / organs to review */
  approved: number
  toReview: number
  /** set while another process has the case open */
  lockedBy?: string
  /** set while this process cannot save the case's edits (they are kept in memory and retried) */
  saveError?: string
}

export interface CaseQuery {
  status?: CaseStatus | CaseStatus[]
  /** case-insensitive substring of name or id */
  text?: string
  sort?: 'name' | 'updated' | 'created' | 'status'
  descending?: boolean
}

export interface CreateCaseInput {
  /** CT file or DICOM folder */
  ctPath: string
  name?: string
  /** DICOM: the series, when the folder holds several */
  seriesUid?: string
  /** copy the CT into the case folder (default: keep a reference) */
  copyCt?: boolean
  /** the CT when the caller has already read it (skips a second read) */
  ct?: Geometry
  prediction?: { labels: Uint8Array | LabelVolume; model: ModelRef; notes?: PredictionNotes }
}

const STATUS_ORDER: Record<CaseStatus, number> = { todo: 0, 'in-progress': 1, flagged: 2, reviewed: 3 }

const now = () => new Date().toISOString()

function slug(name: string): string {
  const s = name
    .replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|dcm)$/i, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
  return s || 'case'
}

/** The same case (not just the same id): its uid, or for older files its creation time. */
export function sameCase(a: Pick<CaseFile, 'uid' | 'createdAt'>, b: Pick<CaseFile, 'uid' | 'createdAt'>): boolean {
  if (a.uid || b.uid) return a.uid === b.uid
  return a.createdAt === b.createdAt
}

async function readJson(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new WorkspaceError('not-found', `${file}: the file does not exist or cannot be read`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new WorkspaceError('bad-file', `${file}: not valid JSON (${(e as Error).message})`)
  }
}

export class Workspace implements CaseStore {
  private file: WorkspaceFile
  /** in-process write queue per case id (serialises read-modify-write of case.json) */
  private queues = new Map<string, Promise<unknown>>()
  /** label table changes, one after another (changeTable) */
  private tableQueue: Promise<unknown> = Promise.resolve()
  /** sessions this process has open, by case id */
  readonly sessions = new Map<string, CaseSession>()

  private constructor(readonly dir: string, file: WorkspaceFile) {
    this.file = file
  }

  /** Opens the workspace at `dir` (default: the app's workspace folder); creates it when missing and `create` is set. */
  static async open(dir = defaultWorkspaceDir(), opts: { create?: boolean; name?: string; modelLabels?: readonly LabelClass[] } = {}): Promise<Workspace> {
    const root = resolve(dir)
    const wsFile = join(root, 'workspace.json')
    if (!existsSync(wsFile)) {
      if (!opts.create) throw new WorkspaceError('not-found', `${root}: not an SCN Studio workspace (no workspace.json)`)
      const file: WorkspaceFile = { schema: WORKSPACE_SCHEMA_VERSION, name: opts.name ?? basename(root), createdAt: now(), labelTable: defaultLabelTable(opts.modelLabels) }
      await mkdir(join(root, 'cases'), { recursive: true })
      await writeFileAtomic(wsFile, JSON.stringify(file, null, 2) + '\n')
      return new Workspace(root, file)
    }
    const parsed = WorkspaceFileSchema.safeParse(migrateWorkspaceFile(await readJson(wsFile), wsFile))
    if (!parsed.success) throw new WorkspaceError('bad-file', `${wsFile}: ${formatIssues(parsed.error)}`)
    const ws = new Workspace(root, parsed.data)
    if (opts.modelLabels) await ws.mergeModelLabels(opts.modelLabels)
    return ws
  }

  get name(): string {
    return this.file.name
  }

  get labelTable(): LabelTable {
    return this.file.labelTable
  }

  private async writeWorkspaceFile(next: WorkspaceFile): Promise<void> {
    await writeFileAtomic(join(this.dir, 'workspace.json'), JSON.stringify(next, null, 2) + '\n')
    this.file = next
  }

  private async changeTable(fn: (t: LabelTable) => LabelTable): Promise<LabelTable> {
    // one change at a time within this process: two at once would both start from the same
    // version and the second write would drop the first
    const wsFile = join(this.dir, 'workspace.json')
    // and one at a time across processes (another window, a CLI import): read, change and write
    // under workspace.json.lock, else two writers starting from one version give one value to two classes
    const run = this.tableQueue.catch(() => {}).then(() => withFileLock(`${wsFile}.lock`, `${wsFile} (label table)`, async () => {
      // re-read: another process may have added a class since we opened the workspace
      const parsed = WorkspaceFileSchema.safeParse(migrateWorkspaceFile(await readJson(wsFile), wsFile))
      if (!parsed.success) throw new WorkspaceError('bad-file', `${wsFile}: ${formatIssues(parsed.error)}`)
      const table = fn(parsed.data.labelTable)
      if (table !== parsed.data.labelTable) await this.writeWorkspaceFile({ ...parsed.data, labelTable: table })
      else this.file = parsed.data
      return table
    }))
    this.tableQueue = run
    return run
  }

  /** Adds a team class (next free value); returns the new table. */
  async addLabel(label: NewLabel): Promise<LabelTable> {
    return this.changeTable((t) => addLabel(t, label).table)
  }

  /** Renames and/or recolours a label (its value never changes); returns the new table. */
  async updateLabel(value: number, change: LabelChange): Promise<LabelTable> {
    return this.changeTable((t) => updateLabel(t, value, change))
  }

  async retireLabel(value: number): Promise<LabelTable> {
    return this.changeTable((t) => retireLabel(t, value))
  }

  async mergeModelLabels(modelLabels: readonly LabelClass[]): Promise<LabelTable> {
    return this.changeTable((t) => mergeModelLabels(t, modelLabels))
  }

  // ---- case files -------------------------------------------------------------------------------

  caseDir(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new WorkspaceError('bad-request', `"${id}" is not a case id`)
    return join(this.dir, 'cases', id)
  }

  labelsPath(id: string): string {
    return join(this.caseDir(id), 'labels.nii.gz')
  }

  predictionPath(id: string): string {
    return join(this.caseDir(id), 'prediction.nii.gz')
  }

  lockPath(id: string): string {
    return join(this.caseDir(id), '.lock')
  }

  /** Absolute CT path of a case. */
  ctPath(c: CaseFile): string {
    return c.ct.copied && !isAbsolute(c.ct.path) ? join(this.caseDir(c.id), c.ct.path) : c.ct.path
  }

  async readCase(id: string): Promise<CaseFile> {
    const file = join(this.caseDir(id), 'case.json')
    const parsed = CaseFileSchema.safeParse(migrateCaseFile(await readJson(file), file))
    if (!parsed.success) throw new WorkspaceError('bad-file', `${file}: ${formatIssues(parsed.error)}`)
    if (parsed.data.id !== id) throw new WorkspaceError('bad-file', `${file}: its id "${parsed.data.id}" does not match the folder name "${id}"`)
    return parsed.data
  }

  private async writeCase(c: CaseFile): Promise<void> {
    await writeFileAtomic(join(this.caseDir(c.id), 'case.json'), JSON.stringify(c, null, 2) + '\n')
  }

  /**
   * Read-modify-write of case.json, serialised per case within this process. When no session of
   * this process has the case open, the case lock is taken for the duration, so a case open in
   * another process is not written behind its back.
   */
  async mutateCase(id: string, fn: (c: CaseFile) => CaseFile | Promise<CaseFile>): Promise<CaseFile> {
    const prev = this.queues.get(id) ?? Promise.resolve()
    const run = prev.catch(() => {}).then(async () => {
      let lock: CaseLock | undefined
      if (!this.sessions.has(id)) lock = await acquireLock(this.lockPath(id), id)
      try {
        const cur = await this.readCase(id)
        const next = await fn(structuredClone(cur))
        next.updatedAt = now()
        const checked = CaseFileSchema.safeParse(next)
        if (!checked.success) throw new WorkspaceError('bad-request', `case ${id}: the change would make case.json invalid: ${formatIssues(checked.error)}`)
        await this.writeCase(checked.data)
        return checked.data
      } finally {
        await lock?.release()
      }
    })
    this.queues.set(id, run)
    return run
  }

  /** Creates a case for a CT. The CT is referenced by absolute path unless `copyCt`. */
  async createCase(input: CreateCaseInput): Promise<CaseFile> {
    const ctAbs = resolve(input.ctPath)
    // the reader thread loads the DICOM/ITK readers only when a CT must be read (keeps case
    // sessions, and the crash-test child, quick to start), and off the host's main thread
    const geometry = input.ct ? geometryOf(input.ct) : geometryOf(await (await import('../volumes/read-thread.js')).readCtOffThread(ctAbs, { seriesUid: input.seriesUid }))
    const name = input.name?.trim() || basename(ctAbs).replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd)$/i, '')
    const { id, dir } = await this.claimCaseDir(slug(name))
    let ctRef = ctAbs
    if (input.copyCt) {
      const dest = join('ct', basename(ctAbs))
      await cp(ctAbs, join(dir, dest), { recursive: true, errorOnExist: true })
      ctRef = dest
    }
    const t = now()
    const c: CaseFile = {
      schema: CASE_SCHEMA_VERSION,
      id,
      uid: randomUUID(),
      name,
      ct: { path: ctRef, copied: !!input.copyCt, ...(input.seriesUid ? { seriesUid: input.seriesUid } : {}), geometry },
      createdAt: t,
      updatedAt: t,
      annotators: [],
      labelTableVersion: this.labelTable.version,
      labelStats: {},
      review: {},
    }
    await this.writeCase(CaseFileSchema.parse(c))
    if (input.prediction) return this.setPrediction(id, input.prediction.labels, input.prediction.model, input.prediction.notes)
    return c
  }

  /**
   * A new case folder, created exclusively: mkdir fails if the folder exists, so two hosts (or two
   * calls) creating "ct" at once get "ct" and "ct-2", never the same folder. A folder without a
   * case.json (another creation in progress, or debris) is skipped too.
   */
  private async claimCaseDir(base: string): Promise<{ id: string; dir: string }> {
    await mkdir(join(this.dir, 'cases'), { recursive: true })
    for (let n = 1; n < 10_000; n++) {
      const id = n === 1 ? base : `${base}-${n}`
      const dir = this.caseDir(id)
      try {
        await mkdir(dir)
        return { id, dir }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new WorkspaceError('bad-request', `${dir}: cannot create the case folder (${(e as Error).message})`)
      }
    }
    throw new WorkspaceError('exists', `${join(this.dir, 'cases')}: no free case id for "${base}" (9,999 taken)`)
  }

  /** Stores a model prediction for the case, with what the engine said about it (warnings, unsure
   *  shares). The current labels are not touched. */
  async setPrediction(id: string, labels: Uint8Array | LabelVolume, model: ModelRef, notes?: PredictionNotes): Promise<CaseFile> {
    const c = await this.readCase(id)
    const vol = this.asCaseVolume(c, labels, 'the prediction')
    await writeFileAtomic(this.predictionPath(id), encodeNifti(vol))
    const hasLabels = existsSync(this.labelsPath(id))
    return this.mutateCase(id, (cur) => ({
      ...cur,
      prediction: { file: 'prediction.nii.gz', model, createdAt: now(), ...(notes ? { notes } : {}) },
      // until the first save the prediction *is* the current labelmap (what a reviewer approves)
      ...(hasLabels ? {} : { labelStats: labelStats(vol.data) }),
    }))
  }

  /** A label volume on the case's CT grid; a volume on another grid is refused, never resampled. */
  asCaseVolume(c: CaseFile, labels: Uint8Array | Volume, what: string): LabelVolume {
    const g: Geometry = geometryOf(c.ct.geometry)
    if (labels instanceof Uint8Array) {
      const n = g.dims[0] * g.dims[1] * g.dims[2]
      if (labels.length !== n) throw new WorkspaceError('bad-request', `case ${c.id}: ${what} has ${labels.length} voxels but the CT has ${n} (${g.dims.join('×')})`)
      return { ...createLabelVolume(g), data: labels }
    }
    if (!sameGrid(labels, g)) throw new WorkspaceError('bad-request', `case ${c.id}: ${what} is not on the CT's grid (${labels.dims.join('×')} vs ${g.dims.join('×')}, or different spacing/origin/orientation)`)
    if (!(labels.data instanceof Uint8Array)) throw new WorkspaceError('bad-request', `case ${c.id}: ${what} is not a uint8 labelmap`)
    return { ...createLabelVolume(g), data: labels.data }
  }

  /** The prediction of a case, or undefined. */
  async readPrediction(id: string): Promise<LabelVolume | undefined> {
    const c = await this.readCase(id)
    if (!c.prediction) return undefined
    return this.asCaseVolume(c, readNifti(join(this.caseDir(id), c.prediction.file)), 'prediction.nii.gz')
  }

  /** The current labels: the saved labelmap, else the prediction, else empty. */
  async readCurrentLabels(id: string): Promise<LabelVolume> {
    const c = await this.readCase(id)
    if (existsSync(this.labelsPath(id))) return this.asCaseVolume(c, readNifti(this.labelsPath(id)), 'labels.nii.gz')
    return (await this.readPrediction(id)) ?? this.asCaseVolume(c, new Uint8Array(voxelCount(c.ct.geometry.dims)), 'the empty labelmap')
  }

  async caseIds(): Promise<string[]> {
    const dir = join(this.dir, 'cases')
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    return entries.filter((e) => e.isDirectory() && /^[A-Za-z0-9_-]{1,64}$/.test(e.name) && existsSync(join(dir, e.name, 'case.json'))).map((e) => e.name)
  }

  summarise(c: CaseFile, lockedBy?: string): CaseListing {
    const items = reviewItems(c, this.labelTable)
    const reviewers = [...new Set(Object.values(c.review).map((r) => r.reviewer).filter((r): r is string => !!r))]
    return {
      id: c.id,
      name: c.name,
      ctPath: this.ctPath(c),
      status: deriveStatus(c, this.labelTable),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      hasPrediction: !!c.prediction,
      ...(c.prediction ? { model: c.prediction.model } : {}),
      reviewers,
      approved: items.filter((v) => c.review[String(v)]?.state === 'approved').length,
      toReview: items.length,
      ...(lockedBy ? { lockedBy } : {}),
      ...(this.sessions.get(c.id)?.saveError ? { saveError: this.sessions.get(c.id)!.saveError } : {}),
    }
  }

  /** Cases with filter and sort. Broken case folders are listed in `problems`, not hidden. */
  async listCases(q: CaseQuery = {}): Promise<{ cases: CaseListing[]; problems: string[] }> {
    const problems: string[] = []
    const out: CaseListing[] = []
    const statuses = q.status === undefined ? undefined : Array.isArray(q.status) ? q.status : [q.status]
    const text = q.text?.toLowerCase()
    for (const id of await this.caseIds()) {
      let c: CaseFile
      try {
        c = await this.readCase(id)
      } catch (e) {
        problems.push((e as Error).message)
        continue
      }
      const holder = this.sessions.has(id) ? undefined : await lockHolder(this.lockPath(id))
      const s = this.summarise(c, holder ? `process ${holder.pid} on ${holder.hostname}` : undefined)
      if (statuses && !statuses.includes(s.status)) continue
      if (text && !s.name.toLowerCase().includes(text) && !s.id.toLowerCase().includes(text)) continue
      out.push(s)
    }
    const key = q.sort ?? 'name'
    const cmp = (a: CaseListing, b: CaseListing): number => {
      switch (key) {
        case 'updated':
          return a.updatedAt.localeCompare(b.updatedAt)
        case 'created':
          return a.createdAt.localeCompare(b.createdAt)
        case 'status':
          return STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.name.localeCompare(b.name, undefined, { numeric: true })
        default:
          return a.name.localeCompare(b.name, undefined, { numeric: true })
      }
    }
    out.sort((a, b) => (q.descending ? -cmp(a, b) : cmp(a, b)) || a.id.localeCompare(b.id))
    return { cases: out, problems }
  }

  /** The next "to do" case after `afterId` in name order (wrapping), skipping cases open elsewhere. */
  async nextTodo(afterId?: string): Promise<CaseListing | undefined> {
    const all = (await this.listCases({ sort: 'name' })).cases
    const todo = all.filter((c) => c.status === 'todo' && !c.lockedBy && c.id !== afterId)
    if (!afterId) return todo[0]
    const pos = all.findIndex((c) => c.id === afterId)
    return todo.find((c) => all.indexOf(c) > pos) ?? todo[0]
  }

  // ---- review ----------------------------------------------------------------------------------

  private checkReviewValue(c: CaseFile, value: number): void {
    if (!this.labelTable.labels.some((l) => l.value === value)) throw new WorkspaceError('bad-request', `case ${c.id}: the label table has no value ${value}`)
  }

  async approveOrgan(id: string, value: number, reviewer: string, comment?: string): Promise<CaseFile> {
    if (!reviewer.trim()) throw new WorkspaceError('bad-request', 'a review needs the reviewer\'s name')
    return this.mutateCase(id, (c) => {
      this.checkReviewValue(c, value)
      c.review[String(value)] = { state: 'approved', reviewer: reviewer.trim(), at: now(), ...(comment ? { comment } : {}) }
      if (c.statusOverride === 'flagged' && !Object.values(c.review).some((r) => r.state === 'flagged')) delete c.statusOverride
      return c
    })
  }

  async flagOrgan(id: string, value: number, reviewer: string, comment: string): Promise<CaseFile> {
    if (!reviewer.trim()) throw new WorkspaceError('bad-request', 'a review needs the reviewer\'s name')
    if (!comment.trim()) throw new WorkspaceError('bad-request', 'flagging an organ needs a comment saying what is wrong')
    return this.mutateCase(id, (c) => {
      this.checkReviewValue(c, value)
      c.review[String(value)] = { state: 'flagged', reviewer: reviewer.trim(), comment, at: now() }
      return c
    })
  }

  /** Back to "pending" for one organ (e.g. after the annotator fixed a flagged organ). */
  async resetReview(id: string, value: number): Promise<CaseFile> {
    return this.mutateCase(id, (c) => {
      delete c.review[String(value)]
      return c
    })
  }

  /**
   * Sets the case status by hand. "reviewed" is refused unless every organ is approved (use
   * approveOrgan); "flagged" needs a comment.
   */
  async setStatus(id: string, status: CaseStatus, comment?: string): Promise<CaseFile> {
    return this.mutateCase(id, (c) => {
      if (status === 'reviewed') {
        if (deriveStatus({ ...c, statusOverride: undefined }, this.labelTable) !== 'reviewed') {
          const missing = reviewItems(c, this.labelTable).filter((v) => c.review[String(v)]?.state !== 'approved')
          const names = missing.map((v) => this.labelTable.labels.find((l) => l.value === v)?.name ?? String(v))
          throw new WorkspaceError('bad-request', `case ${id} cannot be marked reviewed: not yet approved: ${names.join(', ')}`)
        }
        delete c.statusOverride
        return c
      }
      if (status === 'flagged' && !comment?.trim()) throw new WorkspaceError('bad-request', 'flagging a case needs a comment saying what is wrong')
      c.statusOverride = status
      if (status === 'flagged') c.flagComment = comment
      else delete c.flagComment
      return c
    })
  }

  // ---- sessions --------------------------------------------------------------------------------

  /** Opens a case for editing: takes its lock and starts autosave. Close it with session.close(). */
  async openCase(id: string, opts: CaseSessionOptions = {}): Promise<CaseSession> {
    const c = await this.readCase(id)
    const lock = await acquireLock(this.lockPath(id), c.name, { owner: opts.user, force: opts.force })
    try {
      await this.removeTempDebris(id)
      const labels = await this.readCurrentLabels(id)
      const session = new CaseSession(this, c, labels, lock, opts)
      this.sessions.set(id, session)
      return session
    } catch (e) {
      await lock.release()
      throw e
    }
  }

  /**
   * Temp files a killed writer left behind (writeFileAtomic names them .<name>.<pid>.<rand>.tmp).
   * Called with the case lock held, so no live writer of this case can own one.
   */
  private async removeTempDebris(id: string): Promise<void> {
    const dir = this.caseDir(id)
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (/^\..+\.\d+\.[0-9a-f]+\.tmp$/.test(name)) await unlink(join(dir, name)).catch(() => {})
    }
  }

  /**
   * Saves a labelmap for a case (the autosave path; also usable headless). Caller holds the case.
   * `expected` is the case as the caller opened it: when case.json now describes another case (it
   * was deleted and re-created, or replaced by another program), nothing is written and a
   * WorkspaceError 'replaced' says so.
   */
  async saveLabels(id: string, data: Uint8Array, user?: string, expected?: Pick<CaseFile, 'uid' | 'createdAt'>): Promise<CaseFile> {
    let c: CaseFile
    try {
      c = await this.readCase(id)
    } catch (e) {
      if (expected && e instanceof WorkspaceError && e.code === 'not-found') {
        throw new WorkspaceError('replaced', `case ${id}: ${join(this.caseDir(id), 'case.json')} is gone (the case was deleted or moved by another program)`)
      }
      throw e
    }
    if (expected && !sameCase(c, expected)) {
      throw new WorkspaceError('replaced', `case ${id}: ${join(this.caseDir(id), 'case.json')} now describes another case "${c.name}" (created ${c.createdAt}): another SCN Studio replaced it`)
    }
    const vol = this.asCaseVolume(c, data, 'the labelmap')
    // encode synchronously: the bytes written are a snapshot even if the caller keeps editing
    const bytes = encodeNifti(vol)
    const stats = labelStats(data)
    // An organ edited after its review loses the approval (or flag) BEFORE its new voxels reach
    // disk: a crash between the two writes must not leave an approval on voxels no one reviewed.
    if (editedReviews(c, stats).length) await this.mutateCase(id, (cur) => (demoteEditedReviews(cur, stats), cur))
    await writeFileAtomic(this.labelsPath(id), bytes)
    return this.mutateCase(id, (cur) => {
      const t = now()
      cur.firstEditAt ??= t
      cur.lastEditAt = t
      if (user && !cur.annotators.includes(user)) cur.annotators.push(user)
      cur.labelTableVersion = this.labelTable.version
      demoteEditedReviews(cur, stats)
      cur.labelStats = stats
      if (cur.statusOverride === 'todo') delete cur.statusOverride
      return cur
    })
  }

  /** Flush and close every open session (app quit). */
  async closeAll(): Promise<void> {
    const errors: unknown[] = []
    for (const s of [...this.sessions.values()]) await s.close().catch((e) => errors.push(e))
    if (errors.length) throw errors[0]
  }

  /** Existence check used by exports: the CT of a case is still where the case says. */
  async ctExists(c: CaseFile): Promise<boolean> {
    return stat(this.ctPath(c)).then(() => true, () => false)
  }
}

/** Label values whose voxels differ between the case's recorded stats and `stats`, and that carry a review (approved or flagged). */
function editedReviews(c: CaseFile, stats: CaseFile['labelStats']): string[] {
  const values = new Set([...Object.keys(c.labelStats), ...Object.keys(stats)])
  return [...values].filter((v) => c.labelStats[v]?.hash !== stats[v]?.hash && c.review[v] && c.review[v].state !== 'pending')
}

/** Sets those organs' review back to pending, saying why: the reviewer saw other voxels. */
function demoteEditedReviews(c: CaseFile, stats: CaseFile['labelStats']): void {
  for (const v of editedReviews(c, stats)) {
    const r = c.review[v]
    c.review[v] = { state: 'pending', note: `edited after it was ${r.state} by ${r.reviewer ?? 'a reviewer'} at ${r.at ?? '?'}` }
  }
}
