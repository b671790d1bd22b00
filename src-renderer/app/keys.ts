/** Key presses to commands: the keymap decides what a key means, the registry runs it. */
import { segmentStore } from '../store/segment-store.js'
import type { CommandRegistry } from './commands.js'

export function keyHandler(commands: CommandRegistry, closeTopModal: () => boolean): (e: KeyboardEvent) => void {
  return (e) => {
    // Escape closes the dialog or help in front first (even from its text field), and only then
    // means "navigate"
    if (e.key === 'Escape' && closeTopModal()) {
      e.preventDefault()
      return
    }
    const t = e.target as HTMLElement | null
    // keys typed into text fields (and arrows in a drop-down) are theirs; checkboxes and sliders keep the shortcuts working
    const typing = t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes((t as HTMLInputElement).type)))
    if (typing) return
    // the Segment choice is modal: no shortcut acts behind it
    if (segmentStore.getState().choice) return
    const id = commands.forKey(e)
    if (!id) return
    e.preventDefault()
    commands.run(id)
  }
}
