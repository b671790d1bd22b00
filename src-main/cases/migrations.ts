/**
 * Brings case.json and workspace.json written by earlier versions of SCN Studio forward to the
 * version this code writes, one step per version, before the zod schema checks them. A file is
 * migrated in memory on every read; the next write of the case (a save, a review) stores it at the
 * current version. A file from a *newer* SCN Studio is refused rather than guessed at.
 *
 * Adding a version: bump the constant in schemas.ts, add the step `N: (vN) => vN+1` here, and add a
 * vN fixture under test/fixtures/cases/ (test/unit/cases-migrations.test.ts loads every fixture).
 */
import { WorkspaceError } from './errors.js'
import { CASE_SCHEMA_VERSION, WORKSPACE_SCHEMA_VERSION } from './schemas.js'

type Json = Record<string, unknown>
/** Takes a file of version N (keyed by N) and returns it as version N + 1. */
type Step = (file: Json) => Json

export const CASE_MIGRATIONS: Readonly<Record<number, Step>> = {
  // v1 -> v2: the CT's grid moves from loose fields beside its path into one `geometry` record
  // (the Geometry of src-shared/volume.ts, as the contract's GeometrySchema checks it)
  1: (c) => {
    const { dims, spacing, origin, direction, ...ct } = (c.ct ?? {}) as Json
    return { ...c, schema: 2, ct: { ...ct, geometry: { dims, spacing, origin, direction } } }
  },
}

/** workspace.json has had one version so far. */
export const WORKSPACE_MIGRATIONS: Readonly<Record<number, Step>> = {}

function migrate(what: string, json: unknown, file: string, current: number, steps: Readonly<Record<number, Step>>): unknown {
  // not an object or no integer version: leave it to the schema, which names the field
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json
  let out = json as Json
  const from = out.schema
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) return json
  if (from > current) {
    throw new WorkspaceError('bad-file', `${file}: this ${what} is schema version ${from}, written by a newer SCN Studio; this one reads versions up to ${current}. Update SCN Studio to open it`)
  }
  for (let v = from; v < current; v++) {
    const step = steps[v]
    if (!step) throw new WorkspaceError('bad-file', `${file}: no migration from ${what} schema version ${v} to ${v + 1}`)
    out = step(out)
  }
  return out
}

/** case.json of any earlier version, as the current version (not yet validated). */
export function migrateCaseFile(json: unknown, file: string): unknown {
  return migrate('case file', json, file, CASE_SCHEMA_VERSION, CASE_MIGRATIONS)
}

/** workspace.json of any earlier version, as the current version (not yet validated). */
export function migrateWorkspaceFile(json: unknown, file: string): unknown {
  return migrate('workspace file', json, file, WORKSPACE_SCHEMA_VERSION, WORKSPACE_MIGRATIONS)
}
