import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcmeClient,
  AcmeErrorCode,
  AcmeNetworkError,
  AcmeProblemError,
  RevocationReason,
  type AcmeClientEvent,
  type AcmeClientOptions,
  type AcmeOrder,
} from '@app/acme';
import { findPebbleBinary, startPebble, type PebbleInstance } from '../support/pebble.js';

/**
 * RFC 8555 mechanics of @app/acme against the real Pebble binary (Let's Encrypt's test CA):
 * accounts, nonces with Pebble's badNonce rejections on, orders, finalize, download, alternate
 * chains, key rollover, EAB and revocation. Pebble rejects TNAuthList identifiers, so tkauth-01 is
 * exercised against the sti-sandbox instead.
 */

const run = promisify(execFile);
const pebbleBinary = findPebbleBinary();
if (!pebbleBinary) {
  console.warn('[acme-pebble] pebble is not installed (Debian package "pebble", /usr/bin/pebble): skipping the Pebble tests');
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

function uniqueDnsName(): string {
  return `acme-${randomBytes(6).toString('hex')}.example.com`;
}

async function csrFor(dnsName: string, keys: webcrypto.CryptoKeyPair): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${dnsName}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }])],
  });
  return new Uint8Array(csr.rawData);
}

async function spkiOf(publicKey: webcrypto.CryptoKey): Promise<string> {
  return Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey)).toString('hex');
}

