import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importJWK, type JWK } from 'jose';
import { canonicalJson } from '../domain/canonical-json';
import { dataPaths } from './config';

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
 * worker (signing) may both get there first: the file is created exclusively,
 * so whoever loses the race reads the winner's key and both agree.
 */
export function readEvidenceKey(config: { EVIDENCE_SIGNING_KEY?: string; DATA_DIR: string }): JWK {
  if (config.EVIDENCE_SIGNING_KEY) return JSON.parse(config.EVIDENCE_SIGNING_KEY) as JWK;
  const file = dataPaths(config.DATA_DIR).evidencePrivateKey;
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    jwk.kid = `tollgate-dev-evidence-${createHash('sha256').update(JSON.stringify([jwk.crv, jwk.kty, jwk.x, jwk.y])).digest('base64url').slice(0, 16)}`;
    jwk.alg = 'ES256';
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Written aside, then linked into place: a reader never sees half a key, and link() refuses to replace one.
    const aside = `${file}.${process.pid}.${Date.now()}`;
    writeFileSync(aside, JSON.stringify(jwk, null, 2), { mode: 0o600 });
    try {
      linkSync(aside, file);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    } finally {
      rmSync(aside, { force: true });
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as JWK;
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

/** Checks a packet against a JWKS: the hash of its content, then the signature with the key it names. */
export async function verifyEvidence(packet: EvidencePacket, jwks: { keys: JWK[] }): Promise<VerifyOutcome> {
  if (packet.signatureAlgorithm !== SIGNATURE_ALGORITHM) return { valid: false, reason: `unsupported signature algorithm ${packet.signatureAlgorithm}` };
  if (contentHashOf(packet.content) !== packet.contentHash) return { valid: false, reason: 'contentHash does not match the content' };
  const jwk = jwks.keys.find((k) => k.kid === packet.signerKeyRef);
  if (!jwk) return { valid: false, reason: `unknown signing key "${packet.signerKeyRef}"` };
  const { d: _d, ...pub } = jwk;
  const key = (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
  let signature: Buffer;
  try {
    signature = Buffer.from(packet.signature, 'base64');
  } catch {
    return { valid: false, reason: 'signature is not base64' };
  }
  const ok = await webcrypto.subtle.verify(ECDSA, key, signature, new TextEncoder().encode(canonicalJson(packet.content)));
  return ok ? { valid: true, kid: jwk.kid! } : { valid: false, reason: 'signature does not verify' };
}
