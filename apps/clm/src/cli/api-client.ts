/**
 * The CLI's HTTP client for the admin API: server and token from flags or CLM_SERVER/CLM_TOKEN,
 * problem+json errors turned into one readable line (code, detail, correlation id).
 */
export interface ApiTarget {
  readonly server: string;
  readonly token?: string;
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

export function targetFrom(opts: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  return {
    server: (opts.server ?? env.CLM_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    token: opts.token ?? env.CLM_TOKEN,
  };
}

export async function callApi<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  if (!target.token) {
    throw new ApiError(0, 'CLI.NO_TOKEN', 'no admin token: pass --token or set CLM_TOKEN');
  }
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
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
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
