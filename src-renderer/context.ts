/** The single Workstation of the page, set by App.vue once the view elements exist. */
import { shallowRef } from 'vue'
import type { Workstation } from './workstation.js'

export const workstation = shallowRef<Workstation | null>(null)

export function ws(): Workstation | null {
  return workstation.value
}
