/** The one error type that crosses the boundary: a code the UI can branch on and a plain message. */
import type { z } from 'zod'
import type { ErrorCode, ErrorPayload } from './schemas.js'

export class ContractError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'ContractError'
    this.code = code
  }
  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message }
  }
}

/** HTTP status of each error code (web host). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  stale: 409,
  exists: 409,
  'bad-input': 422,
  unsupported: 501,
  cancelled: 499,
  failed: 500,
}

/** "path: expected string, received number; kind: ..." — short enough to show, precise enough to fix. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ')
}
