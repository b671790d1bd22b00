/**
 * The service layer behind the contract: plain Node, no Electron, no HTTP. Both hosts create one
 * of these and forward calls to it with `dispatch` (src-shared/contract/validate.ts).
 */
import { readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { ContractError } from '../../src-shared/contract/errors.js'
import { applyLabelPatch, decodeLabelPatch } from '../../src-shared/contract/label-patch.js'
import type { OpenVolumeResult, VolumeSummary } from '../../src-shared/contract/schemas.js'
import type { ServicesImpl } from '../../src-shared/contract/services.js'
import { appRoot, defaultWorkspaceDir, userModelsDir } from '../util/app-paths.js'
import { orientationCode } from '../../src-shared/geometry.js'
import { detectFormat } from '../volumes/read.js'
import { listDicomSeriesOffThread, readInt16CtOffThread } from '../volumes/read-thread.js'
import { geometryOf, type Volume } from '../../src-shared/volume.js'
import { inferenceEngine, type SegmentationEngine } from './engine.js'
import { EventBus } from './events.js'
import { PathAccess } from './path-access.js'
import { computeStatistics } from './statistics.js'
import { newId, sameDims, VolumeStore, type OpenVolume } from './volume-store.js'
import { WorkspaceService } from './workspace-service.js'
import { createPacsService } from '../pacs/service.js'

export interface ServiceOptions {
  host: 'electron' | 'web'
  workspaceDir?: string
  /** the file or folder given on the command line; opened first by the renderer */
  launchPath?: string
  /** more folders the user allows, to read and to export into (web host `--allow-dir`) */
  allowDirs?: string[]
  /** default: src-main/inference (each run in its own worker thread) */
  engine?: SegmentationEngine
  /** default: package.json's version (the Electron host passes app.getVersion()) */
  appVersion?: string
  /** native dialogs (Electron only) */
  showOpenDialog?: (kind: 'file' | 'folder') => Promise<string | null>
  /** the chosen path becomes an export target: a file itself, a folder its subtree */
  showSaveDialog?: (kind: 'file' | 'folder', defaultPath?: string) => Promise<string | null>
}

export interface ServiceRuntime {
  impl: ServicesImpl
  events: EventBus
  access: PathAccess
  store: VolumeStore
  options: ServiceOptions & { workspaceDir: string }
  workspace: WorkspaceService
  /** cancel running work, write pending autosaves, release case locks (host shutdown) */
  dispose(): Promise<void>
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown' // bundled builds pass appVersion instead
  }
}

