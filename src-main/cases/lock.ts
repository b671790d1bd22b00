/**
 * One lock file per open case (`<case>/.lock`), so that two processes — or two windows of one
 * process — never write the same case. The file is created with O_EXCL; it holds the owner's pid and
 * host. A lock whose pid is dead on this host is stale (the app crashed or was killed) and is taken
 * over; a live one is refused with a message that says who holds it.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { LockFileSchema, type LockFile } from './schemas.js'

export class CaseLockedError extends Error {
  readonly code = 'case-locked'
  readonly holder: LockFile | undefined
  constructor(message: string, holder?: LockFile) {
    super(message)
    this.name = 'CaseLockedError'
    this.holder = holder
  }
}

/** Locks this process holds, by lock path: a second open from another window is refused too. */
const held = new Map<string, string>()

export interface CaseLock {
  readonly path: string
  release(): Promise<void>
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readLock(path: string): Promise<LockFile | undefined> {
  try {
    const r = LockFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes the lock at `path` for the case called `caseLabel` (used in messages).
 * `force` takes over a lock held by a process on another host (which we cannot check).
 */
export async function acquireLock(path: string, caseLabel: string, opts: { owner?: string; force?: boolean } = {}): Promise<CaseLock> {
  if (held.has(path)) {
    throw new CaseLockedError(`case "${caseLabel}" is already open in another window of this SCN Studio; switch to that window or close the case there first`)
  }
  const me: LockFile = { pid: process.pid, hostname: hostname(), since: new Date().toISOString(), ...(opts.owner ? { owner: opts.owner } : {}) }
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      const fh = await open(path, 'wx')
      try {
        await fh.writeFile(JSON.stringify(me))
        await fh.sync()
      } finally {
        await fh.close()
      }
      const token = `${me.pid}:${me.since}`
      held.set(path, token)
      return {
        path,
        async release() {
          if (held.get(path) !== token) return
          held.delete(path)
          // only remove the file if it is still ours
          const cur = await readLock(path)
          if (cur && cur.pid === me.pid && cur.since === me.since) await unlink(path).catch(() => {})
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${path}: cannot create the case lock file (${(e as Error).message})`)
    }
    const { other, state } = await holderState(path, held.has(path), opts.force)
    if (state === 'gone') continue
    if (state === 'starting') {
      await sleep(100)
      continue
    }
    if (state === 'live') {
      const where = other!.hostname === me.hostname ? `process ${other!.pid}` : `process ${other!.pid} on ${other!.hostname}`
      throw new CaseLockedError(
        `case "${caseLabel}" is open in another SCN Studio (${where}${other!.owner ? `, ${other!.owner}` : ''}, since ${other!.since}); close it there first${other!.hostname === me.hostname ? '' : ', or open it with "force" if that machine is gone'}`,
        other,
      )
    }
    await removeStaleLock(path, other)
  }
  throw new CaseLockedError(`case "${caseLabel}": could not take the lock ${path} (another process keeps re-creating it)`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Whether the lock file at `path` still binds: 'gone' when it disappeared meanwhile (try again at
 * once), 'starting' while its writer is between create and write, 'stale' when its process is gone
 * (or `force` and it is on another host, which we cannot check) or it is older than `maxAgeMs`,
 * else 'live'. `heldHere`: this process holds it (its own pid in the file is live).
 */
async function holderState(path: string, heldHere: boolean, force?: boolean, maxAgeMs = Infinity): Promise<{ other?: LockFile; state: 'live' | 'stale' | 'starting' | 'gone' }> {
  const other = await readLock(path)
  const age = await stat(path).then(
    (s) => Date.now() - s.mtimeMs,
    () => null,
  )
  if (age === null) return { state: 'gone' }
  if (!other) {
    // Unreadable: either its writer is between create and write (wait), or died there (stale).
    return { state: age < 2000 ? 'starting' : 'stale' }
  }
  let stale = age > maxAgeMs
  if (other.hostname === hostname()) stale ||= other.pid === process.pid ? !heldHere : !pidAlive(other.pid)
  else if (force) stale = true
  return { other, state: stale ? 'stale' : 'live' }
}

const sameHolder = (a: LockFile | undefined, b: LockFile | undefined) => (a && b ? a.pid === b.pid && a.since === b.since && a.hostname === b.hostname : a === b)

/**
 * Removes the lock file at `path` if it still holds the stale `judged` holder. One process at a
 * time (under `<path>.break`): two processes that both judged a dead holder stale must not have
 * the second delete the lock the first has just taken.
 */
async function removeStaleLock(path: string, judged: LockFile | undefined): Promise<void> {
  const guard = `${path}.break`
  const fh = await open(guard, 'wx').catch(() => null)
  if (!fh) {
    // another process is breaking it now; a guard left by one that died is old
    const age = await stat(guard).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    )
    if (age > 10_000) await unlink(guard).catch(() => {})
    await sleep(5)
    return
  }
  try {
    await fh.close()
    const now = await readLock(path)
    // an unreadable file must still be an old one (a new lock is unreadable for a moment too)
    const old = judged ?? (await stat(path).then((st) => Date.now() - st.mtimeMs > 2000, () => false))
    if (old && sameHolder(now, judged)) await unlink(path).catch(() => {})
  } finally {
    await unlink(guard).catch(() => {})
  }
}

/** A short lock (withFileLock) older than this was left by a process we cannot check. */
const STALE_SHORT_LOCK_MS = 60_000
/** Short locks this process holds (withFileLock), by lock path. */
const heldShort = new Set<string>()

/**
 * Runs `fn` holding the lock file `path` (O_EXCL, with this process's pid): a read-modify-write of a
 * file that several processes share, such as workspace.json's label table, where two writers
 * starting from one version would give one value to two classes. Waits while a live process holds
 * it, takes over one whose process is gone, and gives up after `timeoutMs` saying who holds it.
 */
export async function withFileLock<T>(path: string, what: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  const me: LockFile = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() }
  for (;;) {
    if (!heldShort.has(path)) {
      const fh = await open(path, 'wx').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return null
        throw new Error(`${what}: cannot create the lock file ${path} (${e.message})`)
      })
      if (fh) {
        heldShort.add(path)
        try {
          try {
            await fh.writeFile(JSON.stringify(me))
          } finally {
            await fh.close()
          }
          return await fn()
        } finally {
          heldShort.delete(path)
          // only our own file: a slow change may have been judged stale and the lock taken over
          if (sameHolder(await readLock(path), me)) await unlink(path).catch(() => {})
        }
      }
      // held for milliseconds: one older than a minute was left by a process we cannot check
      // (another host, a reused pid)
      const { other, state } = await holderState(path, heldShort.has(path), false, STALE_SHORT_LOCK_MS)
      if (state === 'gone') continue
      if (state === 'stale') {
        await removeStaleLock(path, other)
        continue
      }
      if (Date.now() > deadline) {
        const who = other ? `process ${other.pid}${other.hostname === me.hostname ? '' : ` on ${other.hostname}`} since ${other.since}` : 'a process that is starting'
        throw new Error(`${what}: another SCN Studio is changing it (${who} holds ${path}); try again in a moment`)
      }
    } else if (Date.now() > deadline) {
      throw new Error(`${what}: this process has been changing it for ${Math.round(timeoutMs / 1000)} s (${path}); try again in a moment`)
    }
    await sleep(10 + Math.random() * 20)
  }
}

/** Who holds the lock now, if anyone alive (for the case list). */
export async function lockHolder(path: string): Promise<LockFile | undefined> {
  const l = await readLock(path)
  if (!l) return undefined
  if (l.hostname === hostname() && l.pid !== process.pid && !pidAlive(l.pid)) return undefined
  return l
}
