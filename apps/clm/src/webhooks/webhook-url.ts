import { isLoopbackHost } from '@app/local-infra';

/**
 * Where deliveries may go: https anywhere, plain http only to this machine (a local relay or a
 * test receiver), since event bodies name certificates and providers and the signature proves
 * origin but hides nothing. No credentials in the URL: they would end up in logs and views.
 * Returns the problem, or undefined when the URL is acceptable.
 */
export function webhookUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute http(s) URL';
  }
  if (url.username !== '' || url.password !== '') return 'url must not contain user information (put credentials in the signing secret instead)';
  if (url.hash !== '') return 'url must not have a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : 'url must use https (plain http is accepted only for loopback receivers)';
  return `url must use https (got ${url.protocol.replace(/:$/, '')})`;
}
