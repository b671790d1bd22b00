/** The workspace's cases as listed by the host (plain data), and the review of the open case. */
import { createStore } from 'zustand/vanilla'
import type { CaseSummary, ReviewAction } from '../api/types.js'

/** What the review UI is asking the user for before it can send a review. */
export type ReviewPrompt =
  /** the reviewer's name (asked once per browser), then the review that needed it */
  | { kind: 'name'; value?: number; action?: ReviewAction }
  /** why an organ is flagged */
  | { kind: 'comment'; value: number }

export interface CasesState {
  cases: CaseSummary[]
  /** the workspace case of the open volume, if it is one */
  openCaseId: string | null
  /** that case as the host last answered, with its per-organ review */
  openCase: CaseSummary | null
  /** who reviews in this browser (localStorage); null until asked */
  reviewer: string | null
  reviewPrompt: ReviewPrompt | null
  reviewError: string | null
  /** value of the organ whose review is being sent */
  reviewBusy: number | null
  /** why the last case action (create, status) was refused; a list refresh never clears it */
  error: string | null
  /** why the case list could not be read */
  listError: string | null
}

const REVIEWER_KEY = 'scn-studio.reviewer'

/** The reviewer name remembered by this browser (none outside a browser, e.g. unit tests). */
export function loadReviewer(): string | null {
  try {
    return globalThis.localStorage?.getItem(REVIEWER_KEY)?.trim() || null
  } catch {
    return null // storage disabled
  }
}

export function saveReviewer(name: string): string {
  const n = name.trim()
  try {
    globalThis.localStorage?.setItem(REVIEWER_KEY, n)
  } catch {
    /* not remembered, still used for this session */
  }
  casesStore.setState({ reviewer: n })
  return n
}

export const casesStore = createStore<CasesState>(() => ({
  cases: [],
  openCaseId: null,
  openCase: null,
  reviewer: loadReviewer(),
  reviewPrompt: null,
  reviewError: null,
  reviewBusy: null,
  error: null,
  listError: null,
}))
