import { StorageError, StorageErrorCode } from './storage-error.js';

/** STIR-SHAKEN.md §6 (ATIS-1000074 verifiers): the whole x5u body stays under 8 KB. */
export const MAX_STI_CR_BODY_BYTES = 8191;

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
// RFC 7468 §3 (strict form): base64 lines between the encapsulation boundaries, LF or CRLF.
const BLOCK = /^-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE-----/;
const WHITESPACE = /^[ \t\r\n]+/;

/**
 * Refuses anything that must not sit behind an x5u: returns the number of certificates when `body`
 * is a PEM chain of certificates only, under 8 KB, with no private key material anywhere.
 *
 * Checks, in this order so the most important reason wins:
 * 1. any `PRIVATE KEY` label (`STORAGE.PRIVATE_KEY_REFUSED`), whatever the size: STIR-SHAKEN.md §6,
 *    private keys have been published at x5u URLs, and the caller must hear that first;
 * 2. size (`STORAGE.TOO_LARGE`);
 * 3. shape (`STORAGE.NOT_A_CHAIN`): starts with BEGIN CERTIFICATE, only CERTIFICATE blocks with
 *    whitespace between them, each block's DER is a Certificate SEQUENCE (RFC 5280 §4.1); a block
 *    whose DER is shaped like a key is PRIVATE_KEY_REFUSED even under a CERTIFICATE label.
 *
 * Leaf-first order and the certificates' contents are the STI-CR linter's job, not the store's.
 * Messages name block numbers only, never content.
 */
export function assertPublishableChain(body: Uint8Array): number {
  if (!(body instanceof Uint8Array)) {
    throw new StorageError(StorageErrorCode.NOT_A_CHAIN, 'an STI-CR body must be bytes (Uint8Array)');
  }
  // Base64 has no spaces, so this label text cannot occur inside encoded content by chance.
  if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes('PRIVATE KEY')) {
    throw new StorageError(
      StorageErrorCode.PRIVATE_KEY_REFUSED,
      'STI-CR body contains a PRIVATE KEY block; private keys are never published',
    );
  }
  if (body.byteLength > MAX_STI_CR_BODY_BYTES) {
    throw new StorageError(
      StorageErrorCode.TOO_LARGE,
      `STI-CR body is ${body.byteLength} bytes; verifiers accept less than 8 KB (at most ${MAX_STI_CR_BODY_BYTES})`,
    );
  }
  // latin1 maps every byte to one character, so nothing is silently replaced before the checks.
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  if (/[^\t\n\r\x20-\x7e]/.test(text)) {
    throw new StorageError(StorageErrorCode.NOT_A_CHAIN, 'STI-CR body contains bytes that are not printable ASCII');
  }
  if (!text.startsWith(BEGIN)) {
    throw new StorageError(
      StorageErrorCode.NOT_A_CHAIN,
      `STI-CR body must start with "${BEGIN}" (no leading whitespace or text)`,
    );
  }

  let rest = text;
  let count = 0;
  while (rest.length > 0) {
    const match = BLOCK.exec(rest);
    if (match === null) {
      const label = /^-----BEGIN ([^-\r\n]*)-----/.exec(rest)?.[1];
      throw new StorageError(
        StorageErrorCode.NOT_A_CHAIN,
        label !== undefined && label !== 'CERTIFICATE'
          ? `block ${count + 1} is a ${JSON.stringify(label)} block; only CERTIFICATE blocks are published`
          : `block ${count + 1} is not a well-formed PEM CERTIFICATE block (${BEGIN}, base64 lines, ${END})`,
      );
    }
    count += 1;
    assertCertificateDer(match[1].replace(/\r?\n/g, ''), count);
    rest = rest.slice(match[0].length).replace(WHITESPACE, '');
  }
  return count;
}

/**
 * RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE,
 * signatureValue BIT STRING }. Key structures start with an INTEGER version instead (RFC 5915
 * ECPrivateKey, RFC 5208/5958 PrivateKeyInfo, RFC 8017 RSAPrivateKey), which is how a key
 * relabelled as CERTIFICATE is still recognised.
 */
function assertCertificateDer(base64: string, blockNumber: number): void {
  const notCertificate = (why: string) =>
    new StorageError(StorageErrorCode.NOT_A_CHAIN, `block ${blockNumber} does not hold a DER certificate: ${why}`);
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw notCertificate('invalid base64');
  }
  const der = Buffer.from(base64, 'base64');
  const outer = readTlv(der, 0);
  if (outer === undefined || outer.tag !== 0x30 || outer.end !== der.length) {
    throw notCertificate('not a single DER SEQUENCE');
  }
  const tags: number[] = [];
  let offset = outer.contentStart;
  while (offset < outer.end) {
    const child = readTlv(der, offset);
    if (child === undefined || child.end > outer.end) throw notCertificate('truncated DER');
    tags.push(child.tag);
    offset = child.end;
  }
  if (tags[0] === 0x02) {
    throw new StorageError(
      StorageErrorCode.PRIVATE_KEY_REFUSED,
      `block ${blockNumber} is labelled CERTIFICATE but holds a key structure; private keys are never published`,
    );
  }
  if (tags.length !== 3 || tags[0] !== 0x30 || tags[1] !== 0x30 || tags[2] !== 0x03) {
    throw notCertificate('not SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }');
  }
}

interface Tlv {
  readonly tag: number;
  readonly contentStart: number;
  readonly end: number;
}

/** One DER tag-length-value at `offset` (single-byte tags, definite lengths up to 4 bytes). */
function readTlv(der: Uint8Array, offset: number): Tlv | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset];
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4 || contentStart + lengthBytes > der.length) return undefined;
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[contentStart + i];
    contentStart += lengthBytes;
  }
  const end = contentStart + length;
  return end > der.length ? undefined : { tag, contentStart, end };
}
