/**
 * Environment variables set for a test and put back afterwards. Restoring by assignment is a trap:
 * `process.env.X = undefined` stores the string "undefined" (a TMPDIR of "undefined" once broke
 * every later temp folder on CI, where TMPDIR is unset), so an unset variable is deleted again.
 */
export type EnvVars = Record<string, string | undefined>

function apply(vars: EnvVars): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

/** Sets `vars` (undefined: unset) and returns the function that restores what was there before. */
export function setEnv(vars: EnvVars): () => void {
  const before: EnvVars = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  apply(vars)
  return () => apply(before)
}
