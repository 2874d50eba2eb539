import { createHash } from 'node:crypto';
import { certificateToPem, signCompactJws } from '@app/shaken';
import type { SandboxUrls } from '../common/sandbox-urls.js';
import type { FaultState } from '../faults/fault-state.js';
import type { SandboxPki } from '../pki/sandbox-pki.js';
import type { SandboxStore } from '../state/sandbox-store.js';

const CA_LIST_VERSION = 1;
const CA_LIST_LIFETIME_S = 7 * 86_400;
const REISSUE_AFTER_MS = 60 * 60_000;

/**
 * The signed list of approved STI-CAs (`GET /ca-list`): a compact JWS signed like SPC tokens
 * (ES256, typ JWT, x5u of the STI-PA signing certificate) over {version, sequence, exp,
 * trustList: [PEM root, ...]}. The sandbox STI-CA root is on it unless the "revoked CA" fault
 * dropped it; `sequence` increases whenever the list changes.
 */
export class CaListPublisher {
  private current: { jws: string; issuedAt: number; digest: string } | undefined;

  constructor(
    private readonly store: SandboxStore,
    private readonly pki: SandboxPki,
    private readonly urls: SandboxUrls,
    private readonly faults: FaultState,
    private readonly clock: () => Date,
  ) {}

  trustList(): string[] {
    return this.faults.settings.revokedCa ? [] : [certificateToPem(this.pki.stiCaRoot.certificate)];
  }

  async caList(): Promise<string> {
    const trustList = this.trustList();
    const digest = createHash('sha256').update(trustList.join('')).digest('hex');
    const now = this.clock().getTime();
    if (this.current && this.current.digest === digest && now - this.current.issuedAt < REISSUE_AFTER_MS) return this.current.jws;
    const sequence = await this.store.update((state) => {
      if (state.caListDigest !== undefined && state.caListDigest !== digest) state.caListSequence += 1;
      state.caListDigest = digest;
      return state.caListSequence;
    });
    const jws = await signCompactJws(
      { alg: 'ES256', typ: 'JWT', x5u: this.urls.stiPaSigningCertificate },
      { version: CA_LIST_VERSION, sequence, exp: Math.floor(now / 1000) + CA_LIST_LIFETIME_S, trustList },
      this.pki.stiPaSigning.keys.privateKey,
    );
    this.current = { jws, issuedAt: now, digest };
    return jws;
  }
}
