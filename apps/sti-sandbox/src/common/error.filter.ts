import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AcmeProblem } from '../sti-ca/acme/acme-problem.js';
import { StiPaFailure } from '../sti-pa/sti-pa-failure.js';

export type Area = 'sti-pa' | 'acme' | 'admin' | 'other';

export function areaOf(url: string): Area {
  if (url.startsWith('/sti-pa/')) return 'sti-pa';
  if (url.startsWith('/acme/')) return 'acme';
  if (url.startsWith('/admin')) return 'admin';
  return 'other';
}

/**
 * The one place errors become HTTP, in the dialect of the service that was called: RFC 8555
 * problem documents under /acme, the STI-PA's `{"status":"failed","message"}` under /sti-pa, plain
 * JSON for the admin API. Unexpected errors are logged and answered without their message, which
 * might carry key material.
 */
@Catch()
export class SandboxErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('SandboxErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const area = areaOf(request.url);
    const { status, message, headers } = this.describe(exception, request);
    for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
    if (area === 'acme') {
      const problem = exception instanceof AcmeProblem ? exception : this.asAcmeProblem(status, message);
      void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem.toDocument());
      return;
    }
    if (area === 'sti-pa') {
      void reply.status(status).header('content-type', 'application/json').send({ status: 'failed', message });
      return;
    }
    void reply.status(status).header('content-type', 'application/json').send({ error: message, status });
  }

  private describe(exception: unknown, request: FastifyRequest): { status: number; message: string; headers: Record<string, string> } {
    if (exception instanceof AcmeProblem) return { status: exception.status, message: exception.detail, headers: exception.headers };
    if (exception instanceof StiPaFailure) return { status: exception.status, message: exception.message, headers: { ...exception.headers } };
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const raw = typeof body === 'object' && body !== null && 'message' in body ? (body as { message: unknown }).message : exception.message;
      const message = Array.isArray(raw) ? raw.join('; ') : String(raw);
      return { status: exception.getStatus(), message, headers: {} };
    }
    const clientError = exception as { statusCode?: unknown; message?: unknown };
    if (typeof clientError?.statusCode === 'number' && clientError.statusCode >= 400 && clientError.statusCode < 500) {
      return { status: clientError.statusCode, message: String(clientError.message), headers: {} };
    }
    this.logger.error({ msg: `unhandled error on ${request.method} ${request.url.split('?')[0]}`, err: exception });
    return { status: 500, message: 'internal error', headers: {} };
  }

  private asAcmeProblem(status: number, message: string): AcmeProblem {
    if (status >= 500) return new AcmeProblem('serverInternal', message, { status });
    return new AcmeProblem('malformed', status === 404 ? 'no such resource' : message, { status });
  }
}
