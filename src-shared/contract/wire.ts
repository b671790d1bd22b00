/**
 * How the contract travels on each wire. Constants shared by hosts and renderer transports.
 *
 * Web host (src-main/hosts/web):
 *   POST /api/call/<channel>            e.g. /api/call/volumes.open
 *     request:  Content-Type application/json (json, binary-out) | application/octet-stream (binary-in frame)
 *     response: 200 application/json | 200 application/octet-stream (binary-out frame)
 *               error: 4xx/5xx application/json ErrorPayload {code, message}
 *     headers:  X-SCN-Token: <token>    (required on every /api request; never ?token=)
 *     bodies:   JSON up to 1 MiB; a binary frame exactly its volume's voxels + header; else 413
 *   GET  /api/events                    WebSocket; token in X-SCN-Token (Node) or the cookie
 *                                       (browsers); server sends text messages EventMessage and
 *                                       closes the socket on any frame from the client
 *   GET  /?token=<token>                the renderer; the only place the query token is taken: it
 *                                       sets the cookie, the page reads <meta name="scn-token">
 *                                       and drops ?token= from its address bar.
 *   Static assets are allowed with the token cookie set on the first authenticated page load.
 *
 * Electron (src-main/hosts/electron, preload): `window.scn` is an ScnBridge.
 *   invoke(channel, payload) -> ipcRenderer.invoke('scn:' + channel, payload) -> WireResult
 *   onEvent(listener)        -> ipcRenderer.on('scn:event', ...)
 *   Binary frames travel as Uint8Array (structured clone), never JSON.
 */
import type { ErrorPayload } from './schemas.js'

export const TOKEN_HEADER = 'x-scn-token'
export const TOKEN_QUERY = 'token'
export const TOKEN_COOKIE = 'scn_token'
export const TOKEN_META = 'scn-token'
export const CALL_PATH = '/api/call/'
export const EVENTS_PATH = '/api/events'
export const JSON_TYPE = 'application/json'
export const BINARY_TYPE = 'application/octet-stream'

export const IPC_PREFIX = 'scn:'
export const IPC_EVENT = 'scn:event'

export interface EventMessage {
  event: string
  payload: unknown
}

/** Electron IPC answers with an envelope: thrown errors lose their code across ipcMain.handle. */
export type WireResult = { ok: true; value: unknown } | { ok: false; error: ErrorPayload }

/** `window.scn` in Electron (the preload exposes exactly this, nothing else). */
export interface ScnBridge {
  readonly host: 'electron'
  invoke(channel: string, payload: unknown): Promise<WireResult>
  /** returns an unsubscribe function */
  onEvent(listener: (message: EventMessage) => void): () => void
  /** the filesystem path of a dropped File (webUtils.getPathForFile; File.path is gone) */
  pathForFile(file: File): string
}
