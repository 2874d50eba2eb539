/** Parsers for the response headers ACME depends on (Retry-After is @app/http's `parseRetryAfter`). */

/**
 * RFC 8288 Link header, e.g. `<https://ca/cert/1/1>;rel="alternate", <https://ca/dir>;rel="index"`.
 * Returns the targets (resolved against `base`) whose rel list contains `rel`.
 */
export function linkTargets(header: string | null, rel: string, base: string): string[] {
  if (!header) return [];
  const targets: string[] = [];
  // Each link-value starts with <URI>; parameters run until the next top-level comma.
  const pattern = /<([^>]*)>((?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"[^"]*"|[^;,\s]*))?)*)/g;
  for (const match of header.matchAll(pattern)) {
    const params = match[2] ?? '';
    for (const param of params.matchAll(/;\s*([^;,=\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,\s]*)))?/g)) {
      if (param[1]?.toLowerCase() !== 'rel') continue;
      const rels = (param[2] ?? param[3] ?? '').toLowerCase().split(/\s+/);
      if (rels.includes(rel.toLowerCase()) && URL.canParse(match[1] ?? '', base)) {
        targets.push(new URL(match[1] ?? '', base).href);
      }
    }
  }
  return targets;
}
