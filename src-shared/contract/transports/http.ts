/**
 * The web host's wire as a Transport, for the browser and for Node (tests, scripts). fetch and
 * WebSocket are injected so the same code runs in both (Node 20 has fetch but no global WebSocket;
 * pass the `ws` package's class there).
 */
import { errorFromPayload, type Transport } from '../client.js'
import { lookupMethod } from '../services.js'
import { BINARY_TYPE, CALL_PATH, EVENTS_PATH, JSON_TYPE, TOKEN_HEADER, type EventMessage } from '../wire.js'

interface MinimalWebSocket {
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: unknown) => void) | null
  onopen: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  close(): void
}

export interface HttpTransportOptions {
  /** e.g. http://127.0.0.1:41234 (no trailing slash needed) */
  baseUrl: string
  token: string
  fetch?: typeof fetch
  /**
   * The browser's WebSocket, or the `ws` package's class in Node. The token goes in a header where
   * the implementation can send one (ws takes `options.headers`); a browser ignores that argument
   * and sends the cookie the page load set instead (never the token in the URL: logs and history).
   */
  WebSocket?: new (url: string, protocols?: string | string[], options?: { headers: Record<string, string> }) => MinimalWebSocket
}

export interface HttpTransport extends Transport {
  /**
   * Resolves once the events socket is open (opening it if needed). Events sent before that are
   * not replayed, so await this before starting work whose progress you want to see.
   */
  eventsReady(): Promise<void>
  /**
   * The events socket went down (the host stopped, the network dropped: `false`) or came back
   * (`true`). While someone listens to events, a lost socket is reopened every `retryMs`.
   */
  onConnectionChange(listener: (up: boolean) => void): () => void
  close(): void
}

export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const base = opts.baseUrl.replace(/\/$/, '')
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis)
  const WS = opts.WebSocket ?? (globalThis as unknown as { WebSocket: HttpTransportOptions['WebSocket'] }).WebSocket
  const eventListeners = new Set<(event: string, payload: unknown) => void>()
  let socket: MinimalWebSocket | undefined
  let opened: Promise<void> | undefined
  const connectionListeners = new Set<(up: boolean) => void>()
  let up = false
  let closedByUs = false
  let retry: ReturnType<typeof setTimeout> | undefined
  const setUp = (v: boolean): void => {
    if (v === up) return
    up = v
    for (const l of connectionListeners) l(v)
  }
  // reopen a lost socket while somebody listens, every 2 s, until it opens again
  const scheduleRetry = (): void => {
    if (retry || closedByUs || eventListeners.size === 0) return
    retry = setTimeout(() => {
      retry = undefined
      void openSocket().catch(() => scheduleRetry())
    }, 2_000)
  }

  function openSocket(): Promise<void> {
    if (socket && opened) return opened
    if (!WS) return Promise.reject(new Error('no WebSocket implementation: pass one in HttpTransportOptions'))
    const url = `${base.replace(/^http/, 'ws')}${EVENTS_PATH}`
    const s = new WS(url, undefined, { headers: { [TOKEN_HEADER]: opts.token } })
    socket = s
    opened = new Promise<void>((resolve, reject) => {
      s.onopen = () => {
        setUp(true)
        resolve()
      }
      s.onerror = () => reject(new Error(`the events socket ${base}${EVENTS_PATH} could not be opened`))
    })
    opened.catch(() => {}) // callers of eventsReady() see the rejection; nobody else must

    s.onmessage = (ev) => {
      let msg: EventMessage
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer))
      } catch {
        return
      }
      for (const l of eventListeners) l(msg.event, msg.payload)
    }
    s.onclose = () => {
      if (socket === s) {
        socket = undefined
        opened = undefined
        setUp(false)
        scheduleRetry()
      }
    }
    return opened
  }

  return {
    async invoke(channel, payload) {
      const kind = lookupMethod(channel)?.def.kind
      const isBinary = payload instanceof Uint8Array
      const res = await doFetch(`${base}${CALL_PATH}${channel}`, {
        method: 'POST',
        headers: { [TOKEN_HEADER]: opts.token, 'content-type': isBinary ? BINARY_TYPE : JSON_TYPE },
        body: isBinary ? (payload as Uint8Array<ArrayBuffer>) : JSON.stringify(payload),
      })
      const type = res.headers.get('content-type') ?? ''
      if (!res.ok) {
        const body = type.startsWith(JSON_TYPE) ? await res.json().catch(() => undefined) : undefined
        throw errorFromPayload(body, `${channel}: HTTP ${res.status}`)
      }
      if (kind === 'binary-out' || type.startsWith(BINARY_TYPE)) return new Uint8Array(await res.arrayBuffer())
      return res.json()
    },
    eventsReady() {
      return openSocket()
    },
    onEvent(listener) {
      eventListeners.add(listener)
      void openSocket().catch(() => {})
      return () => {
        eventListeners.delete(listener)
      }
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener)
      return () => {
        connectionListeners.delete(listener)
      }
    },
    close() {
      closedByUs = true
      clearTimeout(retry)
      socket?.close()
      socket = undefined
      opened = undefined
    },
  }
}
