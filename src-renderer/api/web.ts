/**
 * The web transport: fetch for calls and bytes, WebSocket for events, on the host that served this
 * page. The token comes from the <meta name="scn-token"> the host injects (or the page URL's
 * ?token=, the printed link); the events socket authenticates with the cookie that page load set.
 */
import { createHttpTransport, TOKEN_META, TOKEN_QUERY } from '../../src-shared/contract/index.js'
import { ContractScnClient } from './contract-client.js'
import type { ScnClient } from './types.js'

export function pageToken(location: { search: string }): string | null {
  const fromMeta = document.querySelector<HTMLMetaElement>(`meta[name="${TOKEN_META}"]`)?.content
  if (fromMeta) return fromMeta
  return new URLSearchParams(location.search).get(TOKEN_QUERY)
}

/**
 * The address bar without ?token=: the URL stays in history, bookmarks and screen shares, and the
 * cookie plus the meta tag carry the token from here on (a reload still works). Other parameters
 * (demo, dims, ...) are kept.
 */
export function dropTokenFromAddressBar(win: Pick<Window, 'location' | 'history'> = window): void {
  const url = new URL(win.location.href)
  if (!url.searchParams.has(TOKEN_QUERY)) return
  url.searchParams.delete(TOKEN_QUERY)
  win.history.replaceState(win.history.state, '', url.pathname + url.search + url.hash)
}

export function createWebClient(location: { search: string; origin: string }): ScnClient {
  const token = pageToken(location) ?? ''
  dropTokenFromAddressBar()
  const transport = createHttpTransport({ baseUrl: location.origin, token })
  const client = new ContractScnClient('web', transport, () => transport.eventsReady())
  client.onConnectionChange = (l) => transport.onConnectionChange(l)
  return client
}
