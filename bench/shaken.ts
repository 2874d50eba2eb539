// Throughput of the SHAKEN core on this machine, next to Node's own ES256 (the ceiling).
// Run after `npm run build`:  node --import ./scripts/register-aliases.mjs dist/bench/shaken.js
// Each case runs single-threaded for a bounded time (BENCH_SECONDS, default 2 s).
import 'reflect-metadata';
import { KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { cpus } from 'node:os';
import {
  buildShakenCsr,
  certificateChainToPem,
  createCaCertificate,
  createPassport,
  generateP256KeyPair,
  issueShakenCertificate,
  parseCertificateChain,
  parseCompactJws,
  verifyCompactJwsSignature,
  verifyPassport,
} from '@app/shaken';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const DAY = 86_400_000;
const CRL = { url: 'https://authenticate-api.iconectiv.com/download/v1/crl', issuerDn: 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA' };

interface Figure {
  name: string;
  perSecond: number;
  operations: number;
}

/** Runs `operation` back to back until the time is up; checks the clock every batch. */
async function measure(name: string, operation: () => unknown, batch = 16): Promise<Figure> {
  for (let i = 0; i < batch; i++) await operation(); // warm-up
  const deadline = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let operations = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) await operation();
    operations += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name, perSecond: operations / elapsed, operations };
}

async function main(): Promise<void> {
  const now = new Date();
  const [rootKeys, intermediateKeys, leafKeys] = await Promise.all([generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair()]);
  const root = await createCaCertificate({
    keys: rootKeys,
    subjectDn: 'C=US, O=Bench STI-CA, CN=Bench SHAKEN ROOT',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
  });
  const intermediate = await createCaCertificate({
    keys: intermediateKeys,
    subjectDn: 'C=US, O=Bench STI-CA, CN=Bench SHAKEN Intermediate',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 365 * DAY),
    issuer: { certificate: root, privateKey: rootKeys.privateKey },
    crl: CRL,
  });
  const leaf = await issueShakenCertificate({
    issuer: { certificate: intermediate, privateKey: intermediateKeys.privateKey },
    subjectPublicKey: leafKeys.publicKey,
    spc: '818H',
    legalName: 'Bench Telecom LLC',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 90 * DAY),
    crlUrl: CRL.url,
    crlIssuerDn: CRL.issuerDn,
  });
  const chainPem = certificateChainToPem([leaf, intermediate]);
  const x5u = 'https://cr.example.com/sti/818H/bench.pem';
  const claims = { attest: 'A' as const, orig: '12155551212', dest: '12355551212', x5u };
  const sample = await createPassport(claims, leafKeys.privateKey);
  const signingInput = Buffer.from(sample.split('.').slice(0, 2).join('.'));
  const rawSignature = Buffer.from(sample.split('.')[2] as string, 'base64url');
  const privateKeyObject = KeyObject.from(leafKeys.privateKey);
  const publicKeyObject = KeyObject.from(leafKeys.publicKey);
  const [parsedLeaf, ...parsedIntermediates] = parseCertificateChain(chainPem);
  void parsedLeaf;

  const figures: Figure[] = [];
  figures.push(await measure('P-256 key + SHAKEN CSR', async () => {
    const keys = await generateP256KeyPair();
    await buildShakenCsr({ keys, legalName: 'Bench Telecom LLC', spc: '818H', crlDistributionPoint: CRL });
  }, 4));
  figures.push(await measure('PASSporT sign (createPassport)', () => createPassport(claims, leafKeys.privateKey)));
  figures.push(await measure('PASSporT verify, signature only (parse + ES256)', () =>
    verifyCompactJwsSignature(parseCompactJws(sample), leafKeys.publicKey)));
  figures.push(await measure('PASSporT verify, full (x5u parse, chain, SPC; no CRL)', () =>
    verifyPassport(sample, { fetchChain: async () => chainPem, trustAnchors: [root], now: new Date() }), 4));
  figures.push(await measure('Node crypto.sign ES256 (ceiling)', () =>
    nodeSign('sha256', signingInput, { key: privateKeyObject, dsaEncoding: 'ieee-p1363' })));
  figures.push(await measure('Node crypto.verify ES256 (ceiling)', () =>
    nodeVerify('sha256', signingInput, { key: publicKeyObject, dsaEncoding: 'ieee-p1363' }, rawSignature)));

  const [cpu] = cpus();
  console.log(`@app/shaken bench: Node ${process.version}, ${cpu?.model ?? 'unknown CPU'}, one thread, ${SECONDS} s per case`);
  console.log(`(${parsedIntermediates.length} intermediate in the x5u chain)`);
  const width = Math.max(...figures.map((figure) => figure.name.length));
  for (const figure of figures) {
    console.log(`${figure.name.padEnd(width)}  ${Math.round(figure.perSecond).toString().padStart(7)} /s  (${figure.operations} ops)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
