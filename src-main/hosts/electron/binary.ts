/**
 * Where the Electron binary is, without triggering the electron package's lazy download (requiring
 * `electron` from Node downloads the binary on first use, which fails on machines without internet).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const ELECTRON_MISSING = 'The Electron binary is not present (node_modules/electron/dist is missing; this machine cannot download it).'

export function electronPackageDir(): string {
  return resolve(import.meta.dirname, '../../../node_modules/electron')
}

export function electronVersion(): string {
  return (JSON.parse(readFileSync(join(electronPackageDir(), 'package.json'), 'utf8')) as { version: string }).version
}

export function findElectronBinary(): { path: string } | { missing: string } {
  const pkg = electronPackageDir()
  const pathFile = join(pkg, 'path.txt')
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron')
    return existsSync(p) ? { path: p } : { missing: `${ELECTRON_MISSING} ELECTRON_OVERRIDE_DIST_PATH points to ${p}, which does not exist.` }
  }
  if (!existsSync(pkg)) return { missing: 'The electron package is not installed (run npm install).' }
  if (rel && existsSync(join(pkg, 'dist', rel))) return { path: join(pkg, 'dist', rel) }
  return { missing: ELECTRON_MISSING }
}
