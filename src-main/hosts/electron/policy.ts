/**
 * The Electron window's security policy as plain data and pure functions (no `electron` import),
 * so it is unit-tested under Node and main.ts stays a thin adapter.
 */
import { RENDERER_CSP } from '../web/security.js'

/** The renderer is served from a custom privileged scheme, never file:// (no ambient file access). */
export const APP_SCHEME = 'app'
export const APP_HOST = 'scn'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY = `${APP_ORIGIN}/index.html`
export const CSP = RENDERER_CSP

export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST
  } catch {
    return false
  }
}

/**
 * The launch path from Electron's argv (`npm start -- <path>`, "open with", a second instance).
 * dev: [electron, (chromium flags), dist/electron/main.mjs, <path>]; packaged: [app, (flags), <path>].
 * Flags may come before the entry script (Playwright adds some), so skip flags and the entry itself.
 */
export function launchPathFromArgv(argv: readonly string[], packaged: boolean): string | undefined {
  const args = argv.slice(1).filter((a) => a !== '--' && !a.startsWith('-'))
  const rest = packaged ? args : args.filter((a) => a !== '.' && !/(^|[\\/])(main\.mjs|app\.asar)$/.test(a))
  return rest.at(-1)
}
