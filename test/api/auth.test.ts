import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { JWKS_COOLDOWN_MS } from '../../api/auth/verifier';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange } from '../support/changes';
import { eventually } from '../support/eventually';

/** Bearer-token verification: every way a token can be wrong is a 401 in the envelope; tenants never see each other. */
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    user_id: 'mallory@example.com',
    tenant_id: app.tenant,
    roles: ['release-manager'],
    sub: 'mallory@example.com',
    iss: app.config.AUTH_ISSUER,
    aud: app.config.AUTH_AUDIENCE,
    iat: now,
    exp: now + 600,
    ...overrides,
  };
}

async function expect401(authorization: string | undefined, code?: string) {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const res = await app.http('GET', '/api/v1/changes', { headers });
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ success: false, error: { code: code ?? expect.stringMatching(/^TOKEN_/), message: expect.any(String) } });
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  const sf = await app.http('GET', '/prod/api/changes', { headers });
  expect(sf.status).toBe(401);
  expect(sf.body.error.code).toBe(res.body.error.code);
}

test('a valid token is accepted', async () => {
  const res = await app.http('GET', '/api/v1/changes', { token: await app.token('alice@example.com') });
  expect(res.status).toBe(200);
});

test('no token', () => expect401(undefined, 'TOKEN_MISSING'));

test('malformed tokens and headers', async () => {
  await expect401('Bearer not-a-jwt', 'TOKEN_INVALID');
  await expect401('Basic YWxpY2U6c2VjcmV0', 'TOKEN_INVALID');
  await expect401('Bearer a.b.c', 'TOKEN_INVALID');
});

test('alg "none" in any spelling', async () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    await expect401(`Bearer ${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`, 'TOKEN_INVALID');
  }
});

test('HS256 signed with the public key as the HMAC secret', async () => {
  const { d: _d, ...publicJwk } = app.signer.jwk;
  const { importJWK } = await import('jose');
  const pem = await exportSPKI((await importJWK(publicJwk, 'ES256')) as Parameters<typeof exportSPKI>[0]);
  for (const secret of [pem, JSON.stringify(publicJwk)]) {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid }).sign(new TextEncoder().encode(secret));
    await expect401(`Bearer ${token}`, 'TOKEN_INVALID');
  }
});

test('a tampered payload', async () => {
  const [header, , signature] = (await app.token('alice@example.com')).split('.');
  const forged = b64(claims({ user_id: 'alice@example.com', roles: ['admin'] }));
  await expect401(`Bearer ${header}.${forged}.${signature}`, 'TOKEN_INVALID');
});

test('expired, and not yet valid', async () => {
  await expect401(`Bearer ${await app.token('alice@example.com', { ttlSeconds: -60 })}`, 'TOKEN_EXPIRED');
  const future = await new SignJWT(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }))
    .setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid })
    .sign(app.signer.privateKey);
  await expect401(`Bearer ${future}`, 'TOKEN_INVALID');
});

test('wrong issuer, wrong audience', async () => {
  for (const bad of [{ iss: 'https://evil.example.com' }, { aud: 'someone-else' }]) {
    const token = await new SignJWT(claims(bad)).setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid }).sign(app.signer.privateKey);
    await expect401(`Bearer ${token}`, 'TOKEN_INVALID');
  }
});

test('an unknown kid, and a key the token brings along (jwk / jku / x5u headers)', async () => {
  const attacker = await generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await exportJWK(attacker.publicKey);
  const unknownKid = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'who-knows' }).sign(attacker.privateKey);
  await expect401(`Bearer ${unknownKid}`, 'TOKEN_INVALID');
  const embedded = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', jwk: attackerJwk }).sign(attacker.privateKey);
  await expect401(`Bearer ${embedded}`, 'TOKEN_INVALID');
  // Same kid as the trusted key, but signed by the attacker and pointing at their key set.
  for (const header of [{ jku: 'https://evil.example.com/jwks.json' }, { x5u: 'https://evil.example.com/cert.pem' }, { jwk: attackerJwk }]) {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid, ...header }).sign(attacker.privateKey);
    await expect401(`Bearer ${token}`, 'TOKEN_INVALID');
  }
});

test('a token without a tenant or user is refused', async () => {
  for (const bad of [{ tenant_id: undefined }, { user_id: undefined, sub: undefined }, { tenant_id: 'has:colons' }]) {
    const token = await new SignJWT(claims(bad)).setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid }).sign(app.signer.privateKey);
    await expect401(`Bearer ${token}`, 'TOKEN_INVALID');
  }
});

test('a claim holding text Postgres cannot store is a 401 naming it (it was a 500 on keyed creates and incident writes)', async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['user_id', { user_id: 'mallory\u0000@example.com' }],
    ['sub', { user_id: undefined, sub: 'mallory\ud800' }],
    ['email', { email: 'mallory@example.com\u0000' }],
    ['name', { name: 'Mal\udc00lory' }],
    ['groups', { groups: ['ops', 'bad\u0000group'] }],
    ['user_id', { user_id: 'x'.repeat(1_025) }],
  ];
  for (const [claim, bad] of cases) {
    const token = await new SignJWT(claims(bad)).setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid }).sign(app.signer.privateKey);
    const keyedCreate = await app.http('POST', '/prod/api/changes', { token, headers: { 'Idempotency-Key': `claims-${claim}-${Date.now()}` }, body: auroraChange() });
    const incident = await app.http('POST', '/prod/api/incidents', { token, body: { short_description: 'claims' } });
    for (const res of [keyedCreate, incident]) {
      expect([claim, res.status, res.body.error.code]).toEqual([claim, 401, 'TOKEN_INVALID']);
      expect(res.body.error.message).toContain(`"${claim}"`);
    }
  }
});

