/**
 * `scn-studio <args>` as a user runs it (node bin/scn-studio.mjs), with a private SCN_STUDIO_HOME.
 * A child killed by a signal has no exit code: the signal is named in `stderr`, so a failing
 * `expect(r.code, r.stderr)` says how it ended (an abort, the OOM killer, a timeout).
 */
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

export const REPO_ROOT = resolve(import.meta.dirname, '../..')
export const CLI_BIN = join(REPO_ROOT, 'bin/scn-studio.mjs')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function runCli(args: string[], opts: { home: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): CliResult {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, SCN_STUDIO_HOME: opts.home, ...opts.env },
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
    timeout: opts.timeoutMs,
  })
  const ended = r.signal ? `\n(scn-studio ${args[0]} was killed by ${r.signal}${r.error ? `: ${r.error.message}` : ''})` : r.error ? `\n(${r.error.message})` : ''
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + ended }
}
