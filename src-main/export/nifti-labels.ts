/**
 * NIfTI label export: <out>.nii.gz on the CT's exact grid with the workspace's fixed values, plus
 * <stem>.labels.json (the full label table, absent organs included) and <stem>.provenance.json.
 */
import { encodeNifti } from '../volumes/nifti.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { checkSameGrid, checkTargets, provenanceFor, sourcesOf, stemOf, writeJson, type LabelExportInput, type TargetOptions } from './common.js'
import { labelSidecar } from './label-sidecar.js'

/** The files a NIfTI export to `out` writes: the labels, their table, their provenance. */
export function niftiTargets(out: string): string[] {
  const file = /\.nii(\.gz)?$/i.test(out) ? out : `${out}.nii.gz`
  const stem = stemOf(file)
  return [file, `${stem}.labels.json`, `${stem}.provenance.json`]
}

export async function exportNiftiLabels(input: LabelExportInput, out: string, opts: TargetOptions = {}): Promise<string[]> {
  checkSameGrid(input)
  const files = niftiTargets(out)
  const file = files[0]
  checkTargets(files, sourcesOf(input), opts)
  // labels carry the CT's geometry, not their own: identical by checkSameGrid, and the CT's is the truth
  await writeFileAtomic(file, encodeNifti({ ...input.ct, data: input.labels.data, meta: {} }, file.toLowerCase().endsWith('.gz')))
  await writeJson(files[1], labelSidecar(input.table, input.labels.data))
  await writeJson(files[2], provenanceFor(input, 'nifti', files))
  return files
}
