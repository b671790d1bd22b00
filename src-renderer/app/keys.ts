/** Key presses to commands: the keymap decides what a key means, the registry runs it. */
import { segmentStore } from '../store/segment-store.js'
import type { CommandRegistry } from './commands.js'

export function keyHandler(commands: CommandRegistry, cancelSegmentChoice: () => void): (e: KeyboardEvent) => void {
  return (e) => {
    const t = e.target as HTMLElement | null
    // keys typed into text fields are text; checkboxes and sliders keep the shortcuts working
    const typing = t && (t.tagName === 'TEXTAREA' || t.isContentEditable || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes((t as HTMLInputElement).type)))
    if (typing) return
    // the Segment choice is modal: Escape cancels it, no shortcut acts behind it
    if (segmentStore.getState().choice) {
      if (e.key === 'Escape') {
        e.preventDefault()
        cancelSegmentChoice()
      }
      return
    }
    const id = commands.forKey(e)
    if (!id) return
    e.preventDefault()
    commands.run(id)
  }
}
