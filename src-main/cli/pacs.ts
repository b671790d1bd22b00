/**
 * `scn-studio pacs ...`: DICOMweb servers. `search` (QIDO-RS studies), `series` (a study's series
 * with their URLs), `get` (WADO-RS a series into the cache, optionally copied to a folder) and
 * `server add|list|remove` (the 0600 servers file; secrets are read from stdin, never from argv,
 * and never printed).
 */
import type { Command } from 'commander'
import { existsSync, readdirSync } from 'node:fs'
import { cp, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PacsError } from '../pacs/errors.js'
import { DicomwebClient, type StudyQuery } from '../pacs/dicomweb.js'
import { fetchSeries, MANIFEST, pacsCacheDir } from '../pacs/cache.js'
import { parseSeriesRef, parseStudyRef } from '../pacs/refs.js'
import { addServer, loadServers, publicServer, removeServer, resolveServer, serversFile, type PacsAuth } from '../pacs/servers.js'
import { cachedSeriesRows, retrievalPrinter } from '../pacs/index.js'
import { EXIT } from './exit-codes.js'

class UsageError extends Error {}

/** Runs a command body; PACS errors become their message and exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`)
      process.exit(e instanceof PacsError ? e.exitCode : e instanceof UsageError ? EXIT.usage : EXIT.failed)
    }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

const DATE = /^(\d{8})?(-(\d{8})?)?$/

export function registerPacs(program: Command): void {
  const pacs = program.command('pacs').description('DICOMweb servers (PACS): search studies, list series, retrieve a series, configure servers')

  pacs
    .command('search <base>')
    .description('search studies (QIDO-RS); <base> is a DICOMweb root URL or a configured server name')
    .option('--patient <name>', 'patient name (DICOM wildcards * and ? allowed)')
    .option('--patient-id <id>', 'patient ID')
    .option('--date <date>', 'study date YYYYMMDD or range YYYYMMDD-YYYYMMDD')
    .option('--modality <modality>', 'a modality in the study, e.g. CT')
    .option('--accession <number>', 'accession number')
    .option('--limit <n>', 'at most this many studies', (v) => Number(v))
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (base: string, o: { patient?: string; patientId?: string; date?: string; modality?: string; accession?: string; limit?: number; json?: boolean }) => {
        if (o.date && !DATE.test(o.date)) throw new UsageError(`--date must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD (got "${o.date}")`)
        if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit > 0)) throw new UsageError('--limit must be a positive whole number')
        const server = resolveServer(base)
        const client = new DicomwebClient(server)
        const q: StudyQuery = { patientName: o.patient, patientId: o.patientId, studyDate: o.date, modality: o.modality, accessionNumber: o.accession, limit: o.limit }
        const studies = await client.searchStudies(q)
        const withUrls = studies.map((s) => ({ ...s, url: `${server.name ?? server.baseUrl}/studies/${s.studyUid}` }))
        if (o.json) {
          process.stdout.write(JSON.stringify({ server: publicServer(server), studies: withUrls }, null, 2) + '\n')
          return
        }
        if (studies.length === 0) {
          process.stdout.write(`no studies on ${client.label} match\n`)
          return
        }
        for (const s of withUrls) {
          process.stdout.write(`${s.studyDate || '--------'}  ${(s.patientName || '(no name)').padEnd(24)} ${(s.patientId || '').padEnd(12)} ${s.modalities.join('/').padEnd(8)} ${String(s.seriesCount ?? '?').padStart(3)} series ${String(s.instanceCount ?? '?').padStart(5)} images  ${s.description}\n    ${s.url}\n`)
        }
      }),
    )

  pacs
    .command('series <study-url>')
    .description("list a study's series (QIDO-RS) with the URL to give `pacs get`, `segment` or `export --ct`")
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (studyUrl: string, o: { json?: boolean }) => {
        const ref = parseStudyRef(studyUrl)
        const client = new DicomwebClient(ref.server)
        const series = (await client.searchSeries(ref.studyUid)).map((s) => ({ ...s, url: `${ref.server.name ?? ref.server.baseUrl}/studies/${ref.studyUid}/series/${s.seriesUid}` }))
        if (o.json) {
          process.stdout.write(JSON.stringify({ server: publicServer(ref.server), studyUid: ref.studyUid, series }, null, 2) + '\n')
          return
        }
        for (const s of series) process.stdout.write(`${String(s.seriesNumber ?? '').padStart(4)} ${s.modality.padEnd(5)} ${String(s.instanceCount ?? '?').padStart(5)} images  ${s.description}\n     ${s.url}\n`)
      }),
    )

  pacs
    .command('get <series-url>')
    .description('retrieve a series (WADO-RS) into the local cache, whole or not at all; -o copies it to a folder')
    .option('-o, --output <dir>', 'also copy the DICOM files to this folder (new or empty)')
    .option('--refresh', 'download again even when the cache holds the series')
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (url: string, o: { output?: string; refresh?: boolean; json?: boolean }) => {
        const ref = parseSeriesRef(url)
        const out = o.output ? resolve(o.output) : undefined
        if (out && existsSync(out) && readdirSync(out).length > 0) throw new UsageError(`${o.output}: the folder exists and is not empty; give a new or empty folder`)
        const ac = new AbortController()
        const onSigint = () => ac.abort()
        process.once('SIGINT', onSigint)
        const printer = retrievalPrinter(`series ${ref.seriesUid}`)
        let r
        try {
          r = await fetchSeries(ref, { signal: ac.signal, refresh: o.refresh, onProgress: printer.onProgress })
        } finally {
          printer.done()
          process.removeListener('SIGINT', onSigint)
        }
        let files = readdirSync(r.folder).filter((f) => f !== MANIFEST)
        if (out) {
          // copy beside the target, then one rename: the folder appears complete or not at all
          const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
          try {
            await cp(r.folder, tmp, { recursive: true, filter: (src) => basename(src) !== MANIFEST })
            if (existsSync(out)) await rm(out, { recursive: true }) // empty, checked above
            await rename(tmp, out)
          } catch (e) {
            await rm(tmp, { recursive: true, force: true })
            throw new Error(`${out}: cannot copy the series there (${(e as Error).message})`)
          }
          files = readdirSync(out)
        }
        const report = { server: publicServer(ref.server), studyUid: ref.studyUid, seriesUid: ref.seriesUid, modality: r.manifest.modality, instances: r.manifest.instances, fromCache: r.fromCache, cacheFolder: r.folder, output: out ?? null, files: files.length }
        if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
        else process.stdout.write(`${r.manifest.instances} instances of series ${ref.seriesUid} (${r.manifest.modality || '?'})${r.fromCache ? ' from the cache' : ''} in ${out ?? r.folder}\n`)
      }),
    )

  pacs
    .command('cached')
    .description('list the series kept in the local cache (no server is contacted: works offline); each folder opens with `segment` or `open`')
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (o: { json?: boolean }) => {
        const series = await cachedSeriesRows()
        if (o.json) {
          process.stdout.write(JSON.stringify({ cacheDir: pacsCacheDir(), series }, null, 2) + '\n')
          return
        }
        if (series.length === 0) process.stdout.write(`no series in the cache (${pacsCacheDir()})\n`)
        for (const c of series) {
          const missing = c.filesPresent < c.instances ? ` (only ${c.filesPresent} of them present)` : ''
          process.stdout.write(`${c.retrievedAt.slice(0, 16).replace('T', ' ')}  ${c.modality.padEnd(5)} ${String(c.instances).padStart(5)} images${missing}  ${c.patientName || '(no name)'}  ${c.studyDate}  ${c.description}\n     from ${c.server ?? c.baseUrl}\n     ${c.folder}\n`)
        }
      }),
    )

  const server = pacs.command('server').description(`configured servers (kept in ${serversFile()}, mode 0600)`)
  server
    .command('add <name> <base-url>')
    .description('add or replace a server; secrets are read from stdin')
    .option('--user <name>', 'basic authentication user (password from stdin with --password-stdin)')
    .option('--password-stdin', 'read the basic authentication password from stdin')
    .option('--token-stdin', 'read a bearer token from stdin')
    .action(
      action(async (name: string, baseUrl: string, o: { user?: string; passwordStdin?: boolean; tokenStdin?: boolean }) => {
        if (o.tokenStdin && (o.user || o.passwordStdin)) throw new UsageError('give either --user/--password-stdin or --token-stdin, not both')
        if (o.passwordStdin && !o.user) throw new UsageError('--password-stdin needs --user')
        let auth: PacsAuth | undefined
        if (o.user) auth = { type: 'basic', username: o.user, password: o.passwordStdin ? await readStdin() : '' }
        if (o.tokenStdin) {
          const token = (await readStdin()).trim()
          if (!token) throw new UsageError('--token-stdin: stdin held no token')
          auth = { type: 'bearer', token }
        }
        let s
        try {
          s = await addServer({ name, baseUrl, auth })
        } catch (e) {
          if (e instanceof PacsError) throw e
          throw new UsageError(`server "${name}": ${(e as Error).message.includes('regex') || /name/.test((e as Error).message) ? 'a name is letters, digits, "_", "." or "-" (at most 64)' : (e as Error).message}`)
        }
        process.stdout.write(`server "${s.name}" = ${s.baseUrl}${s.auth ? ` (${s.auth.type} authentication)` : ''}\n`)
      }),
    )
  server
    .command('list')
    .description('the configured servers (never their secrets)')
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (o: { json?: boolean }) => {
        const list = loadServers().map(publicServer)
        if (o.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n')
        else for (const s of list) process.stdout.write(`${(s.name ?? '').padEnd(16)} ${s.baseUrl}  ${s.auth}${s.username ? ` (${s.username})` : ''}\n`)
      }),
    )
  server
    .command('remove <name>')
    .description('forget a server and its credentials')
    .action(
      action(async (name: string) => {
        if (!(await removeServer(name))) throw new UsageError(`no server named "${name}" is configured`)
        process.stdout.write(`server "${name}" removed\n`)
      }),
    )
}
