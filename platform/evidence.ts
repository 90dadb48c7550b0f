import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { importJWK, type JWK } from 'jose';
import { canonicalJson } from '../domain/canonical-json';
import { dataPaths, retiredP256Jwks } from './config';
import { createOnce } from './key-files';
import { nameUuid } from './name-uuid';

/**
 * Signed evidence packets. A packet of version 1.1 is signed whole: the
 * signature (ECDSA P-256 / SHA-256, IEEE P1363 r‖s, base64) is over the RFC
 * 8785 canonical JSON of every field but `signature` itself — envelope (`id`,
 * `type`, `version`, `generatedAt`, `signerKeyRef`, `signatureAlgorithm`),
 * `contentHash` and `content` — so no field a reader relies on can change
 * unnoticed. Version 1.0 packets (issued before) signed their content only;
 * they still verify, with their envelope checked against what the signed
 * content determines (the id is named from tenant, promotion and decision, and
 * `generatedAt` is the record's `recordedAt`). Keys are JWKs handled by jose.
 */
export const SIGNATURE_ALGORITHM = 'ECDSA-P256-SHA256';
export const EVIDENCE_VERSION = '1.1';
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface EvidencePacket {
  id: string;
  type: 'release_decision';
  version: '1.0' | '1.1';
  content: Record<string, unknown>;
  contentHash: string;
  signature: string;
  signatureAlgorithm: typeof SIGNATURE_ALGORITHM;
  signerKeyRef: string;
  generatedAt: string;
}

const PACKET_FIELDS: ReadonlyArray<keyof EvidencePacket> = ['id', 'type', 'version', 'content', 'contentHash', 'signature', 'signatureAlgorithm', 'signerKeyRef', 'generatedAt'];


/** The id a 1.0 packet was issued under: one per promotion and decision. */
const legacyPacketId = (content: Record<string, unknown>) => nameUuid(`evidence:${String(content.tenantId)}:${String(content.promotionId)}:${String(content.decision)}`);

/** The bytes a packet's signature covers: 1.1 the whole packet but its signature, 1.0 its content. */
function signedText(packet: EvidencePacket): string {
  if (packet.version === '1.0') return canonicalJson(packet.content);
  const { signature: _signature, ...signed } = packet;
  return canonicalJson(signed);
}

export interface EvidenceSigner {
  kid: string;
  publicJwk: JWK;
  sign(packet: Pick<EvidencePacket, 'id' | 'type' | 'content' | 'generatedAt'>): Promise<EvidencePacket>;
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
  return JSON.parse(createOnce(file, JSON.stringify(newDevKey(), null, 2))) as JWK;
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

type KeyConfig = { EVIDENCE_SIGNING_KEY?: string; EVIDENCE_RETIRED_KEYS?: string; DATA_DIR: string };

/**
 * Every key a packet may have been signed with, public halves only: the
 * current key first, then the retired ones (EVIDENCE_RETIRED_KEYS and the dev
 * keys `npm run rotate-evidence-key` set aside), each kid once. A packet
 * signed before a rotation still verifies; the signer only ever uses the
 * current key. `create: false` (a verifier) never makes a key.
 */
export function evidenceVerificationKeys(config: KeyConfig, options: { create?: boolean } = {}): { keys: JWK[] } {
  const current = options.create === false ? existingEvidenceKey(config) : readEvidenceKey(config);
  const keys: JWK[] = current ? [publicJwkOf(current)] : [];
  for (const retired of retiredEvidenceKeys(config)) {
    if (!keys.some((k) => k.kid === retired.kid)) keys.push({ ...retired, use: 'sig', alg: 'ES256' });
  }
  return { keys };
}

function retiredEvidenceKeys(config: KeyConfig): JWK[] {
  const configured = config.EVIDENCE_RETIRED_KEYS ? (retiredP256Jwks(config.EVIDENCE_RETIRED_KEYS) ?? []) : [];
  const file = dataPaths(config.DATA_DIR).evidenceRetiredKeys;
  const setAside = existsSync(file) ? (retiredP256Jwks(readFileSync(file, 'utf8')) ?? []) : [];
  return [...configured, ...setAside] as JWK[];
}

/**
 * Replaces the dev evidence key in DATA_DIR with a new one and sets the old
 * one's public half aside with those retired before it. Running signers keep
 * the key they loaded until they restart; both keys verify meanwhile.
 */
export function rotateDevEvidenceKey(dataDir: string): { retired: string; current: string } {
  const paths = dataPaths(dataDir);
  const old = existingEvidenceKey({ DATA_DIR: dataDir });
  if (!old) throw new Error(`no evidence key in ${paths.keys} to rotate (one is made on first use)`);
  const retired = existsSync(paths.evidenceRetiredKeys) ? (retiredP256Jwks(readFileSync(paths.evidenceRetiredKeys, 'utf8')) ?? []) : [];
  const { kty, crv, x, y } = old as Record<string, string>;
  if (!retired.some((k) => k.kid === old.kid)) retired.push({ kty, crv, x, y, kid: String(old.kid) });
  const next = newDevKey();
  // Retired first: a crash between the two writes leaves the old key current and also retired, never a key lost.
  writeAtomically(paths.evidenceRetiredKeys, JSON.stringify({ keys: retired }, null, 2));
  writeAtomically(paths.evidencePrivateKey, JSON.stringify(next, null, 2));
  return { retired: String(old.kid), current: String(next.kid) };
}

function writeAtomically(file: string, content: string): void {
  const aside = `${file}.${process.pid}.${Date.now()}`;
  writeFileSync(aside, content, { mode: 0o600 });
  renameSync(aside, file);
}

function newDevKey(): JWK {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  jwk.kid = `tollgate-dev-${kidOf(jwk)}`;
  jwk.alg = 'ES256';
  return jwk;
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
    async sign({ id, type, content, generatedAt }) {
      const unsigned: EvidencePacket = {
        id,
        type,
        version: EVIDENCE_VERSION,
        content,
        contentHash: contentHashOf(content),
        signature: '',
        signatureAlgorithm: SIGNATURE_ALGORITHM,
        signerKeyRef: kid,
        generatedAt,
      };
      const bytes = new TextEncoder().encode(signedText(unsigned));
      return { ...unsigned, signature: Buffer.from(await webcrypto.subtle.sign(ECDSA, key, bytes)).toString('base64') };
    },
  };
}

