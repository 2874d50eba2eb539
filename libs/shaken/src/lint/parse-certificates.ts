import { X509Certificate } from '@peculiar/x509';
import { ShakenError } from '../errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** One armored block of a PEM document (RFC 7468). */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every well-formed PEM block in `text`, in order, whatever its label. */
export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const body = match[2].replace(/\s+/g, '');
    // RFC 7468 §3: the body is base64 of the DER; anything else is not a PEM block we can use.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new ShakenError('CERT.UNPARSEABLE', `the PEM block "${match[1]}" does not hold base64 data`);
    }
    blocks.push({ label: match[1], der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

/** True when the bytes start like PEM text rather than DER. */
export function looksLikePem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  return head.includes('-----BEGIN ');
}

function toCertificate(der: Uint8Array, where: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new ShakenError('CERT.UNPARSEABLE', `${where} is not an X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads certificates from PEM (one or more CERTIFICATE blocks; other blocks are ignored) or from a
 * single DER certificate. Throws ShakenError `CERT.UNPARSEABLE` for anything else, and
 * `CERT.NONE_FOUND` for PEM text without a certificate.
 */
export function parseCertificates(input: Uint8Array | string): X509Certificate[] {
  const isText = typeof input === 'string';
  if (isText || looksLikePem(input)) {
    const text = isText ? input : Buffer.from(input).toString('latin1');
    const certs = readPemBlocks(text)
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b, i) => toCertificate(b.der, `PEM certificate #${i + 1}`));
    if (certs.length === 0) {
      throw new ShakenError(
        text.includes('-----BEGIN ') ? 'CERT.NONE_FOUND' : 'CERT.UNPARSEABLE',
        text.includes('-----BEGIN ') ? 'the PEM input holds no CERTIFICATE block' : 'the input is neither PEM nor DER',
      );
    }
    return certs;
  }
  if (input.length === 0) throw new ShakenError('CERT.UNPARSEABLE', 'the input is empty');
  // DER: a certificate is a SEQUENCE (0x30).
  if (input[0] !== 0x30) throw new ShakenError('CERT.UNPARSEABLE', 'the input is neither PEM nor DER');
  return [toCertificate(input, 'the DER input')];
}
