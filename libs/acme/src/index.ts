export {
  AcmeClient,
  RevocationReason,
  type AcmeCertificateDownload,
  type AcmeClientEvent,
  type AcmeClientOptions,
  type DownloadOptions,
  type NewAccountOptions,
  type NewOrderOptions,
  type RevokeOptions,
} from './acme-client.js';
export type { AcmeCertificateChain } from './certificate-chain.js';
export {
  AcmeError,
  AcmeErrorCode,
  AcmeNetworkError,
  AcmePollTimeoutError,
  AcmeProblemError,
  AcmeProtocolError,
  AcmeStatusError,
  AcmeTimeoutError,
  AcmeUsageError,
  isAcmeError,
  type AcmeProblem,
} from './errors.js';
export { accountKeyFingerprint, type FingerprintForm } from './fingerprint.js';
export type { AcmeFetch, AcmeHttpRequest, AcmeHttpResponse, AcmeTransportOptions } from './http.js';
export {
  encodeTnAuthListValue,
  TN_AUTH_LIST_IDENTIFIER_TYPE,
  type AcmeIdentifierInput,
  type TnAuthListEncoding,
} from './identifiers.js';
export { jwkThumbprint, type EabAlgorithm, type EcPublicJwk, type ExternalAccountBinding } from './jws.js';
export type { PollingOptions, Sleep } from './polling.js';
export type {
  AcmeAccount,
  AcmeAuthorization,
  AcmeChallenge,
  AcmeDirectory,
  AcmeIdentifier,
  AcmeOrder,
  AcmeOrderStatus,
} from './resources.js';
export { TKAUTH_CHALLENGE_TYPE, TKAUTH_TYPE_ATC, type AuthorizeTkauthOrderOptions, type CompleteTkauthOptions } from './tkauth.js';
