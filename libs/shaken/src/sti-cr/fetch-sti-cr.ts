import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher, buildConnector, request } from 'undici';
import { ShakenError } from '../errors.js';
import type { StiCrResponse } from './sti-cr-response.js';
import { STI_CR_MAX_BODY_BYTES } from './sti-cr-response.js';

export interface FetchStiCrOptions {
  /** Whole-request deadline: connect, headers and body (default 5000 ms). */
  timeoutMs?: number;
  /** Read at most this many body bytes (default 64 KiB); the rest is dropped and `truncated` set. */
  maxBytes?: number;
  /** undici dispatcher, e.g. an Agent that trusts a test CA. */
  dispatcher?: Dispatcher;
}

export interface FetchedStiCr extends StiCrResponse {
  body: Uint8Array;
  headers: Record<string, string | string[] | undefined>;
  truncated: boolean;
  elapsedMs: number;
}

const DEFAULT_MAX_BYTES = 8 * STI_CR_MAX_BODY_BYTES;

/**
 * GETs an x5u the way a verifier does: one request, redirects not followed, bounded in time and
 * size. Non-2xx answers are returned, not thrown, so the linter can report them. Throws ShakenError
 * `STI_CR.URL_INVALID` for a URL that cannot be fetched over HTTP(S), `STI_CR.TIMEOUT` when the
 * deadline passes and `STI_CR.FETCH_FAILED` for DNS, TCP and TLS failures.
 */
export async function fetchStiCr(url: string, opts: FetchStiCrOptions = {}): Promise<FetchedStiCr> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ShakenError('STI_CR.URL_INVALID', 'the x5u is not an absolute URL');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ShakenError('STI_CR.URL_INVALID', `cannot fetch a ${target.protocol} URL`);
  }
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const signal = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  // Credentials in the URL are a lint finding, never something to send or print.
  const safeUrl = `${target.protocol}//${target.host}${target.pathname}`;
  try {
    const res = await request(target, {
      method: 'GET',
      dispatcher: opts.dispatcher,
      signal,
      headers: { accept: 'application/pem-certificate-chain', 'user-agent': 'shaken-clm-sti-cr-lint' },
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      const room = maxBytes - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        truncated = true;
        res.body.destroy();
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
    return {
      url,
      status: res.statusCode,
      headers: res.headers,
      body: new Uint8Array(Buffer.concat(chunks)),
      truncated,
      elapsedMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (signal.aborted) {
      throw new ShakenError('STI_CR.TIMEOUT', `GET ${safeUrl} did not complete within ${timeoutMs} ms`, { cause: err });
    }
    const cause = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const detail = [cause.cause?.code ?? cause.code, cause.cause?.message ?? cause.message].filter(Boolean).join(': ');
    throw new ShakenError('STI_CR.FETCH_FAILED', `GET ${safeUrl} failed: ${detail}`, { cause: err });
  }
}

export interface StiCrDispatcherOptions {
  /** PEM of a CA to trust besides the public roots (a private STI-CR CA, or a test CA). */
  caPem?: string;
  /**
   * Open connections to this address instead of the x5u's host, still presenting and verifying the
   * x5u's host name (like curl --connect-to): tests a repository before DNS points at it.
   */
  connectTo?: { host: string; port: number };
}

/** An undici dispatcher for fetchStiCr. Close it when done. */
export function stiCrDispatcher(opts: StiCrDispatcherOptions = {}): Agent {
  const tlsOptions = opts.caPem ? { ca: [...rootCertificates, opts.caPem] } : {};
  const target = opts.connectTo;
  if (!target) return new Agent({ connect: tlsOptions });
  const connector = buildConnector(tlsOptions);
  return new Agent({
    connect: (options, callback) =>
      connector(
        {
          ...options,
          hostname: target.host,
          port: String(target.port),
          // RFC 6066 §3: SNI carries host names only, never addresses.
          servername: options.servername ?? (isIP(options.hostname) ? undefined : options.hostname),
        },
        callback,
      ),
  });
}
