/**
 * DICOMweb against a real Orthanc (Debian's orthanc + orthanc-dicomweb, started here on a loopback
 * port, authentication on): upload a generated CT series, `pacs search`, `pacs get`, `segment
 * <series-url>` (labels on the series' grid, checked with dcm2niix + nibabel), `export --stow`
 * (the SEG read back from Orthanc's REST API, validated by dciodvfy, referencing the series), and
 * the faults: wrong URL, refused connection, 401, a non-CT series, the server killed mid-transfer.
 * The multipart parser's edge cases and the client's answers to a deliberately broken HTTP server
 * (cut-short answer, redirect, HTML instead of JSON) run without Orthanc.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dcmjs from 'dcmjs'
import { startOrthanc, freePort, HAS_ORTHANC, NEEDS_ORTHANC, type Orthanc } from '../helpers/orthanc.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { writeDicomSeries, testUid } from '../fixtures/dicom-series.js'
import { writeSyntheticScnModel } from '../fixtures/synthetic-scn.js'
import { generatePhantom, PHANTOM_HU } from '../../src-shared/phantom.js'
import { EXIT } from '../../src-main/cli/exit-codes.js'
import { buildMultipart, parseContentType, parseMultipart, MultipartError } from '../../src-main/pacs/multipart.js'
import { fetchSeries, seriesCacheFolder } from '../../src-main/pacs/cache.js'
import { readCt } from '../../src-main/volumes/read.js'
import { PacsError } from '../../src-main/pacs/errors.js'
import { parseSeriesRef } from '../../src-main/pacs/refs.js'
import { DicomwebClient, MAX_JSON_ANSWER_BYTES } from '../../src-main/pacs/dicomweb.js'
import { runCli } from '../helpers/cli.js'

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const hasTools = has('dciodvfy') && has('dcm2niix') && has('gdcmconv') && hasPythonModules('nibabel', 'numpy', 'onnx')
const TOOLS = 'needs dciodvfy, dcm2niix, gdcmconv and python3 with nibabel and onnx'

describe('multipart/related parser', () => {
  const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'))
  it('splits parts, ignores preamble and epilogue, keeps binary bodies byte-exact', () => {
    const bin = new Uint8Array([0, 13, 10, 45, 45, 255, 13, 10])
    const { body, contentType } = buildMultipart([{ contentType: 'application/dicom', body: bin }, { contentType: 'application/dicom', body: enc('second') }], 'application/dicom')
    const ct = parseContentType(contentType)
    expect(ct.type).toBe('multipart/related')
    expect(ct.params.type).toBe('application/dicom')
    const withPreamble = Buffer.concat([Buffer.from('preamble\r\n'), body, Buffer.from('epilogue')])
    const parts = parseMultipart(withPreamble, ct.params.boundary)
    expect(parts.map((p) => [...p.body])).toEqual([[...bin], [...Buffer.from('second')]])
    expect(parts[0].headers['content-type']).toBe('application/dicom')
  })
  it('reads quoted boundaries and parameters', () => {
    const ct = parseContentType('multipart/related; type="application/dicom"; boundary="a;b=c"')
    expect(ct.params.boundary).toBe('a;b=c')
    expect(parseMultipart(enc('--a;b=c\r\nContent-Type: x\r\n\r\nhello\r\n--a;b=c--'), 'a;b=c')[0].body).toEqual(enc('hello'))
  })
  it('refuses an answer cut short: no close delimiter, or the end inside a part or its headers', () => {
    const full = '--B\r\nContent-Type: application/dicom\r\n\r\nAAAA\r\n--B\r\nContent-Type: application/dicom\r\n\r\nBBBB\r\n--B--\r\n'
    expect(parseMultipart(enc(full), 'B')).toHaveLength(2)
    for (const cut of [full.indexOf('BBBB') + 2, full.indexOf('--B--'), full.indexOf('Content-Type', 10) + 5, full.length - 4]) {
      expect(() => parseMultipart(enc(full.slice(0, cut)), 'B'), `cut at ${cut}`).toThrow(MultipartError)
    }
    expect(() => parseMultipart(enc(full.slice(0, full.indexOf('--B--'))), 'B')).toThrow(/cut short/)
  })
  it('refuses a part whose Content-Length disagrees, and a body without the boundary', () => {
    expect(() => parseMultipart(enc('--B\r\nContent-Length: 9\r\n\r\nAAAA\r\n--B--'), 'B')).toThrow(/Content-Length says 9/)
    expect(() => parseMultipart(enc('{"not":"multipart"}'), 'B')).toThrow(/opening boundary/)
  })
})

/** A tiny local HTTP server on a free port for `fn`, closed afterwards (its base URL ends in /dicom-web). */
async function withServer(handler: (req: IncomingMessage, res: ServerResponse) => void, fn: (base: string) => Promise<void>) {
  const srv = createServer(handler)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  try {
    await fn(`http://127.0.0.1:${(srv.address() as { port: number }).port}/dicom-web`)
  } finally {
    srv.closeAllConnections()
    await new Promise((r) => srv.close(r))
  }
}

