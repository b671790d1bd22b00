/**
 * The PACS browser's controller: talks to the host's `pacs` service (the same contract client
 * kind as the rest of the page, over its own transport) and to the workstation only through the
 * few hooks below, so it does not depend on how the workstation is split up. A retrieved series is
 * opened like any DICOM folder (volumes.open through the workstation's openPath).
 */
import { ContractError, createBridgeTransport, createHttpTransport, createScnClient, type ScnClient as ContractClient } from '../../src-shared/contract/index.js'
import { pageToken } from '../api/web.js'
import { cachedKey, pacsStore, studyDateQuery, type PacsCachedRow, type PacsSeriesRow, type PacsState } from './pacs-store.js'

export interface PacsHooks {
  /** opens a host folder as the workstation's volume (volumes.open) */
  openFolder(path: string): Promise<void>
  /** the volume the workstation shows, once it is ready; null otherwise */
  currentVolumeId(): string | null
  /** sends pending label edits to the host; false when they could not be saved */
  saveNow(): Promise<boolean>
}

const CACHED_LIST_FAILED = 'The series on this computer could not be listed'

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** The contract client for the PACS calls: Electron's bridge or the web host that served the page; none in the demo. */
export function createPacsApi(): ContractClient | null {
  if (typeof window === 'undefined') return null
  if (window.scn) return createScnClient(createBridgeTransport(window.scn))
  if (new URLSearchParams(window.location.search).has('demo')) return null
  return createScnClient(createHttpTransport({ baseUrl: window.location.origin, token: pageToken(window.location) ?? '' }))
}

export class PacsController {
  private offProgress: () => void

  constructor(
    private readonly api: ContractClient,
    private readonly hooks: PacsHooks,
  ) {
    this.offProgress = api.pacs.onRetrieveProgress((p) => {
      const r = pacsStore.getState().retrieval
      if (r && r.retrieveId === p.retrieveId) pacsStore.setState({ retrieval: { ...r, received: p.received, total: p.total, bytes: p.bytes } })
    })
  }

  dispose(): void {
    this.offProgress()
  }

  async loadServers(): Promise<void> {
    try {
      const { servers } = await this.api.pacs.servers({})
      const keep = pacsStore.getState().server
      pacsStore.setState({ servers, server: servers.some((s) => s.name === keep) ? keep : (servers[0]?.name ?? null) })
    } catch (e) {
      pacsStore.setState({ servers: [], error: `The PACS servers could not be listed: ${message(e)}` })
    }
  }

  /** Lists the series kept in the host's cache (local files: works with the server down or no network). */
  async loadCached(): Promise<void> {
    try {
      const { series } = await this.api.pacs.cached({})
      const error = pacsStore.getState().error
      pacsStore.setState({ cached: series, error: error?.startsWith(CACHED_LIST_FAILED) ? null : error })
    } catch (e) {
      // unknown, not "none retrieved yet"
      pacsStore.setState({ cached: null, error: `${CACHED_LIST_FAILED}: ${message(e)}` })
    }
  }

  /** Opens a cached series without contacting its server. */
  async openCached(c: PacsCachedRow): Promise<void> {
    const st = pacsStore.getState()
    if (st.retrieval || st.openingCached) return
    pacsStore.setState({ openingCached: cachedKey(c), error: null, sent: null })
    try {
      const { path } = await this.api.pacs.openCached({ serverKey: c.serverKey, studyUid: c.studyUid, seriesUid: c.seriesUid })
      await this.openAndRemember(path, { server: c.server ?? c.baseUrl, studyUid: c.studyUid, seriesUid: c.seriesUid, description: c.description, serverKey: c.serverKey })
    } catch (e) {
      pacsStore.setState({ error: message(e) })
    } finally {
      pacsStore.setState({ openingCached: null })
    }
  }

  /**
   * Opens the folder in the workstation and, when a volume was opened (the workstation may decline,
   * e.g. to keep unsaved edits), remembers where it came from: its SEG goes back there.
   */
  private async openAndRemember(path: string, from: Omit<NonNullable<PacsState['opened']>, 'volumeId'>): Promise<void> {
    const before = this.hooks.currentVolumeId()
    await this.hooks.openFolder(path)
    const volumeId = this.hooks.currentVolumeId()
    if (volumeId && volumeId !== before) pacsStore.setState({ opened: { volumeId, ...from } })
  }

