import { createHash } from 'node:crypto';

/**
 * A loopback address of its own for a test's STI-CR listener. An x5u must use port 443 or 8443
 * (STIR-SHAKEN.md §6), so tests running at the same time cannot each pick a free port: they
 * share port 8443 on different addresses of 127.0.0.0/8 (all of it is loopback on Linux). The
 * address follows from `seed` (a data directory), so a service restarted on the same data keeps
 * serving its earlier x5u URLs.
 */
export function stiCrLoopbackHost(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  // 127.<1..254>.<0..255>.<1..254>: never 127.0.x.x, where the service's defaults live.
  return `127.${1 + (digest[0]! % 254)}.${digest[1]!}.${1 + (digest[2]! % 254)}`;
}
