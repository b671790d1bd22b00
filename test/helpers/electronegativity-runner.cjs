// Runs @doyensec/electronegativity programmatically: node electronegativity-runner.cjs <input> <out.json>
// Its parser (@typescript-eslint/typescript-estree 4, hoisted to the top of node_modules) must use
// the TypeScript 4.2 that electronegativity ships, not the project's TypeScript 7 (whose JS API it
// cannot read), so we point that one `require('typescript')` at the nested copy.
const Module = require('node:module')
const path = require('node:path')
const fs = require('node:fs')

const root = path.resolve(__dirname, '../..')
const pkg = path.join(root, 'node_modules/@doyensec/electronegativity')
const nestedTs = path.join(pkg, 'node_modules/typescript')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'typescript' && parent?.filename?.includes(`${path.sep}typescript-estree${path.sep}`) && fs.existsSync(nestedTs)) {
    return resolve.call(this, nestedTs, parent, ...rest)
  }
  return resolve.call(this, request, parent, ...rest)
}

const [input, out] = process.argv.slice(2)
const electronVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')).version
const runner = require(path.join(pkg, 'dist/runner.js'))
const run = runner.default || runner
run({ input, output: path.join(path.dirname(out), 'electronegativity.csv'), isSarif: false, customScan: '', severitySet: '', confidenceSet: '', isRelative: true, electronVersionOverride: electronVersion })
  .then((r) => {
    fs.writeFileSync(out, JSON.stringify(r, null, 1))
    process.exit(0)
  })
  .catch((e) => {
    console.error(e)
    process.exit(1)
  })
