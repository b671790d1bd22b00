/**
 * Which files the renderer may make main read or write: what the user opened (launch path, native
 * dialog, drag-and-drop, `--allow-dir`) and the workspace. Everything else is refused with a
 * message saying why and how to allow it. Paths are compared after resolving symlinks, so a link
 * inside an allowed folder cannot point the app elsewhere.
 */
import { existsSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { ContractError } from '../contract/errors.js'

interface Grant {
  path: string
  /** a folder grants everything below it; a file grants itself only */
  subtree: boolean
}

/** realpath of the path, or of its nearest existing ancestor joined with the rest (for outputs). */
function realish(p: string): string {
  let cur = resolve(p)
  const tail: string[] = []
  while (!existsSync(cur)) {
    const parent = dirname(cur)
    if (parent === cur) break
    tail.unshift(cur.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)))
    cur = parent
  }
  let real = cur
  try {
    real = realpathSync(cur)
  } catch {
    // unreadable ancestor: compare the plain resolved path
  }
  return tail.length ? resolve(real, ...tail) : real
}

function inside(child: string, parent: string): boolean {
  const r = relative(parent, child)
  return r === '' || (!r.startsWith('..') && !isAbsolute(r))
}

export class PathAccess {
  private grants: Grant[] = []

  /** Allow a file (itself) or folder (its subtree). */
  grant(path: string): void {
    const real = realish(path)
    let subtree = true
    try {
      subtree = statSync(real).isDirectory()
    } catch {
      // a folder that does not exist yet (workspace before first use)
    }
    if (!this.grants.some((g) => g.path === real && g.subtree === subtree)) this.grants.push({ path: real, subtree })
  }

  /** The granted roots, for messages and app info. */
  roots(): string[] {
    return this.grants.map((g) => g.path)
  }

  allowed(path: string): boolean {
    if (!isAbsolute(path)) return false
    const real = realish(path)
    return this.grants.some((g) => (g.subtree ? inside(real, g.path) : real === g.path))
  }

  /** Return the resolved path, or throw `forbidden` naming the path and the way to allow it. */
  check(path: string, purpose: 'read' | 'write' = 'read'): string {
    if (!isAbsolute(path)) throw new ContractError('bad-request', `${path}: the path must be absolute`)
    if (!this.allowed(path)) {
      throw new ContractError(
        'forbidden',
        `${path}: SCN Studio may only ${purpose} files you opened and the workspace; open this file or its folder first ` +
          `(web host: start it with \`scn-studio serve <path>\` or add \`--allow-dir <folder>\`)`,
      )
    }
    return realish(path)
  }
}
