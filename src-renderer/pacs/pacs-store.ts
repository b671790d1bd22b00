/** The PACS browser's state: configured servers, the search, its studies and series, a retrieval, a SEG sent. Plain data only. */
import { createStore } from 'zustand/vanilla'
import type { z } from 'zod'
import type { PacsCachedSeriesSchema, PacsServerInfoSchema, PacsSeriesSchema, PacsStudySchema } from '../../src-shared/contract/schemas.js'

// the rows are the contract's own types (one definition: src-shared/contract/schemas.ts)
export type PacsServerRow = z.infer<typeof PacsServerInfoSchema>
export type PacsStudyRow = z.infer<typeof PacsStudySchema>
export type PacsSeriesRow = z.infer<typeof PacsSeriesSchema>
export type PacsCachedRow = z.infer<typeof PacsCachedSeriesSchema>

export interface PacsSearchForm {
  patientName: string
  patientId: string
  /** YYYY-MM-DD (an <input type=date>), either may be empty */
  dateFrom: string
  dateTo: string
  modality: string
  accessionNumber: string
}

export interface PacsState {
  /** null until the host answered (none configured: an empty list) */
  servers: PacsServerRow[] | null
  server: string | null
  form: PacsSearchForm
  searching: boolean
  /** null before the first search */
  studies: PacsStudyRow[] | null
  /** the study whose series are listed */
  studyUid: string | null
  series: PacsSeriesRow[] | null
  loadingSeries: boolean
  /** a retrieval in progress */
  retrieval: { retrieveId: string; seriesUid: string; received: number; total: number; bytes: number } | null
  /** the volume opened from the PACS (its SEG goes back to the same server) */
  opened: { volumeId: string; server: string; studyUid: string; seriesUid: string; description: string; /** set when opened from the cache list */ serverKey?: string } | null
  sending: boolean
  /** the series kept in the host's cache (null until listed): open without the server */
  cached: PacsCachedRow[] | null
  /** the cached series being opened (serverKey/seriesUid) */
  openingCached: string | null
  /** the last SEG stored: which server, and the new instance's UIDs */
  sent: { server: string; stored: { studyUid: string; seriesUid: string; sopInstanceUid: string }[] } | null
  /** the last failure, in words (names the server and series) */
  error: string | null
}

export const EMPTY_FORM: PacsSearchForm = { patientName: '', patientId: '', dateFrom: '', dateTo: '', modality: '', accessionNumber: '' }

export const pacsStore = createStore<PacsState>(() => ({
  servers: null,
  server: null,
  form: { ...EMPTY_FORM },
  searching: false,
  studies: null,
  studyUid: null,
  series: null,
  loadingSeries: false,
  retrieval: null,
  opened: null,
  sending: false,
  cached: null,
  openingCached: null,
  sent: null,
  error: null,
}))

/** The form's dates as a QIDO-RS StudyDate: YYYYMMDD, a range YYYYMMDD-YYYYMMDD, or undefined. */
export function studyDateQuery(from: string, to: string): string | undefined {
  const d = (s: string) => s.replace(/-/g, '')
  if (!from && !to) return undefined
  if (from && to && from === to) return d(from)
  return `${d(from)}-${d(to)}`
}

/** A cached series' key in the list (the same series may be cached from two servers). */
export function cachedKey(c: { serverKey: string; seriesUid: string }): string {
  return `${c.serverKey}/${c.seriesUid}`
}

/** DICOM YYYYMMDD as YYYY-MM-DD for display. */
export function showDate(s: string): string {
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s
}

/** DICOM person name (Family^Given^...) as "Family, Given". */
export function showName(s: string): string {
  const [family, given] = s.split('^')
  return given ? `${family}, ${given}` : (family ?? '')
}
