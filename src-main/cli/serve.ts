/**
 * `scn-studio serve [path]` (= `npm run serve -- <path>`): the workstation in a browser. Loopback
 * only unless --host with --allow-remote; prints the tokened URL to open.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { ensureRendererBuilt } from '../hosts/web/renderer-build.js'
import { installCrashGuard, startWebHost } from '../hosts/web/server.js'
import { defaultRendererDir } from '../hosts/web/static.js'
import { createServices } from '../services/index.js'
import { detectFormat } from '../volumes/read.js'
import { EXIT } from './exit-codes.js'

interface ServeOptions {
  port: string
  host: string
  allowRemote?: boolean
  allowDir: string[]
  workspace?: string
}

export function registerServe(program: Command): void {
  program
    .command('serve [path]')
    .description('serve the workstation to a browser on 127.0.0.1 (optionally opening a CT file or DICOM folder); prints a URL with a one-time token')
    .option('--port <n>', 'port (0 = a free one)', '0')
    .option('--host <address>', 'address to listen on (anything but loopback needs --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'really listen on a non-loopback --host (prefer an SSH tunnel)')
    .option('--allow-dir <folder>', 'another folder the browser may open files from (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--workspace <folder>', 'workspace folder for cases (default: the per-user workspace)')
    .action(async (path: string | undefined, o: ServeOptions) => {
      const launchPath = path ? resolve(path) : undefined
      if (launchPath) detectFormat(launchPath) // a missing or unknown file fails now, with its name
      const port = Number(o.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`error: --port must be a whole number 0-65535, got '${o.port}'\n`)
        process.exit(EXIT.usage)
      }
      // a fresh clone (or a pull) has no current build: make it before serving, not a page saying "build first"
      const rendererDir = process.env.SCN_RENDERER_DIR ? resolve(process.env.SCN_RENDERER_DIR) : defaultRendererDir()
      try {
        ensureRendererBuilt(rendererDir, (line) => process.stdout.write(`${line}\n`))
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`)
        process.exit(EXIT.failed)
      }
      const runtime = createServices({
        host: 'web',
        launchPath,
        workspaceDir: o.workspace ? resolve(o.workspace) : undefined,
        allowDirs: o.allowDir.map((d) => resolve(d)),
      })
      let host
      try {
        host = await startWebHost({ runtime, host: o.host, port, allowRemote: o.allowRemote, rendererDir })
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`)
        process.exit(EXIT.usage)
      }
      installCrashGuard(host)
      if (host.warning) process.stderr.write(`${host.warning}\n`)
      process.stdout.write(`SCN Studio is running. Open this URL in a browser on this machine (Ctrl+C to stop):\n\n  ${host.openUrl}\n\n`)
      if (launchPath) process.stdout.write(`Opening ${launchPath}\n`)
      process.stdout.write(`Through an SSH tunnel: ssh -L ${host.port}:127.0.0.1:${host.port} <this machine>, then open the same URL locally.\n`)
      const stop = () => {
        void host.close().then(() => process.exit(EXIT.ok))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      await new Promise(() => {}) // serve until stopped
    })
}
