/**
 * A finished batch opened as workspace cases for annotation and review: each done case becomes a
 * case that references its CT (not copied) with the batch's labels as its model prediction, so the
 * reviewed export later carries the pre-segmentation's provenance (model id, version, provider,
 * edits since the prediction). Importing again adds only the cases not yet in the workspace.
 */
import { join, resolve } from 'node:path'
import { readFileSync, existsSync } from 'node:fs'
import { Workspace } from '../cases/workspace.js'
import type { LabelClass } from '../../src-shared/labels.js'
import { readLabels } from '../volumes/read.js'
import { readManifest, ManifestError } from './manifest.js'
import { unsureByValue } from '../../src-shared/review-hint.js'

export interface WorkspaceImportResult {
  workspace: string
  added: { caseId: string; workspaceCase: string }[]
  /** already in the workspace (same CT and series, prediction by the same model version) */
  present: string[]
  failed: { caseId: string; error: string }[]
}

/** The model organs of the dataset's labels.json, for the workspace label table. */
function datasetModelLabels(datasetDir: string): LabelClass[] | undefined {
  const f = join(datasetDir, 'labels.json')
  if (!existsSync(f)) return undefined
  try {
    const t = JSON.parse(readFileSync(f, 'utf8')) as { labels: { value: number; name: string; color: [number, number, number]; snomed: { code: string; meaning: string }; source: string }[] }
    return t.labels.filter((l) => l.source === 'model').map((l) => ({ value: l.value, name: l.name, color: l.color, snomed: { code: l.snomed.code, meaning: l.snomed.meaning } }))
  } catch {
    return undefined
  }
}

export async function importBatchToWorkspace(datasetDir: string, workspaceDir: string): Promise<WorkspaceImportResult> {
  const manifest = readManifest(datasetDir)
  if (!manifest) throw new ManifestError(`${datasetDir}: no manifest.json: run \`scn-studio batch ... -o ${datasetDir}\` first`)
  const ws = await Workspace.open(workspaceDir, { create: true, modelLabels: datasetModelLabels(datasetDir) })
  const { cases: existing } = await ws.listCases()
  const have = new Set<string>()
  for (const s of existing) {
    if (!s.model || s.model.id !== manifest.model.id || s.model.version !== manifest.model.version) continue
    const c = await ws.readCase(s.id)
    have.add(`${resolve(ws.ctPath(c))}\0${c.ct.seriesUid ?? ''}`)
  }
  const result: WorkspaceImportResult = { workspace: ws.dir, added: [], present: [], failed: [] }
  for (const c of manifest.cases) {
    if (c.status !== 'done' || !c.labels) continue
    if (have.has(`${resolve(c.input)}\0${c.seriesUid ?? ''}`)) {
      result.present.push(c.id)
      continue
    }
    try {
      const labels = await readLabels(join(datasetDir, c.labels))
      const created = await ws.createCase({
        ctPath: c.input,
        name: c.id,
        ...(c.seriesUid ? { seriesUid: c.seriesUid } : {}),
        prediction: {
          labels,
          model: { id: manifest.model.id, version: manifest.model.version, provider: c.provider ?? 'unknown' },
          notes: { warnings: c.warnings, unsure: unsureByValue(c.organs ?? []), ...(c.reviewUnsureAbove !== undefined ? { reviewUnsureAbove: c.reviewUnsureAbove } : {}) },
        },
      })
      result.added.push({ caseId: c.id, workspaceCase: created.id })
    } catch (e) {
      result.failed.push({ caseId: c.id, error: (e as Error).message })
    }
  }
  await ws.closeAll()
  return result
}
