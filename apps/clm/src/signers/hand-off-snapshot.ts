import { createHash } from 'node:crypto';
import type { CustodyKind, PrismaService } from '@app/db';

/** The key of an active certificate, as the hand-off needs it: sealed, never opened here. */
export interface HeldKey {
  readonly id: string;
  readonly custody: CustodyKind;
  /** PKCS#8 sealed by the keystore under AAD privateKeyAad(id); null for PKCS#11 or destroyed keys. */
  readonly sealed: Uint8Array | null;
  readonly destroyed: boolean;
}

/** What a signer receives for one OCN: its active certificate, chain, x5u and key. */
export interface ActiveCredential {
  readonly ocn: string;
  readonly certificateId: string;
  readonly providerId: string;
  readonly x5u: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Leaf first, then intermediates, exactly as served at x5u. */
  readonly chainPem: string;
  readonly key: HeldKey;
  /** The provider's signing is suspended (its SPC token was revoked): nothing is handed out. */
  readonly signingSuspended: boolean;
  /**
   * Identifies the pair: changes exactly when the certificate, its key, its chain or its x5u
   * change (not when the key is resealed under another KEK). The base of the strong ETag.
   */
  readonly pairTag: string;
  /** pairTag plus everything else that changes the answer (suspension): long-polls wake on it. */
  readonly answerTag: string;
}

/** A signer client as the pull API checks it. */
export interface SignerGrant {
  readonly id: string;
  readonly name: string;
  readonly disabled: boolean;
  /** OCN codes this signer may pull. */
  readonly ocns: ReadonlySet<string>;
}

/** The whole in-memory view one replica answers signers from. Replaced whole, never mutated. */
export interface HandOffSnapshot {
  /** By OCN code. */
  readonly credentials: ReadonlyMap<string, ActiveCredential>;
  /** By lowercase hex SHA-256 of the credential. */
  readonly signers: ReadonlyMap<string, SignerGrant>;
  /** performance.now() when the load began (the view is at least this fresh). */
  readonly loadedAt: number;
}

/**
 * Reads the view from the database: every active certificate (the partial unique index
 * certificates_one_active_per_ocn guarantees at most one per OCN) and every signer with its
 * scopes. A national ecosystem has a few hundred certificates, so whole reloads stay cheap.
 */
export async function loadHandOffSnapshot(prisma: PrismaService): Promise<HandOffSnapshot> {
  const loadedAt = performance.now();
  const [certificates, signers] = await Promise.all([
    prisma.certificate.findMany({
      where: { status: 'active' },
      select: {
        id: true,
        providerId: true,
        x5u: true,
        notBefore: true,
        notAfter: true,
        chainPem: true,
        ocn: { select: { code: true } },
        provider: { select: { signingSuspendedAt: true } },
        key: { select: { id: true, custody: true, sealed: true, destroyedAt: true } },
      },
    }),
    prisma.signerClient.findMany({
      select: { id: true, name: true, credentialHash: true, disabledAt: true, scopes: { select: { ocn: { select: { code: true } } } } },
    }),
  ]);

  const credentials = new Map<string, ActiveCredential>();
  for (const row of certificates) {
    // The certificates_active_fields CHECK makes these non-null for an active certificate.
    if (!row.x5u || !row.notBefore || !row.notAfter || !row.chainPem) continue;
    const pairTag = createHash('sha256')
      .update([row.id, row.key.id, row.x5u, row.notBefore.toISOString(), row.notAfter.toISOString(), row.chainPem].join('\n'))
      .digest('base64url')
      .slice(0, 27);
    const signingSuspended = row.provider.signingSuspendedAt !== null;
    const destroyed = row.key.destroyedAt !== null;
    credentials.set(row.ocn.code, {
      ocn: row.ocn.code,
      certificateId: row.id,
      providerId: row.providerId,
      x5u: row.x5u,
      notBefore: row.notBefore,
      notAfter: row.notAfter,
      chainPem: row.chainPem,
      key: { id: row.key.id, custody: row.key.custody, sealed: destroyed ? null : row.key.sealed, destroyed },
      signingSuspended,
      pairTag,
      answerTag: `${pairTag}|${signingSuspended ? 'suspended' : ''}|${destroyed ? 'destroyed' : ''}`,
    });
  }

  const grants = new Map<string, SignerGrant>();
  for (const row of signers) {
    grants.set(row.credentialHash, {
      id: row.id,
      name: row.name,
      disabled: row.disabledAt !== null,
      ocns: new Set(row.scopes.map((scope) => scope.ocn.code)),
    });
  }
  return { credentials, signers: grants, loadedAt };
}
