/** The page's one AppShell, set once App.vue has its view elements; components reach controllers here. */
import { shallowRef } from 'vue'
import type { AppShell } from './app/shell.js'

// shallow: Vue must never walk the controllers (they hold Cornerstone objects and typed arrays)
export const shell = shallowRef<AppShell | null>(null)

export function app(): AppShell | null {
  return shell.value
}

/** Runs a command by id (a toolbar button, a panel action); unknown ids throw. */
export function run(id: string, arg?: unknown): void {
  shell.value?.commands.run(id, arg)
}

/** The PACS panel's name for app(); it uses the shell's openPath and saveNow. */
export const ws = app
