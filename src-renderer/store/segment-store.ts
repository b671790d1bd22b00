/** The model run: progress, cancel, and the plain-words error if it failed. */
import { createStore } from 'zustand/vanilla'

/** What Segment does to a labelmap the user has edited. */
export type SegmentMode = 'replace' | 'fill-unedited'

export interface SegmentState {
  running: boolean
  fraction: number
  /** the engine's stage name; the status line shows it in words (segmentStageLabel) */
  stage: string
  /** the engine's detail line for the stage */
  stageDetail: string
  error: string | null
  /** overlayMs: from the engine's "finished" to the prediction drawn in the views (issue 15) */
  lastRun: { model: string; seconds: number; overlayMs?: number } | null
  /** a reopened case's stored prediction (model, ISO time): its warnings and unsure shares are shown
   *  again; null once a run starts or for a plain volume */
  stored: { model: string; createdAt: string } | null
  /** the engine's warnings about the last result, in plain sentences; cleared when a run starts */
  warnings: string[]
  /** the last result's unsure share per label value (the organ panel marks those to review); cleared with the warnings */
  unsure: Record<number, number>
  /** the share above which that result's model flags an organ (its card); null: REVIEW_UNSURE */
  reviewAbove: number | null
  /** Segment was pressed on an edited labelmap: the user chooses replace / fill unedited / cancel */
  choice: { editedOrgans: string[] } | null
  models: { id: string; description: string }[]
  /** chosen model id; null = the host's default */
  modelId: string | null
  /** model folders the host could not read, in words */
  modelProblems: string[]
}

export const segmentStore = createStore<SegmentState>(() => ({
  running: false,
  fraction: 0,
  stage: '',
  stageDetail: '',
  error: null,
  lastRun: null,
  stored: null,
  warnings: [],
  unsure: {},
  reviewAbove: null,
  choice: null,
  models: [],
  modelId: null,
  modelProblems: [],
}))
