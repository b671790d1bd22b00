/**
 * Public test data lives outside this repository (../shared/data). CI sets SCN_STUDIO_TEST_DATA to
 * it; a fresh clone without it skips the tests that need it, saying so.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const TEST_DATA: string | undefined = (() => {
  const env = process.env.SCN_STUDIO_TEST_DATA
  if (env) return resolve(env)
  const sibling = resolve(import.meta.dirname, '../../../shared/data')
  return existsSync(sibling) ? sibling : undefined
})()

/** Absolute path of a shared data file, or undefined when the data set is not present. */
export function sharedData(rel: string): string | undefined {
  if (!TEST_DATA) return undefined
  const p = join(TEST_DATA, rel)
  return existsSync(p) ? p : undefined
}

export const NEEDS_DATA = 'needs ../shared/data (set SCN_STUDIO_TEST_DATA)'
