import 'reflect-metadata';
import { hexEncode, keyIdentifier, parseDn, randomSerial, spkiDer, type CryptoKey, type IssuingAuthority, type X509Certificate } from '@app/shaken';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';

/**
 * A certificate for the key that signs the STI-PA CRL: Key Usage cRLSign only (RFC 5280
 * §4.2.1.3), not a CA. @app/shaken issues SHAKEN provider, CA and signing certificates, none of
 * which may carry cRLSign without keyCertSign, so this one profile lives here.
 */
export async function issueCrlSignerCertificate(params: {
  issuer: IssuingAuthority;
  publicKey: CryptoKey;
  subjectDn: string;
  notBefore: Date;
  notAfter: Date;
}): Promise<X509Certificate> {
  const issuerSki = params.issuer.certificate.getExtension(SubjectKeyIdentifierExtension);
  return X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: parseDn(params.subjectDn, 'SANDBOX.INVALID_DN'),
    issuer: params.issuer.certificate.subjectName,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    publicKey: params.publicKey,
    signingKey: params.issuer.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new KeyUsagesExtension(KeyUsageFlags.cRLSign, true),
      new BasicConstraintsExtension(false, undefined, true),
      new SubjectKeyIdentifierExtension(hexEncode(keyIdentifier(await spkiDer(params.publicKey))), false),
      new AuthorityKeyIdentifierExtension(issuerSki?.keyId ?? hexEncode(keyIdentifier(params.issuer.certificate.publicKey.rawData)), false),
    ],
  });
}
