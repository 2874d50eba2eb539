import { isIP } from 'node:net';

/**
 * Whether a host name or address (a URL's hostname, brackets allowed, or a listen address) stays on
 * this machine: `localhost`, 127.0.0.0/8 or ::1. Plain http is acceptable only there: anything else
 * crosses a network where a bearer credential or a private key can be read in transit. IPv4-mapped
 * forms (::ffff:127.0.0.1) count as not loopback: refusing them errs on the safe side.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
