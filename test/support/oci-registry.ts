import { execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { ensureDockerRegistry } from '../../scripts/stack/docker-registry';
import { freePort } from '../../scripts/stack/processes';
import { until } from './eventually';

/**
 * A real OCI registry for a test: Debian's docker-registry (distribution 2.8)
 * on a free port with a throwaway storage dir, behind token auth — a 401 with a
 * `Bearer realm=…` challenge, answered by a small token server here that
 * checks Basic credentials and signs ES256 tokens with a key whose
 * self-signed certificate the registry trusts. `push` uploads an image
 * (config and layer blobs, then its manifest) over the OCI push API.
 */
export interface OciRegistry {
  url: string;
  username: string;
  password: string;
  /** Token requests the token server answered, by scope (to see that the bearer dance happened). */
  tokenScopes: string[];
  push(repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

const SERVICE = 'tollgate-test-registry';
const ISSUER = 'tollgate-test-token-server';

export async function startOciRegistry(): Promise<OciRegistry> {
  const binary = ensureDockerRegistry(() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-registry-'));
  const username = 'ci';
  const password = `pw-${randomUUID()}`;
  execFileSync('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', path.join(dir, 'key.pem')], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=tollgate-test-token'], { stdio: 'ignore' });
  const privateKey = createPrivateKey(readFileSync(path.join(dir, 'key.pem')));
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));

  const tokenScopes: string[] = [];
  const tokens = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    if (basic !== `${username}:${password}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'bad credentials' }));
      return;
    }
    const scope = url.searchParams.get('scope') ?? '';
    tokenScopes.push(scope);
    const access = scope
      ? [{ type: scope.split(':')[0], name: scope.split(':').slice(1, -1).join(':'), actions: scope.split(':').at(-1)!.split(',') }]
      : [];
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(ISSUER)
      .setSubject(username)
      .setAudience(url.searchParams.get('service') ?? SERVICE)
      .setIssuedAt()
      .setNotBefore(Math.floor(Date.now() / 1000) - 10)
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(privateKey);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/token`;

  const port = await freePort();
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  token:',
      `    realm: ${realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${path.join(dir, 'cert.pem')}`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (alive()) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => alive() && process.kill(child.pid!, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (tokens as Server).close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until('the registry to answer /v2/', async () => {
      if (!alive()) throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}):\n${out.slice(-3000)}`);
      try {
        return (await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) })).status === 401;
      } catch {
        return false;
      }
    }, 30_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }

  const tokenFor = async (repository: string) => {
    const res = await fetch(`${realm}?service=${SERVICE}&scope=repository:${repository}:pull,push`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } });
    return `Bearer ${((await res.json()) as { token: string }).token}`;
  };

  /** Pushes a tiny image (a config blob and one random layer) as `repository:tag`; answers the manifest's digest. */
  async function push(repository: string, tag: string): Promise<string> {
    const authorization = await tokenFor(repository);
    const blob = async (content: Buffer) => {
      const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
      const started = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { authorization } });
      if (started.status !== 202) throw new Error(`blob upload start answered ${started.status}: ${await started.text()}`);
      const location = new URL(started.headers.get('location')!, url);
      location.searchParams.set('digest', digest);
      const put = await fetch(location, { method: 'PUT', headers: { authorization, 'content-type': 'application/octet-stream' }, body: content });
      if (put.status !== 201) throw new Error(`blob upload answered ${put.status}: ${await put.text()}`);
      return { digest, size: content.length };
    };
    const config = await blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { tag } } })));
    const layer = await blob(randomBytes(256));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    );
    const res = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
    if (res.status !== 201) throw new Error(`manifest PUT answered ${res.status}: ${await res.text()}`);
    return res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  }

  return { url, username, password, tokenScopes, push, stop };
}

/** The key id distribution's libtrust gives a public key: base32 of the first 30 bytes of its DER's SHA-256, in groups of 4. */
function libtrustKeyId(spkiDer: Buffer): string {
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}
