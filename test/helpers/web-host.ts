/** Start a web host over a fresh phantom in a temp folder, with the client core over HTTP + ws. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { createHttpTransport, createScnClient, type ScnClient } from '../../src-shared/contract/index.js'
import { startWebHost, type WebHost, type WebHostOptions } from '../../src-main/hosts/web/server.js'
import { createServices, type ServiceOptions, type ServiceRuntime } from '../../src-main/services/index.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { generatePhantom, type PhantomOptions } from '../../src-shared/phantom.js'
import type { Vec3 } from '../../src-shared/volume.js'

export interface TestHost {
  dir: string
  phantomPath: string
  host: WebHost
  runtime: ServiceRuntime
  client: ScnClient
  /** resolves when the events socket is open (subscribe first, then await, then start work) */
  eventsReady(): Promise<void>
  close(): Promise<void>
}

export async function writePhantom(dir: string, dims: Vec3 = [64, 64, 40], spacing: Vec3 = [5, 5, 8], lesions?: PhantomOptions['lesions']): Promise<string> {
  const p = generatePhantom({ dims, spacing, seed: 7, ...(lesions ? { lesions } : {}) })
  const path = join(dir, 'phantom.nii.gz')
  await writeNifti(p.ct, path)
  return path
}

export async function startTestHost(
  service: Partial<ServiceOptions> = {},
  web: Partial<Omit<WebHostOptions, 'runtime'>> = {},
  phantom: { dims?: Vec3; spacing?: Vec3; lesions?: PhantomOptions['lesions'] } = {},
): Promise<TestHost> {
  const dir = mkdtempSync(join(tmpdir(), 'scn-webhost-'))
  const phantomPath = await writePhantom(dir, phantom.dims, phantom.spacing, phantom.lesions)
  const runtime = createServices({ host: 'web', launchPath: phantomPath, workspaceDir: join(dir, 'workspace'), ...service })
  // the test build (npm run build:test) by default: browser tests drive the page through window.__scn
  const host = await startWebHost({ runtime, rendererDir: join(import.meta.dirname, '../../dist/renderer-test'), ...web })
  const transport = createHttpTransport({ baseUrl: host.url, token: host.token, WebSocket: WebSocket as never })
  const client = createScnClient(transport)
  return {
    dir,
    phantomPath,
    host,
    runtime,
    client,
    eventsReady: () => transport.eventsReady(),
    async close() {
      transport.close()
      await host.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