export function createServices(options: ServiceOptions): ServiceRuntime {
  const workspaceDir = options.workspaceDir ?? defaultWorkspaceDir()
  const events = new EventBus()
  const access = new PathAccess()
  const store = new VolumeStore()
  const engine = options.engine ?? inferenceEngine()
  const cases = new WorkspaceService(workspaceDir)
  cases.onSaveStatus = (status) => events.emit('cases.onSaveStatus', status)
  cases.onLabelTableChanged = (table) => events.emit('labelTable.onChanged', table)
  // where outputs may go; what the user opens is granted read-only (and protected from exports)
  access.grant(workspaceDir, 'write')
  access.grant(userModelsDir(), 'write')
  for (const d of options.allowDirs ?? []) access.grant(d, 'write')
  if (options.launchPath) access.grant(options.launchPath)
  const runs = new Map<string, { volumeId: string; abort: AbortController }>()
  // a retrieved series' cache folder becomes readable like an opened folder
  const pacs = createPacsService({
    grantRead: (path) => access.grant(path),
    volume: (volumeId) => store.get(volumeId),
    exportSeg: (v, out) => cases.exportVolume(v, 'dicom-seg', out, { protect: access.sources() }),
    onProgress: (p) => events.emit('pacs.onRetrieveProgress', p),
  })

  async function openVolume(path: string, seriesUid?: string): Promise<OpenVolumeResult> {
    const real = access.check(path)
    // opened from a write-granted folder too: still never an export target
    access.addSource(real)
    const format = detectFormat(real)
    if (format === 'dicom' && !seriesUid && statSync(real).isDirectory()) {
      const series = await listDicomSeriesOffThread(real)
      if (series.length > 1) return { status: 'needs-series', path, series }
    }
    const key = `${real}\u0000${seriesUid ?? ''}`
    const existing = store.findBySource(key)
    if (existing) return { status: 'opened', volume: existing.summary }
    // read, and made integer HU with its range, on the reader thread: none of it on the host's
    const { volume: ct, rounded, range } = await readInt16CtOffThread(real, { seriesUid })
    const data = ct.data
    const vol: Volume<Int16Array> = { ...geometryOf(ct), data, meta: ct.meta }
    const summary: Omit<VolumeSummary, 'volumeId'> = {
      name: volumeName(real, format, ct.meta.description, statSync(real).isDirectory()),
      path: real,
      format,
      geometry: geometryOf(ct),
      dataType: 'int16',
      range,
      orientation: orientationCode(ct.direction),
      modality: ct.meta.modality,
      seriesUid: ct.meta.seriesUid,
      rounded,
    }
    const entry = store.add({ ct: vol, summary, current: { data: new Uint8Array(data.length), version: 0 }, sourceKey: key })
    return { status: 'opened', volume: entry.summary }
  }

  /** The new current labelmap of `v` (owned by the store from now on): version + 1, autosaved into its case. */
  async function commitLabels(v: OpenVolume, data: Uint8Array): Promise<{ volumeId: string; version: number }> {
    const before = v.current
    v.current = { data, version: before.version + 1 }
    try {
      await cases.putLabels(v)
    } catch (e) {
      // not acknowledged: the host keeps the edits (and retries writing them), the page keeps
      // its version and sends the labels again with it
      v.current = { data: v.current.data, version: before.version }
      throw e
    }
    return { volumeId: v.id, version: v.current.version }
  }

  function labelmapOf(v: OpenVolume, kind: 'current' | 'prediction') {
    if (kind === 'current') return v.current
    if (!v.prediction) throw new ContractError('not-found', `volume ${v.id} has no prediction yet: run the segmentation first`)
    return v.prediction
  }

  const impl: ServicesImpl = {
    app: {
      async info() {
        return {
          name: 'SCN Studio',
          version: options.appVersion ?? packageVersion(),
          host: options.host,
          platform: process.platform,
          versions: Object.fromEntries(Object.entries(process.versions).filter(([k, v]) => ['node', 'electron', 'chrome', 'v8'].includes(k) && v)) as Record<string, string>,
          workspaceDir,
          launchPath: options.launchPath,
          capabilities: { nativeDialogs: !!options.showOpenDialog, dragAndDropPaths: options.host === 'electron' },
          labels: await cases.labels(),
        }
      },
    },
    files: {
      async showOpenDialog({ kind }) {
        if (!options.showOpenDialog) throw new ContractError('unsupported', 'this host has no native file dialog: open files by path (web host: `scn-studio serve <path>`)')
        const path = await options.showOpenDialog(kind)
        if (path) access.grant(path) // the user chose it: that is what "opened" means
        return { path }
      },
      async showSaveDialog({ kind, defaultPath }) {
        if (!options.showSaveDialog) throw new ContractError('unsupported', 'this host has no native save dialog: export into the workspace (web host: or a folder given with `--allow-dir`)')
        const path = await options.showSaveDialog(kind, defaultPath)
        // the user chose where to write; an opened source stays refused by access.check at export time
        if (path) access.grant(path, 'write', kind)
        return { path }
      },
    },
    volumes: {
      open: ({ path, seriesUid }) => openVolume(path, seriesUid),
      async list() {
        return { volumes: store.all().map((v) => v.summary) }
      },
      async close({ volumeId }) {
        for (const [runId, r] of runs) if (r.volumeId === volumeId) r.abort.abort(), runs.delete(runId)
        store.delete(volumeId)
        await cases.closeVolume(volumeId)
        return {}
      },
      async getVoxels({ volumeId }) {
        const v = store.get(volumeId)
        return { header: { volumeId, dataType: 'int16', geometry: geometryOf(v.ct) }, data: v.ct.data }
      },
    },
    labels: {
      async get({ volumeId, kind }) {
        const v = store.get(volumeId)
        const lm = labelmapOf(v, kind)
        return { header: { volumeId, kind, dataType: 'uint8', geometry: geometryOf(v.ct), version: lm.version }, data: lm.data }
      },
      async put({ header, data }) {
        const v = store.get(header.volumeId)
        if (header.kind !== 'current') throw new ContractError('bad-request', `labels.put: only the 'current' labelmap can be written (got '${header.kind}')`)
        if (!sameDims(v.ct, header.geometry.dims)) {
          throw new ContractError('bad-request', `labels.put: the labelmap is ${header.geometry.dims.join('×')} but volume ${v.id} is ${v.ct.dims.join('×')}`)
        }
        if (header.version !== v.current.version) {
          throw new ContractError('stale', `labels.put: the labels changed since version ${header.version} (now ${v.current.version}); reload them before saving`)
        }
        // Copy: the frame is a view on a transport buffer that the host may reuse.
        return commitLabels(v, new Uint8Array(data))
      },
      async patch({ header, data }) {
        const v = store.get(header.volumeId)
        if (header.version !== v.current.version) {
          throw new ContractError('stale', `labels.patch: the labels changed since version ${header.version} (now ${v.current.version}); send the whole labelmap with labels.put`)
        }
        // every change is checked before any is applied; the patched copy replaces the labelmap
        // whole, so a labels.get being streamed never sees half a patch
        const patch = decodeLabelPatch('labels.patch', header.count, data, v.current.data.length)
        const next = v.current.data.slice()
        applyLabelPatch(next, patch)
        return commitLabels(v, next)
      },
    },
    segmentation: {
      async run({ volumeId, modelId, device }) {
        const v = store.get(volumeId)
        for (const [id, r] of runs) {
          if (r.volumeId === volumeId) throw new ContractError('conflict', `a segmentation of volume ${volumeId} is already running (run ${id}); cancel it first`)
        }
        const runId = newId('r')
        const abort = new AbortController()
        runs.set(runId, { volumeId, abort })
        const started = performance.now()
        // Answer with the run id at once; progress and the outcome arrive as events.
        void (async () => {
          events.emit('segmentation.onProgress', { runId, volumeId, stage: 'start', fraction: 0, message: 'starting' })
          try {
            const r = await engine.segment(v.ct, {
              modelId,
              device,
              signal: abort.signal,
              onProgress: (p) =>
                events.emit('segmentation.onProgress', { runId, volumeId, stage: p.stage, fraction: Math.max(0, Math.min(1, p.fraction)), message: p.message }),
            })
            if (abort.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
            if (r.labels.length !== v.ct.data.length) throw new Error(`the engine returned ${r.labels.length} labels for ${v.ct.data.length} voxels`)
            v.prediction = { data: r.labels, version: (v.prediction?.version ?? 0) + 1 }
            v.predictionModel = { id: r.modelId, version: r.modelVersion, provider: r.provider }
            v.predictionNotes = { warnings: r.warnings, unsure: r.unsure ?? {}, ...(r.reviewUnsureAbove !== undefined ? { reviewUnsureAbove: r.reviewUnsureAbove } : {}) }
            // a case keeps its prediction on disk (the reference for edits, review and provenance)
            await cases.setPrediction(v)
            const stats = computeStatistics(v.ct.data, r.labels, undefined, v.ct.spacing, await cases.labels())
            events.emit('segmentation.onFinished', {
              runId,
              volumeId,
              outcome: 'done',
              modelId: r.modelId,
              provider: r.provider,
              seconds: (performance.now() - started) / 1000,
              predictionVersion: v.prediction.version,
              organs: stats.organs.map((o) => ({ value: o.value, name: o.name, voxels: o.voxels, volumeMl: o.volumeMl, ...(r.unsure?.[o.value] !== undefined ? { unsureFraction: r.unsure[o.value] } : {}) })),
              warnings: r.warnings ?? [],
              ...(r.reviewUnsureAbove !== undefined ? { reviewUnsureAbove: r.reviewUnsureAbove } : {}),
            })
          } catch (e) {
            if (abort.signal.aborted || (e as Error).name === 'AbortError') events.emit('segmentation.onFinished', { runId, volumeId, outcome: 'cancelled' })
            else events.emit('segmentation.onFinished', { runId, volumeId, outcome: 'failed', error: (e as Error).message })
          } finally {
            runs.delete(runId)
          }
        })()
        return { runId }
      },
      async cancel({ runId }) {
        const r = runs.get(runId)
        if (!r) return { runId, cancelled: false }
        r.abort.abort()
        return { runId, cancelled: true }
      },
    },
    statistics: {
      async compute({ volumeId, kind }) {
        const v = store.get(volumeId)
        const lm = labelmapOf(v, kind)
        const s = computeStatistics(v.ct.data, lm.data, kind === 'current' ? v.prediction?.data : undefined, v.ct.spacing, await cases.labels())
        return { volumeId, kind, version: lm.version, ...s }
      },
    },
    models: {
      list: () => engine.listModels(),
    },
    cases: {
      async list() {
        return { workspaceDir, ...(await cases.list()) }
      },
      create: ({ volumeId, name }) => cases.create(store.get(volumeId), name),
      async open({ caseId }) {
        const ws = await cases.workspace()
        const c = await ws.readCase(caseId)
        const ctPath = ws.ctPath(c)
        // choosing a case in the workspace opens its CT: that is the user opening it. case.json is
        // a file on disk, not the user's choice: if its CT does not open, the grant is taken back
        const granted = !access.allowed(ctPath)
        if (granted) access.grant(ctPath)
        let r: Awaited<ReturnType<typeof openVolume>>
        try {
          r = await openVolume(ctPath, c.ct.seriesUid)
          if (r.status !== 'opened') throw new ContractError('failed', `case ${caseId}: its CT folder holds several series and the case names none`)
        } catch (e) {
          if (granted) access.revoke(ctPath)
          throw e
        }
        const v = store.get(r.volume.volumeId)
        if (v.caseId !== caseId) {
          if (v.caseId) throw new ContractError('conflict', `case ${caseId}: its CT is open as case ${v.caseId}; close that first`)
          await cases.attach(v, caseId)
        }
        const m = v.predictionModel
        const at = (await ws.readCase(caseId)).prediction?.createdAt
        return {
          case: await cases.summary(caseId),
          volume: v.summary,
          ...(m && at ? { prediction: { model: `${m.id} ${m.version} on ${m.provider}`, createdAt: at, ...(v.predictionNotes ? { notes: v.predictionNotes } : {}) } } : {}),
        }
      },
      get: ({ caseId }) => cases.get(caseId),
      setStatus: ({ caseId, status, comment }) => cases.setStatus(caseId, status, comment),
      review: ({ caseId, value, action, reviewer, comment }) => cases.review(caseId, value, action, reviewer, comment),
    },
    labelTable: {
      get: () => cases.labelTable(),
      add: (request) => cases.addLabel(request),
      update: (request) => cases.updateLabel(request),
      retire: ({ value }) => cases.retireLabel(value),
    },
    export: {
      async run({ volumeId, format, outPath, ignoreUnapproved, overwrite, newStudy }) {
        const out = access.check(outPath, 'write')
        // every opened source is protected, not only this volume's CT (the export checks its sidecars and folders too)
        return { files: await cases.exportVolume(store.get(volumeId), format, out, { ignoreUnapproved, overwrite, newStudy, protect: access.sources() }) }
      },
      async workspace({ outPath, ignoreUnapproved, statuses, overwrite }) {
        const out = access.check(outPath, 'write')
        return cases.exportWorkspace(out, { ignoreUnapproved, statuses, overwrite, protect: access.sources() })
      },
    },
    pacs: pacs.impl,
  }

  return {
    impl,
    events,
    access,
    store,
    workspace: cases,
    options: { ...options, workspaceDir },
    async dispose() {
      for (const r of runs.values()) r.abort.abort()
      runs.clear()
      pacs.dispose()
      await cases.dispose()
    },
  }
}

/**
 * What a volume is called in the UI, and its case unless the user names it. A DICOM series by its
 * description (NIfTI 'descrip' is often a tool's name, so files go by their file name); a series
 * without one by its folder and the folder above it, since exports put series in folders named
 * "img", "DICOM" or "series1" (a series opened by one of its files goes by the folder it is in).
 */
export function volumeName(path: string, format: string, description: string | undefined, isFolder: boolean): string {
  if (format !== 'dicom') return basename(path)
  if (description?.trim()) return description.trim()
  const folder = isFolder ? path : dirname(path)
  const parent = basename(dirname(folder))
  return parent && parent !== basename(folder) ? `${parent} ${basename(folder)}` : basename(folder)
}
