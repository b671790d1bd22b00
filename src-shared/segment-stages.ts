/**
 * The stages of a segmentation run, in run order: the name the engine reports in its progress
 * events (the contract's `stage`), the words a user reads, and the share of a typical run's time
 * each takes (for the progress fraction). One list for the engine, the CLI and the app.
 */
export const SEGMENT_STAGES = [
  { stage: 'localization-input', weight: 0.08, label: 'preparing the localization input' },
  { stage: 'localization', weight: 0.12, label: 'finding the abdomen (localization network)' },
  { stage: 'segmentation-input', weight: 0.12, label: 'preparing the segmentation input' },
  { stage: 'segmentation', weight: 0.5, label: 'segmenting organs (segmentation network)' },
  { stage: 'labels', weight: 0.18, label: 'resampling labels onto the CT grid' },
] as const

export type SegmentStageName = (typeof SEGMENT_STAGES)[number]['stage']

/** The words for a progress event's stage ('start' and unknown names read as themselves, unhyphenated). */
export function segmentStageLabel(stage: string): string {
  if (stage === 'start' || stage === 'starting') return 'starting'
  return SEGMENT_STAGES.find((s) => s.stage === stage)?.label ?? stage.replace(/-/g, ' ')
}
