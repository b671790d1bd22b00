// Worker entry: loads the compiled worker.js when it exists (packaged app), else the TypeScript
// source through tsx (development, tests, CLI). Plain .mjs so that Node can start it either way.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const js = new URL('./worker.js', import.meta.url)
if (existsSync(fileURLToPath(js))) {
  await import(js.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('./worker.ts', import.meta.url).href)
}
