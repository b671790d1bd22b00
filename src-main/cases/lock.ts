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
    const other = await readLock(path)
    let stale = false
    if (!other) {
      // Unreadable: either its writer is between create and write (wait), or died there (stale).
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity)
      if (age < 2000) {
        await new Promise((r) => setTimeout(r, 100))
        continue
      }
      stale = true
    }
    else if (other.hostname === me.hostname) stale = other.pid === process.pid ? !held.has(path) : !pidAlive(other.pid)
    else if (opts.force) stale = true
    if (!stale) {
      const where = other!.hostname === me.hostname ? `process ${other!.pid}` : `process ${other!.pid} on ${other!.hostname}`
      throw new CaseLockedError(
        `case "${caseLabel}" is open in another SCN Studio (${where}${other!.owner ? `, ${other!.owner}` : ''}, since ${other!.since}); close it there first${other!.hostname === me.hostname ? '' : ', or open it with "force" if that machine is gone'}`,
        other,
      )
    }
    await unlink(path).catch(() => {})
  }
  throw new CaseLockedError(`case "${caseLabel}": could not take the lock ${path} (another process keeps re-creating it)`)
}

/** Who holds the lock now, if anyone alive (for the case list). */
export async function lockHolder(path: string): Promise<LockFile | undefined> {
  const l = await readLock(path)
  if (!l) return undefined
  if (l.hostname === hostname() && l.pid !== process.pid && !pidAlive(l.pid)) return undefined
  return l
}
