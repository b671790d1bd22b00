#!/usr/bin/env node
// Type-checks the renderer including the .vue templates: `vue-tsc --noEmit -p src-renderer/tsconfig.json`.
// vue-tsc runs inside TypeScript's JavaScript API, which TypeScript 7 (the project's `tsc`, a native
// build) no longer has, so it gets TypeScript 5 by path: the local package scripts/typescript-5 (a
// devDependency `file:`), whose own node_modules keep it from taking over node_modules/.bin/tsc.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const args = process.argv.slice(2)
process.argv = [process.argv[0], 'vue-tsc', ...(args.length ? args : ['--noEmit', '-p', 'src-renderer/tsconfig.json'])]
require('vue-tsc').run(require.resolve('typescript/lib/tsc', { paths: [new URL('./typescript-5/', import.meta.url).pathname] }))
