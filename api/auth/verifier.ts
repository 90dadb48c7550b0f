import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../platform/config';
import { permissionsFor, type Principal } from '../../domain/permissions';
import { TENANT_ID_PATTERN } from '../../domain/workflow-ids';
import { Unauthorized } from '../errors';

export interface TokenVerifier {
  /** Resolves the caller, or throws Unauthorized saying what is wrong with the token. */
  verify(token: string): Promise<Principal>;
}

export const JWKS_COOLDOWN_MS = 5_000;

type AuthConfig = Pick<Config, 'AUTH_JWKS_URL' | 'AUTH_JWKS' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_TENANT_CLAIM' | 'AUTH_ALGORITHMS'>;

/**
 * Verifies bearer JWTs against configured keys only: a remote JWKS (cached by
 * jose, refetched on an unknown kid) or an inline one. Keys named by the token
 * itself (`jwk`, `jku`, `x5u`, `x5c` headers) are never consulted, and only
 * asymmetric algorithms are accepted, so `none` and HS256-with-a-public-key fail.
 */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  let keys: JWTVerifyGetKey;
  if (config.AUTH_JWKS_URL) {
    // A key rotated in is found at most JWKS_COOLDOWN_MS after the last fetch; tokens with made-up kids cannot force more fetches than that.
    keys = createRemoteJWKSet(new URL(config.AUTH_JWKS_URL), { cacheMaxAge: 10 * 60_000, cooldownDuration: JWKS_COOLDOWN_MS, timeoutDuration: 5_000 });
  } else if (config.AUTH_JWKS) {
    keys = createLocalJWKSet(config.AUTH_JWKS as Parameters<typeof createLocalJWKSet>[0]);
  } else {
    throw new Error('No token verification keys: set AUTH_JWKS_URL or AUTH_JWKS');
  }

  return {
    async verify(token: string): Promise<Principal> {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: config.AUTH_ISSUER,
          algorithms: config.AUTH_ALGORITHMS,
          clockTolerance: 5,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        throw explain(err);
      }
      checkAudience(payload, config.AUTH_AUDIENCE);
      return principalFrom(payload, config.AUTH_TENANT_CLAIM);
    },
  };
}

/** Cognito access tokens carry the app client in `client_id` instead of `aud`. */
function checkAudience(payload: JWTPayload, audience: string): void {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.includes(audience) || (aud.length === 0 && payload.client_id === audience)) return;
  throw new Unauthorized('The token was not issued for this API (audience mismatch)', 'TOKEN_INVALID');
}

function principalFrom(payload: JWTPayload, tenantClaim: string): Principal {
  const userId = stringClaim(payload.user_id) ?? stringClaim(payload.sub);
  if (!userId) throw new Unauthorized('The token names no user (user_id or sub)', 'TOKEN_INVALID');
  const tenantId = stringClaim(payload.tenant_id) ?? stringClaim(payload[tenantClaim]);
  if (!tenantId) throw new Unauthorized(`The token names no tenant (tenant_id or ${tenantClaim})`, 'TOKEN_INVALID');
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new Unauthorized('The token tenant id has characters outside [A-Za-z0-9._-]', 'TOKEN_INVALID');
  const roles = stringList(payload.roles) ?? stringList(payload['cognito:groups']) ?? [];
  const explicit = stringList(payload.permissions) ?? [];
  return {
    userId,
    tenantId,
    roles,
    permissions: permissionsFor(roles, explicit),
    email: stringClaim(payload.email),
    name: stringClaim(payload.name) ?? stringClaim(payload['cognito:username']),
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function stringList(value: unknown): string[] | undefined {
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
  if (err instanceof errors.JWKSNoMatchingKey) return new Unauthorized('The token was signed by an unknown key', 'TOKEN_INVALID');
  if (err instanceof errors.JWSSignatureVerificationFailed) return new Unauthorized('The token signature is invalid', 'TOKEN_INVALID');
  if (err instanceof errors.JWKSTimeout) return new Unauthorized('The signing keys could not be fetched in time', 'TOKEN_UNVERIFIABLE');
  return new Unauthorized('The token is malformed or cannot be verified', 'TOKEN_INVALID');
}
