/**
 * A DICOMweb client on Node's fetch: QIDO-RS search, WADO-RS retrieval of single instances,
 * STOW-RS. Every failure becomes a PacsError naming the server and, where there is one, the series.
 *
 * Retrieval goes one instance per request (a few at a time, like OHIF) rather than one answer per
 * series: memory stays at a few instances, progress and cancel work per instance, and an answer cut
 * short costs one instance's worth of certainty instead of hiding inside a long stream. See
 * multipart.ts for why this is not dicomweb-client.
 */
import { PacsError } from './errors.js'
import { MultipartError, buildMultipart, parseContentType, parseMultipart } from './multipart.js'
import { isDicomUid } from './refs.js'
import { serverLabel, type PacsServer } from './servers.js'

export interface StudyQuery {
  /** PatientName; DICOM wildcards * and ? allowed */
  patientName?: string
  patientId?: string
  /** YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either side may be empty) */
  studyDate?: string
  modality?: string
  accessionNumber?: string
  limit?: number
}

export interface StudySummary {
  studyUid: string
  patientName: string
  patientId: string
  studyDate: string
  studyTime: string
  accessionNumber: string
  description: string
  modalities: string[]
  seriesCount?: number
  instanceCount?: number
}

export interface SeriesSummary {
  studyUid: string
  seriesUid: string
  modality: string
  description: string
  seriesNumber?: number
  instanceCount?: number
}

export interface InstanceSummary {
  sopInstanceUid: string
  sopClassUid: string
  instanceNumber?: number
}

export interface StoredInstance {
  sopClassUid: string
  sopInstanceUid: string
  retrieveUrl?: string
}

export interface StowResult {
  stored: StoredInstance[]
  failed: { sopInstanceUid: string; reason: number | undefined }[]
}

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>

/** The first value of a DICOM JSON attribute as text; '' when absent or not a value (a server's JSON is not trusted). */
function str(ds: DicomJson, tag: string): string {
  const values = ds[tag]?.Value
  const v = Array.isArray(values) ? values[0] : undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  if (v && typeof v === 'object' && typeof (v as { Alphabetic?: unknown }).Alphabetic === 'string') return (v as { Alphabetic: string }).Alphabetic // PN
  return ''
}
function num(ds: DicomJson, tag: string): number | undefined {
  const t = str(ds, tag)
  const v = Number(t)
  return t !== '' && Number.isFinite(v) ? v : undefined
}

const DICOM_MULTIPART = 'multipart/related; type="application/dicom"'
const DEFAULT_TIMEOUT_MS = 60_000
// What one answer may hold before the client stops reading: a server (or something posing as one)
// must not fill the app's memory. A search answer is a few kB per study; one instance of an
// enhanced multi-frame CT can be hundreds of MB.
export const MAX_JSON_ANSWER_BYTES = 64 * 2 ** 20
export const MAX_INSTANCE_BYTES = 1024 * 2 ** 20

/** A DICOM JSON dataset: an object of attributes, each an object with a `vr` and, if present, a `Value` list. */
function isDicomJsonDataset(ds: unknown): ds is DicomJson {
  if (!ds || typeof ds !== 'object' || Array.isArray(ds)) return false
  return Object.values(ds).every((a) => a && typeof a === 'object' && !Array.isArray(a) && ((a as { Value?: unknown }).Value === undefined || Array.isArray((a as { Value?: unknown }).Value)))
}

class AnswerTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`answer larger than ${limit} bytes`)
  }
}

/** The answer's body, read as it streams in and abandoned past `limit` bytes (a declared Content-Length is checked first). */
async function readCapped(res: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => {})
    throw new AnswerTooLarge(limit)
  }
  if (!res.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      throw new AnswerTooLarge(limit)
    }
    chunks.push(value)
  }
  return chunks.length === 1 ? chunks[0] : new Uint8Array(Buffer.concat(chunks, total))
}

export interface ClientOptions {
  /** per request, including reading the answer */
  timeoutMs?: number
}

export class DicomwebClient {
  readonly label: string
  private readonly timeoutMs: number
  /** false after the server refused `transfer-syntax=*` once */
  private anyTransferSyntax = true

