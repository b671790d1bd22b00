/** Runs Debian's python3 (nibabel, torch, onnx) as an independent reader/producer for tests. */
import { spawnSync } from 'node:child_process'

export const PYTHON = process.env.SCN_STUDIO_PYTHON ?? '/usr/bin/python3'

export function hasPythonModules(...mods: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', mods.map((m) => `import ${m}`).join(';')], { encoding: 'utf8' })
  return r.status === 0
}

/** Run a python snippet; returns parsed JSON printed on the last stdout line. */
export function runPythonJson<T = unknown>(code: string, args: string[] = []): T {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`)
  const lines = r.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]) as T
}
