// Reader thread entry: loads the compiled read-worker.js when it exists (packaged app, CLI build),
// else the TypeScript source through tsx (development, tests). Plain .mjs so that Node can start it
// either way (the same pattern as the inference worker's worker-entry.mjs).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const js = new URL('./read-worker.js', import.meta.url)
if (existsSync(fileURLToPath(js))) {
  await import(js.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('./read-worker.ts', import.meta.url).href)
}
