/**
 * @doyensec/electronegativity over the whole app (Electron host sources, preload, built renderer
 * if present): no finding of high severity. A deliberately insecure fixture proves the scanner
 * really runs (a broken parser would otherwise pass silently).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '../..')
const runner = join(root, 'test/helpers/electronegativity-runner.cjs')

interface Finding {
  file: string
  id: string
  location: { line: number }
  severity: { name: string }
  confidence: { name: string }
  description: string
}

function scan(input: string, name: string): { errors: unknown[]; issues: Finding[] } {
  const dir = join(root, 'test-results', 'electronegativity')
  mkdirSync(dir, { recursive: true })
  const out = join(dir, `${name}.json`)
  const r = spawnSync(process.execPath, [runner, input, out], { cwd: root, encoding: 'utf8', timeout: 240_000 })
  if (r.status !== 0) throw new Error(`electronegativity failed (exit ${r.status}): ${r.stderr.slice(-2000)}`)
  return JSON.parse(readFileSync(out, 'utf8'))
}

describe('electronegativity', () => {
  it('flags a deliberately insecure window (the scanner works)', () => {
    const r = scan(join(root, 'test/fixtures/electron-insecure'), 'insecure-fixture')
    const high = r.issues.filter((i) => i.severity.name === 'HIGH').map((i) => i.id)
    expect(high).toContain('CONTEXT_ISOLATION_JS_CHECK')
    expect(high).toContain('LIMIT_NAVIGATION_GLOBAL_CHECK')
  })

  it('finds nothing of high severity in the app', { timeout: 300_000 }, () => {
    const r = scan(root, 'app')
    const lines = r.issues.map((i) => `${i.severity.name.padEnd(6)} ${i.id} ${i.file}:${i.location.line}`)
    console.log(`electronegativity: ${r.issues.length} findings\n  ${lines.join('\n  ')}`)
    expect(r.errors).toEqual([])
    expect(r.issues.filter((i) => i.severity.name === 'HIGH' && !i.file.startsWith('test/fixtures/electron-insecure'))).toEqual([])
  })
})
