import type { FastifyInstance } from 'fastify';
import { areaOf } from './common/error.filter.js';
import type { SandboxRuntime } from './runtime.js';
import { AcmeProblem } from './sti-ca/acme/acme-problem.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Cross-cutting behaviour of the two services, as Fastify hooks: the fault switches (delay, 5xx),
 * the STI-PA's source allow-list and rate limit, and the headers RFC 8555 puts on every ACME
 * response (Replay-Nonce §6.5, Link rel="index" §7.1, no caching).
 */
export function installHttpHooks(fastify: FastifyInstance, runtime: SandboxRuntime): void {
  const { faults, services, urls } = runtime;

  // Every body is read as text; ACME checks its own Content-Type (application/jose+json) and
  // answers a wrong one with a problem document instead of Fastify's generic 415.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  fastify.addHook('onRequest', async (request, reply) => {
    const area = areaOf(request.url);
    if (area !== 'acme' && area !== 'sti-pa') return;
    const delay = faults.delayFor(area);
    if (delay > 0) await sleep(delay);
    if (faults.rollServerError(area)) {
      if (area === 'acme') {
        const problem = new AcmeProblem('serverInternal', 'the CA is having trouble (sandbox 5xx fault)');
        return reply.status(500).header('content-type', 'application/problem+json').send(problem.toDocument());
      }
      return reply.status(503).header('content-type', 'application/json').send({ status: 'failed', message: 'service unavailable (sandbox 5xx fault)' });
    }
    if (request.url.startsWith('/sti-pa/api/')) {
      const refusal = services.access.check(request.ip);
      if (refusal) {
        if (refusal.retryAfterSeconds !== undefined) void reply.header('retry-after', String(refusal.retryAfterSeconds));
        return reply
          .status(refusal.status)
          .header('content-type', 'application/json')
          .send(refusal.message === '' ? { status: 'failed' } : { status: 'failed', message: refusal.message });
      }
    }
    return undefined;
  });

  fastify.addHook('onSend', async (request, reply, payload) => {
    if (areaOf(request.url) !== 'acme') return payload;
    void reply.header('replay-nonce', services.nonces.issue());
    void reply.header('cache-control', 'no-store');
    const index = `<${urls.acmeDirectory}>;rel="index"`;
    const existing = reply.getHeader('link');
    const links = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
    void reply.header('link', [...links, index]);
    return payload;
  });
}
