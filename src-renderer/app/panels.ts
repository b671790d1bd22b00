/**
 * Side panels by registration: App.vue renders whatever is registered for a slot, in `order`. A new
 * panel (e.g. the PACS browser under src-renderer/pacs/) registers itself in its own file and is
 * imported once from builtin-panels.ts; nothing else changes.
 */
import { markRaw, shallowReactive, type Component } from 'vue'

export interface PanelDef {
  id: string
  slot: 'side'
  /** lower first */
  order: number
  component: Component
}

const panels = shallowReactive<PanelDef[]>([])

export function registerPanel(p: PanelDef): void {
  if (panels.some((x) => x.id === p.id)) throw new Error(`panel "${p.id}" is registered twice`)
  panels.push({ ...p, component: markRaw(p.component) })
  panels.sort((a, b) => a.order - b.order)
}

export function panelsIn(slot: PanelDef['slot']): readonly PanelDef[] {
  return panels.filter((p) => p.slot === slot)
}
