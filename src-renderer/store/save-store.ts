/** Autosave of the open labelmap to the host: owned by the autosave controller. Plain data only. */
import { createStore } from 'zustand/vanilla'

export interface SaveState {
  /** autosave state of the labelmap on the host */
  save: 'saved' | 'unsaved' | 'saving' | 'error'
  /** the page's own save failed (it keeps the edits and retries): shown until a save succeeds */
  saveError: string | null
  /** the host accepted the labels but cannot write them to disk (it keeps them and retries) */
  hostSaveError: string | null
  /** bytes of labelmap data the last save sent (a patch, or the whole labelmap) */
  lastSentBytes: number
  lastSentKind: 'patch' | 'full' | null
}

export const saveStore = createStore<SaveState>(() => ({
  save: 'saved',
  saveError: null,
  hostSaveError: null,
  lastSentBytes: 0,
  lastSentKind: null,
}))
