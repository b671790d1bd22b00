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
 * dev: [electron, (flags), <app folder dist/electron>, <path>]; packaged: [app, (flags), <path>].
 * Flags may come before the app folder (Playwright adds some), so drop flags first.
 */
export function launchPathFromArgv(argv: readonly string[], packaged: boolean): string | undefined {
  const args = argv.slice(1).filter((a) => a !== '--' && !a.startsWith('-'))
  return (packaged ? args : args.slice(1)).at(-1)
}
