/**
 * Crash-safe file writes: write a temp file beside the target, fsync it, rename over the target,
 * fsync the folder. A reader sees either the old file or the new one, never half of one.
 */
import { open, rename, unlink, mkdir } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/** `mode`: permissions of the new file from its creation on (e.g. 0o600 for secrets). */
export async function writeFileAtomic(file: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
  const dir = dirname(file)
  await mkdir(dir, { recursive: true })
  // the temp name keeps at most 200 bytes of the target's, so any legal target name (255) has a legal temp name
  const tmp = join(dir, `.${headBytes(basename(file), 200)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'w', opts.mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (e) {
    await fh.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw e
  }
  await fh.close()
  try {
    await rename(tmp, file)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
  // Make the rename itself durable (a directory fsync; not supported on Windows, so best effort).
  try {
    const dh = await open(dir, 'r')
    await dh.sync().catch(() => {})
    await dh.close()
  } catch {
    /* best effort */
  }
}

/** The longest start of `name` that is at most `max` bytes in UTF-8 (never cutting a character). */
function headBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name
  let out = ''
  for (const ch of name) {
    if (Buffer.byteLength(out + ch) > max) break
    out += ch
  }
  return out
}
