/**
 * Picks the transport: Electron preload when `window.scn` exists, the in-page demo when `?demo` is
 * in the URL (no host at all), otherwise the web host that served this page.
 */
import { DemoClient } from './demo.js'
import { createElectronClient, hasElectronBridge } from './electron.js'
import type { ScnClient } from './types.js'
import { createWebClient } from './web.js'

export function pickClient(location: { search: string; origin: string }): ScnClient {
  if (hasElectronBridge()) return createElectronClient()
  if (new URLSearchParams(location.search).has('demo')) return new DemoClient()
  return createWebClient(location)
}
