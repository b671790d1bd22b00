/**
 * Naming studies and series on a server the way WADO-RS does: `<base>/studies/<StudyUID>` and
 * `<base>/studies/<StudyUID>/series/<SeriesUID>`, where <base> is the DICOMweb root URL or a
 * configured server name.
 */
import { existsSync } from 'node:fs'
import { PacsError } from './errors.js'
import { loadServers, resolveServer, type PacsServer } from './servers.js'

export interface SeriesRef {
  server: PacsServer
  studyUid: string
  seriesUid: string
}
export interface StudyRef {
  server: PacsServer
  studyUid: string
}

const UID = /^[0-9]+(\.[0-9]+)*$/
/** A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1). Safe as a file name and a URL segment. */
export function isDicomUid(uid: unknown): uid is string {
  return typeof uid === 'string' && uid.length <= 64 && UID.test(uid)
}
const SERIES_URL = /^(.+?)\/studies\/([^/?#]+)\/series\/([^/?#]+)\/?$/
const STUDY_URL = /^(.+?)\/studies\/([^/?#]+)\/?$/

function checkUid(kind: string, uid: string, base: string): string {
  if (!isDicomUid(uid)) throw new PacsError('bad-url', base, undefined, `"${uid}" is not a DICOM ${kind} UID (digits and dots, at most 64 characters)`)
  return uid
}

/**
 * Whether a command-line input names something on a PACS rather than a local file: an http(s) URL,
 * or `<configured name>/studies/...` that is not also a local path.
 */
export function isPacsInput(input: string): boolean {
  if (/^https?:\/\//i.test(input)) return true
  if (existsSync(input)) return false
  const m = /^([^/]+)\/studies\//.exec(input)
  return Boolean(m && loadServers().some((s) => s.name === m[1]))
}

export function parseSeriesRef(input: string, servers?: PacsServer[]): SeriesRef {
  const m = SERIES_URL.exec(input)
  if (!m) {
    const base = input.replace(/\/\/[^/@]*@/, '//')
    throw new PacsError('bad-url', base, undefined, 'not a series URL: expected <base>/studies/<StudyInstanceUID>/series/<SeriesInstanceUID> (see `scn-studio pacs series <base>/studies/<uid>`)')
  }
  const server = resolveServer(m[1], servers)
  return { server, studyUid: checkUid('study', m[2], server.baseUrl), seriesUid: checkUid('series', m[3], server.baseUrl) }
}

export function parseStudyRef(input: string, servers?: PacsServer[]): StudyRef {
  const m = STUDY_URL.exec(input)
  if (!m) {
    const base = input.replace(/\/\/[^/@]*@/, '//')
    throw new PacsError('bad-url', base, undefined, 'not a study URL: expected <base>/studies/<StudyInstanceUID> (see `scn-studio pacs search <base>`)')
  }
  const server = resolveServer(m[1], servers)
  return { server, studyUid: checkUid('study', m[2], server.baseUrl) }
}

export function seriesUrl(r: SeriesRef): string {
  return `${r.server.baseUrl}/studies/${r.studyUid}/series/${r.seriesUid}`
}
