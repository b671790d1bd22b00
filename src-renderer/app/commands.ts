/**
 * The one command registry (after OHIF's commands): every user action the keyboard, the toolbar or
 * the test hook can trigger is a command with an id, a label and optionally the keymap entries
 * (src-renderer/keymap.ts) that run it. Callers name a command and never reach into a controller,
 * so a key and a button cannot do different things.
 */
import { actionFor, type Action, type KeyLike } from '../keymap.js'

export interface Command<A = void> {
  id: string
  /** what the command does, in words (tooltips, errors) */
  label: string
  /** the keymap entries that run it (several: Ctrl+Shift+Z and Ctrl+Y both redo) */
  keybinding?: Action | readonly Action[]
  run(arg: A): unknown
}

export class UnknownCommand extends Error {
  override name = 'UnknownCommand'
}

export class CommandRegistry {
  private readonly byId = new Map<string, Command<never>>()
  private readonly byAction = new Map<Action, string>()

  register<A>(c: Command<A>): void {
    if (this.byId.has(c.id)) throw new Error(`command "${c.id}" is registered twice`)
    const keys = c.keybinding === undefined ? [] : typeof c.keybinding === 'string' ? [c.keybinding as Action] : (c.keybinding as readonly Action[])
    for (const k of keys) {
      const other = this.byAction.get(k)
      if (other) throw new Error(`key "${k}" is bound to both "${other}" and "${c.id}"`)
    }
    this.byId.set(c.id, c as Command<never>)
    for (const k of keys) this.byAction.set(k, c.id)
  }

  registerAll(cs: readonly Command<never>[]): void {
    for (const c of cs) this.register(c)
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  get(id: string): Command<never> {
    const c = this.byId.get(id)
    if (!c) throw new UnknownCommand(`no command "${id}" (known: ${[...this.byId.keys()].join(', ')})`)
    return c
  }

  /** Runs a command by id; an id nobody registered is an error, never a silent no-op. */
  run(id: string, arg?: unknown): unknown {
    return (this.get(id) as Command<unknown>).run(arg)
  }

  /** The command a key press means, or null. */
  forKey(e: KeyLike): string | null {
    const action = actionFor(e)
    return action ? (this.byAction.get(action) ?? null) : null
  }

  /** Runs what a key press means; true when a command ran. */
  runKey(e: KeyLike): boolean {
    const id = this.forKey(e)
    if (!id) return false
    this.run(id)
    return true
  }

  /** keymap entries no command runs (the unit tests want none) */
  unboundActions(all: readonly Action[]): Action[] {
    return all.filter((a) => !this.byAction.has(a))
  }

  ids(): string[] {
    return [...this.byId.keys()]
  }
}
