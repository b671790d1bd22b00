/**
 * nnU-Net v2 dataset export (raw dataset format):
 *   <out>/imagesTr/<case>_0000.nii.gz   the CT (channel 0), HU as stored
 *   <out>/labelsTr/<case>.nii.gz        labels on exactly the image's grid
 *   <out>/dataset.json                  channel_names, labels, numTraining, file_ending
 *   <out>/labels.json, <out>/provenance/<case>.json   our label table and per-case provenance
 * nnU-Net wants label values consecutive from 0; our values are consecutive by construction, and
 * any gap (a model organ merged in with a higher value) is filled with an "unused_<v>" name rather
 * than renumbering. With `ignoreUnapproved`, voxels of organs not yet approved in review get the
 * "ignore" label (the highest value, as nnU-Net requires) so partially reviewed cases still train.
 */
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeNifti } from '../volumes/nifti.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { ignoreValue } from '../cases/label-table.js'
import type { LabelTable } from '../cases/schemas.js'
import { ExportError, checkSameGrid, provenanceFor, writeJson, type LabelExportInput } from './common.js'
import { labelSidecar } from './label-sidecar.js'

export interface NnunetCase {
  /** nnU-Net case identifier (letters, digits, dash, underscore) */
  id: string
  input: LabelExportInput
  /** label values whose voxels become "ignore" (organs not approved); only used with ignoreUnapproved */
  unapproved?: number[]
}

export interface NnunetOptions {
  ignoreUnapproved?: boolean
  /** dataset.json "name"/"description" */
  name?: string
  description?: string
}

export interface DatasetJson {
  channel_names: Record<string, string>
  labels: Record<string, number>
  numTraining: number
  file_ending: '.nii.gz'
  name?: string
  description?: string
  reference?: string
}

export function datasetLabels(table: LabelTable, withIgnore: boolean): Record<string, number> {
  const labels: Record<string, number> = { background: 0 }
  const max = Math.max(...table.labels.map((l) => l.value))
  for (let v = 1; v <= max; v++) {
    const l = table.labels.find((x) => x.value === v)
    const name = l ? l.name : `unused_${v}`
    if (name in labels) throw new ExportError(`label name "${name}" is used twice; nnU-Net needs unique names`)
    labels[name] = v
  }
  if (withIgnore) {
    if ('ignore' in labels) throw new ExportError('the label table already has a class named "ignore"; rename it before exporting with --ignore-unapproved')
    labels.ignore = ignoreValue(table)
  }
  return labels
}

function checkCaseId(id: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new ExportError(`"${id}" cannot be an nnU-Net case identifier (use letters, digits, dash, underscore)`)
}

/** Writes one case's image, labels and provenance into a dataset folder; returns the files. */
export async function writeNnunetCase(datasetDir: string, c: NnunetCase, opts: NnunetOptions = {}): Promise<string[]> {
  checkCaseId(c.id)
  const { input } = c
  checkSameGrid(input)
  const image = join(datasetDir, 'imagesTr', `${c.id}_0000.nii.gz`)
  const label = join(datasetDir, 'labelsTr', `${c.id}.nii.gz`)
  const prov = join(datasetDir, 'provenance', `${c.id}.json`)
  let data = input.labels.data
  if (opts.ignoreUnapproved && c.unapproved?.length) {
    const ign = ignoreValue(input.table)
    const mark = new Uint8Array(256)
    for (const v of c.unapproved) mark[v] = 1
    data = data.map((v) => (mark[v] ? ign : v))
  }
  // image and label share one geometry object: nnU-Net checks they match, and nibabel in our tests
  const geometry = { dims: input.ct.dims, spacing: input.ct.spacing, origin: input.ct.origin, direction: input.ct.direction }
  await writeFileAtomic(image, encodeNifti({ ...geometry, data: input.ct.data, meta: {} }))
  await writeFileAtomic(label, encodeNifti({ ...geometry, data, meta: {} }))
  await writeJson(prov, { ...provenanceFor(input, 'nnunet', [image, label]), ignoredValues: opts.ignoreUnapproved ? (c.unapproved ?? []) : [] })
  return [image, label, prov]
}

export async function writeDatasetJson(datasetDir: string, table: LabelTable, numTraining: number, opts: NnunetOptions = {}): Promise<string[]> {
  const ds: DatasetJson = {
    channel_names: { '0': 'CT' },
    labels: datasetLabels(table, !!opts.ignoreUnapproved),
    numTraining,
    file_ending: '.nii.gz',
    ...(opts.name ? { name: opts.name } : {}),
    description: opts.description ?? 'Exported by SCN Studio: SCN organ predictions corrected by annotators',
    reference: 'SCN Studio label table (labels.json)',
  }
  const file = join(datasetDir, 'dataset.json')
  const tableFile = join(datasetDir, 'labels.json')
  await writeJson(tableFile, { ...labelSidecar(table, new Uint8Array(0)), labels: table.labels })
  // last: a folder with dataset.json is a complete dataset (nnU-Net and our readers rely on it)
  await writeJson(file, ds)
  return [file, tableFile]
}

/** Temp files of writeFileAtomic (.<name>.<pid>.<hex>.tmp) whose writer is no longer running: debris of a killed export. */
async function removeStaleTemps(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)
      if (m && !pidAlive(Number(m[1]))) await unlink(join(dir, name)).catch(() => {})
    }
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return false // none of ours is in flight before the export starts
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A complete dataset from one or more cases. */
export async function exportNnunetDataset(out: string, cases: NnunetCase[], opts: NnunetOptions = {}): Promise<string[]> {
  if (cases.length === 0) throw new ExportError('no cases to export')
  const ids = new Set<string>()
  for (const c of cases) {
    if (ids.has(c.id)) throw new ExportError(`case identifier "${c.id}" appears twice`)
    ids.add(c.id)
  }
  const table = cases[0].input.table
  if (cases.some((c) => c.input.table.version !== table.version)) throw new ExportError('the cases use different label table versions; export them from one workspace')
  const dirs = [out, join(out, 'imagesTr'), join(out, 'labelsTr'), join(out, 'provenance')]
  const outExisted = existsSync(out)
  await mkdir(dirs[1], { recursive: true })
  await mkdir(dirs[2], { recursive: true })
  await removeStaleTemps(dirs)
  // the files this export may create, and which of them are new: on failure the new ones go again
  const planned = cases.flatMap((c) => [join(out, 'imagesTr', `${c.id}_0000.nii.gz`), join(out, 'labelsTr', `${c.id}.nii.gz`), join(out, 'provenance', `${c.id}.json`)])
  planned.push(join(out, 'labels.json'), join(out, 'dataset.json'))
  const fresh = planned.filter((f) => !existsSync(f))
  const files: string[] = []
  try {
    for (const c of cases) files.push(...(await writeNnunetCase(out, c, opts)))
    files.push(...(await writeDatasetJson(out, table, cases.length, opts)))
  } catch (e) {
    // no half dataset (cases without dataset.json, stray temp files) is left to be mistaken for a whole one
    if (!outExisted) await rm(out, { recursive: true, force: true })
    else {
      await Promise.all(fresh.map((f) => unlink(f).catch(() => {})))
      await removeStaleTemps(dirs)
    }
    throw e
  }
  return files
}
