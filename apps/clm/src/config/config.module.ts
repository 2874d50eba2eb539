import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Keystore } from '@app/keystore';
import { Clock, SystemClock } from '../common/clock.js';
import type { ClmConfig } from './config.js';

export const CLM_CONFIG = Symbol('ClmConfig');
export const DATABASE_URL = Symbol('DatabaseUrl');
export const KEYSTORE = Symbol('Keystore');
export const STI_TRUST = Symbol('StiTrust');
export const RUNTIME = Symbol('RuntimeContext');

/**
 * What outbound calls to the STI ecosystem trust, beyond the system's TLS roots.
 * - stiPaRootsPem: the pinned STI-PA root(s) (CLM_STI_PA_ROOTS_FILE): SPC tokens and the CA list
 *   must chain to one (STIR-SHAKEN.md §3). Production pins iconectiv's root.
 * - tlsCaPem: extra TLS roots (CLM_TLS_CA_FILE, the embedded STI-CR's local root) for HTTPS to
 *   the STI-PA, STI-CAs and STI-CR checks. TLS verification is never disabled.
 * - sandbox: the embedded sandbox's STI-PA root and loopback TLS root. Scoped, never global:
 *   they apply only to STI-PA accounts whose environment is `sandbox` (sti-pa-anchors.ts), and
 *   the sandbox STI-CA row carries its TLS root in its own trustAnchorsPem. A production STI-PA
 *   account therefore never accepts a token chained to a root this machine made.
 */
export interface StiTrust {
  readonly stiPaRootsPem: readonly string[];
  readonly tlsCaPem: readonly string[];
  readonly sandbox?: { readonly stiPaRootsPem: readonly string[]; readonly tlsRootPem: string };
}

export interface RuntimeContext {
  readonly config: ClmConfig;
  /** The database actually in use: DATABASE_URL, or the embedded server's. */
  readonly databaseUrl: string;
  readonly keystore: Keystore;
  readonly trust: StiTrust;
  /** Set when the embedded default runs the local STI sandbox: where it is and its TLS root. */
  readonly embeddedSandbox?: { readonly stiPaApi: string; readonly acmeDirectory: string; readonly tlsRootPem: string };
  /** Time as the service sees it; tests pass a ManualClock. Default: the system clock. */
  readonly clock?: Clock;
}

/** The validated config and what boot made from it, injectable everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(runtime: RuntimeContext): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: CLM_CONFIG, useValue: runtime.config },
        { provide: DATABASE_URL, useValue: runtime.databaseUrl },
        { provide: KEYSTORE, useValue: runtime.keystore },
        { provide: STI_TRUST, useValue: runtime.trust },
        { provide: Clock, useValue: runtime.clock ?? new SystemClock() },
        { provide: RUNTIME, useValue: runtime },
      ],
      exports: [CLM_CONFIG, DATABASE_URL, KEYSTORE, STI_TRUST, Clock, RUNTIME],
    };
  }
}
