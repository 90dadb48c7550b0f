import { DIGEST_PATTERN, MANIFEST_ACCEPT, nextPage, parseAuthenticate, tokenUrl } from '../../domain/integrations/oci';
import { bodySnippet, call, CallFailed } from './http';

/**
 * A registry client over the OCI distribution API: `/v2/` to check access,
 * `/v2/_catalog`, `/v2/<name>/tags/list` and each tag's manifest digest
 * (`Docker-Content-Digest` of a HEAD asking for OCI and Docker manifest types).
 * A 401 with a Bearer challenge is answered by fetching a token from the
 * realm (with the configured credentials, if any) for the scope asked, then
 * retrying once; a Basic challenge gets the credentials directly.
 */

export interface RegistryConfig {
  url: string;
  username?: string;
  password?: string;
  repositories?: string[];
  timeoutMs: number;
}

export interface TagDigest {
  tag: string;
  digest: string | null;
}

const MAX_PAGES = 20;
const MAX_TAGS = 500;

export class RegistryClient {
  private readonly base: string;
  private readonly tokens = new Map<string, string>();

  constructor(private readonly config: RegistryConfig) {
    this.base = config.url.replace(/\/+$/, '');
  }

  /** `GET /v2/`: reachable, speaks the API, and the credentials (if any) are accepted. */
  async ping(): Promise<{ apiVersion: string | null }> {
    const res = await this.get('/v2/', undefined);
    await res.body?.cancel();
    return { apiVersion: res.headers.get('docker-distribution-api-version') };
  }

  async repositories(): Promise<string[]> {
    if (this.config.repositories?.length) return this.config.repositories;
    return this.paged('/v2/_catalog?n=100', 'registry:catalog:*', (b) => (b as { repositories?: string[] }).repositories ?? []);
  }

  async tags(repository: string): Promise<string[]> {
    const tags = await this.paged(`/v2/${repository}/tags/list?n=100`, `repository:${repository}:pull`, (b) => (b as { tags?: string[] | null }).tags ?? []);
    return tags.slice(0, MAX_TAGS);
  }

  async digest(repository: string, tag: string): Promise<string | null> {
    const res = await this.get(`/v2/${repository}/manifests/${encodeURIComponent(tag)}`, `repository:${repository}:pull`, 'HEAD', { accept: MANIFEST_ACCEPT });
    const digest = res.headers.get('docker-content-digest');
    return digest && DIGEST_PATTERN.test(digest) ? digest : null;
  }

  async tagDigests(repository: string): Promise<TagDigest[]> {
    const out: TagDigest[] = [];
    for (const tag of await this.tags(repository)) out.push({ tag, digest: await this.digest(repository, tag) });
    return out;
  }

  private async paged(first: string, scope: string, items: (body: unknown) => string[]): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = first;
    for (let page = 0; path && page < MAX_PAGES; page++) {
      const res = await this.get(path, scope);
      out.push(...items(await res.json()));
      path = nextPage(res.headers.get('link'));
    }
    return out;
  }

  private async get(path: string, scope: string | undefined, method = 'GET', headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.base}${path}`;
    const cached = this.tokens.get(scope ?? '');
    let res = await call(url, { method, headers: { ...headers, ...(cached ? { authorization: cached } : {}) }, timeoutMs: this.config.timeoutMs });
    if (res.status === 401) {
      await res.body?.cancel();
      const authorization = await this.authorize(res.headers.get('www-authenticate'), scope);
      this.tokens.set(scope ?? '', authorization);
      res = await call(url, { method, headers: { ...headers, authorization }, timeoutMs: this.config.timeoutMs });
    }
    if (!res.ok) {
      const snippet = method === 'HEAD' ? '' : await bodySnippet(res);
      throw new CallFailed(`${method} ${path} answered ${res.status}${res.status === 401 ? ' (the credentials were refused)' : ''}${snippet ? `: ${snippet}` : ''}`);
    }
    return res;
  }

  private basic(): string | undefined {
    const { username, password } = this.config;
    return username ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` : undefined;
  }

  private async authorize(header: string | null, scope: string | undefined): Promise<string> {
    const challenge = parseAuthenticate(header);
    if (challenge?.scheme === 'basic') {
      const basic = this.basic();
      if (!basic) throw new CallFailed('the registry asks for a username and password (Basic), and none is configured');
      return basic;
    }
    const realm = challenge?.scheme === 'bearer' ? tokenUrl(challenge, scope) : undefined;
    if (!realm) throw new CallFailed(`the registry answered 401 without a usable challenge (WWW-Authenticate: ${header ?? 'none'})`);
    const basic = this.basic();
    const res = await call(realm, { headers: basic ? { authorization: basic } : {}, timeoutMs: this.config.timeoutMs });
    if (!res.ok) throw new CallFailed(`the token endpoint ${new URL(realm).host} answered ${res.status}: ${await bodySnippet(res)}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new CallFailed(`the token endpoint ${new URL(realm).host} answered without a token`);
    return `Bearer ${token}`;
  }
}
