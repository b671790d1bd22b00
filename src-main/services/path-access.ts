/**
 * Which files the renderer may make main read or write. Reading and writing are granted apart:
 * - read: what the user opened (launch path, open dialog, a dropped file or folder) and the
 *   write grants below. Everything read this way is an opened source. A drop grants one item,
 *   read-only, until the next drop; opening it makes the grant last (see grantDropped).
 * - write: the workspace, the user models folder, folders the user allowed on the command line
 *   (web host `--allow-dir`) and a path the user chose in a save dialog.
 * A write is refused when its target is, lies inside, or contains an opened source (a CT file, a
 * DICOM folder, a labels file), whichever grant covers it: exports never replace what the user is
 * working from. Paths are compared after resolving symlinks, so a link inside an allowed folder
 * cannot point the app elsewhere.
 */
import { statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { ContractError } from '../../src-shared/contract/errors.js'
import { inside, realish } from '../util/real-path.js'

export type AccessMode = 'read' | 'write'

interface Grant {
  path: string
  /** a folder grants everything below it; a file grants itself only */
  subtree: boolean
  mode: AccessMode
}

export class PathAccess {
  private grants: Grant[] = []
  private opened: string[] = []
  /** the last dropped item, readable until the next drop or until opened (then a lasting read grant) */
  private dropped: Grant | undefined

  /**
   * Allow a file (itself) or folder (its subtree). 'read' (the default) is for what the user opened,
   * which becomes an opened source; 'write' is for folders that hold outputs (it allows reading too).
   */
  grant(path: string, mode: AccessMode = 'read', kind?: 'file' | 'folder'): void {
    const real = realish(path)
    let subtree = kind === 'folder'
    if (!kind) {
      try {
        subtree = statSync(real).isDirectory()
      } catch {
        subtree = true // a folder that does not exist yet (workspace before first use)
      }
    }
    if (!this.grants.some((g) => g.path === real && g.subtree === subtree && g.mode === mode)) this.grants.push({ path: real, subtree, mode })
    if (mode === 'read') this.addSource(real)
  }

  /**
   * A file or folder the user dropped on the window (Electron: the preload's webUtils path). The
   * renderer names it, so it grants less than a dialog: read-only, that one item, and only until
   * the next drop unless it is opened. Returns false (granting nothing) for anything that is not
   * an absolute path to an existing regular file or folder.
   */
  grantDropped(path: unknown): boolean {
    if (typeof path !== 'string' || path.length === 0 || path.length > 4096 || !isAbsolute(path) || path.includes('\0')) return false
    let st
    try {
      st = statSync(path)
    } catch {
      return false
    }
    if (!st.isFile() && !st.isDirectory()) return false
    this.dropped = { path: realish(path), subtree: st.isDirectory(), mode: 'read' }
    return true
  }

  /** Undo a read grant made for an open that then failed (the path was not opened after all). */
  revoke(path: string): void {
    const real = realish(path)
    this.grants = this.grants.filter((g) => !(g.path === real && g.mode === 'read'))
    this.opened = this.opened.filter((o) => o !== real)
  }

  /** Record a file or folder the app reads from (an opened CT or labels file): never an output. */
  addSource(path: string): void {
    const real = realish(path)
    if (!this.opened.includes(real)) this.opened.push(real)
    // opening (inside) the dropped item is the user opening it: its grant now lasts
    const d = this.dropped
    if (d && (d.subtree ? inside(real, d.path) : real === d.path)) {
      this.dropped = undefined
      this.grant(d.path)
    }
  }

  /** The opened sources, resolved. */
  sources(): string[] {
    return [...this.opened]
  }

  /** The granted roots, for messages and app info. */
  roots(mode?: AccessMode): string[] {
    return this.grants.filter((g) => !mode || g.mode === mode).map((g) => g.path)
  }

  allowed(path: string, mode: AccessMode = 'read'): boolean {
    if (!isAbsolute(path)) return false
    const real = realish(path)
    const grants = mode === 'read' && this.dropped ? [...this.grants, this.dropped] : this.grants
    return grants.some((g) => (mode === 'read' || g.mode === 'write') && (g.subtree ? inside(real, g.path) : real === g.path))
  }

  /** Return the resolved path, or throw `forbidden` naming the path, the reason and the way to allow it. */
  check(path: string, purpose: AccessMode = 'read'): string {
    if (!isAbsolute(path)) throw new ContractError('bad-request', `${path}: the path must be absolute`)
    const real = realish(path)
    if (purpose === 'write') {
      for (const s of this.opened) {
        if (real === s) throw new ContractError('forbidden', `${path}: this is a file you opened; SCN Studio never writes over an opened CT or labels file. Choose another name`)
        if (inside(real, s)) throw new ContractError('forbidden', `${path}: this lies inside ${s}, which you opened; SCN Studio never writes into an opened source. Choose a folder outside it`)
        if (inside(s, real)) throw new ContractError('forbidden', `${path}: ${s}, which you opened, lies inside this folder; choose another folder`)
      }
    }
    if (!this.allowed(path, purpose)) {
      throw new ContractError(
        'forbidden',
        purpose === 'write'
          ? `${path}: SCN Studio writes only to the workspace, the user models folder and a path you chose in a save dialog ` +
              `(web host: a folder given with \`--allow-dir <folder>\`); opened files and folders are read-only`
          : `${path}: SCN Studio may only read files you opened and the workspace; open this file or its folder first ` +
              `(web host: start it with \`scn-studio serve <path>\` or add \`--allow-dir <folder>\`)`,
      )
    }
    return real
  }
}
