import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { dataPaths } from './config';

/**
 * Keys the local stack generates on first start: the dev token-signing key that
 * `npm start` trusts (its public half is the default AUTH_JWKS) and the P-256
 * key that signs evidence packets. Production supplies its own via env.
 */
export async function ensureDevKeys(dataDir: string): Promise<{ authKey: JWK; jwks: { keys: JWK[] }; evidenceKey: JWK }> {
  const paths = dataPaths(dataDir);
  mkdirSync(paths.keys, { recursive: true, mode: 0o700 });
  const authKey = await readOrCreate(paths.authPrivateKey, 'tollgate-dev-auth');
  const evidenceKey = await readOrCreate(paths.evidencePrivateKey, 'tollgate-dev-evidence');
  const { d: _d, ...publicJwk } = authKey;
  const jwks = { keys: [{ ...publicJwk, use: 'sig', alg: 'ES256' }] };
  writeFileSync(paths.authJwks, JSON.stringify(jwks, null, 2));
  return { authKey, jwks, evidenceKey };
}

async function readOrCreate(file: string, prefix: string): Promise<JWK> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `${prefix}-${(await calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  jwk.alg = 'ES256';
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(jwk, null, 2), { mode: 0o600 });
  return jwk;
}

export interface TokenRequest {
  user: string;
  tenant: string;
  roles?: string[];
  permissions?: string[];
  email?: string;
  name?: string;
  ttlSeconds?: number;
  issuer: string;
  audience: string;
}

/** Signs a Stella-claims token (user_id, tenant_id, roles, permissions) with a private JWK. */
export async function mintToken(privateJwk: JWK, request: TokenRequest): Promise<string> {
  const key = await importJWK(privateJwk, 'ES256');
  return new SignJWT({
    user_id: request.user,
    tenant_id: request.tenant,
    roles: request.roles ?? [],
    permissions: request.permissions ?? [],
    ...(request.email ? { email: request.email } : {}),
    ...(request.name ? { name: request.name } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid, typ: 'JWT' })
    .setSubject(request.user)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 8 * 3600}s`)
    .sign(key);
}