describe('DICOMweb client faults (a tiny local HTTP server that misbehaves on purpose)', () => {
  it('an answer that stops inside an instance is "interrupted", not a short instance', async () => {
    await withServer(
      (_req, res) => {
        // like Orthanc: no Content-Length, the end of the answer is the end of the connection
        res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=XYZ', connection: 'close' })
        res.write('--XYZ\r\nContent-Type: application/dicom\r\n\r\n' + 'D'.repeat(1000))
        res.end()
      },
      async (base) => {
        const e = await new DicomwebClient({ baseUrl: base }).retrieveInstance('1.2', '1.3', '1.4').catch((x) => x)
        expect(e).toBeInstanceOf(PacsError)
        expect(e.code).toBe('interrupted')
        expect(e.message).toMatch(new RegExp(`^PACS ${base.replace(/[.]/g, '\\.')}, series 1\\.3: instance 1\\.4: part 1 is cut short`))
      },
    )
  })
  it('redirects are not followed (the credentials would go along); HTML is not a QIDO answer', async () => {
    await withServer(
      (req, res) => {
        if (req.url!.startsWith('/dicom-web/studies?')) res.writeHead(302, { location: 'http://elsewhere.example/' }).end()
        else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')
      },
      async (base) => {
        const c = new DicomwebClient({ baseUrl: base, auth: { type: 'bearer', token: 'tok-123' } })
        const r = await c.searchStudies().catch((x) => x)
        expect(r.message).toMatch(/was redirected \(302\) to http:\/\/elsewhere\.example\/: use the final URL/)
        const h = await c.searchSeries('1.2').catch((x) => x)
        expect(h.code).toBe('bad-response')
        expect(h.message).toMatch(/did not answer JSON \(content type text\/html\): is this the DICOMweb root URL\?/)
        expect(`${r.message}${h.message}`).not.toContain('tok-123')
      },
    )
  })
})