  constructor(readonly server: PacsServer, opts: ClientOptions = {}) {
    this.label = serverLabel(server)
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  private authHeader(): Record<string, string> {
    const a = this.server.auth
    if (!a) return {}
    if (a.type === 'basic') return { authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}` }
    return { authorization: `Bearer ${a.token}` }
  }

  /**
   * One HTTP exchange; returns the answer's status, headers and whole body. `series` names the
   * series in messages; `accept` lists statuses the caller handles itself.
   */
  private async exchange(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: Uint8Array },
    ctx: { series?: string; signal?: AbortSignal; accept?: number[]; maxBytes?: number } = {},
  ): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
    const url = `${this.server.baseUrl}${path}`
    const method = init.method ?? 'GET'
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout
    let res: Response
    let body: Uint8Array
    try {
      res = await fetch(url, { method, headers: { ...init.headers, ...this.authHeader() }, body: init.body as Uint8Array<ArrayBuffer> | undefined, signal, redirect: 'manual' })
      body = await readCapped(res, ctx.maxBytes ?? MAX_JSON_ANSWER_BYTES)
    } catch (e) {
      if (e instanceof AnswerTooLarge) {
        throw new PacsError('bad-response', this.label, ctx.series, `${method} ${path}: the answer is larger than ${Math.round(e.limit / 2 ** 20)} MB, more than DICOMweb sends for this request; not read further`)
      }
      throw this.networkError(e, method, path, ctx.series, ctx.signal)
    }
    if (res.ok || ctx.accept?.includes(res.status)) return { status: res.status, headers: res.headers, body }
    if (res.status >= 300 && res.status < 400) {
      // not followed: the credentials would go wherever the redirect points
      throw new PacsError('http', this.label, ctx.series, `${method} ${path} was redirected (${res.status}) to ${res.headers.get('location') ?? 'nowhere'}: use the final URL as the server's base URL`)
    }
    throw this.statusError(res, body, method, path, ctx.series)
  }

  private networkError(e: unknown, method: string, path: string, series: string | undefined, userSignal?: AbortSignal): PacsError {
    if (userSignal?.aborted) return new PacsError('cancelled', this.label, series, 'cancelled')
    const err = e as Error & { cause?: { code?: string; message?: string } }
    if (err.name === 'TimeoutError') return new PacsError('unreachable', this.label, series, `no answer to ${method} ${path} within ${this.timeoutMs / 1000} s`, { cause: e })
    const code = err.cause?.code ?? (err as { code?: string }).code
    const host = new URL(this.server.baseUrl).host
    switch (code) {
      case 'ECONNREFUSED':
        return new PacsError('unreachable', this.label, series, `connection refused by ${host}: is the server running, and are the host and port right?`, { cause: e })
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new PacsError('unreachable', this.label, series, `unknown host ${new URL(this.server.baseUrl).hostname}: check the URL`, { cause: e })
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
        return new PacsError('interrupted', this.label, series, `the connection dropped during ${method} ${path} (the server stopped or the network failed)`, { cause: e })
      default: {
        if (err.message === 'terminated') return new PacsError('interrupted', this.label, series, `the connection dropped during ${method} ${path} (the server stopped or the network failed)`, { cause: e })
        const why = err.cause?.message ?? err.message
        return new PacsError('unreachable', this.label, series, `cannot reach the server (${code ? `${code}: ` : ''}${why})`, { cause: e })
      }
    }
  }

  private statusError(res: Response, body: Uint8Array, method: string, path: string, series: string | undefined): PacsError {
    const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
    if (res.status === 401) {
      return new PacsError(
        'unauthorized',
        this.label,
        series,
        this.server.auth
          ? `the server refused the credentials (${status}): check the user name and password or token of this server`
          : `the server needs credentials (${status}): add them with \`scn-studio pacs server add <name> ${this.server.baseUrl} --user <name> --password-stdin\` (or --token-stdin) and use the name`,
      )
    }
    if (res.status === 403) return new PacsError('unauthorized', this.label, series, `access forbidden (${status}): these credentials may not ${method === 'POST' ? 'store to' : 'read from'} this server`)
    if (res.status === 404) {
      return new PacsError('not-found', this.label, series, `${method} ${path} answered ${status}: check that the base URL is the server's DICOMweb root (e.g. http://host:8042/dicom-web) and that the UIDs exist there`)
    }
    const text = Buffer.from(body.subarray(0, 300)).toString('utf8').replace(/\s+/g, ' ').trim()
    return new PacsError('http', this.label, series, `${method} ${path} answered ${status}${text ? `: ${text}` : ''}`)
  }

