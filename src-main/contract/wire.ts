/**
 * How the contract travels on each wire. Constants shared by hosts and renderer transports.
 *
 * Web host (src-main/hosts/web):
 *   POST /api/call/<channel>            e.g. /api/call/volumes.open
 *     request:  Content-Type application/json (json, binary-out) | application/octet-stream (binary-in frame)
 *     response: 200 application/json | 200 application/octet-stream (binary-out frame)
 *               error: 4xx/5xx application/json ErrorPayload {code, message}
 *     headers:  X-SCN-Token: <token>    (required on every /api request)
 *   GET  /api/events?token=<token>      WebSocket; server sends text messages EventMessage
 *   GET  /?token=<token>                the renderer; the page learns the token from its URL
 *                                       (or <meta name="scn-token">) and sends it on every call.
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
