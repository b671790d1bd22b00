/**
 * The segmentation domain: the model list, a run with progress and cancel, and the choice on an
 * edited labelmap (replace everything, or fill only the organs the user has not edited). Owns
 * segmentStore; the result reaches the labelmap through the editing controller as one undo step.
 */
import { PlainError, type LoadedCase, type ScnClient } from '../api/types.js'
import { plainMessage } from '../app/messages.js'
import type { EditingController } from '../editing/editing-controller.js'
import { gridToArray } from '../editing/grid.js'
import { editedValues, fillUneditedTarget } from '../editing/resegment.js'
import { labelName } from '../store/labels-store.js'
import { segmentStore, type SegmentMode } from '../store/segment-store.js'

export class SegmentationController {
  /** the last prediction the user saw: "edited" organs are measured against it */
  prediction: Uint8Array | null = null
  private abort: AbortController | null = null

  constructor(private readonly client: ScnClient, private readonly editing: EditingController, private readonly current: () => LoadedCase | null) {
    void this.refreshModels()
  }

  opened(c: LoadedCase): void {
    this.prediction = c.prediction ?? null
    // the last run's outcome (a failure or a cancel, its timing) was about the previous CT; a case
    // brings back what the engine said about its own prediction (its warnings, organs to review)
    const p = c.predictionInfo
    segmentStore.setState({
      warnings: p?.warnings ?? [],
      unsure: p?.unsure ?? {},
      reviewAbove: p?.reviewUnsureAbove ?? null,
      stored: p ? { model: p.model, createdAt: p.createdAt } : null,
      choice: null,
      error: null,
      lastRun: null,
    })
  }

  async refreshModels(): Promise<void> {
    try {
      const r = await this.client.listModels()
      segmentStore.setState({ models: r.models, modelProblems: r.problems })
    } catch {
      /* the Segment button reports host problems when pressed */
    }
  }

  /**
   * The Segment button. On a labelmap the user has edited (it differs from the last prediction, or
   * from empty before any) nothing runs yet: the user chooses first (choose) whether the new
   * prediction replaces everything or fills only the organs they have not edited.
   */
  async segment(mode?: SegmentMode): Promise<void> {
    const c = this.current()
    const session = this.editing.session
    if (!c || !session) {
      segmentStore.setState({ error: 'Open a CT first, then run the segmentation.' })
      return
    }
    if (segmentStore.getState().running) return
    if (!mode) {
      const edited = editedValues(session.grid, this.prediction)
      if (edited.size > 0) {
        segmentStore.setState({ choice: { editedOrgans: [...edited].map(labelName) }, error: null })
        return
      }
    }
    segmentStore.setState({ choice: null })
    // the edits are measured against the prediction the user saw, not the one this run brings
    const reference = this.prediction
    this.abort = new AbortController()
    // the last run's outcome goes with its warnings: a cancel or failure must not sit next to it
    segmentStore.setState({ running: true, fraction: 0, stage: 'starting', stageDetail: '', error: null, warnings: [], unsure: {}, reviewAbove: null, stored: null, lastRun: null })
    try {
      const modelId = this.client.kind === 'demo' ? undefined : (segmentStore.getState().modelId ?? undefined)
      const r = await this.client.segment(c.caseId, (p) => segmentStore.setState({ fraction: p.fraction, stage: p.stage, stageDetail: p.message ?? '' }), this.abort.signal, modelId)
      const now = this.editing.session
      if (this.current() !== c || !now) throw new PlainError('Another CT was opened while the model ran: its result was not applied.')
      if (r.labels.length !== gridToArray(now.grid).length) throw new PlainError('The model returned labels of the wrong size for this CT.')
      // edits made while the model ran count too: a run started on an unedited labelmap never
      // replaces them, it fills around them (undo and Segment > Replace everything still can)
      const edited = editedValues(now.grid, reference)
      const fill = mode === 'fill-unedited' || (!mode && edited.size > 0)
      this.prediction = r.labels
      if (fill) this.editing.applyPrediction(r.labels, fillUneditedTarget(now.grid, r.labels, edited), `Apply prediction to unedited organs (${r.model})`)
      else this.editing.applyPrediction(r.labels, r.labels, `Apply prediction (${r.model})`)
      segmentStore.setState({ running: false, fraction: 1, stage: 'done', lastRun: { model: r.model, seconds: r.seconds }, warnings: r.warnings, unsure: r.unsure ?? {}, reviewAbove: r.reviewUnsureAbove ?? null })
      // the overlay is on screen once the frame after the upload has been drawn
      if (r.finishedAt !== undefined) {
        const t = r.finishedAt
        requestAnimationFrame(() => requestAnimationFrame(() => segmentStore.setState((s) => (s.lastRun ? { lastRun: { ...s.lastRun, overlayMs: performance.now() - t } } : {}))))
      }
    } catch (e) {
      const cancelled = e instanceof DOMException && e.name === 'AbortError'
      segmentStore.setState({ running: false, error: cancelled ? 'Segmentation cancelled.' : plainMessage(e, 'The segmentation failed') })
    } finally {
      this.abort = null
    }
  }

  /** The user's answer to "Segment on an edited case": null cancels (nothing runs, nothing changes). */
  async choose(mode: SegmentMode | null): Promise<void> {
    if (!segmentStore.getState().choice) return
    if (mode === null) return segmentStore.setState({ choice: null })
    await this.segment(mode)
  }

  cancel(): void {
    this.abort?.abort()
  }
}
