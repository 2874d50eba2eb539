import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueLocalServerCertificate, issueLocalTlsRoot, namesEveryHost } from './local-tls.js';

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const keyPair = () => webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
const DAY_MS = 86_400_000;

describe('local TLS issuance', () => {
  it('issues a CA root and a serverAuth leaf under it naming the given DNS names and IPs, with the given names and lifetimes', async () => {
    const rootKeys = await keyPair();
    const root = await issueLocalTlsRoot(rootKeys, { subject: 'CN=Test Local Root, O=tests', lifetimeDays: 3650 });
    const serverKeys = await keyPair();
    const server = await issueLocalServerCertificate({ certificate: root, keys: rootKeys }, serverKeys, {
      subject: 'CN=Test Server',
      hostNames: ['localhost', '127.0.0.1', '::1', 'Cr.Example'],
      lifetimeDays: 397,
    });

    // Checked with OpenSSL's view (node:crypto), not the library that made them.
    const nodeRoot = new NodeX509Certificate(Buffer.from(root.rawData));
    const nodeServer = new NodeX509Certificate(Buffer.from(server.rawData));
    expect(nodeRoot.ca).toBe(true);
    expect(nodeRoot.subject).toBe('CN=Test Local Root\nO=tests');
    expect(nodeServer.ca).toBe(false);
    expect(nodeServer.subject).toBe('CN=Test Server');
    expect(nodeServer.issuer).toBe(nodeRoot.subject);
    expect(nodeServer.checkIssued(nodeRoot) && nodeServer.verify(nodeRoot.publicKey)).toBe(true);
    expect(nodeServer.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(nodeServer.checkHost('localhost')).toBe('localhost');
    expect(nodeServer.checkHost('cr.example')).toBe('Cr.Example');
    expect(nodeServer.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(nodeServer.checkIP('::1')).toBe('::1');
    expect(nodeServer.checkHost('other.example')).toBeUndefined();
    expect(nodeServer.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const lifetime = (cert: NodeX509Certificate) => Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS);
    expect(lifetime(nodeRoot)).toBe(3650);
    expect(lifetime(nodeServer)).toBe(397);
    expect(Date.parse(nodeServer.validFrom)).toBeLessThan(Date.now());
    expect(nodeServer.serialNumber).not.toBe(nodeRoot.serialNumber);

    expect(namesEveryHost(server, ['LOCALHOST', '::1', 'cr.example'])).toBe(true);
    expect(namesEveryHost(server, ['localhost', '10.0.0.1'])).toBe(false);
    expect(namesEveryHost(root, ['localhost'])).toBe(false);
  });
});
