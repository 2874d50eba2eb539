import { Agent, request } from 'undici';
import { serverTrust, serverUrlProblem } from '../server-connection.js';

/** What GET /signer/v1/credentials/{ocn} answered, as the sync agent needs it. */
export type PullResult =
  | { readonly kind: 'changed'; readonly etag: string; readonly credential: PulledCredential }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly detail: string };

export interface PulledCredential {
  readonly ocn: string;
  readonly certificateId: string;
  readonly x5u: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly certificateChainPem: string;
  readonly keyFormat: string;
  readonly privateKeyPem: string;
}

export interface CredentialClientOptions {
  /** Base URL of the service: https://host:port, or http:// on loopback only (the answers carry private keys). */
  readonly server: string;
  readonly credential: string;
  /** Extra TLS roots (PEM file) for an https server with a private CA. */
  readonly caFile?: string;
}

/**
 * The sync agent's side of the pull API: one long-poll at a time, the credential only ever in the
 * Authorization header (never in a URL, a log line or an error message).
 */
export class CredentialClient {
  private readonly dispatcher: Agent;
  private readonly base: string;

  constructor(private readonly options: CredentialClientOptions) {
    // Checked here too, not only by the command: whatever builds this client, a key never travels in cleartext.
    const problem = serverUrlProblem(options.server, { receivesPrivateKeys: true });
    if (problem) throw new Error(problem);
    this.base = options.server.replace(/\/+$/, '');
    const ca = serverTrust(options.caFile);
    // The long-poll keeps a request open up to `wait` seconds: the header timeout must outlast it.
    this.dispatcher = new Agent({ connect: ca ? { ca } : {}, headersTimeout: 120_000, bodyTimeout: 30_000, keepAliveTimeout: 30_000 });
  }

  async pull(params: { ocn: string; keyFormat: 'sec1' | 'pkcs8'; waitSeconds: number; etag?: string; signal?: AbortSignal }): Promise<PullResult> {
    const query = `keyFormat=${params.keyFormat}${params.waitSeconds > 0 ? `&wait=${params.waitSeconds}` : ''}`;
    const response = await request(`${this.base}/signer/v1/credentials/${params.ocn}?${query}`, {
      method: 'GET',
      dispatcher: this.dispatcher,
      headers: {
        authorization: `Bearer ${this.options.credential}`,
        accept: 'application/json',
        ...(params.etag ? { 'if-none-match': params.etag } : {}),
      },
      ...(params.signal ? { signal: params.signal } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode === 304) return { kind: 'unchanged' };
    if (response.statusCode === 200) {
      const etag = response.headers.etag;
      if (typeof etag !== 'string') throw new Error('the server answered 200 without an ETag');
      return { kind: 'changed', etag, credential: parseCredential(text, params.ocn) };
    }
    let problem: { code?: unknown; detail?: unknown } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // not a problem document (a proxy's error page): described by its status
    }
    return {
      kind: 'refused',
      status: response.statusCode,
      code: typeof problem.code === 'string' ? problem.code : `HTTP.${response.statusCode}`,
      detail: typeof problem.detail === 'string' ? problem.detail.slice(0, 300) : `HTTP ${response.statusCode}`,
    };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

function parseCredential(text: string, ocn: string): PulledCredential {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // V8 quotes part of the text in its message, and this text holds a private key.
    throw new Error('the server answered 200 with a body that is not JSON');
  }
  const fields = ['ocn', 'certificateId', 'x5u', 'notBefore', 'notAfter', 'certificateChainPem', 'keyFormat', 'privateKeyPem'] as const;
  for (const field of fields) {
    if (typeof body[field] !== 'string') throw new Error(`the server's answer has no ${field}`);
  }
  if (body.ocn !== ocn) throw new Error(`the server answered for OCN ${String(body.ocn)}, not ${ocn}`);
  return body as unknown as PulledCredential;
}
