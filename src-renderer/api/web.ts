/**
 * The web transport: fetch for bytes, WebSocket for events, against the web host on loopback.
 * Placeholder until src-main/contract lands; it falls back to the demo client so that the page
 * still works when served by a plain static server.
 */
import { DemoClient } from './demo.js'
import type { ScnClient } from './types.js'

export function createWebClient(_location: { search: string; origin: string }): ScnClient {
  return new DemoClient()
}
