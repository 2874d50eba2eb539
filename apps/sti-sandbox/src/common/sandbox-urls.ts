/**
 * Every URL the sandbox hands out, derived from its base URL in one place. The STI-PA part
 * mirrors iconectiv's layout (`/api/v1/...` for the API, `/download/v1/crl` for the CRL) under
 * `/sti-pa`, the STI-CA speaks ACME under `/acme`.
 */
export class SandboxUrls {
  readonly base: string;

  constructor(base: string) {
    this.base = base.replace(/\/+$/, '');
  }

  static forListener(host: string, port: number): SandboxUrls {
    // A wildcard bind address is not something a client can connect to.
    const connectHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const hostPart = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
    return new SandboxUrls(`https://${hostPart}:${port}`);
  }

  get stiPaApi(): string {
    return `${this.base}/sti-pa/api/v1`;
  }

  get stiPaCrl(): string {
    return `${this.base}/sti-pa/download/v1/crl`;
  }

  /** x5u of SPC tokens and of the CA list: the STI-PA signing certificate. */
  get stiPaSigningCertificate(): string {
    return `${this.base}/sti-pa/download/v1/certificate/sti-pa-signing.pem`;
  }

  get acmeDirectory(): string {
    return `${this.base}/acme/directory`;
  }

  acme(path: string): string {
    return `${this.base}/acme/${path}`;
  }

  get admin(): string {
    return `${this.base}/admin`;
  }
}
