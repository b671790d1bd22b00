#!/usr/bin/env node
// `scn-studio`: runs the current compiled CLI in dist/cli/ (scripts/cli-build.mjs), building it first when it
// is missing or older than the sources (about a second; then every run starts without compiling
// TypeScript). SCN_STUDIO_TSX=1, or a failed build, runs the TypeScript sources through tsx instead.
import { buildCli, cliBuildState, currentCliMain } from '../scripts/cli-build.mjs'
import { pathToFileURL } from 'node:url'

let compiled = null
if (!process.env.SCN_STUDIO_TSX) {
  try {
    if (cliBuildState() !== 'fresh') await buildCli()
    compiled = currentCliMain()
  } catch (e) {
    process.stderr.write(`scn-studio: could not build the CLI (${e?.message ?? e}); running the TypeScript sources through tsx\n`)
  }
}
if (compiled) {
  await import(pathToFileURL(compiled).href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src-main/cli/main.ts')
}