  private async getJson(path: string, ctx: { series?: string; signal?: AbortSignal } = {}): Promise<DicomJson[]> {
    const r = await this.exchange(path, { headers: { accept: 'application/dicom+json, application/json' } }, { ...ctx, accept: [204] })
    if (r.status === 204 || r.body.byteLength === 0) return []
    let v: unknown
    try {
      v = JSON.parse(Buffer.from(r.body).toString('utf8'))
    } catch {
      throw new PacsError('bad-response', this.label, ctx.series, `GET ${path} did not answer JSON (content type ${r.headers.get('content-type') ?? 'none'}): is this the DICOMweb root URL?`)
    }
    if (!Array.isArray(v)) throw new PacsError('bad-response', this.label, ctx.series, `GET ${path} did not answer a QIDO-RS list`)
    const bad = v.findIndex((ds) => !isDicomJsonDataset(ds))
    if (bad >= 0) throw new PacsError('bad-response', this.label, ctx.series, `GET ${path} answered a list whose item ${bad + 1} is not a DICOM JSON dataset`)
    return v as DicomJson[]
  }

  /** QIDO-RS /studies */
  async searchStudies(q: StudyQuery = {}, signal?: AbortSignal): Promise<StudySummary[]> {
    const p = new URLSearchParams()
    if (q.patientName) p.set('PatientName', q.patientName)
    if (q.patientId) p.set('PatientID', q.patientId)
    if (q.studyDate) p.set('StudyDate', q.studyDate)
    if (q.modality) p.set('ModalitiesInStudy', q.modality)
    if (q.accessionNumber) p.set('AccessionNumber', q.accessionNumber)
    if (q.limit) p.set('limit', String(q.limit))
    for (const t of ['00081030', '00080061', '00201206', '00201208']) p.append('includefield', t)
    const list = await this.getJson(`/studies?${p}`, { signal })
    return list.map((ds) => ({
      studyUid: str(ds, '0020000D'),
      patientName: str(ds, '00100010'),
      patientId: str(ds, '00100020'),
      studyDate: str(ds, '00080020'),
      studyTime: str(ds, '00080030'),
      accessionNumber: str(ds, '00080050'),
      description: str(ds, '00081030'),
      modalities: (ds['00080061']?.Value ?? []).map(String),
      seriesCount: num(ds, '00201206'),
      instanceCount: num(ds, '00201208'),
    }))
  }

  /** QIDO-RS /studies/{study}/series, optionally one series */
  async searchSeries(studyUid: string, seriesUid?: string, signal?: AbortSignal): Promise<SeriesSummary[]> {
    const p = new URLSearchParams()
    if (seriesUid) p.set('SeriesInstanceUID', seriesUid)
    for (const t of ['0008103E', '00200011', '00201209']) p.append('includefield', t)
    const list = await this.getJson(`/studies/${studyUid}/series?${p}`, { series: seriesUid, signal })
    return list.map((ds) => ({
      studyUid,
      seriesUid: str(ds, '0020000E'),
      modality: str(ds, '00080060'),
      description: str(ds, '0008103E'),
      seriesNumber: num(ds, '00200011'),
      instanceCount: num(ds, '00201209'),
    }))
  }