  selectServer(name: string): void {
    pacsStore.setState({ server: name, studies: null, studyUid: null, series: null, error: null })
  }

  async search(): Promise<void> {
    const { server, form } = pacsStore.getState()
    if (!server) return
    pacsStore.setState({ searching: true, error: null, studyUid: null, series: null })
    const opt = (s: string) => (s.trim() ? s.trim() : undefined)
    try {
      const { studies } = await this.api.pacs.search({
        server,
        patientName: opt(form.patientName),
        patientId: opt(form.patientId),
        studyDate: studyDateQuery(form.dateFrom, form.dateTo),
        modality: opt(form.modality)?.toUpperCase(),
        accessionNumber: opt(form.accessionNumber),
        limit: 200,
      })
      pacsStore.setState({ studies, searching: false })
    } catch (e) {
      // nothing is known about the studies (not "none match")
      pacsStore.setState({ studies: null, searching: false, error: message(e) })
    }
  }

  /** Lists a study's series (again: after a SEG was sent it shows the new series). */
  async showStudy(studyUid: string): Promise<void> {
    const server = pacsStore.getState().server
    if (!server) return
    pacsStore.setState({ studyUid, series: null, loadingSeries: true, error: null })
    try {
      const { series } = await this.api.pacs.series({ server, studyUid })
      series.sort((a, b) => (a.seriesNumber ?? 1e9) - (b.seriesNumber ?? 1e9) || a.seriesUid.localeCompare(b.seriesUid))
      if (pacsStore.getState().studyUid !== studyUid) return
      // the study row follows what the series list says (a SEG just sent adds a series)
      const studies = pacsStore.getState().studies?.map((st) =>
        st.studyUid === studyUid ? { ...st, seriesCount: series.length, instanceCount: series.reduce((n, x) => n + (x.instanceCount ?? 0), 0), modalities: [...new Set([...st.modalities, ...series.map((x) => x.modality)])] } : st,
      )
      pacsStore.setState({ series, loadingSeries: false, studies: studies ?? null })
    } catch (e) {
      pacsStore.setState({ series: [], loadingSeries: false, error: message(e) })
    }
  }

  /** Retrieves the series into the host's cache (progress, cancel), then opens it. */
  async open(s: PacsSeriesRow): Promise<void> {
    const server = pacsStore.getState().server
    if (!server || pacsStore.getState().retrieval) return
    const retrieveId = `p${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    pacsStore.setState({ retrieval: { retrieveId, seriesUid: s.seriesUid, received: 0, total: s.instanceCount ?? 0, bytes: 0 }, error: null, sent: null })
    let path: string
    try {
      path = (await this.api.pacs.retrieve({ server, studyUid: s.studyUid, seriesUid: s.seriesUid, retrieveId })).path
    } catch (e) {
      // a cancel is the user's own doing: the host says so and nothing was kept
      pacsStore.setState({ retrieval: null, error: e instanceof ContractError && e.code === 'cancelled' ? null : message(e) })
      return
    }
    pacsStore.setState({ retrieval: null })
    void this.loadCached()
    await this.openAndRemember(path, { server, studyUid: s.studyUid, seriesUid: s.seriesUid, description: s.description })
  }

  async cancel(): Promise<void> {
    const r = pacsStore.getState().retrieval
    if (r) await this.api.pacs.cancel({ retrieveId: r.retrieveId }).catch(() => undefined)
  }

  /** Stores a DICOM SEG of the current labels on the server the series came from. */
  async sendSeg(): Promise<void> {
    const opened = pacsStore.getState().opened
    const volumeId = this.hooks.currentVolumeId()
    if (!opened || !volumeId) return
    pacsStore.setState({ sending: true, sent: null, error: null })
    try {
      // the host exports what it has: the latest edits go first, and never a SEG without them
      if (!(await this.hooks.saveNow())) throw new Error('your latest edits could not be saved on the host, so no SEG was sent; try again once autosave works')
      const sent = await this.api.pacs.sendSeg({ volumeId })
      pacsStore.setState({ sent, sending: false })
      // the study now lists the SEG series
      if (pacsStore.getState().server === opened.server) await this.showStudy(opened.studyUid)
    } catch (e) {
      pacsStore.setState({ sending: false, error: `Send SEG to PACS failed: ${message(e)}` })
    }
  }
}
