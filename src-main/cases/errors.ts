/** Errors of the workspace and its case sessions (their own module, so neither imports the other). */
export class WorkspaceError extends Error {
  /** 'replaced': the case an open session saves into is no longer the one it opened */
  readonly code: 'not-found' | 'bad-file' | 'bad-request' | 'exists' | 'replaced'
  constructor(code: WorkspaceError['code'], message: string) {
    super(message)
    this.name = 'WorkspaceError'
    this.code = code
  }
}
