/**
 * Errors of the DICOMweb source. The message always names the server (its configured name or its
 * URL without credentials) and, when there is one, the series, then says the problem in plain
 * words: it is shown to the user as is. Credentials never appear in a message.
 */

export type PacsErrorCode =
  | 'bad-url' // not a DICOMweb series/study URL, or an unknown server name
  | 'unreachable' // refused connection, unknown host, timeout
  | 'unauthorized' // 401 / 403
  | 'not-found' // 404, or a series the server does not list
  | 'http' // any other HTTP error status
  | 'bad-response' // the answer is not what DICOMweb promises (content type, multipart, JSON)
  | 'interrupted' // the connection dropped or the answer ended early
  | 'incomplete' // fewer instances than the server listed
  | 'not-ct' // the series is another modality
  | 'bad-instance' // an instance that is not DICOM or belongs to another series
  | 'stow-failed' // the server refused the stored instance
  | 'cancelled'
  | 'config' // the servers file is unreadable or invalid

/** Exit code a CLI command should use: bad input (3) for what the user named, else failure (1). */
const BAD_INPUT: ReadonlySet<PacsErrorCode> = new Set(['bad-url', 'not-found', 'not-ct', 'config'])

export class PacsError extends Error {
  readonly code: PacsErrorCode
  readonly server: string
  readonly series?: string
  /** the message without the server and series */
  readonly problem: string
  constructor(code: PacsErrorCode, server: string, series: string | undefined, problem: string, opts?: { cause?: unknown }) {
    super(`PACS ${server}${series ? `, series ${series}` : ''}: ${problem}`, opts)
    this.name = 'PacsError'
    this.code = code
    this.server = server
    this.series = series
    this.problem = problem
  }

  get exitCode(): number {
    return this.code === 'cancelled' ? 130 : BAD_INPUT.has(this.code) ? 3 : 1
  }
}
