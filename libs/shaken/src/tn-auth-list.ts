import 'reflect-metadata';
import { AsnConvert, AsnParser } from '@peculiar/asn1-schema';
import { TelephoneNumberRange, TNAuthorizationList, TNEntry, id_pe_TNAuthList } from '@peculiar/asn1-rfc8226';
import { Extension } from '@peculiar/x509';
import {
  type BinaryInput,
  base64Decode,
  base64Encode,
  base64UrlDecode,
  base64UrlEncode,
  bytesEqual,
  toArrayBuffer,
  toBytes,
} from './encoding.js';
import { ShakenError } from './errors.js';

/** RFC 8226 §9: id-pe-TNAuthList. */
export const TN_AUTH_LIST_OID: string = id_pe_TNAuthList;

/** One TNEntry of RFC 8226 §9. */
export type TnAuthEntry =
  | { kind: 'spc'; spc: string }
  | { kind: 'range'; start: string; count: number }
  | { kind: 'one'; tn: string };

/** How an ACME identifier carries the DER: RFC 9448 §3 says base64url; several STI-CAs want padded base64. */
export type AcmeIdentifierEncoding = 'base64url' | 'base64';

// No standard bounds an SPC's length (OCNs are 4 characters); this cap only keeps garbage out.
const MAX_SPC_LENGTH = 32;
// RFC 8226 §9: TelephoneNumber ::= IA5String (SIZE (1..15)), the E.164 maximum.
const MAX_TN_LENGTH = 15;

/**
 * ATIS-1000080 v005 §6.4.1: "The SPC value shall contain only numbers and uppercase letters."
 * Throws `TN_AUTH_LIST.INVALID_SPC` naming what is wrong.
 */
export function assertValidSpc(spc: unknown): asserts spc is string {
  if (typeof spc !== 'string' || spc.length === 0) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_SPC', 'SPC is empty');
  }
  if (spc.length > MAX_SPC_LENGTH) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_SPC', `SPC is ${spc.length} characters long (at most ${MAX_SPC_LENGTH})`);
  }
  if (/^[0-9A-Za-z]+$/.test(spc) && /[a-z]/.test(spc)) {
    throw new ShakenError(
      'TN_AUTH_LIST.INVALID_SPC',
      `SPC ${JSON.stringify(spc)} contains lowercase letters; SPCs use digits and uppercase letters only`,
    );
  }
  if (!/^[0-9A-Z]+$/.test(spc)) {
    throw new ShakenError(
      'TN_AUTH_LIST.INVALID_SPC',
      `SPC ${JSON.stringify(spc)} contains characters other than digits and uppercase letters`,
    );
  }
}

export function isValidSpc(spc: unknown): spc is string {
  try {
    assertValidSpc(spc);
    return true;
  } catch {
    return false;
  }
}

// SHAKEN telephone numbers are E.164 digit strings. RFC 8226 also admits '#' and '*', which no
// SHAKEN number uses, so they are rejected here rather than passed on to a CA.
function assertValidTn(tn: unknown, what: string): asserts tn is string {
  if (typeof tn !== 'string' || tn.length === 0) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_TN', `${what} is empty`);
  }
  if (!/^[0-9]+$/.test(tn)) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_TN', `${what} ${JSON.stringify(tn)} contains characters other than digits`);
  }
  if (tn.length > MAX_TN_LENGTH) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_TN', `${what} has ${tn.length} digits (at most ${MAX_TN_LENGTH})`);
  }
}

function assertValidEntry(entry: unknown, index: number): asserts entry is TnAuthEntry {
  const e = entry as Partial<Record<string, unknown>> | null;
  switch (typeof e === 'object' && e !== null ? e.kind : undefined) {
    case 'spc':
      assertValidSpc(e?.spc);
      return;
    case 'one':
      assertValidTn(e?.tn, `telephone number in entry ${index}`);
      return;
    case 'range': {
      assertValidTn(e?.start, `range start in entry ${index}`);
      const count = e?.count;
      // RFC 8226 §9: count INTEGER (2..MAX).
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 2) {
        throw new ShakenError(
          'TN_AUTH_LIST.INVALID_RANGE',
          `range count in entry ${index} must be an integer of at least 2, got ${String(count)}`,
        );
      }
      return;
    }
    default:
      throw new ShakenError('TN_AUTH_LIST.INVALID_ENTRY', `entry ${index} is not an spc, range or one entry`);
  }
}

