import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { JWKS_COOLDOWN_MS } from '../../api/auth/verifier';
import { startTestApp, type TestApp } from '../support/app';

/** AUTH_JWKS_URL: keys fetched from the issuer's key set, cached, refetched for a key it has not seen. */
let app: TestApp;
let server: http.Server;
let fetches = 0;
let keys: Record<string, unknown>[] = [];
let signers: Array<{ kid: string; key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] }> = [];

async function addKey(kid: string) {
  const pair = await generateKeyPair('ES256', { extractable: true });
  keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' });
  signers.push({ kid, key: pair.privateKey });
}

beforeAll(async () => {
  await addKey('first');
  server = http.createServer((_req, res) => {
    fetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  app = await startTestApp({ worker: false, env: { AUTH_JWKS: '', AUTH_JWKS_URL: url } });
});
afterAll(async () => {
  await app.close();
  await new Promise((r) => server.close(r));
});

const sign = (kid: string) =>
  new SignJWT({ user_id: 'alice', tenant_id: app.tenant, roles: ['viewer'] })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(app.config.AUTH_ISSUER)
    .setAudience(app.config.AUTH_AUDIENCE)
    .setExpirationTime('5m')
    .sign(signers.find((s) => s.kid === kid)!.key);

test('tokens verify against the remote key set, fetched once and cached', async () => {
  const token = await sign('first');
  for (let i = 0; i < 5; i++) expect((await app.http('GET', '/api/v1/changes', { token })).status).toBe(200);
  expect(fetches).toBe(1);
});

test('a rotated-in key (unknown kid) makes it fetch again; keys it never published still fail', async () => {
  await addKey('second');
  // jose refetches for an unknown kid once the cooldown since the last fetch has passed.
  await new Promise((r) => setTimeout(r, JWKS_COOLDOWN_MS + 200));
  expect((await app.http('GET', '/api/v1/changes', { token: await sign('second') })).status).toBe(200);
  expect(fetches).toBe(2);
  const stranger = await generateKeyPair('ES256');
  const forged = await new SignJWT({ user_id: 'mallory', tenant_id: app.tenant })
    .setProtectedHeader({ alg: 'ES256', kid: 'third' })
    .setIssuer(app.config.AUTH_ISSUER)
    .setAudience(app.config.AUTH_AUDIENCE)
    .setExpirationTime('5m')
    .sign(stranger.privateKey);
  const res = await app.http('GET', '/api/v1/changes', { token: forged });
  expect(res.status).toBe(401);
  expect(res.body.error.code).toBe('TOKEN_INVALID');
});
