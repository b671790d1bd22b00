/**
 * The undo history of a workspace case survives a reload (or a renderer crash): the labels are
 * autosaved to the host, and this keeps the patches that lead to them in the browser's IndexedDB,
 * so Ctrl+Z after a reload still takes back the last brush stroke. A kept history is adopted only
 * if the reopened labelmap holds exactly what its newest entries produced (EditSession.adoptHistory);
 * edits that never reached the host make it stale, and it is dropped, never replayed.
 *
 * Writes are incremental (each patch is stored once, under its own key; the case's record lists
 * which ones make up the undo and redo stacks) and bounded: the newest entries up to KEEP_BYTES per
 * case (a whole-volume "Apply prediction" may not fit; the entries below it are then not kept) and
 * the KEEP_CASES cases saved last.
 */
import type { Patch } from './patch.js'
import type { EditSession } from './session.js'

export const KEEP_BYTES = 64 * 1024 * 1024
export const KEEP_CASES = 5
const SAVE_DELAY_MS = 300
const DB_NAME = 'scn-studio-undo'

export interface KeptHistory {
  done: Patch[]
  undone: Patch[]
}

/** Where kept histories live: IndexedDB in the app; anything with these two calls in a test. */
export interface HistoryVault {
  load(key: string): Promise<{ history: KeptHistory; ids: Map<Patch, number> } | null>
  /** stores the stacks; `ids` (patch -> stored id) is updated with what was written */
  save(key: string, done: readonly Patch[], undone: readonly Patch[], ids: Map<Patch, number>): Promise<void>
}

interface CaseRecord {
  key: string
  done: number[]
  undone: number[]
  nextId: number
  savedAt: number
}

interface PatchRecord extends Patch {
  key: string
  id: number
}

const bytesOf = (p: Patch) => p.indices.byteLength + p.before.byteLength + p.after.byteLength

/** The newest entries of a stack (oldest first) that fit in `budget` bytes; stops at the first that does not fit. */
export function newestWithin(stack: readonly Patch[], budget: number): { kept: Patch[]; bytes: number } {
  const kept: Patch[] = []
  let bytes = 0
  for (let i = stack.length - 1; i >= 0; i--) {
    const b = bytesOf(stack[i]!)
    if (bytes + b > budget) break
    bytes += b
    kept.unshift(stack[i]!)
  }
  return { kept, bytes }
}

const done = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
const finished = (t: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    t.oncomplete = () => resolve()
    t.onerror = () => reject(t.error)
    t.onabort = () => reject(t.error ?? new Error('aborted'))
  })

/** The IndexedDB vault; null where the page has no IndexedDB (the history then lives in memory only). */
export function indexedDbVault(idb: IDBFactory | undefined = globalThis.indexedDB): HistoryVault | null {
  if (!idb) return null
  let db: Promise<IDBDatabase> | null = null
  const open = (): Promise<IDBDatabase> =>
    (db ??= new Promise((resolve, reject) => {
      const r = idb.open(DB_NAME, 1)
      r.onupgradeneeded = () => {
        r.result.createObjectStore('cases', { keyPath: 'key' })
        r.result.createObjectStore('patches', { keyPath: ['key', 'id'] })
      }
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    }))
  return {
    async load(key) {
      const t = (await open()).transaction(['cases', 'patches'], 'readonly')
      const rec = (await done(t.objectStore('cases').get(key))) as CaseRecord | undefined
      if (!rec) return null
      const ids = new Map<Patch, number>()
      const read = async (list: number[]) => {
        const out: Patch[] = []
        for (const id of list) {
          const p = (await done(t.objectStore('patches').get([key, id]))) as PatchRecord | undefined
          if (!p) return null
          const patch: Patch = { name: p.name, indices: p.indices, before: p.before, after: p.after, slices: p.slices }
          ids.set(patch, id)
          out.push(patch)
        }
        return out
      }
      const d = await read(rec.done)
      const u = await read(rec.undone)
      return d && u ? { history: { done: d, undone: u }, ids } : null
    },
    async save(key, doneStack, undoneStack, ids) {
      const d = newestWithin(doneStack, KEEP_BYTES)
      const u = newestWithin(undoneStack, KEEP_BYTES - d.bytes)
      const t = (await open()).transaction(['cases', 'patches'], 'readwrite')
      const cases = t.objectStore('cases')
      const patches = t.objectStore('patches')
      const old = (await done(cases.get(key))) as CaseRecord | undefined
      let nextId = old?.nextId ?? 1
      const idOf = (p: Patch): number => {
        let id = ids.get(p)
        if (id === undefined) {
          id = nextId++
          ids.set(p, id)
          const rec: PatchRecord = { key, id, name: p.name, indices: p.indices, before: p.before, after: p.after, slices: p.slices }
          patches.put(rec)
        }
        return id
      }
      // (nextId is read after both maps have drawn their new ids)
      const rec: CaseRecord = { key, done: d.kept.map(idOf), undone: u.kept.map(idOf), nextId, savedAt: Date.now() }
      const live = new Set([...rec.done, ...rec.undone])
      for (const id of [...(old?.done ?? []), ...(old?.undone ?? [])]) if (!live.has(id)) patches.delete([key, id])
      for (const [p, id] of ids) if (!live.has(id)) ids.delete(p)
      cases.put(rec)
      // the cases saved last are kept; older ones go with their patches
      const all = ((await done(cases.getAll())) as CaseRecord[]).filter((c) => c.key !== key).sort((a, b) => b.savedAt - a.savedAt)
      for (const c of all.slice(KEEP_CASES - 1)) {
        cases.delete(c.key)
        patches.delete(IDBKeyRange.bound([c.key, -Infinity], [c.key, Infinity]))
      }
      await finished(t)
    },
  }
}

/** Keeps the open case's history in a vault, and offers it back when the same case opens again. */
export class HistoryKeeper {
  private detach: (() => void) | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private saving: Promise<void> = Promise.resolve()
  private flushNow: (() => Promise<void>) | null = null

  constructor(private readonly vault: HistoryVault | null) {}

  /**
   * A volume is open: `key` names its case (null: not a case, nothing kept). Resolves once a kept
   * history was adopted or refused (true when adopted).
   */
  async attach(key: string | null, session: EditSession): Promise<boolean> {
    this.detach?.()
    this.detach = null
    // the case before keeps its last change (a save still waiting for its delay)
    const before = this.flush()
    this.flushNow = null
    await before
    if (!key || !this.vault) return false
    const vault = this.vault
    let ids = new Map<Patch, number>()
    let adopted = false
    try {
      const kept = await vault.load(key)
      // an edit made while the kept history loaded comes first: it is the newer truth
      if (kept && session.history.depth.undo === 0 && session.history.depth.redo === 0 && session.adoptHistory(kept.history.done, kept.history.undone)) {
        ids = kept.ids
        adopted = true
      }
    } catch {
      /* a broken store loses only the old history */
    }
    const save = (): Promise<void> => {
      this.timer = null
      const { done: d, undone: u } = session.history.snapshot()
      this.saving = this.saving.then(() => vault.save(key, d, u, ids)).catch(() => {})
      return this.saving
    }
    this.flushNow = save
    this.detach = session.onHistory(() => {
      if (this.timer) clearTimeout(this.timer)
      this.timer = setTimeout(save, SAVE_DELAY_MS)
    })
    return adopted
  }

  /** Writes a pending change now (tests; before the page goes away). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
      await this.flushNow?.()
    }
    await this.saving
  }

  dispose(): void {
    this.detach?.()
    if (this.timer) clearTimeout(this.timer)
  }
}
