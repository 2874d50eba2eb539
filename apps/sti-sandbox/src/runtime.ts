import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateToPem } from '@app/shaken';
import type { Logger as Pino } from 'pino';
import { ClockOffset } from './common/clock-offset.js';
import { SandboxUrls } from './common/sandbox-urls.js';
import type { SandboxConfig } from './config.js';
import { FaultState } from './faults/fault-state.js';
import { ensureSandboxPki, type SandboxPki } from './pki/sandbox-pki.js';
import { AcmeRequestVerifier } from './sti-ca/acme/acme-request.js';
import { AcmeAccounts } from './sti-ca/acme/accounts.js';
import { BackgroundWork } from './sti-ca/acme/background-work.js';
import { AcmeChallenges } from './sti-ca/acme/challenges.js';
import { AcmeIssuance } from './sti-ca/acme/issuance.js';
import { NonceService } from './sti-ca/acme/nonces.js';
import { AcmeOrders } from './sti-ca/acme/orders.js';
import { AcmeRevocation } from './sti-ca/acme/revocation.js';
import { createSpcTokenCheck, type FingerprintForm } from './sti-ca/acme/tkauth-validation.js';
import { StiPaAccessPolicy } from './sti-pa/access-policy.js';
import { CaListPublisher } from './sti-pa/ca-list-publisher.js';
import { CrlPublisher } from './sti-pa/crl-publisher.js';
import { SpcTokenIssuer } from './sti-pa/spc-token-issuer.js';
import { StiPaSessions } from './sti-pa/sti-pa-sessions.js';
import { StiPaUsers } from './sti-pa/sti-pa-users.js';
import { TokenDesk } from './sti-pa/token-desk.js';
import { readFileIfExists, writeFileAtomic } from './state/atomic-file.js';
import { SandboxStore } from './state/sandbox-store.js';
import { ensureTlsMaterial, type TlsMaterial } from './tls/tls-material.js';

/**
 * The composition root: everything the sandbox is made of, built once from the configuration
 * and the data directory. Nest only routes HTTP to these objects.
 */
export interface SandboxRuntime {
  config: SandboxConfig;
  urls: SandboxUrls;
  tls: TlsMaterial;
  pki: SandboxPki;
  store: SandboxStore;
  faults: FaultState;
  clock: () => Date;
  /** Moves `clock` away from real time (admin API); zero unless a test asks. */
  clockOffset: ClockOffset;
  adminSecret: string;
  adminSecretPath: string | undefined;
  background: BackgroundWork;
  services: {
    users: StiPaUsers;
    sessions: StiPaSessions;
    access: StiPaAccessPolicy;
    tokenDesk: TokenDesk;
    crls: CrlPublisher;
    caLists: CaListPublisher;
    nonces: NonceService;
    verifier: AcmeRequestVerifier;
    accounts: AcmeAccounts;
    orders: AcmeOrders;
    challenges: AcmeChallenges;
    issuance: AcmeIssuance;
    revocation: AcmeRevocation;
  };
  /** PEM of the STI-PA signing certificate, served at the tokens' x5u. */
  stiPaSigningPem: string;
}

/** The admin secret from the configuration, or the one generated into the data directory. */
async function adminSecretFor(config: SandboxConfig): Promise<{ secret: string; path: string | undefined }> {
  if (config.adminSecret) return { secret: config.adminSecret, path: undefined };
  const path = join(config.dataDir, 'admin-secret');
  const existing = (await readFileIfExists(path))?.trim();
  if (existing) return { secret: existing, path };
  const secret = randomBytes(24).toString('base64url');
  await writeFileAtomic(path, `${secret}\n`, 0o600);
  return { secret, path };
}

export async function prepareRuntime(config: SandboxConfig, port: number, log: Pino, baseClock: () => Date = () => new Date()): Promise<SandboxRuntime> {
  const clockOffset = new ClockOffset();
  const clock = clockOffset.apply(baseClock);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const urls = SandboxUrls.forListener(config.host, port);
  const tls = await ensureTlsMaterial(config.dataDir, config.host);
  const pki = await ensureSandboxPki(config.dataDir, urls.stiPaCrl, clock());
  const store = await SandboxStore.open(config.dataDir);
  const faults = new FaultState(config.faults);
  const { secret: adminSecret, path: adminSecretPath } = await adminSecretFor(config);
  const background = new BackgroundWork((error) => log.error({ err: error }, 'background ACME work failed'));

  const users = new StiPaUsers(store);
  await users.seedDemoUsers();
  const sessions = new StiPaSessions(clock);
  const access = new StiPaAccessPolicy(config.stiPaAllowList, config.stiPaRateLimitPerMinute, clock);
  const issuer = new SpcTokenIssuer(pki, urls, faults, config.spcTokenValidityMinutes, clock);
  const tokenDesk = new TokenDesk(users, issuer, urls);
  const crls = new CrlPublisher(store, pki, faults, clock);
  const caLists = new CaListPublisher(store, pki, urls, faults, clock);

  const nonces = new NonceService();
  const verifier = new AcmeRequestVerifier(nonces, store, urls, faults);
  const accounts = new AcmeAccounts(store, urls, config.requireEab, clock);
  const orders = new AcmeOrders(store, { acceptPaddedIdentifiers: config.acceptPaddedIdentifiers, maxValidityDays: config.certValidityDays }, clock);
  const fingerprintForm: FingerprintForm = config.fingerprintForm;
  const challenges = new AcmeChallenges(store, createSpcTokenCheck(pki, urls, fingerprintForm), background, clock, faults);
  const issuance = new AcmeIssuance(store, orders, pki, urls, faults, background, config.certValidityDays, clock);
  const revocation = new AcmeRevocation(store, pki, clock);

  return {
    config,
    urls,
    tls,
    pki,
    store,
    faults,
    clock,
    clockOffset,
    adminSecret,
    adminSecretPath,
    background,
    services: { users, sessions, access, tokenDesk, crls, caLists, nonces, verifier, accounts, orders, challenges, issuance, revocation },
    stiPaSigningPem: certificateToPem(pki.stiPaSigning.certificate),
  };
}
