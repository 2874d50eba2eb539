export {
  StiPaClient,
  type CrlDownload,
  type SpcTokenGrant,
  type SpcTokenRequest,
  type StiPaClientEvent,
  type StiPaClientOptions,
} from './sti-pa-client.js';
export { verifyCaList, type CaList, type CaListVerification } from './ca-list.js';
export { StiPaError, StiPaErrorCode, isStiPaError, type StiPaErrorDetails } from './errors.js';
export type { StiPaFetch, StiPaHttpRequest, StiPaHttpResponse, StiPaTransportOptions } from './http.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, type Sleep } from './retry.js';
export type { StiPaCredentials, StiPaCredentialsSource } from './session.js';