  /** The series' QIDO-RS record, or a not-found PacsError naming it. */
  async seriesInfo(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<SeriesSummary> {
    const found = (await this.searchSeries(studyUid, seriesUid, signal)).find((s) => s.seriesUid === seriesUid)
    if (!found) throw new PacsError('not-found', this.label, seriesUid, `the server has no such series in study ${studyUid}`)
    return found
  }

  /** QIDO-RS /studies/{study}/series/{series}/instances, following paging until `expected`. */
  async searchInstances(studyUid: string, seriesUid: string, expected?: number, signal?: AbortSignal): Promise<InstanceSummary[]> {
    const out = new Map<string, InstanceSummary>()
    for (;;) {
      const offset = out.size
      const page = await this.getJson(`/studies/${studyUid}/series/${seriesUid}/instances${offset ? `?offset=${offset}` : ''}`, { series: seriesUid, signal })
      for (const ds of page) {
        const sop = str(ds, '00080018')
        // the UID names the cached file and the WADO-RS URL: anything but digits and dots is refused
        if (sop && !isDicomUid(sop)) throw new PacsError('bad-instance', this.label, seriesUid, `the server lists an instance whose SOP Instance UID is not a DICOM UID: ${JSON.stringify(String(sop).slice(0, 80))}`)
        if (sop) out.set(sop, { sopInstanceUid: sop, sopClassUid: str(ds, '00080016'), instanceNumber: num(ds, '00200013') })
      }
      if (page.length === 0 || out.size === offset || expected === undefined || out.size >= expected) break
    }
    return [...out.values()]
  }

  /** WADO-RS one instance, as stored (any transfer syntax; the reader decodes compressed ones). */
  async retrieveInstance(studyUid: string, seriesUid: string, sopInstanceUid: string, signal?: AbortSignal): Promise<Uint8Array> {
    const path = `/studies/${studyUid}/series/${seriesUid}/instances/${sopInstanceUid}`
    let r = await this.exchange(path, { headers: { accept: this.anyTransferSyntax ? `${DICOM_MULTIPART}; transfer-syntax=*` : DICOM_MULTIPART } }, { series: seriesUid, signal, accept: this.anyTransferSyntax ? [400, 406] : [], maxBytes: MAX_INSTANCE_BYTES })
    if (r.status === 400 || r.status === 406) {
      // an older server that cannot send "as stored": take its default (explicit little endian)
      this.anyTransferSyntax = false
      r = await this.exchange(path, { headers: { accept: DICOM_MULTIPART } }, { series: seriesUid, signal, maxBytes: MAX_INSTANCE_BYTES })
    }
    const ct = parseContentType(r.headers.get('content-type') ?? '')
    if (ct.type !== 'multipart/related' || !ct.params.boundary) {
      throw new PacsError('bad-response', this.label, seriesUid, `instance ${sopInstanceUid}: expected a multipart/related answer, got "${r.headers.get('content-type') ?? 'no content type'}"`)
    }
    let parts
    try {
      parts = parseMultipart(r.body, ct.params.boundary)
    } catch (e) {
      if (e instanceof MultipartError) {
        const cut = /cut short/.test(e.message)
        throw new PacsError(cut ? 'interrupted' : 'bad-response', this.label, seriesUid, `instance ${sopInstanceUid}: ${e.message}${cut ? ' (the server stopped or the connection dropped)' : ''}`)
      }
      throw e
    }
    if (parts.length !== 1) throw new PacsError('bad-response', this.label, seriesUid, `instance ${sopInstanceUid}: the answer holds ${parts.length} parts, expected 1`)
    return parts[0].body
  }

  /** STOW-RS: store Part 10 instances; refusals of single instances come back in `failed`. */
  async store(instances: Uint8Array[], opts: { studyUid?: string; series?: string; signal?: AbortSignal } = {}): Promise<StowResult> {
    const { body, contentType } = buildMultipart(instances.map((b) => ({ contentType: 'application/dicom', body: b })), 'application/dicom')
    const path = opts.studyUid ? `/studies/${opts.studyUid}` : '/studies'
    // 409 (Conflict) and 202 (Accepted) carry the per-instance outcome in the same JSON
    const r = await this.exchange(path, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json, application/json' }, body }, { series: opts.series, signal: opts.signal, accept: [409] })
    let ds: DicomJson = {}
    if (r.body.byteLength) {
      try {
        const v = JSON.parse(Buffer.from(r.body).toString('utf8'))
        ds = (Array.isArray(v) ? v[0] : v) ?? {}
      } catch {
        throw new PacsError('bad-response', this.label, opts.series, `POST ${path} (STOW-RS) did not answer JSON`)
      }
    }
    const seq = (tag: string) => (ds[tag]?.Value ?? []) as DicomJson[]
    return {
      stored: seq('00081199').map((it) => ({ sopClassUid: str(it, '00081150'), sopInstanceUid: str(it, '00081155'), retrieveUrl: str(it, '00081190') || undefined })),
      failed: seq('00081198').map((it) => ({ sopInstanceUid: str(it, '00081155'), reason: num(it, '00081197') })),
    }
  }
}
