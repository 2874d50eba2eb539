import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStiCrTls } from '../../apps/clm/src/publishing/embedded/sti-cr-tls.js';
import { stiCrLoopbackHost } from './sti-cr-loopback.js';

/** How the front answers: as a correct CDN, or broken in one of the ways repositories go bad. */
export type FrontMode = 'pass-through' | 'wrong-content-type' | 'redirect';

export interface StiCrFront {
  /** `https://<loopback>:8443`: the public base of the x5u (the CDN in front of the bucket). */
  readonly baseUrl: string;
  /** PEM file of the TLS root the front's certificate chains to (CLM_TLS_CA_FILE). */
  readonly tlsRootFile: string;
  readonly tlsRootPem: string;
  mode: FrontMode;
  close(): Promise<void>;
}

/**
 * A real HTTPS server on port 8443 of a loopback address of its own, standing where a CDN or the
 * bucket website stands in production: GET/HEAD `/<key>` are passed to `<origin><key>` (the
 * S3 bucket prefix, path-style) and the origin's status, headers and bytes returned unchanged.
 * `mode` breaks it on purpose: a Content-Type verifiers refuse, or a redirect they do not follow.
 */
export async function startStiCrFront(origin: string): Promise<StiCrFront> {
  const dir = mkdtempSync(join(tmpdir(), 'clm-sti-cr-front-'));
  let server: Server | undefined;
  let host = '';
  let rootPem = '';
  for (let attempt = 0; !server; attempt++) {
    host = stiCrLoopbackHost(`${dir}:${attempt}`);
    const tls = await ensureStiCrTls(join(dir, 'tls'), [host]);
    const candidate = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => forward(req, res));
    const listening = await new Promise<boolean>((resolve) => {
      candidate.once('error', () => resolve(false));
      candidate.listen(8443, host, () => resolve(true));
    });
    if (listening) [server, rootPem] = [candidate, tls.rootPem];
    else if (attempt > 10) throw new Error('no free loopback address for port 8443');
  }
  const tlsRootFile = join(dir, 'front-root.pem');
  writeFileSync(tlsRootFile, rootPem);

  const front: StiCrFront = {
    baseUrl: `https://${host}:8443`,
    tlsRootFile,
    tlsRootPem: rootPem,
    mode: 'pass-through',
    close: async () => {
      server!.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function forward(req: IncomingMessage, res: ServerResponse): void {
    if (front.mode === 'redirect') {
      res.writeHead(302, { location: `${origin}${(req.url ?? '/').slice(1)}`, 'content-length': '0' }).end();
      return;
    }
    const upstream = httpRequest(`${origin}${(req.url ?? '/').slice(1)}`, { method: req.method }, (answer) => {
      const headers = { ...answer.headers };
      if (front.mode === 'wrong-content-type' && answer.statusCode === 200) headers['content-type'] = 'application/x-x509-ca-cert';
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-length': '0' });
      res.end();
    });
    upstream.end();
  }
  return front;
}