export type VerifyOutcome = { valid: true; kid: string } | { valid: false; reason: string };

/**
 * Checks a packet against a JWKS: its fields, the hash of its content, then the
 * signature with the key it names over what its version signs. Anything
 * malformed is an invalid packet, never a throw.
 */
export async function verifyEvidence(packet: EvidencePacket, jwks: { keys: JWK[] }): Promise<VerifyOutcome> {
  if (!packet || typeof packet !== 'object' || !packet.content || typeof packet.content !== 'object') return { valid: false, reason: 'not an evidence packet (no content)' };
  if (packet.signatureAlgorithm !== SIGNATURE_ALGORITHM) return { valid: false, reason: `unsupported signature algorithm ${packet.signatureAlgorithm}` };
  if (packet.version !== '1.0' && packet.version !== EVIDENCE_VERSION) return { valid: false, reason: `unsupported packet version ${String(packet.version)}` };
  const extra = Object.keys(packet).filter((k) => !PACKET_FIELDS.includes(k as keyof EvidencePacket));
  if (extra.length) return { valid: false, reason: `fields outside the signed packet: ${extra.join(', ')}` };
  let signed: string;
  try {
    if (`sha256:${createHash('sha256').update(canonicalJson(packet.content), 'utf8').digest('hex')}` !== packet.contentHash) return { valid: false, reason: 'contentHash does not match the content' };
    signed = signedText(packet);
  } catch (err) {
    return { valid: false, reason: `content is not JSON: ${(err as Error).message}` };
  }
  if (packet.version === '1.0') {
    const envelope = legacyEnvelopeProblem(packet);
    if (envelope) return { valid: false, reason: envelope };
  }
  const jwk = (jwks.keys ?? []).find((k) => k.kid === packet.signerKeyRef);
  if (!jwk) return { valid: false, reason: `unknown signing key "${packet.signerKeyRef}"` };
  if (typeof packet.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(packet.signature)) return { valid: false, reason: 'signature is not base64' };
  try {
    const { d: _d, ...pub } = jwk;
    const key = (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
    const ok = await webcrypto.subtle.verify(ECDSA, key, Buffer.from(packet.signature, 'base64'), new TextEncoder().encode(signed));
    return ok ? { valid: true, kid: jwk.kid! } : { valid: false, reason: 'signature does not verify' };
  } catch (err) {
    return { valid: false, reason: `key "${packet.signerKeyRef}" cannot verify: ${(err as Error).message}` };
  }
}

/** A 1.0 packet signed only its content: each envelope field must be what that content determines. */
function legacyEnvelopeProblem(packet: EvidencePacket): string | undefined {
  const mismatch = (field: string) => `${field} does not match the signed content (a 1.0 packet signs its content only, and its envelope follows from it)`;
  if (packet.type !== 'release_decision') return mismatch('type');
  if (packet.id !== legacyPacketId(packet.content)) return mismatch('id');
  if (packet.generatedAt !== packet.content.recordedAt) return mismatch('generatedAt');
  return undefined;
}
