import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { CredentialPull } from './credential-pull.js';
import { PassportSigning } from './passport-signing.js';

export const PASSPORTS_PATH = '/signer/v1/passports';

/**
 * The signer API's HTTP binding: two Fastify routes registered directly on the instance Nest
 * runs on, not a Nest controller, for reasons of the hand-off itself:
 * - the pull is the hot path (thousands of 304s/s per replica): no per-request guard, pipe and
 *   interceptor chain, and no "incoming request / request completed" log lines at info level
 *   (route logLevel warn); the audit log and its counters are the record of these requests;
 * - the OCN is read from the raw request target (pull-request.ts), before any decoding;
 * - a long-poll must end when its client goes away, which needs the raw response.
 * Errors are answered in the service's application/problem+json shape (common/problem.filter.ts)
 * with the request's correlation id; a 401 also says which scheme it wants (RFC 6750 §3).
 */
@Injectable()
export class SignerHttpRoutes implements OnModuleInit {
  private readonly logger = new Logger('SignerApi');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly pull: CredentialPull,
    private readonly passports: PassportSigning,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as { getInstance?: () => FastifyInstance } | undefined;
    const fastify = adapter?.getInstance?.();
    if (!fastify) return; // an application context without HTTP (e.g. a CLI command)
    const errorHandler = (error: Error, request: FastifyRequest, reply: FastifyReply) => this.fail(error, request, reply);
    fastify.route({
      method: 'GET',
      url: '/signer/v1/credentials/:ocn',
      logLevel: 'warn',
      exposeHeadRoute: false,
      errorHandler,
      handler: (request, reply) => this.credentials(request, reply),
    });
    fastify.route({
      method: 'POST',
      url: PASSPORTS_PATH,
      logLevel: 'warn',
      bodyLimit: 16 * 1024,
      errorHandler,
      handler: (request, reply) => this.passport(request, reply),
    });
  }

  private async credentials(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const answer = await this.pull.answer({
        rawUrl: request.url,
        authorization: request.headers.authorization,
        ifNoneMatch: request.headers['if-none-match'],
        sourceAddress: request.ip,
        correlationId: String(request.id),
        signal: gone.signal,
      });
      if (answer.status === 'abandoned') return void reply.code(204).send();
      reply.header('cache-control', 'no-store').header('etag', answer.etag);
      if (answer.status === 304) return void reply.code(304).send();
      return void reply.code(200).header('content-type', 'application/json; charset=utf-8').send(answer.body);
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  private async passport(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const signed = await this.passports.sign({ authorization: request.headers.authorization, body: request.body, sourceAddress: request.ip });
    reply.code(200).header('cache-control', 'no-store').header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(signed));
  }

  private fail(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    const correlationId = String(request.id);
    let status: number;
    let code: string;
    let detail: string;
    if (error instanceof DomainError) {
      ({ status, code } = error);
      detail = error.message;
    } else if (isClientError(error)) {
      // Fastify's own refusals before the handler: bad JSON, body too large, wrong content type.
      status = error.statusCode;
      code = status === 413 ? 'REQUEST.TOO_LARGE' : status === 415 ? 'REQUEST.UNSUPPORTED_MEDIA_TYPE' : 'REQUEST.INVALID';
      detail = error.message;
    } else {
      status = 500;
      code = 'INTERNAL';
      detail = 'internal error; quote the correlation id to support';
      // The message only: an unexpected error from key handling must not carry its material into logs.
      this.logger.error({ msg: `unhandled error on ${request.method} ${request.url.split('?')[0]}`, error: error.message, correlationId });
    }
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="shaken-clm signer API"');
    reply
      .code(status)
      .header('content-type', 'application/problem+json')
      .header('cache-control', 'no-store')
      .send(JSON.stringify({
        type: `https://shaken-clm.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
        title: code,
        status,
        code,
        detail,
        instance: request.url.split('?')[0],
        correlationId,
      }));
  }
}

function isClientError(error: unknown): error is { statusCode: number; message: string } {
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}
