#!/usr/bin/env node
// `npm test`: `npm run lint`, every suite the project has (vitest for TypeScript, pytest for training/), then one
// closing line "N passed, N failed, N skipped" over all of them. Exit code is non-zero on any failure.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, mkdirSync } from 'node:fs'

mkdirSync('test-results', { recursive: true })
const only = process.argv.slice(2)
let passed = 0, failed = 0, skipped = 0, bad = false

// `npm run lint` (import boundaries, main-side types, renderer types with the .vue templates) counts as
// one check: a boundary broken fails the run even when every test passes
if (only.length === 0) {
  const l = spawnSync('npm', ['run', '--silent', 'lint'], { stdio: 'inherit' })
  if (l.status === 0) passed += 1
  else {
    failed += 1
    console.error('npm run lint failed (see above)')
  }
}

// the compiled CLI, once, before tests start CLIs in parallel (bin/scn-studio.mjs would build it on
// first use; two first uses at once would both build)
{
  const { buildCli, cliBuildState } = await import('./cli-build.mjs')
  if (cliBuildState() !== 'fresh') await buildCli()
}

const v = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json', ...only], { stdio: 'inherit' })
if (v.status !== 0) bad = true
if (existsSync('test-results/vitest.json')) {
  const r = JSON.parse(readFileSync('test-results/vitest.json', 'utf8'))
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0)
} else bad = true

if (only.length === 0 && existsSync('training/tests')) {
  const py = process.env.SCN_STUDIO_PYTHON ?? '/usr/bin/python3'
  const p = spawnSync(py, ['-m', 'pytest', '-q', 'training/tests', '-p', 'no:cacheprovider', '--junitxml=test-results/pytest.xml'], { stdio: 'inherit' })
  if (p.status !== 0 && p.status !== 5) bad = true
  if (existsSync('test-results/pytest.xml')) {
    const x = readFileSync('test-results/pytest.xml', 'utf8')
    const m = x.match(/<testsuite[^>]*>/)
    if (m) {
      const a = (k) => Number((m[0].match(new RegExp(`${k}="(\\d+)"`)) ?? [0, 0])[1])
      const t = a('tests'), f = a('failures') + a('errors'), s = a('skipped')
      passed += t - f - s; failed += f; skipped += s
    }
  }
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(bad || failed > 0 ? 1 : 0)
