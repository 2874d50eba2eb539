import type { StiPaAccount } from '@app/db';
import type { StiTrust } from '../config/config.module.js';

/** What one STI-PA account trusts: the pinned STI-PA roots its tokens and CA list must chain to, and extra TLS roots. */
export interface StiPaAnchors {
  readonly stiPaRootsPem: readonly string[];
  readonly tlsCaPem: readonly string[];
}

export type StiPaEnvironmentOf = Pick<StiPaAccount, 'environment'>;

/**
 * The operator's configured trust, plus the embedded sandbox's roots for a `sandbox` account
 * only. A staging or production account never gets them: a token or CA list signed under a root
 * this machine generated must not pass for iconectiv's (STIR-SHAKEN.md §3, pinned STI-PA root).
 */
export function stiPaAnchors(trust: StiTrust, account: StiPaEnvironmentOf): StiPaAnchors {
  const sandbox = account.environment === 'sandbox' ? trust.sandbox : undefined;
  return {
    stiPaRootsPem: [...trust.stiPaRootsPem, ...(sandbox?.stiPaRootsPem ?? [])],
    tlsCaPem: [...trust.tlsCaPem, ...(sandbox ? [sandbox.tlsRootPem] : [])],
  };
}