function assertValidEntries(entries: unknown): asserts entries is TnAuthEntry[] {
  if (!Array.isArray(entries)) {
    throw new ShakenError('TN_AUTH_LIST.INVALID_ENTRY', 'TNAuthList entries must be an array');
  }
  // RFC 8226 §9: TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry.
  if (entries.length === 0) throw new ShakenError('TN_AUTH_LIST.EMPTY', 'TNAuthList has no entries');
  entries.forEach((entry, index) => assertValidEntry(entry, index));
}

function toAsnEntry(entry: TnAuthEntry): TNEntry {
  switch (entry.kind) {
    case 'spc':
      return new TNEntry({ spc: entry.spc });
    case 'one':
      return new TNEntry({ one: entry.tn });
    case 'range': {
      const range = new TelephoneNumberRange();
      range.start = entry.start;
      range.count = entry.count;
      return new TNEntry({ range });
    }
  }
}

/** DER of an RFC 8226 TNAuthorizationList (EXPLICIT tags, as the RFC's ASN.1 module declares). */
export function encodeTnAuthList(entries: readonly TnAuthEntry[]): Uint8Array {
  assertValidEntries(entries);
  return new Uint8Array(AsnConvert.serialize(new TNAuthorizationList(entries.map(toAsnEntry))));
}

/** The TNAuthList of a SHAKEN end-entity certificate: exactly one SPC (ATIS-1000080 v005 §6.4.1). */
export function tnAuthListForSpc(spc: string): Uint8Array {
  return encodeTnAuthList([{ kind: 'spc', spc }]);
}

// asn1-schema hands back INTEGERs of 4 bytes or more as decimal strings.
function rangeCount(raw: unknown, index: number): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && /^-?[0-9]+$/.test(raw)) {
    const value = BigInt(raw);
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  }
  throw new ShakenError('TN_AUTH_LIST.INVALID_RANGE', `range count in entry ${index} is too large`);
}

function fromAsnEntry(entry: TNEntry, index: number): TnAuthEntry {
  if (entry.spc !== undefined) return { kind: 'spc', spc: entry.spc };
  if (entry.one !== undefined) return { kind: 'one', tn: entry.one };
  if (entry.range !== undefined) {
    return { kind: 'range', start: entry.range.start, count: rangeCount(entry.range.count, index) };
  }
  throw new ShakenError('TN_AUTH_LIST.INVALID_ENTRY', `entry ${index} is not an spc, range or one entry`);
}

/**
 * Parses DER TNAuthList bytes. Throws `TN_AUTH_LIST.MALFORMED` for bytes that are not a
 * TNAuthorizationList, `TN_AUTH_LIST.NOT_DER` for BER forms or trailing bytes, and the entry
 * codes (`EMPTY`, `INVALID_SPC`, `INVALID_TN`, `INVALID_RANGE`) for bad content.
 */
export function decodeTnAuthList(der: BinaryInput): TnAuthEntry[] {
  const bytes = toBytes(der);
  if (bytes.byteLength === 0) throw new ShakenError('TN_AUTH_LIST.MALFORMED', 'TNAuthList is empty bytes');
  let parsed: TNAuthorizationList;
  try {
    parsed = AsnParser.parse(toArrayBuffer(bytes), TNAuthorizationList);
  } catch (cause) {
    throw new ShakenError('TN_AUTH_LIST.MALFORMED', 'bytes are not a DER TNAuthorizationList (RFC 8226)', { cause });
  }
  const entries = Array.from(parsed, fromAsnEntry);
  assertValidEntries(entries);
  // DER is canonical: a value that does not re-encode to the same bytes used BER forms
  // (long lengths, indefinite lengths) or carried trailing bytes.
  let reencoded: ArrayBuffer;
  try {
    reencoded = AsnConvert.serialize(new TNAuthorizationList(entries.map(toAsnEntry)));
  } catch (cause) {
    throw new ShakenError('TN_AUTH_LIST.MALFORMED', 'TNAuthList content cannot be re-encoded', { cause });
  }
  if (!bytesEqual(reencoded, bytes)) {
    throw new ShakenError('TN_AUTH_LIST.NOT_DER', 'TNAuthList is not in canonical DER (BER form or trailing bytes)');
  }
  return entries;
}

