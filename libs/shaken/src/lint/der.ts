/**
 * A minimal DER reader (ITU-T X.690 §8, §10) for the certificate linter.
 *
 * The linter has to look at certificates exactly as they were encoded, including the broken ones
 * that real STI-CAs issued (truncated TNAuthLists, version-1 certificates, bit strings with the
 * wrong unused-bit count). A schema-driven decoder either rejects those or silently normalises
 * them, so the linter walks the TLVs itself and decides per rule what "broken" means.
 */

/** X.690 §8.1.2.2: the two class bits of an identifier octet. */
export const TagClass = { Universal: 0, Application: 1, Context: 2, Private: 3 } as const;
export type TagClass = (typeof TagClass)[keyof typeof TagClass];

/** Universal tag numbers the linter cares about (X.680 §8.4). */
export const UniversalTag = {
  Boolean: 1,
  Integer: 2,
  BitString: 3,
  OctetString: 4,
  ObjectIdentifier: 6,
  Utf8String: 12,
  Sequence: 16,
  Set: 17,
  PrintableString: 19,
  TeletexString: 20,
  Ia5String: 22,
  UtcTime: 23,
  GeneralizedTime: 24,
  VisibleString: 26,
  UniversalString: 28,
  BmpString: 30,
} as const;

export interface Tlv {
  tagClass: TagClass;
  constructed: boolean;
  tagNumber: number;
  /** The whole encoding, header included. */
  raw: Uint8Array;
  /** The contents octets. */
  value: Uint8Array;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

/** Reads one TLV at `offset`; returns it and the offset just past it. */
export function readTlv(bytes: Uint8Array, offset = 0): { tlv: Tlv; next: number } {
  let pos = offset;
  if (pos >= bytes.length) throw new DerError('unexpected end of data: no tag');
  const first = bytes[pos++];
  const tagClass = (first >> 6) as TagClass;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // X.690 §8.1.2.4: high tag numbers, base 128.
    tagNumber = 0;
    let byte: number;
    do {
      if (pos >= bytes.length) throw new DerError('unexpected end of data in a high tag number');
      byte = bytes[pos++];
      tagNumber = tagNumber * 128 + (byte & 0x7f);
    } while (byte & 0x80);
  }
  if (pos >= bytes.length) throw new DerError('unexpected end of data: no length');
  let length = bytes[pos++];
  if (length & 0x80) {
    const count = length & 0x7f;
    // X.690 §10.1: DER forbids the indefinite form.
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 4) throw new DerError('length too large');
    length = 0;
    for (let i = 0; i < count; i++) {
      if (pos >= bytes.length) throw new DerError('unexpected end of data in a length');
      length = length * 256 + bytes[pos++];
    }
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError(`data truncated: ${length} content bytes declared, ${bytes.length - pos} present`);
  return {
    tlv: { tagClass, constructed, tagNumber, raw: bytes.subarray(offset, end), value: bytes.subarray(pos, end) },
    next: end,
  };
}

/** Reads exactly one TLV that must span all of `bytes`. */
export function readSingleTlv(bytes: Uint8Array): Tlv {
  const { tlv, next } = readTlv(bytes, 0);
  if (next !== bytes.length) throw new DerError(`${bytes.length - next} trailing bytes after the encoding`);
  return tlv;
}

/** The TLVs inside a constructed value, in order. */
export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new DerError('expected a constructed encoding');
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < tlv.value.length) {
    const { tlv: child, next } = readTlv(tlv.value, pos);
    out.push(child);
    pos = next;
  }
  return out;
}

export function isUniversal(tlv: Tlv, tagNumber: number): boolean {
  return tlv.tagClass === TagClass.Universal && tlv.tagNumber === tagNumber;
}

export function isContext(tlv: Tlv, tagNumber: number): boolean {
  return tlv.tagClass === TagClass.Context && tlv.tagNumber === tagNumber;
}

export function expectUniversal(tlv: Tlv, tagNumber: number, what: string): Tlv {
  if (!isUniversal(tlv, tagNumber)) throw new DerError(`${what}: unexpected tag ${describeTag(tlv)}`);
  return tlv;
}

export function describeTag(tlv: Tlv): string {
  const cls = ['UNIVERSAL', 'APPLICATION', 'CONTEXT', 'PRIVATE'][tlv.tagClass];
  return `[${cls} ${tlv.tagNumber}]`;
}

/** X.690 §8.19: dotted form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let current = 0n;
  for (let i = 0; i < value.length; i++) {
    current = (current << 7n) | BigInt(value[i] & 0x7f);
    if ((value[i] & 0x80) === 0) {
      arcs.push(current);
      current = 0n;
    } else if (i === value.length - 1) {
      throw new DerError('OBJECT IDENTIFIER ends inside a sub-identifier');
    }
  }
  const first = arcs[0];
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

/** Contents of a character string type as a JS string (X.680 §41). */
export function decodeString(tlv: Tlv): string {
  switch (tlv.tagNumber) {
    case UniversalTag.BmpString:
      return decodeUtf16Be(tlv.value);
    case UniversalTag.UniversalString:
      return decodeUtf32Be(tlv.value);
    case UniversalTag.Utf8String:
      return new TextDecoder('utf-8').decode(tlv.value);
    default:
      // PrintableString, IA5String, VisibleString, TeletexString: treated as Latin-1 bytes.
      return latin1(tlv.value);
  }
}

function latin1(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function decodeUtf16Be(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
  return out;
}

function decodeUtf32Be(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    out += String.fromCodePoint(((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0);
  }
  return out;
}

/** X.690 §11.7 / RFC 5280 §4.1.2.5: UTCTime (YYMMDDhhmmssZ) or GeneralizedTime (YYYYMMDDhhmmssZ). */
export function decodeTime(tlv: Tlv): Date {
  const text = latin1(tlv.value);
  let match: RegExpExecArray | null;
  if (isUniversal(tlv, UniversalTag.UtcTime)) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text);
    if (!match) throw new DerError(`bad UTCTime "${text}"`);
    const yy = Number(match[1]);
    // RFC 5280 §4.1.2.5.1: YY >= 50 means 19YY.
    const year = yy >= 50 ? 1900 + yy : 2000 + yy;
    return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6] ?? 0)));
  }
  if (isUniversal(tlv, UniversalTag.GeneralizedTime)) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!match) throw new DerError(`bad GeneralizedTime "${text}"`);
    return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
  }
  throw new DerError(`expected a time, got ${describeTag(tlv)}`);
}

export function toHex(bytes: Uint8Array, separator = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(separator);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
