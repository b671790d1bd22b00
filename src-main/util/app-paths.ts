/**
 * Where SCN Studio keeps things. SCN_STUDIO_HOME overrides the per-user folder (tests, portable
 * installs); otherwise the platform's app-data folder, as Electron's app.getPath('userData') would give.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir, platform } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/**
 * The repository (or installed package) root: the nearest folder above this module whose
 * package.json is SCN Studio's. Found by walking up rather than by a fixed '../..', because this code
 * runs from src-main/ (tsx), from dist/cli/ (the compiled CLI) and from dist/electron/.
 */
export function appRoot(from: string = import.meta.dirname): string {
  for (let d = resolve(from); ; d = dirname(d)) {
    const pkg = join(d, 'package.json')
    if (existsSync(pkg)) {
      try {
        // dist/electron/ has a package.json of its own (name, version, main; no scripts): not the root
        const p = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; scripts?: unknown }
        if (p.name === 'scn-studio' && p.scripts) return d
      } catch {
        /* not ours: keep walking */
      }
    }
    if (dirname(d) === d) return resolve(from, '../..')
  }
}

export function userDataDir(): string {
  if (process.env.SCN_STUDIO_HOME) return resolve(process.env.SCN_STUDIO_HOME)
  const home = homedir()
  switch (platform()) {
    case 'win32':
      return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'SCN Studio')
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'SCN Studio')
    default:
      return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'scn-studio')
  }
}

/** Models the user imported or trained (the app's own models/ folder is read-only). */
export function userModelsDir(): string {
  return join(userDataDir(), 'models')
}

/** The default workspace of cases when the user has not chosen one. */
export function defaultWorkspaceDir(): string {
  return join(userDataDir(), 'workspace')
}

/** The app's bundled models/ folder (repository root in development, resources when packaged). */
export function appModelsDir(): string {
  if (process.env.SCN_STUDIO_APP_MODELS) return resolve(process.env.SCN_STUDIO_APP_MODELS)
  return join(appRoot(), 'models')
}
