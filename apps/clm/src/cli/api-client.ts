import { Agent, fetch, type Response } from 'undici';
import { serverTrust, serverUrlProblem } from './server-connection.js';

/**
 * The CLI's HTTP client for the admin API: server and token from flags or CLM_SERVER/CLM_TOKEN,
 * https verified against --ca-file (CLM_CA_FILE) when given, plain http only to loopback unless
 * --insecure-http (CLM_INSECURE_HTTP=true), problem+json errors turned into one readable line
 * (code, detail, correlation id).
 */
export interface ApiTarget {
  readonly server: string;
  readonly token?: string;
  /** Extra TLS root(s), PEM, for an https server with a private CA. */
  readonly caFile?: string;
  /** Plain http to a non-loopback host was asked for explicitly (never for signer sync). */
  readonly insecureHttp: boolean;
}

/** The command-group options every command that talks to the service has (program.ts adds the last two). */
export interface ServerOptions {
  server?: string;
  token?: string;
  caFile?: string;
  insecureHttp?: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly correlationId?: string,
  ) {
    super(`${code}: ${detail}${correlationId ? ` (correlation id ${correlationId})` : ''}`);
    this.name = 'ApiError';
  }
}

export function targetFrom(opts: ServerOptions, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const caFile = opts.caFile ?? env.CLM_CA_FILE;
  return {
    server: (opts.server ?? env.CLM_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    token: opts.token ?? env.CLM_TOKEN,
    ...(caFile ? { caFile } : {}),
    insecureHttp: opts.insecureHttp === true || /^(1|true|yes)$/i.test(env.CLM_INSECURE_HTTP ?? ''),
  };
}

const dispatchers = new Map<string, Agent>();

/** One connection pool per CA file, trusting it (undici leaves idle sockets unref'd, so the CLI still exits). */
function dispatcherFor(caFile: string): Agent {
  let agent = dispatchers.get(caFile);
  if (!agent) {
    let ca: string[] | undefined;
    try {
      ca = serverTrust(caFile);
    } catch (error) {
      throw new ApiError(0, 'CLI.CA_FILE_INVALID', (error as Error).message);
    }
    agent = new Agent({ connect: { ca } });
    dispatchers.set(caFile, agent);
  }
  return agent;
}

export async function callApi<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  if (!target.token) {
    throw new ApiError(0, 'CLI.NO_TOKEN', 'no admin token: pass --token or set CLM_TOKEN');
  }
  const insecure = serverUrlProblem(target.server, { receivesPrivateKeys: false, insecureHttp: target.insecureHttp });
  if (insecure) throw new ApiError(0, 'CLI.INSECURE_SERVER_URL', insecure);
  let res: Response;
  try {
    res = await fetch(target.server + path, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
      ...(target.caFile ? { dispatcher: dispatcherFor(target.caFile) } : {}),
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // fetch says only "fetch failed"; the cause says why (certificate not trusted, refused, ...).
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    const reason = (error instanceof Error ? error.message : String(error)) + cause;
    throw new ApiError(0, 'CLI.SERVER_UNREACHABLE', `cannot reach ${target.server} (${reason})`);
  }
  const text = await res.text();
  const parsed: unknown = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const p = (parsed ?? {}) as { code?: string; detail?: string; correlationId?: string; errors?: unknown };
    const detail = (p.detail ?? res.statusText) + (Array.isArray(p.errors) ? `: ${p.errors.join('; ')}` : '');
    throw new ApiError(res.status, p.code ?? `HTTP.${res.status}`, detail, p.correlationId);
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

/** Commander action wrapper: API errors print one line and exit 1 instead of a stack trace. */
export function runAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      if (error instanceof ApiError) {
        process.stderr.write(`clm: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      throw error;
    }
  };
}
