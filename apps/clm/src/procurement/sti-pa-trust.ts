import { Inject, Injectable } from '@nestjs/common';
import { namesEqual, parseCertificateChain, parseCrl, type X509Certificate, type X509Crl } from '@app/shaken';
import type { StiPaClient } from '@app/sti-pa';
import { Clock } from '../common/clock.js';
import { STI_TRUST, type StiTrust } from '../config/config.module.js';
import { stiPaAnchors, type StiPaEnvironmentOf } from './sti-pa-anchors.js';

export interface StiPaCrl {
  readonly crl: X509Crl;
  /**
   * The certificate whose key signs the CRL, when the pinned STI-PA trust bundle holds it
   * (CLM_STI_PA_ROOTS_FILE may list the CRL signer beside the root). Without it the CRL is
   * authenticated only by the HTTPS download from the STI-PA.
   */
  readonly signer: X509Certificate | undefined;
}

/** Fetched material is reused this long, so a burst of orders does not become a burst of downloads. */
const REUSE_MS = 60_000;

/**
 * What "checked" compares an issued certificate against (STIR-SHAKEN.md §3-§4): the STI-PA's
 * signed list of approved STI-CA roots and the STI-PA CRL. The jobs that refresh these every
 * 24 h / 12 h are another feature; procurement fetches them itself, so a certificate is never
 * checked against nothing.
 */
@Injectable()
export class StiPaTrust {
  private readonly caLists = new Map<string, { readonly at: number; readonly anchors: Promise<X509Certificate[]> }>();
  private readonly crls = new Map<string, { readonly at: number; readonly crl: Promise<StiPaCrl> }>();
  private readonly pinned = new Map<string, X509Certificate[]>();

  constructor(
    @Inject(STI_TRUST) private readonly trust: StiTrust,
    private readonly clock: Clock,
  ) {}

  /**
   * True when at least one STI-PA root is pinned for this account (SPC tokens and the CA list
   * chain to it). The embedded sandbox's root counts for `sandbox` accounts only.
   */
  hasPinnedRoots(account: StiPaEnvironmentOf): boolean {
    return stiPaAnchors(this.trust, account).stiPaRootsPem.length > 0;
  }

  /** The STI-PA certificates pinned for this account (roots, and a CRL signer if configured). */
  pinnedCertificates(account: StiPaEnvironmentOf): X509Certificate[] {
    let pinned = this.pinned.get(account.environment);
    if (!pinned) {
      pinned = stiPaAnchors(this.trust, account).stiPaRootsPem.flatMap((pem) => parseCertificateChain(pem));
      this.pinned.set(account.environment, pinned);
    }
    return pinned;
  }

  /**
   * The approved STI-CA roots from the verified CA list (signature and x5u chain to the root
   * pinned for the account's environment; `client` is that account's). Cached per environment
   * too, so a list verified for a sandbox account is never handed to a production one.
   */
  caListAnchors(client: StiPaClient, account: StiPaEnvironmentOf): Promise<X509Certificate[]> {
    return this.reuse(this.caLists, `${account.environment} ${client.baseUrl}`, 'anchors', async () => (await client.getCaList()).trustAnchors);
  }

  /** The STI-PA CRL at `url` (the one the SPC token response named), its signer looked up among the account's pinned certificates. */
  crl(client: StiPaClient, url: string, account: StiPaEnvironmentOf): Promise<StiPaCrl> {
    return this.reuse(this.crls, `${account.environment} ${url}`, 'crl', async () => {
      const crl = parseCrl((await client.downloadCrl(url)).der);
      const signer = this.pinnedCertificates(account).find((candidate) => namesEqual(candidate.subjectName, crl.issuerName));
      return { crl, signer };
    });
  }

  private reuse<K extends string, T>(
    cache: Map<string, { readonly at: number } & Record<K, Promise<T>>>,
    key: string,
    field: K,
    load: () => Promise<T>,
  ): Promise<T> {
    const now = this.clock.now().getTime();
    const hit = cache.get(key);
    if (hit && now - hit.at >= 0 && now - hit.at < REUSE_MS) return hit[field];
    const value = load();
    cache.set(key, { at: now, [field]: value } as { readonly at: number } & Record<K, Promise<T>>);
    // A failed download must not be served from the cache.
    value.catch(() => {
      if (cache.get(key)?.[field] === value) cache.delete(key);
    });
    return value;
  }
}
