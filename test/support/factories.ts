import { randomBytes, randomInt } from 'node:crypto';
import type { AdminActor } from '../../apps/clm/src/auth/roles.js';
import type { ProviderView } from '../../apps/clm/src/onboarding/providers.service.js';
import type { StiCaView } from '../../apps/clm/src/onboarding/sti-cas.service.js';
import type { ProcurementApp } from './procurement-app.js';
import type { SandboxProcess } from './sandbox.js';

/**
 * Test data made through the real onboarding services (ARCHITECTURE.md habit 8), so every row
 * is one the product itself would write, sealed secrets and audit rows included.
 */

export function testAdmin(name = 'test compliance desk'): AdminActor {
  return { tokenId: 'test-token', name, role: 'compliance', sourceAddress: '127.0.0.1', correlationId: `test-${randomBytes(4).toString('hex')}` };
}

/** An OCN nobody used yet in this process: a digit, then three characters of [0-9A-Z]. */
let ocnCounter = randomInt(0, 36 ** 3 - 1_000);
export function freshOcn(): string {
  const n = ocnCounter++;
  return `${randomInt(1, 10)}${n.toString(36).toUpperCase().padStart(3, '0')}`;
}

export interface SandboxStiPaUser {
  readonly userId: string;
  readonly password: string;
}

/** An STI-PA API user at the sandbox holding `ocns` (the seeded `demo` user holds only 818H and 709J). */
export async function sandboxStiPaUser(sandbox: SandboxProcess, ocns: readonly string[]): Promise<SandboxStiPaUser> {
  const user = { userId: `user-${randomBytes(4).toString('hex')}`, password: `pw-${randomBytes(12).toString('hex')}` };
  await sandbox.adminApi('POST', '/users', { ...user, ocns, caTokens: false });
  return user;
}

export interface OnboardedProvider {
  readonly provider: ProviderView;
  readonly ocns: readonly string[];
  readonly stiPaUser: SandboxStiPaUser;
}

/** A provider with its OCNs and an STI-PA API user at the sandbox, onboarded through the services. */
export async function onboardProvider(
  app: ProcurementApp,
  sandbox: SandboxProcess,
  options: { ocns?: readonly string[]; legalName?: string; stiPaUser?: SandboxStiPaUser } = {},
): Promise<OnboardedProvider> {
  const ocns = options.ocns ?? [freshOcn()];
  const actor = testAdmin();
  const provider = await app.providers.create({
    legalName: options.legalName ?? 'Example Telecom LLC',
    frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
    filer499Id: String(randomInt(0, 1_000_000)).padStart(6, '0'),
    rmdNumber: `RMD${String(randomInt(0, 10_000_000)).padStart(7, '0')}`,
    contactEmail: 'stir-shaken@example.net',
  }, actor);
  for (const ocn of ocns) await app.providers.addOcn(provider.id, { ocn }, actor);
  const stiPaUser = options.stiPaUser ?? (await sandboxStiPaUser(sandbox, ocns));
  const withAccount = await app.providers.putStiPaAccount(provider.id, {
    environment: 'sandbox',
    baseUrl: sandbox.stiPaApi,
    userId: stiPaUser.userId,
    password: stiPaUser.password,
  }, actor);
  return { provider: withAccount, ocns, stiPaUser };
}

/** The sandbox STI-CA registered as onboarding would (TLS trust comes from the service's StiTrust). */
export function registerSandboxStiCa(
  app: ProcurementApp,
  sandbox: SandboxProcess,
  overrides: { name?: string; validityDays?: number; renewBeforeDays?: number } = {},
): Promise<StiCaView> {
  return app.stiCas.create({
    name: overrides.name ?? `Sandbox STI-CA ${randomBytes(3).toString('hex')}`,
    directoryUrl: sandbox.acmeDirectory,
    ...(overrides.validityDays !== undefined ? { validityDays: overrides.validityDays } : {}),
    ...(overrides.renewBeforeDays !== undefined ? { renewBeforeDays: overrides.renewBeforeDays } : {}),
  }, testAdmin());
}
