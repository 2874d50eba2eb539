import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PublishRequest, type PublishResult, CertificatePublisher } from '../../apps/clm/src/publishing/certificate-publisher.js';

/**
 * A CertificatePublisher for procurement tests until the STI-CR feature (issue 6) provides the
 * real one: it really serves each chain over HTTP on loopback with the headers verifiers expect,
 * and after "uploading" fetches the URL back and compares the bytes, as the real one must. One
 * immutable URL per certificate; asking again for the same certificate returns the same URL.
 * `failing` makes every publish throw STORAGE.UNAVAILABLE (a store outage).
 */
export class LoopbackStiCrPublisher extends CertificatePublisher {
  failing = false;
  readonly published = new Map<string, { url: string; body: string; publicationId: string }>();
  private readonly bodies = new Map<string, string>();
  publishCalls = 0;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {
    super();
  }

  static async start(): Promise<LoopbackStiCrPublisher> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const publisher = new LoopbackStiCrPublisher(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      const body = req.method === 'GET' ? publisher.bodies.get(req.url ?? '') : undefined;
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      // STIR-SHAKEN.md §6: what verifiers expect from an x5u.
      res.writeHead(200, { 'content-type': 'application/pem-certificate-chain', 'cache-control': 'public, max-age=86400' }).end(body);
    });
    return publisher;
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    this.publishCalls += 1;
    if (this.failing) throw Object.assign(new Error('the STI-CR store is unavailable (test switch)'), { code: 'STORAGE.UNAVAILABLE' });
    const existing = this.published.get(request.certificateId);
    if (existing) return { publicationId: existing.publicationId, x5u: existing.url };
    const path = `/${request.spc}/${request.fingerprintSha256.slice(0, 16)}.pem`;
    this.bodies.set(path, request.chainPem);
    const url = `${this.baseUrl}${path}`;
    const fetched = await fetch(url, { redirect: 'manual' });
    const text = await fetched.text();
    if (fetched.status !== 200 || sha256(text) !== sha256(request.chainPem)) {
      throw Object.assign(new Error(`the chain served at ${url} is not what was published`), { code: 'PUBLISH.VERIFY_FAILED' });
    }
    const publicationId = randomUUID();
    this.published.set(request.certificateId, { url, body: request.chainPem, publicationId });
    return { publicationId, x5u: url };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
