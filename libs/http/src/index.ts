export { HttpErrorCode, HttpTransportError, describeNetworkCause, isHttpTransportError, redactUrl } from './errors.js';
export {
  HttpTransport,
  type HttpFetch,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
  type HttpResult,
  type HttpTransportDefaults,
  type HttpTransportOptions,
} from './http-transport.js';
export { parseHttpDate, parseRetryAfter } from './retry-after.js';
