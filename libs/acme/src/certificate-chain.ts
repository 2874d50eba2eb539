import { AcmeProtocolError } from './errors.js';

/** A chain as downloaded from the order's certificate URL (RFC 8555 §7.4.2). */
export interface AcmeCertificateChain {
  /** The URL the chain came from. */
  url: string;
  /** The body exactly as served. */
  pem: string;
  /** One normalized PEM block per certificate, leaf first (RFC 8555 §9.1). */
  certificates: string[];
  /** Other chains for the same certificate, from `Link: <url>;rel="alternate"` (RFC 8555 §7.4.2). */
  alternateUrls: string[];
  /** CA-hosted STI-CR URL: the order's `x5u`, else an `X-Shaken-Certificate-Location` header. */
  stiCrUrl?: string;
}

const BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----/g;

/**
 * RFC 8555 §9.1: application/pem-certificate-chain holds only CERTIFICATE blocks, end-entity first.
 * Anything else in the body (a key, HTML from a proxy) makes the download a protocol error.
 */
export function splitPemChain(body: string, from: string): string[] {
  const certificates: string[] = [];
  for (const match of body.matchAll(BLOCK)) {
    const base64 = (match[1] ?? '').replace(/\s+/g, '');
    if (base64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new AcmeProtocolError(`certificate chain from ${from} has a malformed PEM block`);
    }
    const lines = base64.match(/.{1,64}/g) ?? [];
    certificates.push(`-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`);
  }
  if (certificates.length === 0) throw new AcmeProtocolError(`certificate chain from ${from} contains no certificate`);
  if (body.replace(BLOCK, '').trim() !== '') {
    throw new AcmeProtocolError(`certificate chain from ${from} contains data other than CERTIFICATE blocks`);
  }
  return certificates;
}
