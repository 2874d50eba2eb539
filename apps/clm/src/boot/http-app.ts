import { readFileSync } from 'node:fs';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger as Pino } from 'pino';
import { AppModule } from '../app.module.js';
import { CORRELATION_HEADER, correlationIdFrom } from '../common/correlation.js';
import { PinoNestLogger } from '../common/logger.js';
import type { RuntimeContext } from '../config/config.module.js';

/**
 * Builds the HTTP service around a prepared runtime (config, database, keystore). Used by main
 * and by the end-to-end tests, so both run the same pipes, filters and documentation.
 */
export async function createHttpApp(runtime: RuntimeContext, log: Pino): Promise<NestFastifyApplication> {
  // CLM_TLS_CERT_FILE/CLM_TLS_KEY_FILE (checked and matched by loadConfig): this listener hands out
  // private keys and takes bearer credentials, so it serves HTTPS itself whenever it is configured.
  const tls = runtime.config.api.tls;
  const adapter = new FastifyAdapter({
    ...(tls ? { https: { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') } } : {}),
    loggerInstance: log.child({ component: 'http' }),
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => correlationIdFrom(req.headers[CORRELATION_HEADER]),
    requestIdHeader: false,
    bodyLimit: 256 * 1024,
    trustProxy: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(runtime), adapter, {
    logger: new PinoNestLogger(log.child({ component: 'nest' })),
    abortOnError: false,
  });
  app.getHttpAdapter().getInstance().addHook('onSend', async (request, reply) => {
    reply.header(CORRELATION_HEADER, String(request.id));
  });
  // ARCHITECTURE.md habit 4: one strict validation style; unknown fields are an error, not ignored.
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('shaken-clm')
      .setDescription('STIR/SHAKEN certificate lifecycle manager: admin API, signer API, STI-CR')
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'admin token (clm_admin_…)' }, 'admin')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
