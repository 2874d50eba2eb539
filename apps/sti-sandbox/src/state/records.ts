/**
 * What the sandbox remembers across restarts: the STI-PA's API users and their OCNs, and the
 * STI-CA's ACME accounts, orders, authorizations, issued certificates and revocations. Plain JSON
 * records (dates as ISO strings), kept in `<dataDir>/state.json`.
 */

export interface EcPublicJwkRecord {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** RFC 7807 problem document as ACME uses it (RFC 8555 §6.7). */
export interface ProblemRecord {
  type: string;
  detail: string;
  status?: number;
  subproblems?: ProblemRecord[];
}

export interface StiPaUserRecord {
  userId: string;
  /** `scrypt$<salt b64>$<hash b64>`; the password itself is never stored. */
  passwordHash: string;
  /** The OCNs (SPCs) this API user's company holds. */
  ocns: string[];
  /** May order `atc.ca: true` tokens (delegate-issuing CA certificates need STI-PA approval). */
  caTokens: boolean;
  createdAt: string;
}

export interface EabKeyRecord {
  kid: string;
  /** base64url HMAC key, as handed to the subscriber. */
  hmacKey: string;
  createdAt: string;
  /** Set once an account was created with it (RFC 8555 §7.3.4: one account per key). */
  accountId?: string;
}

export type AccountStatus = 'valid' | 'deactivated' | 'revoked';

export interface AccountRecord {
  id: string;
  status: AccountStatus;
  jwk: EcPublicJwkRecord;
  /** RFC 7638 thumbprint of `jwk`: how newAccount and revokeCert find an account by key. */
  thumbprint: string;
  contact: string[];
  termsOfServiceAgreed: boolean;
  eabKid?: string;
  createdAt: string;
}

export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

export interface ChallengeRecord {
  id: string;
  /** RFC 9447 §3: a random token; the sandbox does not bind it into the SPC token (neither does the STI-PA). */
  token: string;
  status: ChallengeStatus;
  validated?: string;
  error?: ProblemRecord;
  /** Responses accepted so far: at most 1, since only a pending challenge takes one (RFC 8555 §7.1.6). */
  attempts: number;
}

export interface AuthorizationRecord {
  id: string;
  orderId: string;
  accountId: string;
  identifier: { type: 'TNAuthList'; value: string };
  /** DER TNAuthList of the identifier, base64url. */
  tnAuthList: string;
  expires: string;
  challenge: ChallengeRecord;
  /** Set when the client deactivated it (RFC 8555 §7.5.2). */
  deactivated?: boolean;
}

export type FinalizationState = 'none' | 'processing' | 'valid' | 'invalid';

export interface OrderRecord {
  id: string;
  accountId: string;
  createdAt: string;
  expires: string;
  identifiers: { type: 'TNAuthList'; value: string }[];
  /** DER TNAuthList the order is for, base64url (canonical form of the identifier value). */
  tnAuthList: string;
  /** The SPC when the TNAuthList is exactly one SPC. */
  spc?: string;
  notBefore?: string;
  notAfter?: string;
  authorizationIds: string[];
  finalization: FinalizationState;
  certificateId?: string;
  error?: ProblemRecord;
}

export interface RevocationRecord {
  at: string;
  /** RFC 5280 §5.3.1 CRLReason. */
  reason: number;
}

export interface CertificateRecord {
  id: string;
  /** Lowercase hex serial of the leaf. */
  serial: string;
  accountId: string;
  orderId: string;
  /** Leaf then intermediate, PEM. */
  chainPem: string;
  /** DER SPKI of the leaf's key, base64url: who may revoke with the certificate key. */
  publicKeySpki: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  revocation?: RevocationRecord;
}

export interface SandboxStateData {
  version: 1;
  users: StiPaUserRecord[];
  eabKeys: EabKeyRecord[];
  accounts: AccountRecord[];
  orders: OrderRecord[];
  authorizations: AuthorizationRecord[];
  certificates: CertificateRecord[];
  /** RFC 5280 §5.2.3: increases with every CRL the STI-PA publishes. */
  crlNumber: number;
  /** `sequence` of the signed CA list: increases whenever its trust list changes. */
  caListSequence: number;
  /** SHA-256 of the trust list last published, to notice changes across restarts. */
  caListDigest?: string;
}

export function emptyState(): SandboxStateData {
  return { version: 1, users: [], eabKeys: [], accounts: [], orders: [], authorizations: [], certificates: [], crlNumber: 0, caListSequence: 1 };
}