describe('a hostile DICOMweb server (a tiny local HTTP server that lies on purpose)', () => {
  const STUDY = '1.2.3'
  const SERIES = '1.2.3.4'
  /** A Part 10 CT header of this series whose own SOP Instance UID is `sop`. */
  function part10(sop: string): Buffer {
    const ds = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: sop, SeriesInstanceUID: SERIES, StudyInstanceUID: STUDY, Modality: 'CT',
      _meta: { TransferSyntaxUID: { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] }, MediaStorageSOPClassUID: { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] }, MediaStorageSOPInstanceUID: { vr: 'UI', Value: ['1.2'] } },
    }
    const msg = new dcmjs.data.DicomDict(ds._meta)
    msg.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds)
    return Buffer.from(msg.write())
  }
  /** Lists one instance (QIDO) with the UID `listed`, and sends a file whose own UID is `inFile`. */
  function lyingServer(listed: string, inFile: string) {
    const body = part10(inFile)
    return (req: IncomingMessage, res: ServerResponse) => {
      const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(v))
      if (req.url!.includes('/series?')) return json([{ '0020000E': { vr: 'UI', Value: [SERIES] }, '00080060': { vr: 'CS', Value: ['CT'] }, '00201209': { vr: 'IS', Value: [1] } }])
      if (req.url!.endsWith('/instances')) return json([{ '00080018': { vr: 'UI', Value: [listed] } }])
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=B' })
      res.end(Buffer.concat([Buffer.from('--B\r\nContent-Type: application/dicom\r\n\r\n'), body, Buffer.from('\r\n--B--\r\n')]))
    }
  }

  it('an instance UID with a path in it is refused; nothing is written outside the cache (or into it)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'scn-pacs-hostile-'))
    const cacheDir = join(root, 'a', 'b', 'c', 'cache')
    // the listed UID climbs out of the cache; the file's own UID is no UID at all
    const evil = `${'../'.repeat(12)}${root.slice(1)}/escaped`
    await withServer(lyingServer(evil, 'NOT-A-UID'), async (base) => {
      const e = await fetchSeries({ server: { baseUrl: base }, studyUid: STUDY, seriesUid: SERIES }, { cacheDir }).catch((x) => x)
      expect(e).toBeInstanceOf(PacsError)
      expect(e.code).toBe('bad-instance')
      expect(e.message).toMatch(/series 1\.2\.3\.4: the server lists an instance whose SOP Instance UID is not a DICOM UID: "\.\.\/\.\.\//)
    })
    expect(existsSync(join(root, 'escaped.dcm'))).toBe(false)
    expect(readdirSync(root)).toEqual([]) // refused before the cache folder was made
    rmSync(root, { recursive: true, force: true })
  })

  it('a file whose own SOP Instance UID differs from the one listed is refused, naming both', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'scn-pacs-hostile-'))
    await withServer(lyingServer('1.2.3.4.5', '1.2.3.4.6'), async (base) => {
      const e = await fetchSeries({ server: { baseUrl: base }, studyUid: STUDY, seriesUid: SERIES }, { cacheDir }).catch((x) => x)
      expect(e.code).toBe('bad-instance')
      expect(e.message).toMatch(/instance 1\.2\.3\.4\.5 was sent as a file whose SOP Instance UID is "1\.2\.3\.4\.6"/)
    })
    rmSync(cacheDir, { recursive: true, force: true })
  })

  it('an endless search answer is abandoned at the cap, in words, with memory well below it', async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20) // JSON whitespace, streamed with no Content-Length
    const before = process.memoryUsage().rss
    let peak = before
    const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        let sent = 0
        const pump = () => {
          while (sent < 4 * MAX_JSON_ANSWER_BYTES) {
            sent += chunk.length
            if (!res.write(chunk)) return void res.once('drain', pump)
          }
          res.end('[]')
        }
        res.on('error', () => {})
        pump()
      },
      async (base) => {
        const e = await new DicomwebClient({ baseUrl: base }).searchStudies().catch((x) => x)
        expect(e).toBeInstanceOf(PacsError)
        expect(e.code).toBe('bad-response')
        expect(e.message).toMatch(/GET \/studies\?.*: the answer is larger than 64 MB, more than DICOMweb sends for this request/)
      },
    )
    clearInterval(t)
    // the client held at most the cap, not the 256 MB the server tried to send
    expect(peak - before).toBeLessThan(2 * MAX_JSON_ANSWER_BYTES)
  })

  it('a search list of things that are not DICOM JSON datasets is a bad response naming the item, not a TypeError', async () => {
    let answer = ''
    await withServer(
      (_req, res) => res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(answer),
      async (base) => {
        const c = new DicomwebClient({ baseUrl: base })
        for (const [a, item] of [['[null]', 1], ['[{"0020000D":{"vr":"UI","Value":["1.2"]}}, {"00080061":{"vr":"CS","Value":"CT"}}]', 2], ['[[1]]', 1]] as const) {
          answer = a
          const e = await c.searchStudies().catch((x) => x)
          expect(e, a).toBeInstanceOf(PacsError)
          expect(e.message).toMatch(new RegExp(`answered a list whose item ${item} is not a DICOM JSON dataset`))
        }
        // a value of the wrong type reads as absent rather than as "[object Object]"
        answer = '[{"0020000D":{"vr":"UI","Value":[{"a":1}]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"Doe^J"}]}}]'
        expect(await c.searchStudies()).toMatchObject([{ studyUid: '', patientName: 'Doe^J' }])
      },
    )
  })
})

