import { createHash, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { X509Certificate } from '@app/shaken';

/**
 * RFC 7515 §4.1.5 (x5u) and STIR-SHAKEN.md §6: the chain behind an x5u is the end-entity
 * certificate first, then each certificate's issuer. Returns what is wrong, or undefined.
 */
export function chainOrderProblem(chain: readonly X509Certificate[]): string | undefined {
  const native = chain.map((c) => new NodeX509Certificate(Buffer.from(c.rawData)));
  const [leaf] = native;
  if (leaf === undefined) return 'the chain holds no certificate';
  if (leaf.ca) return 'the first certificate is a CA certificate; the end-entity (signing) certificate comes first';
  for (let i = 0; i + 1 < native.length; i++) {
    const [child, parent] = [native[i]!, native[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      return `certificate #${i + 1} (${oneLine(child.subject)}) is not issued by certificate #${i + 2} (${oneLine(parent.subject)})`;
    }
  }
  return undefined;
}

/** Lowercase hex SHA-256 of the certificate's DER: its fingerprint everywhere in this service. */
export function certificateSha256(certificate: X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(certificate.rawData)).digest('hex');
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ', ');
}
