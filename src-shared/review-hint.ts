/**
 * The network's doubt as a review hint, shared by the engine (which counts it) and the app (which
 * marks the organ). A voxel is unsure when its label beat the runner-up by less than UNSURE_MARGIN
 * probability; an organ whose unsure share is above REVIEW_UNSURE is worth a look first.
 *
 * Calibrated on held-out real CT (AMOS 0018 whole and cut into slabs, dcmqi's 3-slice CT) with 32
 * leave-one-out networks, counted on the CT's grid: no organ with Dice >= 0.85 was above 0.3 (162 of
 * them; the highest 0.27), while 25 of 35 failed spleens, 85 of 86 failed pancreases and 77 of 95
 * organs found where the reference has none were. 0.8.2 (and 0.9.0, its continuation) is at 5-14 % for liver, kidney and
 * spleen and 22-24 % for the pancreas it gets right. A confident error is not caught (13 of 14 failed
 * livers, missing the front of the liver on a 3-slice CT, were at 8-21 %): no flag is not a guarantee.
 * training/README.md has the figures. The threshold is a property of the networks it was measured
 * on: a model card carries its own (segmentation.reviewUnsureAbove), and REVIEW_UNSURE stands in for
 * cards without one.
 */
export const UNSURE_MARGIN = 0.5
export const REVIEW_UNSURE = 0.3

/** True when an organ with this unsure share should be reviewed first (undefined: not measured);
 *  `above`: the model's own threshold (its card's segmentation.reviewUnsureAbove), else ours. */
export function needsReview(unsureFraction: number | undefined, above = REVIEW_UNSURE): boolean {
  return unsureFraction !== undefined && unsureFraction > above
}

/** Each organ's unsure share by label value, for the organs where it was measured. */
export function unsureByValue(organs: readonly { value: number; unsureFraction?: number }[]): Record<number, number> {
  return Object.fromEntries(organs.filter((o) => o.unsureFraction !== undefined).map((o) => [o.value, o.unsureFraction!]))
}

/** The tooltip of an organ's "unsure" tag in the app. */
export function unsureTagTitle(organ: string, unsureFraction: number): string {
  return `The model was unsure of ${Math.round(unsureFraction * 100)} % of this ${organ} (chosen by less than ${UNSURE_MARGIN} probability over another label): check it first`
}

/** The sentence the report, the CLI and the app use for an organ the model was unsure of. */
export function unsureSentence(organ: string, unsureFraction: number): string {
  return `The model was unsure of ${Math.round(unsureFraction * 100)} % of the ${organ} it labelled (chosen by a margin under ${UNSURE_MARGIN} probability over another label): review the ${organ} before use.`
}
