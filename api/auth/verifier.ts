import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters, type JWTPayload } from 'jose';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db';
import { permissionsFor, type Principal } from '../../domain/permissions';
import { TENANT_ID_PATTERN } from '../../domain/workflow-ids';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../domain/text';
import { Unauthorized } from '../errors';
import { isAgentCredential, verifyAgentCredential } from './agent-credentials';

export interface TokenVerifier {
  /**
   * Resolves the caller, or throws Unauthorized saying what is wrong with the token.
   * An agent's credential (`tga_…`) is looked up in `db` every time; a JWT never touches it.
   */
  verify(token: string, db?: Pool): Promise<Principal>;
}

export const JWKS_COOLDOWN_MS = 5_000;
/** Verified tokens remembered at most; the least recently used is forgotten first. */
export const TOKEN_CACHE_SIZE = 10_000;
/** Longer tokens are verified every time rather than held in memory. */
const MAX_CACHED_TOKEN_LENGTH = 8_192;

type AuthConfig = Pick<Config, 'AUTH_JWKS_URL' | 'AUTH_JWKS' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_TENANT_CLAIM' | 'AUTH_ALGORITHMS'>;

/**
 * Verifies bearer JWTs against configured keys only: a remote JWKS (cached by
 * jose, refetched on an unknown kid) or an inline one. Keys named by the token
 * itself (`jwk`, `jku`, `x5u`, `x5c` headers) are never consulted, and only
 * asymmetric algorithms are accepted, so `none` and HS256-with-a-public-key fail.
 */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  let keys: (header?: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<CryptoKey>;
  if (config.AUTH_JWKS_URL) {
    // A key rotated in is found at most JWKS_COOLDOWN_MS after the last fetch; tokens with made-up kids cannot force more fetches than that.
    keys = createRemoteJWKSet(new URL(config.AUTH_JWKS_URL), { cacheMaxAge: 10 * 60_000, cooldownDuration: JWKS_COOLDOWN_MS, timeoutDuration: 5_000 });
  } else if (config.AUTH_JWKS) {
    keys = createLocalJWKSet(config.AUTH_JWKS as Parameters<typeof createLocalJWKSet>[0]);
  } else {
    throw new Error('No token verification keys: set AUTH_JWKS_URL or AUTH_JWKS');
  }

  const remote = Boolean(config.AUTH_JWKS_URL);
  const cache = new TokenCache(TOKEN_CACHE_SIZE);

  return {
    async verify(token: string, db?: Pool): Promise<Principal> {
      if (isAgentCredential(token)) {
        if (!db) throw new Unauthorized('Agent credentials are not accepted here', 'TOKEN_INVALID');
        return verifyAgentCredential(db, token);
      }
      const hit = cache.get(token, Date.now());
      // An inline key set never changes while the process runs. From a remote one, the same key must still
      // resolve for the token's header: a key withdrawn from the set refuses the token as a full verification would.
      if (hit && (!remote || (await keys(hit.header).catch(() => undefined)) === hit.key)) return hit.principal;

      let payload: JWTPayload;
      let header: JWSHeaderParameters;
      let key: CryptoKey | undefined;
      try {
        ({ payload, protectedHeader: header } = await jwtVerify(
          token,
          async (h, t) => (key = await keys(h, t)),
          { issuer: config.AUTH_ISSUER, algorithms: config.AUTH_ALGORITHMS, clockTolerance: 5, requiredClaims: ['exp'] },
        ));
      } catch (err) {
        cache.delete(token);
        throw explain(err);
      }
      checkAudience(payload, config.AUTH_AUDIENCE);
      const principal = freeze(principalFrom(payload, config.AUTH_TENANT_CLAIM));
      if (token.length <= MAX_CACHED_TOKEN_LENGTH) cache.set(token, { principal, header, key, expiresAt: (payload.exp as number) * 1000 }, Date.now());
      return principal;
    },
  };
}

interface VerifiedToken {
  principal: Principal;
  header: JWSHeaderParameters;
  /** The key that verified the signature. */
  key: CryptoKey | undefined;
  /** `exp` in ms: past it the token goes through full verification again (which applies the clock tolerance). */
  expiresAt: number;
}

/**
 * A signature check is the largest part of a read's own CPU, and a client sends
 * the same token for its whole life: remember verified tokens by their exact text
 * (any change to header, claims or signature is a different key) until `exp`.
 * Bounded; Map iteration order is insertion order, so the first key is the
 * least recently used.
 */
class TokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly max: number) {}

  get(token: string, now: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (now >= entry.expiresAt) return undefined;
    this.entries.set(token, entry);
    return entry;
  }

  set(token: string, entry: VerifiedToken, now: number): void {
    if (now >= entry.expiresAt) return;
    this.entries.delete(token);
    this.entries.set(token, entry);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }
}

/** One principal object serves many requests: no handler may change it for the next. */
function freeze(principal: Principal): Principal {
  for (const value of Object.values(principal)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(principal);
}

/** Cognito access tokens carry the app client in `client_id` instead of `aud`. */
function checkAudience(payload: JWTPayload, audience: string): void {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.includes(audience) || (aud.length === 0 && payload.client_id === audience)) return;
  throw new Unauthorized('The token was not issued for this API (audience mismatch)', 'TOKEN_INVALID');
}

function principalFrom(payload: JWTPayload, tenantClaim: string): Principal {
  const stringClaim = (name: string) => storableClaim(name, textClaim(payload[name]));
  const stringList = (name: string) => storableList(name, listClaim(payload[name]));
  const userId = stringClaim('user_id') ?? stringClaim('sub');
  if (!userId) throw new Unauthorized('The token names no user (user_id or sub)', 'TOKEN_INVALID');
  const tenantId = stringClaim('tenant_id') ?? stringClaim(tenantClaim);
  if (!tenantId) throw new Unauthorized(`The token names no tenant (tenant_id or ${tenantClaim})`, 'TOKEN_INVALID');
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new Unauthorized('The token tenant id has characters outside [A-Za-z0-9._-]', 'TOKEN_INVALID');
  const roles = stringList('roles') ?? stringList('cognito:groups') ?? [];
  const explicit = stringList('permissions') ?? [];
  return {
    userId,
    tenantId,
    roles,
    permissions: permissionsFor(roles, explicit),
    email: stringClaim('email'),
    name: stringClaim('name') ?? stringClaim('cognito:username'),
    groups: stringList('groups') ?? [],
  };
}

/**
 * What a claim says reaches rows, audit entries and workflow payloads (the
 * actor of every write), so it is held to the rule request bodies are: text
 * Postgres can store, of a bounded length. A token that breaks it is refused
 * as a whole, naming the claim, rather than failing the write it authorises.
 */
const CLAIM_MAX_LENGTH = 1_024;
const CLAIM_MAX_ENTRIES = 256;

function storableClaim(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isStorableText(value)) throw new Unauthorized(`The token claim "${name}" ${UNSTORABLE_TEXT_MESSAGE}`, 'TOKEN_INVALID');
  if (value.length > CLAIM_MAX_LENGTH) throw new Unauthorized(`The token claim "${name}" must be at most ${CLAIM_MAX_LENGTH} characters`, 'TOKEN_INVALID');
  return value;
}

function storableList(name: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  if (values.length > CLAIM_MAX_ENTRIES) throw new Unauthorized(`The token claim "${name}" must list at most ${CLAIM_MAX_ENTRIES} entries`, 'TOKEN_INVALID');
  for (const value of values) storableClaim(name, value);
  return values;
}

function textClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function listClaim(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return undefined;
}

function explain(err: unknown): Unauthorized {
  if (err instanceof errors.JWTExpired) return new Unauthorized('The token has expired', 'TOKEN_EXPIRED');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new Unauthorized('The token is not valid yet (nbf is in the future)', 'TOKEN_INVALID');
    if (err.claim === 'iss') return new Unauthorized('The token was issued by an untrusted issuer', 'TOKEN_INVALID');
    return new Unauthorized(`The token claim "${err.claim}" is invalid`, 'TOKEN_INVALID');
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new Unauthorized('The token signing algorithm is not allowed', 'TOKEN_INVALID');
  if (err instanceof errors.JWKSNoMatchingKey) {
    return new Unauthorized(
      'The token was signed by an unknown key: it was most likely minted for another key set (locally, by `npm run token` against another DATA_DIR than the running npm start uses)',
      'TOKEN_INVALID',
    );
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new Unauthorized('The token signature is invalid', 'TOKEN_INVALID');
  if (err instanceof errors.JWKSTimeout) return new Unauthorized('The signing keys could not be fetched in time', 'TOKEN_UNVERIFIABLE');
  return new Unauthorized('The token is malformed or cannot be verified', 'TOKEN_INVALID');
}
