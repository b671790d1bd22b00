/**
 * Export of corrected labels as training data, and DICOM SEG import.
 *
 * Service overview for the hosts (src-main/services, src-main/hosts):
 *   exportCase(ws, caseId, 'nifti' | 'nnunet' | 'dicom-seg' | 'seg-nrrd', outPath, { ignoreUnapproved? })
 *       -> files written (label file + <stem>.labels.json + <stem>.provenance.json; nnunet: a dataset folder)
 *   exportWorkspace(ws, outDir, { ignoreUnapproved?, statuses? }) -> { files, cases }   // one nnU-Net dataset
 *   exportLabels(input, format, out)      // headless: input = { ct, ctPath, labels, table, prediction?, model? }
 *   readDicomSeg(file, ctGeometry, table, { unknown: 'error' | 'skip' | 'add' }) -> { labels, segments, overlaps, table }
 *   organReport / writeOrganReport        // organ volume CSV + JSON
 *   lesionReport / writeLesionReport      // lesions.csv + JSON: one row per lesion (component) of each lesion label
 * Rules: labels are written on the CT's exact grid (a mismatch is an error, never a resample); the
 * workspace label table's values are used as is; every export carries the full table (absent
 * organs included) and a provenance record. DICOM SEG needs the CT as a DICOM folder.
 * Errors: ExportError / VolumeError, messages name the file and the problem.
 */
export { exportCase, exportWorkspace, exportLabels, caseExportInput, type ExportFormat, type WorkspaceExportOptions } from './case-export.js'
export { exportNiftiLabels } from './nifti-labels.js'
export { exportNnunetDataset, writeNnunetCase, writeDatasetJson, datasetLabels, type NnunetCase, type DatasetJson } from './nnunet.js'
export { exportDicomSeg, encodeDicomSeg, readDicomSeg, planSegments, type ImportedSeg } from './dicom-seg.js'
export { exportSegNrrd, segNrrdFields } from './seg-nrrd.js'
export { organReport, writeOrganReport, reportCsv, type ReportRow } from './report.js'
export { lesionReport, writeLesionReport, lesionsCsv, hasLesionLabels, LESION_CSV_HEADER, LESION_CONNECTIVITY, type LesionRow } from './lesions.js'
export { labelSidecar, type LabelSidecar } from './label-sidecar.js'
export { ExportError, checkSameGrid, type LabelExportInput } from './common.js'
