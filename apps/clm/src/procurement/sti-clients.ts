import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { AcmeClient } from '@app/acme';
import type { StiCa, StiPaAccount } from '@app/db';
import type { Keystore } from '@app/keystore';
import type { CryptoKeyPair } from '@app/shaken';
import { StiPaClient } from '@app/sti-pa';
import { Clock } from '../common/clock.js';
import { KEYSTORE, STI_TRUST, type StiTrust } from '../config/config.module.js';
import { stiPaPasswordAad } from '../common/sealed-secrets.js';
import { stiPaAnchors } from './sti-pa-anchors.js';

/**
 * The HTTP seam to the STI ecosystem (ARCHITECTURE.md habit 1): ACME clients per STI-CA account
 * and STI-PA clients per provider API user, built with the service's TLS trust and clock.
 *
 * TLS: an explicit CA list replaces Node's defaults, so the system roots are passed along with
 * the extra ones (CLM_TLS_CA_FILE, a STI-CA row's own anchors; the embedded sandbox's loopback
 * root only for a `sandbox` STI-PA account, and for the sandbox STI-CA row through its anchors).
 * Verification is never turned off.
 */
@Injectable()
export class StiClients implements OnModuleDestroy {
  /** One STI-PA client per API user, so its login session (about 1 h) is shared by all orders. */
  private readonly stiPaClients = new Map<string, { readonly version: string; readonly client: StiPaClient }>();

  constructor(
    @Inject(STI_TRUST) private readonly trust: StiTrust,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
    private readonly clock: Clock,
  ) {}

  /** An ACME client speaking for one account on one STI-CA; the caller closes it. */
  acme(stiCa: StiCa, accountKey: CryptoKeyPair, accountUrl?: string | null): AcmeClient {
    const roots = this.tlsRoots(stiCa.trustAnchorsPem);
    return new AcmeClient({
      directoryUrl: stiCa.directoryUrl,
      accountKey,
      ...(accountUrl ? { accountUrl } : {}),
      identifierEncoding: stiCa.identifierEncoding,
      fingerprintForm: stiCa.fingerprintForm,
      transport: roots ? { trustedCaPem: roots } : {},
      clock: () => this.clock.now(),
      userAgent: 'shaken-clm',
    });
  }

  /**
   * The STI-PA client of a provider's API user. Cached per login identity (base URL, user,
   * environment, sealed password): a changed password or URL gets a fresh client and login.
   * Not per row version: every token request stamps lastLoginAt on the row, and closing the
   * shared client then would cut the requests of the other orders still using it.
   * The password is unsealed only when the client logs in, and never kept by us.
   */
  stiPa(account: StiPaAccount): StiPaClient {
    const version = loginIdentity(account);
    const cached = this.stiPaClients.get(account.id);
    if (cached?.version === version) return cached.client;
    // Replaced (new password or URL): requests already under way on the old client may finish.
    if (cached) setTimeout(() => void cached.client.close().catch(() => undefined), REPLACED_CLIENT_GRACE_MS).unref();
    const anchors = stiPaAnchors(this.trust, account);
    const roots = withSystemRoots(anchors.tlsCaPem);
    const sealed = account.passwordSealed;
    const client = new StiPaClient({
      baseUrl: account.baseUrl,
      credentials: async () => ({
        userId: account.userId,
        password: this.keystore.open(sealed, stiPaPasswordAad(account.providerId)).toString('utf8'),
      }),
      stiPaRootsPem: [...anchors.stiPaRootsPem],
      transport: roots ? { trustedCaPem: roots } : {},
      clock: () => this.clock.now(),
      userAgent: 'shaken-clm',
    });
    this.stiPaClients.set(account.id, { version, client });
    return client;
  }

  /** The configured TLS roots plus the STI-CA row's own anchors (the sandbox STI-CA row carries the sandbox's). */
  private tlsRoots(extraPem?: string | null): string[] | undefined {
    return withSystemRoots([...this.trust.tlsCaPem, ...(extraPem ? [extraPem] : [])]);
  }

  async onModuleDestroy(): Promise<void> {
    const clients = [...this.stiPaClients.values()];
    this.stiPaClients.clear();
    await Promise.all(clients.map(({ client }) => client.close().catch(() => undefined)));
  }
}

/** Longer than any one STI-PA request's deadline. */
const REPLACED_CLIENT_GRACE_MS = 120_000;

function loginIdentity(account: StiPaAccount): string {
  return createHash('sha256')
    .update(JSON.stringify([account.baseUrl, account.userId, account.environment]))
    .update(account.passwordSealed)
    .digest('hex');
}

/** Undefined means Node's default roots (nothing extra). */
function withSystemRoots(extra: readonly string[]): string[] | undefined {
  return extra.length === 0 ? undefined : [...rootCertificates, ...extra];
}
