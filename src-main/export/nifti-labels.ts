/**
 * NIfTI label export: <out>.nii.gz on the CT's exact grid with the workspace's fixed values, plus
 * <stem>.labels.json (the full label table, absent organs included) and <stem>.provenance.json.
 */
import { encodeNifti } from '../volumes/nifti.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { checkSameGrid, provenanceFor, stemOf, writeJson, type LabelExportInput } from './common.js'
import { labelSidecar } from './label-sidecar.js'

export async function exportNiftiLabels(input: LabelExportInput, out: string): Promise<string[]> {
  checkSameGrid(input)
  const file = /\.nii(\.gz)?$/i.test(out) ? out : `${out}.nii.gz`
  const stem = stemOf(file)
  const files = [file, `${stem}.labels.json`, `${stem}.provenance.json`]
  // labels carry the CT's geometry, not their own: identical by checkSameGrid, and the CT's is the truth
  await writeFileAtomic(file, encodeNifti({ ...input.ct, data: input.labels.data, meta: {} }, file.toLowerCase().endsWith('.gz')))
  await writeJson(files[1], labelSidecar(input.table, input.labels.data))
  await writeJson(files[2], provenanceFor(input, 'nifti', files))
  return files
}
