/** Object identifiers the SHAKEN certificate profile names. */

/** RFC 5280 §4.2.1 standard extensions, RFC 8226 §9 TNAuthList. */
export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  tnAuthList: '1.3.6.1.5.5.7.1.26',
} as const;

/** RFC 5280 §4.1.2.4 / RFC 4519 attribute types. */
export const AttributeOid = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  stateOrProvince: '2.5.4.8',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;

export const AlgorithmOid = {
  /** RFC 5480 §2.1.1 */
  ecPublicKey: '1.2.840.10045.2.1',
  /** RFC 5480 §2.1.1.1 secp256r1 */
  p256: '1.2.840.10045.3.1.7',
  /** RFC 5480 §2.1.1.1 secp384r1 */
  p384: '1.3.132.0.34',
  /** RFC 5758 §3.2 */
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
} as const;

/** US SHAKEN CP v1.3 §1.2 and v1.4 §1.2: the policy OIDs STI certificates assert. */
export const ShakenPolicyOid = {
  cp1_3: '2.16.840.1.114569.1.1.3',
  cp1_4: '2.16.840.1.114569.1.1.4',
} as const;

const attributeShortNames: Record<string, string> = {
  [AttributeOid.commonName]: 'CN',
  [AttributeOid.serialNumber]: 'serialNumber',
  [AttributeOid.country]: 'C',
  [AttributeOid.locality]: 'L',
  [AttributeOid.stateOrProvince]: 'ST',
  [AttributeOid.organization]: 'O',
  [AttributeOid.organizationalUnit]: 'OU',
  [AttributeOid.emailAddress]: 'emailAddress',
};

export function attributeShortName(oid: string): string {
  return attributeShortNames[oid] ?? oid;
}
