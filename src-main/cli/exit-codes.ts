/** Exit codes of every `scn-studio` command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, badInput: 3, cancelled: 130 } as const