describe.skipIf(!pebbleBinary)('ACME client against Pebble (RFC 8555 with badNonce rejections)', () => {
  let pebble: PebbleInstance;
  const clients: AcmeClient[] = [];
  const events: AcmeClientEvent[] = [];

  function clientFor(accountKey: webcrypto.CryptoKeyPair, extra: Partial<AcmeClientOptions> = {}): AcmeClient {
    const client = new AcmeClient({
      directoryUrl: pebble.directoryUrl,
      accountKey,
      transport: { trustedCaPem: pebble.tlsCaPem, requestTimeoutMs: 10_000 },
      polling: { defaultIntervalMs: 100, maxIntervalMs: 1_000, maxTotalWaitMs: 20_000 },
      onEvent: (event) => events.push(event),
      ...extra,
    });
    clients.push(client);
    return client;
  }

  /** newOrder → authz → http-01 (always valid in this Pebble) → finalize → valid order. */
  async function issue(client: AcmeClient, certificateKey: webcrypto.CryptoKeyPair): Promise<{ order: AcmeOrder; dnsName: string }> {
    const dnsName = uniqueDnsName();
    const order = await client.createOrder({ identifiers: [{ type: 'dns', value: dnsName }] });
    for (const authzUrl of order.authorizations) {
      const authz = await client.getAuthorization(authzUrl);
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (!challenge) throw new Error(`Pebble offered no http-01 challenge for ${authz.identifier.value}`);
      // RFC 8555 §8.3: the http-01 response payload is the empty object.
      await client.respondToChallenge(challenge.url, {});
      await client.waitForAuthorization(authzUrl);
    }
    const valid = await client.finalizeOrder(order, await csrFor(dnsName, certificateKey));
    return { order: valid, dnsName };
  }

  beforeAll(async () => {
    // 15 % instead of Pebble's default 5 % so the badNonce path is exercised on every run.
    pebble = await startPebble({ nonceRejectPercent: 15, alternateRoots: 1 });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await pebble?.stop();
  });

  it('creates an account, orders a dns certificate, finalizes with our CSR and downloads a chain for our key', async () => {
    const client = clientFor(await newKeyPair());
    const account = await client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:ops@example.com'] });
    expect(account.status).toBe('valid');
    expect(client.accountUrl).toBe(account.url);

    const certificateKey = await newKeyPair();
    const { order, dnsName } = await issue(client, certificateKey);
    expect(order.status).toBe('valid');
    expect(order.identifiers).toEqual([{ type: 'dns', value: dnsName }]);
    expect(order.certificate).toMatch(/^https:\/\/127\.0\.0\.1:/);

    const download = await client.downloadCertificate(order, { includeAlternates: true });
    expect(download.certificates.length).toBeGreaterThanOrEqual(2);
    const leaf = new x509.X509Certificate(download.certificates[0] as string);
    // The certificate certifies exactly the key of our CSR (DER SubjectPublicKeyInfo compared).
    expect(Buffer.from(leaf.publicKey.rawData).toString('hex')).toBe(await spkiOf(certificateKey.publicKey));
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value)).toEqual([dnsName]);

    // OpenSSL, as a separate process, must accept the served chain up to Pebble's root.
    const dir = await mkdtemp(join(tmpdir(), 'acme-pebble-'));
    try {
      await writeFile(join(dir, 'root.pem'), await pebble.rootPem(0));
      await writeFile(join(dir, 'leaf.pem'), download.certificates[0] as string);
      await writeFile(join(dir, 'untrusted.pem'), download.certificates.slice(1).join(''));
      const { stdout } = await run('openssl', [
        'verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem'),
      ]);
      expect(stdout.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);

      // PEBBLE_ALTERNATE_ROOTS=1: a second chain for the same leaf under another root.
      expect(download.alternateUrls).toHaveLength(1);
      expect(download.alternates).toHaveLength(1);
      const alternate = download.alternates[0]!;
      expect(alternate.certificates[0]).toBe(download.certificates[0]);
      expect(alternate.certificates.slice(1)).not.toEqual(download.certificates.slice(1));
      await writeFile(join(dir, 'root1.pem'), await pebble.rootPem(1));
      await writeFile(join(dir, 'untrusted1.pem'), alternate.certificates.slice(1).join(''));
      const alt = await run('openssl', [
        'verify', '-CAfile', join(dir, 'root1.pem'), '-untrusted', join(dir, 'untrusted1.pem'), join(dir, 'leaf.pem'),
      ]);
      expect(alt.stdout.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses Pebble\'s self-signed TLS certificate unless it is trusted (ACME.NETWORK)', async () => {
    const untrusting = new AcmeClient({ directoryUrl: pebble.directoryUrl, accountKey: await newKeyPair(), transport: { requestTimeoutMs: 10_000 } });
    clients.push(untrusting);
    const error = await untrusting.getDirectory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeNetworkError);
    expect((error as Error).message).toMatch(/SELF_SIGNED|self[- ]signed/i);
  });

  it('retries badNonce rejections transparently (Pebble rejects 15 % of nonces here)', async () => {
    const retriesBefore = events.filter((e) => e.type === 'bad-nonce-retry').length;
    const client = clientFor(await newKeyPair());
    await client.createAccount({ termsOfServiceAgreed: true });
    // 60 signed requests: the chance that Pebble rejects none of them is 0.85^60 ≈ 6e-5.
    for (let i = 0; i < 60; i++) expect((await client.getAccount()).status).toBe('valid');
    const retries = events.filter((e) => e.type === 'bad-nonce-retry').length - retriesBefore;
    expect(retries).toBeGreaterThan(0);
  });

  it('gives up with ACME.BAD_NONCE after the bounded number of retries', async () => {
    const key = await newKeyPair();
    const account = await clientFor(key).createAccount({ termsOfServiceAgreed: true });
    const client = clientFor(key, { accountUrl: account.url, maxBadNonceRetries: 0 });
    // Without retries some of 60 requests must fail, and they fail as the typed badNonce problem.
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, () => client.getAccount()));
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as unknown);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(AcmeProblemError);
      expect((failure as AcmeProblemError).code).toBe(AcmeErrorCode.BAD_NONCE);
      expect((failure as AcmeProblemError).type).toBe('urn:ietf:params:acme:error:badNonce');
    }
  });

  it('finds an existing account by key (onlyReturnExisting) and reports an unknown key as accountDoesNotExist', async () => {
    const key = await newKeyPair();
    const created = await clientFor(key).createAccount({ termsOfServiceAgreed: true });
    const found = await clientFor(key).findAccount();
    expect(found.url).toBe(created.url);

    const stranger = clientFor(await newKeyPair());
    const error = await stranger.findAccount().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).code).toBe(AcmeErrorCode.ACCOUNT_DOES_NOT_EXIST);
    expect(stranger.accountUrl).toBeUndefined();
  });

  it('rolls the account key over (keyChange); the new key finds the account and the old key is refused', async () => {
    const oldKey = await newKeyPair();
    const newKey = await newKeyPair();
    const client = clientFor(oldKey);
    const account = await client.createAccount({ termsOfServiceAgreed: true });
    const oldFingerprint = await client.accountKeyFingerprint();

    await client.rolloverKey(newKey);
    expect(await client.accountKeyFingerprint()).not.toBe(oldFingerprint);
    expect((await client.getAccount()).status).toBe('valid');
    expect((await clientFor(newKey).findAccount()).url).toBe(account.url);

    const byOldKey = await clientFor(oldKey).findAccount().catch((e: unknown) => e);
    expect((byOldKey as AcmeProblemError).code).toBe(AcmeErrorCode.ACCOUNT_DOES_NOT_EXIST);
    // The old key with the account URL: the JWS no longer verifies against the account's key.
    const withOldKid = await clientFor(oldKey, { accountUrl: account.url }).getAccount().catch((e: unknown) => e);
    expect(withOldKid).toBeInstanceOf(AcmeProblemError);
    // Pebble answers malformed ("JWS verification error"); Boulder says unauthorized. Either way: refused.
    expect([AcmeErrorCode.MALFORMED, AcmeErrorCode.UNAUTHORIZED]).toContain((withOldKid as AcmeProblemError).code);
    expect((withOldKid as AcmeProblemError).status).toBeGreaterThanOrEqual(400);
  });

  it('revokes by account key with a reason; a second revocation is alreadyRevoked', async () => {
    const client = clientFor(await newKeyPair());
    await client.createAccount({ termsOfServiceAgreed: true });
    const { order } = await issue(client, await newKeyPair());
    const leafPem = (await client.downloadCertificate(order)).certificates[0] as string;
    const leafDer = new Uint8Array(new x509.X509Certificate(leafPem).rawData);

    const serial = new x509.X509Certificate(leafPem).serialNumber;
    expect((await pebble.certificateStatus(serial)).Status).toBe('Valid');

    await client.revokeCertificate(leafDer, { reason: RevocationReason.superseded });
    expect(await pebble.certificateStatus(serial)).toMatchObject({ Status: 'Revoked', Reason: RevocationReason.superseded });
    const again = await client.revokeCertificate(leafDer, { reason: RevocationReason.superseded }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(AcmeProblemError);
    expect((again as AcmeProblemError).code).toBe(AcmeErrorCode.ALREADY_REVOKED);
    expect((again as AcmeProblemError).type).toBe('urn:ietf:params:acme:error:alreadyRevoked');
  });

  it('revokes by the certificate key (jwk-signed request, RFC 8555 §7.6)', async () => {
    const client = clientFor(await newKeyPair());
    await client.createAccount({ termsOfServiceAgreed: true });
    const certificateKey = await newKeyPair();
    const { order } = await issue(client, certificateKey);
    const leafDer = new Uint8Array(new x509.X509Certificate((await client.downloadCertificate(order)).certificates[0] as string).rawData);

    // A key that does not match the certificate is refused…
    const wrongKey = await client.revokeCertificate(leafDer, { certificateKey: await newKeyPair() }).catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(AcmeProblemError);
    expect((wrongKey as AcmeProblemError).code).toBe(AcmeErrorCode.UNAUTHORIZED);
    const serial = new x509.X509Certificate(Buffer.from(leafDer)).serialNumber;
    expect((await pebble.certificateStatus(serial)).Status).toBe('Valid');
    // …the certificate's own key is accepted, after which the certificate counts as revoked.
    await client.revokeCertificate(leafDer, { certificateKey, reason: RevocationReason.keyCompromise });
    expect(await pebble.certificateStatus(serial)).toMatchObject({ Status: 'Revoked', Reason: RevocationReason.keyCompromise });
    const again = await client.revokeCertificate(leafDer).catch((e: unknown) => e);
    expect((again as AcmeProblemError).code).toBe(AcmeErrorCode.ALREADY_REVOKED);
  });
});

