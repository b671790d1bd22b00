/** Errors as the user reads them. */
import { PlainError } from '../api/types.js'

/** A PlainError says it all; anything else gets a prefix saying what failed. */
export function plainMessage(e: unknown, prefix: string): string {
  if (e instanceof PlainError) return e.message
  const m = e instanceof Error ? e.message : String(e)
  return `${prefix}: ${m}`
}
