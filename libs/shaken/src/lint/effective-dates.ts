/**
 * When each rule set starts to bind. A lint applies to a certificate whose notBefore is on or after
 * the lint's date. End-entity lints start later than CA lints because STI-CAs get time to change
 * their issuance after a new version is published (the same grace the CP gives CPS updates).
 */

const DAY_MS = 24 * 60 * 60 * 1000;

function utc(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month - 1, day));
}

function plusDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** ATIS-1000080 v003 published 2020-09-04. */
const atisV003 = utc(2020, 9, 4);
/** ATIS-1000080 v004 published 2021-10-18. */
const atisV004 = utc(2021, 10, 18);
/** ATIS-1000080 v005 published 2022-12-12. */
const atisV005 = utc(2022, 12, 12);
/** US SHAKEN CP v1.3 approved 2021-08-18. */
const cpV1_3 = utc(2021, 8, 18);
/** US SHAKEN CP v1.4 approved 2023-06-06. */
const cpV1_4 = utc(2023, 6, 6);

export const EffectiveDate = {
  atisV003,
  atisV003Leaf: plusDays(atisV003, 90),
  atisV004,
  atisV004Leaf: plusDays(atisV004, 90),
  atisV005,
  atisV005Leaf: plusDays(atisV005, 90),
  cpV1_3,
  // CP 1.3: 45 days to submit a CPS, 10 to approve it, 90 to conform.
  cpV1_3Leaf: plusDays(cpV1_3, 145),
  cpV1_4,
  cpV1_4Leaf: plusDays(cpV1_4, 90),
  /** RFC 2459, the first PKIX profile: the general X.509 lints apply to every certificate. */
  rfc2459: utc(1999, 1, 1),
} as const;
