import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { stiCrDispatcher } from '@app/shaken';
import { createStiCrStore, type StiCrStore } from '@app/storage';
import type { Agent } from 'undici';
import { CLM_CONFIG, STI_TRUST, type StiTrust } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';

/**
 * The two ends of publishing: the configured STI-CR store we write chains to, and the HTTPS client
 * we read them back with as a verifier would. That client trusts the system roots plus
 * STI_TRUST.tlsCaPem (which holds the embedded STI-CR's local root in the default setup); TLS
 * verification is never turned off.
 */
@Injectable()
export class StiCrAccess implements OnModuleDestroy {
  readonly store: StiCrStore;
  readonly dispatcher: Agent;

  constructor(@Inject(CLM_CONFIG) config: ClmConfig, @Inject(STI_TRUST) trust: StiTrust) {
    this.store = createStiCrStore(config.stiCr.store);
    this.dispatcher = stiCrDispatcher(trust.tlsCaPem.length > 0 ? { caPem: trust.tlsCaPem.join('\n') } : {});
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([this.store.close(), this.dispatcher.close()]);
  }
}
