/**
 * Where SCN Studio keeps things. SCN_STUDIO_HOME overrides the per-user folder (tests, portable
 * installs); otherwise the platform's app-data folder, as Electron's app.getPath('userData') would give.
 */
import { homedir, platform } from 'node:os'
import { join, resolve } from 'node:path'

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
  return resolve(import.meta.dirname, '../../models')
}
