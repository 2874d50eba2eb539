export { writeFileAtomic } from './atomic-write.js';
export { envReader, type Env, type EnvReader } from './env-reader.js';
export {
  issueLocalServerCertificate,
  issueLocalTlsRoot,
  namesEveryHost,
  type LocalServerCertificateOptions,
  type LocalTlsIssuer,
  type LocalTlsRootOptions,
} from './local-tls.js';
export { isLoopbackHost } from './loopback.js';
