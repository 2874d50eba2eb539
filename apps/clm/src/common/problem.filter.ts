import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error.js';
import { mapLibraryError } from './library-errors.js';

/** RFC 9457 problem document, with our stable `code` and the request's correlation id. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  correlationId: string;
  [extension: string]: unknown;
}

const HTTP_CODES: Record<number, string> = {
  400: 'REQUEST.INVALID',
  401: 'AUTH.UNAUTHENTICATED',
  403: 'AUTH.FORBIDDEN',
  404: 'HTTP.NOT_FOUND',
  405: 'HTTP.METHOD_NOT_ALLOWED',
  409: 'HTTP.CONFLICT',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  429: 'HTTP.TOO_MANY_REQUESTS',
};

/**
 * The one place errors become HTTP (ARCHITECTURE.md habit 5). Unknown errors are logged with
 * their stack under the correlation id and answered with a generic 500, so that nothing from an
 * unexpected exception (which might carry key material) reaches the client.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const correlationId = String(request.id);
    const problem = this.toProblem(exception, correlationId);
    problem.instance = request.url.split('?')[0];
    if (problem.status >= 500) {
      this.logger.error({ msg: `unhandled error on ${request.method} ${problem.instance}`, err: exception, correlationId });
    }
    void reply
      .status(problem.status)
      .header('content-type', 'application/problem+json')
      .header('cache-control', 'no-store')
      .send(problem);
  }

  private toProblem(exception: unknown, correlationId: string): ProblemDocument {
    if (exception instanceof DomainError) {
      return problem(exception.status, exception.code, exception.message, correlationId, exception.extensions);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const code = (typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string')
        ? body.code
        : HTTP_CODES[status] ?? `HTTP.${status}`;
      // class-validator puts the list of field errors in `message`: keep them as `errors`.
      const messages = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined;
      if (Array.isArray(messages)) {
        return problem(status, code, 'the request body is invalid', correlationId, { errors: messages });
      }
      return problem(status, code, typeof messages === 'string' ? messages : exception.message, correlationId);
    }
    const mapped = mapLibraryError(exception);
    if (mapped) return problem(mapped.status, mapped.code, mapped.detail, correlationId, mapped.extensions);
    if (isFastifyClientError(exception)) {
      return problem(exception.statusCode, HTTP_CODES[exception.statusCode] ?? 'REQUEST.INVALID', exception.message, correlationId);
    }
    return problem(500, 'INTERNAL', 'internal error; quote the correlation id to support', correlationId);
  }
}

function problem(
  status: number,
  code: string,
  detail: string,
  correlationId: string,
  extensions: Readonly<Record<string, unknown>> = {},
): ProblemDocument {
  return {
    ...extensions,
    type: `https://shaken-clm.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
    title: code,
    status,
    code,
    detail,
    correlationId,
  };
}

/** Fastify's own errors for bad JSON, oversized bodies and the like carry a 4xx statusCode. */
function isFastifyClientError(e: unknown): e is { statusCode: number; message: string } {
  return (
    typeof e === 'object' && e !== null && 'statusCode' in e && typeof e.statusCode === 'number' &&
    e.statusCode >= 400 && e.statusCode < 500 && 'message' in e && typeof e.message === 'string'
  );
}
