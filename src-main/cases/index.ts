/**
 * Cases: the workspace of CTs being annotated, and the guarantee that nothing drawn is lost.
 *
 * Service overview for the hosts (src-main/services, src-main/hosts):
 *   const ws = await Workspace.open(dir?, { create: true })    // default dir: defaultWorkspaceDir()
 *   ws.labelTable / ws.addLabel(TEAM_PRESETS[0]) / ws.updateLabel(v, { name?, color? }) / ws.retireLabel(v)   // one versioned table per workspace
 *   ws.createCase({ ctPath, name?, copyCt?, prediction?: { labels, model } })  -> CaseFile
 *   ws.setPrediction(id, labels, { id, version, provider })    // after "Segment"
 *   ws.listCases({ status?, text?, sort?, descending? })       -> { cases: CaseListing[], problems }
 *   ws.nextTodo(afterId?)                                      // the "next to-do" key
 *   const s = await ws.openCase(id, { user })   // takes <case>/.lock; CaseLockedError if held elsewhere
 *   s.labels (Uint8Array on the CT grid), s.putLabels(bytes)   // call on every labelmap put: autosaves <= 2 s
 *   await s.flush(); await s.close()                           // close writes pending edits, releases the lock
 *   ws.approveOrgan(id, value, reviewer, comment?) / ws.flagOrgan(id, value, reviewer, comment)
 *   ws.setStatus(id, 'todo' | 'in-progress' | 'flagged', comment?)    // 'reviewed' only via approvals
 *   await ws.closeAll()                                        // on app quit
 * Errors: WorkspaceError (code not-found | bad-file | bad-request | exists), CaseLockedError
 * (code 'case-locked' -> contract 'conflict'), LabelTableError. Messages name the file or case.
 * All writes are atomic (temp + fsync + rename); see workspace.ts for the folder layout.
 */
export { Workspace, WorkspaceError, type CaseListing, type CaseQuery, type CreateCaseInput } from './workspace.js'
export { CaseSession, CaseSaveError, type CaseSessionOptions } from './session.js'
export { CaseLockedError, acquireLock, lockHolder } from './lock.js'
export { DebouncedSaver, type SaverOptions } from './autosave.js'
export {
  defaultLabelTable,
  addLabel,
  retireLabel,
  updateLabel,
  isLesion,
  presetByName,
  mergeModelLabels,
  labelByValue,
  ignoreValue,
  validateLabelTable,
  LabelTableError,
  TEAM_PRESETS,
  TEAM_COLORS,
  type NewLabel,
  type LabelChange,
  type TeamPreset,
} from './label-table.js'
export { deriveStatus, reviewItems, unapprovedValues } from './review.js'
export { labelStats, editStats, type OrganEdit } from './label-stats.js'
export { buildProvenance, ProvenanceSchema, type Provenance } from './provenance.js'
export * from './schemas.js'