/** The SPC when the list is exactly one SPC entry (the end-entity shape), otherwise `undefined`. */
export function singleSpc(entries: readonly TnAuthEntry[]): string | undefined {
  const [first] = entries;
  return entries.length === 1 && first?.kind === 'spc' ? first.spc : undefined;
}

/** Same list, same order (RFC 8226 lists are SEQUENCE OF: order is part of the value). */
export function tnAuthListsEqual(a: readonly TnAuthEntry[], b: readonly TnAuthEntry[]): boolean {
  return bytesEqual(encodeTnAuthList(a), encodeTnAuthList(b));
}

/** The `value` of an ACME `TNAuthList` identifier (RFC 9448 §3) or an `atc.tkvalue`. */
export function encodeAcmeIdentifierValue(der: BinaryInput, encoding: AcmeIdentifierEncoding = 'base64url'): string {
  decodeTnAuthList(der);
  return encoding === 'base64url' ? base64UrlEncode(der) : base64Encode(der);
}

/**
 * DER of a TNAuthList from an ACME identifier value or `atc.tkvalue`, accepting both RFC 9448
 * base64url (unpadded) and padded standard base64. Throws `TN_AUTH_LIST.INVALID_ENCODING` when the
 * text is neither, and the decode codes when the bytes are not a valid TNAuthList.
 */
export function decodeAcmeIdentifierValue(value: string): Uint8Array {
  if (typeof value !== 'string') {
    throw new ShakenError('TN_AUTH_LIST.INVALID_ENCODING', 'TNAuthList identifier value must be a string');
  }
  const bytes = /[+/=]/.test(value) ? base64Decode(value) : base64UrlDecode(value);
  if (bytes === undefined || bytes.byteLength === 0) {
    throw new ShakenError(
      'TN_AUTH_LIST.INVALID_ENCODING',
      'TNAuthList identifier value is neither unpadded base64url (RFC 9448) nor padded standard base64',
    );
  }
  decodeTnAuthList(bytes);
  return bytes;
}

/**
 * The TNAuthList X.509 extension. Not registered with @peculiar/x509's ExtensionFactory on
 * purpose: a certificate with a broken TNAuthList must still parse so that it can be linted.
 */
export class TnAuthListExtension extends Extension {
  readonly entries: readonly TnAuthEntry[];

  /** RFC 8226 §9 / ATIS-1000080 v005 §6.4.1: the extension is not critical by default. */
  constructor(entries: readonly TnAuthEntry[], critical = false) {
    const der = encodeTnAuthList(entries);
    super(TN_AUTH_LIST_OID, critical, der);
    this.entries = decodeTnAuthList(der);
  }

  /** Reads a generic extension (from a certificate or CSR) as a TNAuthList. */
  static fromExtension(extension: Extension): TnAuthListExtension {
    if (extension.type !== TN_AUTH_LIST_OID) {
      throw new ShakenError('TN_AUTH_LIST.MALFORMED', `extension ${extension.type} is not TNAuthList`);
    }
    return new TnAuthListExtension(decodeTnAuthList(extension.value), extension.critical);
  }
}

/** Anything with X.509 extensions: a certificate or a PKCS#10 request. */
export interface ExtensionContainer {
  getExtensions(type: string): Extension[];
}

/**
 * The TNAuthList entries of a certificate or CSR, or `undefined` when it has none.
 * RFC 5280 §4.2: an extension appears at most once (`TN_AUTH_LIST.DUPLICATE_EXTENSION`).
 */
export function readTnAuthList(container: ExtensionContainer): TnAuthEntry[] | undefined {
  let found: Extension[];
  try {
    found = container.getExtensions(TN_AUTH_LIST_OID);
  } catch (cause) {
    throw new ShakenError('TN_AUTH_LIST.MALFORMED', 'extensions could not be read', { cause });
  }
  if (found.length > 1) {
    throw new ShakenError('TN_AUTH_LIST.DUPLICATE_EXTENSION', `TNAuthList extension appears ${found.length} times`);
  }
  const [extension] = found;
  return extension === undefined ? undefined : decodeTnAuthList(extension.value);
}
