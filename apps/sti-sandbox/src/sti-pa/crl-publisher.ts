import { serialHex } from '@app/shaken';
import type { FaultState } from '../faults/fault-state.js';
import { issuingAuthority, type SandboxPki } from '../pki/sandbox-pki.js';
import { buildStiPaCrl, type StiPaCrlEntry } from '../pki/sti-pa-crl.js';
import type { SandboxStore } from '../state/sandbox-store.js';

/** RFC 5280 §5.3.1: cACompromise, the reason the STI-PA gives when it revokes an STI-CA. */
const CA_COMPROMISE = 2;
/** A fresh CRL at least this often, so that thisUpdate stays recent (real verifiers refetch every 12 h). */
const REISSUE_AFTER_MS = 60 * 60_000;
const NEXT_UPDATE_MS = 24 * 60 * 60_000;

/**
 * The STI-PA CRL (served at `/sti-pa/download/v1/crl`): every certificate revoked through ACME
 * revokeCert, plus the sandbox intermediate while the "revoked CA" fault is on. Re-signed with a
 * new CRL number whenever its content changes, and hourly.
 */
export class CrlPublisher {
  private current: { der: Uint8Array; issuedAt: number; fingerprint: string } | undefined;
  private revokedCaSince: Date | undefined;
  private building: Promise<Uint8Array> | undefined;

  constructor(
    private readonly store: SandboxStore,
    private readonly pki: SandboxPki,
    private readonly faults: FaultState,
    private readonly clock: () => Date,
  ) {
    faults.onChange((settings) => {
      if (settings.revokedCa && !this.revokedCaSince) this.revokedCaSince = this.clock();
      if (!settings.revokedCa) this.revokedCaSince = undefined;
    });
    if (faults.settings.revokedCa) this.revokedCaSince = clock();
  }

  /** The current CRL, DER. */
  async crl(): Promise<Uint8Array> {
    const entries = this.entries();
    const fingerprint = entries.map((entry) => `${entry.serial}/${entry.reason}`).join(',');
    const now = this.clock().getTime();
    const age = this.current ? now - this.current.issuedAt : -1;
    // A clock moved back (POST /admin/clock) must not serve a CRL dated in its future.
    if (this.current && this.current.fingerprint === fingerprint && age >= 0 && age < REISSUE_AFTER_MS) return this.current.der;
    // One signing at a time: concurrent downloads share it and the CRL number stays monotonic.
    this.building ??= this.build(entries, fingerprint).finally(() => (this.building = undefined));
    return this.building;
  }

  /** Serials (lowercase hex) on the CRL right now. */
  revokedSerials(): string[] {
    return this.entries().map((entry) => entry.serial);
  }

  private entries(): StiPaCrlEntry[] {
    const intermediate = this.pki.stiCaIntermediate.certificate;
    const entries: StiPaCrlEntry[] = this.store.state.certificates
      .filter((certificate) => certificate.revocation !== undefined)
      .map((certificate) => ({
        serial: certificate.serial,
        revokedAt: new Date(certificate.revocation!.at),
        reason: certificate.revocation!.reason,
        certificateIssuer: intermediate.subjectName,
      }));
    if (this.revokedCaSince) {
      entries.push({ serial: serialHex(intermediate), revokedAt: this.revokedCaSince, reason: CA_COMPROMISE, certificateIssuer: intermediate.issuerName });
    }
    return entries;
  }

  private async build(entries: StiPaCrlEntry[], fingerprint: string): Promise<Uint8Array> {
    const now = this.clock();
    const crlNumber = await this.store.update((state) => ++state.crlNumber);
    const der = await buildStiPaCrl({
      signer: issuingAuthority(this.pki.stiPaCrlSigner),
      entries,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + NEXT_UPDATE_MS),
      crlNumber,
    });
    this.current = { der, issuedAt: now.getTime(), fingerprint };
    return der;
  }
}
