import 'reflect-metadata';
import type { IssuingAuthority, X509Certificate } from '@app/shaken';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CRLNumber,
  GeneralName,
  GeneralNames,
  IssuingDistributionPoint,
  KeyIdentifier,
  Name as AsnName,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_certificateIssuer,
  id_ce_issuingDistributionPoint,
} from '@peculiar/asn1-x509';
import { Extension, SubjectKeyIdentifierExtension, X509CrlGenerator, type X509CrlReason } from '@peculiar/x509';

/** One revoked certificate on the STI-PA CRL. */
export interface StiPaCrlEntry {
  /** Hex serial number. */
  serial: string;
  revokedAt: Date;
  /** RFC 5280 §5.3.1 CRLReason. */
  reason: number;
  /** The revoked certificate's issuer (a provider leaf's intermediate, or an STI-CA root). */
  certificateIssuer: X509Certificate['issuerName'];
}

/**
 * The STI-PA CRL as an indirect CRL (RFC 5280 §5.2.5): it lists certificates the STI-PA did not
 * issue, because every SHAKEN certificate names the STI-PA as its CRL issuer (CDP cRLIssuer,
 * ATIS-1000080 v005 §6.4.1). Hence the critical Issuing Distribution Point with indirectCRL, and a
 * Certificate Issuer entry extension on every entry (§5.3.3) so that a serial is only matched
 * against certificates of the issuer that assigned it. @app/shaken's CRL builder writes direct
 * CRLs only; this is the indirect form the sandbox needs.
 */
export async function buildStiPaCrl(params: {
  signer: IssuingAuthority;
  entries: readonly StiPaCrlEntry[];
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
}): Promise<Uint8Array> {
  const ski = params.signer.certificate.getExtension(SubjectKeyIdentifierExtension);
  if (!ski) throw new Error('the CRL signer certificate has no Subject Key Identifier');
  const aki = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(new Uint8Array(Buffer.from(ski.keyId, 'hex'))) });
  const crl = await X509CrlGenerator.create({
    issuer: params.signer.certificate.subjectName,
    thisUpdate: params.thisUpdate,
    nextUpdate: params.nextUpdate,
    signingKey: params.signer.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new Extension(id_ce_authorityKeyIdentifier, false, AsnConvert.serialize(aki)),
      new Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(params.crlNumber))),
      // RFC 5280 §5.2.5: the IDP extension is critical.
      new Extension(id_ce_issuingDistributionPoint, true, AsnConvert.serialize(new IssuingDistributionPoint({ indirectCRL: true }))),
    ],
    entries: params.entries.map((entry) => ({
      serialNumber: entry.serial,
      revocationDate: entry.revokedAt,
      // RFC 5280 §5.3.1: reason code unspecified (0) SHOULD be absent.
      ...(entry.reason !== 0 ? { reason: entry.reason as X509CrlReason } : {}),
      extensions: [
        // RFC 5280 §5.3.3: the certificate issuer extension MUST be critical.
        new Extension(
          id_ce_certificateIssuer,
          true,
          AsnConvert.serialize(new GeneralNames([new GeneralName({ directoryName: AsnConvert.parse(entry.certificateIssuer.toArrayBuffer(), AsnName) })])),
        ),
      ],
    })),
  });
  return new Uint8Array(crl.rawData);
}
