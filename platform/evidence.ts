import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { importJWK, type JWK } from 'jose';
import { canonicalJson } from '../domain/canonical-json';
import { dataPaths } from './config';
import { createOnce } from './key-files';

/**
 * Signed evidence packets: the decision record as RFC 8785 canonical JSON,
 * its SHA-256, and an ECDSA P-256 / SHA-256 signature over the same bytes
 * (IEEE P1363 r‖s, base64). Keys are JWKs handled by jose; the signature is
 * over the content itself, so anyone with the public key verifies it offline.
 */
export const SIGNATURE_ALGORITHM = 'ECDSA-P256-SHA256';
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface EvidencePacket {
  id: string;
  type: 'release_decision';
  version: '1.0';
  content: Record<string, unknown>;
  contentHash: string;
  signature: string;
  signatureAlgorithm: typeof SIGNATURE_ALGORITHM;
  signerKeyRef: string;
  generatedAt: string;
}

export interface EvidenceSigner {
  kid: string;
  publicJwk: JWK;
  sign(packet: Omit<EvidencePacket, 'contentHash' | 'signature' | 'signatureAlgorithm' | 'signerKeyRef'>): Promise<EvidencePacket>;
}

export function contentHashOf(content: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex')}`;
}

/**
 * The signing key: EVIDENCE_SIGNING_KEY (a private P-256 JWK) or the dev key in
 * DATA_DIR/keys, made on first use. The API (serving the public half) and the
 * worker (signing) may both get there first: createOnce makes them agree.
 */
export function readEvidenceKey(config: { EVIDENCE_SIGNING_KEY?: string; DATA_DIR: string }): JWK {
  const existing = existingEvidenceKey(config);
  if (existing) return existing;
  const file = dataPaths(config.DATA_DIR).evidencePrivateKey;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  jwk.kid = `tollgate-dev-${kidOf(jwk)}`;
  jwk.alg = 'ES256';
  return JSON.parse(createOnce(file, JSON.stringify(jwk, null, 2))) as JWK;
}

/** The signing key when one is configured or already made; never makes one (a verifier must not invent the key it checks against). */
export function existingEvidenceKey(config: { EVIDENCE_SIGNING_KEY?: string; DATA_DIR: string }): JWK | undefined {
  if (config.EVIDENCE_SIGNING_KEY) {
    // A configured key without a kid gets one from its public half, so packets and the JWKS name it alike.
    const jwk = JSON.parse(config.EVIDENCE_SIGNING_KEY) as JWK;
    return jwk.kid ? jwk : { ...jwk, kid: kidOf(jwk) };
  }
  const file = dataPaths(config.DATA_DIR).evidencePrivateKey;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as JWK) : undefined;
}

/** A stable key id from the public coordinates. */
function kidOf(jwk: JWK): string {
  return `evidence-${createHash('sha256').update(JSON.stringify([jwk.crv, jwk.kty, jwk.x, jwk.y])).digest('base64url').slice(0, 16)}`;
}

export function publicJwkOf(jwk: JWK): JWK {
  const { d: _d, ...pub } = jwk;
  return { ...pub, use: 'sig', alg: 'ES256', kid: jwk.kid };
}

export async function createEvidenceSigner(privateJwk: JWK): Promise<EvidenceSigner> {
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || !privateJwk.d) throw new Error('The evidence signing key must be a private EC P-256 JWK');
  const kid = privateJwk.kid ?? 'evidence';
  const key = (await importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
  return {
    kid,
    publicJwk: publicJwkOf({ ...privateJwk, kid }),
    async sign(packet) {
      const bytes = new TextEncoder().encode(canonicalJson(packet.content));
      const signature = Buffer.from(await webcrypto.subtle.sign(ECDSA, key, bytes)).toString('base64');
      return { ...packet, contentHash: contentHashOf(packet.content), signature, signatureAlgorithm: SIGNATURE_ALGORITHM, signerKeyRef: kid };
    },
  };
}

export type VerifyOutcome = { valid: true; kid: string } | { valid: false; reason: string };

/**
 * Checks a packet against a JWKS: the hash of its content, then the signature
 * with the key it names. Anything malformed is an invalid packet, never a throw.
 */
export async function verifyEvidence(packet: EvidencePacket, jwks: { keys: JWK[] }): Promise<VerifyOutcome> {
  if (!packet || typeof packet !== 'object' || !packet.content || typeof packet.content !== 'object') return { valid: false, reason: 'not an evidence packet (no content)' };
  if (packet.signatureAlgorithm !== SIGNATURE_ALGORITHM) return { valid: false, reason: `unsupported signature algorithm ${packet.signatureAlgorithm}` };
  let canonical: string;
  try {
    canonical = canonicalJson(packet.content);
  } catch (err) {
    return { valid: false, reason: `content is not JSON: ${(err as Error).message}` };
  }
  if (`sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}` !== packet.contentHash) return { valid: false, reason: 'contentHash does not match the content' };
  const jwk = (jwks.keys ?? []).find((k) => k.kid === packet.signerKeyRef);
  if (!jwk) return { valid: false, reason: `unknown signing key "${packet.signerKeyRef}"` };
  if (typeof packet.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(packet.signature)) return { valid: false, reason: 'signature is not base64' };
  try {
    const { d: _d, ...pub } = jwk;
    const key = (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
    const ok = await webcrypto.subtle.verify(ECDSA, key, Buffer.from(packet.signature, 'base64'), new TextEncoder().encode(canonical));
    return ok ? { valid: true, kid: jwk.kid! } : { valid: false, reason: 'signature does not verify' };
  } catch (err) {
    return { valid: false, reason: `key "${packet.signerKeyRef}" cannot verify: ${(err as Error).message}` };
  }
}
