import { AsnConvert } from '@peculiar/asn1-schema';
import { TNAuthorizationList } from '@peculiar/asn1-rfc8226';
import { type CertificateFacts, findExtension } from './certificate-facts.js';
import { readSingleTlv } from './der.js';
import { ExtensionOid } from './oids.js';

export type CertificateSpc = { ok: true; spc: string } | { ok: false; problem: string };

/**
 * ATIS-1000080 §6.4.1: an end-entity certificate's TNAuthList holds a single SPC (and, v005, no
 * telephone numbers or ranges). Returns that SPC, or what keeps the certificate from having one.
 */
export function readCertificateSpc(cert: CertificateFacts): CertificateSpc {
  const ext = findExtension(cert, ExtensionOid.tnAuthList);
  if (!ext) return { ok: false, problem: 'the certificate has no TNAuthList extension' };
  let list: TNAuthorizationList;
  try {
    // The schema decoder tolerates trailing bytes; DER does not.
    readSingleTlv(ext.value);
    list = AsnConvert.parse(ext.value, TNAuthorizationList);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: `the TNAuthList extension is not an RFC 8226 TNAuthorizationList (${detail})` };
  }
  if (list.length !== 1) {
    return { ok: false, problem: `the TNAuthList holds ${list.length} entries; it shall hold a single SPC` };
  }
  const [entry] = list;
  if (entry.spc === undefined) {
    const kind = entry.range ? 'a telephone number range' : 'a telephone number';
    return { ok: false, problem: `the TNAuthList entry is ${kind}, not an SPC` };
  }
  if (entry.spc.length === 0) return { ok: false, problem: 'the TNAuthList SPC is empty' };
  return { ok: true, spc: entry.spc };
}
