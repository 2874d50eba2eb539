import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger as Pino } from 'pino';
import { createStiCrStore, serveStiCr, type StiCrStore } from '@app/storage';
import type { StiCrSettings } from '../../config/config.js';
import { ensureStiCrTls } from './sti-cr-tls.js';

/** Where the filesystem store is served: `<listener>/sti-cr/<SPC>/<16 hex>.pem`. */
export const STI_CR_MOUNT = '/sti-cr/';

export interface EmbeddedStiCr {
  /** `https://<host>:<port>/sti-cr`: where this listener serves (the x5u base unless CLM_STI_CR_PUBLIC_URL says otherwise). */
  readonly url: string;
  /** The locally made TLS root, to add to STI_TRUST.tlsCaPem; unset when an operator's certificate is used. */
  readonly tlsRootPem?: string;
  stop(): Promise<void>;
}

/**
 * The filesystem STI-CR's own HTTPS listener (the embedded default): `GET|HEAD /sti-cr/*` answered
 * by `serveStiCr` with exactly the headers verifiers expect, never a redirect, everything else 404
 * (STIR-SHAKEN.md §6). Does nothing for the S3 driver, whose bucket is served by a CDN or the
 * bucket website. TLS: the operator's certificate and key if configured, else a local root and
 * server certificate kept under `<dataDir>/sti-cr-tls`.
 */
export async function startEmbeddedStiCr(settings: StiCrSettings, dataDir: string, log: Pino): Promise<EmbeddedStiCr | undefined> {
  const listener = settings.listener;
  if (!listener || settings.store.driver !== 'filesystem') return undefined;
  const publicHost = new URL(settings.store.publicBaseUrl).hostname.replace(/^\[|\]$/g, '');
  let tls: { certPem: string; keyPem: string; rootPem?: string };
  if (listener.tlsCertFile && listener.tlsKeyFile) {
    tls = { certPem: await readFile(listener.tlsCertFile, 'utf8'), keyPem: await readFile(listener.tlsKeyFile, 'utf8') };
  } else {
    const wildcard = listener.host === '0.0.0.0' || listener.host === '::';
    tls = await ensureStiCrTls(join(dataDir, 'sti-cr-tls'), [...new Set([publicHost, ...(wildcard ? [] : [listener.host])])]);
  }
  const store = createStiCrStore(settings.store);
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => void answer(store, req, res, log));
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(new Error(`the embedded STI-CR cannot listen on ${listener.host}:${listener.port} (${error.code ?? error.message}); set CLM_STI_CR_HOST / CLM_STI_CR_PORT`));
    };
    server.once('error', failed);
    server.listen(listener.port, listener.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  const url = `https://${host}:${listener.port}${STI_CR_MOUNT.slice(0, -1)}`;
  log.info(
    { component: 'sti-cr', listen: url, x5uBase: settings.store.publicBaseUrl, dir: settings.store.rootDir, tls: tls.rootPem ? 'local root' : listener.tlsCertFile },
    'STI-CR serving certificate chains',
  );
  return {
    url,
    ...(tls.rootPem ? { tlsRootPem: tls.rootPem } : {}),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}

async function answer(store: StiCrStore, req: IncomingMessage, res: ServerResponse, log: Pino): Promise<void> {
  const path = req.url ?? '/';
  try {
    // Query strings included: an x5u carries none, so a request with one is not for a key (404).
    const response = path.startsWith(STI_CR_MOUNT)
      ? await serveStiCr(store, path.slice(STI_CR_MOUNT.length), { method: req.method, ...(req.headers['if-none-match'] ? { ifNoneMatch: req.headers['if-none-match'] } : {}) })
      : { status: 404, headers: { 'Cache-Control': 'no-store', 'Content-Length': '0' }, body: new Uint8Array(0) };
    res.writeHead(response.status, response.headers).end(Buffer.from(response.body));
  } catch (error) {
    log.error({ component: 'sti-cr', err: error, path }, 'STI-CR request failed');
    if (!res.headersSent) res.writeHead(500, { 'Cache-Control': 'no-store', 'Content-Length': '0' });
    res.end();
  }
}