describe.skipIf(!pebbleBinary)('ACME External Account Binding against Pebble (externalAccountBindingRequired)', () => {
  let pebble: PebbleInstance;
  const clients: AcmeClient[] = [];
  const eabKid = 'shaken-provider-1';
  const hmacKey = randomBytes(32).toString('base64url');

  function clientFor(accountKey: webcrypto.CryptoKeyPair): AcmeClient {
    const client = new AcmeClient({
      directoryUrl: pebble.directoryUrl,
      accountKey,
      transport: { trustedCaPem: pebble.tlsCaPem, requestTimeoutMs: 10_000 },
    });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    // Pebble's default badNonce rate (5 %) stays on here.
    pebble = await startPebble({ externalAccountBindingRequired: true, externalAccountMacKeys: { [eabKid]: hmacKey } });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await pebble?.stop();
  });

  it('announces the requirement in the directory and refuses newAccount without EAB', async () => {
    const client = clientFor(await newKeyPair());
    expect((await client.getDirectory()).meta?.externalAccountRequired).toBe(true);
    const error = await client.createAccount({ termsOfServiceAgreed: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).code).toBe(AcmeErrorCode.EXTERNAL_ACCOUNT_REQUIRED);
    expect(client.accountUrl).toBeUndefined();
  });

  it('refuses an EAB made with the wrong HMAC key', async () => {
    const client = clientFor(await newKeyPair());
    const wrongKey = randomBytes(32).toString('base64url');
    const error = await client
      .createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: eabKid, hmacKey: wrongKey } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).code).toBe(AcmeErrorCode.UNAUTHORIZED);
    expect((error as AcmeProblemError).detail).toMatch(/external account binding/i);
    // The HMAC key never shows up in what we report.
    expect(String((error as Error).message)).not.toContain(wrongKey);
    expect(client.accountUrl).toBeUndefined();
  });

  it('creates the account with a valid HS256 EAB and can then order', async () => {
    const client = clientFor(await newKeyPair());
    const account = await client.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: eabKid, hmacKey } });
    expect(account.status).toBe('valid');
    const order = await client.createOrder({ identifiers: [{ type: 'dns', value: uniqueDnsName() }] });
    expect(order.status).toBe('pending');
  });
});
