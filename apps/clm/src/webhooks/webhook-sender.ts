import { rootCertificates } from 'node:tls';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Agent, fetch } from 'undici';
import { STI_TRUST, type StiTrust } from '../config/config.module.js';

export type SendOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: 'unreachable'; readonly error: string };

/**
 * The HTTP seam for webhook deliveries (ARCHITECTURE.md habit 1). TLS is verified against the
 * system roots plus CLM_TLS_CA_FILE; redirects are not followed (a 3xx is a failed attempt: the
 * signed body must reach the URL the operator registered, not wherever it points).
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly dispatcher: Agent;

  constructor(@Inject(STI_TRUST) trust: StiTrust) {
    const ca = trust.tlsCaPem.length > 0 ? [...rootCertificates, ...trust.tlsCaPem] : undefined;
    this.dispatcher = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 10_000 });
  }

  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendOutcome> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The answer's body is not ours to read; release the connection.
      await response.body?.cancel().catch(() => undefined);
      const retryAfterMs = retryAfter(response.headers.get('retry-after'));
      return { kind: 'answered', status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (error) {
      return { kind: 'unreachable', error: describe(error) };
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

/** RFC 9110 §10.2.3: delay-seconds only (an HTTP-date from a receiver is rare and ignored). */
function retryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d{1,7}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'no answer within the timeout';
  const cause = error.cause instanceof Error ? `: ${(error.cause as { code?: string }).code ?? error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 500);
}