test("tenant B reading or commanding tenant A's change gets 404", async () => {
  const owner = await app.token('alice@example.com');
  const change = await createChange(app, owner, auroraChange());
  const other = await app.token('bob@example.com', { tenant: `${app.tenant}-b` });
  expect((await app.http('GET', `/prod/api/changes/${change.id}`, { token: other })).status).toBe(404);
  expect((await app.http('GET', `/api/v1/changes/${change.id}/risk`, { token: other })).status).toBe(404);
  const patch = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token: other, body: { description: 'hijack' } });
  expect(patch.status).toBe(404);
  const list = await app.http('GET', '/prod/api/changes', { token: other });
  expect(list.body.data.map((c: { id: string }) => c.id)).not.toContain(change.id);
  expect((await app.http('GET', `/prod/api/changes/${change.id}`, { token: owner })).body.description).toBe(change.description);
});

test('Cognito claims map to the principal: sub, cognito:groups, the tenant claim, client_id as audience', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cognito = await new SignJWT({
    sub: '8f1c-user',
    'cognito:groups': ['Release-Manager'],
    'custom:tenant_id': app.tenant,
    email: 'cognito.user@example.com',
    client_id: app.config.AUTH_AUDIENCE,
    token_use: 'access',
  })
    .setProtectedHeader({ alg: 'ES256', kid: app.signer.jwk.kid })
    .setIssuer(app.config.AUTH_ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(app.signer.privateKey);
  const change = await createChange(app, cognito, auroraChange());
  expect(change).toMatchObject({ requested_by: 'cognito.user@example.com', requested_by_id: '8f1c-user' });
});

test('a role without the permission gets 403 naming it', async () => {
  const viewer = await app.token('victor@example.com', { roles: ['viewer'] });
  const res = await app.http('POST', '/api/v1/changes', { token: viewer, body: auroraChange() });
  expect(res.status).toBe(403);
  expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required: 'change:create' } });
  expect((await app.http('GET', '/api/v1/changes', { token: viewer })).status).toBe(200);
  // It names the roles that could (a role of the table, not just the permission).
  const promotion = await app.http('POST', '/api/v1/promotions', { token: viewer, body: { releaseId: crypto.randomUUID(), targetEnvironmentId: crypto.randomUUID(), reason: 'r' } });
  expect(promotion.status).toBe(403);
  expect(promotion.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required: 'promotion:create', allowedRoles: expect.arrayContaining(['developer', 'release-manager', 'admin']) } });
  expect(promotion.body.error.message).toContain('roles that have it: developer, requester, engineer');
});

// Verified tokens are remembered until they expire (api/auth/verifier.ts): the cache must never outlive what verification would accept.
test('a remembered token is refused once it expires', async () => {
  const token = await app.token('erin@example.com', { ttlSeconds: 2 });
  expect((await app.http('GET', '/api/v1/changes', { token })).status).toBe(200);
  expect((await app.http('GET', '/api/v1/changes', { token })).status).toBe(200);
  // The verifier allows 5 s of clock skew past exp, with or without the cache.
  const refused = await eventually(
    async () => {
      const res = await app.http('GET', '/api/v1/changes', { token });
      expect(res.status).toBe(401);
      return res;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  expect(refused.body.error.code).toBe('TOKEN_EXPIRED');
});

test('a remembered token is refused once its key leaves the key set', async () => {
  const sign = async (key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'], kid: string) =>
    new SignJWT(claims({ user_id: 'rita@example.com', sub: 'rita@example.com' })).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
  const [old, next] = [await generateKeyPair('ES256'), await generateKeyPair('ES256')];
  let keys = [{ ...(await exportJWK(old.publicKey)), kid: 'old', alg: 'ES256', use: 'sig' }];
  const jwks = http.createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const remote = await startTestApp({
    worker: false,
    env: { AUTH_JWKS: '', AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` },
  });
  try {
    const signedByOld = await sign(old.privateKey, 'old');
    const read = (token: string) => remote.http('GET', '/api/v1/changes', { token });
    expect((await read(signedByOld)).status).toBe(200);
    expect((await read(signedByOld)).status).toBe(200);

    // The issuer rotates: the old key is withdrawn. A token with the new key's kid makes the API fetch the set again.
    keys = [{ ...(await exportJWK(next.publicKey)), kid: 'next', alg: 'ES256', use: 'sig' }];
    const signedByNext = await sign(next.privateKey, 'next');
    await eventually(async () => expect((await read(signedByNext)).status).toBe(200), { timeoutMs: JWKS_COOLDOWN_MS + 10_000, intervalMs: 500 });

    const res = await read(signedByOld);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('TOKEN_INVALID');
  } finally {
    await remote.close();
    await new Promise((r) => jwks.close(r));
  }
});
