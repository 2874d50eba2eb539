import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  DistributionPoint,
  DistributionPointName,
  GeneralName,
  Name as AsnName,
  id_ce_cRLDistributionPoints,
} from '@peculiar/asn1-x509';
import { CRLDistributionPointsExtension, type Extension, Name } from '@peculiar/x509';
import { ShakenError } from './errors.js';
import type { ExtensionContainer } from './tn-auth-list.js';

/** Subject attribute OIDs SHAKEN certificates use (X.520). */
export const ATTRIBUTE_OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  stateOrProvince: '2.5.4.8',
  organization: '2.5.4.10',
} as const;

/** ATIS-1000080 v005 §6.4.1: the STI-PA CRL is named by URL and by the DN of its issuer. */
export interface CrlDistributionPoint {
  url: string;
  /** RFC 4514-style DN in DER order, e.g. `L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA`. */
  issuerDn: string;
}

/** The subject DN parts SHAKEN reads. Each list holds every value of that attribute, in order. */
export interface ShakenSubject {
  country: string[];
  organization: string[];
  commonName: string[];
  serialNumber: string[];
  /** The whole DN as text, in DER order. */
  dn: string;
}

export function parseDn(dn: string, code: string): Name {
  try {
    const name = new Name(dn);
    if (name.toJSON().length === 0) throw new Error('empty DN');
    return name;
  } catch (cause) {
    throw new ShakenError(code, `${JSON.stringify(dn)} is not a distinguished name`, { cause });
  }
}

export function readSubject(name: Name): ShakenSubject {
  return {
    country: name.getField(ATTRIBUTE_OID.country),
    organization: name.getField(ATTRIBUTE_OID.organization),
    commonName: name.getField(ATTRIBUTE_OID.commonName),
    serialNumber: name.getField(ATTRIBUTE_OID.serialNumber),
    dn: name.toString(),
  };
}

/** Same DN: same DER bytes (RFC 5280 §7.1 lets verifiers compare more loosely; we issue exact copies). */
export function namesEqual(a: Name, b: Name): boolean {
  return Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));
}

/**
 * ATIS-1000080 v005 §6.4.1: a CRL Distribution Points extension with one DistributionPoint whose
 * distributionPoint is the CRL URL and whose cRLIssuer is the CRL issuer's DN. Not critical.
 */
export function crlDistributionPointExtension(point: CrlDistributionPoint, code: string): CRLDistributionPointsExtension {
  if (typeof point.url !== 'string' || !/^https?:\/\/[^\s]+$/.test(point.url)) {
    throw new ShakenError(code, 'CRL distribution point URL must be an http(s) URL');
  }
  const issuer = AsnConvert.parse(parseDn(point.issuerDn, code).toArrayBuffer(), AsnName);
  return new CRLDistributionPointsExtension([
    new DistributionPoint({
      distributionPoint: new DistributionPointName({
        fullName: [new GeneralName({ uniformResourceIdentifier: point.url })],
      }),
      cRLIssuer: [new GeneralName({ directoryName: issuer })],
    }),
  ]);
}

/**
 * The single URL + cRLIssuer of a certificate or CSR, `undefined` without the extension.
 * Throws `code` when the extension is there but is not one URL with one DN issuer.
 */
export function readCrlDistributionPoint(container: ExtensionContainer, code: string): CrlDistributionPoint | undefined {
  let extensions: Extension[];
  try {
    extensions = container.getExtensions(id_ce_cRLDistributionPoints);
  } catch (cause) {
    throw new ShakenError(code, 'CRL Distribution Points extension is malformed', { cause });
  }
  if (extensions.length === 0) return undefined;
  if (extensions.length > 1) throw new ShakenError(code, 'CRL Distribution Points extension appears more than once');
  let points: DistributionPoint[];
  try {
    points = new CRLDistributionPointsExtension((extensions[0] as Extension).rawData).distributionPoints;
  } catch (cause) {
    throw new ShakenError(code, 'CRL Distribution Points extension is malformed', { cause });
  }
  const [point] = points;
  const urls = point?.distributionPoint?.fullName?.filter((name) => name.uniformResourceIdentifier !== undefined) ?? [];
  const issuers = point?.cRLIssuer?.filter((name) => name.directoryName !== undefined) ?? [];
  if (points.length !== 1 || urls.length !== 1 || issuers.length !== 1) {
    throw new ShakenError(code, 'CRL Distribution Points must hold one DistributionPoint with one URL and one cRLIssuer DN');
  }
  const url = urls[0]?.uniformResourceIdentifier ?? '';
  const directoryName = issuers[0]?.directoryName ?? new AsnName();
  return { url, issuerDn: new Name(AsnConvert.serialize(directoryName)).toString() };
}

