/**
 * The Electron transport: the preload exposes `window.scn` (one global, checked channels). Until the
 * contract in src-main/contract lands, this adapts a minimal shape; see web.ts for the same
 * contract over HTTP/WebSocket.
 */
import type { ScnClient } from './types.js'

declare global {
  interface Window {
    scn?: unknown
  }
}

export function hasElectronBridge(): boolean {
  return typeof window !== 'undefined' && window.scn !== undefined
}

export function createElectronClient(): ScnClient {
  // The preload's API is the contract's; it is adapted by the same code as the web transport.
  return window.scn as ScnClient
}
