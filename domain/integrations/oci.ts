/**
 * The parts of the OCI distribution API a registry integration reads, as pure
 * rules: which manifest types it accepts and how a bearer-token challenge is
 * answered.
 */

/** Asked for together so a registry answers with the digest of what it stores (an index for multi-arch images). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull"` → its scheme and parameters. */
export function parseAuthenticate(header: string | null): AuthChallenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const m of match[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[m[1].toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: match[1].toLowerCase(), params };
}

/** The token endpoint's URL for a challenge, with the scope the request needs. */
export function tokenUrl(challenge: AuthChallenge, scope: string | undefined): string | undefined {
  const realm = challenge.params.realm;
  if (!realm) return undefined;
  const u = new URL(realm);
  if (challenge.params.service) u.searchParams.set('service', challenge.params.service);
  const wanted = scope ?? challenge.params.scope;
  if (wanted) u.searchParams.set('scope', wanted);
  return u.toString();
}

/** The `Link: </v2/_catalog?last=x&n=100>; rel="next"` of a paginated answer, as a path. */
export function nextPage(link: string | null): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return m?.[1];
}

export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
