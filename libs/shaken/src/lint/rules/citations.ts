/** Where each requirement comes from, as printed in findings. */
export const Citation = {
  atisV003: 'ATIS-1000080 v003 §6.4.1',
  atisV004: 'ATIS-1000080 v004 §6.4.1',
  atisV005: 'ATIS-1000080 v005 §6.4.1',
  atisV005Fields: 'ATIS-1000080 v005 §6.4.1.1',
  cpV1_3Naming: 'US SHAKEN CP v1.3 §3.1',
  cpV1_4Naming: 'US SHAKEN CP v1.4 §3.1',
  cpPolicyId: 'US SHAKEN CP v1.3 §1.3, v1.4 §1.2',
  rfc5280Aki: 'RFC 5280 §4.2.1.1',
  rfc5280Ski: 'RFC 5280 §4.2.1.2',
  x690BitString: 'RFC 5280 §4.2.1.3, X.690 §11.2.2',
} as const;
