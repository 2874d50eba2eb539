import type { PrismaService, StiPaAccount } from '@app/db';

/**
 * One STI-PA API user per STI-PA environment (base URL): the CA list needs a login and any user
 * of that environment gets the same list; the CRL is public but is downloaded with that user's
 * client for its TLS trust. The most recently used account is taken (most likely to work).
 */
export async function oneAccountPerStiPa(prisma: PrismaService): Promise<StiPaAccount[]> {
  const accounts = await prisma.stiPaAccount.findMany({ orderBy: [{ lastLoginAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'asc' }] });
  const byBase = new Map<string, StiPaAccount>();
  for (const account of accounts) if (!byBase.has(account.baseUrl)) byBase.set(account.baseUrl, account);
  return [...byBase.values()];
}

/** Lowercase hex without leading zero octets: how certificate rows store serials (shaken serialHex). */
export function normalizedSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=.)/, '');
}
