import { parseRetryAfter } from '@app/http';
import { StiPaError, StiPaErrorCode } from './errors.js';
import type { HttpResult } from './http.js';

/**
 * Reading STI-PA answers: JSON bodies in the documented shapes, and HTTP error statuses mapped to
 * the client's stable codes. The STI-PA explains refusals in a `message` member; it is passed on
 * (shortened) because it is the only hint a user gets, and it never contains our secrets.
 */

export type RequestKind = 'login' | 'refresh' | 'token' | 'ca-list' | 'crl' | 'certificate';

const MAX_MESSAGE_LENGTH = 200;

function decodeUtf8(body: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** The body as a JSON object, or undefined when it is not one. */
export function jsonObjectOf(body: Uint8Array): Record<string, unknown> | undefined {
  const text = decodeUtf8(body);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The STI-PA's own explanation (`message`, else `error`), shortened and on one line. */
export function serverMessage(body: Uint8Array): string | undefined {
  const json = jsonObjectOf(body);
  const raw = json?.message ?? json?.error ?? json?.detail;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const line = raw.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

// Wording the STI-PA (or a gateway in front of it) may use for the source-IP allow-list. Only
// refines a 403 on a token request; it never decides a 403 on its own.
const ALLOW_LIST_MESSAGE = /allow[- ]?list|white[- ]?list|not allowed from|source ip|ip address/i;

/** Maps a non-2xx answer to a typed error. */
export function errorForStatus(result: HttpResult, what: string, kind: RequestKind, now: Date): StiPaError {
  const { status } = result;
  const message = serverMessage(result.body);
  const suffix = message ? `: ${message}` : '';
  const base = `STI-PA ${what} answered HTTP ${status}${suffix}`;
  if (status === 401) return new StiPaError(StiPaErrorCode.BAD_CREDENTIALS, base, { status });
  if (status === 403) return forbidden(kind, message, base);
  if (status === 429) {
    return new StiPaError(StiPaErrorCode.RATE_LIMITED, base, { status, retryAfterMs: parseRetryAfter(result.headers.get('retry-after'), now) });
  }
  if (status >= 500) {
    return new StiPaError(StiPaErrorCode.UNAVAILABLE, base, { status, retryAfterMs: parseRetryAfter(result.headers.get('retry-after'), now) });
  }
  return new StiPaError(StiPaErrorCode.REQUEST_REJECTED, base, { status });
}

/**
 * A 403 is decided by which request got it, not by the STI-PA's wording, which no document fixes:
 * login, refresh and the CA list need nothing but credentials (a 401 when wrong) and an
 * allow-listed source address, so their 403 is the allow-list. A token request can also be
 * refused for an OCN the API user's account does not hold, which is the default there; the
 * message only moves it to the allow-list when it says so. The public downloads (CRL, x5u) have
 * no account behind them, so their 403 stays a plain refusal unless it names the allow-list.
 */
function forbidden(kind: RequestKind, message: string | undefined, text: string): StiPaError {
  const namesAllowList = message !== undefined && ALLOW_LIST_MESSAGE.test(message);
  switch (kind) {
    case 'login':
    case 'refresh':
    case 'ca-list':
      return new StiPaError(StiPaErrorCode.NOT_ALLOW_LISTED, text, { status: 403 });
    case 'token':
      return new StiPaError(namesAllowList ? StiPaErrorCode.NOT_ALLOW_LISTED : StiPaErrorCode.FORBIDDEN_OCN, text, { status: 403 });
    default:
      return new StiPaError(namesAllowList ? StiPaErrorCode.NOT_ALLOW_LISTED : StiPaErrorCode.REQUEST_REJECTED, text, { status: 403 });
  }
}

export function malformed(what: string, problem: string, status: number): StiPaError {
  return new StiPaError(StiPaErrorCode.MALFORMED_RESPONSE, `STI-PA ${what} answered HTTP ${status} with ${problem}`, { status });
}

/** A 2xx JSON answer whose `status` member (when present) says success. */
export function successJson(result: HttpResult, what: string): Record<string, unknown> {
  const json = jsonObjectOf(result.body);
  if (json === undefined) throw malformed(what, 'a body that is not a JSON object', result.status);
  if (json.status !== undefined && (typeof json.status !== 'string' || json.status.toLowerCase() !== 'success')) {
    const message = serverMessage(result.body);
    throw malformed(what, `status ${JSON.stringify(json.status)}${message ? ` (${message})` : ''}`, result.status);
  }
  return json;
}

export function requireString(json: Record<string, unknown>, member: string, what: string, status: number): string {
  const value = json[member];
  if (typeof value !== 'string' || value === '') throw malformed(what, `no "${member}" string`, status);
  return value;
}

/** Accepts the JSON media types and their `+json` forms, e.g. `application/jose+json`. */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  const type = header.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}
