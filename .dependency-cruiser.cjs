/**
 * The import boundaries `npm run lint` enforces (dependency-cruiser: resolved paths, not import
 * strings, so `../../` tricks do not get past it). Layers, lowest first:
 *   src-shared/        contract, label table, geometry, volume type, phantom: used by both runtimes,
 *                      imports nothing of ours above it and no Node API (the renderer bundles it)
 *   src-main/volumes/  reading and writing volumes: src-shared below it, never the contract
 *   src-main/*         the engine, cases, services; src-main/hosts/ (and cli/serve.ts, the web host's
 *                      entry) are the only code that talks Electron or HTTP/WebSocket
 *   src-renderer/      the page: src-shared and its own folders only (never src-main, never Node)
 * Tests, benches and scripts may import anything; they are not cruised for boundaries.
 * docs/architecture.md explains the layers.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'renderer-imports-only-shared',
      comment: 'The renderer runs in a browser page: it may import src-shared/, its own folders and npm packages, nothing from src-main/ and no Node built-ins.',
      severity: 'error',
      // vite.config.ts is the build's Node-side configuration, not page code
      from: { path: '^src-renderer/', pathNot: '^src-renderer/vite\\.config\\.ts$' },
      to: { pathNot: '^(src-renderer|src-shared)/|(^|/)node_modules/' },
    },
    {
      name: 'shared-imports-nothing-above',
      comment: 'src-shared/ is the bottom layer both runtimes build on: it imports only itself and npm packages.',
      severity: 'error',
      from: { path: '^src-shared/' },
      to: { pathNot: '^src-shared/|(^|/)node_modules/' },
    },
    {
      name: 'volumes-import-nothing-above',
      comment: 'src-main/volumes/ reads and writes volumes; it must not reach up into the contract, services, cases or hosts (src-shared geometry/volume/labels and src-main/util are fine).',
      severity: 'error',
      from: { path: '^src-main/volumes/' },
      to: { path: '^(src-main/(?!volumes/|util/)|src-shared/contract/|src-renderer/)' },
    },
    {
      name: 'only-hosts-speak-electron-and-http',
      comment: 'Only the hosts (src-main/hosts/, and cli/serve.ts as the web host entry) import Electron, node:http(s) or ws; everything else goes through the service layer.',
      severity: 'error',
      from: { path: '^(src-main|src-shared|src-renderer)/', pathNot: '^src-main/hosts/|^src-main/cli/serve\\.ts$' },
      to: { path: '^(node:)?(http|https|http2)$|(^|/)node_modules/(electron|ws)/' },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make load order matter and layers meaningless: extract the shared piece instead.',
      severity: 'error',
      from: { path: '^(src-main|src-shared|src-renderer)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: { path: '^(src-main|src-shared|src-renderer)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    // The project's TypeScript is v7 (native, no JS API). With @swc/core installed dependency-cruiser
    // still takes .ts files and reads them (and .vue <script> blocks, via @vue/compiler-sfc) with
    // acorn's tolerant parser, which sees every import statement, `import type` included.
    // test/unit/lint-boundaries.test.ts proves the rules fire.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.vue', '.json', '.d.ts'],
      conditionNames: ['import', 'require', 'node', 'default'],
      mainFields: ['module', 'main', 'types'],
      exportsFields: ['exports'],
    },
  },
}
