/**
 * The web transport: fetch for calls and bytes, WebSocket for events, on the host that served this
 * page. The token comes from the page URL (?token=) or the <meta name="scn-token"> the host injects.
 */
import { createHttpTransport, TOKEN_META, TOKEN_QUERY } from '../../src-main/contract/index.js'
import { ContractScnClient } from './contract-client.js'
import type { ScnClient } from './types.js'

export function pageToken(location: { search: string }): string | null {
  const fromUrl = new URLSearchParams(location.search).get(TOKEN_QUERY)
  if (fromUrl) return fromUrl
  return document.querySelector<HTMLMetaElement>(`meta[name="${TOKEN_META}"]`)?.content ?? null
}

export function createWebClient(location: { search: string; origin: string }): ScnClient {
  const token = pageToken(location) ?? ''
  const transport = createHttpTransport({ baseUrl: location.origin, token })
  return new ContractScnClient('web', transport, () => transport.eventsReady())
}
