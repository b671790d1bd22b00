/** The Electron transport: `window.scn` is the preload's ScnBridge (one global, checked channels). */
import { createBridgeTransport, type ScnBridge } from '../../src-shared/contract/index.js'
import { ContractScnClient } from './contract-client.js'
import type { ScnClient } from './types.js'

declare global {
  interface Window {
    scn?: ScnBridge
  }
}

export function hasElectronBridge(): boolean {
  return typeof window !== 'undefined' && window.scn !== undefined
}

export function createElectronClient(): ScnClient {
  return new ContractScnClient('electron', createBridgeTransport(window.scn!), async () => {}, window.scn)
}