describe.skipIf(!HAS_ORTHANC || !hasTools)(`DICOMweb against a real Orthanc${!HAS_ORTHANC ? ` (${NEEDS_ORTHANC})` : !hasTools ? ` (${TOOLS})` : ''}`, () => {
  let orthanc: Orthanc
  let home: string
  let work: string
  let studyUid: string
  let seriesUid: string
  let mrStudyUid: string
  let mrSeriesUid: string
  let sopUids: string[]
  let jlsStudyUid: string
  let jlsSeriesUid: string
  let seriesUrl: string
  const labelsFile = () => join(work, 'labels.nii.gz')
  const refTo = (study: string, series: string) => ({ server: { name: 'orthanc', baseUrl: orthanc.dicomweb, auth: { type: 'basic' as const, username: orthanc.user, password: orthanc.password } }, studyUid: study, seriesUid: series })

  const cli = (args: string[], input?: string) => runCli(args, { home, input })

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'scn-pacs-home-'))
    work = mkdtempSync(join(tmpdir(), 'scn-pacs-work-'))
    writeSyntheticScnModel(join(home, 'models', 'synthetic-scn'))
    orthanc = await startOrthanc()
    const ph = generatePhantom({ dims: [80, 64, 40], spacing: [5, 5, 5], noise: 0 })
    studyUid = testUid()
    seriesUid = testUid()
    const ctFiles = writeDicomSeries(ph.ct, join(work, 'ct-src'), { studyUid, seriesUid, description: 'abdomen CT' })
    mrStudyUid = testUid()
    mrSeriesUid = testUid()
    const small = generatePhantom({ dims: [32, 32, 6], spacing: [8, 8, 8], noise: 0 })
    const mrFiles = writeDicomSeries(small.ct, join(work, 'mr-src'), { studyUid: mrStudyUid, seriesUid: mrSeriesUid, modality: 'MR', description: 'T1' })
    // a JPEG-LS compressed CT series: retrieved as stored, decoded like a compressed file
    jlsStudyUid = testUid()
    jlsSeriesUid = testUid()
    const jlsSrc = writeDicomSeries(small.ct, join(work, 'jls-plain'), { studyUid: jlsStudyUid, seriesUid: jlsSeriesUid })
    spawnSync('mkdir', ['-p', join(work, 'jls-src')])
    const jlsFiles = jlsSrc.map((f) => {
      const out = join(work, 'jls-src', f.replace(/^.*[\\/]/, ''))
      const r = spawnSync('gdcmconv', ['--jpegls', f, out], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`gdcmconv: ${r.stderr}`)
      return out
    })
    await orthanc.upload([...ctFiles, ...mrFiles, ...jlsFiles])
    sopUids = ctFiles.map((f) => naturalized(f).SOPInstanceUID as string).sort()
    // a configured server: its password goes in through stdin and lands only in the 0600 file
    const add = cli(['pacs', 'server', 'add', 'orthanc', orthanc.dicomweb, '--user', orthanc.user, '--password-stdin'], `${orthanc.password}\n`)
    expect(add.code, add.stderr).toBe(EXIT.ok)
    expect(add.stdout).not.toContain(orthanc.password)
    seriesUrl = `orthanc/studies/${studyUid}/series/${seriesUid}`
  })
  afterAll(async () => {
    await orthanc?.stop()
    for (const d of [home, work]) if (d) rmSync(d, { recursive: true, force: true })
  })

  function naturalized(file: string | Uint8Array): Record<string, any> {
    const buf = typeof file === 'string' ? (spawnSync('cat', [file], { maxBuffer: 1 << 28 }).stdout as Buffer) : Buffer.from(file)
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), { untilTag: '7FE00010' }).dict)
  }

  it('keeps the credentials in a 0600 file and never prints them', () => {
    const file = join(home, 'pacs-servers.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const list = cli(['pacs', 'server', 'list', '--json'])
    expect(list.code, list.stderr).toBe(EXIT.ok)
    expect(JSON.parse(list.stdout)).toEqual([{ name: 'orthanc', baseUrl: orthanc.dicomweb, auth: 'basic', username: orthanc.user }])
    expect(list.stdout).not.toContain(orthanc.password)
  })

  it('`pacs search <base> --json` lists the uploaded study, and filters by modality and patient', async () => {
    const r = cli(['pacs', 'search', 'orthanc', '--json'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const out = JSON.parse(r.stdout)
    expect(JSON.stringify(out)).not.toContain(orthanc.password)
    const study = out.studies.find((s: { studyUid: string }) => s.studyUid === studyUid)
    expect(study).toMatchObject({ patientName: 'Phantom^Test', patientId: 'PHANTOM', studyDate: '20260101', modalities: ['CT'], instanceCount: 40, url: `orthanc/studies/${studyUid}` })
    // the base URL itself finds the configured credentials
    const byUrl = JSON.parse(cli(['pacs', 'search', orthanc.dicomweb, '--modality', 'MR', '--json']).stdout)
    expect(byUrl.studies.map((s: { studyUid: string }) => s.studyUid)).toEqual([mrStudyUid])
    const client = new DicomwebClient(refTo(studyUid, seriesUid).server)
    expect(await client.searchStudies({ patientName: 'Nobody*' })).toEqual([])
    expect((await client.searchStudies({ patientName: 'Phantom*', studyDate: '20251201-20260131', modality: 'CT' })).map((s) => s.studyUid).sort()).toEqual([studyUid, jlsStudyUid].sort())
  })

  it('`pacs get <series-url> -o dir` retrieves every instance, whole, into the cache and the folder', () => {
    const dir = join(work, 'got')
    const r = cli(['pacs', 'get', seriesUrl, '-o', dir, '--json'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const rep = JSON.parse(r.stdout)
    expect(rep).toMatchObject({ studyUid, seriesUid, modality: 'CT', instances: 40, fromCache: false, files: 40 })
    expect(r.stderr).toMatch(/\[100%\] retrieving series .*40\/40 instances/)
    const got = readdirSync(dir).map((f) => naturalized(join(dir, f)).SOPInstanceUID as string).sort()
    expect(got).toEqual(sopUids)
    // no temporary folders left beside the cached series
    expect(readdirSync(join(rep.cacheFolder, '..')).filter((n) => n.startsWith('.'))).toEqual([])
    const again = JSON.parse(cli(['pacs', 'get', seriesUrl, '--json']).stdout)
    expect(again.fromCache).toBe(true)
  })

  it("`segment <series-url>` writes labels on the series' grid (nibabel: dcm2niix's grid, organs where the CT says)", () => {
    const r = cli(['segment', seriesUrl, '-o', labelsFile(), '--json'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const nii = join(work, 'dcm2niix')
    rmSync(nii, { recursive: true, force: true })
    spawnSync('mkdir', ['-p', nii])
    const d = spawnSync('dcm2niix', ['-z', 'y', '-f', 'ct', '-o', nii, join(work, 'got')], { encoding: 'utf8' })
    expect(d.status, d.stderr).toBe(0)
    // their voxel grid mapped onto ours through both affines must be an exact index permutation/flip
    const cmp = runPythonJson<{ sameGrid: boolean; sameAffine: boolean; liverAgree: number; liverVoxels: number }>(
      `import sys, json, nibabel as nib, numpy as np
ref = nib.load(sys.argv[1]); lab = nib.load(sys.argv[2])
T = np.linalg.inv(lab.affine) @ ref.affine
P = np.round(T[:3,:3]); t = np.round(T[:3,3])
same = bool(np.allclose(T[:3,:3], P, atol=1e-3) and np.allclose(T[:3,3], t, atol=1e-2) and sorted(ref.shape) == sorted(lab.shape))
a, b = nib.as_closest_canonical(ref), nib.as_closest_canonical(lab)
hu = np.asanyarray(a.dataobj).astype(np.float64); L = np.asanyarray(b.dataobj).astype(np.int32)
liver = np.abs(hu - float(sys.argv[3])) < 1
print(json.dumps({'sameGrid': same, 'sameAffine': bool(np.allclose(a.affine, b.affine, atol=1e-3) and a.shape == b.shape),
  'liverVoxels': int(liver.sum()), 'liverAgree': float((L[liver] == 1).mean()) if liver.any() else 0.0}))`,
      [join(nii, 'ct.nii.gz'), labelsFile(), String(PHANTOM_HU.liver)],
    )
    expect(cmp.sameGrid).toBe(true)
    expect(cmp.sameAffine).toBe(true)
    expect(cmp.liverVoxels).toBeGreaterThan(100)
    expect(cmp.liverAgree).toBeGreaterThan(0.8)
  })

  it('`export --ct <series-url> --format dicom-seg --stow <base>` leaves a valid SEG in Orthanc that references the series', async () => {
    const seg = join(work, 'seg.dcm')
    const r = cli(['export', '--ct', seriesUrl, '--labels', labelsFile(), '--format', 'dicom-seg', '-o', seg, '--stow', 'orthanc'])
    expect(r.code, r.stderr).toBe(EXIT.ok)
    const segUids = naturalized(seg)
    expect(r.stdout).toContain(`stored on "orthanc" (${orthanc.dicomweb}): study ${studyUid} series ${segUids.SeriesInstanceUID} instance ${segUids.SOPInstanceUID}`)
    // read it back through Orthanc's own REST API
    const found = await orthanc.rest<string[]>('/tools/lookup', { method: 'POST', body: segUids.SOPInstanceUID })
    const id = (found as unknown as { Type: string; ID: string }[]).find((x) => x.Type === 'Instance')!.ID
    const bytes = await orthanc.restBytes(`/instances/${id}/file`)
    const back = join(work, 'seg-from-orthanc.dcm')
    writeFileSync(back, bytes)
    const v = spawnSync('dciodvfy', [back], { encoding: 'utf8' })
    const errors = `${v.stdout}${v.stderr}`.split('\n').filter((l) => /^Error/.test(l))
    expect(errors, `${v.stdout}${v.stderr}`).toEqual([])
    const ds = naturalized(bytes)
    expect(ds.Modality).toBe('SEG')
    expect(ds.StudyInstanceUID).toBe(studyUid)
    const refSeries = [ds.ReferencedSeriesSequence].flat()
    expect(refSeries.map((s: any) => s.SeriesInstanceUID)).toEqual([seriesUid])
    const refd = [refSeries[0].ReferencedInstanceSequence].flat().map((x: any) => x.ReferencedSOPInstanceUID).sort()
    expect(refd).toEqual(sopUids)
    expect([ds.SegmentSequence].flat().map((s: any) => s.SegmentLabel)).toEqual(expect.arrayContaining(['liver']))
    // and the study now lists the SEG series over DICOMweb too
    const series = JSON.parse(cli(['pacs', 'series', `orthanc/studies/${studyUid}`, '--json']).stdout).series
    expect(series.map((s: { modality: string }) => s.modality).sort()).toEqual(['CT', 'SEG'])
    expect(series.find((s: { modality: string }) => s.modality === 'CT')).toMatchObject({ seriesUid, instanceCount: 40, url: seriesUrl })
  })

  it('wrong URL, unknown series, 401 and a non-CT series: clear messages naming the server and the series', async () => {
    const wrong = cli(['pacs', 'get', `http://${orthanc.user}:${orthanc.password}@127.0.0.1:${orthanc.port}/not-dicomweb/studies/${studyUid}/series/${seriesUid}`])
    expect(wrong.code).toBe(EXIT.badInput)
    expect(wrong.stderr).toContain(`PACS http://127.0.0.1:${orthanc.port}/not-dicomweb, series ${seriesUid}:`)
    expect(wrong.stderr).toMatch(/404 Not Found: check that the base URL is the server's DICOMweb root/)
    expect(wrong.stderr).not.toContain(orthanc.password)
    // (in-process from here where the command line adds nothing: each CLI start costs seconds)
    const cacheDir = join(work, 'fault-cache')
    const unknown = await fetchSeries(refTo(studyUid, '1.2.3.4'), { cacheDir }).catch((e) => e)
    expect(unknown).toBeInstanceOf(PacsError)
    expect(unknown.exitCode).toBe(EXIT.badInput)
    expect(unknown.message).toBe(`PACS "orthanc" (${orthanc.dicomweb}), series 1.2.3.4: the server has no such series in study ${studyUid}`)
    expect(() => parseSeriesRef(`${orthanc.dicomweb}/studies/${studyUid}`, [])).toThrow(/not a series URL: expected <base>\/studies\/<StudyInstanceUID>\/series\/<SeriesInstanceUID>/)
    expect(() => parseSeriesRef('nosuchserver/studies/1.2/series/1.3', [])).toThrow(/PACS nosuchserver: no server of that name is configured/)
    // 401: the same server without credentials, and with a wrong password
    const other = `http://localhost:${orthanc.port}/dicom-web`
    const noAuth = cli(['pacs', 'get', `${other}/studies/${studyUid}/series/${seriesUid}`])
    expect(noAuth.code).toBe(EXIT.failed)
    expect(noAuth.stderr).toContain(`PACS ${other}, series ${seriesUid}: the server needs credentials (401 Unauthorized)`)
    cli(['pacs', 'server', 'add', 'badpass', other, '--user', orthanc.user, '--password-stdin'], 'not-the-password')
    const bad = cli(['segment', `badpass/studies/${studyUid}/series/${seriesUid}`, '-o', join(work, 'x.nii.gz')])
    expect(bad.code).toBe(EXIT.failed)
    expect(bad.stderr).toContain(`PACS "badpass" (${other}), series ${seriesUid}: the server refused the credentials (401 Unauthorized)`)
    expect(bad.stderr).not.toContain('not-the-password')
    // a series that is not CT is refused before anything is downloaded
    const mr = cli(['segment', `orthanc/studies/${mrStudyUid}/series/${mrSeriesUid}`, '-o', join(work, 'mr.nii.gz')])
    expect(mr.code).toBe(EXIT.badInput)
    expect(mr.stderr).toContain(`PACS "orthanc" (${orthanc.dicomweb}), series ${mrSeriesUid}: this series is MR ("T1"), not CT`)
    expect(existsSync(join(work, 'mr.nii.gz'))).toBe(false)
    // nothing listens on this port
    const port = await freePort()
    const refused = await fetchSeries(parseSeriesRef(`http://127.0.0.1:${port}/dicom-web/studies/${studyUid}/series/${seriesUid}`, []), { cacheDir }).catch((e) => e)
    expect(refused.exitCode).toBe(EXIT.failed)
    expect(refused.message).toContain(`PACS http://127.0.0.1:${port}/dicom-web, series ${seriesUid}: connection refused by 127.0.0.1:${port}`)
  })

  it('a compressed (JPEG-LS) series is retrieved as stored and decodes to the same HU as the uncompressed source', async () => {
    const cacheDir = join(work, 'jls-cache')
    const r = await fetchSeries(refTo(jlsStudyUid, jlsSeriesUid), { cacheDir, requireCt: true })
    const files = readdirSync(r.folder).filter((f) => f.endsWith('.dcm'))
    expect(files).toHaveLength(6)
    for (const f of files) {
      const buf = Buffer.from(spawnSync('cat', [join(r.folder, f)]).stdout)
      const meta = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), { untilTag: '00080016' }).meta
      expect(meta['00020010'].Value[0]).toBe('1.2.840.10008.1.2.4.80')
    }
    const [got, src] = await Promise.all([readCt(r.folder), readCt(join(work, 'jls-plain'))])
    expect(got.dims).toEqual(src.dims)
    expect(Buffer.from(got.data.buffer).equals(Buffer.from(src.data.buffer))).toBe(true)
  })

  it('cancel: the retrieval stops, says so, and keeps nothing', async () => {
    const cacheDir = join(work, 'cancel-cache')
    const ref = refTo(studyUid, seriesUid)
    const ac = new AbortController()
    const err = await fetchSeries(ref, { cacheDir, signal: ac.signal, onProgress: (p) => void (p.received === 3 && ac.abort()) }).then(
      () => undefined,
      (e) => e,
    )
    expect(err).toBeInstanceOf(PacsError)
    expect(err.code).toBe('cancelled')
    expect(err.message).toBe(`PACS "orthanc" (${orthanc.dicomweb}), series ${seriesUid}: retrieval cancelled: nothing was kept`)
    const folder = seriesCacheFolder(ref, cacheDir)
    expect(existsSync(folder)).toBe(false)
    expect(readdirSync(join(folder, '..'))).toEqual([])
  })

  // last: it kills the server
  it('a server killed mid-transfer: a clear error, no partial series in the cache, nothing opened', async () => {
    const cacheDir = join(work, 'kill-cache')
    const ref = refTo(studyUid, seriesUid)
    let killedAfter = -1
    const err = await fetchSeries(ref, {
      cacheDir,
      onProgress: async (p) => {
        if (p.received === 5 && killedAfter < 0) {
          killedAfter = p.received
          await orthanc.kill()
        }
      },
    }).then(
      () => undefined,
      (e) => e,
    )
    expect(killedAfter).toBe(5)
    expect(err).toBeInstanceOf(PacsError)
    expect(['unreachable', 'interrupted']).toContain(err.code)
    expect(err.message).toMatch(new RegExp(`^PACS "orthanc" \\(${orthanc.dicomweb.replace(/[.]/g, '\\.')}\\), series ${seriesUid.replace(/[.]/g, '\\.')}: .*retrieval stopped after \\d+ of 40 instances, nothing was kept`))
    const folder = seriesCacheFolder(ref, cacheDir)
    expect(existsSync(folder)).toBe(false)
    expect(readdirSync(join(folder, '..'))).toEqual([]) // the temporary download folder is gone too
    // the CLI, with the server gone, says so and opens nothing (the cache is never used unchecked)
    const out = join(work, 'after-kill.nii.gz')
    const r = cli(['segment', seriesUrl, '-o', out])
    expect(r.code).toBe(EXIT.failed)
    expect(r.stderr).toContain(`PACS "orthanc" (${orthanc.dicomweb}), series ${seriesUid}: connection refused`)
    expect(existsSync(out)).toBe(false)
  })
})
