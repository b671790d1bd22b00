/**
 * Path comparison after resolving symlinks, for access checks and export targets: a link cannot
 * make one file look like another, and outputs that do not exist yet resolve through their
 * nearest existing folder.
 */
import { existsSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'

/** realpath of the path, or of its nearest existing ancestor joined with the rest (for outputs). */
export function realish(p: string): string {
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
    // .native: on case-insensitive file systems (macOS, Windows) it returns the name as stored, so
    // "CT.nii.gz" and "ct.nii.gz" compare equal; the JS realpath keeps the case it was given
    real = realpathSync.native(cur)
  } catch {
    // unreadable ancestor: compare the plain resolved path
  }
  return tail.length ? resolve(real, ...tail) : real
}

/**
 * Whether `child` is `parent` or lies below it (both already resolved). Only a `..` path segment
 * leaves the folder: a file or folder whose name merely starts with two dots (`..scans`) is inside.
 */
export function inside(child: string, parent: string): boolean {
  const r = relative(parent, child)
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r))
}
