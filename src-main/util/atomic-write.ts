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
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
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
