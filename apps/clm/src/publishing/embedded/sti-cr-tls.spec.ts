import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureStiCrTls } from './sti-cr-tls.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sti-cr-tls-'));
  dirs.push(dir);
  return join(dir, 'tls');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function leafOf(certPem: string): X509Certificate {
  return new X509Certificate(certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
}

describe('ensureStiCrTls', () => {
  it('makes a root and a server certificate for the host names, keys readable only by the service', async () => {
    const dir = scratch();
    const tls = await ensureStiCrTls(dir, ['127.9.8.7', 'cr.localhost']);
    const server = leafOf(tls.certPem);
    const root = new X509Certificate(tls.rootPem);
    expect(server.checkIssued(root) && server.verify(root.publicKey)).toBe(true);
    expect(server.checkIP('127.9.8.7')).toBe('127.9.8.7');
    expect(server.checkHost('cr.localhost')).toBe('cr.localhost');
    expect(server.checkHost('other.localhost')).toBeUndefined();
    expect(server.ca).toBe(false);
    expect(root.ca).toBe(true);
    expect(statSync(join(dir, 'root.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(tls.keyPem).toBe(readFileSync(join(dir, 'server.key'), 'utf8'));
  });

  it('keeps root and server certificate across starts, and re-issues only the server certificate for a new host', async () => {
    const dir = scratch();
    const first = await ensureStiCrTls(dir, ['127.9.8.7']);
    const again = await ensureStiCrTls(dir, ['127.9.8.7']);
    expect(again).toEqual(first);

    const moved = await ensureStiCrTls(dir, ['127.6.5.4']);
    expect(moved.rootPem).toBe(first.rootPem);
    expect(moved.keyPem).not.toBe(first.keyPem);
    const server = leafOf(moved.certPem);
    expect(server.checkIP('127.6.5.4')).toBe('127.6.5.4');
    expect(server.verify(new X509Certificate(first.rootPem).publicKey)).toBe(true);
  });
});
