/**
 * Typed errors of the FLARE21 importer. As everywhere in SCN Studio, the message starts with the
 * file (or folder) and then says the problem in plain words: it is shown to the user as is.
 */
export type ImportErrorCode =
  | 'not-found'
  | 'truncated'
  | 'bad-magic'
  | 'corrupt'
  | 'checksum'
  | 'unsupported'
  | 'unknown-dtype'
  | 'unknown-variable'
  | 'missing-variable'
  | 'shape-mismatch'
  | 'wrong-architecture'
  | 'bad-template'
  | 'exists'

export class ImportError extends Error {
  readonly code: ImportErrorCode
  readonly file: string
  constructor(code: ImportErrorCode, file: string, problem: string) {
    super(`${file}: ${problem}`)
    this.name = 'ImportError'
    this.code = code
    this.file = file
  }
}
