/**
 * An error the service means to report: a stable `code` callers can branch on, the HTTP status
 * it maps to, and a message safe to show (never a secret). Features define their codes next to
 * their services (e.g. `PROVIDER.FRN_INVALID`); the problem filter turns them into
 * application/problem+json.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra machine-readable members for the problem document (RFC 9457 §3.2). */
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (code: string, message: string) => new DomainError(code, 404, message);
export const conflict = (code: string, message: string) => new DomainError(code, 409, message);
export const invalid = (code: string, message: string, extensions: Record<string, unknown> = {}) =>
  new DomainError(code, 422, message, extensions);
